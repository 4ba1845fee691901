//! Roles per organization and the use counters: a visitor hash is kept for the day it was
//! seen only (to count each visitor once per day), and each new one adds to that day's total.

use std::collections::HashMap;

use chrono::NaiveDate;
use opendata::ports::{Member, Role, Tracking, UseKind};

use crate::prelude::*;

pub(super) async fn set_member(
    s: &SqlStore,
    organization: &OrganizationFiscalCode,
    delegate_id: &str,
    role: Option<Role>,
    at: DateTime<Utc>,
    audit: &NewAuditEntry,
) -> StoreResult<()> {
    let mut tx = s.write.begin().await.map_err(backend)?;
    sqlx::query("DELETE FROM od_members WHERE organization = $1 AND delegate_id = $2")
        .bind(organization.as_str().to_owned())
        .bind(delegate_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    if let Some(role) = role {
        sqlx::query(
            "INSERT INTO od_members (organization, delegate_id, role, granted_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(organization.as_str().to_owned())
        .bind(delegate_id.to_owned())
        .bind(role.as_str())
        .bind(ms(&at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    insert_audit(&mut tx, audit).await?;
    tx.commit().await.map_err(backend)
}

pub(super) async fn member_role(
    s: &SqlStore,
    organization: &OrganizationFiscalCode,
    delegate_id: &str,
) -> StoreResult<Option<Role>> {
    let row =
        sqlx::query("SELECT role FROM od_members WHERE organization = $1 AND delegate_id = $2")
            .bind(organization.as_str().to_owned())
            .bind(delegate_id.to_owned())
            .fetch_optional(&s.read)
            .await
            .map_err(backend)?;
    row.map(|r| Role::parse(&text(&r, "role")?).ok_or_else(|| corrupt("role")))
        .transpose()
}

pub(super) async fn list_members(
    s: &SqlStore,
    organization: &OrganizationFiscalCode,
) -> StoreResult<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT organization, delegate_id, role, granted_ms FROM od_members \
         WHERE organization = $1 ORDER BY granted_ms, delegate_id",
    )
    .bind(organization.as_str().to_owned())
    .fetch_all(&s.read)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                organization: parsed(r, "organization", OrganizationFiscalCode::parse)?,
                delegate_id: text(r, "delegate_id")?,
                role: Role::parse(&text(r, "role")?).ok_or_else(|| corrupt("role"))?,
                granted_at: at(r, "granted_ms")?,
            })
        })
        .collect()
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(super) async fn record_use(
    s: &SqlStore,
    dataset_id: &str,
    kind: UseKind,
    visitor: &str,
    day: NaiveDate,
) -> StoreResult<bool> {
    let mut tx = s.write.begin().await.map_err(backend)?;
    sqlx::query("DELETE FROM od_visits WHERE day < $1")
        .bind(iso(day))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let added = sqlx::query(
        "INSERT INTO od_visits (dataset_id, kind, visitor, day) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(dataset_id.to_owned())
    .bind(kind.as_str())
    .bind(visitor.to_owned())
    .bind(iso(day))
    .execute(&mut *tx)
    .await
    .map_err(backend)?
    .rows_affected()
        == 1;
    if added {
        sqlx::query(
            "INSERT INTO od_use_days (dataset_id, kind, day, visitors) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (dataset_id, kind, day) DO UPDATE SET visitors = od_use_days.visitors + 1",
        )
        .bind(dataset_id.to_owned())
        .bind(kind.as_str())
        .bind(iso(day))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(added)
}

pub(super) async fn tracking(
    s: &SqlStore,
    dataset_ids: &[String],
    today: NaiveDate,
) -> StoreResult<HashMap<String, (Tracking, Tracking)>> {
    let cut = iso(today - chrono::Days::new(13));
    let mut out: HashMap<String, (Tracking, Tracking)> = HashMap::new();
    for chunk in dataset_ids.chunks(500) {
        let list = (2..chunk.len() + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT dataset_id, kind, CAST(SUM(visitors) AS BIGINT) AS total, \
             CAST(SUM(CASE WHEN day >= $1 THEN visitors ELSE 0 END) AS BIGINT) AS recent \
             FROM od_use_days WHERE dataset_id IN ({list}) GROUP BY dataset_id, kind"
        );
        let mut q = sqlx::query(&sql).bind(cut.clone());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&s.read).await.map_err(backend)? {
            let t = Tracking {
                total: u64::try_from(int(&row, "total")?).unwrap_or(0),
                recent: u64::try_from(int(&row, "recent")?).unwrap_or(0),
            };
            let e = out.entry(text(&row, "dataset_id")?).or_default();
            if text(&row, "kind")? == UseKind::Download.as_str() {
                e.1.total += t.total;
                e.1.recent += t.recent;
            } else {
                e.0.total += t.total;
                e.0.recent += t.recent;
            }
        }
    }
    Ok(out)
}
