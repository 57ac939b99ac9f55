//! `zcat` through trawl-input: copies each file (or stdin, `-`) to stdout,
//! decompressed. For comparing `open` with `gzip -dc`:
//!
//! ```text
//! cargo run --release -p trawl-input --example zcat -- [--sync] [--hash] big.log.gz > /dev/null
//! ```
//!
//! `--sync` decompresses on the calling thread; `--hash` stands in for a parser:
//! it hashes the text instead of printing it, so the overlap of work and
//! decompression shows.

use std::io::{self, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let sync = take_flag(&mut args, "--sync");
    let hash = take_flag(&mut args, "--hash");
    if args.is_empty() {
        args.push("-".into());
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut status = ExitCode::SUCCESS;
    for path in &args {
        let opened = if sync {
            trawl_input::open_sync(path)
        } else {
            trawl_input::open(path)
        };
        let copied = match opened {
            Ok(mut r) if hash => fnv(&mut r).and_then(|h| writeln!(out, "{h:016x}  {path}")),
            Ok(mut r) => io::copy(&mut r, &mut out).map(drop),
            Err(e) => Err(io::Error::other(e)),
        };
        if let Err(e) = copied {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return status;
            }
            eprintln!("zcat: {e}");
            status = ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() {
        status = ExitCode::FAILURE;
    }
    status
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != flag);
    args.len() != before
}

/// FNV-1a over the whole input: about a parser's worth of work per byte.
fn fnv(r: &mut dyn io::Read) -> io::Result<u64> {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(h);
        }
        for &b in &buf[..n] {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
