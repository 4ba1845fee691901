//! The [`Citizens`] port: profiles, preferences, e-mail validation, erasure.

use crate::prelude::*;

#[async_trait]
impl Citizens for SqlStore {
    async fn create_citizen(&self, p: &CitizenProfile) -> StoreResult<()> {
        self.save_citizen(p, None, None).await
    }

    async fn get_citizen(&self, fiscal_code: &FiscalCode) -> StoreResult<Option<CitizenProfile>> {
        let sql = format!(
            "SELECT {} FROM citizens WHERE fiscal_code = $1",
            rows::CITIZEN_COLUMNS
        );
        self.one(&sql, fiscal_code.as_str().to_owned(), rows::citizen)
            .await
    }

    async fn get_service_preference(
        &self,
        fiscal_code: &FiscalCode,
        service: &ServiceId,
        settings_version: i64,
    ) -> StoreResult<Option<ServicePreference>> {
        let row = sqlx::query(
            "SELECT * FROM service_preferences WHERE fiscal_code = $1 AND service_id = $2 \
             AND settings_version = $3",
        )
        .bind(fiscal_code.as_str().to_owned())
        .bind(service.to_string())
        .bind(settings_version)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.as_ref().map(preference).transpose()
    }

    async fn get_citizens(&self, fiscal_codes: &[FiscalCode]) -> StoreResult<Vec<CitizenProfile>> {
        let select = format!("SELECT {} FROM citizens", rows::CITIZEN_COLUMNS);
        let keys = fiscal_codes.iter().map(|f| f.as_str().to_owned()).collect();
        self.select_in(&select, "fiscal_code", keys, rows::citizen)
            .await
    }

    async fn get_preferences_of(
        &self,
        fiscal_codes: &[FiscalCode],
    ) -> StoreResult<Vec<(FiscalCode, ServicePreference)>> {
        let keys = fiscal_codes.iter().map(|f| f.as_str().to_owned()).collect();
        self.select_in(
            "SELECT * FROM service_preferences",
            "fiscal_code",
            keys,
            |r| {
                let fc = FiscalCode::parse(&text(r, "fiscal_code")?)
                    .map_err(|_| StoreError::Backend("stored fiscal code".into()))?;
                Ok((fc, preference(r)?))
            },
        )
        .await
    }

