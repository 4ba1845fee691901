//! Bulk imports of debt positions, shared by `POST …/debtpositions/imports` and the
//! `import_positions` job.
//!
//! Upload ([`Upload`]): the body is split into records as it arrives (the messaging batches'
//! splitter: NDJSON lines, or CSV records whose quoted fields may span lines), each sealed and
//! stored in chunks, never the whole upload in memory. The import becomes visible, takes its
//! idempotency key and queues its job only when the whole upload is stored.
//!
//! Processing ([`process`]): pending lines are read in chunks; each line is parsed exactly as
//! GPD's create (`gpd::parse_v1`), prepared (notice numbers allocated, published when asked)
//! and the chunk's positions are written with every line's outcome and the counters in one
//! transaction (`Imports::import_chunk`). A crash loses at most the chunk in flight, which
//! left nothing behind; resuming reads the lines still without an outcome, so every line gets
//! exactly one. An IUPD the ente already has is DUPLICATE (nothing changed), which makes a
//! re-upload of the same file harmless.

use std::collections::HashMap;

use kernel::jobs::JobKind;
use messaging::batch::{Format, Record, Splitter, csv_fields};
use payments::gpd;
use payments::import::{
    CsvHeader, Import, ImportFormat, ImportId, ImportLine, ImportStatus, LineOutcome, LineResult,
    csv_header, csv_to_json, line_context,
};
use payments::ports::{CreateOutcome, PositionWrite, Profile};
use seal::Keyring;
use serde_json::Value;

use crate::payments::{PayContext, prepare, wake};
use crate::{Error, Result};

/// Lines stored per transaction while uploading.
const UPLOAD_CHUNK: usize = 2_000;

/// Lines processed per transaction.
pub const CHUNK: i64 = 2_000;

fn splitter_format(f: ImportFormat) -> Format {
    match f {
        ImportFormat::Ndjson => Format::Ndjson,
        ImportFormat::Csv => Format::Csv,
    }
}

fn invalid_upload(detail: impl Into<String>) -> Error {
    Error::bad_request("Invalid import", detail)
}

/// The CSV header of a stored import, checked again (it was checked at upload).
fn header_of(text: &str) -> std::result::Result<CsvHeader, String> {
    csv_header(&csv_fields(text)?)
}

/// An upload in progress.
pub struct Upload<'a> {
    cx: PayContext<'a>,
    keyring: &'a Keyring,
    profile: &'a Profile,
    format: ImportFormat,
    to_publish: bool,
    idempotency_key: Option<String>,
    splitter: Splitter,
    id: Option<ImportId>,
    /// The import existed already (same idempotency key): the rest of the body is ignored.
    replayed: bool,
    pending: Vec<ImportLine>,
    /// Lines rejected as they were split (too long, unclosed quote), stored with each chunk.
    rejected: Vec<LineResult>,
    total: i64,
    bytes: u64,
    max_bytes: Option<u64>,
}

impl<'a> Upload<'a> {
    pub fn new(
        cx: PayContext<'a>,
        keyring: &'a Keyring,
        profile: &'a Profile,
        format: ImportFormat,
        to_publish: bool,
        idempotency_key: Option<String>,
    ) -> Self {
        Self {
            cx,
            keyring,
            profile,
            format,
            to_publish,
            idempotency_key,
            splitter: Splitter::new(splitter_format(format)),
            id: None,
            replayed: false,
            pending: Vec::new(),
            rejected: Vec::new(),
            total: 0,
            bytes: 0,
            max_bytes: None,
        }
    }

