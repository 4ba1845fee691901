//! The [`Stations`] and [`Receipts`] ports: which pagoPA station serves an ente
//! (`payment_stations`) and the node's receipts (`payment_receipts`, one row per ente and
//! receipt id, the receipt sealed). A receipt and the payment it makes commit together.

use payments::PositionId;
use payments::ports::{
    ReceiptEffect, ReceiptOutcome, ReceiptWrite, Receipts, Station, Stations, StoredReceipt,
};

use super::positions::Notices;
use crate::prelude::*;

const SUMMARY: &str = "organization, receipt_id, issuer, notice_number, iuv, position_id, \
                       effect, amount, own_amount, psp_id, channel_id, fee, payment_method, \
                       payment_ms, received_ms, v2, citizen, transfers, key_id";
const COLUMNS: &str = "organization, receipt_id, issuer, notice_number, iuv, position_id, \
                       effect, amount, own_amount, psp_id, channel_id, fee, payment_method, \
                       payment_ms, received_ms, v2, citizen, transfers, key_id, sealed";

/// A stored receipt with its sealed body.
fn receipt(row: &AnyRow) -> StoreResult<StoredReceipt> {
    let mut r = summary(row)?;
    r.sealed = row.try_get::<Vec<u8>, _>("sealed").map_err(backend)?;
    Ok(r)
}

/// The columns beside the sealed body (lists do not read the bodies, which may hold stamp
/// attachments); `sealed` is left empty.
fn summary(row: &AnyRow) -> StoreResult<StoredReceipt> {
    Ok(StoredReceipt {
        organization: parsed(row, "organization", OrganizationFiscalCode::parse)?,
        receipt_id: text(row, "receipt_id")?,
        issuer: text(row, "issuer")?,
        notice_number: text(row, "notice_number")?,
        iuv: text(row, "iuv")?,
        position_id: opt_text(row, "position_id")?
            .map(|s| PositionId::parse(&s).map_err(|_| corrupt("position_id")))
            .transpose()?,
        effect: ReceiptEffect::parse(&text(row, "effect")?).ok_or_else(|| corrupt("effect"))?,
        amount: int(row, "amount")?,
        own_amount: int(row, "own_amount")?,
        psp_id: text(row, "psp_id")?,
        channel_id: text(row, "channel_id")?,
        fee: row.try_get::<Option<i64>, _>("fee").map_err(backend)?,
        payment_method: opt_text(row, "payment_method")?,
        payment_date: opt_at(row, "payment_ms")?,
        received_at: at(row, "received_ms")?,
        v2: boolean(row, "v2")?,
        citizen: opt_text(row, "citizen")?,
        transfers: serde_json::from_str(&text(row, "transfers")?)
            .map_err(|_| corrupt("transfers"))?,
        key_id: text(row, "key_id")?,
        sealed: Vec::new(),
    })
}

impl SqlStore {
    /// The receipt row first (`ON CONFLICT DO NOTHING`: a repeat is `Duplicate` and nothing
    /// else is written), then the position write it carries, in the caller's transaction.
    async fn record_in(
        &self,
        tx: &mut Tx<'_>,
        r: &StoredReceipt,
        effect: Option<(&PositionWrite, i64)>,
    ) -> StoreResult<ReceiptOutcome> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO payment_receipts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
             ON CONFLICT (organization, receipt_id) DO NOTHING"
        ))
        .bind(r.organization.as_str().to_owned())
        .bind(r.receipt_id.clone())
        .bind(r.issuer.clone())
        .bind(r.notice_number.clone())
        .bind(r.iuv.clone())
        .bind(r.position_id.map(|p| p.to_string()))
        .bind(r.effect.as_str())
        .bind(r.amount)
        .bind(r.own_amount)
        .bind(r.psp_id.clone())
        .bind(r.channel_id.clone())
        .bind(r.fee)
        .bind(r.payment_method.clone())
        .bind(r.payment_date.map(|t| ms(&t)))
        .bind(ms(&r.received_at))
        .bind(flag(r.v2))
        .bind(r.citizen.clone())
        .bind(to_json(&r.transfers))
        .bind(r.key_id.clone())
        .bind(r.sealed.clone())
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
        if inserted.rows_affected() == 0 {
            return Ok(ReceiptOutcome::Duplicate);
        }
        if let Some((write, version)) = effect {
            // A payment changes no notice number.
            self.save_position_in(tx, write, version, None, Notices::Keep)
                .await?;
        }
        Ok(ReceiptOutcome::Stored)
    }
}

