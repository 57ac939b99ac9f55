//! Readers and writers for the logs trawl works on.
//!
//! - [`tsv`]: Zeek's ASCII (TSV) logs with every header directive and separator variant;
//!   rows are split lazily and fields typed only when asked ([`tsv::Row::value`]).
//! - [`value`], [`types`]: Zeek's types and values (`unset` and `(empty)` kept apart).
//! - [`record`]: a format-independent record, the common currency between readers and writers.
//!
//! Readers never panic on input: what does not parse is kept verbatim and reported as a
//! [`Problem`] with its line number.

pub mod cut;
pub mod dnsmasq;
pub mod escape;
pub mod header;
pub mod json;
pub mod lines;
pub mod reader;
pub mod record;
pub mod scan;
pub mod sniff;
pub mod time;
pub mod tsv;
pub mod types;
pub mod value;
pub mod write;

pub use header::Header;
pub use lines::{Line, LineReader};
pub use reader::{Event, Fast, Format, Item, LogReader, Records};
pub use record::{Field, Problem, Record};
pub use tsv::{Row, TsvEvent, TsvReader};
pub use types::{Container, Scalar, ZeekType};
pub use value::Value;
