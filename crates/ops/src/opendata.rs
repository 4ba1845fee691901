//! Open data: who may do what in an organization's catalogue (roles), datasets and their
//! metadata, loading a resource (two passes over the spooled upload: analysis — schema,
//! quality report, personal data — then the typed rows into a new version's table, published
//! in one step or not at all), resolving personal-data findings, publishing, reading rows, and
//! counting use.

use std::path::Path;

use chrono::NaiveDate;
use kernel::Clock;
use kernel::audit::NewAuditEntry;
use kernel::organization::{Delegate, DelegateRole};
use kernel::values::OrganizationFiscalCode;
use opendata::ingest::{self, Options, Plan, PlanColumn};
use opendata::model::{
    Agent, Cell, Dataset, DatasetState, FieldType, InputFormat, PiiAction, PiiFinding,
    PiiResolution, Resource, ResourceState, TableSchema,
};
use opendata::ports::{
    DatasetFilter, Member, OpenDataStore, Role, RowPage, RowQuery, TableRef, UseKind, column_types,
};
use serde_json::json;

use crate::{Error, Result};

/// What the open-data use cases work with.
#[derive(Clone, Copy)]
pub struct OdContext<'a> {
    pub store: &'a dyn OpenDataStore,
    pub clock: &'a dyn Clock,
}

/// Rows handed to the store per insert.
const LOAD_BATCH: usize = 4_096;

fn audit(cx: &OdContext<'_>, actor: &Delegate, action: &str, subject: &str) -> NewAuditEntry {
    audit_as(cx, &format!("delegate:{}", actor.id), action, subject)
}

/// An audit entry by `actor` (`delegate:<id>`, or the platform's own jobs: `system:<job>`).
pub(crate) fn audit_as(
    cx: &OdContext<'_>,
    actor: &str,
    action: &str,
    subject: &str,
) -> NewAuditEntry {
    NewAuditEntry {
        at: cx.clock.now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail: json!({}),
    }
}

fn store_err(e: kernel::ports::StoreError) -> Error {
    Error::from(e)
}

/// The role `delegate` holds in `organization`'s open data: an explicit grant, else by the
/// delegate's own record (its organization's administrative delegates are admins, technical
/// ones editors); `None` outside.
pub async fn role_of(
    cx: &OdContext<'_>,
    delegate: &Delegate,
    organization: &OrganizationFiscalCode,
) -> Result<Option<Role>> {
    if let Some(role) = cx
        .store
        .member_role(organization, &delegate.id)
        .await
        .map_err(store_err)?
    {
        return Ok(Some(role));
    }
    if delegate.organization_fiscal_code == *organization {
        return Ok(Some(match delegate.role {
            DelegateRole::Administrative => Role::Admin,
            DelegateRole::Technical => Role::Editor,
        }));
    }
    Ok(None)
}

async fn require(
    cx: &OdContext<'_>,
    delegate: &Delegate,
    organization: &OrganizationFiscalCode,
    needed: Role,
) -> Result<Role> {
    match role_of(cx, delegate, organization).await? {
        Some(r) if r >= needed => Ok(r),
        _ => Err(Error::forbidden(
            "Forbidden",
            format!(
                "This manage key's delegate is not {} of this organization's open data.",
                match needed {
                    Role::Viewer => "a member",
                    Role::Editor => "an editor",
                    Role::Admin => "an admin",
                }
            ),
        )),
    }
}

/// Grants, changes or (with `None`) revokes a delegate's role; admins only. Audited.
pub async fn set_member(
    cx: &OdContext<'_>,
    actor: &Delegate,
    organization: &OrganizationFiscalCode,
    delegate_id: &str,
    role: Option<Role>,
) -> Result<Vec<Member>> {
    require(cx, actor, organization, Role::Admin).await?;
    let known = cx
        .store
        .list_delegates(None)
        .await
        .map_err(store_err)?
        .into_iter()
        .any(|d| d.id == delegate_id);
    if !known {
        return Err(Error::not_found(
            "Delegate not found",
            "No delegate has this id.",
        ));
    }
    let mut entry = audit(cx, actor, "opendata.member.set", organization.as_str());
    entry.detail = json!({"delegate_id": delegate_id, "role": role.map(Role::as_str)});
    cx.store
        .set_member(organization, delegate_id, role, cx.clock.now(), &entry)
        .await
        .map_err(store_err)?;
    cx.store.list_members(organization).await.map_err(store_err)
}

