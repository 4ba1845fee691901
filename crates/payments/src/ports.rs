//! What the payments domain needs from storage, one trait per aggregate. Storage adapters
//! (`store::SqlStore`) implement them; [`PaymentsStore`] is their composition with the
//! kernel's shared ports.

use chrono::{DateTime, Utc};
use kernel::audit::NewAuditEntry;
use kernel::jobs::JobKind;
use kernel::ports::{AuditLog, Health, JobQueue, Organizations, StoreResult};
use kernel::values::{Cidr, FiscalCode, OrganizationFiscalCode, ServiceId};
use serde::{Deserialize, Serialize};

use crate::import::{Import, ImportId, ImportLine, LineResult};
use crate::model::{Position, PositionEvent, PositionId, PositionStatus};
use crate::values::{Iupd, SegregationCode};

/// The subject/markdown an ente's pre-notices use, in Italian and English. Placeholders:
/// `{company}`, `{description}`, `{amount}` (Italian format), `{due_date}` (dd/mm/yyyy),
/// `{notice_number}`, `{installment}` (e.g. "rata 1 di 3", empty for a single payment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeTemplate {
    pub subject_it: String,
    pub markdown_it: String,
    pub subject_en: String,
    pub markdown_en: String,
}

impl Default for NoticeTemplate {
    fn default() -> Self {
        Self {
            subject_it: "Avviso di pagamento: {description}".into(),
            markdown_it: "{company} ti ha inviato un avviso di pagamento.\n\n\
                          **{description}** {installment}\n\n\
                          Importo: **{amount} €**, da pagare entro il **{due_date}**.\n\n\
                          Codice avviso: `{notice_number}`. Puoi pagare con pagoPA \
                          dall'app IO, sul sito dell'ente o presso gli sportelli abilitati."
                .into(),
            subject_en: "Payment notice: {description}".into(),
            markdown_en: "{company} sent you a payment notice.\n\n\
                          **{description}** {installment}\n\n\
                          Amount: **€ {amount}**, due by **{due_date}**.\n\n\
                          Notice number: `{notice_number}`. You can pay with pagoPA from \
                          the IO app, on the organization's website or at any authorised \
                          payment point."
                .into(),
        }
    }
}

/// An ente's payments set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub organization: OrganizationFiscalCode,
    /// The segregation codes its notice numbers carry; new ones get the first.
    pub segregation_codes: Vec<SegregationCode>,
    /// The IO service that sends its payment pre-notices, if any.
    pub io_service: Option<ServiceId>,
    /// Networks the payments key may be used from (empty: anywhere).
    pub cidrs: Vec<Cidr>,
    pub template: NoticeTemplate,
    pub created_at: DateTime<Utc>,
}

/// Which of the two payments keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlot {
    Primary,
    Secondary,
}

/// Payments set-up and keys per ente.
#[async_trait::async_trait]
pub trait Profiles: Send + Sync + 'static {
    /// Creates or replaces the ente's set-up and both key hashes, with the audit entry.
    async fn enable_payments(
        &self,
        profile: &Profile,
        primary_hash: &str,
        secondary_hash: &str,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    async fn payments_profile(
        &self,
        organization: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Profile>>;
    /// The profile whose primary or secondary key has this hash.
    async fn payments_profile_by_key(&self, hash: &str) -> StoreResult<Option<Profile>>;
    /// Replaces one key's hash.
    async fn set_payments_key(
        &self,
        organization: &OrganizationFiscalCode,
        slot: KeySlot,
        hash: &str,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    async fn set_payments_template(
        &self,
        organization: &OrganizationFiscalCode,
        template: &NoticeTemplate,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
}

/// A job to write with a position change, about that position (`subject_id` = position id,
/// or `<position id>:<option index>` for per-option work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionJob {
    pub kind: JobKind,
    pub subject_id: String,
    pub due_at: DateTime<Utc>,
}

/// One position to write, with the history line that explains the change and the jobs it
/// calls for, all in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionWrite {
    pub position: Position,
    pub event: Vec<PositionEvent>,
    pub jobs: Vec<PositionJob>,
}

/// What happened to one position of a create group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// Nothing written: the ente already has a position with this IUPD.
    DuplicateIupd,
    /// Nothing written: one of its IUVs or notice numbers is taken in this ente.
    DuplicateNotice,
}

