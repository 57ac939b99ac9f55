//! `trawl pivot`: every record, in every log, that refers to one value (a connection uid, a file
//! id, an MD5/SHA-1/SHA-256 hash, an IP address or a DNS name), in time order, as one story;
//! what an analyst does today with `zgrep UID */*.log.gz | sort`, from an index built on first
//! use so that a pivot over a gigabyte of logs answers at once.
//!
//! - [`kind`]: what a value is ([`PivotValue::parse`]) and the tokenizer shared by indexing and
//!   matching. A record matches when one of its tokens *is* the value (an address compared as
//!   an address, names and hashes in any case), never when it is part of a longer token.
//! - [`index`]: one segment per log file in a cache folder ([`Index::default_dir`]:
//!   `$XDG_CACHE_HOME/trawl/index`), never beside the logs. Segments are keyed by absolute
//!   path, size and mtime; unchanged files are reused, plain files that grew are indexed from
//!   where the last run stopped, other changes are indexed again ([`Index::refresh`]).
//! - [`segment`]: the on-disk postings, value key -> block of about 32 KiB of the uncompressed
//!   stream, delta- and varint-coded with a group table for binary search; plus each block's
//!   offset, first line and TSV header, so a block parses on its own.
//! - [`search`]: [`Indexed`] reads only the named blocks (plain files by offset; compressed ones
//!   decompressed from the start up to the last block needed) and checks every line token by
//!   token, so a hash collision costs a block read, never a wrong record. [`Scan`] does the same
//!   without an index by reading everything.
//! - [`story`]: [`pivot`] puts the records together: those holding the value; one link further
//!   (a uid's files by `fuid`/`resp_fuids`, its certificates by `cert_chain_fuids`/
//!   `cert_chain_fps` to their x509 records; a file's or hash's connection by `uid`/`conn_uids`);
//!   with [`Options::around`] the DNS lookups whose answers held a connection's responder
//!   shortly before it.
//! - [`render`]: one line per record for a terminal.
//!
//! Bad input never panics: unreadable files and corrupt compressed data are indexed as far as
//! they go and listed in [`Refresh::problems`]; lines of a story that do not parse are listed in
//! [`Story::problems`] as `file:line: reason`.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use trawl_input::{discover, Filter};
//! use trawl_pivot::{pivot, Index, Indexed, Options, PivotValue};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let found = discover(&[PathBuf::from("/opt/zeek/logs")], &Filter::default())?;
//! let index = Index::new(Index::default_dir().ok_or("no cache folder")?);
//! let (files, refresh) = index.refresh(found.files, 2)?;
//! eprintln!("indexed {} files in {:?}", refresh.built, refresh.elapsed);
//! let value = PivotValue::parse("CTn2DuaYw4sKLdZuTV")?;
//! let opts = Options { around: Some(300_000_000_000), ..Options::default() };
//! let story = pivot(&Indexed::new(files, 2), &value, &opts);
//! for item in &story.items {
//!     println!("{}", trawl_pivot::render::line(item));
//! }
//! # Ok(()) }
//! ```

use std::path::PathBuf;

pub mod build;
pub mod index;
pub mod kind;
pub mod render;
pub mod search;
pub mod segment;
pub mod story;

pub use index::{Index, IndexedFile, Refresh};
pub use kind::{Kind, KindError, PivotValue};
pub use search::{Found, Hit, Indexed, Limit, Scan, Searcher};
pub use story::{pivot, Item, Options, Story, Via};

/// What stops a pivot from running at all (a bad file only becomes a reported problem).
#[derive(Debug, thiserror::Error)]
pub enum PivotError {
    /// The index folder cannot be created or written.
    #[error("index folder {}: {source} (choose another with --index-dir, or search without one with --no-index)", dir.display())]
    IndexDir {
        /// The folder.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Worker threads could not be started.
    #[error("starting worker threads: {0}")]
    Threads(String),
}
