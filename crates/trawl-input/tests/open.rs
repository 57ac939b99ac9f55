//! Opening by magic bytes: plain, gzip (multi-member), zstd (multi-frame), errors.

use std::io::{Read, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use trawl_input::{open, open_reader, open_sync, InputError};

/// Zeek-like text that does not compress to nothing: `lines` rows of xorshift noise.
fn text(lines: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(lines * 64);
    for i in 0..lines {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        writeln!(
            out,
            "{i}.000000\tC{x:016x}\t10.0.{}.{}\t53\tudp\texample{}.org",
            x % 256,
            (x >> 8) % 256,
            x % 1000
        )
        .unwrap();
    }
    out
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 1).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn read_all(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    open(path).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// Reads to the error, returning what came before it and the error.
fn read_until_error(mut r: Box<dyn Read + Send>) -> (Vec<u8>, std::io::Error) {
    let mut out = Vec::new();
    let err = r.read_to_end(&mut out).expect_err("should fail");
    // After the error the reader reports the end, not garbage.
    let mut more = [0u8; 16];
    assert_eq!(r.read(&mut more).unwrap(), 0);
    (out, err)
}

#[test]
fn plain_and_tiny_files_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    for content in [
        &b""[..],
        b"x",
        b"\x1f",
        b"#separator \\x09\n",
        &text(50_000),
    ] {
        let path = write(dir.path(), "a.log", content);
        assert_eq!(read_all(&path), content);
    }
}

#[test]
fn compression_by_magic_not_extension() {
    let dir = tempfile::tempdir().unwrap();
    let data = text(1000);
    assert_eq!(
        read_all(&write(dir.path(), "gz_named.log", &gz(&data))),
        data
    );
    assert_eq!(
        read_all(&write(dir.path(), "zst_named.txt", &zst(&data))),
        data
    );
    assert_eq!(read_all(&write(dir.path(), "plain.log.gz", &data)), data);
}

#[test]
fn concatenated_gzip_members_and_zstd_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (text(3000), b"#close\t2024-04-12-10-00-00\n".to_vec());
    let expected = [a.clone(), b.clone(), a.clone()].concat();
    let gz_cat = [gz(&a), gz(&b), gz(&a)].concat();
    let zst_cat = [zst(&a), zst(&b), zst(&a)].concat();
    for (name, bytes) in [("cat.log.gz", gz_cat), ("cat.log.zst", zst_cat)] {
        let path = write(dir.path(), name, &bytes);
        assert_eq!(read_all(&path), expected, "{name} via open");
        let mut out = Vec::new();
        open_sync(&path).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, expected, "{name} via open_sync");
    }
}

#[test]
fn large_files_go_through_the_thread_intact() {
    let dir = tempfile::tempdir().unwrap();
    let data = text(60_000); // ~4 MB: several 1 MiB buffers
    for (name, bytes) in [("big.log.gz", gz(&data)), ("big.log.zst", zst(&data))] {
        assert!(bytes.len() > 256 << 10, "must take the threaded path");
        let path = write(dir.path(), name, &bytes);
        assert_eq!(read_all(&path), data);
        // Small reads too.
        let mut r = open(&path).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, data);
    }
}

#[test]
fn stdin_style_readers() {
    let data = text(2000);
    for bytes in [gz(&data), zst(&data), data.clone()] {
        let mut out = Vec::new();
        open_reader(std::io::Cursor::new(bytes))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}

#[test]
fn truncated_gzip_errors_after_the_good_part() {
    let dir = tempfile::tempdir().unwrap();
    // Small (decoded inline) and large (decoded on the thread).
    for lines in [2_000, 60_000] {
        let data = text(lines);
        let full = gz(&data);
        let path = write(dir.path(), "cut.log.gz", &full[..full.len() * 3 / 4]);
        for reader in [open(&path).unwrap(), open_sync(&path).unwrap()] {
            let (good, err) = read_until_error(reader);
            assert!(
                good.len() > data.len() / 2,
                "kept {} of {}",
                good.len(),
                data.len()
            );
            assert_eq!(&data[..good.len()], &good[..]);
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!("{}: corrupt gzip: ", path.display())),
                "{msg}"
            );
        }
    }
}

#[test]
fn damaged_gzip_and_zstd_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = text(20_000);
    let mut bad_gz = gz(&data);
    let n = bad_gz.len();
    bad_gz[n / 2] ^= 0x55;
    bad_gz[n / 2 + 1] ^= 0xaa;
    let mut bad_zst = zst(&data);
    let n = bad_zst.len();
    bad_zst.truncate(n - 100);
    // A good member followed by garbage.
    let trailing = [gz(&data), b"not gzip at all".to_vec()].concat();
    for (name, bytes, what) in [
        ("bad.log.gz", bad_gz, "corrupt gzip"),
        ("bad.log.zst", bad_zst, "corrupt zstd"),
        ("trailing.log.gz", trailing, "corrupt gzip"),
    ] {
        let path = write(dir.path(), name, &bytes);
        let (_, err) = read_until_error(open(&path).unwrap());
        assert!(
            err.to_string()
                .contains(&format!("{}: {what}", path.display())),
            "{err}"
        );
    }
}

#[test]
fn open_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.log");
    match open(&missing) {
        Err(InputError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected Io error, got {:?}", other.map(|_| ())),
    }
    let xz = write(dir.path(), "a.log.xz", b"\xfd7zXZ\x00\x00\x04rest");
    assert!(matches!(
        open(&xz),
        Err(InputError::Unsupported { format: "xz", .. })
    ));
    // A folder opens (on Unix) but cannot be read.
    assert!(open(dir.path()).is_err());
}

#[test]
fn dropping_a_reader_midway_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.log.gz", &gz(&text(60_000)));
    for _ in 0..20 {
        let mut r = open(&path).unwrap();
        let mut buf = [0u8; 100];
        r.read_exact(&mut buf).unwrap();
        drop(r);
    }
}
