//! Datasets (metadata kept as the API's JSON, parsed back through `opendata::meta`) and their
//! resources (schema, quality report and findings as JSON).

use std::collections::HashMap;

use opendata::model::{Agent, Dataset, DatasetState, Resource, ResourceState};
use opendata::ports::{DatasetFilter, OpenData, TableRef};

use super::bump_generation;
use crate::prelude::*;

const DATASET_COLUMNS: &str = "id, organization, identifier, publisher_name, meta, state, \
                               created_ms, modified_ms, published_ms";
const RESOURCE_COLUMNS: &str = "id, dataset_id, name, format, media_type, byte_size, version, \
                                table_schema, quality, findings, resolutions, state, created_ms, \
                                modified_ms";

fn dataset(row: &AnyRow) -> StoreResult<Dataset> {
    let meta: serde_json::Value =
        serde_json::from_str(&text(row, "meta")?).map_err(|_| corrupt("meta"))?;
    let identifier = text(row, "identifier")?;
    let organization = parsed(row, "organization", OrganizationFiscalCode::parse)?;
    Ok(Dataset {
        id: text(row, "id")?,
        publisher: Agent {
            organization,
            identifier: identifier
                .split_once(':')
                .map(|(ipa, _)| ipa.to_owned())
                .unwrap_or_default(),
            name: text(row, "publisher_name")?,
        },
        identifier,
        meta: opendata::meta::parse(&meta).map_err(|_| corrupt("meta"))?,
        state: match text(row, "state")?.as_str() {
            "published" => DatasetState::Published,
            "draft" => DatasetState::Draft,
            _ => return Err(corrupt("state")),
        },
        created_at: at(row, "created_ms")?,
        modified_at: at(row, "modified_ms")?,
        published_at: opt_at(row, "published_ms")?,
    })
}

fn state_str(s: DatasetState) -> &'static str {
    match s {
        DatasetState::Draft => "draft",
        DatasetState::Published => "published",
    }
}

fn resource_state_str(s: ResourceState) -> &'static str {
    match s {
        ResourceState::Blocked => "blocked",
        ResourceState::Ready => "ready",
    }
}

fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    serde_json::from_str(&text(row, col)?).map_err(|_| corrupt(col))
}

fn resource(row: &AnyRow) -> StoreResult<Resource> {
    Ok(Resource {
        id: text(row, "id")?,
        dataset_id: text(row, "dataset_id")?,
        name: text(row, "name")?,
        format: opendata::vocab::file_type(&text(row, "format")?)
            .ok_or_else(|| corrupt("format"))?,
        media_type: text(row, "media_type")?,
        byte_size: u64::try_from(int(row, "byte_size")?).map_err(|_| corrupt("byte_size"))?,
        version: u32::try_from(int(row, "version")?).map_err(|_| corrupt("version"))?,
        schema: json_col(row, "table_schema")?,
        quality: json_col(row, "quality")?,
        findings: json_col(row, "findings")?,
        resolutions: json_col(row, "resolutions")?,
        state: match text(row, "state")?.as_str() {
            "blocked" => ResourceState::Blocked,
            "ready" => ResourceState::Ready,
            _ => return Err(corrupt("state")),
        },
        created_at: at(row, "created_ms")?,
        modified_at: at(row, "modified_ms")?,
    })
}

