//! The [`Positions`] port. A position is one row of `payment_positions`: its serde form in
//! `doc` (the storage form, parsed strictly on the way out) beside the columns that lookups,
//! filters and ordering need. Its notice numbers are rows of `payment_notices`, unique per ente
//! by IUV and by notice number (NAV); its history is `payment_history`, which outlives it.
//!
//! Conflict safety: every insert that may clash (`payment_positions`, `payment_notices`) is
//! `ON CONFLICT DO NOTHING … RETURNING`, so a clash — even with a concurrent writer on
//! PostgreSQL — is seen as a missing returned row and never aborts the transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use payments::model::{Position, PositionEvent, PositionId, PositionStatus};
use payments::values::Iupd;

use crate::prelude::*;

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Exclusive upper bound of a 13-digit IUV base.
const IUV_BASE_LIMIT: i64 = 10_000_000_000_000;

const READ_COLUMNS: &str = "id, version, doc";

/// A stored position: its `doc`, which must deserialize and agree with the row's id and
/// version; anything else is a corrupt row (the message names the table, never the content).
pub(super) fn position(row: &AnyRow) -> StoreResult<Position> {
    let corrupt_doc =
        || StoreError::Backend("a stored position in `payment_positions` does not parse".into());
    let p: Position = serde_json::from_str(&text(row, "doc")?).map_err(|_| corrupt_doc())?;
    if p.id.to_string() != text(row, "id")? || p.version != int(row, "version")? {
        return Err(corrupt_doc());
    }
    Ok(p)
}

fn event(row: &AnyRow) -> StoreResult<PositionEvent> {
    Ok(PositionEvent {
        at: at(row, "at")?,
        version: int(row, "version")?,
        action: text(row, "action")?,
        status: parsed_with(row, "status", PositionStatus::parse)?,
        detail: opt_text(row, "detail")?,
        actor: text(row, "actor")?,
    })
}

/// Placeholders of a statement built piece by piece, in ascending order: `$n` on PostgreSQL,
/// `?` on SQLite (never both in one statement).
pub(super) struct Placeholders {
    engine: Backend,
    used: usize,
}

impl Placeholders {
    fn new(engine: Backend) -> Self {
        Self { engine, used: 0 }
    }

    pub(super) fn next(&mut self) -> String {
        self.list(1)
    }

    fn list(&mut self, n: usize) -> String {
        let s = in_list_from(self.engine, self.used + 1, n);
        self.used += n;
        s
    }
}

/// A parameter of a built statement.
pub(super) enum Value {
    Text(String),
    Int(i64),
}

pub(super) fn bind_values<'q>(mut q: Query<'q>, values: &[Value]) -> Query<'q> {
    for v in values {
        q = match v {
            Value::Text(s) => q.bind(s.clone()),
            Value::Int(i) => q.bind(*i),
        };
    }
    q
}

/// The `WHERE` condition of GPD's list filters for the ente's positions (see
/// `list_positions`), its placeholders so far and their values.
pub(super) fn list_condition(
    engine: Backend,
    organization: &OrganizationFiscalCode,
    filter: &ListFilter,
) -> (Placeholders, String, Vec<Value>) {
    let mut ph = Placeholders::new(engine);
    let mut values = vec![Value::Text(organization.as_str().to_owned())];
    let mut cond = format!("organization = {}", ph.next());
    let ranges = [
        ("max_due_ms >=", filter.due_from),
        ("min_due_ms <=", filter.due_to),
        ("payment_ms >=", filter.paid_from),
        ("payment_ms <=", filter.paid_to),
    ];
    for (test, bound) in ranges {
        if let Some(t) = bound {
            cond.push_str(&format!(" AND {test} {}", ph.next()));
            values.push(Value::Int(ms(&t)));
        }
    }
    if !filter.statuses.is_empty() {
        cond.push_str(&format!(
            " AND status IN ({})",
            ph.list(filter.statuses.len())
        ));
        values.extend(
            filter
                .statuses
                .iter()
                .map(|s| Value::Text(s.as_str().to_owned())),
        );
    }
    if !filter.segregation_codes.is_empty() {
        let tests: Vec<String> = filter
            .segregation_codes
            .iter()
            .map(|c| {
                values.push(Value::Text(format!("%,{c},%")));
                format!("segregation LIKE {}", ph.next())
            })
            .collect();
        cond.push_str(&format!(" AND ({})", tests.join(" OR ")));
    }
    (ph, cond, values)
}