    /// Refuses an upload larger than `max_bytes` ([`Error::PayloadTooLarge`]).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = Some(max_bytes);
        self
    }

    /// Feeds the next bytes of the body.
    pub async fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes += bytes.len() as u64;
        if self.max_bytes.is_some_and(|max| self.bytes > max) {
            return Err(Error::PayloadTooLarge);
        }
        if self.replayed {
            return Ok(());
        }
        for record in self.splitter.push(bytes) {
            self.record(record).await?;
            if self.replayed {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Ends the upload: stores what is left and queues the import. Returns its id and whether
    /// it was created now (false: an earlier upload with the same idempotency key).
    pub async fn finish(mut self) -> Result<(ImportId, bool)> {
        if !self.replayed {
            for record in self.splitter.finish() {
                self.record(record).await?;
                if self.replayed {
                    break;
                }
            }
        }
        let empty = || invalid_upload("The upload is empty: no debt position in it.");
        let Some(id) = self.id else {
            return Err(empty());
        };
        if self.replayed {
            return Ok((id, false));
        }
        if self.total == 0 {
            self.abort().await;
            return Err(empty());
        }
        self.flush().await?;
        let sealed = self
            .cx
            .store
            .seal_import(
                &id,
                self.total,
                self.idempotency_key.as_deref(),
                self.cx.clock.now(),
            )
            .await;
        match sealed {
            Ok(sealed) => {
                self.cx.jobs_ready.ready(JobKind::ImportPositions);
                Ok(sealed)
            }
            Err(e) => {
                let _ = self.cx.store.discard_import(&id).await;
                Err(upload_error(e))
            }
        }
    }

    /// Gives up an upload (the client went away, the body was too large): nothing is kept.
    pub async fn abort(self) {
        if let (Some(id), false) = (&self.id, self.replayed)
            && let Err(e) = self.cx.store.discard_import(id).await
        {
            tracing::warn!(error.cause = %e, "cannot discard an aborted import upload");
        }
    }

    async fn record(&mut self, record: Record) -> Result<()> {
        if self.id.is_none() {
            return self.first(record).await;
        }
        self.add(record)?;
        if self.pending.len() >= UPLOAD_CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    /// The first record decides whether the upload is decodable at all.
    async fn first(&mut self, record: Record) -> Result<()> {
        let undecodable = |why: String| {
            invalid_upload(format!(
                "The upload cannot be decoded: line {}: {why}",
                record.line
            ))
        };
        let header = match (self.format, record.defect) {
            (ImportFormat::Csv, Some(defect)) => {
                return Err(invalid_upload(format!(
                    "The upload cannot be decoded: the CSV header is unreadable: {}",
                    defect.reason(record.line)
                )));
            }
            (ImportFormat::Csv, None) => {
                let text = std::str::from_utf8(&record.bytes)
                    .map_err(|_| undecodable("not UTF-8 text".into()))?;
                header_of(text).map_err(undecodable)?;
                Some(text.to_owned())
            }
            (ImportFormat::Ndjson, Some(_)) => None,
            (ImportFormat::Ndjson, None) => {
                match serde_json::from_slice::<Value>(&record.bytes) {
                    Ok(v) if v.is_object() => {}
                    Ok(_) => return Err(undecodable("each line must be a JSON object".into())),
                    Err(e) => return Err(undecodable(format!("not JSON ({e})"))),
                }
                None
            }
        };
        let now = self.cx.clock.now();
        let import = Import {
            id: ImportId::new_at(now),
            organization: self.profile.organization.clone(),
            format: self.format,
            header,
            to_publish: self.to_publish,
            status: ImportStatus::Receiving,
            total: 0,
            created: 0,
            duplicates: 0,
            rejected: 0,
            created_at: now,
            updated_at: now,
        };
        let (id, created) = self
            .cx
            .store
            .create_import(&import, self.idempotency_key.as_deref())
            .await?;
        self.id = Some(id);
        if !created {
            self.replayed = true;
            return Ok(());
        }
        match self.format {
            ImportFormat::Csv => Ok(()),
            ImportFormat::Ndjson => self.add(record),
        }
    }

    fn add(&mut self, record: Record) -> Result<()> {
        let Some(id) = &self.id else {
            return Ok(());
        };
        let context = line_context(id, record.line);
        // A defective line is stored without its text: it is rejected before it is read.
        let plain: &[u8] = if record.defect.is_some() {
            &[]
        } else {
            &record.bytes
        };
        let (key_id, body) = self.keyring.seal(plain, context.as_bytes());
        if let Some(defect) = record.defect {
            self.rejected.push(LineResult {
                line: record.line,
                outcome: LineOutcome::Rejected,
                iupd: None,
                reason: Some(defect.reason(record.line)),
            });
        }
        self.pending.push(ImportLine {
            line: record.line,
            key_id,
            body,
        });
        self.total += 1;
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let Some(id) = self.id else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(&mut self.pending);
        let rejected = std::mem::take(&mut self.rejected);
        let now = self.cx.clock.now();
        let mut stored = self.cx.store.add_import_lines(&id, &lines, now).await;
        if stored.is_ok() && !rejected.is_empty() {
            // Before the import is sealed this never completes it.
            stored = self
                .cx
                .store
                .import_chunk(&id, &[], &[], &rejected, now)
                .await
                .map(|_| ());
        }
        if let Err(e) = stored {
            let _ = self.cx.store.discard_import(&id).await;
            return Err(upload_error(e));
        }
        Ok(())
    }
}

/// A storage error while uploading, for the client.
fn upload_error(e: kernel::ports::StoreError) -> Error {
    match e {
        kernel::ports::StoreError::NotFound(_) => {
            invalid_upload("The upload stalled for too long and was abandoned; send it again.")
        }
        e => e.into(),
    }
}

/// The job running an import: its lease is extended after every chunk.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub job_id: i64,
    pub lease_ms: i64,
}

/// How [`process`] runs.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Lines per chunk (one transaction each).
    pub chunk: i64,
    /// Stop after this many chunks (`None`: until nothing is pending).
    pub max_chunks: Option<usize>,
    pub lease: Option<Lease>,
}

