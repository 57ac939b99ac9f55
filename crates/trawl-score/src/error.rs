//! Error types of the library.

use thiserror::Error;

/// Why a name could not be normalised (and so cannot be scored).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// Nothing left after trimming white space and a trailing dot.
    #[error("empty name")]
    Empty,
    /// Longer than 253 bytes (in ASCII/punycode form).
    #[error("name too long: {0} bytes (at most 253)")]
    TooLong(usize),
    /// A label longer than 63 bytes.
    #[error("label too long: {0} bytes (at most 63)")]
    LabelTooLong(usize),
    /// Two dots in a row, or a leading dot.
    #[error("empty label")]
    EmptyLabel,
    /// A character that cannot appear in a DNS host name.
    #[error("illegal character {0:?}")]
    IllegalChar(char),
    /// An internationalised name that IDNA (UTS #46) rejects.
    #[error("invalid internationalised name")]
    Idna,
}

/// Errors while reading, writing or checking a model file.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The file could not be read or written.
    #[error("model I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes do not start with the trawl-score magic.
    #[error("not a trawl-score model (bad magic)")]
    BadMagic,
    /// A model written by a newer or older, incompatible format.
    #[error("unsupported model format version {0}")]
    Version(u32),
    /// The file ends early or a section has the wrong size.
    #[error("corrupt model: {0}")]
    Corrupt(&'static str),
    /// The built-in model is missing (the crate was built without one).
    #[error("no built-in model in this build")]
    NoDefault,
}

/// Errors while loading labelled data or training.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A data file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Not enough examples of a class to train or evaluate.
    #[error("no usable {0} examples")]
    NoData(&'static str),
    /// Writing the trained model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
}
