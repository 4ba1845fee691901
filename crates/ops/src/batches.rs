//! Ingesting a batch upload, shared by `POST /api/v1/batches` and `sportello batch send`: the
//! body is split into records as it arrives, each sealed and stored in chunks (never the whole
//! upload in memory); a first record that does not decode refuses the upload at once. The batch
//! becomes visible, and takes its idempotency key, only when the whole upload is stored
//! (`Store::seal_batch`): an upload cut short answers for nothing and is swept when stale.

use kernel::jobs::JobKind;
use kernel::values::BatchId;
use messaging::batch::{Format, Record, Splitter, csv_header};
use messaging::model::{
    Batch, BatchStatus, PendingRow, RowOutcome, RowStatus, SealedContent, Service,
};
use messaging::ports::StoreError;
use seal::Keyring;

use crate::{Context, Error, Result};

/// Lines stored per transaction while uploading.
const UPLOAD_CHUNK: usize = 1_000;

/// An upload in progress.
pub struct Ingest<'a> {
    ctx: Context<'a>,
    keyring: &'a Keyring,
    service: &'a Service,
    format: Format,
    idempotency_key: Option<String>,
    key_hash: Option<String>,
    splitter: Splitter,
    batch_id: Option<BatchId>,
    /// The batch existed already (same idempotency key): the rest of the body is ignored.
    replayed: bool,
    pending: Vec<PendingRow>,
    /// Lines rejected as they were split (too long, unclosed quote), recorded with each chunk.
    rejected: Vec<RowOutcome>,
    total: i64,
    /// Bytes pushed so far, and the most the adapter accepts.
    bytes: u64,
    max_bytes: Option<u64>,
}