impl Default for Run {
    fn default() -> Self {
        Self {
            chunk: CHUNK,
            max_chunks: None,
            lease: None,
        }
    }
}

fn rejected(line: i64, iupd: Option<String>, reason: impl Into<String>) -> LineResult {
    LineResult {
        line,
        outcome: LineOutcome::Rejected,
        iupd,
        reason: Some(reason.into()),
    }
}

/// Why a line's position cannot be written, or `None` when the failure is not the line's
/// (storage, internals): then the chunk fails and is retried whole.
fn line_refusal(e: &Error) -> Option<String> {
    match e {
        Error::Invalid { errors, .. } => Some(errors.summary()),
        Error::Conflict(d) | Error::Unprocessable(d) => Some(d.clone()),
        Error::BadRequest { detail, .. } => Some(detail.clone()),
        _ => None,
    }
}

/// One chunk read and prepared, ready to write.
struct Built {
    last_line: i64,
    writes: Vec<PositionWrite>,
    write_lines: Vec<i64>,
    outcomes: Vec<LineResult>,
}

/// Reads the next chunk of pending lines after `after_line` and turns each into a position
/// write or an outcome; `None` when the import is no longer running or nothing is pending.
async fn build_chunk(
    cx: PayContext<'_>,
    keyring: &Keyring,
    id: &ImportId,
    after_line: i64,
    chunk: i64,
    actor: &str,
) -> Result<Option<Built>> {
    let import = cx
        .store
        .get_import(id)
        .await?
        .ok_or_else(|| Error::internal("the import of this job does not exist"))?;
    if import.status != ImportStatus::Running {
        return Ok(None);
    }
    let lines = cx.store.pending_import_lines(id, after_line, chunk).await?;
    let Some(last) = lines.last() else {
        return Ok(None);
    };
    let last_line = last.line;
    let now = cx.clock.now();
    let profile = cx.store.payments_profile(&import.organization).await?;
    let disabled = cx
        .store
        .get_organization(&import.organization)
        .await?
        .is_none_or(|o| o.disabled);
    let mut outcomes = Vec::new();
    let mut writes = Vec::with_capacity(lines.len());
    let mut write_lines = Vec::with_capacity(lines.len());
    let stopped = match (&profile, disabled) {
        (_, true) => Some("not imported: the organization is disabled"),
        (None, _) => Some("not imported: payments are not enabled for the organization"),
        (Some(_), false) => None,
    };
    let header = match (&import.header, import.format) {
        (Some(h), ImportFormat::Csv) => Some(header_of(h).map_err(Error::internal)?),
        _ => None,
    };
    // The first line of this chunk holding each IUPD.
    let mut seen: HashMap<String, i64> = HashMap::new();
    for l in &lines {
        if let Some(why) = stopped {
            outcomes.push(rejected(l.line, None, why));
            continue;
        }
        let plain = keyring
            .open(&l.key_id, &l.body, line_context(id, l.line).as_bytes())
            .map_err(|e| Error::internal(format!("cannot open import line: {e}")))?;
        let value = match (&header, import.format) {
            (Some(h), ImportFormat::Csv) => std::str::from_utf8(&plain)
                .map_err(|_| "not valid UTF-8".to_owned())
                .and_then(csv_fields)
                .and_then(|f| csv_to_json(h, &f)),
            _ => {
                serde_json::from_slice::<Value>(&plain).map_err(|e| format!("not valid JSON: {e}"))
            }
        };
        let value = match value {
            Ok(v) => v,
            Err(why) => {
                outcomes.push(rejected(l.line, None, format!("line {}: {why}", l.line)));
                continue;
            }
        };
        let iupd = value.get("iupd").and_then(Value::as_str).map(str::to_owned);
        let draft = match gpd::parse_v1(&value, &import.organization, now) {
            Ok(d) => d,
            Err(errors) => {
                outcomes.push(rejected(l.line, iupd, errors.summary()));
                continue;
            }
        };
        let key = draft.position.iupd.as_str().to_owned();
        if let Some(first) = seen.get(&key) {
            outcomes.push(LineResult {
                line: l.line,
                outcome: LineOutcome::Duplicate,
                iupd: Some(key.clone()),
                reason: Some(format!(
                    "IUPD {key} repeats line {first} of this file: nothing was changed"
                )),
            });
            continue;
        }
        let Some(profile) = &profile else {
            continue;
        };
        match prepare(cx, profile, draft, import.to_publish, actor).await {
            Ok(w) => {
                seen.insert(key, l.line);
                writes.push(w);
                write_lines.push(l.line);
            }
            Err(e) => match line_refusal(&e) {
                Some(why) => outcomes.push(rejected(l.line, Some(key), why)),
                None => return Err(e),
            },
        }
    }
    Ok(Some(Built {
        last_line,
        writes,
        write_lines,
        outcomes,
    }))
}

