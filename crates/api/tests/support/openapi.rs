//! Normalising and comparing OpenAPI schemas (from `tests/openapi.rs`, for the GPD document's
//! test): `$ref`s resolved, `allOf` flattened, facets compared where the reference declares
//! them, every difference recorded unless an allow-list excuses it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// The allow-lists as sets of `(operation, where)`; each entry is removed when it excuses a
/// difference, so what is left at the end is stale.
#[derive(Clone, Default)]
pub struct Allowances {
    /// Properties Sportello adds.
    pub additions: BTreeSet<(String, String)>,
    /// Properties of the reference Sportello does not serve.
    pub gaps: BTreeSet<(String, String)>,
    /// Locations whose comparison is waived as a whole.
    pub deviations: BTreeSet<(String, String)>,
    /// Properties required on one side only (`where` is the property's location).
    pub requiredness: BTreeSet<(String, String)>,
}

impl Allowances {
    pub fn take(set: &mut BTreeSet<(String, String)>, operation: &str, at: &str) -> bool {
        set.remove(&(operation.to_owned(), at.to_owned()))
    }
}

/// The schema keywords compared wherever the reference declares them.
pub const FACETS: &[&str] = &[
    "type",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "pattern",
    "enum",
    "minItems",
    "maxItems",
];

/// Follows local `$ref`s.
pub fn deref<'a>(root: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are supported: {reference}"));
        value = root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling reference {reference}"));
    }
    panic!("reference chain too long at {value}");
}

/// A schema in normal form: the facets, `properties`, `required` (sorted) and `items`, with
/// references resolved and `allOf` flattened.
pub fn normalize(root: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 32, "schema nested too deeply (a cycle?): {schema}");
    let schema = deref(root, schema);
    let mut out = Map::new();
    for facet in FACETS {
        if let Some(value) = schema.get(*facet) {
            out.insert((*facet).to_owned(), value.clone());
        }
    }
    let mut properties = Map::new();
    let mut required = BTreeSet::new();
    if let Some(own) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in own {
            properties.insert(name.clone(), normalize(root, property, depth + 1));
        }
    }
    if let Some(names) = schema.get("required").and_then(Value::as_array) {
        required.extend(names.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if let Some(items) = schema.get("items") {
        out.insert("items".to_owned(), normalize(root, items, depth + 1));
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let part = normalize(root, part, depth + 1);
        for (key, value) in part.as_object().into_iter().flatten() {
            match key.as_str() {
                "properties" => {
                    for (name, property) in value.as_object().into_iter().flatten() {
                        properties
                            .entry(name.clone())
                            .or_insert_with(|| property.clone());
                    }
                }
                "required" => {
                    let names = value.as_array().into_iter().flatten();
                    required.extend(names.filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {
                    out.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }
    if !properties.is_empty() {
        out.insert("properties".to_owned(), Value::Object(properties));
    }
    if !required.is_empty() {
        let required = required.into_iter().map(Value::String).collect();
        out.insert("required".to_owned(), Value::Array(required));
    }
    Value::Object(out)
}

fn same_facet(facet: &str, a: &Value, b: &Value) -> bool {
    match (facet, a, b) {
        (_, Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        ("enum", Value::Array(a), Value::Array(b)) => {
            let set = |v: &Vec<Value>| v.iter().map(Value::to_string).collect::<BTreeSet<_>>();
            set(a) == set(b)
        }
        _ => a == b,
    }
}

fn properties(s: &Value) -> BTreeMap<String, Value> {
    s.get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn required(s: &Value) -> BTreeSet<String> {
    s.get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Compares our normalized schema with the reference's, recording under `at` every
/// difference the allow-lists do not excuse.
pub fn compare(
    operation: &str,
    at: &str,
    reference: &Value,
    ours: &Value,
    allow: &mut Allowances,
    errors: &mut Vec<String>,
) {
    if Allowances::take(&mut allow.deviations, operation, at) {
        let mut waived = Vec::new();
        compare(operation, at, reference, ours, allow, &mut waived);
        if waived.is_empty() {
            // Nothing differs: keep the entry, to be reported as stale.
            allow
                .deviations
                .insert((operation.to_owned(), at.to_owned()));
        }
        return;
    }
    for facet in FACETS {
        if let Some(expected) = reference.get(*facet) {
            match ours.get(*facet) {
                Some(found) if same_facet(facet, expected, found) => {}
                Some(found) => errors.push(format!(
                    "{operation} {at}: `{facet}` is {found}, the reference has {expected}"
                )),
                None => errors.push(format!(
                    "{operation} {at}: `{facet}` is missing, the reference has {expected}"
                )),
            }
        }
    }
    let (theirs, mine) = (properties(reference), properties(ours));
    let mut excused = BTreeSet::new();
    for (name, expected) in &theirs {
        let here = format!("{at}.{name}");
        match mine.get(name) {
            Some(found) => compare(operation, &here, expected, found, allow, errors),
            None if Allowances::take(&mut allow.gaps, operation, &here) => {
                excused.insert(name.clone());
            }
            None => errors.push(format!(
                "{operation} {here}: property missing (the reference declares it)"
            )),
        }
    }
    let mut added = BTreeSet::new();
    for name in mine.keys().filter(|n| !theirs.contains_key(*n)) {
        let here = format!("{at}.{name}");
        if Allowances::take(&mut allow.additions, operation, &here) {
            added.insert(name.clone());
        } else {
            errors.push(format!(
                "{operation} {here}: property not in the reference nor among Sportello's \
                 additions"
            ));
        }
    }
    let (theirs, mine) = (required(reference), required(ours));
    for name in theirs.symmetric_difference(&mine) {
        if excused.contains(name) || added.contains(name) {
            continue;
        }
        let here = format!("{at}.{name}");
        if !Allowances::take(&mut allow.requiredness, operation, &here) {
            errors.push(format!(
                "{operation} {here}: required is {}, the reference has {}",
                mine.contains(name),
                theirs.contains(name)
            ));
        }
    }
    if let Some(expected) = reference.get("items") {
        match ours.get("items") {
            Some(found) => compare(
                operation,
                &format!("{at}[]"),
                expected,
                found,
                allow,
                errors,
            ),
            None => errors.push(format!("{operation} {at}: `items` missing")),
        }
    }
}
