//! The [`Inbox`] port: a citizen's inbox as they read it.

use crate::prelude::*;

#[async_trait]
impl Inbox for SqlStore {
    async fn inbox_page(
        &self,
        fiscal_code: &FiscalCode,
        query: &InboxQuery,
    ) -> StoreResult<Vec<InboxItem>> {
        let mut p = Params(0);
        let mut sql = format!(
            "SELECT {INBOX_COLUMNS} {INBOX_FROM} WHERE i.fiscal_code = {}",
            p.next(),
        );
        if query.archived.is_some() {
            sql.push_str(&format!(" AND i.is_archived = {}", p.next()));
        }
        if query.service.is_some() {
            sql.push_str(&format!(" AND i.service_id = {}", p.next()));
        }
        if query.maximum_id.is_some() {
            sql.push_str(&format!(" AND i.message_id < {}", p.next()));
        }
        if query.minimum_id.is_some() {
            sql.push_str(&format!(" AND i.message_id > {}", p.next()));
        }
        // Paging back from `minimum_id` alone takes the items just above it.
        let ascending = query.minimum_id.is_some() && query.maximum_id.is_none();
        sql.push_str(&format!(
            " ORDER BY i.message_id {} LIMIT {}",
            if ascending { "ASC" } else { "DESC" },
            p.next()
        ));
        let mut q = sqlx::query(&sql).bind(fiscal_code.as_str().to_owned());
        if let Some(a) = query.archived {
            q = q.bind(flag(a));
        }
        if let Some(s) = &query.service {
            q = q.bind(s.to_string());
        }
        if let Some(id) = &query.maximum_id {
            q = q.bind(id.to_string());
        }
        if let Some(id) = &query.minimum_id {
            q = q.bind(id.to_string());
        }
        let mut items = q
            .bind(query.limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(inbox_item)
            .collect::<StoreResult<Vec<_>>>()?;
        if ascending {
            items.reverse();
        }
        Ok(items)
    }

    async fn inbox_item(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
    ) -> StoreResult<Option<InboxItem>> {
        let sql = format!(
            "SELECT {INBOX_COLUMNS} {INBOX_FROM} WHERE i.fiscal_code = $1 AND i.message_id = $2"
        );
        sqlx::query(&sql)
            .bind(fiscal_code.as_str().to_owned())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?
            .as_ref()
            .map(inbox_item)
            .transpose()
    }

    async fn change_message_status(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
        change: StatusChange,
        read_callback: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(bool, bool)>> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let row = sqlx::query(
            "SELECT is_read, is_archived, service_id FROM inbox \
             WHERE fiscal_code = $1 AND message_id = $2",
        )
        .bind(fiscal_code.as_str().to_owned())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let was_read = boolean(&row, "is_read")?;
        let service = text(&row, "service_id")?;
        let is_read = was_read || change.read == Some(true);
        let is_archived = change.archived.unwrap_or(boolean(&row, "is_archived")?);
        sqlx::query(
            "UPDATE inbox SET is_read = $1, is_archived = $2 \
             WHERE fiscal_code = $3 AND message_id = $4",
        )
        .bind(flag(is_read))
        .bind(flag(is_archived))
        .bind(fiscal_code.as_str().to_owned())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if is_read && !was_read {
            sqlx::query("UPDATE messages SET is_read = 1, updated_at = $1 WHERE id = $2")
                .bind(ms(&now))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            if read_callback {
                let delivery: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO callback_deliveries (service_id, message_id, event, reason, at, \
                     status, attempts, created_at, updated_at) \
                     SELECT id, $1, 'read', NULL, $2, 'PENDING', 0, $3, $4 FROM services \
                     WHERE id = $5 AND callback_url IS NOT NULL \
                     ON CONFLICT (message_id, event) DO NOTHING RETURNING id",
                )
                .bind(id.to_string())
                .bind(ms(&now))
                .bind(ms(&now))
                .bind(ms(&now))
                .bind(service)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
                if let Some(d) = delivery {
                    insert_job(&mut tx, JobKind::Callback, &d.to_string(), now, now).await?;
                }
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(Some((is_read, is_archived)))
    }

    async fn messages_to(&self, fiscal_code: &FiscalCode) -> StoreResult<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE fiscal_code = $1 ORDER BY id",
            rows::MESSAGE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(fiscal_code.as_str().to_owned())
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::message)
            .collect()
    }
}
