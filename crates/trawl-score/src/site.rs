//! What one network knows about names that the model cannot: its own zones.
//!
//! An organisation's zones (`corp.example.com`, an Active Directory forest under a public
//! domain) are judged by who owns them, not by how their names look: host names such as
//! `vm185.lab.corp.example.com` or `x2f9k.dev.corp.example.com` are the organisation's own
//! naming and would otherwise score like machine-made names. Names in a zone given here are
//! not scored ([`NameKind::OwnZone`], with the zone in the reason).

use crate::error::NameError;
use crate::normalize::{normalize, NameBuf, NameKind};

/// A network's own zones (`[networks] local_domains` in trawl's configuration).
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Normalised zones (lower case, punycode, no dots at either end), longest first so the
    /// most specific zone is the one named in a reason.
    zones: Vec<String>,
}

impl Site {
    /// A site that knows nothing: every name is judged by the model alone.
    pub const EMPTY: Site = Site { zones: Vec::new() };

    /// A site with these zones (`corp.example.com`, `.lan`, `*.oompa.loompa` and
    /// `oompa.loompa.` are all accepted); an invalid zone is an error naming it.
    pub fn with_zones<I, S>(zones: I) -> Result<Site, (String, NameError)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out: Vec<String> = Vec::new();
        let mut buf = NameBuf::new();
        for z in zones {
            let given = z.as_ref();
            let trimmed = given.trim().trim_start_matches('.');
            let p = normalize(trimmed, &mut buf).map_err(|e| (given.to_string(), e))?;
            out.push(p.name.to_string());
        }
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out.dedup();
        Ok(Site { zones: out })
    }

    /// Whether no zone is configured.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// A 64-bit hash of the zones (0 for none), to keep caches of sites with other zones
    /// apart.
    pub fn fingerprint(&self) -> u64 {
        if self.zones.is_empty() {
            return 0;
        }
        crate::hash::fingerprint(self.zones.join(" ").as_bytes())
    }

    /// The zones, most specific first.
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// The zone that `name` (normalised: lower case, no trailing dot) is in or equal to.
    #[inline]
    pub fn zone_of(&self, name: &str) -> Option<&str> {
        self.zones.iter().map(String::as_str).find(|z| {
            name.len() >= z.len()
                && name.ends_with(*z)
                && (name.len() == z.len() || name.as_bytes()[name.len() - z.len() - 1] == b'.')
        })
    }

    /// Why a name in `zone` is not scored.
    pub(crate) fn reason(zone: &str) -> String {
        format!("in this network's own zone {zone} ([networks] local_domains): not scored")
    }

    /// The kind of a name of kind `kind`, given this site: [`NameKind::OwnZone`] for a
    /// scorable name in one of its zones.
    #[inline]
    pub(crate) fn kind(&self, kind: NameKind, name: &str) -> NameKind {
        if kind == NameKind::Domain && !self.zones.is_empty() && self.zone_of(name).is_some() {
            NameKind::OwnZone
        } else {
            kind
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_match_on_label_boundaries() {
        let s = Site::with_zones(["Corp.Example.com.", ".lan", "*.oompa.loompa"]).unwrap();
        assert_eq!(s.zone_of("corp.example.com"), Some("corp.example.com"));
        assert_eq!(s.zone_of("vm1.corp.example.com"), Some("corp.example.com"));
        assert_eq!(s.zone_of("xcorp.example.com"), None);
        assert_eq!(s.zone_of("example.com"), None);
        assert_eq!(s.zone_of("nas.lan"), Some("lan"));
        assert_eq!(s.zone_of("dc.factory.oompa.loompa"), Some("oompa.loompa"));
        assert!(Site::with_zones(["bad zone"]).is_err());
        assert!(Site::EMPTY.zone_of("anything.com").is_none());
    }
}
