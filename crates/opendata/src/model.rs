//! The aggregate: a dataset of one organization, its metadata and its resources (tables).

use chrono::{DateTime, NaiveDate, Utc};
use kernel::values::{Email, OrganizationFiscalCode};
use serde::Serialize;

/// One entry of a controlled vocabulary: its code, URI and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Term {
    /// The code as the API takes it (`GOVE`, `ANNUAL`, `A21_CCBY40`, `CSV`, ISTAT code).
    pub code: &'static str,
    /// The vocabulary URI (`http://publications.europa.eu/resource/authority/data-theme/GOVE`).
    pub uri: &'static str,
    pub label_it: &'static str,
    pub label_en: &'static str,
}

/// A licence of the Italian licence vocabulary, with its ADMS licence type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Licence {
    pub term: Term,
    /// `http://purl.org/adms/licencetype/…`.
    pub adms_type: &'static str,
    /// The licence text's canonical URL where there is one (Creative Commons deed).
    pub document_url: Option<&'static str>,
}

/// The level of an ISTAT territorial code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TerritoryLevel {
    Region,
    Province,
    Municipality,
}

/// A territory named by its ISTAT code (region `12`, province `058`, comune `058091`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Territory {
    pub term: Term,
    pub level: TerritoryLevel,
}

/// A period of time covered by the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Temporal {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// The office to contact about a dataset (DCAT-AP_IT `dcatapit:Organization`, a vcard:Kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactPoint {
    /// The office's name, not a person's.
    pub name: String,
    pub email: Email,
}

/// A dataset's DCAT-AP_IT metadata, every value checked (see `meta::parse`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetMeta {
    pub title: String,
    /// Plain text (no HTML).
    pub description: String,
    /// EU data themes, at least one.
    pub themes: Vec<Term>,
    /// EU frequency.
    pub frequency: Term,
    pub licence: Licence,
    pub keywords: Vec<String>,
    pub territory: Vec<Territory>,
    pub temporal: Option<Temporal>,
    pub contact: Option<ContactPoint>,
    pub landing_page: Option<String>,
}

/// Whether a dataset is visible to the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetState {
    Draft,
    Published,
}

/// The publisher and rights holder (DCAT-AP_IT Agent, identified by its IPA code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub organization: OrganizationFiscalCode,
    /// IPA code; the organization's fiscal code when the IPA code is unknown.
    pub identifier: String,
    pub name: String,
}

/// A dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// ULID, the dataset's id in the API and in URIs.
    pub id: String,
    /// `dct:identifier`: `<IPA code>:<id>`.
    pub identifier: String,
    pub publisher: Agent,
    pub meta: DatasetMeta,
    pub state: DatasetState,
    pub created_at: DateTime<Utc>,
    /// `dct:modified`: changes with the metadata and with any resource.
    pub modified_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// The logical type of a column (Frictionless Table Schema field types we infer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Integer,
    /// Decimal number; the source may use `,` or `.` as decimal separator.
    Number,
    Boolean,
    /// ISO date (the source may be day-first `31/12/2024`).
    Date,
    String,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Field {
    /// The column name from the header (made unique and non-empty).
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// A description an editor may set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The RDF property the column maps to when the resource is published as linked data.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "rdfType")]
    pub rdf_property: Option<String>,
    /// For numbers: the decimal separator of the source (`,` for Italian-style values), as
    /// Table Schema's `decimalChar`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "decimalChar"
    )]
    pub decimal_char: Option<char>,
}

/// A Frictionless Table Schema (the subset we infer and store).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct TableSchema {
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "primaryKey")]
    pub primary_key: Vec<String>,
}

/// One cell as stored: typed after the schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Integer(i64),
    Number(f64),
    Boolean(bool),
    /// ISO `YYYY-MM-DD`.
    Date(NaiveDate),
    Text(String),
}

/// The file formats a resource may be uploaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InputFormat {
    Csv,
    Json,
    GeoJson,
    /// Office Open XML workbook: the first worksheet is read.
    Xlsx,
    /// OpenDocument spreadsheet: the first table is read.
    Ods,
}