#[async_trait]
impl Stations for SqlStore {
    async fn set_station(
        &self,
        organization: &OrganizationFiscalCode,
        station: &Station,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM payment_profiles WHERE organization = $1")
                .bind(organization.as_str().to_owned())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if exists.is_none() {
            return Err(StoreError::NotFound("payments profile".into()));
        }
        sqlx::query(
            "INSERT INTO payment_stations (organization, broker_id, station_id, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (organization) DO UPDATE SET \
             broker_id = excluded.broker_id, station_id = excluded.station_id, \
             updated_at = excluded.updated_at",
        )
        .bind(organization.as_str().to_owned())
        .bind(station.broker_id.clone())
        .bind(station.station_id.clone())
        .bind(ms(&audit.at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn stations(&self) -> StoreResult<Vec<(OrganizationFiscalCode, Station)>> {
        sqlx::query("SELECT organization, broker_id, station_id FROM payment_stations")
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(|row| {
                Ok((
                    parsed(row, "organization", OrganizationFiscalCode::parse)?,
                    Station {
                        broker_id: text(row, "broker_id")?,
                        station_id: text(row, "station_id")?,
                    },
                ))
            })
            .collect()
    }
}

#[async_trait]
impl Receipts for SqlStore {
    async fn record_receipt(
        &self,
        r: &StoredReceipt,
        effect: Option<(&PositionWrite, i64)>,
    ) -> StoreResult<ReceiptOutcome> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let outcome = self.record_in(&mut tx, r, effect).await?;
        if outcome == ReceiptOutcome::Stored {
            tx.commit().await.map_err(backend)?;
        }
        Ok(outcome)
    }

    /// Each receipt in a savepoint of the one transaction: a failure or a duplicate rolls back
    /// only its own writes.
    async fn record_receipts(
        &self,
        writes: &[ReceiptWrite],
    ) -> StoreResult<Vec<StoreResult<ReceiptOutcome>>> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let mut outcomes = Vec::with_capacity(writes.len());
        for w in writes {
            let mut sp = sqlx::Acquire::begin(&mut *tx).await.map_err(backend)?;
            let effect = w.effect.as_ref().map(|(p, v)| (p, *v));
            match self.record_in(&mut sp, &w.receipt, effect).await {
                Ok(ReceiptOutcome::Stored) => {
                    sp.commit().await.map_err(backend)?;
                    outcomes.push(Ok(ReceiptOutcome::Stored));
                }
                other => {
                    sp.rollback().await.map_err(backend)?;
                    outcomes.push(other);
                }
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcomes)
    }

    async fn receipt(
        &self,
        organization: &OrganizationFiscalCode,
        receipt_id: &str,
    ) -> StoreResult<Option<StoredReceipt>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payment_receipts WHERE organization = $1 AND receipt_id = $2"
        ))
        .bind(organization.as_str().to_owned())
        .bind(receipt_id.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?
        .as_ref()
        .map(receipt)
        .transpose()
    }

    async fn receipts_of_iuv(
        &self,
        organization: &OrganizationFiscalCode,
        iuv: &str,
    ) -> StoreResult<Vec<StoredReceipt>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payment_receipts WHERE organization = $1 AND iuv = $2 \
             ORDER BY received_ms, receipt_id"
        ))
        .bind(organization.as_str().to_owned())
        .bind(iuv.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(receipt)
        .collect()
    }

    async fn list_receipts(
        &self,
        organization: &OrganizationFiscalCode,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        page: i64,
        limit: i64,
    ) -> StoreResult<(Vec<StoredReceipt>, i64)> {
        let from = from.map_or(i64::MIN, |t| ms(&t));
        let to = to.map_or(i64::MAX, |t| ms(&t));
        let cond = "organization = $1 AND received_ms >= $2 AND received_ms < $3";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM payment_receipts WHERE {cond}"
        ))
        .bind(organization.as_str().to_owned())
        .bind(from)
        .bind(to)
        .fetch_one(&self.read)
        .await
        .map_err(backend)?;
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY} FROM payment_receipts WHERE {cond} \
             ORDER BY received_ms DESC, receipt_id DESC LIMIT $4 OFFSET $5"
        ))
        .bind(organization.as_str().to_owned())
        .bind(from)
        .bind(to)
        .bind(limit)
        .bind(page.saturating_mul(limit))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(summary)
        .collect::<StoreResult<Vec<_>>>()?;
        Ok((rows, total))
    }

    async fn receipts_of_citizen(
        &self,
        fiscal_code: &FiscalCode,
    ) -> StoreResult<Vec<StoredReceipt>> {
        sqlx::query(&format!(
            "SELECT {SUMMARY} FROM payment_receipts WHERE citizen = $1 \
             ORDER BY received_ms DESC, receipt_id DESC"
        ))
        .bind(fiscal_code.as_str().to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(summary)
        .collect()
    }
}
