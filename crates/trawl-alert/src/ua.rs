//! What a user-agent string says about the host that sent it: the operating system it claims,
//! and whether it is a browser or a command-line tool. Used to keep per-host OS evidence and
//! to notice a user-agent that does not fit the host (a Windows browser from a FreeBSD build
//! server, curl from a Windows workstation).

/// An operating-system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Os {
    Windows,
    MacOs,
    Linux,
    FreeBsd,
    OtherBsd,
    Android,
    Ios,
}

impl Os {
    /// Every family, in the order of [`Os::index`].
    pub const ALL: [Os; 7] = [
        Os::Windows,
        Os::MacOs,
        Os::Linux,
        Os::FreeBsd,
        Os::OtherBsd,
        Os::Android,
        Os::Ios,
    ];

    /// The family's name, as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Os::Windows => "Windows",
            Os::MacOs => "macOS",
            Os::Linux => "Linux",
            Os::FreeBsd => "FreeBSD",
            Os::OtherBsd => "BSD",
            Os::Android => "Android",
            Os::Ios => "iOS",
        }
    }

    /// The family by name.
    pub fn from_name(s: &str) -> Option<Os> {
        Os::ALL.into_iter().find(|o| o.name() == s)
    }

    /// Position in [`Os::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Server-like Unix systems: a Windows browser from one of these is odd.
    pub fn is_unix_server(self) -> bool {
        matches!(self, Os::Linux | Os::FreeBsd | Os::OtherBsd)
    }
}

/// What kind of client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// A web browser (`Mozilla/5.0 (...) ... Chrome|Firefox|Safari|Edge`).
    Browser,
    /// A command-line downloader (curl, wget, PowerShell's, python-requests ...).
    Tool,
    /// Anything else (package managers, updaters, Java, libraries).
    Other,
}

/// What one user-agent string says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserAgent {
    pub os: Option<Os>,
    pub client: Client,
}

/// Markers of each OS family in a user agent (lower case), tried in this order: Android
/// before Linux and iOS before macOS, whose markers their user agents also carry.
const OS_MARKERS: [(Os, &[&str]); 7] = [
    (Os::Android, &["android"]),
    (Os::Ios, &["iphone", "ipad", "cpu os "]),
    (
        Os::Windows,
        &[
            "windows",
            "win64",
            "win32",
            "microsoft-cryptoapi",
            "microsoft-delivery-optimization",
        ],
    ),
    (Os::MacOs, &["mac os x", "macintosh", "darwin"]),
    (Os::FreeBsd, &["freebsd"]),
    (Os::OtherBsd, &["openbsd", "netbsd"]),
    (
        Os::Linux,
        &["linux", "ubuntu", "debian", "fedora", "red hat", "apt-http"],
    ),
];

/// Markers of command-line downloaders (lower case).
const TOOLS: [&str; 10] = [
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "libwww-perl",
    "go-http-client",
    "windowspowershell",
    "powershell/",
    "httpie/",
    "aria2/",
];

/// The name of the command-line tool a user-agent names (`curl`, `WindowsPowerShell`), from
/// the product token holding the marker: PowerShell's agent starts with `Mozilla/5.0`.
pub fn tool_name(ua: &str) -> Option<&str> {
    ua.split_whitespace()
        .find(|tok| {
            let l = tok.to_ascii_lowercase();
            TOOLS.iter().any(|t| l.contains(t))
        })
        .map(|tok| tok.split('/').next().unwrap_or(tok))
        .filter(|n| !n.is_empty())
}

/// Reads a user-agent string.
pub fn classify(ua: &str) -> UserAgent {
    let l = ua.to_ascii_lowercase();
    let os = OS_MARKERS
        .iter()
        .find(|(_, marks)| marks.iter().any(|m| l.contains(m)))
        .map(|&(os, _)| os);
    let client = if TOOLS.iter().any(|t| l.contains(t)) {
        Client::Tool
    } else if l.starts_with("mozilla/")
        && [
            "chrome/", "firefox/", "safari/", "edg/", "trident/", "msie ",
        ]
        .iter()
        .any(|b| l.contains(b))
    {
        Client::Browser
    } else {
        Client::Other
    };
    UserAgent { os, client }
}

/// Per-host counts of OS claims (how many records said each family).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    pub counts: [u32; 7],
}

impl Evidence {
    /// Adds one claim.
    pub fn add(&mut self, os: Os) {
        let c = &mut self.counts[os.index()];
        *c = c.saturating_add(1);
    }

    /// How many claims in all.
    pub fn total(&self) -> u32 {
        self.counts.iter().fold(0u32, |a, &c| a.saturating_add(c))
    }

    /// The family most records claimed, with its count.
    pub fn dominant(&self) -> Option<(Os, u32)> {
        Os::ALL
            .into_iter()
            .map(|o| (o, self.counts[o.index()]))
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(_, n)| *n)
    }

    /// A short description, e.g. `FreeBSD x11, Windows x1`.
    pub fn describe(&self) -> String {
        let mut v: Vec<(Os, u32)> = Os::ALL
            .into_iter()
            .map(|o| (o, self.counts[o.index()]))
            .filter(|(_, n)| *n > 0)
            .collect();
        v.sort_by_key(|x| std::cmp::Reverse(x.1));
        v.iter()
            .map(|(o, n)| format!("{} x{n}", o.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        let w = classify("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36");
        assert_eq!(
            w,
            UserAgent {
                os: Some(Os::Windows),
                client: Client::Browser
            }
        );
        let p = classify("pkg/1.20.9 (FreeBSD 13.3-RELEASE amd64)");
        assert_eq!(
            p,
            UserAgent {
                os: Some(Os::FreeBsd),
                client: Client::Other
            }
        );
        assert_eq!(classify("curl/8.5.0").client, Client::Tool);
        let ps = "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.1";
        assert_eq!(classify(ps).client, Client::Tool);
        assert_eq!(tool_name(ps), Some("WindowsPowerShell"));
        assert_eq!(tool_name("curl/8.5.0"), Some("curl"));
        assert_eq!(tool_name("python-requests/2.31.0"), Some("python-requests"));
        assert_eq!(classify("Wget/1.21.3 (linux-gnu)").os, Some(Os::Linux));
        let m = classify("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15");
        assert_eq!(m.os, Some(Os::MacOs));
        let mut e = Evidence::default();
        e.add(Os::FreeBsd);
        e.add(Os::FreeBsd);
        e.add(Os::Windows);
        assert_eq!(e.dominant(), Some((Os::FreeBsd, 2)));
        assert_eq!(e.describe(), "FreeBSD x2, Windows x1");
    }
}