/// The serde form of a position (what `doc` holds).
fn doc_of(p: &Position) -> StoreResult<String> {
    serde_json::to_string(p)
        .map_err(|_| StoreError::Backend("a position does not serialize".into()))
}

/// The serde forms of the writes' positions, made before a write transaction begins.
pub(crate) fn docs_of(writes: &[PositionWrite]) -> StoreResult<Vec<String>> {
    writes.iter().map(|w| doc_of(&w.position)).collect()
}

/// `,01,02,`: the segregation codes of the position's (aux-3) notice numbers, for the filter.
fn segregation_of(p: &Position) -> String {
    let mut codes: Vec<u8> = p
        .options
        .iter()
        .filter_map(|o| o.segregation_code().map(|c| c.get()))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mut s = String::from(",");
    for c in codes {
        s.push_str(&format!("{c:02},"));
    }
    s
}

/// The citizen a position is linked to: its debtor, when a natural person.
fn citizen_of(p: &Position) -> Option<String> {
    p.debtor.code.person().map(|f| f.as_str().to_owned())
}

const INSERT_POSITION: &str = "INSERT INTO payment_positions (id, organization, iupd, status, \
    version, citizen, company_name, min_due_ms, max_due_ms, payment_ms, inserted_ms, \
    updated_ms, segregation, doc) VALUES";
const POSITION_COLS: usize = 14;

fn bind_position<'q>(q: Query<'q>, p: &Position, doc: String) -> Query<'q> {
    q.bind(p.id.to_string())
        .bind(p.organization.as_str().to_owned())
        .bind(p.iupd.as_str().to_owned())
        .bind(p.status.as_str())
        .bind(p.version)
        .bind(citizen_of(p))
        .bind(p.company_name.clone())
        .bind(p.min_due_date().map(|t| ms(&t)))
        .bind(p.max_due_date().map(|t| ms(&t)))
        .bind(p.payment_date.map(|t| ms(&t)))
        .bind(ms(&p.inserted_date))
        .bind(ms(&p.last_updated_date))
        .bind(segregation_of(p))
        .bind(doc)
}

/// Inserts the notices `(organization, iuv, nav, position id)`, skipping those whose IUV or
/// notice number is taken in the ente; returns how many of each position's went in.
async fn insert_notices(
    tx: &mut Tx<'_>,
    engine: Backend,
    notices: &[(&str, &str, &str, String)],
) -> StoreResult<HashMap<String, usize>> {
    let mut inserted: HashMap<String, usize> = HashMap::new();
    for chunk in notices.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO payment_notices (organization, iuv, nav, position_id) VALUES {} \
             ON CONFLICT DO NOTHING RETURNING position_id",
            values_list(engine, chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (org, iuv, nav, id) in chunk {
            q = q
                .bind((*org).to_owned())
                .bind((*iuv).to_owned())
                .bind((*nav).to_owned())
                .bind(id.clone());
        }
        for row in q.fetch_all(&mut **tx).await.map_err(backend)? {
            *inserted.entry(text(&row, "position_id")?).or_default() += 1;
        }
    }
    Ok(inserted)
}

