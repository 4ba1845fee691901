//! The [`Profiles`] port: an ente's payments set-up and its two key hashes, one row per ente
//! in `payment_profiles`. Every change is written with its audit entry in one transaction.

use payments::values::SegregationCode;

use crate::prelude::*;

const PROFILE_COLUMNS: &str =
    "organization, segregation_codes, io_service, cidrs, template, created_at";

/// A stored profile, parsed strictly: a value that no longer parses is a corrupt row.
fn profile(row: &AnyRow) -> StoreResult<Profile> {
    let codes = text(row, "segregation_codes")?;
    let segregation_codes = if codes.is_empty() {
        Vec::new()
    } else {
        codes
            .split(',')
            .map(SegregationCode::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| corrupt("segregation_codes"))?
    };
    let cidrs: Vec<String> =
        serde_json::from_str(&text(row, "cidrs")?).map_err(|_| corrupt("cidrs"))?;
    Ok(Profile {
        organization: parsed(row, "organization", OrganizationFiscalCode::parse)?,
        segregation_codes,
        io_service: opt_text(row, "io_service")?
            .map(|s| ServiceId::parse(&s).map_err(|_| corrupt("io_service")))
            .transpose()?,
        cidrs: cidrs
            .iter()
            .map(|c| Cidr::parse(c))
            .collect::<Result<_, _>>()
            .map_err(|_| corrupt("cidrs"))?,
        template: serde_json::from_str(&text(row, "template")?).map_err(|_| corrupt("template"))?,
        created_at: at(row, "created_at")?,
    })
}

fn codes_text(codes: &[SegregationCode]) -> String {
    codes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

const KEY_IN_USE: &str = "this payments key is already in use";

/// Maps a write's failure: a key hash another ente holds is a `Conflict`, an unknown ente
/// `NotFound`.
fn write_error(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(KEY_IN_USE.into())
    } else if is_fk_violation(&e) {
        StoreError::NotFound("organization".into())
    } else {
        backend(e)
    }
}

/// `Conflict` when another ente holds one of `hashes` in either slot (each column is unique on
/// its own; this also keeps one ente's primary from being another's secondary).
async fn ensure_keys_free(
    tx: &mut Tx<'_>,
    engine: Backend,
    organization: &OrganizationFiscalCode,
    hashes: &[&str],
) -> StoreResult<()> {
    let n = hashes.len();
    let sql = format!(
        "SELECT COUNT(*) FROM payment_profiles WHERE organization <> {} \
         AND (primary_key_hash IN ({}) OR secondary_key_hash IN ({}))",
        in_list_from(engine, 1, 1),
        in_list_from(engine, 2, n),
        in_list_from(engine, 2 + n, n),
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(organization.as_str().to_owned());
    for _ in 0..2 {
        for h in hashes {
            q = q.bind((*h).to_owned());
        }
    }
    let taken = q.fetch_one(&mut **tx).await.map_err(backend)?;
    if taken > 0 {
        return Err(StoreError::Conflict(KEY_IN_USE.into()));
    }
    Ok(())
}

#[async_trait]
impl Profiles for SqlStore {
    /// Inserts the profile or replaces every field of the stored one but `created_at` (the
    /// first enabling stays the creation time), with both key hashes. A key hash another ente
    /// holds is a `Conflict`; an ente that does not exist is `NotFound("organization")`.
    async fn enable_payments(
        &self,
        profile: &Profile,
        primary_hash: &str,
        secondary_hash: &str,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let cidrs: Vec<String> = profile.cidrs.iter().map(ToString::to_string).collect();
        let mut tx = self.begin_write().await?;
        ensure_keys_free(
            &mut tx,
            self.backend,
            &profile.organization,
            &[primary_hash, secondary_hash],
        )
        .await?;
        sqlx::query(
            "INSERT INTO payment_profiles (organization, segregation_codes, io_service, cidrs, \
             template, primary_key_hash, secondary_key_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (organization) DO UPDATE SET \
             segregation_codes = excluded.segregation_codes, io_service = excluded.io_service, \
             cidrs = excluded.cidrs, template = excluded.template, \
             primary_key_hash = excluded.primary_key_hash, \
             secondary_key_hash = excluded.secondary_key_hash",
        )
        .bind(profile.organization.as_str().to_owned())
        .bind(codes_text(&profile.segregation_codes))
        .bind(profile.io_service.as_ref().map(ToString::to_string))
        .bind(to_json(&cidrs))
        .bind(to_json(&profile.template))
        .bind(primary_hash.to_owned())
        .bind(secondary_hash.to_owned())
        .bind(ms(&profile.created_at))
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn payments_profile(
        &self,
        organization: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Profile>> {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM payment_profiles WHERE organization = $1");
        self.one(&sql, organization.as_str().to_owned(), profile)
            .await
    }

    /// Matches the primary or the secondary hash; a replaced hash matches nothing.
    async fn payments_profile_by_key(&self, hash: &str) -> StoreResult<Option<Profile>> {
        let sql = format!(
            "SELECT {PROFILE_COLUMNS} FROM payment_profiles \
             WHERE primary_key_hash = $1 OR secondary_key_hash = $2"
        );
        sqlx::query(&sql)
            .bind(hash.to_owned())
            .bind(hash.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?
            .as_ref()
            .map(profile)
            .transpose()
    }

    /// `NotFound("payments profile")` when the ente has none; a hash another ente holds is a
    /// `Conflict`. The old hash is gone once this commits.
    async fn set_payments_key(
        &self,
        organization: &OrganizationFiscalCode,
        slot: KeySlot,
        hash: &str,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let column = match slot {
            KeySlot::Primary => "primary_key_hash",
            KeySlot::Secondary => "secondary_key_hash",
        };
        let mut tx = self.begin_write().await?;
        ensure_keys_free(&mut tx, self.backend, organization, &[hash]).await?;
        let r = sqlx::query(&format!(
            "UPDATE payment_profiles SET {column} = $1 WHERE organization = $2"
        ))
        .bind(hash.to_owned())
        .bind(organization.as_str().to_owned())
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        found(r.rows_affected(), "payments profile")?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    /// `NotFound("payments profile")` when the ente has none.
    async fn set_payments_template(
        &self,
        organization: &OrganizationFiscalCode,
        template: &NoticeTemplate,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let r = sqlx::query("UPDATE payment_profiles SET template = $1 WHERE organization = $2")
            .bind(to_json(template))
            .bind(organization.as_str().to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "payments profile")?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }
}
