//! What every public read of the catalogue works from: the published datasets with their
//! resources, the search index over them and the SPARQL store, rebuilt when the database's
//! catalogue generation moved (any node's change bumps it in the same transaction), so every
//! node of an installation answers from the same data within one request of a change — or,
//! for a catalogue large enough that a rebuild takes over a second, within one background
//! rebuild (readers keep the previous snapshot meanwhile).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use opendata::model::{Agent, Dataset, Resource, ResourceState};
use opendata::ports::{DatasetFilter, RowQuery, TableRef, column_types};
use opendata::search::{Index, SearchDoc};

use crate::problem::ApiError;
use crate::state::AppState;

/// Resources with at most this many rows are also published as linked data in the SPARQL
/// store (every cell a triple); larger ones are served by the datastore only.
pub const LINKED_DATA_MAX_ROWS: u64 = 50_000;

/// The catalogue as of one generation.
pub struct Snapshot {
    pub generation: i64,
    /// The installation's publisher (its first organization), `None` before there is one.
    pub publisher: Option<Agent>,
    /// Published datasets by id, with their resources.
    pub datasets: HashMap<String, (Dataset, Vec<Resource>)>,
    /// Dataset ids in creation order (the catalogue's paging order).
    pub order: Vec<String>,
    pub index: Index,
    pub sparql: linkeddata::SparqlEngine,
}

/// A rebuild that took longer than this is not waited for again: readers keep the previous
/// snapshot while the next one is built in the background (a large catalogue), instead of each
/// change stalling the next reader for the whole rebuild.
pub const WAIT_FOR_REBUILD_MS: u128 = 1_000;

/// The current snapshot, shared.
#[derive(Default)]
pub struct OdView {
    current: RwLock<Option<Arc<Snapshot>>>,
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    /// How long the last rebuild took, in milliseconds.
    last_build_ms: std::sync::atomic::AtomicU64,
}

impl OdView {
    /// The snapshot of the database's current generation, rebuilt first when stale; for a
    /// catalogue whose last rebuild took over [`WAIT_FOR_REBUILD_MS`], the previous snapshot
    /// while a background task rebuilds.
    pub async fn get(&self, state: &AppState) -> Result<Arc<Snapshot>, ApiError> {
        let generation = state.opendata.catalogue_generation().await?;
        if let Some(s) = self.fresh(generation) {
            return Ok(s);
        }
        let slow = u128::from(
            self.last_build_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        ) > WAIT_FOR_REBUILD_MS;
        if slow && let Some(stale) = self.latest() {
            if let Ok(guard) = self.rebuilding.clone().try_lock_owned() {
                let state = state.clone();
                tokio::spawn(async move {
                    let _one = guard;
                    let view = state.od_view.clone();
                    if view.fresh(generation).is_none()
                        && let Err(e) = view.rebuild(&state, generation).await
                    {
                        tracing::warn!(error.cause = ?e, "open data: catalogue rebuild failed");
                    }
                });
            }
            return Ok(stale);
        }
        let _one = self.rebuilding.lock().await;
        if let Some(s) = self.fresh(generation) {
            return Ok(s);
        }
        self.rebuild(state, generation).await
    }