/// Sort keys of GPD's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    InsertedDate,
    Iupd,
    Status,
    CompanyName,
}

/// GPD's list filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Positions with an option due in this range.
    pub due_from: Option<DateTime<Utc>>,
    pub due_to: Option<DateTime<Utc>>,
    /// Positions paid in this range.
    pub paid_from: Option<DateTime<Utc>>,
    pub paid_to: Option<DateTime<Utc>>,
    /// Any of these statuses (empty: all).
    pub statuses: Vec<PositionStatus>,
    /// Positions with a notice number of one of these segregation codes (empty: all).
    pub segregation_codes: Vec<SegregationCode>,
    pub order_by: Option<OrderBy>,
    pub descending: bool,
}

/// Debt positions, their notice numbers and history.
#[async_trait::async_trait]
pub trait Positions: Send + Sync + 'static {
    /// Reserves `n` consecutive 13-digit IUV bases and returns the first. Bases come from one
    /// database sequence, so nodes sharing the database never get the same one.
    async fn allocate_iuv_bases(&self, n: u64) -> StoreResult<u64>;
    /// Writes new positions (their notice numbers, history and jobs) in one transaction;
    /// a duplicate IUPD, IUV or notice number leaves that one out and says so.
    async fn create_positions(&self, writes: &[PositionWrite]) -> StoreResult<Vec<CreateOutcome>>;
    async fn get_position(
        &self,
        organization: &OrganizationFiscalCode,
        iupd: &Iupd,
    ) -> StoreResult<Option<Position>>;
    async fn get_position_by_id(&self, id: &PositionId) -> StoreResult<Option<Position>>;
    /// The position holding the option with this IUV or notice number.
    async fn position_by_notice(
        &self,
        organization: &OrganizationFiscalCode,
        iuv_or_nav: &str,
    ) -> StoreResult<Option<Position>>;
    /// Saves a changed position if it is still at `expected_version` (else `Conflict`);
    /// its notice numbers are rewritten (a clash with another position is a `Conflict`).
    /// `also` is written in the same transaction: a position created with it (a reissue).
    async fn save_position(
        &self,
        write: &PositionWrite,
        expected_version: i64,
        also: Option<&PositionWrite>,
    ) -> StoreResult<()>;
    /// Deletes a position still at `expected_version`, with its notices; the history stays.
    async fn delete_position(
        &self,
        id: &PositionId,
        expected_version: i64,
        event: &PositionEvent,
    ) -> StoreResult<()>;
    /// One page (from 0) of the ente's positions and how many match in all.
    async fn list_positions(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ListFilter,
        page: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Position>, i64)>;
    /// The position's history, oldest first (it outlives a deleted position).
    async fn position_history(&self, id: &PositionId) -> StoreResult<Vec<PositionEvent>>;
    /// Up to `limit` of the ente's positions with a transfer to this IBAN (updatable ones).
    async fn positions_with_iban(
        &self,
        organization: &OrganizationFiscalCode,
        iban: &str,
        limit: i64,
    ) -> StoreResult<Vec<Position>>;
    /// The positions this citizen owes (as debtor of the position), newest first.
    async fn positions_of_citizen(&self, fiscal_code: &FiscalCode) -> StoreResult<Vec<Position>>;
    /// Drops the link between the citizen and the positions they owe (account deletion);
    /// the ente's records stay. Returns how many were unlinked.
    async fn unlink_citizen(&self, fiscal_code: &FiscalCode) -> StoreResult<u64>;
}