/// Creates a dataset (a draft) of `organization` from the API's JSON metadata.
pub async fn create_dataset(
    cx: &OdContext<'_>,
    actor: &Delegate,
    organization: &OrganizationFiscalCode,
    body: &serde_json::Value,
) -> Result<Dataset> {
    let org = cx
        .store
        .get_organization(organization)
        .await
        .map_err(store_err)?
        .ok_or_else(|| {
            Error::not_found(
                "Organization not found",
                "No organization has this fiscal code.",
            )
        })?;
    require(cx, actor, organization, Role::Editor).await?;
    let meta = opendata::meta::parse(body).map_err(Error::invalid)?;
    create_dataset_as(cx, &format!("delegate:{}", actor.id), &org, meta).await
}

/// Creates a draft dataset of `org` on behalf of `actor` (authorization already checked).
pub(crate) async fn create_dataset_as(
    cx: &OdContext<'_>,
    actor: &str,
    org: &kernel::organization::Organization,
    meta: opendata::model::DatasetMeta,
) -> Result<Dataset> {
    let now = cx.clock.now();
    let id = ulid::Ulid::new().to_string();
    let agent_id = org
        .ipa_code
        .clone()
        .unwrap_or_else(|| org.fiscal_code.as_str().to_owned());
    let dataset = Dataset {
        identifier: format!("{agent_id}:{id}"),
        id,
        publisher: Agent {
            organization: org.fiscal_code.clone(),
            identifier: agent_id,
            name: org.name.clone(),
        },
        meta,
        state: DatasetState::Draft,
        created_at: now,
        modified_at: now,
        published_at: None,
    };
    cx.store
        .create_dataset(
            &dataset,
            &audit_as(cx, actor, "opendata.dataset.create", &dataset.id),
        )
        .await
        .map_err(store_err)?;
    Ok(dataset)
}

/// The dataset and its resources as `viewer` may see them: published ones to everybody,
/// drafts to the organization's members.
pub async fn dataset_for(
    cx: &OdContext<'_>,
    viewer: Option<&Delegate>,
    id: &str,
) -> Result<(Dataset, Vec<Resource>)> {
    let not_found = || Error::not_found("Dataset not found", "No dataset has this id.");
    let d = cx
        .store
        .get_dataset(id)
        .await
        .map_err(store_err)?
        .ok_or_else(not_found)?;
    if d.state != DatasetState::Published {
        let member = match viewer {
            Some(v) => role_of(cx, v, &d.publisher.organization).await?.is_some(),
            None => false,
        };
        if !member {
            return Err(not_found());
        }
    }
    let resources = cx
        .store
        .resources_of(std::slice::from_ref(&d.id))
        .await
        .map_err(store_err)?
        .remove(&d.id)
        .unwrap_or_default();
    Ok((d, resources))
}

pub(crate) async fn editable(cx: &OdContext<'_>, actor: &Delegate, id: &str) -> Result<Dataset> {
    let (d, _) = dataset_for(cx, Some(actor), id).await?;
    require(cx, actor, &d.publisher.organization, Role::Editor).await?;
    Ok(d)
}

/// Replaces a dataset's metadata (the same JSON as at creation).
pub async fn update_dataset(
    cx: &OdContext<'_>,
    actor: &Delegate,
    id: &str,
    body: &serde_json::Value,
) -> Result<Dataset> {
    let mut d = editable(cx, actor, id).await?;
    d.meta = opendata::meta::parse(body).map_err(Error::invalid)?;
    d.modified_at = cx.clock.now();
    cx.store
        .update_dataset(&d, &audit(cx, actor, "opendata.dataset.update", &d.id))
        .await
        .map_err(store_err)?;
    Ok(d)
}