    async fn rebuild(&self, state: &AppState, generation: i64) -> Result<Arc<Snapshot>, ApiError> {
        let started = std::time::Instant::now();
        let snapshot = Arc::new(build(state, generation).await?);
        self.last_build_ms.store(
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        if let Ok(mut cur) = self.current.write() {
            *cur = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    fn fresh(&self, generation: i64) -> Option<Arc<Snapshot>> {
        let cur = self.current.read().ok()?;
        cur.as_ref().filter(|s| s.generation == generation).cloned()
    }

    fn latest(&self) -> Option<Arc<Snapshot>> {
        self.current.read().ok()?.clone()
    }
}

/// The public base URL, without a trailing slash.
pub fn base_url(state: &AppState) -> String {
    state.settings.public_url.trim_end_matches('/').to_owned()
}

/// Every territory code a dataset covers, with the province and region each lies in.
fn expanded_territory(d: &Dataset) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in &d.meta.territory {
        let mut cur = Some(*t);
        while let Some(x) = cur {
            if !out.iter().any(|c| c == x.term.code) {
                out.push(x.term.code.to_owned());
            }
            cur = opendata::vocab::parent(&x);
        }
    }
    out
}

/// The search document of a dataset.
pub fn search_doc(d: &Dataset, resources: &[Resource]) -> SearchDoc {
    let mut years: Vec<i32> = Vec::new();
    if let Some(t) = &d.meta.temporal {
        use chrono::Datelike;
        let end = t.end.map_or(t.start.year(), |e| e.year());
        for y in t.start.year()..=end.min(t.start.year() + 200) {
            years.push(y);
        }
    }
    let mut formats: Vec<String> = resources.iter().map(|r| r.format.code.to_owned()).collect();
    formats.sort();
    formats.dedup();
    SearchDoc {
        id: d.id.clone(),
        organization: d.publisher.identifier.clone(),
        organization_title: d.publisher.name.clone(),
        title: d.meta.title.clone(),
        description: d.meta.description.clone(),
        keywords: d.meta.keywords.clone(),
        themes: d.meta.themes.iter().map(|t| t.code.to_owned()).collect(),
        territory: expanded_territory(d),
        years,
        formats,
        license: d.meta.licence.term.code.to_owned(),
        modified: d.modified_at,
    }
}

async fn build(state: &AppState, generation: i64) -> Result<Snapshot, ApiError> {
    let cx = state.od();
    let filter = DatasetFilter {
        published_only: true,
        ..DatasetFilter::default()
    };
    let mut datasets = HashMap::new();
    let mut order = Vec::new();
    let mut index = Index::new();
    let mut offset = 0;
    loop {
        let (_, page) = ops::opendata::published(&cx, &filter, offset, 1_000).await?;
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        for (d, rs) in page {
            let rs: Vec<Resource> = rs
                .into_iter()
                .filter(|r| r.state == ResourceState::Ready)
                .collect();
            index.upsert(search_doc(&d, &rs));
            order.push(d.id.clone());
            datasets.insert(d.id.clone(), (d, rs));
        }
    }
    let base = base_url(state);
    let sparql = linkeddata::SparqlEngine::new(base.clone())
        .map_err(|e| ApiError::Internal(format!("sparql store: {e}")))?;
    let all: Vec<(Dataset, Vec<Resource>)> = order
        .iter()
        .filter_map(|id| datasets.get(id).cloned())
        .collect();
    let publisher = super::catalog::installation_publisher(state).await?;
    let info = super::catalog::catalog_info(state, None, publisher.as_ref(), &all)?;
    sparql
        .replace_catalog(linkeddata::catalog_triples(&info, &all, None))
        .map_err(|e| ApiError::Internal(format!("sparql catalogue: {e}")))?;
    for (d, rs) in &all {
        for r in rs {
            if r.quality.row_count > LINKED_DATA_MAX_ROWS {
                continue;
            }
            let table = TableRef {
                resource_id: r.id.clone(),
                version: r.version,
            };
            let page = state
                .opendata
                .query_rows(
                    &table,
                    &column_types(&r.schema),
                    &RowQuery {
                        filters: Vec::new(),
                        sort: Vec::new(),
                        after_id: None,
                        offset: 0,
                        limit: LINKED_DATA_MAX_ROWS,
                        include_total: false,
                        timeout_ms: 60_000,
                    },
                )
                .await?;
            let triples =
                linkeddata::resource_triples(&base, &d.id, &r.id, &r.schema, page.rows.into_iter());
            sparql
                .replace_resource(&r.id, triples)
                .map_err(|e| ApiError::Internal(format!("sparql resource: {e}")))?;
        }
    }
    Ok(Snapshot {
        generation,
        publisher,
        datasets,
        order,
        index,
        sparql,
    })
}
