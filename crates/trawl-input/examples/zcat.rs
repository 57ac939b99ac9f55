//! `zcat` through trawl-input: copies each file (or stdin, `-`) to stdout,
//! decompressed. For comparing `open` with `gzip -dc`:
//!
//! ```text
//! cargo run --release -p trawl-input --example zcat -- big.log.gz > /dev/null
//! ```

use std::io::{self, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let sync = args.first().is_some_and(|a| a == "--sync");
    if sync {
        args.remove(0);
    }
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
