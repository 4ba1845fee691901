//! [`opendata::ports::PlatformStatistics`]: the counts the monthly statistics are made of,
//! read from the messaging and payments tables, and the stored series and releases.

use std::collections::{BTreeMap, HashMap};

use opendata::ports::{PlatformStatistics, ServiceCount, StatSeries};
use opendata::stats::{Period, Policy, StatKind, StatRelease};

use crate::prelude::*;

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[async_trait]
impl PlatformStatistics for SqlStore {
    async fn message_counts(
        &self,
        organization: &OrganizationFiscalCode,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: u32,
    ) -> StoreResult<Vec<ServiceCount>> {
        // Each citizen's messages of the month across the ente's services, numbered in time
        // order; only the first `cap` count.
        let counted = sqlx::query(
            "SELECT service_id, COUNT(*) AS n FROM ( \
               SELECT m.service_id, ROW_NUMBER() OVER ( \
                   PARTITION BY m.fiscal_code ORDER BY m.created_at, m.id) AS k \
               FROM messages m JOIN services s ON s.id = m.service_id \
               WHERE s.organization_fiscal_code = $1 AND m.status = 'PROCESSED' \
                 AND m.created_at >= $2 AND m.created_at < $3 \
             ) numbered WHERE k <= $4 GROUP BY service_id",
        )
        .bind(organization.as_str().to_owned())
        .bind(ms(&from))
        .bind(ms(&to))
        .bind(i64::from(cap))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        let mut by_service: HashMap<String, u64> = HashMap::new();
        for row in &counted {
            by_service.insert(text(row, "service_id")?, count(int(row, "n")?));
        }
        let services = sqlx::query(
            "SELECT id, name, metadata FROM services WHERE organization_fiscal_code = $1 \
             AND created_at < $2 ORDER BY id",
        )
        .bind(organization.as_str().to_owned())
        .bind(ms(&to))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        services
            .iter()
            .map(|row| {
                let id = text(row, "id")?;
                let metadata: ServiceMetadata =
                    serde_json::from_str(&text(row, "metadata")?).unwrap_or_default();
                Ok(ServiceCount {
                    messages: by_service.get(&id).copied().unwrap_or(0),
                    service_id: id,
                    name: text(row, "name")?,
                    topic_id: metadata.topic_id,
                })
            })
            .collect()
    }

    async fn payment_counts(
        &self,
        organization: &OrganizationFiscalCode,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: u32,
    ) -> StoreResult<Vec<(String, u64)>> {
        let org = organization.as_str().to_owned();
        // One pass over the ente's positions: the categories (the cells) and each option's
        // category by IUV (a receipt of the month pays a position inserted before its end).
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_iuv: HashMap<String, String> = HashMap::new();
        let positions = sqlx::query(
            "SELECT doc FROM payment_positions WHERE organization = $1 AND inserted_ms < $2",
        )
        .bind(org.clone())
        .bind(ms(&to))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        for row in &positions {
            let p: payments::model::Position =
                serde_json::from_str(&text(row, "doc")?).map_err(|_| corrupt("doc"))?;
            for o in p.options {
                if let Some(t) = o.transfers.first() {
                    let category = t.category.as_str().to_owned();
                    counts.entry(category.clone()).or_insert(0);
                    by_iuv.insert(o.iuv, category);
                }
            }
        }
        let receipts = sqlx::query(
            "SELECT iuv, COALESCE(citizen, receipt_id) AS payer FROM payment_receipts \
             WHERE organization = $1 AND effect = 'APPLIED' \
               AND received_ms >= $2 AND received_ms < $3 \
             ORDER BY received_ms, receipt_id",
        )
        .bind(org)
        .bind(ms(&from))
        .bind(ms(&to))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        let mut per_payer: HashMap<String, u32> = HashMap::new();
        for row in &receipts {
            let Some(category) = by_iuv.get(&text(row, "iuv")?) else {
                continue;
            };
            let seen = per_payer.entry(text(row, "payer")?).or_insert(0);
            if *seen >= cap {
                continue;
            }
            *seen += 1;
            *counts.entry(category.clone()).or_insert(0) += 1;
        }
        Ok(counts.into_iter().collect())
    }

    async fn stat_series(
        &self,
        organization: &OrganizationFiscalCode,
        kind: StatKind,
    ) -> StoreResult<Option<StatSeries>> {
        let row = sqlx::query(
            "SELECT dataset_id, resource_id, policy FROM od_stat_series \
             WHERE organization = $1 AND kind = $2",
        )
        .bind(organization.as_str().to_owned())
        .bind(kind.as_str())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.map(|row| {
            let policy: Policy =
                serde_json::from_str(&text(&row, "policy")?).map_err(|_| corrupt("policy"))?;
            Ok(StatSeries {
                organization: organization.clone(),
                kind,
                dataset_id: text(&row, "dataset_id")?,
                resource_id: opt_text(&row, "resource_id")?,
                policy,
            })
        })
        .transpose()
    }

    async fn save_stat_series(&self, s: &StatSeries) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO od_stat_series (organization, kind, dataset_id, resource_id, policy) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organization, kind) DO UPDATE SET \
             resource_id = excluded.resource_id, policy = excluded.policy",
        )
        .bind(s.organization.as_str().to_owned())
        .bind(s.kind.as_str())
        .bind(s.dataset_id.clone())
        .bind(s.resource_id.clone())
        .bind(to_json(&s.policy))
        .execute(&self.write)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn stat_releases(&self, dataset_id: &str) -> StoreResult<Vec<StatRelease>> {
        let rows = sqlx::query(
            "SELECT body, loaded FROM od_stat_releases WHERE dataset_id = $1 ORDER BY period",
        )
        .bind(dataset_id.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let mut r: StatRelease =
                    serde_json::from_str(&text(row, "body")?).map_err(|_| corrupt("body"))?;
                r.loaded = int(row, "loaded")? != 0;
                Ok(r)
            })
            .collect()
    }

    async fn insert_stat_release(
        &self,
        r: &StatRelease,
        audit: &NewAuditEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let stored = sqlx::query(
            "INSERT INTO od_stat_releases (dataset_id, period, body, loaded, released_ms) \
             VALUES ($1, $2, $3, 0, $4) ON CONFLICT (dataset_id, period) DO NOTHING",
        )
        .bind(r.dataset_id.clone())
        .bind(r.period.to_string())
        .bind(to_json(r))
        .bind(ms(&r.released_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected()
            == 1;
        if stored {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn mark_stat_release_loaded(&self, dataset_id: &str, period: Period) -> StoreResult<()> {
        sqlx::query("UPDATE od_stat_releases SET loaded = 1 WHERE dataset_id = $1 AND period = $2")
            .bind(dataset_id.to_owned())
            .bind(period.to_string())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