/// Bulk imports of positions: the upload stored line by line (sealed), then processed in
/// chunks whose positions and line outcomes commit together.
#[async_trait::async_trait]
pub trait Imports: Send + Sync + 'static {
    /// Starts storing an upload (status RECEIVING, invisible). With an idempotency key that
    /// a complete import of the ente already holds, returns that one and `false`.
    async fn create_import(
        &self,
        import: &Import,
        idempotency_key: Option<&str>,
    ) -> StoreResult<(ImportId, bool)>;
    /// Stores lines of an upload still RECEIVING (`NotFound` once it was discarded).
    async fn add_import_lines(
        &self,
        id: &ImportId,
        lines: &[ImportLine],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Completes the upload: its total, its key, RUNNING, and its `import_positions` job, in
    /// one transaction. A key a concurrent upload took first: this one is discarded and that
    /// one returned with `false`.
    async fn seal_import(
        &self,
        id: &ImportId,
        total: i64,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<(ImportId, bool)>;
    /// Removes an upload and its lines.
    async fn discard_import(&self, id: &ImportId) -> StoreResult<()>;
    /// Removes the uploads still RECEIVING that stored nothing since `idle_since` (a client
    /// or a process gone mid-upload); returns how many.
    async fn discard_stale_imports(&self, idle_since: DateTime<Utc>) -> StoreResult<u64>;
    async fn get_import(&self, id: &ImportId) -> StoreResult<Option<Import>>;
    /// Up to `limit` lines after `after_line` with no outcome yet, in line order.
    async fn pending_import_lines(
        &self,
        id: &ImportId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<ImportLine>>;
    /// One chunk, in one transaction: creates `writes` as [`Positions::create_positions`]
    /// does, then records `outcomes` (lines rejected before writing) and the outcome of each
    /// write's line (`lines[i]` for `writes[i]`: CREATED, or DUPLICATE for an IUPD the ente
    /// has; a taken notice number rejects the line), each only for a line still without one,
    /// drops their bodies and advances the counters (DONE when none is left). A chunk run
    /// twice (a lease taken over) changes nothing the second time.
    async fn import_chunk(
        &self,
        id: &ImportId,
        writes: &[PositionWrite],
        lines: &[i64],
        outcomes: &[LineResult],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CreateOutcome>>;
    /// Up to `limit` line outcomes after `after_line`, in line order (PENDING for a line not
    /// processed yet).
    async fn import_report(
        &self,
        id: &ImportId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<LineResult>>;
}

/// Where a massive notice archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveStatus {
    /// Requested; its job has not started.
    Queued,
    /// Its job is rendering (again from the start after a crash).
    Running,
    /// The ZIP is complete and can be downloaded.
    Done,
    /// The job gave up (its last attempt failed); `error` says why.
    Failed,
}

impl ArchiveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Done => "DONE",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Which positions a notice archive holds: those of the ente matching all of these (an
/// empty list matches everything), inserted up to the archive's request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveFilter {
    #[serde(default)]
    pub statuses: Vec<PositionStatus>,
    /// Positions with an option due in this range (as [`ListFilter`]).
    #[serde(default)]
    pub due_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub due_to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub segregation_codes: Vec<SegregationCode>,
}

impl ArchiveFilter {
    /// The list filter with the same meaning (insertion order).
    pub fn to_list_filter(&self) -> ListFilter {
        ListFilter {
            due_from: self.due_from,
            due_to: self.due_to,
            statuses: self.statuses.clone(),
            segregation_codes: self.segregation_codes.clone(),
            ..ListFilter::default()
        }
    }
}

/// A massive notice archive: the payment notices of a filter's positions in one ZIP, built
/// by a `notice_archive` job. Counters are kept on the row, so progress is one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeArchive {
    /// A ULID.
    pub id: String,
    pub organization: OrganizationFiscalCode,
    pub filter: ArchiveFilter,
    /// `it`, `de` or `en` (the notices' second language, if any).
    pub language: String,
    pub status: ArchiveStatus,
    /// Positions matching the filter when the current run started (exact once DONE).
    pub total: i64,
    /// Notices added to the ZIP so far.
    pub done: i64,
    /// Positions left out so far (no notice can be printed for them; see `errors.ndjson`).
    pub failed: i64,
    /// The finished ZIP on the node that built it (DONE only).
    pub path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub error: Option<String>,
}

/// Where a page of an archive's positions starts: after this insertion time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveCursor {
    pub inserted: DateTime<Utc>,
    pub id: PositionId,
}

/// Massive notice archives and the ordered reads their job makes.
#[async_trait::async_trait]
pub trait Archives: Send + Sync + 'static {
    /// Writes a QUEUED archive, its `notice_archive` job and the audit entry in one
    /// transaction.
    async fn create_archive(
        &self,
        archive: &NoticeArchive,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    /// The ente's archive with this id (another ente's is `None`).
    async fn get_archive(
        &self,
        organization: &OrganizationFiscalCode,
        id: &str,
    ) -> StoreResult<Option<NoticeArchive>>;
    /// The archive with this id, whoever owns it (for its job).
    async fn get_archive_by_id(&self, id: &str) -> StoreResult<Option<NoticeArchive>>;
    /// (Re)starts a run: RUNNING with `total`, counters at zero, no path, no error.
    async fn start_archive(&self, id: &str, total: i64, now: DateTime<Utc>) -> StoreResult<()>;
    /// Records the run's counters so far.
    async fn archive_progress(
        &self,
        id: &str,
        done: i64,
        failed: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends the run: DONE with the file's path and the final counters (`total` becomes
    /// `done + failed`), or FAILED with the error.
    async fn finish_archive(
        &self,
        id: &str,
        outcome: Result<(&str, i64, i64), &str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// How many of the ente's positions inserted up to `until` match the filter.
    async fn count_archive_positions(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ArchiveFilter,
        until: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Up to `limit` of those positions after `after`, by insertion time then id: a stable
    /// order that paging by cursor walks exactly once.
    async fn archive_positions(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ArchiveFilter,
        until: DateTime<Utc>,
        after: Option<&ArchiveCursor>,
        limit: i64,
    ) -> StoreResult<Vec<Position>>;
}

/// The pagoPA station that serves an ente: the node calls it with these two ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Station {
    pub broker_id: String,
    pub station_id: String,
}

/// What a stored receipt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiptEffect {
    /// The issuing ente's receipt: it paid the option.
    Applied,
    /// A beneficiary's copy of another ente's receipt: its own transfers are recorded.
    Beneficiary,
    /// A second payment of an option already paid by another receipt: kept, nothing changed.
    DoublePayment,
    /// A receipt with outcome KO: kept, nothing changed.
    Failed,
}

impl ReceiptEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "APPLIED",
            Self::Beneficiary => "BENEFICIARY",
            Self::DoublePayment => "DOUBLE_PAYMENT",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Applied,
            Self::Beneficiary,
            Self::DoublePayment,
            Self::Failed,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// A receipt of the node (`paSendRT`/`V2`) as one ente keeps it. The columns lists need are in
/// clear; the receipt itself (debtor, payer: personal data) is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    /// The ente it was sent to (`idPA`).
    pub organization: OrganizationFiscalCode,
    pub receipt_id: String,
    /// The ente that issued the notice (the receipt's `fiscalCode`).
    pub issuer: String,
    pub notice_number: String,
    pub iuv: String,
    /// The position it paid, for an `Applied` receipt (or found, for a double payment).
    pub position_id: Option<PositionId>,
    pub effect: ReceiptEffect,
    pub amount: i64,
    /// The sum of this ente's own transfers.
    pub own_amount: i64,
    pub psp_id: String,
    pub channel_id: String,
    pub fee: Option<i64>,
    pub payment_method: Option<String>,
    pub payment_date: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// `paSendRTV2`.
    pub v2: bool,
    /// The debtor's fiscal code when a natural person: the citizen's receipts.
    pub citizen: Option<String>,
    /// This ente's transfers of the receipt (index, amount, IBAN, metadata): what
    /// reconciliation matches against the reporting flows. No personal data.
    pub transfers: Vec<crate::recon::ReceiptLine>,
    pub key_id: String,
    pub sealed: Vec<u8>,
}

/// A receipt to store and the payment it makes, if any: the position write and the version
/// it must still be at.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptWrite {
    pub receipt: StoredReceipt,
    pub effect: Option<(PositionWrite, i64)>,
}