/// A finding still blocking publication: its column has no resolution.
pub fn unresolved(r: &Resource) -> Vec<&PiiFinding> {
    r.findings
        .iter()
        .filter(|f| !r.resolutions.iter().any(|x| x.column == f.column))
        .collect()
}

fn state_of(r: &Resource) -> ResourceState {
    if unresolved(r).is_empty() {
        ResourceState::Ready
    } else {
        ResourceState::Blocked
    }
}

/// Publishes a dataset: `Ok(Err(blocking))` lists the resources' unresolved findings, and
/// a dataset without a ready resource cannot be published either (DCAT-AP_IT: an open
/// dataset has at least one distribution).
pub async fn publish(
    cx: &OdContext<'_>,
    actor: &Delegate,
    id: &str,
) -> Result<std::result::Result<Dataset, Vec<(String, PiiFinding)>>> {
    let d = editable(cx, actor, id).await?;
    publish_as(cx, &format!("delegate:{}", actor.id), d).await
}

/// [`publish`] on behalf of `actor` (authorization already checked).
pub(crate) async fn publish_as(
    cx: &OdContext<'_>,
    actor: &str,
    mut d: Dataset,
) -> Result<std::result::Result<Dataset, Vec<(String, PiiFinding)>>> {
    let resources = cx
        .store
        .resources_of(std::slice::from_ref(&d.id))
        .await
        .map_err(store_err)?
        .remove(&d.id)
        .unwrap_or_default();
    let blocking: Vec<(String, PiiFinding)> = resources
        .iter()
        .flat_map(|r| unresolved(r).into_iter().map(|f| (r.id.clone(), f.clone())))
        .collect();
    if !blocking.is_empty() {
        return Ok(Err(blocking));
    }
    if resources.is_empty() {
        return Err(Error::Conflict(
            "the dataset has no resource: upload one before publishing (DCAT-AP_IT requires a \
             distribution)"
                .into(),
        ));
    }
    let now = cx.clock.now();
    if d.state != DatasetState::Published {
        d.state = DatasetState::Published;
        d.published_at = Some(now);
        d.modified_at = now;
        cx.store
            .update_dataset(&d, &audit_as(cx, actor, "opendata.dataset.publish", &d.id))
            .await
            .map_err(store_err)?;
    }
    Ok(Ok(d))
}

/// How an upload changes a dataset's resources.
#[derive(Debug, Clone)]
pub enum LoadMode {
    /// A new resource with this name.
    New(String),
    /// A new version of the resource replacing all its rows.
    Replace(String),
    /// A new version with the published rows and the uploaded ones after them (same columns).
    Append(String),
}

/// An upload spooled to a file by the adapter.
#[derive(Debug, Clone)]
pub struct Upload<'a> {
    pub path: &'a Path,
    pub byte_size: u64,
    pub format: InputFormat,
    pub media_type: String,
    pub mode: LoadMode,
}

/// The plan of a load: every column of the analysis, except those an earlier resolution
/// removed; masked ones masked again.
fn plan_after(schema: &TableSchema, resolutions: &[PiiResolution]) -> Plan {
    let columns = schema
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            !resolutions
                .iter()
                .any(|r| r.column == f.name && r.action == PiiAction::Removed)
        })
        .map(|(i, f)| {
            let mask = resolutions
                .iter()
                .any(|r| r.column == f.name && r.action == PiiAction::Masked);
            let mut field = f.clone();
            if mask {
                field.field_type = FieldType::String;
            }
            PlanColumn {
                source_index: i,
                field,
                mask,
            }
        })
        .collect();
    Plan { columns }
}

fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = Result<T>> {
    let handle = tokio::task::spawn_blocking(f);
    async move {
        handle
            .await
            .map_err(|e| Error::Internal(format!("ingestion task: {e}")))
    }
}

