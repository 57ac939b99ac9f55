//! Against the shared real-world corpus: every gzip found decompresses, except the
//! one known corrupt file, which fails after its good part.

use std::io::Read;
use std::path::{Path, PathBuf};

use trawl_input::{discover, open, Compression, Filter};

const CORRUPT: &str = "SuperCowPowers-zat/data/http.log.corrupt.gz";

fn corpus() -> Option<PathBuf> {
    let Some(shared) = std::env::var_os("TRAWL_SHARED") else {
        println!("skipped: TRAWL_SHARED unset");
        return None;
    };
    let corpus = Path::new(&shared).join("corpus");
    assert!(corpus.is_dir(), "{} is missing", corpus.display());
    Some(corpus)
}

#[test]
fn every_gzip_decompresses_but_the_corrupt_one() {
    let Some(corpus) = corpus() else { return };
    let found = discover(std::slice::from_ref(&corpus), &Filter::default()).unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert!(found.files.len() > 1000, "only {} files", found.files.len());

    let mut failed = Vec::new();
    let mut gzips = 0;
    for file in found
        .files
        .iter()
        .filter(|f| f.compressed == Compression::Gzip)
    {
        gzips += 1;
        let mut out = Vec::new();
        if let Err(e) = open(&file.path).unwrap().read_to_end(&mut out) {
            let rel = file
                .path
                .strip_prefix(&corpus)
                .unwrap()
                .display()
                .to_string();
            assert!(
                e.to_string().starts_with(&file.path.display().to_string()),
                "{e}"
            );
            failed.push((rel, out.len(), e.to_string()));
        } else {
            assert!(!out.is_empty(), "{} is empty", file.path.display());
        }
    }
    assert!(gzips >= 60, "only {gzips} gzip logs found");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (rel, good, msg) = &failed[0];
    assert_eq!(rel, CORRUPT, "{msg}");
    assert!(*good > 0, "nothing kept before the error: {msg}");
    assert!(msg.contains("corrupt gzip"), "{msg}");
}

#[test]
fn every_plain_log_opens() {
    let Some(corpus) = corpus() else { return };
    let found = discover(std::slice::from_ref(&corpus), &Filter::default()).unwrap();
    for file in found
        .files
        .iter()
        .filter(|f| f.compressed == Compression::None)
    {
        let mut out = Vec::new();
        let read = open(&file.path).unwrap().read_to_end(&mut out);
        assert!(read.is_ok(), "{}: {read:?}", file.path.display());
    }
}