/// Whether [`Receipts::record_receipt`] stored the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    Stored,
    /// This ente already holds a receipt with this id: nothing written.
    Duplicate,
}

/// Station assignments.
#[async_trait::async_trait]
pub trait Stations: Send + Sync + 'static {
    /// Assigns the ente (which must have a payments profile, else `NotFound("payments
    /// profile")`) to a station, with the audit entry.
    async fn set_station(
        &self,
        organization: &OrganizationFiscalCode,
        station: &Station,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    /// Every assignment.
    async fn stations(&self) -> StoreResult<Vec<(OrganizationFiscalCode, Station)>>;
}

/// The receipts of the node.
#[async_trait::async_trait]
pub trait Receipts: Send + Sync + 'static {
    /// Stores the receipt and, in the same transaction, `effect`: the position it pays saved
    /// if still at the version (else `Conflict("... changed meanwhile")`), with its history and
    /// jobs. A receipt id the ente already holds is `Duplicate` and writes nothing.
    async fn record_receipt(
        &self,
        receipt: &StoredReceipt,
        effect: Option<(&PositionWrite, i64)>,
    ) -> StoreResult<ReceiptOutcome>;
    /// [`Receipts::record_receipt`] for several receipts in one transaction (one commit for
    /// all: the group commit of concurrent receipts), each on its own: one that is a duplicate
    /// or whose position changed meanwhile fails alone and writes nothing.
    async fn record_receipts(
        &self,
        writes: &[ReceiptWrite],
    ) -> StoreResult<Vec<StoreResult<ReceiptOutcome>>>;
    async fn receipt(
        &self,
        organization: &OrganizationFiscalCode,
        receipt_id: &str,
    ) -> StoreResult<Option<StoredReceipt>>;
    /// The ente's receipts for this IUV, oldest first.
    async fn receipts_of_iuv(
        &self,
        organization: &OrganizationFiscalCode,
        iuv: &str,
    ) -> StoreResult<Vec<StoredReceipt>>;
    /// One page (from 0) of the ente's receipts received in `[from, to)`, newest first, and
    /// how many match. Lists carry no sealed body (`sealed` is empty): open one with
    /// [`Receipts::receipt`].
    async fn list_receipts(
        &self,
        organization: &OrganizationFiscalCode,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        page: i64,
        limit: i64,
    ) -> StoreResult<(Vec<StoredReceipt>, i64)>;
    /// The receipts whose debtor is this citizen, newest first, without their sealed bodies.
    async fn receipts_of_citizen(
        &self,
        fiscal_code: &FiscalCode,
    ) -> StoreResult<Vec<StoredReceipt>>;
}