/// Appends history lines `(position id, event)`.
async fn insert_events(
    tx: &mut Tx<'_>,
    engine: Backend,
    events: &[(String, &PositionEvent)],
) -> StoreResult<()> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO payment_history (position_id, at, version, action, status, detail, \
             actor) VALUES {}",
            values_list(engine, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for (id, e) in chunk {
            q = q
                .bind(id.clone())
                .bind(ms(&e.at))
                .bind(e.version)
                .bind(e.action.clone())
                .bind(e.status.as_str())
                .bind(e.detail.clone())
                .bind(e.actor.clone());
        }
        q.execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(())
}

/// Queues jobs `(job, created at)` in multi-row inserts (what `insert_job` writes, per row).
async fn insert_position_jobs(
    tx: &mut Tx<'_>,
    engine: Backend,
    jobs: &[(&PositionJob, DateTime<Utc>)],
) -> StoreResult<()> {
    for chunk in jobs.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO jobs (kind, subject_id, status, attempts, run_at, created_at) VALUES {}",
            values_list(engine, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (job, now) in chunk {
            q = q
                .bind(job.kind.as_str())
                .bind(job.subject_id.clone())
                .bind(JobStatus::Queued.as_str())
                .bind(0_i64)
                .bind(ms(&job.due_at))
                .bind(ms(now));
        }
        q.execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(())
}

/// Keys of the in-memory duplicate check: (organization, IUPD) and (organization, 'i' | 'n',
/// IUV or notice number).
type IupdKey = (String, String);
type NoticeKey = (String, char, String);

/// Whether a save rewrites the position's notice rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notices {
    Rewrite,
    Keep,
}

