//! The [`Reconciliation`] port: reporting flows (`recon_flows`, `recon_lines`) and treasury
//! statements (`recon_statements`, `recon_movements`) kept as received, the queue of what
//! changed since the last run (`recon_queue`), and the items (`recon_items`).
//!
//! Dates are `YYYY-MM-DD` text (they compare as strings); flags are 0/1.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use payments::ports::{
    ClassTotal, DaySummary, FlowDocument, FlowLineRow, FlowSummary, IngestOutcome, ItemFilter,
    MovementRow, ReconBatch, ReconScope, Reconciliation, StatementDocument, StoredItem,
};
use payments::recon::{
    Class, Documents, Explanation, Facts, FlowFact, Item, LineFact, MovementFact, MovementRef,
    ReceiptFact, ReceiptLine,
};

use crate::prelude::*;

/// IUVs (or other keys) per `IN (…)` query.
const KEYS_CHUNK: usize = 500;
/// Rows per multi-row insert of items (17 columns).
const ITEMS_CHUNK: usize = 256;
/// Rows per multi-row insert of lines (10 columns) or movements (15).
const LINES_CHUNK: usize = 256;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_day(row: &AnyRow, col: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(&text(row, col)?, "%Y-%m-%d").map_err(|_| corrupt(col))
}

fn opt_day(row: &AnyRow, col: &str) -> StoreResult<Option<NaiveDate>> {
    opt_text(row, col)?
        .map(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| corrupt(col)))
        .transpose()
}

fn small(row: &AnyRow, col: &str) -> StoreResult<u8> {
    u8::try_from(int(row, col)?).map_err(|_| corrupt(col))
}

