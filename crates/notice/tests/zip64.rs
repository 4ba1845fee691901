//! ZIP64: archives past the classic format's limits (65,534 entries, 4 GiB of offsets) open in
//! Python's `zipfile` and Info-ZIP's `unzip`; small archives stay plain ZIP.

mod support;

use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

use notice::{Compression, ZipWriter};
use support::tools as python;

/// Python's verdict on the archive: `testzip`, the entry count, the first and last names.
fn python_listing(path: &Path) -> String {
    let script = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nn=z.infolist()\nprint(len(n), n[0].filename, n[-1].filename, n[-1].header_offset)\n";
    let out = Command::new(python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "zipfile refused the archive: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn has_zip64_end(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == 0x0606_4b50u32.to_le_bytes())
}

#[test]
fn an_archive_of_70000_entries_is_zip64_and_opens_in_python_and_unzip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("many.zip");
    let file = std::fs::File::create(&path).expect("create");
    let mut zip = ZipWriter::with_compression(std::io::BufWriter::new(file), Compression::Store);
    for i in 0..70_000 {
        zip.add(&format!("{i:05}.pdf"), format!("notice {i}").as_bytes())
            .expect("add");
    }
    zip.finish().expect("finish");
    let bytes = std::fs::read(&path).expect("read");
    assert!(has_zip64_end(&bytes));
    let listing = python_listing(&path);
    assert!(
        listing.starts_with("70000 00000.pdf 69999.pdf "),
        "{listing}"
    );
    let st = Command::new("unzip")
        .args(["-tqq"])
        .arg(&path)
        .status()
        .expect("unzip runs");
    assert!(st.success(), "unzip -t refused the archive");
}

#[test]
fn a_small_archive_has_no_zip64_records() {
    let mut zip = ZipWriter::new(Vec::new());
    for i in 0..10 {
        zip.add(&format!("{i}.txt"), b"x").expect("add");
    }
    let bytes = zip.finish().expect("finish");
    assert!(!has_zip64_end(&bytes));
}

#[test]
fn entries_past_4_gib_get_zip64_offsets_that_python_follows() {
    // A sparse file: the archive starts 4.5 GiB in, so its entries' offsets need 64 bits
    // while the disk holds a few bytes.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("far.zip");
    let mut file = std::fs::File::create(&path).expect("create");
    let start = 9 * (1u64 << 29);
    file.seek(SeekFrom::Start(start)).expect("seek");
    let mut zip = ZipWriter::after(std::io::BufWriter::new(file), Compression::Deflate, start);
    zip.add("a.pdf", &b"a".repeat(1000)).expect("add");
    zip.add("b.pdf", b"b").expect("add");
    zip.finish().expect("finish");
    let listing = python_listing(&path);
    let offset: u64 = listing
        .strip_prefix("2 a.pdf b.pdf ")
        .and_then(|o| o.parse().ok())
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(offset > start && offset < start + 100, "{listing}");
}
