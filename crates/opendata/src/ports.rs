//! What the open-data domain needs from storage. `store::SqlStore` implements [`OpenData`] on
//! SQLite and PostgreSQL; [`OpenDataStore`] is its composition with the kernel's ports.
//!
//! A resource's rows live in a table of their own per version (the datastore); a load writes
//! a new version's table completely and then, in one transaction, points the resource at it
//! and drops the previous one, so readers see the old rows or the new ones, never half a table.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::NewAuditEntry;
use kernel::ports::{AuditLog, Health, Organizations, StoreResult};
use kernel::values::OrganizationFiscalCode;
use serde::{Deserialize, Serialize};

use crate::model::{Cell, Dataset, FieldType, InputFormat, Resource, TableSchema};
use crate::stats::{Period, Policy, StatKind, StatRelease};

/// A role in an organization's open data (CKAN's member / editor / admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees the organization's drafts and blocked resources.
    Viewer,
    /// Creates, edits, loads and publishes datasets.
    Editor,
    /// Also grants and revokes roles.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A granted role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub organization: OrganizationFiscalCode,
    pub delegate_id: String,
    pub role: Role,
    pub granted_at: DateTime<Utc>,
}

/// One version's table of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub resource_id: String,
    pub version: u32,
}

/// The columns of a stored table: the schema's field types, in order.
pub fn column_types(schema: &TableSchema) -> Vec<FieldType> {
    schema.fields.iter().map(|f| f.field_type).collect()
}

/// A comparison on one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The column equals one of the values (typed after the column).
    In(usize, Vec<Cell>),
    /// One of the (text) columns contains the text, ignoring case (CKAN's `q` as a string).
    Contains(Vec<usize>, String),
}

/// What to read from a table.
#[derive(Debug, Clone, PartialEq)]
pub struct RowQuery {
    pub filters: Vec<Filter>,
    /// Column index and descending; empty = by `_id`.
    pub sort: Vec<(usize, bool)>,
    /// Keyset paging when sorted by `_id`: rows after this id.
    pub after_id: Option<i64>,
    pub offset: u64,
    pub limit: u64,
    /// Count every matching row too.
    pub include_total: bool,
    /// How long the query may run.
    pub timeout_ms: u64,
}

/// The rows a query found.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPage {
    /// `_id` and the cells in schema order.
    pub rows: Vec<(i64, Vec<Cell>)>,
    pub total: Option<u64>,
}

/// Which kind of use a visit was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UseKind {
    /// The dataset's page.
    View,
    /// An API read (package_show, datastore_search, REST query).
    Api,
    /// A file download.
    Download,
}

impl UseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Api => "api",
            Self::Download => "download",
        }
    }
}

/// Use of a dataset: unique visitors per day, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tracking {
    /// Every day.
    pub total: u64,
    /// The last 14 days, today included.
    pub recent: u64,
}

/// The datasets a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetFilter {
    pub organization: Option<OrganizationFiscalCode>,
    pub published_only: bool,
    pub modified_since: Option<DateTime<Utc>>,
}