impl SqlStore {
    /// A write transaction. On SQLite it takes the write lock first (a no-op write), so that
    /// reading before writing never fails as a lock upgrade when another store writes the
    /// same file; the busy timeout then applies.
    pub(crate) async fn begin_write(&self) -> StoreResult<Tx<'static>> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        if self.backend == Backend::Sqlite {
            sqlx::query("UPDATE payment_iuv_counter SET next = next WHERE id = 0")
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        Ok(tx)
    }

    /// The IUPDs and notices of `writes` already stored, read in the caller's transaction.
    async fn taken(
        &self,
        tx: &mut Tx<'_>,
        writes: &[PositionWrite],
    ) -> StoreResult<(HashSet<IupdKey>, HashSet<NoticeKey>)> {
        #[derive(Default)]
        struct Keys<'a> {
            iupds: Vec<&'a str>,
            iuvs: Vec<&'a str>,
            navs: Vec<&'a str>,
        }
        let mut by_org: BTreeMap<&str, Keys<'_>> = BTreeMap::new();
        for w in writes {
            let k = by_org.entry(w.position.organization.as_str()).or_default();
            k.iupds.push(w.position.iupd.as_str());
            for o in &w.position.options {
                k.iuvs.push(&o.iuv);
                k.navs.push(o.nav.as_str());
            }
        }
        let mut iupds = HashSet::new();
        let mut notices = HashSet::new();
        for (org, keys) in by_org {
            for chunk in keys.iupds.chunks(INSERT_CHUNK) {
                let sql = format!(
                    "SELECT iupd FROM payment_positions WHERE organization = {} AND iupd IN ({})",
                    in_list_from(self.backend, 1, 1),
                    in_list_from(self.backend, 2, chunk.len())
                );
                // Not a prepared statement kept per connection: PostgreSQL would reuse the
                // generic plan it made while the table was small (a sequential scan), and a
                // bulk import slowed to a few hundred positions a second.
                let mut q = sqlx::query(&sql).persistent(false).bind(org.to_owned());
                for k in chunk {
                    q = q.bind((*k).to_owned());
                }
                for row in q.fetch_all(&mut **tx).await.map_err(backend)? {
                    iupds.insert((org.to_owned(), text(&row, "iupd")?));
                }
            }
            for (column, values) in [("iuv", &keys.iuvs), ("nav", &keys.navs)] {
                for chunk in values.chunks(INSERT_CHUNK) {
                    let sql = format!(
                        "SELECT iuv, nav FROM payment_notices WHERE organization = {} \
                         AND {column} IN ({})",
                        in_list_from(self.backend, 1, 1),
                        in_list_from(self.backend, 2, chunk.len())
                    );
                    let mut q = sqlx::query(&sql).persistent(false).bind(org.to_owned());
                    for k in chunk {
                        q = q.bind((*k).to_owned());
                    }
                    for row in q.fetch_all(&mut **tx).await.map_err(backend)? {
                        notices.insert((org.to_owned(), 'i', text(&row, "iuv")?));
                        notices.insert((org.to_owned(), 'n', text(&row, "nav")?));
                    }
                }
            }
        }
        Ok((iupds, notices))
    }

    /// [`Positions::create_positions`] inside the caller's transaction; `docs` are the
    /// writes' serde forms, made before the transaction began (on SQLite the single writer
    /// is held meanwhile).
    pub(crate) async fn create_in(
        &self,
        tx: &mut Tx<'_>,
        writes: &[PositionWrite],
        docs: Vec<String>,
    ) -> StoreResult<Vec<CreateOutcome>> {
        let mut docs: Vec<Option<String>> = docs.into_iter().map(Some).collect();
        let (mut iupds, mut notices) = self.taken(tx, writes).await?;
        // Decide in order against what is stored and what earlier writes of the group take.
        let mut outcomes = Vec::with_capacity(writes.len());
        for w in writes {
            let p = &w.position;
            let org = p.organization.as_str();
            let iupd = (org.to_owned(), p.iupd.as_str().to_owned());
            if iupds.contains(&iupd) {
                outcomes.push(CreateOutcome::DuplicateIupd);
                continue;
            }
            let mut own: Vec<NoticeKey> = Vec::with_capacity(p.options.len() * 2);
            let mut clash = false;
            for o in &p.options {
                for key in [
                    (org.to_owned(), 'i', o.iuv.clone()),
                    (org.to_owned(), 'n', o.nav.as_str().to_owned()),
                ] {
                    clash |= notices.contains(&key) || own.contains(&key);
                    own.push(key);
                }
            }
            if clash {
                outcomes.push(CreateOutcome::DuplicateNotice);
                continue;
            }
            iupds.insert(iupd);
            notices.extend(own);
            outcomes.push(CreateOutcome::Created);
        }
        // Insert in key order, so that concurrent PostgreSQL writers waiting on each other's
        // uncommitted keys wait in one order (no deadlock between two groups).
        let mut chosen: Vec<usize> = (0..writes.len())
            .filter(|i| outcomes[*i] == CreateOutcome::Created)
            .collect();
        chosen.sort_by(|a, b| {
            let (pa, pb) = (&writes[*a].position, &writes[*b].position);
            (pa.organization.as_str(), pa.iupd.as_str())
                .cmp(&(pb.organization.as_str(), pb.iupd.as_str()))
        });
        let ids: Vec<String> = writes.iter().map(|w| w.position.id.to_string()).collect();
        let mut stored: HashSet<String> = HashSet::with_capacity(chosen.len());
        for chunk in chosen.chunks(INSERT_CHUNK) {
            let sql = format!(
                "{INSERT_POSITION} {} ON CONFLICT DO NOTHING RETURNING id",
                values_list(self.backend, chunk.len(), POSITION_COLS)
            );
            let mut q = sqlx::query(&sql);
            for i in chunk {
                let doc = docs[*i].take().unwrap_or_default();
                q = bind_position(q, &writes[*i].position, doc);
            }
            for row in q.fetch_all(&mut **tx).await.map_err(backend)? {
                stored.insert(text(&row, "id")?);
            }
        }
        // Not inserted although free when read: a concurrent writer took the IUPD.
        chosen.retain(|i| {
            let ok = stored.contains(&ids[*i]);
            if !ok {
                outcomes[*i] = CreateOutcome::DuplicateIupd;
            }
            ok
        });
        let mut rows: Vec<(&str, &str, &str, String)> = chosen
            .iter()
            .flat_map(|i| {
                let p = &writes[*i].position;
                p.options.iter().map(|o| {
                    (
                        p.organization.as_str(),
                        o.iuv.as_str(),
                        o.nav.as_str(),
                        ids[*i].clone(),
                    )
                })
            })
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let inserted = insert_notices(tx, self.backend, &rows).await?;
        // A notice a concurrent writer took: that position is taken out again, whole.
        let (kept, lost): (Vec<usize>, Vec<usize>) = chosen.into_iter().partition(|i| {
            inserted.get(&ids[*i]).copied().unwrap_or(0) == writes[*i].position.options.len()
        });
        for chunk in lost.chunks(INSERT_CHUNK) {
            for table in [
                "payment_notices WHERE position_id",
                "payment_positions WHERE id",
            ] {
                let sql = format!(
                    "DELETE FROM {table} IN ({})",
                    in_list(self.backend, chunk.len())
                );
                let mut q = sqlx::query(&sql);
                for i in chunk {
                    q = q.bind(ids[*i].clone());
                }
                q.execute(&mut **tx).await.map_err(backend)?;
            }
            for i in chunk {
                outcomes[*i] = CreateOutcome::DuplicateNotice;
            }
        }
        let events: Vec<(String, &PositionEvent)> = kept
            .iter()
            .flat_map(|i| writes[*i].event.iter().map(|e| (ids[*i].clone(), e)))
            .collect();
        insert_events(tx, self.backend, &events).await?;
        let jobs: Vec<(&PositionJob, DateTime<Utc>)> = kept
            .iter()
            .flat_map(|i| {
                let w = &writes[*i];
                w.jobs.iter().map(|j| (j, w.position.last_updated_date))
            })
            .collect();
        insert_position_jobs(tx, self.backend, &jobs).await?;
        Ok(outcomes)
    }

    /// [`Positions::save_position`] inside the caller's transaction (`Notices::Keep` when the
    /// change cannot touch the notice numbers, as a payment: their rows stay as they are) (the receipt that pays the
    /// position is written in the same one).
    pub(crate) async fn save_position_in(
        &self,
        tx: &mut Tx<'_>,
        write: &PositionWrite,
        expected_version: i64,
        also: Option<&PositionWrite>,
        notices: Notices,
    ) -> StoreResult<()> {
        let p = &write.position;
        let id = p.id.to_string();
        let doc = doc_of(p)?;
        let also_doc = also.map(|a| doc_of(&a.position)).transpose()?;
        let r = sqlx::query(
            "UPDATE payment_positions SET status = $1, version = $2, \
             citizen = CASE WHEN citizen_unlinked = 0 THEN $3 ELSE NULL END, company_name = $4, \
             min_due_ms = $5, max_due_ms = $6, payment_ms = $7, inserted_ms = $8, \
             updated_ms = $9, segregation = $10, doc = $11 \
             WHERE id = $12 AND version = $13 AND organization = $14 AND iupd = $15",
        )
        .bind(p.status.as_str())
        .bind(p.version)
        .bind(citizen_of(p))
        .bind(p.company_name.clone())
        .bind(p.min_due_date().map(|t| ms(&t)))
        .bind(p.max_due_date().map(|t| ms(&t)))
        .bind(p.payment_date.map(|t| ms(&t)))
        .bind(ms(&p.inserted_date))
        .bind(ms(&p.last_updated_date))
        .bind(segregation_of(p))
        .bind(doc)
        .bind(id.clone())
        .bind(expected_version)
        .bind(p.organization.as_str().to_owned())
        .bind(p.iupd.as_str().to_owned())
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
        if r.rows_affected() == 0 {
            let exists = sqlx::query("SELECT version FROM payment_positions WHERE id = $1")
                .bind(id.clone())
                .fetch_optional(&mut **tx)
                .await
                .map_err(backend)?;
            return Err(match exists {
                None => StoreError::NotFound("position".into()),
                Some(_) => StoreError::Conflict("the position changed meanwhile".into()),
            });
        }
        if notices == Notices::Rewrite {
            sqlx::query("DELETE FROM payment_notices WHERE position_id = $1")
                .bind(id.clone())
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
            let mut rows: Vec<(&str, &str, &str, String)> = p
                .options
                .iter()
                .map(|o| {
                    (
                        p.organization.as_str(),
                        o.iuv.as_str(),
                        o.nav.as_str(),
                        id.clone(),
                    )
                })
                .collect();
            rows.sort_by(|a, b| a.1.cmp(b.1));
            let inserted = insert_notices(tx, self.backend, &rows).await?;
            if inserted.get(&id).copied().unwrap_or(0) != p.options.len() {
                return Err(StoreError::Conflict(
                    "a notice number of the position is taken by another position of the ente"
                        .into(),
                ));
            }
        }
        let events: Vec<(String, &PositionEvent)> =
            write.event.iter().map(|e| (id.clone(), e)).collect();
        insert_events(tx, self.backend, &events).await?;
        for job in &write.jobs {
            insert_job(
                tx,
                job.kind,
                &job.subject_id,
                job.due_at,
                p.last_updated_date,
            )
            .await?;
        }
        if let (Some(also), Some(doc)) = (also, also_doc) {
            match self
                .create_in(tx, std::slice::from_ref(also), vec![doc])
                .await?[..]
            {
                [CreateOutcome::Created] => {}
                [CreateOutcome::DuplicateIupd] => {
                    return Err(StoreError::Conflict(
                        "the ente already has a position with the reissue's IUPD".into(),
                    ));
                }
                _ => {
                    return Err(StoreError::Conflict(
                        "a notice number of the reissue is taken in the ente".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Why a versioned write touched no row: the position is gone (`NotFound`) or at another
    /// version (`Conflict`).
    async fn missed(&self, id: &PositionId) -> StoreError {
        match sqlx::query("SELECT version FROM payment_positions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.write)
            .await
        {
            Ok(None) => StoreError::NotFound("position".into()),
            Ok(Some(_)) => StoreError::Conflict("the position changed meanwhile".into()),
            Err(e) => backend(e),
        }
    }

    pub(super) async fn positions_where(
        &self,
        sql: &str,
        values: &[Value],
    ) -> StoreResult<Vec<Position>> {
        bind_values(sqlx::query(sql), values)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(position)
            .collect()
    }
}

#[async_trait]
impl Positions for SqlStore {
    /// One `UPDATE … RETURNING` of the one-row `payment_iuv_counter`: atomic on both engines
    /// (on PostgreSQL the row lock orders concurrent nodes), so blocks never overlap. Bases
    /// start at 1; a block that would reach 10^13 is refused and nothing is reserved.
    async fn allocate_iuv_bases(&self, n: u64) -> StoreResult<u64> {
        let n = i64::try_from(n)
            .ok()
            .filter(|n| *n < IUV_BASE_LIMIT)
            .ok_or_else(|| StoreError::Backend("too many IUV bases asked for".into()))?;
        let first: Option<i64> = sqlx::query_scalar(
            "UPDATE payment_iuv_counter SET next = next + $1 WHERE id = 1 AND next + $2 <= $3 \
             RETURNING next - $4",
        )
        .bind(n)
        .bind(n)
        .bind(IUV_BASE_LIMIT)
        .bind(n)
        .fetch_optional(&self.write)
        .await
        .map_err(backend)?;
        let first = first
            .ok_or_else(|| StoreError::Backend("the 13-digit IUV bases are used up".into()))?;
        u64::try_from(first).map_err(|_| corrupt("next"))
    }

    /// One transaction for the group. Each write is checked, in order, against the stored
    /// positions and the earlier writes of the group: an IUPD the ente already has is
    /// `DuplicateIupd`, an IUV or notice number it already has (or one the write repeats) is
    /// `DuplicateNotice`; nothing of such a write is stored and the rest of the group is.
    /// Created ones get their row, notices, history and jobs in multi-row inserts. Clashes with
    /// concurrent writers are caught by `ON CONFLICT DO NOTHING` and reported the same way.
    async fn create_positions(&self, writes: &[PositionWrite]) -> StoreResult<Vec<CreateOutcome>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let docs = docs_of(writes)?;
        let mut tx = self.begin_write().await?;
        let outcomes = self.create_in(&mut tx, writes, docs).await?;
        tx.commit().await.map_err(backend)?;
        Ok(outcomes)
    }

    async fn get_position(
        &self,
        organization: &OrganizationFiscalCode,
        iupd: &Iupd,
    ) -> StoreResult<Option<Position>> {
        sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM payment_positions WHERE organization = $1 AND iupd = $2"
        ))
        .bind(organization.as_str().to_owned())
        .bind(iupd.as_str().to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?
        .as_ref()
        .map(position)
        .transpose()
    }

    async fn get_position_by_id(&self, id: &PositionId) -> StoreResult<Option<Position>> {
        let sql = format!("SELECT {READ_COLUMNS} FROM payment_positions WHERE id = $1");
        self.one(&sql, id.to_string(), position).await
    }

    /// Matches the IUV or the notice number of any of the ente's current notices.
    async fn position_by_notice(
        &self,
        organization: &OrganizationFiscalCode,
        iuv_or_nav: &str,
    ) -> StoreResult<Option<Position>> {
        sqlx::query(
            "SELECT p.id, p.version, p.doc FROM payment_notices n \
             JOIN payment_positions p ON p.id = n.position_id \
             WHERE n.organization = $1 AND (n.iuv = $2 OR n.nav = $3) LIMIT 1",
        )
        .bind(organization.as_str().to_owned())
        .bind(iuv_or_nav.to_owned())
        .bind(iuv_or_nav.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?
        .as_ref()
        .map(position)
        .transpose()
    }

    /// All or nothing, in one transaction: the row is updated only if still at
    /// `expected_version` (else `Conflict("the position changed meanwhile")`, or `NotFound`
    /// when gone; a changed organization or IUPD is a `Conflict` too); its version becomes
    /// `write.position.version`; its notices are deleted and written again (one that another
    /// position of the ente holds, or one repeated, is a `Conflict`); the events are appended
    /// and the jobs queued. `also` (a reissue) is created in the same transaction; an IUPD or
    /// notice it cannot take is a `Conflict`. The citizen link follows the debtor unless
    /// `unlink_citizen` dropped it, which stays dropped.
    async fn save_position(
        &self,
        write: &PositionWrite,
        expected_version: i64,
        also: Option<&PositionWrite>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        self.save_position_in(&mut tx, write, expected_version, also, Notices::Rewrite)
            .await?;
        tx.commit().await.map_err(backend)
    }

    /// Deletes the row and its notices if still at `expected_version` (else `Conflict`, or
    /// `NotFound` when gone) and appends `event`; the history stays. Queued jobs about the
    /// position stay too and find it gone.
    async fn delete_position(
        &self,
        id: &PositionId,
        expected_version: i64,
        event: &PositionEvent,
    ) -> StoreResult<()> {
        let key = id.to_string();
        let mut tx = self.write.begin().await.map_err(backend)?;
        let r = sqlx::query("DELETE FROM payment_positions WHERE id = $1 AND version = $2")
            .bind(key.clone())
            .bind(expected_version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if r.rows_affected() == 0 {
            drop(tx);
            return Err(self.missed(id).await);
        }
        sqlx::query("DELETE FROM payment_notices WHERE position_id = $1")
            .bind(key.clone())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_events(&mut tx, self.backend, &[(key, event)]).await?;
        tx.commit().await.map_err(backend)
    }

    /// GPD's filters: the due range keeps positions whose earliest due date is at most
    /// `due_to` and latest at least `due_from` (an approximation of "an option due in the
    /// range" that can only include more); the payment range is on the position's payment
    /// date; statuses and segregation codes match any of those given. Ordered by the chosen
    /// key (insertion by default), ties by id, both in the chosen direction. Returns the page
    /// (`limit` rows from `page * limit`) and the count of all matching.
    async fn list_positions(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ListFilter,
        page: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Position>, i64)> {
        let (mut ph, cond, mut values) = list_condition(self.backend, organization, filter);
        let total: i64 = bind_values(
            sqlx::query(&format!(
                "SELECT COUNT(*) AS n FROM payment_positions WHERE {cond}"
            )),
            &values,
        )
        .fetch_one(&self.read)
        .await
        .map_err(backend)
        .and_then(|r| int(&r, "n"))?;
        let column = match filter.order_by.unwrap_or(OrderBy::InsertedDate) {
            OrderBy::InsertedDate => "inserted_ms",
            OrderBy::Iupd => "iupd",
            OrderBy::Status => "status",
            OrderBy::CompanyName => "company_name",
        };
        let dir = if filter.descending { "DESC" } else { "ASC" };
        let limit = limit.max(0);
        let sql = format!(
            "SELECT {READ_COLUMNS} FROM payment_positions WHERE {cond} \
             ORDER BY {column} {dir}, id {dir} LIMIT {} OFFSET {}",
            ph.next(),
            ph.next()
        );
        values.push(Value::Int(limit));
        values.push(Value::Int(page.max(0).saturating_mul(limit)));
        Ok((self.positions_where(&sql, &values).await?, total))
    }

    async fn position_history(&self, id: &PositionId) -> StoreResult<Vec<PositionEvent>> {
        sqlx::query(
            "SELECT at, version, action, status, detail, actor FROM payment_history \
             WHERE position_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(event)
        .collect()
    }

    /// Positions whose stored form names the IBAN as a JSON string (any transfer's bank or
    /// postal IBAN), in a status that may still be updated, oldest first.
    async fn positions_with_iban(
        &self,
        organization: &OrganizationFiscalCode,
        iban: &str,
        limit: i64,
    ) -> StoreResult<Vec<Position>> {
        let escaped = iban
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
            .replace('"', "\\\"");
        let fixed: Vec<String> = PositionStatus::ALL
            .into_iter()
            .filter(|s| !s.updatable())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let sql = format!(
            "SELECT {READ_COLUMNS} FROM payment_positions WHERE organization = $1 \
             AND status NOT IN ({}) AND doc LIKE $2 ESCAPE '\\' \
             ORDER BY inserted_ms, id LIMIT $3",
            fixed.join(", ")
        );
        let values = [
            Value::Text(organization.as_str().to_owned()),
            Value::Text(format!("%\"{escaped}\"%")),
            Value::Int(limit.max(0)),
        ];
        self.positions_where(&sql, &values).await
    }

    /// The positions linked to the citizen (see `unlink_citizen`), newest first.
    async fn positions_of_citizen(&self, fiscal_code: &FiscalCode) -> StoreResult<Vec<Position>> {
        let sql = format!(
            "SELECT {READ_COLUMNS} FROM payment_positions WHERE citizen = $1 \
             ORDER BY inserted_ms DESC, id DESC"
        );
        self.positions_where(&sql, &[Value::Text(fiscal_code.as_str().to_owned())])
            .await
    }

    /// Clears the link column (and marks it dropped, so later saves do not restore it); the
    /// stored position itself is unchanged.
    async fn unlink_citizen(&self, fiscal_code: &FiscalCode) -> StoreResult<u64> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let r = sqlx::query(
            "UPDATE payment_positions SET citizen = NULL, citizen_unlinked = 1 WHERE citizen = $1",
        )
        .bind(fiscal_code.as_str().to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("UPDATE payment_receipts SET citizen = NULL WHERE citizen = $1")
            .bind(fiscal_code.as_str().to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(r.rows_affected())
    }
}