/// Writes a resource's record: inserted when `created`, else updated.
async fn write_resource(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    r: &Resource,
    created: bool,
) -> StoreResult<()> {
    let sql = if created {
        format!(
            "INSERT INTO od_resources ({RESOURCE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
    } else {
        "UPDATE od_resources SET dataset_id = $2, name = $3, format = $4, media_type = $5, \
         byte_size = $6, version = $7, table_schema = $8, quality = $9, findings = $10, \
         resolutions = $11, state = $12, created_ms = $13, modified_ms = $14 WHERE id = $1"
            .to_owned()
    };
    let done = sqlx::query(&sql)
        .bind(r.id.clone())
        .bind(r.dataset_id.clone())
        .bind(r.name.clone())
        .bind(r.format.code)
        .bind(r.media_type.clone())
        .bind(i64::try_from(r.byte_size).unwrap_or(i64::MAX))
        .bind(i64::from(r.version))
        .bind(to_json(&r.schema))
        .bind(to_json(&r.quality))
        .bind(to_json(&r.findings))
        .bind(to_json(&r.resolutions))
        .bind(resource_state_str(r.state))
        .bind(ms(&r.created_at))
        .bind(ms(&r.modified_at))
        .execute(&mut **tx)
        .await
        .map_err(conflict_if_unique("a resource with this id exists"))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("resource".into()));
    }
    sqlx::query("UPDATE od_datasets SET modified_ms = $2 WHERE id = $1 AND modified_ms < $2")
        .bind(r.dataset_id.clone())
        .bind(ms(&r.modified_at))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    bump_generation(tx).await
}