/// A reporting flow document to keep (one revision of one flow, as received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDocument {
    pub organization: OrganizationFiscalCode,
    /// SHA-256 of the bytes, hex: the document's identity.
    pub digest: String,
    pub flow_id: String,
    pub psp_id: String,
    pub revision: u32,
    /// `XML` or `REST`.
    pub format: String,
    /// `api`, `folder` or `node`.
    pub source: String,
    pub regulation_id: String,
    pub regulation_date: chrono::NaiveDate,
    pub flow_time: chrono::NaiveDateTime,
    pub sender_id: String,
    pub receiver_id: String,
    pub declared_count: i64,
    pub declared_total: i64,
    pub lines_count: i64,
    pub lines_total: i64,
    /// The node's rules the flow breaks (kept as an anomaly, not refused).
    pub checks: Vec<String>,
    pub document: Vec<u8>,
    pub ingested_at: DateTime<Utc>,
}

/// One line of a flow document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLineRow {
    pub iuv: String,
    pub iur: String,
    pub index: u8,
    pub amount: i64,
    pub outcome: u8,
    pub date: chrono::NaiveDate,
    /// An IUV another intermediary issued (kept apart unless a receipt claims it).
    pub foreign: bool,
}

/// A stored flow, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowSummary {
    pub digest: String,
    pub flow_id: String,
    pub psp_id: String,
    pub revision: u32,
    pub format: String,
    pub source: String,
    pub regulation_date: chrono::NaiveDate,
    pub declared_count: i64,
    pub declared_total: i64,
    pub lines_count: i64,
    pub lines_total: i64,
    pub foreign_lines: i64,
    pub checks: Vec<String>,
    pub conflict: bool,
    pub superseded: bool,
    pub ingested_at: DateTime<Utc>,
}

