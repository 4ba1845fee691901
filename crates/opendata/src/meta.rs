//! A dataset's DCAT-AP_IT metadata read from untrusted JSON, every value checked against the
//! controlled vocabularies, every fault collected (not only the first).
//!
//! The JSON shape (what [`parse`] accepts and [`to_json`] writes; codes, not URIs):
//!
//! ```json
//! {
//!   "title": "Pratiche edilizie 2024",
//!   "description": "Le pratiche edilizie presentate allo sportello.",
//!   "themes": ["GOVE", "REGI"],
//!   "frequency": "MONTHLY",
//!   "license": "A21_CCBY40",
//!   "keywords": ["edilizia", "permessi"],
//!   "territory": ["058091"],
//!   "temporal": {"start": "2024-01-01", "end": "2024-12-31"},
//!   "contact_point": {"name": "Ufficio tecnico", "email": "tecnico@comune.example.it"},
//!   "landing_page": "https://www.comune.example.it/edilizia"
//! }
//! ```

use chrono::NaiveDate;
use kernel::fields::{FieldErrors, ObjectReader};
use kernel::values::Email;
use serde_json::{Map, Value, json};

use crate::model::{ContactPoint, DatasetMeta, Temporal, Term, Territory};
use crate::vocab;

const FIELDS: &[&str] = &[
    "title",
    "description",
    "themes",
    "frequency",
    "license",
    "keywords",
    "territory",
    "temporal",
    "contact_point",
    "landing_page",
];
const TEMPORAL_FIELDS: &[&str] = &["start", "end"];
const CONTACT_FIELDS: &[&str] = &["name", "email"];

const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 10_000;
const KEYWORDS_MAX: usize = 50;
const KEYWORD_MAX: usize = 100;
const TERRITORY_MAX: usize = 100;
const CONTACT_NAME_MAX: usize = 200;
const LANDING_PAGE_MAX: usize = 2_000;

/// Reads and checks a dataset's metadata. On failure, every field at fault is named (dotted
/// path, list items by index: `themes[2]`, `temporal.end`) with a reason in English.
pub fn parse(input: &Value) -> Result<DatasetMeta, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(reader) = ObjectReader::new(input, "", &mut errors) else {
        return Err(errors);
    };
    unknown_fields(&reader, FIELDS, &mut errors);

    let title = text(&reader, "title", true, TITLE_MAX, false, &mut errors);
    let description = text(
        &reader,
        "description",
        true,
        DESCRIPTION_MAX,
        true,
        &mut errors,
    );
    if let Some(d) = &description
        && looks_like_html(d)
    {
        errors.push(
            reader.path("description"),
            "plain text only (DCAT-AP_IT: no HTML)",
        );
    }
    let themes = themes(&reader, &mut errors);
    let frequency = code(
        &reader,
        "frequency",
        "frequency",
        vocab::frequency,
        || join_codes(vocab::frequencies().iter()),
        &mut errors,
    );
    let licence = code(
        &reader,
        "license",
        "licence",
        vocab::licence,
        || join_codes(vocab::licences().iter().map(|l| &l.term)),
        &mut errors,
    );
    let keywords = keywords(&reader, &mut errors);
    let territory = territories(&reader, &mut errors);
    let temporal = temporal(&reader, &mut errors);
    let contact = contact_point(&reader, &mut errors);
    let landing_page = landing_page(&reader, &mut errors);

    match (title, description, themes, frequency, licence) {
        (Some(title), Some(description), Some(themes), Some(frequency), Some(licence))
            if errors.is_empty() =>
        {
            Ok(DatasetMeta {
                title,
                description,
                themes,
                frequency,
                licence,
                keywords: keywords.unwrap_or_default(),
                territory: territory.unwrap_or_default(),
                temporal,
                contact,
                landing_page,
            })
        }
        _ => Err(errors),
    }
}