/// A statement's placeholders: `$first, $first+1, …` (numbered on both engines).
fn params(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const ITEM_COLUMNS: &str = "organization, item_key, class, iuv, transfer_index, amount, \
                            item_date, psp_id, receipt_id, flow_id, movement_id, \
                            explanation_it, explanation_en, due_date, updated_ms, note, \
                            closed_ms, closed_by";

fn stored_item(row: &AnyRow) -> StoreResult<StoredItem> {
    let transfer_index = row
        .try_get::<Option<i64>, _>("transfer_index")
        .map_err(backend)?
        .map(|i| u8::try_from(i).map_err(|_| corrupt("transfer_index")))
        .transpose()?;
    Ok(StoredItem {
        item: Item {
            key: text(row, "item_key")?,
            class: Class::parse(&text(row, "class")?).ok_or_else(|| corrupt("class"))?,
            iuv: opt_text(row, "iuv")?,
            transfer_index,
            amount: int(row, "amount")?,
            date: parse_day(row, "item_date")?,
            psp_id: opt_text(row, "psp_id")?,
            documents: Documents {
                receipt_id: opt_text(row, "receipt_id")?,
                flow_id: opt_text(row, "flow_id")?,
                movement_id: opt_text(row, "movement_id")?,
            },
            explanation: Explanation {
                it: text(row, "explanation_it")?,
                en: text(row, "explanation_en")?,
            },
            due: opt_day(row, "due_date")?,
        },
        updated_at: at(row, "updated_ms")?,
        note: opt_text(row, "note")?,
        closed_at: opt_at(row, "closed_ms")?,
        closed_by: opt_text(row, "closed_by")?,
    })
}

fn movement_fact(row: &AnyRow) -> StoreResult<MovementFact> {
    let reference = match text(row, "ref_kind")?.as_str() {
        "FLOW" => MovementRef::Flow(text(row, "ref_flow")?),
        "IUV" => MovementRef::Iuv {
            iuv: text(row, "ref_iuv")?,
            amount: row
                .try_get::<Option<i64>, _>("ref_amount")
                .map_err(backend)?,
        },
        _ => MovementRef::None,
    };
    Ok(MovementFact {
        id: text(row, "movement_id")?,
        amount: int(row, "amount")?,
        date: parse_day(row, "booking_date")?,
        reference,
    })
}

const MOVEMENT_FACT: &str = "movement_id, amount, booking_date, ref_kind, ref_flow, ref_iuv, \
                             ref_amount";
const INCOMING: &str = "incoming = 1 AND reversal = 0";

fn receipt_fact(row: &AnyRow) -> StoreResult<ReceiptFact> {
    let paid = opt_at(row, "payment_ms")?.unwrap_or(at(row, "received_ms")?);
    let lines: Vec<ReceiptLine> =
        serde_json::from_str(&text(row, "transfers")?).map_err(|_| corrupt("transfers"))?;
    Ok(ReceiptFact {
        receipt_id: text(row, "receipt_id")?,
        iuv: text(row, "iuv")?,
        psp_id: text(row, "psp_id")?,
        paid_on: kernel::rome::date(paid),
        double_payment: text(row, "effect")? == "DOUBLE_PAYMENT",
        lines,
    })
}

const RECEIPT_FACT: &str = "receipt_id, iuv, psp_id, payment_ms, received_ms, effect, transfers";
const FLOW_FACT: &str = "digest, flow_id, psp_id, revision, regulation_date, declared_count, \
                         declared_total, lines_count, lines_total, conflict, superseded";
const LINE_FACT: &str = "digest, iuv, iur, transfer_index, amount, outcome, line_date, foreign_iuv";

fn flow_fact(row: &AnyRow) -> StoreResult<FlowFact> {
    Ok(FlowFact {
        digest: text(row, "digest")?,
        flow_id: text(row, "flow_id")?,
        psp_id: text(row, "psp_id")?,
        revision: u32::try_from(int(row, "revision")?).map_err(|_| corrupt("revision"))?,
        regulation_date: parse_day(row, "regulation_date")?,
        declared_count: int(row, "declared_count")?,
        declared_total: int(row, "declared_total")?,
        lines_count: int(row, "lines_count")?,
        lines_total: int(row, "lines_total")?,
        conflict: boolean(row, "conflict")?,
        superseded: boolean(row, "superseded")?,
        credited: 0,
        movements: Vec::new(),
    })
}

fn line_fact(row: &AnyRow) -> StoreResult<LineFact> {
    Ok(LineFact {
        flow: text(row, "digest")?,
        iuv: text(row, "iuv")?,
        iur: text(row, "iur")?,
        index: small(row, "transfer_index")?,
        amount: int(row, "amount")?,
        outcome: small(row, "outcome")?,
        date: parse_day(row, "line_date")?,
        foreign: boolean(row, "foreign_iuv")?,
    })
}

/// The rows of a query on the ente (`$1`), converted one at a time as they stream in: a year
/// of receipts or lines never sits in memory as database rows.
async fn stream_all<T>(
    pool: &sqlx::AnyPool,
    sql: &str,
    org: &str,
    convert: impl Fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    use futures_util::TryStreamExt as _;
    let mut out = Vec::new();
    let mut rows = sqlx::query(sql).bind(org.to_owned()).fetch(pool);
    while let Some(row) = rows.try_next().await.map_err(backend)? {
        out.push(convert(&row)?);
    }
    Ok(out)
}

impl SqlStore {
    /// Rows of `sql` (whose first parameter is the organization and which ends in `IN (`)
    /// for each chunk of `keys`.
    async fn rows_in(
        &self,
        sql: &str,
        org: &str,
        keys: &[String],
        suffix: &str,
    ) -> StoreResult<Vec<AnyRow>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(KEYS_CHUNK) {
            let q = format!("{sql}{}){suffix}", params(2, chunk.len()));
            let mut query = sqlx::query(&q).bind(org.to_owned());
            for k in chunk {
                query = query.bind(k.clone());
            }
            out.extend(query.fetch_all(&self.read).await.map_err(backend)?);
        }
        Ok(out)
    }

    /// Fills each flow's credit from the incoming movements naming its id.
    async fn credit_flows(&self, org: &str, flows: &mut [FlowFact]) -> StoreResult<()> {
        let ids: Vec<String> = flows
            .iter()
            .map(|f| f.flow_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let rows = self
            .rows_in(
                &format!(
                    "SELECT movement_id, amount, ref_flow FROM recon_movements WHERE \
                     organization = $1 AND {INCOMING} AND ref_flow IN ("
                ),
                org,
                &ids,
                " ORDER BY movement_id",
            )
            .await?;
        let mut credit: HashMap<String, (i64, Vec<String>)> = HashMap::new();
        for row in &rows {
            let e = credit.entry(text(row, "ref_flow")?).or_default();
            e.0 += int(row, "amount")?;
            e.1.push(text(row, "movement_id")?);
        }
        for f in flows {
            if let Some((sum, ids)) = credit.get(&f.flow_id) {
                f.credited = *sum;
                f.movements = ids.clone();
            }
        }
        Ok(())
    }

    async fn all_facts(&self, org: &str) -> StoreResult<ReconBatch> {
        // The queue mark first: the save deletes the queue up to it, so everything queued up
        // to it must be in the facts read below. A statement committed after the facts were
        // read has a higher sequence and stays queued for the next run; read last, its entry
        // would be dropped with its movements never classified.
        let queue_mark: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM recon_queue WHERE organization = $1")
                .bind(org.to_owned())
                .fetch_one(&self.read)
                .await
                .map_err(backend)?;
        let receipts = stream_all(
            &self.read,
            &format!(
                "SELECT {RECEIPT_FACT} FROM payment_receipts WHERE organization = $1 AND effect \
                 <> 'FAILED'"
            ),
            org,
            receipt_fact,
        )
        .await?;
        let mut flows = stream_all(
            &self.read,
            &format!("SELECT {FLOW_FACT} FROM recon_flows WHERE organization = $1"),
            org,
            flow_fact,
        )
        .await?;
        let lines = stream_all(
            &self.read,
            &format!("SELECT {LINE_FACT} FROM recon_lines WHERE organization = $1"),
            org,
            line_fact,
        )
        .await?;
        let movements = stream_all(
            &self.read,
            &format!(
                "SELECT {MOVEMENT_FACT} FROM recon_movements WHERE organization = $1 AND \
                 {INCOMING} ORDER BY movement_id"
            ),
            org,
            movement_fact,
        )
        .await?;
        let mut credit: HashMap<&str, (i64, Vec<String>)> = HashMap::new();
        for m in &movements {
            if let MovementRef::Flow(id) = &m.reference {
                let e = credit.entry(id.as_str()).or_default();
                e.0 += m.amount;
                e.1.push(m.id.clone());
            }
        }
        for f in &mut flows {
            if let Some((sum, ids)) = credit.get(f.flow_id.as_str()) {
                f.credited = *sum;
                f.movements = ids.clone();
            }
        }
        let known_flow_ids = flows.iter().map(|f| f.flow_id.clone()).collect();
        let singles = movements
            .iter()
            .filter(|m| matches!(m.reference, MovementRef::Iuv { .. }))
            .cloned()
            .collect();
        Ok(ReconBatch {
            movement_ids: movements.iter().map(|m| m.id.clone()).collect(),
            facts: Facts {
                receipts,
                flows,
                lines,
                singles,
                movements,
                known_flow_ids,
            },
            queue_mark: queue_mark.unwrap_or(0),
            whole: true,
            generation: 0,
        })
    }

    async fn changed_facts(
        &self,
        org: &str,
        receipts_since: DateTime<Utc>,
        today: NaiveDate,
    ) -> StoreResult<ReconBatch> {
        let mut iuvs: BTreeSet<String> = BTreeSet::new();
        let mut flow_ids: BTreeSet<String> = BTreeSet::new();
        let mut movement_ids: BTreeSet<String> = BTreeSet::new();
        let mut queue_mark = 0;
        for row in sqlx::query(
            "SELECT seq, kind, ref FROM recon_queue WHERE organization = $1 ORDER BY seq",
        )
        .bind(org.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        {
            queue_mark = queue_mark.max(int(&row, "seq")?);
            let r = text(&row, "ref")?;
            match text(&row, "kind")?.as_str() {
                "IUV" => iuvs.insert(r),
                "FLOW" => flow_ids.insert(r),
                _ => movement_ids.insert(r),
            };
        }
        for row in sqlx::query(
            "SELECT iuv FROM payment_receipts WHERE organization = $1 AND received_ms >= $2",
        )
        .bind(org.to_owned())
        .bind(ms(&receipts_since))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        {
            iuvs.insert(text(&row, "iuv")?);
        }
        for row in sqlx::query(
            "SELECT iuv FROM recon_items WHERE organization = $1 AND class = 'PENDING' AND \
             due_date < $2 AND iuv IS NOT NULL",
        )
        .bind(org.to_owned())
        .bind(day(today))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        {
            iuvs.insert(text(&row, "iuv")?);
        }
        // The queued movements name flows and IUVs whose payments change with them.
        let queued: Vec<String> = movement_ids.iter().cloned().collect();
        let mut movements: BTreeMap<String, MovementFact> = BTreeMap::new();
        for row in self
            .rows_in(
                &format!(
                    "SELECT {MOVEMENT_FACT} FROM recon_movements WHERE organization = $1 AND \
                     {INCOMING} AND movement_id IN ("
                ),
                org,
                &queued,
                "",
            )
            .await?
        {
            let m = movement_fact(&row)?;
            match &m.reference {
                MovementRef::Flow(id) => {
                    flow_ids.insert(id.clone());
                }
                MovementRef::Iuv { iuv, .. } => {
                    iuvs.insert(iuv.clone());
                }
                MovementRef::None => {}
            }
            movements.insert(m.id.clone(), m);
        }
        // Every payment of a flow whose credit may have changed.
        let flows_list: Vec<String> = flow_ids.iter().cloned().collect();
        for row in self
            .rows_in(
                "SELECT l.iuv FROM recon_lines l WHERE l.organization = $1 AND l.digest IN \
                 (SELECT f.digest FROM recon_flows f WHERE f.organization = $1 AND f.flow_id IN (",
                org,
                &flows_list,
                ")",
            )
            .await?
        {
            iuvs.insert(text(&row, "iuv")?);
        }
        // Movements naming those flows are decided again (a flow that arrived matches them).
        for row in self
            .rows_in(
                &format!(
                    "SELECT {MOVEMENT_FACT} FROM recon_movements WHERE organization = $1 AND \
                     {INCOMING} AND ref_flow IN ("
                ),
                org,
                &flows_list,
                "",
            )
            .await?
        {
            let m = movement_fact(&row)?;
            movements.insert(m.id.clone(), m);
        }
        let iuv_list: Vec<String> = iuvs.into_iter().collect();
        let receipts = self
            .rows_in(
                &format!(
                    "SELECT {RECEIPT_FACT} FROM payment_receipts WHERE organization = $1 AND \
                     effect <> 'FAILED' AND iuv IN ("
                ),
                org,
                &iuv_list,
                "",
            )
            .await?
            .iter()
            .map(receipt_fact)
            .collect::<StoreResult<Vec<_>>>()?;
        let lines = self
            .rows_in(
                &format!(
                    "SELECT {LINE_FACT} FROM recon_lines WHERE organization = $1 AND iuv IN ("
                ),
                org,
                &iuv_list,
                "",
            )
            .await?
            .iter()
            .map(line_fact)
            .collect::<StoreResult<Vec<_>>>()?;
        let digests: Vec<String> = lines
            .iter()
            .map(|l| l.flow.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut flows = self
            .rows_in(
                &format!(
                    "SELECT {FLOW_FACT} FROM recon_flows WHERE organization = $1 AND digest IN ("
                ),
                org,
                &digests,
                "",
            )
            .await?
            .iter()
            .map(flow_fact)
            .collect::<StoreResult<Vec<_>>>()?;
        self.credit_flows(org, &mut flows).await?;
        let singles: Vec<MovementFact> = self
            .rows_in(
                &format!(
                    "SELECT {MOVEMENT_FACT} FROM recon_movements WHERE organization = $1 AND \
                     {INCOMING} AND ref_iuv IN ("
                ),
                org,
                &iuv_list,
                "",
            )
            .await?
            .iter()
            .map(movement_fact)
            .collect::<StoreResult<Vec<_>>>()?;
        for m in &singles {
            movements.insert(m.id.clone(), m.clone());
        }
        let named: Vec<String> = movements
            .values()
            .filter_map(|m| match &m.reference {
                MovementRef::Flow(id) => Some(id.clone()),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut known_flow_ids = BTreeSet::new();
        for row in self
            .rows_in(
                "SELECT DISTINCT flow_id FROM recon_flows WHERE organization = $1 AND flow_id IN (",
                org,
                &named,
                "",
            )
            .await?
        {
            known_flow_ids.insert(text(&row, "flow_id")?);
        }
        let movements: Vec<MovementFact> = movements.into_values().collect();
        Ok(ReconBatch {
            movement_ids: movements.iter().map(|m| m.id.clone()).collect(),
            facts: Facts {
                receipts,
                flows,
                lines,
                singles,
                movements,
                known_flow_ids,
            },
            queue_mark,
            whole: false,
            generation: 0,
        })
    }

    /// The class and fingerprint of the stored items of these keys (all of the ente's when
    /// `keys` is `None`).
    async fn existing_items(
        &self,
        org: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<HashMap<String, (Class, String)>> {
        const COLS: &str = "item_key, class, fingerprint";
        let convert = |r: &AnyRow| -> StoreResult<(String, (Class, String))> {
            Ok((
                text(r, "item_key")?,
                (
                    Class::parse(&text(r, "class")?).ok_or_else(|| corrupt("class"))?,
                    text(r, "fingerprint")?,
                ),
            ))
        };
        let rows = match keys {
            None => {
                let sql = format!("SELECT {COLS} FROM recon_items WHERE organization = $1");
                return Ok(stream_all(&self.read, &sql, org, convert)
                    .await?
                    .into_iter()
                    .collect());
            }
            Some(keys) => {
                self.rows_in(
                    &format!(
                        "SELECT {COLS} FROM recon_items WHERE organization = $1 AND item_key IN ("
                    ),
                    org,
                    keys,
                    "",
                )
                .await?
            }
        };
        rows.iter().map(convert).collect()
    }
}

/// `WHERE` conditions of a filter after `organization = $1`, and their values, numbered from
/// `$2`.
fn filter_sql(filter: &ItemFilter) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values: Vec<String> = Vec::new();
    let next = |v: String, values: &mut Vec<String>| {
        values.push(v);
        format!("${}", values.len() + 1)
    };
    if !filter.classes.is_empty() {
        let list: Vec<String> = filter
            .classes
            .iter()
            .map(|c| next(c.as_str().to_owned(), &mut values))
            .collect();
        sql.push_str(&format!(" AND class IN ({})", list.join(", ")));
    }
    if let Some(from) = filter.from {
        let p = next(day(from), &mut values);
        sql.push_str(&format!(" AND item_date >= {p}"));
    }
    if let Some(to) = filter.to {
        let p = next(day(to), &mut values);
        sql.push_str(&format!(" AND item_date <= {p}"));
    }
    if let Some(psp) = &filter.psp_id {
        let p = next(psp.clone(), &mut values);
        sql.push_str(&format!(" AND psp_id = {p}"));
    }
    if let Some(flow) = &filter.flow_id {
        let p = next(flow.clone(), &mut values);
        sql.push_str(&format!(" AND flow_id = {p}"));
    }
    if filter.anomalies_only {
        sql.push_str(" AND class NOT IN ('RECONCILED', 'PENDING')");
    }
    if !filter.include_closed {
        sql.push_str(" AND closed_ms IS NULL");
    }
    (sql, values)
}

/// A digest of everything an item says (FNV-1a, 64 bits, hex): a run rewrites only the items
/// whose fingerprint changed, without reading the stored explanations back.
fn fingerprint(i: &Item) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(i.class.as_str());
    eat(i.iuv.as_deref().unwrap_or(""));
    eat(&i.transfer_index.map(|x| x.to_string()).unwrap_or_default());
    eat(&i.amount.to_string());
    eat(&day(i.date));
    eat(i.psp_id.as_deref().unwrap_or(""));
    eat(i.documents.receipt_id.as_deref().unwrap_or(""));
    eat(i.documents.flow_id.as_deref().unwrap_or(""));
    eat(i.documents.movement_id.as_deref().unwrap_or(""));
    eat(&i.explanation.it);
    eat(&i.explanation.en);
    eat(&i.due.map(day).unwrap_or_default());
    format!("{h:016x}")
}

#[async_trait]
impl Reconciliation for SqlStore {
    async fn ingest_flow(
        &self,
        doc: &FlowDocument,
        lines: &[FlowLineRow],
    ) -> StoreResult<IngestOutcome> {
        let org = doc.organization.as_str().to_owned();
        let mut tx = self.begin_write().await?;
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM recon_flows WHERE organization = $1 AND digest = $2")
                .bind(org.clone())
                .bind(doc.digest.clone())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if known.is_some() {
            return Ok(IngestOutcome::Known);
        }
        let same = |cmp: &str| {
            format!(
                "SELECT COUNT(*) FROM recon_flows WHERE organization = $1 AND flow_id = $2 AND \
                 psp_id = $3 AND conflict = 0 AND revision {cmp} $4"
            )
        };
        let mut found = [false, false];
        for (slot, cmp) in found.iter_mut().zip(["=", ">"]) {
            let n: i64 = sqlx::query_scalar(&same(cmp))
                .bind(org.clone())
                .bind(doc.flow_id.clone())
                .bind(doc.psp_id.clone())
                .bind(i64::from(doc.revision))
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
            *slot = n > 0;
        }
        let [conflict, later] = found;
        if !conflict && !later {
            sqlx::query(
                "UPDATE recon_flows SET superseded = 1 WHERE organization = $1 AND flow_id = $2 \
                 AND psp_id = $3 AND revision < $4 AND superseded = 0",
            )
            .bind(org.clone())
            .bind(doc.flow_id.clone())
            .bind(doc.psp_id.clone())
            .bind(i64::from(doc.revision))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        let foreign = lines.iter().filter(|l| l.foreign).count() as i64;
        sqlx::query(
            "INSERT INTO recon_flows (organization, digest, flow_id, psp_id, revision, format, \
             source, regulation_id, regulation_date, flow_time, sender_id, receiver_id, \
             declared_count, declared_total, lines_count, lines_total, foreign_lines, checks, \
             conflict, superseded, document, ingested_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        )
        .bind(org.clone())
        .bind(doc.digest.clone())
        .bind(doc.flow_id.clone())
        .bind(doc.psp_id.clone())
        .bind(i64::from(doc.revision))
        .bind(doc.format.clone())
        .bind(doc.source.clone())
        .bind(doc.regulation_id.clone())
        .bind(day(doc.regulation_date))
        .bind(doc.flow_time.format("%Y-%m-%dT%H:%M:%S").to_string())
        .bind(doc.sender_id.clone())
        .bind(doc.receiver_id.clone())
        .bind(doc.declared_count)
        .bind(doc.declared_total)
        .bind(doc.lines_count)
        .bind(doc.lines_total)
        .bind(foreign)
        .bind(to_json(&doc.checks))
        .bind(flag(conflict))
        .bind(flag(later))
        .bind(doc.document.clone())
        .bind(ms(&doc.ingested_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let indexed: Vec<(usize, &FlowLineRow)> = lines.iter().enumerate().collect();
        for chunk in indexed.chunks(LINES_CHUNK) {
            let sql = format!(
                "INSERT INTO recon_lines (organization, digest, seq, iuv, iur, transfer_index, \
                 amount, outcome, line_date, foreign_iuv) VALUES {}",
                values_list(self.backend, chunk.len(), 10)
            );
            let mut q = sqlx::query(&sql);
            for (i, l) in chunk {
                q = q
                    .bind(org.clone())
                    .bind(doc.digest.clone())
                    .bind(*i as i64)
                    .bind(l.iuv.clone())
                    .bind(l.iur.clone())
                    .bind(i64::from(l.index))
                    .bind(l.amount)
                    .bind(i64::from(l.outcome))
                    .bind(day(l.date))
                    .bind(flag(l.foreign));
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        // The next run looks at this flow's payments and at those of its other revisions
        // (a line a new revision dropped must be decided again), and at the movements naming it.
        sqlx::query(
            // By the lines' primary key (organization, digest): a join on the organization alone
            // would scan every line the ente holds.
            "INSERT INTO recon_queue (organization, kind, ref) SELECT DISTINCT l.organization, \
             'IUV', l.iuv FROM recon_lines l WHERE l.organization = $1 AND l.digest IN (SELECT \
             f.digest FROM recon_flows f WHERE f.organization = $1 AND f.flow_id = $2 AND \
             f.psp_id = $3)",
        )
        .bind(org.clone())
        .bind(doc.flow_id.clone())
        .bind(doc.psp_id.clone())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("INSERT INTO recon_queue (organization, kind, ref) VALUES ($1, 'FLOW', $2)")
            .bind(org.clone())
            .bind(doc.flow_id.clone())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(IngestOutcome::Created { conflict })
    }

    async fn ingest_statement(
        &self,
        doc: &StatementDocument,
        movements: &[MovementRow],
    ) -> StoreResult<(IngestOutcome, u64)> {
        let org = doc.organization.as_str().to_owned();
        let mut tx = self.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM recon_statements WHERE organization = $1 AND digest = $2",
        )
        .bind(org.clone())
        .bind(doc.digest.clone())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        if known.is_some() {
            return Ok((IngestOutcome::Known, 0));
        }
        sqlx::query(
            "INSERT INTO recon_statements (organization, digest, document_id, format, source, \
             statement_date, signature, movements, document, ingested_ms) VALUES ($1, $2, $3, \
             $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(org.clone())
        .bind(doc.digest.clone())
        .bind(doc.document_id.clone())
        .bind(doc.format.clone())
        .bind(doc.source.clone())
        .bind(doc.date.map(day))
        .bind(doc.signature.clone())
        .bind(movements.len() as i64)
        .bind(doc.document.clone())
        .bind(ms(&doc.ingested_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let mut new_ids: Vec<String> = Vec::new();
        for chunk in movements.chunks(LINES_CHUNK) {
            let sql = format!(
                "INSERT INTO recon_movements (organization, movement_id, digest, account, \
                 incoming, reversal, amount, booking_date, value_date, ref_kind, ref_flow, \
                 ref_iuv, ref_amount, end_to_end_id, bank_reference) VALUES {} ON CONFLICT \
                 (organization, movement_id) DO NOTHING RETURNING movement_id",
                values_list(self.backend, chunk.len(), 15)
            );
            let mut q = sqlx::query(&sql);
            for m in chunk {
                let (kind, flow, iuv, amount) = match &m.reference {
                    MovementRef::Flow(id) => ("FLOW", Some(id.clone()), None, None),
                    MovementRef::Iuv { iuv, amount } => ("IUV", None, Some(iuv.clone()), *amount),
                    MovementRef::None => ("NONE", None, None, None),
                };
                q = q
                    .bind(org.clone())
                    .bind(m.id.clone())
                    .bind(doc.digest.clone())
                    .bind(m.account.clone())
                    .bind(flag(m.incoming))
                    .bind(flag(m.reversal))
                    .bind(m.amount)
                    .bind(day(m.booking_date))
                    .bind(m.value_date.map(day))
                    .bind(kind)
                    .bind(flow)
                    .bind(iuv)
                    .bind(amount)
                    .bind(m.end_to_end_id.clone())
                    .bind(m.bank_reference.clone());
            }
            for row in q.fetch_all(&mut *tx).await.map_err(backend)? {
                new_ids.push(text(&row, "movement_id")?);
            }
        }
        for chunk in new_ids.chunks(LINES_CHUNK) {
            let sql = format!(
                "INSERT INTO recon_queue (organization, kind, ref) VALUES {}",
                values_list(self.backend, chunk.len(), 3)
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(org.clone()).bind("MOVEMENT").bind(id.clone());
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok((
            IngestOutcome::Created { conflict: false },
            new_ids.len() as u64,
        ))
    }

    async fn known_iuvs(
        &self,
        organization: &OrganizationFiscalCode,
        iuvs: &[String],
    ) -> StoreResult<BTreeSet<String>> {
        let org = organization.as_str();
        let mut out = BTreeSet::new();
        for sql in [
            "SELECT iuv FROM payment_receipts WHERE organization = $1 AND iuv IN (",
            "SELECT iuv FROM payment_notices WHERE organization = $1 AND iuv IN (",
        ] {
            for row in self.rows_in(sql, org, iuvs, "").await? {
                out.insert(text(&row, "iuv")?);
            }
        }
        Ok(out)
    }

    async fn recon_facts(
        &self,
        organization: &OrganizationFiscalCode,
        scope: &ReconScope,
    ) -> StoreResult<ReconBatch> {
        let generation: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM recon_runs WHERE organization = $1")
                .bind(organization.as_str().to_owned())
                .fetch_optional(&self.read)
                .await
                .map_err(backend)?;
        let mut batch = match scope {
            ReconScope::All => self.all_facts(organization.as_str()).await,
            ReconScope::Changed {
                receipts_since,
                today,
            } => {
                self.changed_facts(organization.as_str(), *receipts_since, *today)
                    .await
            }
        }?;
        batch.generation = generation.unwrap_or(0);
        Ok(batch)
    }

    async fn save_recon(
        &self,
        organization: &OrganizationFiscalCode,
        batch: &ReconBatch,
        items: &[Item],
        ran_at: DateTime<Utc>,
    ) -> StoreResult<Vec<(Item, Option<Class>)>> {
        let org = organization.as_str().to_owned();
        let existing = if batch.whole {
            self.existing_items(&org, None).await?
        } else {
            let mut keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
            keys.extend(
                batch
                    .movement_ids
                    .iter()
                    .map(|id| payments::recon::movement_key(id)),
            );
            self.existing_items(&org, Some(&keys)).await?
        };
        let changed: Vec<(&Item, Option<Class>, String)> = items
            .iter()
            .filter_map(|i| {
                let print = fingerprint(i);
                match existing.get(&i.key) {
                    Some((_, old)) if *old == print => None,
                    Some((class, _)) => Some((i, Some(*class), print)),
                    None => Some((i, None, print)),
                }
            })
            .collect();
        let produced: BTreeSet<&str> = items.iter().map(|i| i.key.as_str()).collect();
        let removed: Vec<String> = if batch.whole {
            existing
                .keys()
                .filter(|k| !produced.contains(k.as_str()))
                .cloned()
                .collect()
        } else {
            batch
                .movement_ids
                .iter()
                .map(|id| payments::recon::movement_key(id))
                .filter(|k| existing.contains_key(k) && !produced.contains(k.as_str()))
                .collect()
        };
        let mut tx = self.begin_write().await?;
        let now = ms(&ran_at);
        // First, and conditional: on PostgreSQL the row lock orders concurrent runs, and a run
        // whose generation moved on writes nothing.
        let claimed = if batch.generation == 0 {
            sqlx::query(
                "INSERT INTO recon_runs (organization, ran_ms, generation) VALUES ($1, $2, 1) \
                 ON CONFLICT (organization) DO NOTHING",
            )
            .bind(org.clone())
            .bind(now)
            .execute(&mut *tx)
            .await
        } else {
            sqlx::query(
                "UPDATE recon_runs SET ran_ms = $2, generation = generation + 1 WHERE \
                 organization = $1 AND generation = $3",
            )
            .bind(org.clone())
            .bind(now)
            .bind(batch.generation)
            .execute(&mut *tx)
            .await
        }
        .map_err(backend)?;
        if claimed.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "another reconciliation run saved meanwhile".into(),
            ));
        }
        for chunk in changed.chunks(ITEMS_CHUNK) {
            let sql = format!(
                "INSERT INTO recon_items (organization, item_key, class, iuv, transfer_index, \
                 amount, item_date, psp_id, receipt_id, flow_id, movement_id, explanation_it, \
                 explanation_en, due_date, effects, fingerprint, updated_ms) VALUES {} ON CONFLICT (organization, \
                 item_key) DO UPDATE SET closed_ms = CASE WHEN recon_items.class = \
                 excluded.class THEN recon_items.closed_ms ELSE NULL END, closed_by = CASE WHEN \
                 recon_items.class = excluded.class THEN recon_items.closed_by ELSE NULL END, \
                 class = excluded.class, iuv = excluded.iuv, transfer_index = \
                 excluded.transfer_index, amount = excluded.amount, item_date = \
                 excluded.item_date, psp_id = excluded.psp_id, receipt_id = excluded.receipt_id, \
                 flow_id = excluded.flow_id, movement_id = excluded.movement_id, explanation_it \
                 = excluded.explanation_it, explanation_en = excluded.explanation_en, due_date = \
                 excluded.due_date, effects = excluded.effects, fingerprint = \
                 excluded.fingerprint, updated_ms = excluded.updated_ms",
                values_list(self.backend, chunk.len(), 17)
            );
            let mut q = sqlx::query(&sql);
            for (i, _, print) in chunk {
                q = q
                    .bind(org.clone())
                    .bind(i.key.clone())
                    .bind(i.class.as_str())
                    .bind(i.iuv.clone())
                    .bind(i.transfer_index.map(i64::from))
                    .bind(i.amount)
                    .bind(day(i.date))
                    .bind(i.psp_id.clone())
                    .bind(i.documents.receipt_id.clone())
                    .bind(i.documents.flow_id.clone())
                    .bind(i.documents.movement_id.clone())
                    .bind(i.explanation.it.clone())
                    .bind(i.explanation.en.clone())
                    .bind(i.due.map(day))
                    .bind(flag(payments::recon::has_position_effect(i)))
                    .bind(print.clone())
                    .bind(now);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        for chunk in removed.chunks(KEYS_CHUNK) {
            let sql = format!(
                "DELETE FROM recon_items WHERE organization = $1 AND item_key IN ({})",
                params(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(org.clone());
            for k in chunk {
                q = q.bind(k.clone());
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        sqlx::query("DELETE FROM recon_queue WHERE organization = $1 AND seq <= $2")
            .bind(org.clone())
            .bind(batch.queue_mark)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(changed
            .into_iter()
            .map(|(i, old, _)| (i.clone(), old))
            .collect())
    }

    async fn last_recon(
        &self,
        organization: &OrganizationFiscalCode,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT ran_ms FROM recon_runs WHERE organization = $1")
                .bind(organization.as_str().to_owned())
                .fetch_optional(&self.read)
                .await
                .map_err(backend)?;
        Ok(v.and_then(DateTime::from_timestamp_millis))
    }

    async fn list_items(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ItemFilter,
        cursor: Option<&(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<StoredItem>> {
        let (cond, values) = filter_sql(filter);
        let n = values.len() + 2;
        let after = if cursor.is_some() {
            format!(
                " AND (item_date > ${n} OR (item_date = ${n} AND item_key > ${}))",
                n + 1
            )
        } else {
            String::new()
        };
        let lim = if cursor.is_some() { n + 2 } else { n };
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM recon_items WHERE organization = $1{cond}{after} ORDER BY \
             item_date, item_key LIMIT ${lim}"
        );
        let mut q = sqlx::query(&sql).bind(organization.as_str().to_owned());
        for v in values {
            q = q.bind(v);
        }
        if let Some((d, k)) = cursor {
            q = q.bind(day(*d)).bind(k.clone());
        }
        q.bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(stored_item)
            .collect()
    }

    async fn item_totals(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ItemFilter,
    ) -> StoreResult<Vec<ClassTotal>> {
        let (cond, values) = filter_sql(filter);
        let sql = format!(
            "SELECT class, COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM recon_items \
             WHERE organization = $1{cond} GROUP BY class ORDER BY class"
        );
        let mut q = sqlx::query(&sql).bind(organization.as_str().to_owned());
        for v in values {
            q = q.bind(v);
        }
        q.fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                Ok(ClassTotal {
                    class: Class::parse(&text(r, "class")?).ok_or_else(|| corrupt("class"))?,
                    count: int(r, "n")?,
                    amount: int(r, "total")?,
                })
            })
            .collect()
    }

    async fn get_item(
        &self,
        organization: &OrganizationFiscalCode,
        key: &str,
    ) -> StoreResult<Option<StoredItem>> {
        sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM recon_items WHERE organization = $1 AND item_key = $2"
        ))
        .bind(organization.as_str().to_owned())
        .bind(key.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?
        .as_ref()
        .map(stored_item)
        .transpose()
    }

    async fn annotate_item(
        &self,
        organization: &OrganizationFiscalCode,
        key: &str,
        note: Option<&str>,
        close: Option<bool>,
        audit: &NewAuditEntry,
    ) -> StoreResult<Option<StoredItem>> {
        let mut tx = self.begin_write().await?;
        let (closed_ms, closed_by, keep) = match close {
            Some(true) => (Some(ms(&audit.at)), Some(audit.actor.clone()), 0),
            Some(false) => (None, None, 0),
            None => (None, None, 1),
        };
        let done = sqlx::query(
            "UPDATE recon_items SET note = COALESCE($3, note), closed_ms = CASE WHEN $4 = 1 THEN \
             closed_ms ELSE $5 END, closed_by = CASE WHEN $4 = 1 THEN closed_by ELSE $6 END \
             WHERE organization = $1 AND item_key = $2",
        )
        .bind(organization.as_str().to_owned())
        .bind(key.to_owned())
        .bind(note.map(str::to_owned))
        .bind(keep)
        .bind(closed_ms)
        .bind(closed_by)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)?;
        self.get_item(organization, key).await
    }

    async fn day_summary(
        &self,
        organization: &OrganizationFiscalCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DaySummary>> {
        let org = organization.as_str().to_owned();
        let mut days: BTreeMap<NaiveDate, DaySummary> = BTreeMap::new();
        let entry = |days: &mut BTreeMap<NaiveDate, DaySummary>, d: NaiveDate| {
            days.entry(d)
                .or_insert(DaySummary {
                    date: d,
                    expected: 0,
                    reported: 0,
                    credited: 0,
                    reconciled: 0,
                    anomalies: 0,
                })
                .clone()
        };
        let items = sqlx::query(
            "SELECT item_date, CAST(COALESCE(SUM(CASE WHEN receipt_id IS NOT NULL THEN amount ELSE 0 \
             END), 0) AS BIGINT) AS expected, CAST(COALESCE(SUM(CASE WHEN class = 'RECONCILED' THEN amount ELSE \
             0 END), 0) AS BIGINT) AS reconciled, CAST(COALESCE(SUM(CASE WHEN class IN ('RECONCILED', \
             'PENDING') THEN 0 ELSE 1 END), 0) AS BIGINT) AS anomalies FROM recon_items WHERE organization \
             = $1 AND item_date >= $2 AND item_date <= $3 GROUP BY item_date",
        )
        .bind(org.clone())
        .bind(day(from))
        .bind(day(to))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        for r in &items {
            let d = parse_day(r, "item_date")?;
            let mut s = entry(&mut days, d);
            s.expected = int(r, "expected")?;
            s.reconciled = int(r, "reconciled")?;
            s.anomalies = int(r, "anomalies")?;
            days.insert(d, s);
        }
        let reported = sqlx::query(
            "SELECT l.line_date, CAST(COALESCE(SUM(l.amount), 0) AS BIGINT) AS total FROM recon_lines l JOIN \
             recon_flows f ON f.organization = l.organization AND f.digest = l.digest WHERE \
             l.organization = $1 AND l.line_date >= $2 AND l.line_date <= $3 AND f.superseded = \
             0 AND f.conflict = 0 AND l.foreign_iuv = 0 AND l.outcome <> 3 GROUP BY l.line_date",
        )
        .bind(org.clone())
        .bind(day(from))
        .bind(day(to))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        for r in &reported {
            let d = parse_day(r, "line_date")?;
            let mut s = entry(&mut days, d);
            s.reported = int(r, "total")?;
            days.insert(d, s);
        }
        let credited = sqlx::query(&format!(
            "SELECT booking_date, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM recon_movements WHERE \
             organization = $1 AND {INCOMING} AND booking_date >= $2 AND booking_date <= $3 \
             GROUP BY booking_date"
        ))
        .bind(org)
        .bind(day(from))
        .bind(day(to))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        for r in &credited {
            let d = parse_day(r, "booking_date")?;
            let mut s = entry(&mut days, d);
            s.credited = int(r, "total")?;
            days.insert(d, s);
        }
        Ok(days.into_values().collect())
    }

    async fn list_flows(
        &self,
        organization: &OrganizationFiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<FlowSummary>> {
        sqlx::query(
            "SELECT digest, flow_id, psp_id, revision, format, source, regulation_date, \
             declared_count, declared_total, lines_count, lines_total, foreign_lines, checks, \
             conflict, superseded, ingested_ms FROM recon_flows WHERE organization = $1 ORDER BY \
             ingested_ms DESC, flow_id LIMIT $2",
        )
        .bind(organization.as_str().to_owned())
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(FlowSummary {
                digest: text(r, "digest")?,
                flow_id: text(r, "flow_id")?,
                psp_id: text(r, "psp_id")?,
                revision: u32::try_from(int(r, "revision")?).map_err(|_| corrupt("revision"))?,
                format: text(r, "format")?,
                source: text(r, "source")?,
                regulation_date: parse_day(r, "regulation_date")?,
                declared_count: int(r, "declared_count")?,
                declared_total: int(r, "declared_total")?,
                lines_count: int(r, "lines_count")?,
                lines_total: int(r, "lines_total")?,
                foreign_lines: int(r, "foreign_lines")?,
                checks: serde_json::from_str(&text(r, "checks")?).map_err(|_| corrupt("checks"))?,
                conflict: boolean(r, "conflict")?,
                superseded: boolean(r, "superseded")?,
                ingested_at: at(r, "ingested_ms")?,
            })
        })
        .collect()
    }

    async fn has_flow(
        &self,
        organization: &OrganizationFiscalCode,
        flow_id: &str,
        psp_id: Option<&str>,
        revision: Option<u32>,
    ) -> StoreResult<bool> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM recon_flows WHERE organization = $1 AND flow_id = $2 AND ($3 IS NULL \
             OR psp_id = $3) AND ($4 IS NULL OR revision = $4) LIMIT 1",
        )
        .bind(organization.as_str().to_owned())
        .bind(flow_id.to_owned())
        .bind(psp_id.map(str::to_owned))
        .bind(revision.map(i64::from))
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(v.is_some())
    }

    async fn pending_effects(
        &self,
        organization: &OrganizationFiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<Item>> {
        sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM recon_items WHERE organization = $1 AND effects = 1 \
             ORDER BY item_key LIMIT $2"
        ))
        .bind(organization.as_str().to_owned())
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| stored_item(r).map(|i| i.item))
        .collect()
    }

    async fn effects_done(
        &self,
        organization: &OrganizationFiscalCode,
        keys: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for chunk in keys.chunks(KEYS_CHUNK) {
            let sql = format!(
                "UPDATE recon_items SET effects = 0 WHERE organization = $1 AND item_key IN ({})",
                params(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(organization.as_str().to_owned());
            for k in chunk {
                q = q.bind(k.clone());
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn recon_organizations(&self) -> StoreResult<Vec<OrganizationFiscalCode>> {
        sqlx::query(
            "SELECT organization FROM recon_flows UNION SELECT organization FROM \
             recon_statements UNION SELECT organization FROM payment_stations ORDER BY 1",
        )
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| parsed(r, "organization", OrganizationFiscalCode::parse))
        .collect()
    }

    async fn open_anomalies(&self) -> StoreResult<Vec<(Class, i64)>> {
        sqlx::query(
            "SELECT class, COUNT(*) AS n FROM recon_items WHERE class NOT IN ('RECONCILED', \
             'PENDING') AND closed_ms IS NULL GROUP BY class ORDER BY class",
        )
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok((
                Class::parse(&text(r, "class")?).ok_or_else(|| corrupt("class"))?,
                int(r, "n")?,
            ))
        })
        .collect()
    }
}
