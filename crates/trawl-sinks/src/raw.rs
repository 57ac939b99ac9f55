//! JSON text that trawl rendered itself, kept as text on the hot path.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON value as rendered (valid JSON by construction: not parsed again per record), kept
/// in spool and dead-letter files as JSON rather than as a string.
#[derive(Debug)]
pub(crate) struct RawJson(String);

impl RawJson {
    /// Rendered bytes; anything not UTF-8 (never, from trawl's writers) is replaced.
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        RawJson(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }

    /// The JSON text.
    pub(crate) fn get(&self) -> &str {
        &self.0
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Ok(RawJson(Box::<str>::from(raw).into_string()))
    }
}