/// The metadata in the JSON shape [`parse`] accepts: `parse(&to_json(m)) == Ok(m)`. Empty lists
/// and absent optional values are left out.
pub fn to_json(meta: &DatasetMeta) -> Value {
    let mut out = Map::new();
    out.insert("title".into(), json!(meta.title));
    out.insert("description".into(), json!(meta.description));
    out.insert(
        "themes".into(),
        json!(meta.themes.iter().map(|t| t.code).collect::<Vec<_>>()),
    );
    out.insert("frequency".into(), json!(meta.frequency.code));
    out.insert("license".into(), json!(meta.licence.term.code));
    if !meta.keywords.is_empty() {
        out.insert("keywords".into(), json!(meta.keywords));
    }
    if !meta.territory.is_empty() {
        out.insert(
            "territory".into(),
            json!(
                meta.territory
                    .iter()
                    .map(|t| t.term.code)
                    .collect::<Vec<_>>()
            ),
        );
    }
    if let Some(t) = &meta.temporal {
        let mut temporal = Map::new();
        temporal.insert(
            "start".into(),
            json!(t.start.format("%Y-%m-%d").to_string()),
        );
        if let Some(end) = t.end {
            temporal.insert("end".into(), json!(end.format("%Y-%m-%d").to_string()));
        }
        out.insert("temporal".into(), Value::Object(temporal));
    }
    if let Some(c) = &meta.contact {
        out.insert(
            "contact_point".into(),
            json!({"name": c.name, "email": c.email.as_str()}),
        );
    }
    if let Some(url) = &meta.landing_page {
        out.insert("landing_page".into(), json!(url));
    }
    Value::Object(out)
}

fn unknown_fields(reader: &ObjectReader<'_>, allowed: &[&str], errors: &mut FieldErrors) {
    for key in reader.obj.keys() {
        if !allowed.contains(&key.as_str()) {
            errors.push(
                reader.path(key),
                format!(
                    "unknown field \"{key}\"; expected one of {}",
                    allowed.join(", ")
                ),
            );
        }
    }
}

fn join_codes<'a>(terms: impl Iterator<Item = &'a Term>) -> String {
    terms.map(|t| t.code).collect::<Vec<_>>().join(", ")
}

/// Control characters, other than line breaks and tabs where `multiline`.
fn has_control(s: &str, multiline: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

/// A trimmed string of 1 to `max` characters.
fn text_value(
    value: &Value,
    at: &str,
    max: usize,
    multiline: bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let Some(s) = value.as_str() else {
        errors.push(at, "must be a string");
        return None;
    };
    let s = s.trim();
    let n = s.chars().count();
    if n == 0 {
        errors.push(at, "must not be empty or only spaces");
        return None;
    }
    if n > max {
        errors.push(
            at,
            format!("must be at most {max} characters long (got {n})"),
        );
        return None;
    }
    if has_control(s, multiline) {
        let what = if multiline {
            "control characters other than line breaks and tabs"
        } else {
            "control characters or line breaks"
        };
        errors.push(at, format!("must not contain {what}"));
        return None;
    }
    Some(s.to_owned())
}

fn text(
    reader: &ObjectReader<'_>,
    name: &str,
    required: bool,
    max: usize,
    multiline: bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let value = if required {
        reader.required(name, errors)?
    } else {
        reader.optional(name)?
    };
    text_value(value, &reader.path(name), max, multiline, errors)
}

/// `<` followed by a letter, `/`, `!` or `?`: the start of a tag, a comment or a declaration.
fn looks_like_html(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<'
            && let Some(&next) = chars.peek()
            && (next.is_ascii_alphabetic() || matches!(next, '/' | '!' | '?'))
        {
            return true;
        }
    }
    false
}

/// A required code looked up in a vocabulary.
fn code<T>(
    reader: &ObjectReader<'_>,
    name: &str,
    what: &str,
    lookup: impl Fn(&str) -> Option<T>,
    valid: impl Fn() -> String,
    errors: &mut FieldErrors,
) -> Option<T> {
    let value = reader.required(name, errors)?;
    let Some(s) = value.as_str() else {
        errors.push(
            reader.path(name),
            format!("must be a string (a {what} code)"),
        );
        return None;
    };
    let found = lookup(s);
    if found.is_none() {
        errors.push(
            reader.path(name),
            format!("unknown {what} code \"{s}\"; expected one of {}", valid()),
        );
    }
    found
}

