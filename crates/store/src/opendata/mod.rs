//! The open-data domain's port [`opendata::ports::OpenData`]: datasets and resources
//! (`datasets`), the per-version tables of resources' rows (`datastore`), roles and use
//! counters (`members`), the monthly statistics' counts, series and releases (`stats`), and scheduled pulls from URLs
//! (`pulls`).

mod datasets;
mod datastore;
mod members;
mod pulls;
mod stats;

use crate::prelude::*;

/// Marks the catalogue as changed, inside the transaction of the change.
pub(super) async fn bump_generation(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> StoreResult<()> {
    sqlx::query("UPDATE od_generation SET generation = generation + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}
