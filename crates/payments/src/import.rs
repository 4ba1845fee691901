//! Bulk imports of debt positions: the import and its lines as stored, the outcome of a line,
//! and the documented CSV form (one single-payment position per row, up to five transfer
//! groups) turned into the GPD v1 `PaymentPositionModel` JSON that [`crate::gpd::parse_v1`]
//! checks, so a CSV row and an NDJSON line are held to exactly the same rules. Splitting the
//! upload into records and a record into fields is the adapters' job (the CSV reader is
//! shared with the messaging batches); this module only names and converts the fields.

use chrono::{DateTime, Utc};
use kernel::values::OrganizationFiscalCode;
use serde_json::{Map, Value};

/// The identifier of an import (a ULID, time ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImportId(ulid::Ulid);

impl ImportId {
    pub fn new_at(now: DateTime<Utc>) -> Self {
        let ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        Self(ulid::Ulid::from_parts(ms, ulid::Ulid::new().random()))
    }

    pub fn parse(input: &str) -> Result<Self, kernel::values::ValueError> {
        ulid::Ulid::from_string(input)
            .map(Self)
            .map_err(|_| kernel::values::ValueError::new("an import id is a 26-character ULID"))
    }
}

impl std::fmt::Display for ImportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The sealing context of an import line: binds a sealed line to its import and line number.
pub fn line_context(id: &ImportId, line: i64) -> String {
    format!("import:{id}:{line}")
}

/// Upload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// One GPD v1 `PaymentPositionModel` per line.
    Ndjson,
    /// The documented columns ([`csv_header`]).
    Csv,
}

impl ImportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ndjson" => Some(Self::Ndjson),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    /// The upload is being stored; nobody sees the import yet.
    Receiving,
    /// Stored whole; lines are being processed.
    Running,
    /// Every line has its outcome.
    Done,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receiving => "RECEIVING",
            Self::Running => "RUNNING",
            Self::Done => "DONE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RECEIVING" => Some(Self::Receiving),
            "RUNNING" => Some(Self::Running),
            "DONE" => Some(Self::Done),
            _ => None,
        }
    }
}

/// An import and its counters (kept with every chunk, so reading progress counts nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub id: ImportId,
    pub organization: OrganizationFiscalCode,
    pub format: ImportFormat,
    /// The CSV header record (column names only); `None` for NDJSON.
    pub header: Option<String>,
    pub to_publish: bool,
    pub status: ImportStatus,
    /// Lines that stand for a position (the CSV header and blank lines excluded).
    pub total: i64,
    pub created: i64,
    /// Lines whose IUPD the ente already had: nothing new written, counted as done.
    pub duplicates: i64,
    pub rejected: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Import {
    /// Lines with no outcome yet.
    pub fn pending(&self) -> i64 {
        (self.total - self.created - self.duplicates - self.rejected).max(0)
    }
}

/// A stored line, sealed (it holds the debtor's data) until it has its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    pub line: i64,
    pub key_id: String,
    pub body: Vec<u8>,
}

/// What became of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutcome {
    /// Not processed yet (only in a report read while the import runs).
    Pending,
    Created,
    /// The ente already has a position with the line's IUPD (an earlier line of the file or
    /// an earlier upload): nothing changed. A re-upload of the same file reports every line so.
    Duplicate,
    Rejected,
}

impl LineOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Created => "CREATED",
            Self::Duplicate => "DUPLICATE",
            Self::Rejected => "REJECTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PENDING" => Some(Self::Pending),
            "CREATED" => Some(Self::Created),
            "DUPLICATE" => Some(Self::Duplicate),
            "REJECTED" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// The outcome of one line, as recorded and reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineResult {
    pub line: i64,
    #[serde(serialize_with = "outcome_str")]
    pub outcome: LineOutcome,
    pub iupd: Option<String>,
    pub reason: Option<String>,
}

fn outcome_str<S: serde::Serializer>(o: &LineOutcome, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(o.as_str())
}

/// The outcome of a line whose position went to `create_positions`.
pub fn outcome_of(line: i64, iupd: &str, created: &crate::ports::CreateOutcome) -> LineResult {
    use crate::ports::CreateOutcome;
    let (outcome, reason) = match created {
        CreateOutcome::Created => (LineOutcome::Created, None),
        CreateOutcome::DuplicateIupd => (
            LineOutcome::Duplicate,
            Some(format!(
                "the organization already has a debt position with IUPD {iupd} (from an \
                 earlier line or upload): nothing was changed"
            )),
        ),
        CreateOutcome::DuplicateNotice => (
            LineOutcome::Rejected,
            Some(
                "the organization already has a payment option with one of this position's \
                 IUVs or notice numbers"
                    .to_owned(),
            ),
        ),
    };
    LineResult {
        line,
        outcome,
        iupd: Some(iupd.to_owned()),
        reason,
    }
}