impl InputFormat {
    pub const ALL: [Self; 5] = [Self::Csv, Self::Json, Self::GeoJson, Self::Xlsx, Self::Ods];

    /// The EU file-type code (`CSV`, `JSON`, `GEOJSON`, `XLSX`, `ODS`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Json => "JSON",
            Self::GeoJson => "GEOJSON",
            Self::Xlsx => "XLSX",
            Self::Ods => "ODS",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The format a media type (its essence, lower case, no parameters) names, if it is one
    /// the reader takes.
    pub fn from_media_type(essence: &str) -> Option<Self> {
        Some(match essence {
            "text/csv" | "application/csv" | "text/plain" => Self::Csv,
            "application/json" => Self::Json,
            "application/geo+json" | "application/vnd.geo+json" => Self::GeoJson,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Self::Xlsx,
            "application/vnd.oasis.opendocument.spreadsheet" => Self::Ods,
            _ => return None,
        })
    }
}

/// A problem found while reading a table, naming where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QualityIssue {
    /// Frictionless-style error type: `type-error`, `extra-cell`, `missing-cell`,
    /// `duplicate-label`, `blank-label`, `blank-row`, `unique-error`, `encoding-repair`,
    /// `formula-cell`, `truncated-value`, `source-error`.
    pub kind: String,
    /// 1-based row number in the file (the header is row 1), when the issue is at a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// Column name, when the issue is at a column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

/// Per-column figures of a load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ColumnStats {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub empty_cells: u64,
    /// Cells that did not fit the column's inferred type (kept as text, counted here).
    pub type_conflicts: u64,
}

/// The quality report of one load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QualityReport {
    /// Data rows (header excluded).
    pub row_count: u64,
    /// Detected encoding: `UTF-8`, `UTF-8 (BOM)`, `windows-1252`.
    pub encoding: String,
    /// Detected delimiter for CSV (`,`, `;`, `\t`, `|`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub empty_cells: u64,
    pub columns: Vec<ColumnStats>,
    /// Rows whose primary-key values repeat an earlier row (when a key is declared).
    pub duplicate_keys: u64,
    /// Bytes not valid in the detected encoding, replaced.
    pub encoding_repairs: u64,
    /// At most 100 issues listed; `issue_count` is the total.
    pub issues: Vec<QualityIssue>,
    pub issue_count: u64,
}

/// Kinds of personal data the screening looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    FiscalCode,
    Email,
    Phone,
    Iban,
    PersonName,
    StreetAddress,
}

/// A column where personal data was found: counts and masked examples, never raw values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PiiFinding {
    pub column: String,
    pub kind: PiiKind,
    /// Cells of the column that matched.
    pub cells: u64,
    /// Up to three examples with most characters masked (`RSS*********X`).
    pub examples: Vec<String>,
}

/// Whether a resource may be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceState {
    /// Personal data found and not yet resolved: the dataset cannot be published with it.
    Blocked,
    Ready,
}

/// A resource (DCAT distribution): one table of a dataset, in its current version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    /// ULID.
    pub id: String,
    pub dataset_id: String,
    pub name: String,
    /// The EU file type of the uploaded file (`CSV`, `JSON`, `GEOJSON`).
    pub format: Term,
    /// The media type the file was uploaded with.
    pub media_type: String,
    pub byte_size: u64,
    /// The published version (1 after the first load; a replacement or append adds one).
    pub version: u32,
    pub schema: TableSchema,
    pub quality: QualityReport,
    pub findings: Vec<PiiFinding>,
    pub state: ResourceState,
    /// How an editor resolved each column where personal data was found.
    pub resolutions: Vec<PiiResolution>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

/// What an editor did about personal data in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PiiAction {
    /// The column is no longer in the table.
    Removed,
    /// The column's values are masked.
    Masked,
    /// The column stays as it is, for a recorded reason.
    Justified,
}

/// One resolution, audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PiiResolution {
    pub column: String,
    pub action: PiiAction,
    /// Required for `justified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The delegate id.
    pub by: String,
    pub at: DateTime<Utc>,
}
