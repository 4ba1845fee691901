//! `notice_archive`: the payment notices of a filter's positions rendered into one ZIP under
//! the worker's archive directory (`<data_dir>/archives/<id>.zip`, 0600 in a 0700 directory).
//!
//! The positions are read in pages by a `(inserted, id)` cursor, up to the archive's request
//! time, so the walk sees each position once. Each page is rendered on every core
//! (`std::thread::scope` inside `spawn_blocking`) while the next page is read and a writer
//! thread appends the previous one to the ZIP, in order; the counters are saved and the lease
//! extended after every page. A position with nothing to print (every option paid, or a notice
//! that does not render) is left out and listed in `errors.ndjson` inside the ZIP.
//!
//! Resuming: a run writes `<id>.zip.tmp` and renames it to `<id>.zip` only when complete. A
//! job claimed again after a crash (or a failed attempt) starts over: the temporary file is
//! replaced and the counters reset, so the finished ZIP holds exactly one entry per position.
//! The file lives on the node that built it (see `docs/` on several PostgreSQL nodes).

use std::collections::HashSet;
use std::io::{self, BufWriter};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use kernel::Clock;
use kernel::jobs::Job;
use notice::{Compression, ZipWriter};
use payments::model::Position;
use payments::ports::{ArchiveCursor, ArchiveStatus, PaymentsStore};

use crate::Worker;

/// Positions read, rendered and recorded per step.
pub const PAGE: i64 = 1_000;

/// The job's claim, extended after every page.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLease {
    pub job_id: i64,
    pub lease_ms: i64,
}

/// What building an archive needs.
pub struct Build<'a> {
    pub store: &'a dyn PaymentsStore,
    pub clock: &'a dyn Clock,
    /// The directory the ZIPs are written to (created 0700 when missing).
    pub dir: &'a Path,
    pub lease: Option<ArchiveLease>,
    /// Render threads (0: one per core).
    pub threads: usize,
}

/// A finished archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub path: PathBuf,
    pub done: i64,
    pub failed: i64,
}

/// Why a build stopped.
#[derive(Debug)]
pub enum BuildError {
    /// No archive has this id: nothing to do, ever.
    Gone,
    /// Worth another attempt (storage, disk).
    Failed(String),
}

impl From<kernel::ports::StoreError> for BuildError {
    fn from(e: kernel::ports::StoreError) -> Self {
        Self::Failed(e.to_string())
    }
}

fn io_error(what: &str, e: io::Error) -> BuildError {
    BuildError::Failed(format!("{what}: {e}"))
}

/// The ZIP entry name for a position: its IUPD with anything but `[A-Za-z0-9._-]` replaced
/// by `_` (no directories, no control characters), made unique with `~2`, `~3`… when two
/// IUPDs sanitize alike.
fn entry_name(iupd: &str, taken: &mut HashSet<String>) -> String {
    let base: String = iupd
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{base}.pdf");
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}~{n}.pdf");
        n += 1;
    }
    name
}

/// What the writer thread is sent, in order.
enum ToWriter {
    Entries(Vec<(String, Vec<u8>)>),
    /// Add `errors.ndjson` (when not empty), write the directory, flush and sync.
    Finish(Vec<u8>),
}