    async fn upsert_service_preference(
        &self,
        fiscal_code: &FiscalCode,
        p: &ServicePreference,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO service_preferences (fiscal_code, service_id, settings_version, \
             is_inbox_enabled, is_email_enabled, is_webhook_enabled, \
             can_access_message_read_status) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (fiscal_code, service_id, settings_version) DO UPDATE SET \
             is_inbox_enabled = excluded.is_inbox_enabled, \
             is_email_enabled = excluded.is_email_enabled, \
             is_webhook_enabled = excluded.is_webhook_enabled, \
             can_access_message_read_status = excluded.can_access_message_read_status",
        )
        .bind(fiscal_code.as_str().to_owned())
        .bind(p.service_id.to_string())
        .bind(p.settings_version)
        .bind(flag(p.is_inbox_enabled))
        .bind(flag(p.is_email_enabled))
        .bind(flag(p.is_webhook_enabled))
        .bind(flag(p.can_access_message_read_status))
        .execute(&self.write)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn save_citizen(
        &self,
        profile: &CitizenProfile,
        expected_version: Option<i64>,
        validation: Option<&NewEmailValidation>,
    ) -> StoreResult<()> {
        let p = profile;
        let mut tx = self.write.begin().await.map_err(backend)?;
        let email = p.email.as_ref().map(|e| e.as_str().to_owned());
        match expected_version {
            None => {
                let sql = format!(
                    "INSERT INTO citizens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $15, $16)",
                    rows::CITIZEN_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(p.fiscal_code.as_str().to_owned())
                    .bind(email)
                    .bind(flag(p.is_email_validated))
                    .bind(flag(p.is_inbox_enabled))
                    .bind(flag(p.is_email_enabled))
                    .bind(flag(p.is_webhook_enabled))
                    .bind(to_json(&p.preferred_languages))
                    .bind(p.preference_mode.as_str())
                    .bind(p.settings_version)
                    .bind(to_json(&p.blocked_channels))
                    .bind(p.version)
                    .bind(ms(&p.created_at))
                    .bind(ms(&p.updated_at))
                    .bind(p.accepted_tos_version)
                    .bind(flag(p.reminders_enabled))
                    .bind(flag(p.push_anonymous))
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_if_unique("a profile for this citizen exists"))?;
            }
            Some(expected) => {
                let done = sqlx::query(
                    "UPDATE citizens SET email = $1, is_email_validated = $2, \
                     is_inbox_enabled = $3, is_email_enabled = $4, is_webhook_enabled = $5, \
                     preferred_languages = $6, preference_mode = $7, settings_version = $8, \
                     blocked_channels = $9, version = $10, updated_at = $11, \
                     accepted_tos_version = $12, reminders_enabled = $13, push_anonymous = $14 \
                     WHERE fiscal_code = $15 AND version = $16",
                )
                .bind(email)
                .bind(flag(p.is_email_validated))
                .bind(flag(p.is_inbox_enabled))
                .bind(flag(p.is_email_enabled))
                .bind(flag(p.is_webhook_enabled))
                .bind(to_json(&p.preferred_languages))
                .bind(p.preference_mode.as_str())
                .bind(p.settings_version)
                .bind(to_json(&p.blocked_channels))
                .bind(p.version)
                .bind(ms(&p.updated_at))
                .bind(p.accepted_tos_version)
                .bind(flag(p.reminders_enabled))
                .bind(flag(p.push_anonymous))
                .bind(p.fiscal_code.as_str().to_owned())
                .bind(expected)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
                if done == 0 {
                    let stored: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM citizens WHERE fiscal_code = $1")
                            .bind(p.fiscal_code.as_str().to_owned())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(backend)?;
                    return Err(match stored {
                        Some(v) => StoreError::Conflict(format!("stale version: stored {v}")),
                        None => StoreError::NotFound("citizen profile".into()),
                    });
                }
            }
        }
        if let Some(v) = validation {
            sqlx::query("DELETE FROM email_validations WHERE fiscal_code = $1")
                .bind(p.fiscal_code.as_str().to_owned())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query(
                "INSERT INTO email_validations (id, token_hash, fiscal_code, email, expires_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(v.id.clone())
            .bind(v.token_hash.clone())
            .bind(p.fiscal_code.as_str().to_owned())
            .bind(v.email.clone())
            .bind(ms(&v.expires_at))
            .bind(ms(&p.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            insert_notifications(&mut tx, std::slice::from_ref(&v.notification), p.updated_at)
                .await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn validate_email(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<FiscalCode>> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let row = sqlx::query(
            "SELECT fiscal_code, email, expires_at FROM email_validations WHERE token_hash = $1",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let fiscal_code = parsed(&row, "fiscal_code", FiscalCode::parse)?;
        let email = text(&row, "email")?;
        let live = int(&row, "expires_at")? > ms(&now);
        let validated = if live {
            sqlx::query(
                "UPDATE citizens SET is_email_validated = 1, updated_at = $1 \
                 WHERE fiscal_code = $2 AND email = $3",
            )
            .bind(ms(&now))
            .bind(fiscal_code.as_str().to_owned())
            .bind(email)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected()
                > 0
        } else {
            false
        };
        // A used or expired token is gone; a used one takes the citizen's others with it.
        let sql = if validated {
            "DELETE FROM email_validations WHERE fiscal_code = $1"
        } else {
            "DELETE FROM email_validations WHERE token_hash = $1"
        };
        let key = if validated {
            fiscal_code.as_str().to_owned()
        } else {
            token_hash.to_owned()
        };
        sqlx::query(sql)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(validated.then_some(fiscal_code))
    }

    async fn delete_citizen(
        &self,
        fiscal_code: &FiscalCode,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let fc = fiscal_code.as_str().to_owned();
        let mut tx = self.write.begin().await.map_err(backend)?;
        let mut held = 0;
        // The citizen's pending notification jobs go with the notifications.
        let notifications: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM notifications WHERE fiscal_code = $1")
                .bind(fc.clone())
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
        for chunk in notifications.chunks(INSERT_CHUNK) {
            let sql = format!(
                "DELETE FROM jobs WHERE kind = {} AND subject_id IN ({})",
                in_list_from(self.backend, 1, 1),
                in_list_from(self.backend, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(JobKind::Notify.as_str());
            for id in chunk {
                q = q.bind(id.to_string());
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        for table in [
            "citizens",
            "service_preferences",
            "inbox",
            "citizen_sessions",
            "email_validations",
            "notifications",
        ] {
            held += sqlx::query(&format!("DELETE FROM {table} WHERE fiscal_code = $1"))
                .bind(fc.clone())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        }
        // The enti keep a status record of what they sent, without the content.
        held += sqlx::query(
            "UPDATE messages SET content = $1, content_key_id = $2, updated_at = $3 \
             WHERE fiscal_code = $4 AND content_key_id <> $5",
        )
        .bind(Vec::<u8>::new())
        .bind(ERASED_KEY_ID)
        .bind(ms(&now))
        .bind(fc)
        .bind(ERASED_KEY_ID)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(held > 0)
    }
}