/// An optional array, at most `max` long; `required` records "is required" when missing and
/// refuses an empty one.
fn array<'a>(
    reader: &ObjectReader<'a>,
    name: &str,
    required: bool,
    max: usize,
    errors: &mut FieldErrors,
) -> Option<&'a Vec<Value>> {
    let value = if required {
        reader.required(name, errors)?
    } else {
        reader.optional(name)?
    };
    let Some(items) = value.as_array() else {
        errors.push(reader.path(name), "must be an array");
        return None;
    };
    if required && items.is_empty() {
        errors.push(reader.path(name), "must list at least one value");
        return None;
    }
    if items.len() > max {
        errors.push(
            reader.path(name),
            format!("must list at most {max} values (got {})", items.len()),
        );
        return None;
    }
    Some(items)
}

fn themes(reader: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<Vec<Term>> {
    let items = array(reader, "themes", true, usize::MAX, errors)?;
    let mut out: Vec<Term> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = format!("{}[{i}]", reader.path("themes"));
        let Some(code) = item.as_str() else {
            errors.push(at, "must be a string (an EU data-theme code)");
            ok = false;
            continue;
        };
        match vocab::theme(code) {
            None => {
                errors.push(
                    at,
                    format!(
                        "unknown theme code \"{code}\"; expected one of {}",
                        join_codes(vocab::themes().iter())
                    ),
                );
                ok = false;
            }
            Some(t) => {
                if let Some(j) = out.iter().position(|o| o.code == t.code) {
                    errors.push(
                        at,
                        format!("theme \"{code}\" is already listed at themes[{j}]"),
                    );
                    ok = false;
                } else {
                    out.push(t);
                }
            }
        }
    }
    ok.then_some(out)
}

fn keywords(reader: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<Vec<String>> {
    let items = array(reader, "keywords", false, KEYWORDS_MAX, errors)?;
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    let mut folded: Vec<String> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = format!("{}[{i}]", reader.path("keywords"));
        let Some(keyword) = text_value(item, &at, KEYWORD_MAX, false, errors) else {
            ok = false;
            continue;
        };
        let key = keyword.to_lowercase();
        if let Some(j) = folded.iter().position(|k| *k == key) {
            errors.push(
                at,
                format!(
                    "keyword \"{keyword}\" repeats keywords[{j}] (keywords are compared ignoring case)"
                ),
            );
            ok = false;
            continue;
        }
        folded.push(key);
        out.push(keyword);
    }
    ok.then_some(out)
}

fn territories(reader: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<Vec<Territory>> {
    let items = array(reader, "territory", false, TERRITORY_MAX, errors)?;
    let mut out: Vec<Territory> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = format!("{}[{i}]", reader.path("territory"));
        let Some(code) = item.as_str() else {
            errors.push(at, "must be a string (an ISTAT territorial code)");
            ok = false;
            continue;
        };
        match vocab::territory(code) {
            None => {
                errors.push(
                    at,
                    format!(
                        "unknown ISTAT territorial code \"{code}\"; expected a region (2 digits, 01 to 20), a province (3 digits, such as 058) or a comune (6 digits, such as 058091)"
                    ),
                );
                ok = false;
            }
            Some(t) => {
                if let Some(j) = out.iter().position(|o| o.term.code == t.term.code) {
                    errors.push(
                        at,
                        format!("territory \"{code}\" is already listed at territory[{j}]"),
                    );
                    ok = false;
                } else {
                    out.push(t);
                }
            }
        }
    }
    ok.then_some(out)
}

/// A calendar date written exactly `YYYY-MM-DD`.
fn date(value: &Value, at: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let Some(s) = value.as_str() else {
        errors.push(at, "must be a string (a date, YYYY-MM-DD)");
        return None;
    };
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = if shape_ok {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    } else {
        None
    };
    if parsed.is_none() {
        errors.push(
            at,
            format!("must be a calendar date written YYYY-MM-DD (got \"{s}\")"),
        );
    }
    parsed
}