#[async_trait]
impl OpenData for SqlStore {
    async fn create_dataset(&self, d: &Dataset, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(&format!(
            "INSERT INTO od_datasets ({DATASET_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(d.id.clone())
        .bind(d.publisher.organization.as_str().to_owned())
        .bind(d.identifier.clone())
        .bind(d.publisher.name.clone())
        .bind(to_json(&opendata::meta::to_json(&d.meta)))
        .bind(state_str(d.state))
        .bind(ms(&d.created_at))
        .bind(ms(&d.modified_at))
        .bind(d.published_at.as_ref().map(ms))
        .execute(&mut *tx)
        .await
        .map_err(conflict_if_unique(
            "a dataset with this id or identifier exists",
        ))?;
        bump_generation(&mut tx).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn update_dataset(&self, d: &Dataset, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE od_datasets SET meta = $2, state = $3, modified_ms = $4, published_ms = $5, \
             publisher_name = $6 WHERE id = $1",
        )
        .bind(d.id.clone())
        .bind(to_json(&opendata::meta::to_json(&d.meta)))
        .bind(state_str(d.state))
        .bind(ms(&d.modified_at))
        .bind(d.published_at.as_ref().map(ms))
        .bind(d.publisher.name.clone())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("dataset".into()));
        }
        bump_generation(&mut tx).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn get_dataset(&self, id: &str) -> StoreResult<Option<Dataset>> {
        sqlx::query(&format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets WHERE id = $1"
        ))
        .bind(id.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?
        .map(|r| dataset(&r))
        .transpose()
    }

    async fn list_datasets(
        &self,
        filter: &DatasetFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<Dataset>)> {
        let mut cond = vec!["1 = 1".to_owned()];
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.organization.is_some() {
            cond.push(format!("organization = {}", next()));
        }
        if filter.published_only {
            cond.push("state = 'published'".to_owned());
        }
        if filter.modified_since.is_some() {
            cond.push(format!("modified_ms >= {}", next()));
        }
        let cond = cond.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) AS n FROM od_datasets WHERE {cond}");
        let list_sql = format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets WHERE {cond} \
             ORDER BY created_ms, id LIMIT {} OFFSET {}",
            limit.min(i64::MAX as u64),
            offset.min(i64::MAX as u64)
        );
        fn bind<'q>(
            sql: &'q str,
            filter: &DatasetFilter,
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
            let mut q = sqlx::query(sql);
            if let Some(o) = &filter.organization {
                q = q.bind(o.as_str().to_owned());
            }
            if let Some(t) = &filter.modified_since {
                q = q.bind(ms(t));
            }
            q
        }
        let total = bind(&count_sql, filter)
            .fetch_one(&self.read)
            .await
            .map_err(backend)?;
        let total = u64::try_from(int(&total, "n")?).unwrap_or(0);
        let rows = bind(&list_sql, filter)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        let list = rows.iter().map(dataset).collect::<StoreResult<Vec<_>>>()?;
        Ok((total, list))
    }

    async fn resources_of(
        &self,
        dataset_ids: &[String],
    ) -> StoreResult<HashMap<String, Vec<Resource>>> {
        let mut out: HashMap<String, Vec<Resource>> = HashMap::new();
        for chunk in dataset_ids.chunks(500) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE dataset_id IN ({list}) \
                 ORDER BY created_ms, id"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&self.read).await.map_err(backend)? {
                let r = resource(&row)?;
                out.entry(r.dataset_id.clone()).or_default().push(r);
            }
        }
        Ok(out)
    }

    async fn get_resource(&self, id: &str) -> StoreResult<Option<Resource>> {
        sqlx::query(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE id = $1"
        ))
        .bind(id.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?
        .map(|r| resource(&r))
        .transpose()
    }

    async fn update_resource(&self, r: &Resource, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        write_resource(&mut tx, r, false).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn create_table(
        &self,
        table: &TableRef,
        columns: &[opendata::model::FieldType],
    ) -> StoreResult<()> {
        super::datastore::create_table(self, table, columns).await
    }

    async fn insert_rows(
        &self,
        table: &TableRef,
        columns: &[opendata::model::FieldType],
        rows: &[(i64, Vec<opendata::model::Cell>)],
    ) -> StoreResult<()> {
        super::datastore::insert_rows(self, table, columns, rows).await
    }

    async fn copy_rows(
        &self,
        from: &TableRef,
        to: &TableRef,
        source_columns: &[usize],
    ) -> StoreResult<()> {
        super::datastore::copy_rows(self, from, to, source_columns).await
    }

    async fn index_table(
        &self,
        table: &TableRef,
        columns: &[opendata::model::FieldType],
    ) -> StoreResult<()> {
        super::datastore::index_table(self, table, columns).await
    }

    async fn drop_table(&self, table: &TableRef) -> StoreResult<()> {
        super::datastore::drop_table(self, table).await
    }

    async fn commit_load(
        &self,
        r: &Resource,
        created: bool,
        replaced: Option<&TableRef>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        write_resource(&mut tx, r, created).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)?;
        if let Some(old) = replaced {
            // After the commit: readers already see the new version. A crash here leaves an
            // orphan table only, dropped again by the next load of that version number.
            super::datastore::drop_table(self, old).await?;
        }
        Ok(())
    }

    async fn query_rows(
        &self,
        table: &TableRef,
        columns: &[opendata::model::FieldType],
        query: &opendata::ports::RowQuery,
    ) -> StoreResult<opendata::ports::RowPage> {
        super::datastore::query_rows(self, table, columns, query).await
    }

    async fn set_member(
        &self,
        organization: &OrganizationFiscalCode,
        delegate_id: &str,
        role: Option<opendata::ports::Role>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        super::members::set_member(self, organization, delegate_id, role, at, audit).await
    }

    async fn member_role(
        &self,
        organization: &OrganizationFiscalCode,
        delegate_id: &str,
    ) -> StoreResult<Option<opendata::ports::Role>> {
        super::members::member_role(self, organization, delegate_id).await
    }

    async fn list_members(
        &self,
        organization: &OrganizationFiscalCode,
    ) -> StoreResult<Vec<opendata::ports::Member>> {
        super::members::list_members(self, organization).await
    }

    async fn record_use(
        &self,
        dataset_id: &str,
        kind: opendata::ports::UseKind,
        visitor: &str,
        day: chrono::NaiveDate,
    ) -> StoreResult<bool> {
        super::members::record_use(self, dataset_id, kind, visitor, day).await
    }

    async fn tracking(
        &self,
        dataset_ids: &[String],
        today: chrono::NaiveDate,
    ) -> StoreResult<HashMap<String, (opendata::ports::Tracking, opendata::ports::Tracking)>> {
        super::members::tracking(self, dataset_ids, today).await
    }

    async fn catalogue_generation(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT generation FROM od_generation WHERE id = 1")
            .fetch_one(&self.read)
            .await
            .map_err(backend)?;
        int(&row, "generation")
    }

    async fn visitor_salt(&self) -> StoreResult<String> {
        let row = sqlx::query("SELECT visitor_salt FROM od_generation WHERE id = 1")
            .fetch_one(&self.read)
            .await
            .map_err(backend)?;
        text(&row, "visitor_salt")
    }
}
