//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while finding, opening or naming inputs.
///
/// Errors that happen *while reading* an opened input (a truncated gzip, say) are
/// `io::Error`s from `read`, so the caller keeps what was read before them; their
/// message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A file or folder could not be opened, read or listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// A folder walk failed below `path` (permission denied, a symlink loop...).
    #[error("{}: {source}", path.display())]
    Walk {
        /// The entry that failed, or the root when the entry is unknown.
        path: PathBuf,
        /// What walkdir said.
        #[source]
        source: walkdir::Error,
    },
    /// The input is compressed in a format this crate does not read.
    #[error("{label}: {format} compression is not supported; decompress it first")]
    Unsupported {
        /// The file name or `<stdin>`.
        label: String,
        /// The format recognised by its magic bytes, e.g. `xz`.
        format: &'static str,
    },
    /// Not one of the paths given could be read; `problems` says why for each.
    #[error("no readable input: {}", summary(problems))]
    NoInput {
        /// One error per path given.
        problems: Vec<InputError>,
    },
    /// A `--since`/`--until` style bound that could not be understood.
    #[error("invalid time {input:?}: {reason}")]
    Time {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn summary(problems: &[InputError]) -> String {
    match problems {
        [] => "no paths given".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

impl InputError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        InputError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn time(input: &str, reason: &'static str) -> Self {
        InputError::Time {
            input: input.to_owned(),
            reason,
        }
    }
}
