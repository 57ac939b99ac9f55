//! Finding and opening the log files trawl reads: Zeek logs (TSV or JSON, live or
//! rotated into dated archive folders) and dnsmasq logs, plain or compressed.
//!
//! - [`discover`] turns the paths a user gave into a sorted list of [`LogFile`]s:
//!   named files as they are, folders walked recursively, with each file's log type
//!   and, for rotated files, the time span it covers read from its name, so a
//!   [`Filter`] on type and time can drop files before they are opened.
//! - [`open`] (and [`open_reader`] for standard input) returns a reader that
//!   decompresses gzip (concatenated members too) or zstd as the magic bytes say,
//!   on a separate thread for larger files so parsing overlaps decompression.
//!   Corrupt or truncated data is an `io::Error` from `read`, naming the file,
//!   after everything that decoded cleanly.
//! - [`ordered::run_ordered`] reads many files on several threads while writing their
//!   output in file order, in bounded memory (`trawl cat`, `trawl cut`).
//! - [`parse_time_bound`] reads `--since`/`--until` values: dates, RFC 3339,
//!   epoch seconds, or `-2h`-style amounts before now.
//!
//! All times are [`Nanos`], UTC. Nothing here panics on any input.
//!
//! ```no_run
//! use std::io::Read;
//! use std::path::PathBuf;
//! use trawl_input::{discover, open, parse_time_bound, Filter};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = 1_712_930_000_000_000_000;
//! let filter = Filter {
//!     types: Some(vec!["dns".into()]),
//!     since: Some(parse_time_bound("-2h", now)?),
//!     until: None,
//! };
//! let found = discover(&[PathBuf::from("/opt/zeek/logs")], &filter)?;
//! for problem in &found.problems {
//!     eprintln!("warning: {problem}");
//! }
//! for file in &found.files {
//!     let mut text = Vec::new();
//!     if let Err(e) = open(&file.path)?.read_to_end(&mut text) {
//!         eprintln!("{e}"); // `text` still holds what was read before the error
//!     }
//! }
//! # Ok(()) }
//! ```

mod civil;
mod discover;
mod error;
mod name;
mod open;
pub mod ordered;
mod threaded;
mod time;

pub use discover::{discover, Discovery, Filter, LogFile};
pub use error::InputError;
pub use name::is_zeek_log_type;
pub use open::{
    compression_of, head_of, open, open_reader, open_reader_as, open_sync, Compression,
};
pub use time::parse_time_bound;

/// Nanoseconds since the Unix epoch, UTC.
pub type Nanos = i64;