impl<'a> Ingest<'a> {
    pub fn new(
        ctx: Context<'a>,
        keyring: &'a Keyring,
        service: &'a Service,
        format: Format,
        idempotency_key: Option<String>,
    ) -> Self {
        Self {
            ctx,
            keyring,
            service,
            format,
            idempotency_key,
            key_hash: None,
            splitter: Splitter::new(format),
            batch_id: None,
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

    /// The upload comes with this API key (its look-up hash): revoking the key stops the batch.
    pub fn with_key_hash(mut self, key_hash: String) -> Self {
        self.key_hash = Some(key_hash);
        self
    }

    /// Lines read so far (the CSV header and blank lines excluded).
    pub fn lines(&self) -> i64 {
        self.total
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

    /// Ends the upload: stores what is left and queues the batch (the workers are told).
    /// Returns its id and whether it was created now (false: an earlier upload with the same
    /// idempotency key).
    pub async fn finish(mut self) -> Result<(BatchId, bool)> {
        if !self.replayed {
            for record in self.splitter.finish() {
                self.record(record).await?;
                if self.replayed {
                    break;
                }
            }
        }
        let empty =
            || Error::bad_request("Invalid batch", "The upload is empty: no message in it.");
        let Some(id) = self.batch_id else {
            return Err(empty());
        };
        if self.replayed {
            return Ok((id, false));
        }
        if self.total == 0 {
            // A CSV header and nothing else.
            self.abort().await;
            return Err(empty());
        }
        let stored = match self.flush().await {
            Ok(()) => {
                self.ctx
                    .store
                    .seal_batch(
                        &id,
                        self.total,
                        self.idempotency_key.as_deref(),
                        self.ctx.clock.now(),
                    )
                    .await
            }
            Err(e) => return Err(e),
        };
        match stored {
            Ok(sealed) => {
                self.ctx.jobs_ready.ready(JobKind::ProcessBatch);
                Ok(sealed)
            }
            Err(e) => {
                let _ = self.ctx.store.discard_batch(&id).await;
                Err(upload_error(e))
            }
        }
    }

    /// Gives up an upload (the client went away, the body was too large): nothing is kept.
    pub async fn abort(self) {
        if let (Some(id), false) = (&self.batch_id, self.replayed)
            && let Err(e) = self.ctx.store.discard_batch(id).await
        {
            tracing::warn!(error.cause = %e, "cannot discard an aborted batch upload");
        }
    }

    async fn record(&mut self, record: Record) -> Result<()> {
        if self.batch_id.is_none() {
            return self.first(record).await;
        }
        self.add(record).await
    }

    /// The first record decides whether the upload is decodable at all.
    async fn first(&mut self, record: Record) -> Result<()> {
        let undecodable = |why: String| {
            Error::bad_request(
                "Invalid batch",
                format!("The upload cannot be decoded: line {}: {why}", record.line),
            )
        };
        let header = match (self.format, record.defect) {
            (Format::Csv, Some(defect)) => {
                return Err(Error::bad_request(
                    "Invalid batch",
                    format!(
                        "The upload cannot be decoded: the CSV header is unreadable: {}",
                        defect.reason(record.line)
                    ),
                ));
            }
            (Format::Csv, None) => {
                let text = std::str::from_utf8(&record.bytes)
                    .map_err(|_| undecodable("not UTF-8 text".into()))?;
                csv_header(text).map_err(undecodable)?;
                Some(text.to_owned())
            }
            // An over-long first line is a rejected line like any other: nothing is known
            // about the rest yet.
            (Format::Ndjson, Some(_)) => None,
            (Format::Ndjson, None) => {
                let text = std::str::from_utf8(&record.bytes)
                    .map_err(|_| undecodable("not UTF-8 text".into()))?;
                match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(v) if v.is_object() => {}
                    Ok(_) => return Err(undecodable("each line must be a JSON object".into())),
                    Err(e) => return Err(undecodable(format!("not JSON ({e})"))),
                }
                None
            }
        };
        self.refuse_disabled_organization().await?;
        let now = self.ctx.clock.now();
        let batch = Batch {
            id: BatchId::new_at(now),
            service_id: self.service.id,
            format: self.format,
            header,
            status: BatchStatus::Running,
            total: 0,
            accepted: 0,
            rejected: 0,
            key_hash: self.key_hash.clone(),
            sealed_at: None,
            created_at: now,
            updated_at: now,
        };
        let (id, created) = self
            .ctx
            .store
            .create_batch(&batch, self.idempotency_key.as_deref())
            .await?;
        self.batch_id = Some(id);
        if !created {
            self.replayed = true;
            return Ok(());
        }
        match self.format {
            // The header is not a message.
            Format::Csv => Ok(()),
            Format::Ndjson => self.add(record).await,
        }
    }

    /// The service was checked when the caller authenticated (or the CLI looked it up); its
    /// organization is read again so that a disabled one uploads nothing, whatever the caches.
    async fn refuse_disabled_organization(&self) -> Result<()> {
        let org = self
            .ctx
            .store
            .get_organization(&self.service.organization_fiscal_code)
            .await?;
        if org.is_none_or(|o| o.disabled) {
            return Err(Error::forbidden(
                "Forbidden",
                "The organization of this service is disabled: it may not send batches.",
            ));
        }
        Ok(())
    }

    async fn add(&mut self, record: Record) -> Result<()> {
        let Some(id) = &self.batch_id else {
            return Ok(());
        };
        let context = messaging::batch::row_context(id, record.line);
        // A defective line is stored without its text: it is rejected before it is read.
        let plain: &[u8] = if record.defect.is_some() {
            &[]
        } else {
            &record.bytes
        };
        let (key_id, bytes) = self.keyring.seal(plain, context.as_bytes());
        if let Some(defect) = record.defect {
            self.rejected.push(RowOutcome {
                line: record.line,
                outcome: RowStatus::Rejected,
                message_id: None,
                reason: Some(defect.reason(record.line)),
            });
        }
        self.pending.push(PendingRow {
            line: record.line,
            body: SealedContent { key_id, bytes },
        });
        self.total += 1;
        if self.pending.len() >= UPLOAD_CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let Some(id) = self.batch_id else {
            return Ok(());
        };
        if !self.pending.is_empty() {
            let rows = std::mem::take(&mut self.pending);
            let rejected = std::mem::take(&mut self.rejected);
            let now = self.ctx.clock.now();
            let mut stored = self.ctx.store.add_batch_rows(&id, &rows, now).await;
            if stored.is_ok() && !rejected.is_empty() {
                // Before the batch is sealed this never completes it.
                stored = self.ctx.store.record_rows(&id, &rejected, now).await;
            }
            if let Err(e) = stored {
                let _ = self.ctx.store.discard_batch(&id).await;
                return Err(upload_error(e));
            }
        }
        Ok(())
    }
}

/// A storage error while uploading, for the client: the upload was swept as abandoned (it
/// stalled too long), or an internal failure.
fn upload_error(e: StoreError) -> Error {
    match e {
        StoreError::NotFound(_) => Error::bad_request(
            "Invalid batch",
            "The upload stalled for too long and was abandoned; send it again.",
        ),
        e => e.into(),
    }
}
