//! A static inventory of hosts from a CSV file: `ip` or `mac` (or both), `hostname`, `owner`.
//!
//! The header row names the columns in any order and case (`host`, `workstation` and `name`
//! are accepted for `hostname`; `address` for a column holding IPs or MACs). Cells are trimmed
//! and may be quoted; blank lines and lines starting with `#` are skipped. A MAC in the `ip`
//! column (or an IP in the `mac` column) is taken for what it is.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use crate::fields::normalize_mac;

/// One inventory entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryEntry {
    /// Host name.
    pub hostname: Option<Box<str>>,
    /// Who is responsible for it.
    pub owner: Option<Box<str>>,
    /// The MAC of a row that gave both an IP and a MAC (a static assignment).
    pub mac: Option<Box<str>>,
}

/// Hosts by IP and by MAC.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    by_ip: HashMap<IpAddr, InventoryEntry>,
    by_mac: HashMap<Box<str>, InventoryEntry>,
}

/// Why an inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be opened or read.
    #[error("inventory {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is wrong; `line` is 1-based, as an editor shows it.
    #[error("inventory line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

fn line_err(line: u64, reason: impl Into<String>) -> InventoryError {
    InventoryError::Line {
        line,
        reason: reason.into(),
    }
}

#[derive(Default)]
struct Columns {
    ip: Option<usize>,
    mac: Option<usize>,
    address: Option<usize>,
    hostname: Option<usize>,
    owner: Option<usize>,
}

impl Inventory {
    /// Reads an inventory file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, InventoryError> {
        let path = path.as_ref();
        let f = std::fs::File::open(path).map_err(|e| InventoryError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Self::from_reader(f)
    }

    /// Reads an inventory from CSV text.
    pub fn from_reader(mut r: impl Read) -> Result<Self, InventoryError> {
        let mut text = Vec::new();
        r.read_to_end(&mut text).map_err(|e| InventoryError::Io {
            path: "(reader)".into(),
            source: e,
        })?;
        // csv skips blank lines without counting them: count from byte offsets instead.
        // A record's position is where the reader stood before it: skip blank and comment
        // lines from there.
        let line_at = |byte: u64| {
            let mut end = (byte as usize).min(text.len());
            while let Some(&b) = text.get(end) {
                let skip = match b {
                    b'\r' | b'\n' => 1,
                    b'#' => text[end..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(0, |i| i + 1),
                    _ => 0,
                };
                if skip == 0 {
                    break;
                }
                end += skip;
            }
            text[..end].iter().filter(|&&b| b == b'\n').count() as u64 + 1
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(&text[..]);
        let mut inv = Inventory::default();
        let mut cols: Option<Columns> = None;
        let mut rec = csv::StringRecord::new();
        loop {
            let more = rdr.read_record(&mut rec).map_err(|e| {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                line_err(line, e.to_string())
            })?;
            if !more {
                break;
            }
            let line = rec.position().map_or(0, |p| line_at(p.byte()));
            if rec.iter().all(str::is_empty) {
                continue;
            }
            match &cols {
                None => cols = Some(header(&rec, line)?),
                Some(c) => inv.add_row(c, &rec, line)?,
            }
        }
        if cols.is_none() {
            return Err(line_err(1, "no header row (ip or mac, hostname, owner)"));
        }
        Ok(inv)
    }

    fn add_row(
        &mut self,
        c: &Columns,
        rec: &csv::StringRecord,
        line: u64,
    ) -> Result<(), InventoryError> {
        let cell = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(|s| s.trim_matches(['"', '\'']).trim())
                .filter(|s| !s.is_empty())
        };
        let (mut ip, mut mac) = (None, None);
        for (col, text) in [
            ("ip", cell(c.ip)),
            ("mac", cell(c.mac)),
            ("address", cell(c.address)),
        ] {
            let Some(text) = text else { continue };
            if let Ok(a) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
                ip = Some(a);
            } else if let Some(m) = normalize_mac(text) {
                mac = Some(m);
            } else {
                return Err(line_err(
                    line,
                    format!("{col} {text:?} is neither an IP address nor a MAC address"),
                ));
            }
        }
        if ip.is_none() && mac.is_none() {
            return Err(line_err(line, "no ip or mac"));
        }
        let entry = InventoryEntry {
            hostname: cell(c.hostname).map(Box::from),
            owner: cell(c.owner).map(Box::from),
            mac: None,
        };
        if entry.hostname.is_none() && entry.owner.is_none() {
            return Err(line_err(line, "neither hostname nor owner"));
        }
        if let Some(m) = &mac {
            self.by_mac.insert(m.as_str().into(), entry.clone());
        }
        if let Some(a) = ip {
            self.by_ip.insert(
                a,
                InventoryEntry {
                    mac: mac.map(String::into_boxed_str),
                    ..entry
                },
            );
        }
        Ok(())
    }