/// Storage of the open-data domain.
#[async_trait::async_trait]
pub trait OpenData: Send + Sync + 'static {
    /// Stores a new dataset, bumps the catalogue generation, appends `audit`.
    async fn create_dataset(&self, dataset: &Dataset, audit: &NewAuditEntry) -> StoreResult<()>;
    /// Replaces a dataset's metadata, state and times; bumps the generation.
    async fn update_dataset(&self, dataset: &Dataset, audit: &NewAuditEntry) -> StoreResult<()>;
    async fn get_dataset(&self, id: &str) -> StoreResult<Option<Dataset>>;
    /// Datasets in creation order, `offset`/`limit`, and how many match.
    async fn list_datasets(
        &self,
        filter: &DatasetFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<Dataset>)>;
    /// The resources of each dataset named, in creation order.
    async fn resources_of(
        &self,
        dataset_ids: &[String],
    ) -> StoreResult<HashMap<String, Vec<Resource>>>;
    async fn get_resource(&self, id: &str) -> StoreResult<Option<Resource>>;
    /// Updates a resource's record (schema, findings, state) without touching its rows;
    /// bumps the generation.
    async fn update_resource(&self, resource: &Resource, audit: &NewAuditEntry) -> StoreResult<()>;
    /// Creates the empty table of a version about to be loaded (dropping a leftover one of a
    /// crashed load of the same version).
    async fn create_table(&self, table: &TableRef, columns: &[FieldType]) -> StoreResult<()>;
    /// Appends rows (`_id` and cells) to a table being loaded, in one transaction.
    async fn insert_rows(
        &self,
        table: &TableRef,
        columns: &[FieldType],
        rows: &[(i64, Vec<Cell>)],
    ) -> StoreResult<()>;
    /// Copies every row of `from` into `to`, column `i` of `to` taken from column
    /// `source_columns[i]` of `from` (an append starts from the published rows; removing a
    /// column copies the others).
    async fn copy_rows(
        &self,
        from: &TableRef,
        to: &TableRef,
        source_columns: &[usize],
    ) -> StoreResult<()>;
    /// Indexes a loaded table for filters and sorting.
    async fn index_table(&self, table: &TableRef, columns: &[FieldType]) -> StoreResult<()>;
    /// Drops a table (a failed load's, or a replaced version's).
    async fn drop_table(&self, table: &TableRef) -> StoreResult<()>;
    /// In one transaction: stores the resource (new, or at its new version), bumps the
    /// dataset's `modified_at` and the generation, appends `audit`; then drops the table of
    /// `replaced` (the previous version), if any.
    async fn commit_load(
        &self,
        resource: &Resource,
        created: bool,
        replaced: Option<&TableRef>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    /// Reads rows of a table.
    async fn query_rows(
        &self,
        table: &TableRef,
        columns: &[FieldType],
        query: &RowQuery,
    ) -> StoreResult<RowPage>;
    /// Grants (or changes) a role; `None` revokes it. Appends `audit`.
    async fn set_member(
        &self,
        organization: &OrganizationFiscalCode,
        delegate_id: &str,
        role: Option<Role>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    async fn member_role(
        &self,
        organization: &OrganizationFiscalCode,
        delegate_id: &str,
    ) -> StoreResult<Option<Role>>;
    async fn list_members(&self, organization: &OrganizationFiscalCode)
    -> StoreResult<Vec<Member>>;
    /// Counts one use by one visitor (an opaque daily hash) on `day`, once per (dataset,
    /// kind, visitor, day); forgets visitor hashes of earlier days. Whether it counted.
    async fn record_use(
        &self,
        dataset_id: &str,
        kind: UseKind,
        visitor: &str,
        day: NaiveDate,
    ) -> StoreResult<bool>;
    /// Views and API reads of each dataset (downloads separately), as of `today`.
    async fn tracking(
        &self,
        dataset_ids: &[String],
        today: NaiveDate,
    ) -> StoreResult<HashMap<String, (Tracking, Tracking)>>;
    /// Changes with every write that alters what the catalogue shows.
    async fn catalogue_generation(&self) -> StoreResult<i64>;
    /// The installation's random secret for visitor keys.
    async fn visitor_salt(&self) -> StoreResult<String>;
}

/// A series of monthly statistics: the dataset an ente's figures of one kind go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatSeries {
    pub organization: OrganizationFiscalCode,
    pub kind: StatKind,
    pub dataset_id: String,
    /// The resource holding the CSV, once loaded.
    pub resource_id: Option<String>,
    pub policy: Policy,
}

/// A service of the ente and the messages it delivered in a month, each citizen's counted at
/// most the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCount {
    pub service_id: String,
    pub name: String,
    pub topic_id: Option<i64>,
    pub messages: u64,
}

