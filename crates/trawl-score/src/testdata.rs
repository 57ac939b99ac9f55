//! Names the unit tests of several modules train toy models on.

/// Labels of well-known sites: benign names for toy training sets.
pub(crate) const POPULAR_LABELS: [&str; 14] = [
    "google",
    "facebook",
    "amazon",
    "wikipedia",
    "youtube",
    "microsoft",
    "apple",
    "netflix",
    "linkedin",
    "twitter",
    "github",
    "reddit",
    "yahoo",
    "office",
];