/// Appends entries to the ZIP until told to finish (`Ok(true)`) or abandoned (`Ok(false)`).
fn write_all(file: std::fs::File, rx: Receiver<ToWriter>) -> io::Result<bool> {
    let mut zip =
        ZipWriter::with_compression(BufWriter::with_capacity(1 << 20, file), Compression::Store);
    while let Ok(msg) = rx.recv() {
        match msg {
            ToWriter::Entries(entries) => {
                for (name, pdf) in entries {
                    zip.add(&name, &pdf)?;
                }
            }
            ToWriter::Finish(errors) => {
                if !errors.is_empty() {
                    zip.add("errors.ndjson", &errors)?;
                }
                let out = zip.finish()?;
                out.into_inner()
                    .map_err(io::IntoInnerError::into_error)?
                    .sync_all()?;
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// One position's notice, or why there is none.
fn render_one(
    p: &Position,
    logo: Option<&[u8]>,
    language: notice::Language,
) -> Result<Vec<u8>, String> {
    let n = ops::payments::notice_of(p, logo.map(<[u8]>::to_vec), language)
        .map_err(|e| e.to_string())?;
    notice::render(&n).map_err(|e| format!("the notice does not render: {e}"))
}

/// Renders a page on `threads` threads, keeping the order.
fn render_page(
    page: &[(Position, String)],
    logo: Option<&[u8]>,
    language: notice::Language,
    threads: usize,
) -> Result<Vec<Result<Vec<u8>, String>>, String> {
    let per = page.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = page
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(p, _)| render_one(p, logo, language))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(page.len());
        for part in parts {
            out.extend(part.join().map_err(|_| "a render thread panicked")?);
        }
        Ok(out)
    })
}

/// One rendered page: the counts, and the skipped positions' `errors.ndjson` lines.
struct PageOutcome {
    done: i64,
    failed: i64,
    errors: Vec<u8>,
}

/// Renders a page and hands its notices to the writer.
fn render_and_send(
    page: Vec<(Position, String)>,
    logo: Option<Arc<Vec<u8>>>,
    language: notice::Language,
    threads: usize,
    tx: SyncSender<ToWriter>,
) -> Result<PageOutcome, String> {
    let rendered = render_page(&page, logo.as_deref().map(Vec::as_slice), language, threads)?;
    let mut out = PageOutcome {
        done: 0,
        failed: 0,
        errors: Vec::new(),
    };
    let mut entries = Vec::with_capacity(page.len());
    for ((p, name), pdf) in page.into_iter().zip(rendered) {
        match pdf {
            Ok(pdf) => {
                entries.push((name, pdf));
                out.done += 1;
            }
            Err(reason) => {
                out.failed += 1;
                let line = serde_json::json!({"iupd": p.iupd.as_str(), "reason": reason});
                out.errors.extend_from_slice(line.to_string().as_bytes());
                out.errors.push(b'\n');
            }
        }
    }
    tx.send(ToWriter::Entries(entries))
        .map_err(|_| "the archive writer stopped".to_owned())?;
    Ok(out)
}

/// Creates the archive directory private to the owner.
fn private_dir(dir: &Path) -> Result<(), BuildError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error("cannot create the archive directory", e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| io_error("cannot make the archive directory private", e))
}

/// Builds the archive `id` from the start; `Ok` once its ZIP is in place and the archive DONE
/// (also when it already was).
pub async fn build(b: &Build<'_>, id: &str) -> Result<Built, BuildError> {
    let archive = b
        .store
        .get_archive_by_id(id)
        .await?
        .ok_or(BuildError::Gone)?;
    if archive.status == ArchiveStatus::Done
        && let Some(path) = &archive.path
    {
        return Ok(Built {
            path: PathBuf::from(path),
            done: archive.done,
            failed: archive.failed,
        });
    }
    let language = ops::notice_archives::language(&archive.language)
        .ok_or_else(|| BuildError::Failed(format!("unknown language {}", archive.language)))?;
    let org = &archive.organization;
    let until = archive.created_at;
    let total = b
        .store
        .count_archive_positions(org, &archive.filter, until)
        .await?;
    b.store.start_archive(id, total, b.clock.now()).await?;
    let logo = b.store.organization_logo(org).await?.map(Arc::new);
    let threads = if b.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        b.threads
    };

    private_dir(b.dir)?;
    let final_path = b.dir.join(format!("{id}.zip"));
    let temp_path = b.dir.join(format!("{id}.zip.tmp"));
    match std::fs::remove_file(&temp_path) {
        Ok(()) => tracing::info!(archive.id = id, "archive restarted from the beginning"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("cannot remove the previous temporary archive", e)),
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp_path)
        .map_err(|e| io_error("cannot create the archive file", e))?;
    let (tx, rx) = sync_channel::<ToWriter>(2);
    let writer = std::thread::spawn(move || write_all(file, rx));

    let result = fill(b, &archive, language, until, logo, threads, &tx).await;
    let errors = match result {
        Ok(counts) => {
            let sent = tx.send(ToWriter::Finish(counts.2));
            drop(tx);
            let written = tokio::task::spawn_blocking(move || writer.join())
                .await
                .map_err(|e| BuildError::Failed(format!("archive writer: {e}")))?
                .map_err(|_| BuildError::Failed("the archive writer panicked".into()))?;
            match (sent, written) {
                (Ok(()), Ok(true)) => Ok((counts.0, counts.1)),
                (_, Err(e)) => Err(io_error("cannot write the archive", e)),
                _ => Err(BuildError::Failed("the archive writer stopped".into())),
            }
        }
        Err(e) => {
            drop(tx);
            // The writer's own error, if it stopped first, says more than the sender's.
            let written = tokio::task::spawn_blocking(move || writer.join()).await;
            match written {
                Ok(Ok(Err(io))) => Err(io_error("cannot write the archive", io)),
                _ => Err(e),
            }
        }
    };
    let (done, failed) = match errors {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&temp_path);
            return Err(e);
        }
    };
    std::fs::rename(&temp_path, &final_path)
        .map_err(|e| io_error("cannot move the archive in place", e))?;
    if let Ok(d) = std::fs::File::open(b.dir) {
        let _ = d.sync_all();
    }
    let path = final_path.display().to_string();
    b.store
        .finish_archive(id, Ok((&path, done, failed)), b.clock.now())
        .await?;
    Ok(Built {
        path: final_path,
        done,
        failed,
    })
}

