//! The data directory and the files that hold personal data or secrets belong to the owner
//! alone: the directory is created 0700, the SQLite database 0600 before SQLite opens it
//! (SQLite gives its `-wal` and `-shm` files the database file's mode), and anything wider
//! found at start is reported, not changed, since an operator may have widened it on purpose.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Makes every file this process creates private to its owner (umask 077).
pub fn restrict_umask() {
    #[cfg(unix)]
    {
        use rustix::fs::Mode;
        rustix::process::umask(Mode::RWXG | Mode::RWXO);
    }
}

/// The file of an SQLite database URL (`sqlite://PATH?…` or `sqlite:PATH`), `None` for an
/// in-memory database or another backend.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// Creates `dir` (0700; missing parents with the usual mode) if it does not exist.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create directory {}", parent.display()))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => Ok(()),
        // Another process (a node starting beside this one) made it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create data directory {}", dir.display())),
    }
}

/// Creates an empty `file` with mode 0600 if it does not exist, so that SQLite opens (and
/// copies the mode of) a private file instead of creating one with the default mode.
pub fn create_private_file(file: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", file.display())),
    }
}

/// Logs a warning for each of `paths` that exists and that users other than its owner can
/// read, write or enter (group or other bits set).
pub fn warn_if_not_private(paths: &[PathBuf]) {
    #[cfg(unix)]
    for path in paths {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            continue;
        }
        let (what, private) = if meta.is_dir() {
            ("data directory", "700")
        } else {
            ("file", "600")
        };
        tracing::warn!(
            path = %path.display(),
            mode = %format!("{mode:04o}"),
            "the {what} {} has mode {mode:04o}: other local users can read the personal data \
             or secrets in it; run `chmod {private} {}`",
            path.display(),
            path.display(),
        );
    }
    #[cfg(not(unix))]
    let _ = paths;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_an_sqlite_url_is_found_in_either_spelling() {
        assert_eq!(
            sqlite_file("sqlite://./data/sportello.db?mode=rwc"),
            Some(PathBuf::from("./data/sportello.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///srv/s.db"),
            Some(PathBuf::from("/srv/s.db"))
        );
        assert_eq!(sqlite_file("sqlite:s.db"), Some(PathBuf::from("s.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
