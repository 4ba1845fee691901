//! An in-memory search index over published datasets, queried with CKAN/Solr-style
//! parameters (`q`, `fq`, `fq_list`, `facet.field`, `facet.limit`, `facet.mincount`, `rows`,
//! `start`, `sort`).
//!
//! - `q`: free text over title (weight 4), keywords (2), description and organization (1);
//!   lower-cased, accents folded, Italian stop words dropped, each word reduced by a light
//!   Italian stemmer (plural/gender endings and common derivational suffixes — not the full
//!   Snowball algorithm); every word must match (AND); `-word` excludes; `*:*` or empty
//!   matches everything; `field:value` clauses are filters as in `fq`.
//! - `fq`: clauses separated by spaces or ` AND `: `field:value`, `field:"value"`,
//!   `field:(a OR b)`, optionally prefixed by `+` or `-` (negation). Fields: organization,
//!   theme, territory, year, res_format, license_id, tags (tags case-insensitive).
//! - Facets count over the whole filtered result. Scores: weighted term frequency; ties by
//!   modified, newest first.
//!
//! Queries scan every document (cheap at tens of thousands; not yet benchmarked).

use chrono::{DateTime, Utc};

/// What the index knows of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDoc {
    pub id: String,
    pub organization: String,
    pub organization_title: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub themes: Vec<String>,
    /// ISTAT codes, with the provinces and regions they lie in.
    pub territory: Vec<String>,
    pub years: Vec<i32>,
    pub formats: Vec<String>,
    pub license: String,
    pub modified: DateTime<Utc>,
}

/// A facet (and filter) field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Facet {
    Organization,
    Theme,
    Territory,
    Year,
    ResFormat,
    LicenseId,
    Tags,
}

impl Facet {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "organization" => Self::Organization,
            "theme" => Self::Theme,
            "territory" => Self::Territory,
            "year" => Self::Year,
            "res_format" => Self::ResFormat,
            "license_id" => Self::LicenseId,
            "tags" => Self::Tags,
            _ => return None,
        })
    }
}

const FIELDS: &str = "organization, theme, territory, year, res_format, license_id, tags";

/// Sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Score,
    MetadataModified,
    TitleString,
    Name,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    field: Facet,
    values: Vec<String>,
    negated: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    terms: Vec<String>,
    excluded: Vec<String>,
    clauses: Vec<Clause>,
    pub facet_fields: Vec<Facet>,
    pub facet_limit: usize,
    pub facet_mincount: u64,
    pub rows: usize,
    pub start: usize,
    pub sort: Vec<(SortKey, Order)>,
}

/// The raw parameters, as strings from the HTTP layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub q: Option<String>,
    pub fq: Option<String>,
    pub fq_list: Vec<String>,
    /// A JSON array as text, as CKAN sends it: `["theme","organization"]`.
    pub facet_field: Option<String>,
    pub facet_limit: Option<String>,
    pub facet_mincount: Option<String>,
    pub rows: Option<String>,
    pub start: Option<String>,
    pub sort: Option<String>,
}

/// A parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {why}")]
pub struct QueryError {
    pub param: &'static str,
    pub why: String,
}

fn qerr(param: &'static str, why: impl Into<String>) -> QueryError {
    QueryError {
        param,
        why: why.into(),
    }
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub count: usize,
    pub ids: Vec<String>,
    pub facets: Vec<(Facet, Vec<(String, u64)>)>,
}

const STOP: &[&str] = &[
    "a", "ad", "al", "alla", "alle", "agli", "ai", "anche", "che", "chi", "con", "da", "dai",
    "dal", "dalla", "dalle", "degli", "dei", "del", "della", "delle", "dello", "di", "e", "ed",
    "gli", "i", "il", "in", "la", "le", "lo", "ma", "ne", "nei", "nel", "nella", "nelle", "o",
    "per", "piu", "quale", "se", "si", "su", "sul", "sulla", "tra", "fra", "un", "una", "uno",
    "the", "of", "and",
];

fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' => 'a',
        'è' | 'é' | 'ê' => 'e',
        'ì' | 'í' | 'î' => 'i',
        'ò' | 'ó' | 'ô' => 'o',
        'ù' | 'ú' | 'û' => 'u',
        other => other,
    }
}

/// The light Italian stem of a (lower-case, folded) word.
pub fn stem(word: &str) -> String {
    let mut w = word.to_owned();
    for suffix in [
        "azioni", "azione", "amenti", "amento", "imenti", "imento", "mente", "ita", "ici", "ico",
        "ica", "iche",
    ] {
        if w.len() > suffix.len() + 3 && w.ends_with(suffix) {
            w.truncate(w.len() - suffix.len());
            break;
        }
    }
    while w.len() > 4 && w.ends_with(['a', 'e', 'i', 'o']) {
        w.pop();
    }
    w
}

/// The analysed terms of a text.
pub fn terms(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(fold)
        .collect::<String>()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP.contains(w))
        .map(stem)
        .collect()
}

fn split_clauses(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut depth) = (false, 0i32);
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && !quoted && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .filter(|c| c != "AND" && c != "&&")
        .collect()
}

fn parse_clause(raw: &str, param: &'static str) -> Result<Option<Clause>, QueryError> {
    let (negated, body) = match raw.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, raw.strip_prefix('+').unwrap_or(raw)),
    };
    let Some((field, value)) = body.split_once(':') else {
        return Ok(None);
    };
    let f = Facet::parse(field).ok_or_else(|| {
        qerr(
            param,
            format!("unknown field \"{field}\"; expected one of {FIELDS}"),
        )
    })?;
    let values: Vec<String> = match value.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
        Some(inner) => inner
            .split(" OR ")
            .map(|v| v.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
            .collect(),
        None => vec![value.trim_matches('"').to_owned()],
    };
    if values.iter().all(String::is_empty) {
        return Err(qerr(param, format!("no value for field \"{field}\"")));
    }
    Ok(Some(Clause {
        field: f,
        values,
        negated,
    }))
}

fn num(
    p: &Option<String>,
    param: &'static str,
    default: usize,
    max: usize,
) -> Result<usize, QueryError> {
    match p {
        None => Ok(default),
        Some(s) => s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| qerr(param, format!("must be 0..={max}"))),
    }
}

/// Parses CKAN's parameters.
pub fn parse_query(p: &Params) -> Result<Query, QueryError> {
    let mut q = Query {
        terms: Vec::new(),
        excluded: Vec::new(),
        clauses: Vec::new(),
        facet_fields: Vec::new(),
        facet_limit: num(&p.facet_limit, "facet.limit", 50, 1_000)?,
        facet_mincount: num(&p.facet_mincount, "facet.mincount", 1, usize::MAX)? as u64,
        rows: num(&p.rows, "rows", 10, 1_000)?,
        start: num(&p.start, "start", 0, usize::MAX)?,
        sort: Vec::new(),
    };
    if let Some(text) =
        p.q.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "*:*")
    {
        for part in split_clauses(text) {
            if let Some(c) = parse_clause(&part, "q")? {
                q.clauses.push(c);
            } else if let Some(neg) = part.strip_prefix('-') {
                q.excluded.extend(terms(neg));
            } else {
                q.terms.extend(terms(part.trim_matches('"')));
            }
        }
    }
    for fq in p.fq.iter().chain(&p.fq_list) {
        for part in split_clauses(fq) {
            match parse_clause(&part, "fq")? {
                Some(c) => q.clauses.push(c),
                None => return Err(qerr("fq", format!("\"{part}\" is not field:value"))),
            }
        }
    }
    if let Some(ff) = &p.facet_field {
        let list: Vec<String> = serde_json::from_str(ff)
            .map_err(|_| qerr("facet.field", "a JSON array of field names"))?;
        for f in list {
            q.facet_fields.push(Facet::parse(&f).ok_or_else(|| {
                qerr(
                    "facet.field",
                    format!("unknown field \"{f}\"; expected one of {FIELDS}"),
                )
            })?);
        }
    }
    match p.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            q.sort = vec![
                (SortKey::Score, Order::Desc),
                (SortKey::MetadataModified, Order::Desc),
            ]
        }
        Some(s) => {
            for part in s.split(',') {
                let mut w = part.split_whitespace();
                let key = match w.next() {
                    Some("score") => SortKey::Score,
                    Some("metadata_modified") => SortKey::MetadataModified,
                    Some("title_string") => SortKey::TitleString,
                    Some("name") => SortKey::Name,
                    other => {
                        return Err(qerr(
                            "sort",
                            format!(
                                "unknown sort field {other:?}; expected score, \
                                 metadata_modified, title_string or name"
                            ),
                        ));
                    }
                };
                let order = match w.next() {
                    None | Some("asc") => Order::Asc,
                    Some("desc") => Order::Desc,
                    Some(o) => {
                        return Err(qerr("sort", format!("\"{o}\": expected asc or desc")));
                    }
                };
                q.sort.push((key, order));
            }
        }
    }
    Ok(q)
}

