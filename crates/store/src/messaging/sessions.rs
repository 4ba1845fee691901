//! The [`Sessions`] port: citizen sessions.

use crate::prelude::*;

#[async_trait]
impl Sessions for SqlStore {
    async fn create_session(&self, session: &CitizenSession, token_hash: &str) -> StoreResult<()> {
        let s = session;
        sqlx::query(
            "INSERT INTO citizen_sessions (id, token_hash, fiscal_code, method, client_ip, \
             created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id.clone())
        .bind(token_hash.to_owned())
        .bind(s.fiscal_code.as_str().to_owned())
        .bind(s.method.clone())
        .bind(s.client_ip.clone())
        .bind(ms(&s.created_at))
        .bind(ms(&s.expires_at))
        .bind(s.revoked_at.as_ref().map(ms))
        .execute(&self.write)
        .await
        .map_err(conflict_if_unique("a session with this id or token exists"))?;
        Ok(())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CitizenSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM citizen_sessions WHERE token_hash = $1 \
             AND revoked_at IS NULL AND expires_at > $2"
        );
        sqlx::query(&sql)
            .bind(token_hash.to_owned())
            .bind(ms(&now))
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?
            .as_ref()
            .map(session)
            .transpose()
    }

    async fn sessions_of(
        &self,
        fiscal_code: &FiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<CitizenSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM citizen_sessions WHERE fiscal_code = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(fiscal_code.as_str().to_owned())
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(session)
            .collect()
    }

    async fn revoke_session(
        &self,
        fiscal_code: &FiscalCode,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(self
            .revoke_sessions_where(fiscal_code, Some(id), now)
            .await?
            > 0)
    }

    async fn revoke_sessions(
        &self,
        fiscal_code: &FiscalCode,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.revoke_sessions_where(fiscal_code, None, now).await
    }
}