fn ingest_refusal(e: &ingest::IngestError) -> Error {
    Error::unprocessable(format!("the file cannot be loaded as a table: {e}"))
}

/// Loads an upload: analyses it (schema, quality report, personal data), writes its rows into
/// a new version's table and publishes that version in one step; on any failure the previous
/// version stays as it was and the new table is dropped.
pub async fn load_resource(
    cx: &OdContext<'_>,
    actor: &Delegate,
    dataset_id: &str,
    upload: Upload<'_>,
) -> Result<Resource> {
    let d = editable(cx, actor, dataset_id).await?;
    load_into(cx, &format!("delegate:{}", actor.id), d, upload).await
}

/// [`load_resource`] into `d` on behalf of `actor` (authorization already checked).
pub(crate) async fn load_into(
    cx: &OdContext<'_>,
    actor: &str,
    d: Dataset,
    upload: Upload<'_>,
) -> Result<Resource> {
    let previous = match &upload.mode {
        LoadMode::New(_) => None,
        LoadMode::Replace(rid) | LoadMode::Append(rid) => {
            let r = cx
                .store
                .get_resource(rid)
                .await
                .map_err(store_err)?
                .filter(|r| r.dataset_id == d.id)
                .ok_or_else(|| {
                    Error::not_found(
                        "Resource not found",
                        "This dataset has no resource with this id.",
                    )
                })?;
            Some(r)
        }
    };
    let append = matches!(upload.mode, LoadMode::Append(_));
    let mut opts = Options {
        format: upload.format,
        sheets: Some(sheet::open),
        ..Options::default()
    };
    if append && let Some(p) = &previous {
        // The appended rows must fit the published columns: the uploaded file has the columns
        // of the original analysis (before any removal), so check against that.
        opts.schema = Some(p.quality_schema());
    }
    let path = upload.path.to_owned();
    let analysis = {
        let (path, opts) = (path.clone(), opts.clone());
        blocking(move || {
            let file = std::fs::File::open(&path)
                .map_err(|e| Error::Internal(format!("open spooled upload: {e}")))?;
            ingest::analyze(std::io::BufReader::with_capacity(1 << 20, file), &opts)
                .map_err(|e| ingest_refusal(&e))
        })
        .await??
    };
    let now = cx.clock.now();
    let resolutions = previous
        .as_ref()
        .map(|p| p.resolutions.clone())
        .unwrap_or_default();
    let plan = plan_after(&analysis.schema, &resolutions);
    let schema = plan.schema();
    let columns = column_types(&schema);
    if append
        && let Some(p) = &previous
        && column_types(&p.schema) != columns
    {
        return Err(Error::unprocessable(
            "an append must have the columns of the published version, with the same types",
        ));
    }
    let id = previous
        .as_ref()
        .map_or_else(|| ulid::Ulid::new().to_string(), |p| p.id.clone());
    let version = previous.as_ref().map_or(1, |p| p.version + 1);
    let table = TableRef {
        resource_id: id.clone(),
        version,
    };
    cx.store
        .create_table(&table, &columns)
        .await
        .map_err(store_err)?;
    let result = write_rows(
        cx,
        &table,
        &columns,
        &path,
        &opts,
        &plan,
        previous.as_ref(),
        append,
    )
    .await;
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            let _ = cx.store.drop_table(&table).await;
            return Err(e);
        }
    };
    let mut quality = analysis.quality;
    if append && let Some(p) = &previous {
        quality.row_count += p.quality.row_count;
    }
    debug_assert_eq!(rows, quality.row_count);
    let name = match &upload.mode {
        LoadMode::New(n) => n.clone(),
        _ => previous
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default(),
    };
    let mut findings = analysis.findings;
    if append && let Some(p) = &previous {
        for f in &p.findings {
            if !findings
                .iter()
                .any(|x| x.column == f.column && x.kind == f.kind)
            {
                findings.push(f.clone());
            }
        }
    }
    let mut resource = Resource {
        id: id.clone(),
        dataset_id: d.id.clone(),
        name,
        format: opendata::vocab::file_type(upload.format.code())
            .ok_or_else(|| Error::Internal("file type vocabulary lacks an upload format".into()))?,
        media_type: upload.media_type,
        byte_size: upload.byte_size,
        version,
        schema,
        quality,
        findings,
        state: ResourceState::Blocked,
        resolutions,
        created_at: previous.as_ref().map_or(now, |p| p.created_at),
        modified_at: now,
    };
    resource.state = state_of(&resource);
    if let Err(e) = cx.store.index_table(&table, &columns).await {
        let _ = cx.store.drop_table(&table).await;
        return Err(store_err(e));
    }
    let replaced = previous.as_ref().map(|p| TableRef {
        resource_id: p.id.clone(),
        version: p.version,
    });
    let mut entry = audit_as(cx, actor, "opendata.resource.load", &id);
    entry.detail = json!({"dataset_id": d.id, "version": version, "rows": rows,
        "mode": match upload.mode { LoadMode::New(_) => "new", LoadMode::Replace(_) => "replace", LoadMode::Append(_) => "append" }});
    if let Err(e) = cx
        .store
        .commit_load(&resource, previous.is_none(), replaced.as_ref(), &entry)
        .await
    {
        let _ = cx.store.drop_table(&table).await;
        return Err(store_err(e));
    }
    Ok(resource)
}

