//! Processing a batch: its pending lines are read in chunks, each checked exactly like a single
//! submission, and the accepted ones written through the same intake as single messages (one
//! transaction per chunk, quotas included). Each line's message carries the idempotency key
//! `batch:<id>:<line>`, and outcomes are recorded only for lines still pending, so a batch
//! interrupted anywhere resumes without duplicates: every line gets exactly one outcome.

use kernel::Clock;
use kernel::jobs::{JobKind, JobsReady};
use kernel::values::BatchId;
use kernel::values::MessageId;
use messaging::batch::{Format, csv_to_json, for_service, row_context};
use messaging::content::{NewMessageError, parse_new_message};
use messaging::model::{
    AcceptOutcome, BatchStatus, Idempotency, NewMessageRecord, RowOutcome, RowStatus, SealedContent,
};
use messaging::ports::Store;
use messaging::quota::{Limits, Quotas};
use seal::Keyring;

/// Lines handled per transaction.
pub const CHUNK: i64 = 1_000;

fn rejected(line: i64, reason: impl Into<String>) -> RowOutcome {
    RowOutcome {
        line,
        outcome: RowStatus::Rejected,
        message_id: None,
        reason: Some(reason.into()),
    }
}

const STOPPED_SERVICE: &str = "not sent: the service was deleted";
const STOPPED_ORGANIZATION: &str = "not sent: the organization of the service was disabled";
const STOPPED_KEY: &str = "not sent: the API key that uploaded the batch was revoked";

/// Why the batch may no longer send anything, checked before every chunk: its service was
/// deleted, its organization disabled, or the key it was uploaded with revoked.
async fn stopped(
    store: &dyn Store,
    batch: &messaging::model::Batch,
) -> Result<Option<&'static str>, String> {
    let service = store
        .get_service(&batch.service_id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(service) = service.filter(messaging::model::Service::is_active) else {
        return Ok(Some(STOPPED_SERVICE));
    };
    let org = store
        .get_organization(&service.organization_fiscal_code)
        .await
        .map_err(|e| e.to_string())?;
    if org.is_none_or(|o| o.disabled) {
        return Ok(Some(STOPPED_ORGANIZATION));
    }
    if let Some(hash) = &batch.key_hash {
        let key = store
            .service_by_key_hash(hash)
            .await
            .map_err(|e| e.to_string())?;
        if key.is_none_or(|k| k.service.id != service.id) {
            return Ok(Some(STOPPED_KEY));
        }
    }
    Ok(None)
}

/// The job running a batch: its lease is extended after every chunk, and workers are woken to
/// process the messages written meanwhile.
pub struct Lease<'a> {
    pub job_id: i64,
    pub lease_ms: i64,
    pub wake: &'a dyn JobsReady,
}