    /// The entry of an IP address.
    pub fn by_ip(&self, ip: IpAddr) -> Option<&InventoryEntry> {
        self.by_ip.get(&ip)
    }

    /// The entry of a MAC (normalised: lower case with colons).
    pub fn by_mac(&self, mac: &str) -> Option<&InventoryEntry> {
        self.by_mac.get(mac)
    }

    /// Number of entries (by IP plus by MAC).
    pub fn len(&self) -> usize {
        self.by_ip.len() + self.by_mac.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn header(rec: &csv::StringRecord, line: u64) -> Result<Columns, InventoryError> {
    let mut c = Columns::default();
    for (i, name) in rec.iter().enumerate() {
        let name = name
            .trim_matches(['"', '\'', '\u{feff}'])
            .trim()
            .to_ascii_lowercase();
        let slot = match name.as_str() {
            "ip" | "ip_address" | "addr" => &mut c.ip,
            "mac" | "mac_address" => &mut c.mac,
            "address" | "ip_or_mac" => &mut c.address,
            "hostname" | "host" | "host_name" | "workstation" | "name" => &mut c.hostname,
            "owner" | "user" => &mut c.owner,
            _ => continue,
        };
        if slot.is_some() {
            return Err(line_err(line, format!("column {name:?} given twice")));
        }
        *slot = Some(i);
    }
    if c.ip.is_none() && c.mac.is_none() && c.address.is_none() {
        return Err(line_err(line, "header has no ip or mac column"));
    }
    if c.hostname.is_none() && c.owner.is_none() {
        return Err(line_err(line, "header has no hostname or owner column"));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(s: &str) -> Result<Inventory, InventoryError> {
        Inventory::from_reader(s.as_bytes())
    }

    #[test]
    fn reads_ips_and_macs_tolerantly() {
        let i = inv("# hosts\nIP , MAC, Hostname, \"Owner\"\n 10.0.0.5 ,, \"srv-db\", dba team\n\n,AA-BB-CC-00-00-01,  laptop-1 ,alice\n10.0.0.6,aa:bb:cc:00:00:02,printer,\n").unwrap();
        let e = i.by_ip("10.0.0.5".parse().unwrap()).unwrap();
        assert_eq!(e.hostname.as_deref(), Some("srv-db"));
        assert_eq!(e.owner.as_deref(), Some("dba team"));
        let e = i.by_mac("aa:bb:cc:00:00:01").unwrap();
        assert_eq!(e.hostname.as_deref(), Some("laptop-1"));
        let e = i.by_ip("10.0.0.6".parse().unwrap()).unwrap();
        assert_eq!(e.mac.as_deref(), Some("aa:bb:cc:00:00:02"));
        assert!(i.by_mac("aa:bb:cc:00:00:02").is_some());
    }

    #[test]
    fn errors_name_the_line() {
        let e = inv("ip,hostname\n10.0.0.1,a\n10.0.0.300,b\n").unwrap_err();
        assert!(e.to_string().starts_with("inventory line 3:"), "{e}");
        let e = inv("ip,hostname\n\n\n,b\n").unwrap_err();
        assert!(e.to_string().contains("line 4: no ip or mac"), "{e}");
        let e = inv("ip,hostname,owner\n10.0.0.1,,\n").unwrap_err();
        assert!(e.to_string().contains("line 2: neither"), "{e}");
        let e = inv("host,owner\na,b\n").unwrap_err();
        assert!(e.to_string().contains("line 1: header has no ip"), "{e}");
        let e = inv("ip,hostname\n\"10.0.0.1,a\n").unwrap_err();
        assert!(matches!(e, InventoryError::Line { .. }), "{e}");
        assert!(inv("").is_err());
    }
}
