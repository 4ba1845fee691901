//! Shared by the notice test binaries (each declares `mod support;`): the tools of
//! `scripts/test-tools.sh` (poppler, zbar, a Python venv), a runner for them and a rendered
//! PDF on disk with poppler's readings of it.
#![allow(dead_code, reason = "each test binary uses a part of these helpers")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", manifest_dir.display()))
        .to_path_buf()
}

/// Runs `scripts/test-tools.sh` once per process (a no-op once done); returns the venv python.
pub fn tools() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = workspace_root().join("scripts/test-tools.sh");
        let output = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{} failed ({}):\n{stdout}\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let python = stdout.lines().last().unwrap_or_default().trim().to_owned();
        for tool in [
            "pdftotext",
            "pdfinfo",
            "pdffonts",
            "pdftoppm",
            "pdfimages",
            "zbarimg",
        ] {
            let found = Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .expect("sh runs");
            assert!(
                found.status.success(),
                "{tool} is not installed after {}",
                script.display()
            );
        }
        PathBuf::from(python)
    })
}

/// Runs a program (the tools installed first), which must succeed; its standard output.
pub fn run(program: &str, args: &[&str]) -> String {
    tools();
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a Python program (run by the venv python) writes on its standard output; it must
/// succeed.
pub fn python(program: &str) -> Vec<u8> {
    let out = Command::new(tools())
        .arg("-c")
        .arg(program)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A rendered PDF in a temporary directory of its own. Each test binary adds the readings it
/// needs (`text`, ...) in an `impl Rendered` of its own.
pub struct Rendered {
    _dir: tempfile::TempDir,
    pub pdf: PathBuf,
    pub bytes: usize,
}

impl Rendered {
    /// Writes `bytes` as `file_name` in a new temporary directory. To look at what the tests
    /// render: `NOTICE_TEST_OUT=/some/dir cargo test -p notice`.
    pub fn new(bytes: &[u8], file_name: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pdf = dir.path().join(file_name);
        std::fs::write(&pdf, bytes).expect("write pdf");
        if let Some(out) = std::env::var_os("NOTICE_TEST_OUT") {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let n = COUNT.fetch_add(1, Ordering::Relaxed);
            let stem = file_name.strip_suffix(".pdf").unwrap_or(file_name);
            let name = format!(
                "{}-{n}.pdf",
                std::thread::current()
                    .name()
                    .unwrap_or(stem)
                    .replace("::", "-")
            );
            std::fs::write(Path::new(&out).join(name), bytes).expect("write a copy");
        }
        Self {
            _dir: dir,
            pdf,
            bytes: bytes.len(),
        }
    }

    pub fn path(&self) -> &str {
        self.pdf.to_str().expect("utf-8 temp path")
    }

    pub fn pages(&self) -> usize {
        let info = run("pdfinfo", &[self.path()]);
        let line = info
            .lines()
            .find(|l| l.starts_with("Pages:"))
            .expect("pdfinfo prints Pages:");
        line["Pages:".len()..].trim().parse().expect("a page count")
    }

    /// The page size line of `pdfinfo` says A4.
    pub fn assert_a4(&self) {
        let info = run("pdfinfo", &[self.path()]);
        assert!(info.contains("595 x 842 pts (A4)"), "{info}");
    }

    /// `pdffonts` lists exactly the regular and the bold DejaVu Sans, embedded subsets with
    /// a Unicode map.
    pub fn assert_embedded_subsets(&self) {
        let fonts = run("pdffonts", &[self.path()]);
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert_eq!(rows.len(), 2, "regular and bold:\n{fonts}");
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // name type(2 words) encoding emb sub uni object id
            assert!(cols[0].contains("+DejaVuSans"), "{row}");
            assert_eq!(
                &cols[4..7],
                &["yes", "yes", "yes"],
                "emb, sub, uni in {row}"
            );
        }
    }
}