/// What ingesting a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// New; for a flow, `conflict` when another document already holds its id, PSP and
    /// revision with other content.
    Created { conflict: bool },
    /// The same bytes were ingested before: nothing written.
    Known,
}

/// A treasury statement to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementDocument {
    pub organization: OrganizationFiscalCode,
    pub digest: String,
    pub document_id: String,
    /// `OPI_1_7_1`, `OPI_1_8`, `CAMT_053` or `CSV`.
    pub format: String,
    pub source: String,
    pub date: Option<chrono::NaiveDate>,
    /// The treasury's signature, kept verbatim and not verified.
    pub signature: Option<String>,
    pub document: Vec<u8>,
    pub ingested_at: DateTime<Utc>,
}

/// A movement of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRow {
    /// `<document id>/<movement id>`, unique per ente.
    pub id: String,
    pub account: String,
    pub incoming: bool,
    pub reversal: bool,
    pub amount: i64,
    pub booking_date: chrono::NaiveDate,
    pub value_date: Option<chrono::NaiveDate>,
    pub reference: crate::recon::MovementRef,
    pub end_to_end_id: Option<String>,
    pub bank_reference: Option<String>,
}

/// Which payments and movements a reconciliation run looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconScope {
    /// Everything the ente holds.
    All,
    /// What changed since the last run: the documents ingested since (kept in a durable
    /// queue), receipts received since `receipts_since`, and pending items due before `today`.
    Changed {
        receipts_since: DateTime<Utc>,
        today: chrono::NaiveDate,
    },
}

/// The facts of a scope, and what to clear once its items are saved.
#[derive(Debug, Clone, Default)]
pub struct ReconBatch {
    pub facts: crate::recon::Facts,
    /// The movements of the scope (their `m:` items are replaced by the run's).
    pub movement_ids: Vec<String>,
    /// The highest queue entry read (cleared by [`Reconciliation::save_recon`]).
    pub queue_mark: i64,
    /// The scope is everything: stored items not produced again are removed.
    pub whole: bool,
    /// The number of runs saved when the facts were read: saving fails with a conflict when
    /// another run saved meanwhile.
    pub generation: i64,
}

/// A stored reconciliation item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub item: crate::recon::Item,
    pub updated_at: DateTime<Utc>,
    pub note: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
}

/// Filters of the reconciliation list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    pub classes: Vec<crate::recon::Class>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub psp_id: Option<String>,
    pub flow_id: Option<String>,
    /// Include closed anomalies (default: only open ones and non-anomalies).
    pub include_closed: bool,
    /// Only anomalies (not `RECONCILED` or `PENDING`).
    pub anomalies_only: bool,
}

/// Per-class totals of a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassTotal {
    pub class: crate::recon::Class,
    pub count: i64,
    pub amount: i64,
}

/// One day of the summary (payment dates; movement dates for credits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySummary {
    pub date: chrono::NaiveDate,
    /// Σ of the receipts paid that day (this ente's transfers).
    pub expected: i64,
    /// Σ of the flow lines reported for payments of that day.
    pub reported: i64,
    /// Σ of the incoming movements booked that day.
    pub credited: i64,
    pub reconciled: i64,
    pub anomalies: i64,
}

