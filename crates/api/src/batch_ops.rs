//! Ingesting a batch upload, shared by `POST /api/v1/batches` and `sportello batch send`: the
//! body is split into records as it arrives, each sealed and stored in chunks (never the whole
//! upload in memory); a first record that does not decode refuses the upload at once.

use chrono::Utc;
use messaging::batch::{Format, MAX_RECORD_BYTES, Record, Splitter, csv_header};
use messaging::model::{Batch, BatchStatus, PendingRow, RowOutcome, SealedContent, Service};
use messaging::ports::Store;
use seal::Keyring;

use crate::problem::{ApiError, ApiResult};

/// Lines stored per transaction while uploading.
const UPLOAD_CHUNK: usize = 1_000;

/// An upload in progress.
pub struct Ingest<'a> {
    store: &'a dyn Store,
    keyring: &'a Keyring,
    service: &'a Service,
    format: Format,
    idempotency_key: Option<String>,
    splitter: Splitter,
    batch_id: Option<String>,
    /// The batch existed already (same idempotency key): the rest of the body is ignored.
    replayed: bool,
    pending: Vec<PendingRow>,
    too_long: Vec<i64>,
    total: i64,
}

impl<'a> Ingest<'a> {
    pub fn new(
        store: &'a dyn Store,
        keyring: &'a Keyring,
        service: &'a Service,
        format: Format,
        idempotency_key: Option<String>,
    ) -> Self {
        Self {
            store,
            keyring,
            service,
            format,
            idempotency_key,
            splitter: Splitter::new(format),
            batch_id: None,
            replayed: false,
            pending: Vec::new(),
            too_long: Vec::new(),
            total: 0,
        }
    }

    /// Feeds the next bytes of the body.
    pub async fn push(&mut self, bytes: &[u8]) -> ApiResult<()> {
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

    /// Ends the upload: stores what is left and queues the batch. Returns its id and whether
    /// it was created now (false: an earlier upload with the same idempotency key).
    pub async fn finish(mut self) -> ApiResult<(String, bool)> {
        if !self.replayed
            && let Some(record) = self.splitter.finish()
        {
            self.record(record).await?;
        }
        let Some(id) = self.batch_id.clone() else {
            return Err(ApiError::bad_request(
                "Invalid batch",
                "The upload is empty: no message in it.",
            ));
        };
        if self.replayed {
            return Ok((id, false));
        }
        self.flush().await?;
        if !self.too_long.is_empty() {
            let outcomes: Vec<RowOutcome> = self
                .too_long
                .iter()
                .map(|line| RowOutcome {
                    line: *line,
                    outcome: "rejected".into(),
                    message_id: None,
                    reason: Some(format!("the line is longer than {MAX_RECORD_BYTES} bytes")),
                })
                .collect();
            self.store.record_rows(&id, &outcomes, Utc::now()).await?;
        }
        if let Err(e) = self.store.seal_batch(&id, self.total, Utc::now()).await {
            let _ = self.store.discard_batch(&id).await;
            return Err(e.into());
        }
        Ok((id, true))
    }

    /// Gives up an upload (the client went away, the body was too large): nothing is kept.
    pub async fn abort(self) {
        if let (Some(id), false) = (&self.batch_id, self.replayed)
            && let Err(e) = self.store.discard_batch(id).await
        {
            tracing::warn!(error.cause = %e, "cannot discard an aborted batch upload");
        }
    }

    async fn record(&mut self, record: Record) -> ApiResult<()> {
        if self.batch_id.is_none() {
            return self.first(record).await;
        }
        self.add(record).await
    }

    /// The first record decides whether the upload is decodable at all.
    async fn first(&mut self, record: Record) -> ApiResult<()> {
        let undecodable = |why: String| {
            ApiError::bad_request(
                "Invalid batch",
                format!("The upload cannot be decoded: line {}: {why}", record.line),
            )
        };
        let text =
            std::str::from_utf8(&record.bytes).map_err(|_| undecodable("not UTF-8 text".into()))?;
        let header = match self.format {
            Format::Csv => {
                csv_header(text).map_err(undecodable)?;
                Some(text.to_owned())
            }
            Format::Ndjson => {
                match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(v) if v.is_object() => {}
                    Ok(_) => return Err(undecodable("each line must be a JSON object".into())),
                    Err(e) => return Err(undecodable(format!("not JSON ({e})"))),
                }
                None
            }
        };
        let now = Utc::now();
        let batch = Batch {
            id: ulid::Ulid::new().to_string(),
            service_id: self.service.id,
            format: self.format.as_str().to_owned(),
            header,
            status: BatchStatus::Running,
            total: 0,
            accepted: 0,
            rejected: 0,
            created_at: now,
            updated_at: now,
        };
        let (id, created) = self
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

    async fn add(&mut self, record: Record) -> ApiResult<()> {
        let Some(id) = &self.batch_id else {
            return Ok(());
        };
        let context = messaging::batch::row_context(id, record.line);
        let (key_id, bytes) = self.keyring.seal(&record.bytes, context.as_bytes());
        if record.too_long {
            self.too_long.push(record.line);
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

    async fn flush(&mut self) -> ApiResult<()> {
        if let Some(id) = &self.batch_id
            && !self.pending.is_empty()
        {
            let rows = std::mem::take(&mut self.pending);
            if let Err(e) = self.store.add_batch_rows(id, &rows).await {
                let _ = self.store.discard_batch(id).await;
                return Err(e.into());
            }
        }
        Ok(())
    }
}