fn temporal(reader: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<Temporal> {
    let obj = reader.object("temporal", false, errors)?;
    unknown_fields(&obj, TEMPORAL_FIELDS, errors);
    let start = obj
        .required("start", errors)
        .and_then(|v| date(v, &obj.path("start"), errors));
    let end = match obj.optional("end") {
        None => Some(None),
        Some(v) => date(v, &obj.path("end"), errors).map(Some),
    };
    let (start, end) = (start?, end?);
    if let Some(e) = end
        && e < start
    {
        errors.push(
            obj.path("end"),
            format!("must not be before temporal.start ({start})"),
        );
        return None;
    }
    Some(Temporal { start, end })
}

fn contact_point(reader: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<ContactPoint> {
    let obj = reader.object("contact_point", false, errors)?;
    unknown_fields(&obj, CONTACT_FIELDS, errors);
    let name = text(&obj, "name", true, CONTACT_NAME_MAX, false, errors);
    let email = obj.parsed("email", true, Email::parse, errors);
    Some(ContactPoint {
        name: name?,
        email: email?,
    })
}

/// Why a landing page is not an absolute http(s) URL with a host, or `None` when it is.
fn url_fault(url: &str) -> Option<String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Some("must be an absolute URL starting with https:// or http://".into());
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain spaces or control characters".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some("must not contain user information (user:password@)".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((inner, after)) => {
                if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
                    return Some("has an invalid IPv6 host".into());
                }
                match after {
                    "" => (inner, None),
                    p if p.starts_with(':') => (inner, Some(&p[1..])),
                    _ => return Some("has an invalid host".into()),
                }
            }
            None => return Some("has an invalid IPv6 host".into()),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Some("must name a host".into());
    }
    if !authority.starts_with('[') {
        let labels_ok = host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !labels_ok {
            return Some(format!("has an invalid host \"{host}\""));
        }
    }
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err())
    {
        return Some(format!("has an invalid port \"{p}\""));
    }
    None
}