struct Entry {
    doc: SearchDoc,
    title: Vec<String>,
    keywords: Vec<String>,
    body: Vec<String>,
    tags_lower: Vec<String>,
    title_lower: String,
}

/// The index.
#[derive(Default)]
pub struct Index {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl Index {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a document, replacing one with the same id.
    pub fn upsert(&mut self, doc: SearchDoc) {
        self.remove(&doc.id);
        let mut body = terms(&doc.description);
        body.extend(terms(&doc.organization_title));
        self.entries.push(Entry {
            title: terms(&doc.title),
            keywords: doc.keywords.iter().flat_map(|k| terms(k)).collect(),
            tags_lower: doc.keywords.iter().map(|k| k.to_lowercase()).collect(),
            title_lower: doc.title.to_lowercase(),
            body,
            doc,
        });
    }

    pub fn remove(&mut self, id: &str) {
        self.entries.retain(|e| e.doc.id != id);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn values(e: &Entry, f: Facet) -> Vec<String> {
        let d = &e.doc;
        match f {
            Facet::Organization => vec![d.organization.clone()],
            Facet::Theme => d.themes.clone(),
            Facet::Territory => d.territory.clone(),
            Facet::Year => d.years.iter().map(i32::to_string).collect(),
            Facet::ResFormat => d.formats.clone(),
            Facet::LicenseId => vec![d.license.clone()],
            Facet::Tags => d.keywords.clone(),
        }
    }

    fn matches(e: &Entry, c: &Clause) -> bool {
        let hit = if c.field == Facet::Tags {
            c.values
                .iter()
                .any(|v| e.tags_lower.contains(&v.to_lowercase()))
        } else {
            let vals = Self::values(e, c.field);
            c.values.iter().any(|v| vals.contains(v))
        };
        hit != c.negated
    }

    fn score(e: &Entry, terms: &[String]) -> Option<f64> {
        let mut total = 0.0;
        for t in terms {
            let s = 4.0 * e.title.iter().filter(|x| *x == t).count() as f64
                + 2.0 * e.keywords.iter().filter(|x| *x == t).count() as f64
                + e.body.iter().filter(|x| *x == t).count() as f64;
            if s == 0.0 {
                return None;
            }
            total += s;
        }
        Some(total)
    }

    /// Runs a query.
    pub fn search(&self, q: &Query) -> SearchResult {
        let mut hits: Vec<(&Entry, f64)> = self
            .entries
            .iter()
            .filter(|e| q.clauses.iter().all(|c| Self::matches(e, c)))
            .filter(|e| {
                !q.excluded
                    .iter()
                    .any(|t| e.title.contains(t) || e.keywords.contains(t) || e.body.contains(t))
            })
            .filter_map(|e| Self::score(e, &q.terms).map(|s| (e, s)))
            .collect();
        let mut facets = Vec::new();
        for f in &q.facet_fields {
            let mut counts: std::collections::HashMap<String, u64> =
                std::collections::HashMap::new();
            for (e, _) in &hits {
                for v in Self::values(e, *f) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let mut list: Vec<(String, u64)> = counts
                .into_iter()
                .filter(|(_, n)| *n >= q.facet_mincount)
                .collect();
            list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            list.truncate(q.facet_limit);
            facets.push((*f, list));
        }
        hits.sort_by(|a, b| {
            for (k, o) in &q.sort {
                let ord = match k {
                    SortKey::Score => a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal),
                    SortKey::MetadataModified => a.0.doc.modified.cmp(&b.0.doc.modified),
                    SortKey::TitleString | SortKey::Name => a.0.title_lower.cmp(&b.0.title_lower),
                };
                let ord = if *o == Order::Desc {
                    ord.reverse()
                } else {
                    ord
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            b.0.doc.modified.cmp(&a.0.doc.modified)
        });
        SearchResult {
            count: hits.len(),
            ids: hits
                .iter()
                .skip(q.start)
                .take(q.rows)
                .map(|(e, _)| e.doc.id.clone())
                .collect(),
            facets,
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on a bad fixture"
)]
mod tests {
    use super::*;

    fn doc(id: &str, title: &str, themes: &[&str], territory: &[&str]) -> SearchDoc {
        SearchDoc {
            id: id.into(),
            organization: "c_l682".into(),
            organization_title: "Comune di Varese".into(),
            title: title.into(),
            description: "Dati del comune".into(),
            keywords: vec!["Bilancio".into()],
            themes: themes.iter().map(|s| (*s).into()).collect(),
            territory: territory.iter().map(|s| (*s).into()).collect(),
            years: vec![2024],
            formats: vec!["CSV".into()],
            license: "A21_CCBY40".into(),
            modified: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        }
    }

    fn run(ix: &Index, p: Params) -> SearchResult {
        ix.search(&parse_query(&p).unwrap())
    }

    #[test]
    fn singular_and_plural_share_a_stem() {
        assert_eq!(stem("contributi"), stem("contributo"));
        assert_eq!(
            terms("I pagamenti della città"),
            vec![stem("pagamento"), stem("citta")]
        );
    }

    #[test]
    fn filters_and_words_are_and_ed_and_facets_count_the_filtered_set() {
        let mut ix = Index::new();
        ix.upsert(doc(
            "1",
            "Contributi ai quartieri",
            &["GOVE"],
            &["012133", "012", "03"],
        ));
        ix.upsert(doc("2", "Qualità dell'aria", &["ENVI"], &["015"]));
        let r = run(
            &ix,
            Params {
                q: Some("contributo".into()),
                ..Params::default()
            },
        );
        assert_eq!(r.ids, ["1"]);
        let r = run(
            &ix,
            Params {
                fq: Some("theme:(GOVE OR ENVI) -territory:015".into()),
                facet_field: Some("[\"theme\"]".into()),
                ..Params::default()
            },
        );
        assert_eq!(r.ids, ["1"]);
        assert_eq!(r.facets[0].1, vec![("GOVE".to_owned(), 1)]);
        let r = run(
            &ix,
            Params {
                fq: Some("tags:bilancio".into()),
                rows: Some("1".into()),
                start: Some("1".into()),
                ..Params::default()
            },
        );
        assert_eq!((r.count, r.ids.len()), (2, 1));
    }

    #[test]
    fn unknown_fields_are_refused_naming_the_parameter() {
        let e = parse_query(&Params {
            fq: Some("colour:red".into()),
            ..Params::default()
        })
        .unwrap_err();
        assert_eq!(e.param, "fq");
        assert!(
            parse_query(&Params {
                rows: Some("5000".into()),
                ..Params::default()
            })
            .is_err()
        );
    }

    #[test]
    fn upsert_replaces_and_remove_forgets() {
        let mut ix = Index::new();
        ix.upsert(doc("1", "A", &["GOVE"], &[]));
        ix.upsert(doc("1", "B", &["ENVI"], &[]));
        assert_eq!(ix.len(), 1);
        let r = run(
            &ix,
            Params {
                fq: Some("theme:ENVI".into()),
                ..Params::default()
            },
        );
        assert_eq!(r.count, 1);
        ix.remove("1");
        assert!(ix.is_empty());
    }
}