/// Runs a batch until nothing is pending or it is cancelled.
pub async fn process(
    store: &dyn Store,
    keyring: &Keyring,
    clock: &dyn Clock,
    batch_id: &BatchId,
    default_limits: &Limits,
    lease: Option<Lease<'_>>,
) -> Result<u64, String> {
    let mut written = 0u64;
    let mut after_line = 0i64;
    loop {
        let batch = store
            .get_batch(batch_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the batch of this job does not exist")?;
        if batch.status != BatchStatus::Running {
            return Ok(written);
        }
        if let Some(reason) = stopped(store, &batch).await? {
            let n = store
                .reject_pending_rows(batch_id, reason, clock.now())
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(batch.id = %batch_id, lines = n, reason, "batch stopped");
            return Ok(written);
        }
        let rows = store
            .pending_rows(batch_id, after_line, CHUNK)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = rows.last() else {
            return Ok(written);
        };
        after_line = last.line;
        let service = store
            .get_service(&batch.service_id)
            .await
            .map_err(|e| e.to_string())?;
        let limits = default_limits.with(
            &store
                .service_limits(&batch.service_id)
                .await
                .map_err(|e| e.to_string())?,
        );
        let format = batch.format;
        let header: Vec<String> = match (&batch.header, format) {
            (Some(h), Format::Csv) => messaging::batch::csv_header(h)?,
            _ => Vec::new(),
        };
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut records = Vec::new();
        let mut lines = Vec::new();
        for row in rows {
            let Some(service) = &service else {
                outcomes.push(rejected(row.line, STOPPED_SERVICE));
                continue;
            };
            let plain = match keyring.open(
                &row.body.key_id,
                &row.body.bytes,
                row_context(batch_id, row.line).as_bytes(),
            ) {
                Ok(p) => p,
                Err(e) => return Err(format!("cannot open batch line: {e}")),
            };
            let value = match format {
                Format::Ndjson => serde_json::from_slice::<serde_json::Value>(&plain)
                    .map_err(|e| format!("not valid JSON: {e}")),
                Format::Csv => std::str::from_utf8(&plain)
                    .map_err(|_| "not valid UTF-8".to_owned())
                    .and_then(|text| csv_to_json(&header, text)),
            };
            let value = match value {
                Ok(v) => v,
                Err(reason) => {
                    outcomes.push(rejected(row.line, reason));
                    continue;
                }
            };
            let message = match parse_new_message(&value, None) {
                Ok(m) => m,
                Err(NewMessageError::Invalid(errors)) => {
                    outcomes.push(rejected(row.line, errors.summary()));
                    continue;
                }
                Err(NewMessageError::Forbidden(f)) => {
                    outcomes.push(rejected(row.line, format!("forbidden: {f:?}")));
                    continue;
                }
            };
            let content = match for_service(service, &message) {
                Ok(c) => c,
                Err(refusal) => {
                    outcomes.push(rejected(row.line, refusal.to_string()));
                    continue;
                }
            };
            let id = MessageId::new_at(clock.now());
            let plain_content = serde_json::to_vec(&content).map_err(|e| e.to_string())?;
            let (key_id, bytes) = keyring.seal(&plain_content, id.to_string().as_bytes());
            records.push(NewMessageRecord {
                id,
                service_id: service.id,
                fiscal_code: message.fiscal_code,
                created_at: clock.now(),
                time_to_live: message.time_to_live,
                feature_level: message.feature_level,
                content: SealedContent { key_id, bytes },
                idempotency: Some(Idempotency {
                    key: row_context(batch_id, row.line),
                    request_hash: seal::sha256_hex(&[&plain]),
                }),
                quotas: Quotas {
                    daily: limits.daily_quota,
                    monthly: limits.monthly_quota,
                },
            });
            lines.push(row.line);
        }
        if !records.is_empty() {
            let results = store
                .accept_messages(&records)
                .await
                .map_err(|e| e.to_string())?;
            for (line, result) in lines.iter().zip(results) {
                outcomes.push(match result {
                    AcceptOutcome::Created(id) | AcceptOutcome::Replayed(id) => RowOutcome {
                        line: *line,
                        outcome: RowStatus::Accepted,
                        message_id: Some(id.to_string()),
                        reason: None,
                    },
                    AcceptOutcome::QuotaExceeded {
                        period,
                        limit,
                        resets_at,
                    } => rejected(
                        *line,
                        format!(
                            "the {} quota of the service ({limit} messages) is used up until {}",
                            period.as_str(),
                            messaging::content::format_timestamp(&resets_at)
                        ),
                    ),
                    AcceptOutcome::KeyReused => {
                        rejected(*line, "the line changed since it was first processed")
                    }
                });
            }
            written += records.len() as u64;
        }
        outcomes.sort_by_key(|o| o.line);
        store
            .record_rows(batch_id, &outcomes, clock.now())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(l) = &lease {
            let until = clock.now() + chrono::Duration::milliseconds(l.lease_ms);
            if let Err(e) = store.extend_job(l.job_id, until).await {
                tracing::warn!(job.id = l.job_id, error.cause = %e, "cannot extend the batch lease");
            }
            l.wake.ready(JobKind::ProcessMessage);
        }
    }
}
