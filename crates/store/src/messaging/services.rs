//! The [`Services`] port: services, their keys and history.

use crate::prelude::*;

#[async_trait]
impl Services for SqlStore {
    async fn create_service(&self, s: &Service, keys: &[StoredKey]) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let sql = format!(
            "INSERT INTO services ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18, $19)",
            rows::SERVICE_COLUMNS
        );
        service_binds(sqlx::query(&sql).bind(s.id.to_string()), s)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_fk_violation(&e) {
                    StoreError::NotFound("organization".into())
                } else {
                    backend(e)
                }
            })?;
        for k in keys {
            sqlx::query(
                "INSERT INTO service_keys (service_id, key_type, key_hash, key_id, sealed) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(s.id.to_string())
            .bind(k.key_type.as_str())
            .bind(k.hash.clone())
            .bind(k.sealed.key_id.clone())
            .bind(k.sealed.bytes.clone())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn get_service(&self, id: &ServiceId) -> StoreResult<Option<Service>> {
        let sql = format!(
            "SELECT {} FROM services WHERE id = $1",
            rows::SERVICE_COLUMNS
        );
        self.one(&sql, id.to_string(), rows::service).await
    }

    async fn list_services(
        &self,
        organization: &OrganizationFiscalCode,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Service>, i64)> {
        let sql = format!(
            "SELECT {} FROM services WHERE organization_fiscal_code = $1 \
             AND lifecycle <> 'deleted' ORDER BY id DESC LIMIT $2 OFFSET $3",
            rows::SERVICE_COLUMNS
        );
        let items = sqlx::query(&sql)
            .bind(organization.as_str().to_owned())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::service)
            .collect::<StoreResult<Vec<_>>>()?;
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM services WHERE organization_fiscal_code = $1 \
             AND lifecycle <> 'deleted'",
        )
        .bind(organization.as_str().to_owned())
        .fetch_one(&self.read)
        .await
        .map_err(backend)?;
        Ok((items, count))
    }

    async fn update_service(&self, s: &Service) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        write_service(&mut tx, s).await?;
        tx.commit().await.map_err(backend)
    }

    async fn transition_service(
        &self,
        s: &Service,
        history: &[NewHistoryEntry],
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let card = to_json(&messaging::lifecycle::ServiceCard::from(s));
        let mut tx = self.write.begin().await.map_err(backend)?;
        write_service(&mut tx, s).await?;
        for h in history {
            sqlx::query(
                "INSERT INTO service_history (service_id, kind, status, reason, actor, at, card) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(s.id.to_string())
            .bind(h.kind)
            .bind(h.status.clone())
            .bind(h.reason.clone())
            .bind(h.actor.clone())
            .bind(ms(&s.updated_at))
            .bind(card.clone())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn service_history(
        &self,
        id: &ServiceId,
        ascending: bool,
        after_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<HistoryEntry>> {
        let sql = if ascending {
            "SELECT * FROM service_history WHERE service_id = $1 AND id > $2 \
             ORDER BY id ASC LIMIT $3"
        } else {
            "SELECT * FROM service_history WHERE service_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        };
        let cursor = after_id.unwrap_or(if ascending { 0 } else { i64::MAX });
        sqlx::query(sql)
            .bind(id.to_string())
            .bind(cursor)
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::history)
            .collect()
    }

    async fn pending_reviews(&self) -> StoreResult<Vec<Service>> {
        let sql = format!(
            "SELECT {} FROM services WHERE lifecycle = 'submitted' ORDER BY updated_at, id",
            rows::SERVICE_COLUMNS
        );
        sqlx::query(&sql)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::service)
            .collect()
    }

    async fn sibling_service_names(
        &self,
        organization: &OrganizationFiscalCode,
        except: &ServiceId,
    ) -> StoreResult<Vec<String>> {
        sqlx::query(
            "SELECT name FROM services WHERE organization_fiscal_code = $1 AND id <> $2 \
             AND lifecycle <> 'deleted'",
        )
        .bind(organization.as_str().to_owned())
        .bind(except.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| text(r, "name"))
        .collect()
    }

    async fn service_by_key_hash(&self, hash: &str) -> StoreResult<Option<ServiceAuth>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {}, o.disabled AS organization_disabled, l.rate_per_second, l.burst, \
                 l.daily_quota, l.monthly_quota FROM service_keys k \
                 JOIN services s ON s.id = k.service_id \
                 JOIN organizations o ON o.fiscal_code = s.organization_fiscal_code \
                 LEFT JOIN service_limits l ON l.service_id = s.id \
                 WHERE k.key_hash = $1",
                rows::SERVICE_COLUMNS
                    .split(", ")
                    .map(|c| format!("s.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let sql: &str = &SQL;
        let row = sqlx::query(sql)
            .bind(hash.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(ServiceAuth {
                service: rows::service(&r)?,
                organization_disabled: int(&r, "organization_disabled")? != 0,
                limits: limits(&r)?,
            })
        })
        .transpose()
    }

    async fn service_keys(&self, id: &ServiceId) -> StoreResult<Vec<StoredKey>> {
        sqlx::query("SELECT * FROM service_keys WHERE service_id = $1 ORDER BY key_type")
            .bind(id.to_string())
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(stored_key)
            .collect()
    }

    async fn replace_service_key(&self, id: &ServiceId, key: &StoredKey) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE service_keys SET key_hash = $1, key_id = $2, sealed = $3 \
             WHERE service_id = $4 AND key_type = $5",
        )
        .bind(key.hash.clone())
        .bind(key.sealed.key_id.clone())
        .bind(key.sealed.bytes.clone())
        .bind(id.to_string())
        .bind(key.key_type.as_str())
        .execute(&self.write)
        .await
        .map_err(backend)?;
        found(r.rows_affected(), "service key")
    }

    async fn set_service_logo(&self, id: &ServiceId, png: &[u8]) -> StoreResult<()> {
        let r = sqlx::query("UPDATE services SET logo = $1 WHERE id = $2")
            .bind(png.to_vec())
            .bind(id.to_string())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "service")
    }

    async fn service_logo(&self, id: &ServiceId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT logo FROM services WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>("logo").map_err(backend),
            None => Ok(None),
        }
    }
}
