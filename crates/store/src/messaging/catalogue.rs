//! The [`Catalogue`] port: published services and approved cards.

use crate::prelude::*;

#[async_trait]
impl Catalogue for SqlStore {
    async fn catalogue_organizations(
        &self,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Organization>, i64)> {
        let pattern = format!(
            "%{}%",
            search
                .unwrap_or("")
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let filter = "disabled = 0 AND LOWER(name) LIKE $1 ESCAPE '\\' AND fiscal_code IN \
             (SELECT organization_fiscal_code FROM services WHERE publication = 'published' \
             AND lifecycle <> 'deleted')";
        let sql = format!(
            "SELECT {} FROM organizations WHERE {filter} ORDER BY name, fiscal_code \
             LIMIT $2 OFFSET $3",
            rows::ORGANIZATION_COLUMNS
        );
        let items = sqlx::query(&sql)
            .bind(pattern.clone())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::organization)
            .collect::<StoreResult<Vec<_>>>()?;
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM organizations WHERE {filter}"
        ))
        .bind(pattern)
        .fetch_one(&self.read)
        .await
        .map_err(backend)?;
        Ok((items, count))
    }

    async fn published_services(
        &self,
        organization: Option<&OrganizationFiscalCode>,
    ) -> StoreResult<Vec<Service>> {
        let base = format!(
            "SELECT {} FROM services WHERE publication = 'published' AND lifecycle <> 'deleted'",
            rows::SERVICE_COLUMNS
        );
        let rows = match organization {
            Some(org) => {
                sqlx::query(&format!(
                    "{base} AND organization_fiscal_code = $1 ORDER BY name, id"
                ))
                .bind(org.as_str().to_owned())
                .fetch_all(&self.read)
                .await
            }
            None => {
                sqlx::query(&format!("{base} AND featured = 1 ORDER BY name, id"))
                    .fetch_all(&self.read)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(rows::service).collect()
    }

    async fn save_published_card(&self, id: &ServiceId, card_json: &str) -> StoreResult<()> {
        sqlx::query("UPDATE services SET published_card = $1 WHERE id = $2")
            .bind(card_json.to_owned())
            .bind(id.to_string())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn published_card(&self, id: &ServiceId) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT published_card FROM services WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        Ok(match row {
            Some(r) => opt_text(&r, "published_card")?,
            None => None,
        })
    }

    async fn set_featured(&self, id: &ServiceId, featured: bool) -> StoreResult<()> {
        let r = sqlx::query("UPDATE services SET featured = $1 WHERE id = $2")
            .bind(flag(featured))
            .bind(id.to_string())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "service")
    }
}