trait QualitySchema {
    /// The schema of every column the file had (before removals), from the quality report.
    fn quality_schema(&self) -> TableSchema;
}

impl QualitySchema for Resource {
    fn quality_schema(&self) -> TableSchema {
        TableSchema {
            fields: self
                .quality
                .columns
                .iter()
                .map(|c| opendata::model::Field {
                    name: c.name.clone(),
                    field_type: c.field_type,
                    description: None,
                    rdf_property: None,
                    decimal_char: None,
                })
                .collect(),
            primary_key: self.schema.primary_key.clone(),
        }
    }
}

/// The rows of the new version: the published ones first for an append, then the file's.
#[allow(clippy::too_many_arguments)]
async fn write_rows(
    cx: &OdContext<'_>,
    table: &TableRef,
    columns: &[FieldType],
    path: &Path,
    opts: &Options,
    plan: &Plan,
    previous: Option<&Resource>,
    append: bool,
) -> Result<u64> {
    let mut base = 0i64;
    if append && let Some(p) = previous {
        let from = TableRef {
            resource_id: p.id.clone(),
            version: p.version,
        };
        let all: Vec<usize> = (0..columns.len()).collect();
        cx.store
            .copy_rows(&from, table, &all)
            .await
            .map_err(store_err)?;
        base = i64::try_from(p.quality.row_count).unwrap_or(i64::MAX);
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(i64, Vec<Cell>)>>(4);
    let (path, opts, plan) = (path.to_owned(), opts.clone(), plan.clone());
    let reader = blocking(move || {
        let file = std::fs::File::open(&path)
            .map_err(|e| Error::Internal(format!("open spooled upload: {e}")))?;
        let mut batch = Vec::with_capacity(LOAD_BATCH);
        let mut next = base;
        let outcome = ingest::load(
            std::io::BufReader::with_capacity(1 << 20, file),
            &opts,
            &plan,
            |_, cells: &[Cell]| {
                next += 1;
                batch.push((next, cells.to_vec()));
                if batch.len() >= LOAD_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(LOAD_BATCH));
                    tx.blocking_send(full).map_err(|_| ())?;
                }
                Ok::<(), ()>(())
            },
        );
        match outcome {
            Ok(n) => {
                if !batch.is_empty() {
                    let _ = tx.blocking_send(batch);
                }
                Ok(n)
            }
            Err(ingest::LoadError::Ingest(e)) => Err(ingest_refusal(&e)),
            // The writer stopped (it failed and says why).
            Err(ingest::LoadError::Sink(())) => Ok(0),
        }
    });
    let mut written = 0u64;
    let mut failure = None;
    while let Some(batch) = rx.recv().await {
        if let Err(e) = cx.store.insert_rows(table, columns, &batch).await {
            failure = Some(store_err(e));
            break;
        }
        written += batch.len() as u64;
    }
    drop(rx);
    let read = reader.await?;
    if let Some(e) = failure {
        return Err(e);
    }
    read?;
    Ok(written + u64::try_from(base).unwrap_or(0))
}