/// The position columns of the CSV, in their documented order.
pub const CSV_POSITION_COLUMNS: [&str; 17] = [
    "iupd",
    "type",
    "fiscalCode",
    "fullName",
    "streetName",
    "civicNumber",
    "postalCode",
    "city",
    "province",
    "region",
    "country",
    "email",
    "phone",
    "companyName",
    "officeName",
    "switchToExpired",
    "validityDate",
];

/// The columns of the row's single payment option.
pub const CSV_OPTION_COLUMNS: [&str; 6] = [
    "iuv",
    "nav",
    "amount",
    "description",
    "dueDate",
    "retentionDate",
];

/// The fields of a transfer group, each column named `transfer<n>_<field>` (n from 1 to 5).
pub const CSV_TRANSFER_FIELDS: [&str; 7] = [
    "idTransfer",
    "amount",
    "organizationFiscalCode",
    "remittanceInformation",
    "category",
    "iban",
    "postalIban",
];

/// How many transfer groups a row may have.
pub const CSV_TRANSFER_GROUPS: usize = 5;

/// Columns a header must have.
const CSV_REQUIRED: [&str; 7] = [
    "iupd",
    "type",
    "fiscalCode",
    "fullName",
    "companyName",
    "amount",
    "description",
];

/// What a column stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Position(&'static str),
    Option(&'static str),
    /// Group index (0-based) and field.
    Transfer(usize, &'static str),
}

fn column(name: &str) -> Option<Column> {
    if let Some(c) = CSV_POSITION_COLUMNS.iter().find(|c| **c == name) {
        return Some(Column::Position(c));
    }
    if let Some(c) = CSV_OPTION_COLUMNS.iter().find(|c| **c == name) {
        return Some(Column::Option(c));
    }
    let rest = name.strip_prefix("transfer")?;
    let (n, field) = rest.split_once('_')?;
    let n: usize = n
        .parse()
        .ok()
        .filter(|n| (1..=CSV_TRANSFER_GROUPS).contains(n))?;
    let field = CSV_TRANSFER_FIELDS.iter().find(|f| **f == field)?;
    Some(Column::Transfer(n - 1, field))
}

/// A checked CSV header: the columns in the file's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvHeader {
    columns: Vec<Column>,
}

/// Checks the header's column names (already split into fields): every name documented, none
/// repeated, the required ones present; columns may come in any order.
pub fn csv_header(names: &[String]) -> Result<CsvHeader, String> {
    let mut columns = Vec::with_capacity(names.len());
    for (i, raw) in names.iter().enumerate() {
        let name = raw.trim();
        let c = column(name).ok_or_else(|| {
            format!(
                "unknown column `{name}`; the columns are {}, {} and transfer1_… to \
                 transfer{CSV_TRANSFER_GROUPS}_… with the fields {}",
                CSV_POSITION_COLUMNS.join(", "),
                CSV_OPTION_COLUMNS.join(", "),
                CSV_TRANSFER_FIELDS.join(", ")
            )
        })?;
        if names[..i].iter().any(|n| n.trim() == name) {
            return Err(format!("the column `{name}` appears more than once"));
        }
        columns.push(c);
    }
    for required in CSV_REQUIRED {
        if !names.iter().any(|n| n.trim() == required) {
            return Err(format!("the header lacks the required column `{required}`"));
        }
    }
    if !columns.iter().any(|c| matches!(c, Column::Transfer(..))) {
        return Err("the header has no transfer column (transfer1_amount, …)".into());
    }
    Ok(CsvHeader { columns })
}

/// A whole number if the cell is one; otherwise the text, which the position's parser then
/// reports at the field's path.
fn number_or_text(cell: &str) -> Value {
    cell.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(cell))
}

fn bool_or_text(cell: &str) -> Value {
    match cell {
        "true" | "TRUE" | "True" => Value::Bool(true),
        "false" | "FALSE" | "False" => Value::Bool(false),
        other => Value::from(other),
    }
}