/// Runs both futures to completion, polling them in turn: the next chunk is read and parsed
/// (CPU) while the database writes the current one (on its own thread).
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let mut ra = None;
    let mut rb = None;
    std::future::poll_fn(move |cx| {
        if ra.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => std::task::Poll::Ready((x, y)),
            (x, y) => {
                ra = x;
                rb = y;
                std::task::Poll::Pending
            }
        }
    })
    .await
}

/// Processes the import's pending lines chunk by chunk; returns how many positions it
/// created. Stops when nothing is pending (the import is then DONE) or after
/// `run.max_chunks`. Each chunk commits its positions with its lines' outcomes; the next
/// chunk is prepared while the current one is written (a chunk prepared but not written when
/// the process stops is simply prepared again).
pub async fn process(
    cx: PayContext<'_>,
    keyring: &Keyring,
    id: &ImportId,
    run: Run,
) -> Result<u64> {
    let mut created_total = 0u64;
    let mut chunks = 0usize;
    let actor = format!("import:{id}");
    let mut next = build_chunk(cx, keyring, id, 0, run.chunk, &actor).await?;
    loop {
        if run.max_chunks.is_some_and(|max| chunks >= max) {
            return Ok(created_total);
        }
        let Some(built) = next.take() else {
            return Ok(created_total);
        };
        chunks += 1;
        let more = run.max_chunks.is_none_or(|max| chunks < max);
        let write = cx.store.import_chunk(
            id,
            &built.writes,
            &built.write_lines,
            &built.outcomes,
            cx.clock.now(),
        );
        let (results, following) = if more {
            let (r, f) = both(
                write,
                build_chunk(cx, keyring, id, built.last_line, run.chunk, &actor),
            )
            .await;
            (r, Some(f))
        } else {
            (write.await, None)
        };
        let results = results?;
        // Wakes the workers once per kind of job the chunk queued, not once per position.
        let mut kinds: Vec<JobKind> = Vec::new();
        for (w, r) in built.writes.iter().zip(&results) {
            if *r == CreateOutcome::Created {
                created_total += 1;
                for j in &w.jobs {
                    if !kinds.contains(&j.kind) {
                        kinds.push(j.kind);
                        wake(cx, std::slice::from_ref(j));
                    }
                }
            }
        }
        if let Some(l) = &run.lease {
            let until = cx.clock.now() + chrono::Duration::milliseconds(l.lease_ms);
            if let Err(e) = cx.store.extend_job(l.job_id, until).await {
                tracing::warn!(job.id = l.job_id, error.cause = %e, "cannot extend the import lease");
            }
        }
        next = match following {
            Some(f) => f?,
            None => None,
        };
    }
}