/// What an editor does about a column with personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolve {
    Remove,
    Mask,
    Justify(String),
}

/// Resolves a finding: removes or masks the column (a new version of the table, written
/// completely before it replaces the old one) or records why it stays. Audited.
pub async fn resolve(
    cx: &OdContext<'_>,
    actor: &Delegate,
    resource_id: &str,
    column: &str,
    how: Resolve,
) -> Result<Resource> {
    let mut r = cx
        .store
        .get_resource(resource_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| Error::not_found("Resource not found", "No resource has this id."))?;
    editable(cx, actor, &r.dataset_id).await?;
    let Some(index) = r.schema.fields.iter().position(|f| f.name == column) else {
        return Err(Error::invalid_field(
            "column",
            format!("the resource has no column named \"{column}\""),
        ));
    };
    let action = match &how {
        Resolve::Remove => PiiAction::Removed,
        Resolve::Mask => PiiAction::Masked,
        Resolve::Justify(reason) => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > 2_000 {
                return Err(Error::invalid_field(
                    "reason",
                    "a justification needs a reason of 1 to 2,000 characters",
                ));
            }
            PiiAction::Justified
        }
    };
    let now = cx.clock.now();
    let old = TableRef {
        resource_id: r.id.clone(),
        version: r.version,
    };
    let mut replaced = None;
    if action != PiiAction::Justified {
        let mut schema = r.schema.clone();
        let new = TableRef {
            resource_id: r.id.clone(),
            version: r.version + 1,
        };
        let source: Vec<usize>;
        if action == PiiAction::Removed {
            schema.fields.remove(index);
            schema.primary_key.retain(|k| k != column);
            source = (0..r.schema.fields.len()).filter(|i| *i != index).collect();
        } else {
            schema.fields[index].field_type = FieldType::String;
            source = (0..r.schema.fields.len()).collect();
        }
        let columns = column_types(&schema);
        cx.store
            .create_table(&new, &columns)
            .await
            .map_err(store_err)?;
        let copied = if action == PiiAction::Removed {
            cx.store
                .copy_rows(&old, &new, &source)
                .await
                .map_err(store_err)
        } else {
            mask_copy(cx, &r, &old, &new, index, &columns).await
        };
        if let Err(e) = copied {
            let _ = cx.store.drop_table(&new).await;
            return Err(e);
        }
        if let Err(e) = cx.store.index_table(&new, &columns).await {
            let _ = cx.store.drop_table(&new).await;
            return Err(store_err(e));
        }
        r.schema = schema;
        r.version = new.version;
        replaced = Some(old);
    }
    r.resolutions.retain(|x| x.column != column);
    r.resolutions.push(PiiResolution {
        column: column.to_owned(),
        action,
        reason: match how {
            Resolve::Justify(reason) => Some(reason.trim().to_owned()),
            _ => None,
        },
        by: actor.id.clone(),
        at: now,
    });
    r.state = state_of(&r);
    r.modified_at = now;
    let mut entry = audit(cx, actor, "opendata.resource.resolve", &r.id);
    entry.detail = json!({"column": column, "action": action});
    cx.store
        .commit_load(&r, false, replaced.as_ref(), &entry)
        .await
        .map_err(store_err)?;
    Ok(r)
}

