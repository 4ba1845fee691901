//! The kernel's [`Health`] and [`Organizations`] ports: organizations, delegates, mandates.

use crate::prelude::*;

#[async_trait]
impl Health for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl Organizations for SqlStore {
    async fn create_organization(&self, org: &Organization) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO organizations (fiscal_code, name, kind, ipa_code, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.fiscal_code.as_str().to_owned())
        .bind(org.name.clone())
        .bind(org.kind.as_str())
        .bind(org.ipa_code.clone())
        .bind(flag(org.disabled))
        .bind(ms(&org.created_at))
        .execute(&self.write)
        .await
        .map_err(conflict_if_unique(
            "an organization with this fiscal code exists",
        ))?;
        Ok(())
    }

    async fn get_organization(
        &self,
        fiscal_code: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Organization>> {
        self.one(
            "SELECT fiscal_code, name, kind, ipa_code, disabled, created_at FROM organizations \
                 WHERE fiscal_code = $1",
            fiscal_code.as_str().to_owned(),
            rows::organization,
        )
        .await
    }

    async fn list_organizations(&self) -> StoreResult<Vec<Organization>> {
        sqlx::query(
            "SELECT fiscal_code, name, kind, ipa_code, disabled, created_at FROM organizations \
             ORDER BY fiscal_code",
        )
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::organization)
        .collect()
    }

    async fn set_organization_disabled(
        &self,
        fiscal_code: &OrganizationFiscalCode,
        disabled: bool,
    ) -> StoreResult<()> {
        let r = sqlx::query("UPDATE organizations SET disabled = $1 WHERE fiscal_code = $2")
            .bind(flag(disabled))
            .bind(fiscal_code.as_str().to_owned())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "organization")
    }

    async fn set_organization_logo(
        &self,
        fiscal_code: &OrganizationFiscalCode,
        png: &[u8],
    ) -> StoreResult<()> {
        let r = sqlx::query("UPDATE organizations SET logo = $1 WHERE fiscal_code = $2")
            .bind(png.to_vec())
            .bind(fiscal_code.as_str().to_owned())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "organization")
    }

    async fn organization_logo(
        &self,
        fiscal_code: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT logo FROM organizations WHERE fiscal_code = $1")
            .bind(fiscal_code.as_str().to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>("logo").map_err(backend),
            None => Ok(None),
        }
    }

    async fn create_delegate(&self, d: &Delegate, key_hash: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        insert_delegate(&mut tx, d, key_hash).await?;
        tx.commit().await.map_err(backend)
    }

    async fn list_delegates(
        &self,
        organization: Option<&OrganizationFiscalCode>,
    ) -> StoreResult<Vec<Delegate>> {
        let rows = match organization {
            Some(org) => {
                sqlx::query(
                    "SELECT * FROM delegates WHERE organization_fiscal_code = $1 ORDER BY id",
                )
                .bind(org.as_str().to_owned())
                .fetch_all(&self.read)
                .await
            }
            None => {
                sqlx::query("SELECT * FROM delegates ORDER BY id")
                    .fetch_all(&self.read)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(rows::delegate).collect()
    }

    async fn set_delegate_disabled(&self, id: &str, disabled: bool) -> StoreResult<()> {
        let r = sqlx::query("UPDATE delegates SET disabled = $1 WHERE id = $2")
            .bind(flag(disabled))
            .bind(id.to_owned())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "delegate")
    }

    async fn delegate_by_key_hash(&self, hash: &str) -> StoreResult<Option<DelegateAuth>> {
        let row = sqlx::query(
            "SELECT d.*, o.disabled AS organization_disabled FROM delegates d \
             JOIN organizations o ON o.fiscal_code = d.organization_fiscal_code \
             WHERE d.manage_key_hash = $1",
        )
        .bind(hash.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(DelegateAuth {
                delegate: rows::delegate(&r)?,
                organization_disabled: int(&r, "organization_disabled")? != 0,
            })
        })
        .transpose()
    }

    async fn apply_variation(
        &self,
        add: &[(Delegate, String)],
        remove: &[String],
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        for (d, hash) in add {
            insert_delegate(&mut tx, d, hash).await?;
        }
        for id in remove {
            let r = sqlx::query("UPDATE delegates SET disabled = 1 WHERE id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            if r.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("delegate {id}")));
            }
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn rotate_delegate_key(
        &self,
        id: &str,
        hash: &str,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let r = sqlx::query("UPDATE delegates SET manage_key_hash = $1 WHERE id = $2")
            .bind(hash.to_owned())
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("delegate".into()));
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn add_mandate(&self, m: &Mandate, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO mandates (aggregator, organization, service_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(m.aggregator.as_str().to_owned())
        .bind(m.organization.as_str().to_owned())
        .bind(
            m.service_id
                .map_or_else(|| "*".to_owned(), |s| s.to_string()),
        )
        .bind(ms(&m.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_fk_violation(&e) {
                StoreError::NotFound("organization".into())
            } else {
                backend(e)
            }
        })?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn mandates_of(&self, aggregator: &OrganizationFiscalCode) -> StoreResult<Vec<Mandate>> {
        sqlx::query(
            "SELECT * FROM mandates WHERE aggregator = $1 ORDER BY organization, service_id",
        )
        .bind(aggregator.as_str().to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::mandate)
        .collect()
    }
}