/// The `PaymentPositionModel` JSON a CSV row stands for: empty cells are absent, the option
/// is a single payment (`isPartialPayment: false`), `switchToExpired` defaults to `false`,
/// and transfer groups with every cell empty are left out (the others keep their order).
pub fn csv_to_json(header: &CsvHeader, fields: &[String]) -> Result<Value, String> {
    if fields.len() != header.columns.len() {
        return Err(format!(
            "{} fields, but the header has {} columns",
            fields.len(),
            header.columns.len()
        ));
    }
    let mut position = Map::new();
    let mut option = Map::new();
    let mut transfers: Vec<Map<String, Value>> = vec![Map::new(); CSV_TRANSFER_GROUPS];
    option.insert("isPartialPayment".into(), Value::Bool(false));
    for (c, cell) in header.columns.iter().zip(fields) {
        if cell.is_empty() {
            continue;
        }
        match *c {
            Column::Position("switchToExpired") => {
                position.insert("switchToExpired".into(), bool_or_text(cell));
            }
            Column::Position(name) => {
                position.insert(name.into(), Value::from(cell.as_str()));
            }
            Column::Option("amount") => {
                option.insert("amount".into(), number_or_text(cell));
            }
            Column::Option(name) => {
                option.insert(name.into(), Value::from(cell.as_str()));
            }
            Column::Transfer(g, "amount") => {
                transfers[g].insert("amount".into(), number_or_text(cell));
            }
            Column::Transfer(g, name) => {
                transfers[g].insert(name.into(), Value::from(cell.as_str()));
            }
        }
    }
    position
        .entry("switchToExpired")
        .or_insert(Value::Bool(false));
    let transfers: Vec<Value> = transfers
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(Value::Object)
        .collect();
    option.insert("transfer".into(), Value::Array(transfers));
    position.insert(
        "paymentOption".into(),
        Value::Array(vec![Value::Object(option)]),
    );
    Ok(Value::Object(position))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        s.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn a_csv_row_with_two_transfer_groups_becomes_the_gpd_json_and_parses() {
        let header = csv_header(&strings(
            "iupd,type,fiscalCode,fullName,companyName,amount,description,dueDate,\
             transfer1_idTransfer,transfer1_amount,transfer1_remittanceInformation,\
             transfer1_category,transfer1_iban,transfer2_idTransfer,transfer2_amount,\
             transfer2_organizationFiscalCode,transfer2_remittanceInformation,\
             transfer2_category,transfer2_iban,transfer3_idTransfer,transfer3_amount",
        ))
        .unwrap();
        let row = strings(
            "TARI-1,F,RSSMRA85T10A562S,Mario Rossi,Comune di Varese,10000,TARI 2027,\
             2099-01-01T00:00:00Z,1,7000,quota comune,9/0101108TS/,IT60X0542811101000000123456,\
             2,3000,15376371009,quota provincia,9/0101108TS/,IT42L1234512345123456789012,,",
        );
        let v = csv_to_json(&header, &row).unwrap();
        assert_eq!(v["iupd"], "TARI-1");
        assert_eq!(v["switchToExpired"], false);
        let o = &v["paymentOption"][0];
        assert_eq!(o["amount"], 10_000);
        assert_eq!(o["isPartialPayment"], false);
        let t = o["transfer"].as_array().unwrap();
        assert_eq!(t.len(), 2, "the empty third group is left out");
        assert_eq!(t[1]["organizationFiscalCode"], "15376371009");
        assert_eq!(t[1]["amount"], 3_000);
        let org = OrganizationFiscalCode::parse("00441340122").unwrap();
        let draft = crate::gpd::parse_v1(&v, &org, Utc::now()).unwrap();
        assert_eq!(draft.position.options[0].transfers.len(), 2);
        assert_eq!(draft.missing, [0]);
    }

    #[test]
    fn a_bad_cell_is_left_for_the_position_parser_to_name() {
        let header = csv_header(&strings(
            "iupd,type,fiscalCode,fullName,companyName,amount,description,transfer1_amount",
        ))
        .unwrap();
        let v = csv_to_json(&header, &strings("X,F,RSSMRA85T10A562S,M,C,dieci,D,1")).unwrap();
        assert_eq!(v["paymentOption"][0]["amount"], "dieci");
        assert!(
            csv_to_json(&header, &strings("a,b"))
                .unwrap_err()
                .contains("2 fields")
        );
    }

    #[test]
    fn a_csv_header_names_only_documented_columns_once_with_the_required_ones() {
        let ok = "iupd,type,fiscalCode,fullName,companyName,amount,description,transfer1_amount";
        assert!(csv_header(&strings(ok)).is_ok());
        let e = csv_header(&strings(&format!("{ok},transfer6_amount"))).unwrap_err();
        assert!(e.contains("transfer6_amount"), "{e}");
        let e = csv_header(&strings(&format!("{ok},colour"))).unwrap_err();
        assert!(e.contains("`colour`"), "{e}");
        let e = csv_header(&strings(&format!("{ok}, iupd"))).unwrap_err();
        assert!(e.contains("more than once"), "{e}");
        let e =
            csv_header(&strings("iupd,type,fiscalCode,fullName,companyName,amount")).unwrap_err();
        assert!(e.contains("`description`"), "{e}");
        let e = csv_header(&strings(
            "iupd,type,fiscalCode,fullName,companyName,amount,description",
        ))
        .unwrap_err();
        assert!(e.contains("no transfer column"), "{e}");
    }

    #[test]
    fn import_values_round_trip_their_names() {
        for o in [
            LineOutcome::Pending,
            LineOutcome::Created,
            LineOutcome::Duplicate,
            LineOutcome::Rejected,
        ] {
            assert_eq!(LineOutcome::parse(o.as_str()), Some(o));
        }
        for s in [
            ImportStatus::Receiving,
            ImportStatus::Running,
            ImportStatus::Done,
        ] {
            assert_eq!(ImportStatus::parse(s.as_str()), Some(s));
        }
        let id = ImportId::new_at(Utc::now());
        assert_eq!(ImportId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(ImportFormat::parse("csv"), Some(ImportFormat::Csv));
    }
}