fn landing_page(reader: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<String> {
    let value = reader.optional("landing_page")?;
    let at = reader.path("landing_page");
    let Some(url) = value.as_str() else {
        errors.push(at, "must be a string (a URL)");
        return None;
    };
    let n = url.chars().count();
    if n > LANDING_PAGE_MAX {
        errors.push(
            at,
            format!("must be at most {LANDING_PAGE_MAX} characters long (got {n})"),
        );
        return None;
    }
    if let Some(reason) = url_fault(url) {
        errors.push(at, reason);
        return None;
    }
    Some(url.to_owned())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use proptest::prelude::*;

    use super::*;

    fn valid() -> Value {
        json!({
            "title": "  Pratiche edilizie 2024 ",
            "description": "Le pratiche edilizie presentate allo sportello.\nUna riga per pratica.",
            "themes": ["GOVE", "REGI"],
            "frequency": "MONTHLY",
            "license": "A21_CCBY40",
            "keywords": ["edilizia", "Permessi"],
            "territory": ["058091", "12"],
            "temporal": {"start": "2024-01-01", "end": "2024-12-31"},
            "contact_point": {"name": "Ufficio tecnico", "email": "tecnico@Comune.Example.it"},
            "landing_page": "https://www.comune.example.it/edilizia?anno=2024"
        })
    }

    fn errors_of(input: Value) -> Vec<(String, String)> {
        parse(&input)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.name, e.reason))
            .collect()
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = valid();
        v[field] = value;
        v
    }

    fn names(errors: &[(String, String)]) -> Vec<&str> {
        errors.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn valid_metadata_is_read_with_its_vocabulary_terms() {
        let meta = parse(&valid()).unwrap();
        assert_eq!(meta.title, "Pratiche edilizie 2024");
        assert_eq!(meta.themes.len(), 2);
        assert_eq!(meta.themes[0].label_it, "Governo e settore pubblico");
        assert_eq!(meta.frequency.code, "MONTHLY");
        assert_eq!(
            meta.licence.adms_type,
            "http://purl.org/adms/licencetype/Attribution"
        );
        assert_eq!(meta.keywords, ["edilizia", "Permessi"]);
        assert_eq!(meta.territory[0].term.label_it, "Roma");
        let t = meta.temporal.unwrap();
        assert_eq!(t.start, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(t.end, NaiveDate::from_ymd_opt(2024, 12, 31));
        assert_eq!(
            meta.contact.unwrap().email.as_str(),
            "tecnico@comune.example.it"
        );
    }

    #[test]
    fn only_the_required_fields_are_enough() {
        let meta = parse(&json!({
            "title": "T",
            "description": "D",
            "themes": ["ECON"],
            "frequency": "ANNUAL",
            "license": "C1_Unknown"
        }))
        .unwrap();
        assert!(meta.keywords.is_empty() && meta.territory.is_empty());
        assert!(meta.temporal.is_none() && meta.contact.is_none() && meta.landing_page.is_none());
    }

    #[test]
    fn every_fault_is_reported_at_once() {
        let errors = errors_of(json!({
            "title": "",
            "themes": ["GOVX", "GOVE", "GOVE", 3],
            "frequency": "monthly",
            "license": "CC-BY",
            "colour": "blue"
        }));
        let names = names(&errors);
        for expected in [
            "colour",
            "title",
            "description",
            "themes[0]",
            "themes[2]",
            "themes[3]",
            "frequency",
            "license",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing in {errors:?}"
            );
        }
        assert!(!names.contains(&"themes[1]"));
    }

    #[test]
    fn unknown_theme_codes_are_named_with_the_valid_ones() {
        let errors = errors_of(with("themes", json!(["GOVE", "ECON", "GOVX"])));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "themes[2]");
        assert_eq!(
            errors[0].1,
            "unknown theme code \"GOVX\"; expected one of AGRI, ECON, EDUC, ENER, ENVI, GOVE, HEAL, INTR, JUST, REGI, SOCI, TECH, TRAN"
        );
    }

    #[test]
    fn themes_are_required_non_empty_and_without_duplicates() {
        let mut v = valid();
        v.as_object_mut().unwrap().remove("themes");
        assert_eq!(errors_of(v), [("themes".into(), "is required".into())]);
        assert_eq!(names(&errors_of(with("themes", json!([])))), ["themes"]);
        assert_eq!(names(&errors_of(with("themes", json!("GOVE")))), ["themes"]);
        let dup = errors_of(with("themes", json!(["GOVE", "GOVE"])));
        assert_eq!(dup[0].0, "themes[1]");
        assert!(dup[0].1.contains("already listed at themes[0]"));
    }

    #[test]
    fn codes_are_case_sensitive() {
        assert_eq!(
            names(&errors_of(with("themes", json!(["gove"])))),
            ["themes[0]"]
        );
        let f = errors_of(with("frequency", json!("monthly")));
        assert!(
            f[0].1
                .starts_with("unknown frequency code \"monthly\"; expected one of")
        );
        assert!(f[0].1.contains("MONTHLY"));
        let l = errors_of(with("license", json!("a21_ccby40")));
        assert_eq!(l[0].0, "license");
        assert!(l[0].1.starts_with("unknown licence code \"a21_ccby40\""));
        assert!(l[0].1.contains("A21_CCBY40"));
    }

    #[test]
    fn unknown_fields_are_refused_by_name_also_when_nested() {
        let mut v = valid();
        v["temporal"]["granularity"] = json!("month");
        v["contact_point"]["phone"] = json!("06 1234");
        v["publisher"] = json!("x");
        let errors = errors_of(v);
        let names = names(&errors);
        assert!(names.contains(&"publisher"));
        assert!(names.contains(&"temporal.granularity"));
        assert!(names.contains(&"contact_point.phone"));
        assert!(errors[0].1.starts_with("unknown field \""));
    }

    #[test]
    fn the_title_is_trimmed_and_at_most_200_characters() {
        assert_eq!(names(&errors_of(with("title", json!("   ")))), ["title"]);
        assert!(parse(&with("title", json!("é".repeat(200)))).is_ok());
        let long = errors_of(with("title", json!("é".repeat(201))));
        assert_eq!(long[0].1, "must be at most 200 characters long (got 201)");
        assert_eq!(names(&errors_of(with("title", json!("a\nb")))), ["title"]);
        assert_eq!(names(&errors_of(with("title", json!(42)))), ["title"]);
    }

    #[test]
    fn the_description_must_be_plain_text() {
        for html in [
            "<p>Ciao</p>",
            "Testo <b>grassetto</b>",
            "a</div>",
            "<!-- x -->",
            "<br/>",
        ] {
            let errors = errors_of(with("description", json!(html)));
            assert_eq!(
                errors,
                [(
                    "description".into(),
                    "plain text only (DCAT-AP_IT: no HTML)".into()
                )],
                "{html}"
            );
        }
        for plain in ["a < b e b > c", "3<4", "x <= y", "freccia <- qui"] {
            assert!(parse(&with("description", json!(plain))).is_ok(), "{plain}");
        }
        assert!(parse(&with("description", json!("x".repeat(10_000)))).is_ok());
        assert_eq!(
            names(&errors_of(with("description", json!("x".repeat(10_001))))),
            ["description"]
        );
    }

    #[test]
    fn keywords_are_trimmed_limited_and_unique_ignoring_case() {
        let meta = parse(&with("keywords", json!([" rifiuti ", "acqua"]))).unwrap();
        assert_eq!(meta.keywords, ["rifiuti", "acqua"]);
        let dup = errors_of(with("keywords", json!(["Acqua", "rifiuti", "ACQUA"])));
        assert_eq!(dup[0].0, "keywords[2]");
        assert!(dup[0].1.contains("repeats keywords[0]"));
        let many: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
        assert_eq!(
            errors_of(with("keywords", json!(many))),
            [(
                "keywords".into(),
                "must list at most 50 values (got 51)".into()
            )]
        );
        assert_eq!(
            names(&errors_of(with("keywords", json!(["", "x".repeat(101)])))),
            ["keywords[0]", "keywords[1]"]
        );
    }

    #[test]
    fn territories_are_istat_codes() {
        let errors = errors_of(with(
            "territory",
            json!(["058091", "999", "58091", "058091"]),
        ));
        assert_eq!(
            names(&errors),
            ["territory[1]", "territory[2]", "territory[3]"]
        );
        assert!(
            errors[0]
                .1
                .starts_with("unknown ISTAT territorial code \"999\"")
        );
        let many: Vec<&str> = std::iter::repeat_n("12", 101).collect();
        assert_eq!(
            names(&errors_of(with("territory", json!(many)))),
            ["territory"]
        );
    }

    #[test]
    fn the_temporal_coverage_needs_a_start_and_an_end_not_before_it() {
        let open = parse(&with("temporal", json!({"start": "2020-02-29"}))).unwrap();
        assert_eq!(open.temporal.unwrap().end, None);
        let backwards = errors_of(with(
            "temporal",
            json!({"start": "2024-05-01", "end": "2024-04-30"}),
        ));
        assert_eq!(
            backwards,
            [(
                "temporal.end".into(),
                "must not be before temporal.start (2024-05-01)".into()
            )]
        );
        assert!(
            parse(&with(
                "temporal",
                json!({"start": "2024-05-01", "end": "2024-05-01"})
            ))
            .is_ok()
        );
        for bad in [
            "2024-02-30",
            "2024-1-5",
            "01/02/2024",
            "2024-01-01T00:00:00",
        ] {
            let errors = errors_of(with("temporal", json!({ "start": bad })));
            assert_eq!(names(&errors), ["temporal.start"], "{bad}");
        }
        assert_eq!(
            names(&errors_of(with("temporal", json!({"end": "2024-01-01"})))),
            ["temporal.start"]
        );
        assert_eq!(
            names(&errors_of(with("temporal", json!("2024")))),
            ["temporal"]
        );
    }

    #[test]
    fn the_contact_point_needs_an_office_name_and_a_valid_email() {
        let errors = errors_of(with(
            "contact_point",
            json!({"name": " ", "email": "not-an-email"}),
        ));
        assert_eq!(
            names(&errors),
            ["contact_point.name", "contact_point.email"]
        );
        assert_eq!(
            names(&errors_of(with("contact_point", json!({"name": "URP"})))),
            ["contact_point.email"]
        );
    }

    #[test]
    fn the_landing_page_is_an_absolute_http_url_with_a_host() {
        for ok in [
            "https://www.comune.example.it",
            "http://comune.example.it:8080/a/b?c=d#e",
            "HTTPS://Example.it/",
            "https://[2001:db8::1]/dati",
            "https://comunità.it/dati",
        ] {
            assert!(parse(&with("landing_page", json!(ok))).is_ok(), "{ok}");
        }
        for (bad, reason) in [
            (
                "ftp://example.it",
                "must be an absolute URL starting with https:// or http://",
            ),
            (
                "www.example.it",
                "must be an absolute URL starting with https:// or http://",
            ),
            ("https://", "must name a host"),
            ("https:///path", "must name a host"),
            (
                "https://user:pw@example.it/",
                "must not contain user information (user:password@)",
            ),
            (
                "https://exa mple.it",
                "must not contain spaces or control characters",
            ),
            ("https://example.it:99999/", "has an invalid port \"99999\""),
            (
                "https://exa_mple.it/",
                "has an invalid host \"exa_mple.it\"",
            ),
        ] {
            assert_eq!(
                errors_of(with("landing_page", json!(bad))),
                [("landing_page".into(), reason.into())],
                "{bad}"
            );
        }
        let long = format!("https://example.it/{}", "a".repeat(2_000));
        assert_eq!(
            names(&errors_of(with("landing_page", json!(long)))),
            ["landing_page"]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        assert_eq!(
            errors_of(json!([1, 2])),
            [("(body)".into(), "must be a JSON object".into())]
        );
    }

    #[test]
    fn null_optional_fields_count_as_absent() {
        let mut v = valid();
        v["keywords"] = Value::Null;
        v["temporal"] = Value::Null;
        let meta = parse(&v).unwrap();
        assert!(meta.keywords.is_empty() && meta.temporal.is_none());
    }

    #[test]
    fn to_json_writes_codes_not_uris() {
        let out = to_json(&parse(&valid()).unwrap());
        assert_eq!(out["themes"], json!(["GOVE", "REGI"]));
        assert_eq!(out["license"], json!("A21_CCBY40"));
        assert_eq!(out["territory"], json!(["058091", "12"]));
        assert_eq!(
            out["contact_point"]["email"],
            json!("tecnico@comune.example.it")
        );
    }

    fn arb_meta() -> impl Strategy<Value = DatasetMeta> {
        let text = "[A-Za-zàèéìòù0-9][A-Za-zàèéìòù0-9 ,.'()-]{0,40}[A-Za-z0-9]";
        let territory_codes = [
            "01", "12", "20", "058", "111", "021", "058091", "001272", "021001",
        ];
        (
            text,
            "[A-Za-z][A-Za-z0-9 <>=.,\n-]{0,80}[A-Za-z]",
            proptest::sample::subsequence(vocab::themes().to_vec(), 1..=13),
            proptest::sample::select(vocab::frequencies().to_vec()),
            proptest::sample::select(vocab::licences().to_vec()),
            proptest::collection::btree_set("[a-z][a-z0-9 ]{0,20}[a-z0-9]", 0..10),
            proptest::sample::subsequence(territory_codes.to_vec(), 0..=9),
            proptest::option::of((0i64..40_000, proptest::option::of(0i64..5_000))),
            proptest::option::of(("[A-Z][a-z]{1,20}( [a-z]{2,10}){0,3}", "[a-z]{1,10}\\.?[a-z]{1,5}@[a-z]{1,10}\\.it")),
            proptest::option::of("https?://[a-z]{1,10}(\\.[a-z]{2,5}){1,2}(/[a-zA-Z0-9_.-]{0,12}){0,3}(\\?[a-z]=[0-9]{1,3})?"),
        )
            .prop_map(
                |(title, description, themes, frequency, licence, keywords, territory, temporal, contact, landing_page)| {
                    let day0 = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
                    DatasetMeta {
                        title,
                        // Plain text: break any tag opening the generator produced.
                        description: description.replace('<', "< "),
                        themes,
                        frequency,
                        licence,
                        keywords: keywords.into_iter().collect(),
                        territory: territory
                            .into_iter()
                            .map(|c| vocab::territory(c).unwrap())
                            .collect(),
                        temporal: temporal.map(|(start, len)| {
                            let start = day0 + chrono::Duration::days(start);
                            Temporal {
                                start,
                                end: len.map(|l| start + chrono::Duration::days(l)),
                            }
                        }),
                        contact: contact.map(|(name, email)| ContactPoint {
                            name,
                            email: Email::parse(&email).unwrap(),
                        }),
                        landing_page,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn parsing_what_to_json_wrote_gives_the_same_metadata(meta in arb_meta()) {
            let json = to_json(&meta);
            prop_assert_eq!(parse(&json), Ok(meta));
        }
    }
}