/// Walks the positions page by page; returns `(done, failed, errors.ndjson)`.
async fn fill(
    b: &Build<'_>,
    archive: &payments::ports::NoticeArchive,
    language: notice::Language,
    until: chrono::DateTime<chrono::Utc>,
    logo: Option<Arc<Vec<u8>>>,
    threads: usize,
    tx: &SyncSender<ToWriter>,
) -> Result<(i64, i64, Vec<u8>), BuildError> {
    let (org, filter, id) = (&archive.organization, &archive.filter, archive.id.as_str());
    let mut names = HashSet::new();
    let (mut done, mut failed, mut errors) = (0i64, 0i64, Vec::new());
    let mut page = b
        .store
        .archive_positions(org, filter, until, None, PAGE)
        .await?;
    while !page.is_empty() {
        let cursor = page.last().map(|p| ArchiveCursor {
            inserted: p.inserted_date,
            id: p.id,
        });
        let named: Vec<(Position, String)> = page
            .into_iter()
            .map(|p| {
                let name = entry_name(p.iupd.as_str(), &mut names);
                (p, name)
            })
            .collect();
        let (logo, tx) = (logo.clone(), tx.clone());
        let render = tokio::task::spawn_blocking(move || {
            render_and_send(named, logo, language, threads, tx)
        });
        // The next page is read while this one renders.
        let next = b
            .store
            .archive_positions(org, filter, until, cursor.as_ref(), PAGE)
            .await;
        let outcome = render
            .await
            .map_err(|e| BuildError::Failed(format!("render task: {e}")))?
            .map_err(BuildError::Failed)?;
        done += outcome.done;
        failed += outcome.failed;
        errors.extend_from_slice(&outcome.errors);
        let now = b.clock.now();
        b.store.archive_progress(id, done, failed, now).await?;
        if let Some(l) = b.lease {
            let until = now + chrono::Duration::milliseconds(l.lease_ms);
            if let Err(e) = b.store.extend_job(l.job_id, until).await {
                tracing::warn!(job.id = l.job_id, error.cause = %e, "cannot extend the archive lease");
            }
        }
        page = next?;
    }
    Ok((done, failed, errors))
}

impl Worker {
    pub(crate) async fn run_archive(&self, job: &Job) {
        let started = std::time::Instant::now();
        let b = Build {
            store: self.payments.as_ref(),
            clock: self.clock.as_ref(),
            dir: &self.config.archive_dir,
            lease: Some(ArchiveLease {
                job_id: job.id,
                lease_ms: self.config.lease_ms,
            }),
            threads: 0,
        };
        match build(&b, &job.subject_id).await {
            Ok(built) => {
                tracing::info!(
                    job.id = job.id,
                    archive.id = %job.subject_id,
                    archive.done = built.done,
                    archive.failed = built.failed,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "notice archive built"
                );
                self.delete_archive_job(job).await;
            }
            Err(BuildError::Gone) => {
                tracing::warn!(job.id = job.id, archive.id = %job.subject_id, "the archive of this job does not exist");
                self.delete_archive_job(job).await;
            }
            Err(BuildError::Failed(error)) => {
                if job.attempts >= self.config.max_attempts {
                    // The last attempt: the archive says so (a retried dead job starts over).
                    if let Err(e) = self
                        .payments
                        .finish_archive(&job.subject_id, Err(&error), self.clock.now())
                        .await
                    {
                        tracing::warn!(job.id = job.id, error.cause = %e, "cannot mark the archive failed");
                    }
                }
                self.record_failure(job, &error).await;
            }
        }
    }

    async fn delete_archive_job(&self, job: &Job) {
        if let Err(e) = self.store.delete_job(job.id).await {
            tracing::warn!(job.id = job.id, error.cause = %e, "cannot remove the archive job");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_flat_safe_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(
            entry_name("TARI-2027.01_a", &mut taken),
            "TARI-2027.01_a.pdf"
        );
        assert_eq!(entry_name("../x/y", &mut taken), ".._x_y.pdf");
        assert_eq!(entry_name("a/b", &mut taken), "a_b.pdf");
        assert_eq!(entry_name("a b", &mut taken), "a_b~2.pdf");
        assert_eq!(entry_name("a\u{e8}b", &mut taken), "a_b~3.pdf");
    }
}