/// Copies a table masking one column, page by page.
async fn mask_copy(
    cx: &OdContext<'_>,
    r: &Resource,
    old: &TableRef,
    new: &TableRef,
    index: usize,
    new_columns: &[FieldType],
) -> Result<()> {
    let old_columns = column_types(&r.schema);
    let mut after = None;
    loop {
        let page = cx
            .store
            .query_rows(
                old,
                &old_columns,
                &RowQuery {
                    filters: Vec::new(),
                    sort: Vec::new(),
                    after_id: after,
                    offset: 0,
                    limit: LOAD_BATCH as u64,
                    include_total: false,
                    timeout_ms: 600_000,
                },
            )
            .await
            .map_err(store_err)?;
        let Some(last) = page.rows.last().map(|(id, _)| *id) else {
            return Ok(());
        };
        let rows: Vec<(i64, Vec<Cell>)> = page
            .rows
            .into_iter()
            .map(|(id, mut cells)| {
                if let Some(c) = cells.get_mut(index)
                    && *c != Cell::Null
                {
                    *c = Cell::Text(ingest::mask(&cell_text(c)));
                }
                (id, cells)
            })
            .collect();
        cx.store
            .insert_rows(new, new_columns, &rows)
            .await
            .map_err(store_err)?;
        after = Some(last);
    }
}

/// A cell as text (CSV, masking).
pub fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Null => String::new(),
        Cell::Integer(i) => i.to_string(),
        Cell::Number(n) => n.to_string(),
        Cell::Boolean(b) => b.to_string(),
        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        Cell::Text(s) => s.clone(),
    }
}

/// A resource whose rows `viewer` may read: a ready resource of a published dataset, or
/// any resource for the organization's members.
pub async fn readable_resource(
    cx: &OdContext<'_>,
    viewer: Option<&Delegate>,
    resource_id: &str,
) -> Result<(Dataset, Resource)> {
    let not_found = || Error::not_found("Resource not found", "No resource has this id.");
    let r = cx
        .store
        .get_resource(resource_id)
        .await
        .map_err(store_err)?
        .ok_or_else(not_found)?;
    let (d, _) = dataset_for(cx, viewer, &r.dataset_id)
        .await
        .map_err(|_| not_found())?;
    if r.state != ResourceState::Ready {
        let member = match viewer {
            Some(v) => role_of(cx, v, &d.publisher.organization).await?.is_some(),
            None => false,
        };
        if !member {
            return Err(not_found());
        }
    }
    Ok((d, r))
}

/// Reads rows of a resource's published version.
pub async fn query_rows(cx: &OdContext<'_>, r: &Resource, query: &RowQuery) -> Result<RowPage> {
    let table = TableRef {
        resource_id: r.id.clone(),
        version: r.version,
    };
    cx.store
        .query_rows(&table, &column_types(&r.schema), query)
        .await
        .map_err(|e| match e {
            kernel::ports::StoreError::Backend(m) if m.starts_with("timeout") => {
                Error::unprocessable(
                    "the query ran over its time limit: add a filter on an indexed column or \
                     ask for fewer rows",
                )
            }
            other => store_err(other),
        })
}

/// Counts a use of a published dataset by an opaque visitor key (already hashed by the
/// adapter with the day); once per visitor, kind and day.
pub async fn record_use(
    cx: &OdContext<'_>,
    dataset_id: &str,
    kind: UseKind,
    visitor: &str,
    day: NaiveDate,
) -> Result<bool> {
    cx.store
        .record_use(dataset_id, kind, visitor, day)
        .await
        .map_err(store_err)
}

/// Published datasets, for the catalogue and the search index: every one, with resources.
pub async fn published(
    cx: &OdContext<'_>,
    filter: &DatasetFilter,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<(Dataset, Vec<Resource>)>)> {
    let (total, list) = cx
        .store
        .list_datasets(filter, offset, limit)
        .await
        .map_err(store_err)?;
    let ids: Vec<String> = list.iter().map(|d| d.id.clone()).collect();
    let mut resources = cx.store.resources_of(&ids).await.map_err(store_err)?;
    Ok((
        total,
        list.into_iter()
            .map(|d| {
                let r = resources.remove(&d.id).unwrap_or_default();
                (d, r)
            })
            .collect(),
    ))
}