/// What the monthly statistics read from the platform's own data, and where their releases
/// are kept.
#[async_trait::async_trait]
pub trait PlatformStatistics: Send + Sync + 'static {
    /// Every service of `organization` created before `to`, with its PROCESSED messages
    /// created in `[from, to)`:
    /// per citizen, only the `cap` earliest of the month across the ente's services count.
    async fn message_counts(
        &self,
        organization: &OrganizationFiscalCode,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: u32,
    ) -> StoreResult<Vec<ServiceCount>>;
    /// Every taxonomy category of `organization`'s debt positions inserted before `to` (each
    /// option's first transfer), with the applied receipts received in `[from, to)` for an option of that
    /// category: per payer (the citizen, else the receipt), only the `cap` earliest count.
    async fn payment_counts(
        &self,
        organization: &OrganizationFiscalCode,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: u32,
    ) -> StoreResult<Vec<(String, u64)>>;
    async fn stat_series(
        &self,
        organization: &OrganizationFiscalCode,
        kind: StatKind,
    ) -> StoreResult<Option<StatSeries>>;
    /// Stores a new series or updates its resource and policy.
    async fn save_stat_series(&self, series: &StatSeries) -> StoreResult<()>;
    /// The releases of a dataset, oldest first.
    async fn stat_releases(&self, dataset_id: &str) -> StoreResult<Vec<StatRelease>>;
    /// Stores a month's release unless one exists for that dataset and month (then the stored
    /// one stays: noise is drawn once). Appends `audit` when stored. Whether it was stored.
    async fn insert_stat_release(
        &self,
        release: &StatRelease,
        audit: &NewAuditEntry,
    ) -> StoreResult<bool>;
    /// Marks a release as shown by the resource.
    async fn mark_stat_release_loaded(&self, dataset_id: &str, period: Period) -> StoreResult<()>;
}

/// A resource kept up to date from a URL: fetched every `every_hours`, loaded as a new version
/// when the content changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pull {
    pub id: String,
    pub dataset_id: String,
    /// The resource it loads into, once the first fetch loaded.
    pub resource_id: Option<String>,
    /// The new resource's name.
    pub name: String,
    pub url: String,
    /// The format to read; `None`: from the answer's `Content-Type`.
    pub format: Option<InputFormat>,
    pub every_hours: u32,
    pub next_at: DateTime<Utc>,
    pub last_at: Option<DateTime<Utc>>,
    /// `loaded`, `unchanged`, `blocked` (personal data to resolve) or `failed`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    /// SHA-256 of the last content fetched, to skip an unchanged file.
    #[serde(skip)]
    pub last_sha256: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Scheduled pulls of resources from URLs.
#[async_trait::async_trait]
pub trait OpenDataPulls: Send + Sync + 'static {
    async fn create_pull(&self, pull: &Pull, audit: &NewAuditEntry) -> StoreResult<()>;
    async fn get_pull(&self, id: &str) -> StoreResult<Option<Pull>>;
    async fn pulls_of(&self, dataset_id: &str) -> StoreResult<Vec<Pull>>;
    /// Removes a pull (its resource stays). Whether it existed.
    async fn delete_pull(&self, id: &str, audit: &NewAuditEntry) -> StoreResult<bool>;
    /// Pulls due at `now`, soonest first.
    async fn due_pulls(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Pull>>;
    /// Takes a due pull for a run: moves its `next_at` from `seen` to `until` (a lease) only if
    /// nobody else did. Whether this caller got it.
    async fn claim_pull(
        &self,
        id: &str,
        seen: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Stores a run's outcome (resource, last_*, next_at).
    async fn save_pull_run(&self, pull: &Pull) -> StoreResult<()>;
}

/// What a fetch brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: u64,
    /// The answer's media type (essence, lower case), if it gave one.
    pub media_type: Option<String>,
}

/// Fetches a URL an editor chose into a file, at most `max_bytes`, only to destinations the
/// installation's outbound policy allows. The error says what failed (host, status), never
/// the URL's path or query.
#[async_trait::async_trait]
pub trait UrlFetcher: Send + Sync + 'static {
    async fn fetch(
        &self,
        url: &str,
        max_bytes: u64,
        into: &std::path::Path,
    ) -> Result<Fetched, String>;
}

/// Every port the open-data domain uses.
pub trait OpenDataStore:
    Health + Organizations + AuditLog + OpenData + PlatformStatistics + OpenDataPulls
{
}

impl<T> OpenDataStore for T where
    T: Health + Organizations + AuditLog + OpenData + PlatformStatistics + OpenDataPulls
{
}