/// Reconciliation documents and results.
#[async_trait::async_trait]
pub trait Reconciliation: Send + Sync + 'static {
    /// Keeps a flow and its lines in one transaction; marks older revisions superseded (or
    /// this one, when a later revision is held) and queues the IUVs and the flow id for the
    /// next run. The same digest again is `Known` and writes nothing.
    async fn ingest_flow(
        &self,
        doc: &FlowDocument,
        lines: &[FlowLineRow],
    ) -> StoreResult<IngestOutcome>;
    /// Keeps a statement and its movements (a movement id already held is skipped) and queues
    /// the new movements. Returns the outcome and how many movements were new.
    async fn ingest_statement(
        &self,
        doc: &StatementDocument,
        movements: &[MovementRow],
    ) -> StoreResult<(IngestOutcome, u64)>;
    /// Of these IUVs, those the ente has a receipt or a notice number for.
    async fn known_iuvs(
        &self,
        organization: &OrganizationFiscalCode,
        iuvs: &[String],
    ) -> StoreResult<std::collections::BTreeSet<String>>;
    /// Gathers the facts of a scope.
    async fn recon_facts(
        &self,
        organization: &OrganizationFiscalCode,
        scope: &ReconScope,
    ) -> StoreResult<ReconBatch>;
    /// Saves the items of a run in one transaction: upserts those that changed, removes the
    /// `m:` items of `batch.movement_ids` not in `items`, clears the queue up to the batch's
    /// mark and records `ran_at` as the last run. Returns the items whose class changed (with
    /// their previous class). `Conflict` when another run saved since the batch was read.
    async fn save_recon(
        &self,
        organization: &OrganizationFiscalCode,
        batch: &ReconBatch,
        items: &[crate::recon::Item],
        ran_at: DateTime<Utc>,
    ) -> StoreResult<Vec<(crate::recon::Item, Option<crate::recon::Class>)>>;
    /// When the ente was last reconciled.
    async fn last_recon(
        &self,
        organization: &OrganizationFiscalCode,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// One page of items ordered by date and key, after `cursor` (`(date, key)`).
    async fn list_items(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ItemFilter,
        cursor: Option<&(chrono::NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<StoredItem>>;
    async fn item_totals(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ItemFilter,
    ) -> StoreResult<Vec<ClassTotal>>;
    async fn get_item(
        &self,
        organization: &OrganizationFiscalCode,
        key: &str,
    ) -> StoreResult<Option<StoredItem>>;
    /// Sets an item's note and, with `close`, closes it (reopens with `Some(false)`), audited.
    async fn annotate_item(
        &self,
        organization: &OrganizationFiscalCode,
        key: &str,
        note: Option<&str>,
        close: Option<bool>,
        audit: &NewAuditEntry,
    ) -> StoreResult<Option<StoredItem>>;
    async fn day_summary(
        &self,
        organization: &OrganizationFiscalCode,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<DaySummary>>;
    /// The ente's flows, newest ingested first.
    async fn list_flows(
        &self,
        organization: &OrganizationFiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<FlowSummary>>;
    /// Whether the ente holds this flow id (of this PSP and revision when given), for fetching.
    async fn has_flow(
        &self,
        organization: &OrganizationFiscalCode,
        flow_id: &str,
        psp_id: Option<&str>,
        revision: Option<u32>,
    ) -> StoreResult<bool>;
    /// Open anomalies of every ente, by class (for the gauges).
    async fn open_anomalies(&self) -> StoreResult<Vec<(crate::recon::Class, i64)>>;
    /// Items whose position effect is still to apply, at most `limit`.
    async fn pending_effects(
        &self,
        organization: &OrganizationFiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<crate::recon::Item>>;
    /// Marks these items' effects applied.
    async fn effects_done(
        &self,
        organization: &OrganizationFiscalCode,
        keys: &[String],
    ) -> StoreResult<()>;
    /// The enti holding reconciliation documents, for the periodic runs.
    async fn recon_organizations(&self) -> StoreResult<Vec<OrganizationFiscalCode>>;
}

/// Every port the payments domain uses.
pub trait PaymentsStore:
    Health
    + Organizations
    + AuditLog
    + JobQueue
    + Profiles
    + Positions
    + Imports
    + Archives
    + Stations
    + Receipts
    + Reconciliation
{
}

impl<T> PaymentsStore for T where
    T: Health
        + Organizations
        + AuditLog
        + JobQueue
        + Profiles
        + Positions
        + Imports
        + Archives
        + Stations
        + Receipts
        + Reconciliation
{
}

/// Brings every payments port into scope.
pub mod prelude {
    pub use super::{
        Archives, Imports, PaymentsStore, Positions, Profiles, Receipts, Reconciliation, Stations,
    };
}
