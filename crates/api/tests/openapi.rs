//! The OpenAPI document of `/api/v1` against IO's Swagger 2.0 reference, and against the
//! committed copy in `docs/openapi.json`.
//!
//! Both documents are brought to one normal form before comparing: `$ref`s resolved,
//! `allOf` flattened (properties, required lists and enums merged), `x-extensible-enum`
//! read as `enum`, Swagger body parameters read as the request body.
//!
//! Every deliberate difference is listed, with why, in one of the allow-lists below
//! (`SPORTELLO_PARAMETERS`, `SPORTELLO_PROPERTIES`, `KNOWN_GAPS`, `DEVIATIONS`); an entry that
//! no longer matches a difference fails the test, so the lists cannot rot.

#![expect(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value};

/// Every operation of `/api/v1` that Sportello implements, by IO's operation id.
const IMPLEMENTED: &[&str] = &[
    "submitMessageforUserWithFiscalCodeInBody",
    "submitMessageforUser",
    "getMessage",
    "getProfileByPOST",
    "getProfile",
    "cmsCreateService",
    "cmsGetServices",
    "getServiceTopics",
    "cmsGetService",
    "cmsUpdateService",
    "cmsDeleteService",
    "cmsGetServiceKeys",
    "cmsRegenerateServiceKey",
    "cmsReviewService",
    "cmsReleaseService",
    "cmsGetPublishedService",
    "cmsUnpublishService",
    "cmsGetServiceHistory",
    "uploadOrganizationLogo",
    "cmsUpdateServiceLogo",
];

/// Sportello's own operations, beyond IO's API: they must be in the document and absent from
/// the reference (by operation id, and by method and path), and are not compared with it.
const SPORTELLO_ONLY: &[&str] = &[
    "createBatch",
    "getBatch",
    "cancelBatch",
    "getBatchReport",
    "getServiceUsage",
    // Status callbacks to enti.
    "setServiceCallback",
    "getServiceCallback",
    "deleteServiceCallback",
    "getServiceCallbackDeliveries",
    // The citizen API (`/api/citizen/v1`).
    "getCitizenProfile",
    "updateCitizenProfile",
    "deleteCitizenProfile",
    "validateCitizenEmail",
    "getCitizenServicePreferences",
    "updateCitizenServicePreferences",
    "getCitizenMessages",
    "getCitizenMessage",
    "updateCitizenMessageStatus",
    "listCitizenSessions",
    "revokeCitizenSessions",
    "revokeCitizenSession",
    "getCitizenLoginHistory",
    "exportCitizenData",
];

/// Parameters Sportello adds to IO's operations: `(operation id, name, in)`.
const SPORTELLO_PARAMETERS: &[(&str, &str, &str)] = &[
    (
        "submitMessageforUserWithFiscalCodeInBody",
        "Idempotency-Key",
        "header",
    ),
    ("submitMessageforUser", "Idempotency-Key", "header"),
];

/// Properties Sportello adds to the reference's schemas: `(operation id, where, why)`.
const SPORTELLO_PROPERTIES: &[(&str, &str, &str)] = &[
    (
        "cmsGetServiceHistory",
        "response.items[].actor",
        "who made the change (`delegate:<id>`, `operator`, `quality-checks`): Sportello's \
         history doubles as the audit trail a delegate can read",
    ),
    ("cmsCreateService", "response.publication", PUBLICATION_WHY),
    (
        "cmsGetServices",
        "response.value[].publication",
        PUBLICATION_WHY,
    ),
    ("cmsGetService", "response.publication", PUBLICATION_WHY),
    ("cmsUpdateService", "response.publication", PUBLICATION_WHY),
];

/// Why a service as read by its delegate carries its publication state.
const PUBLICATION_WHY: &str = "`status` stays `approved` once a service is published, so the \
    publication state (`published`/`unpublished`) is shown beside it; otherwise only a 404 or 200 \
    from `GET …/release` tells it";

/// Properties of the reference that Sportello does not serve: `(operation id, where, why)`.
/// A required property listed here is also left out of the comparison of `required` lists
/// (as are Sportello's additions).
/// An entry that is no longer a gap fails the test, so the list cannot rot.
const KNOWN_GAPS: &[(&str, &str, &str)] = &[
    (
        "getMessage",
        "response.message.content.eu_covid_cert",
        "refused at submission (403), so never stored nor returned",
    ),
    (
        "getMessage",
        "response.message.content.third_party_data",
        "refused at submission (403) until remote-content configurations exist, so never \
         stored nor returned",
    ),
];

/// Where Sportello deliberately answers differently from the reference: `(operation id,
/// where, why)`. The comparison at `where` (a schema location, or `security`) is waived as a
/// whole; an entry where nothing differs any more fails the test.
const DEVIATIONS: &[(&str, &str, &str)] = &[(
    "cmsGetServiceHistory",
    "security",
    "the reference declares no security on this operation (an omission: every other \
         /manage operation needs ManageSubscriptionKey); Sportello requires the manage key",
)];

/// The allow-lists as sets; each entry is removed when it excuses a difference, so what is
/// left at the end is stale.
struct Allowances {
    additions: BTreeSet<(String, String)>,
    gaps: BTreeSet<(String, String)>,
    deviations: BTreeSet<(String, String)>,
}

impl Allowances {
    fn new() -> Self {
        let set = |list: &[(&str, &str, &str)]| {
            list.iter()
                .map(|(op, at, _)| ((*op).to_owned(), (*at).to_owned()))
                .collect()
        };
        Self {
            additions: set(SPORTELLO_PROPERTIES),
            gaps: set(KNOWN_GAPS),
            deviations: set(DEVIATIONS),
        }
    }

    fn take(set: &mut BTreeSet<(String, String)>, operation: &str, at: &str) -> bool {
        set.remove(&(operation.to_owned(), at.to_owned()))
    }
}

/// The schema keywords compared wherever the reference declares them.
const FACETS: &[&str] = &[
    "type",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "pattern",
    "enum",
];

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/io/services-api-openapi.yaml"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read the IO reference {path}: {e}"));
    serde_yaml::from_str(&text).unwrap()
}

fn committed_copy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

/// One operation of either document, in normal form.
#[derive(Debug)]
struct Operation {
    path: String,
    method: String,
    /// `(name, in)` → `(required, normalized schema of the value)`.
    parameters: BTreeMap<(String, String), (bool, Value)>,
    request_body: Option<Value>,
    /// The success status and its normalized body schema, if any.
    success: Option<(String, Option<Value>)>,
    security: BTreeSet<String>,
}

/// Follows `$ref`s (`#/definitions/…`, `#/parameters/…`, `#/components/schemas/…`).
fn deref<'a>(root: &'a Value, mut value: &'a Value) -> &'a Value {
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

/// A schema in normal form: the facets, `properties` (name → normal form), `required` (a
/// sorted array) and `items`, with references resolved and `allOf` flattened.
fn normalize(root: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 32, "schema nested too deeply (a cycle?): {schema}");
    let schema = deref(root, schema);
    let mut out = Map::new();
    for facet in FACETS {
        if let Some(value) = schema.get(*facet) {
            out.insert((*facet).to_owned(), value.clone());
        }
    }
    if let Some(values) = schema.get("x-extensible-enum") {
        out.insert("enum".to_owned(), values.clone());
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
        for (key, value) in part.as_object().unwrap() {
            match key.as_str() {
                "properties" => {
                    for (name, property) in value.as_object().unwrap() {
                        properties
                            .entry(name.clone())
                            .or_insert_with(|| property.clone());
                    }
                }
                "required" => {
                    let names = value.as_array().unwrap().iter().filter_map(Value::as_str);
                    required.extend(names.map(str::to_owned));
                }
                // `x-one-of` enums (IO's `MessageStatusValue`): the union of the values.
                "enum" => {
                    let values = out
                        .entry("enum")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    let values = values.as_array_mut().unwrap();
                    for v in value.as_array().unwrap() {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
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

/// Compares our normalized schema with the reference's, recording every difference under
/// `at` (e.g. `getMessage response.message.content`) that the allow-lists do not excuse.
fn compare(
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
    let empty = Map::new();
    let properties = |s: &Value| -> BTreeMap<String, Value> {
        s.get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
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
    let required = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let (theirs, mine) = (required(reference), required(ours));
    // Known gaps are absent from ours, Sportello's additions from theirs.
    let theirs: BTreeSet<String> = theirs.difference(&excused).cloned().collect();
    let mine: BTreeSet<String> = mine.difference(&added).cloned().collect();
    if theirs != mine {
        errors.push(format!(
            "{operation} {at}: required is {mine:?}, the reference has {theirs:?}"
        ));
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

/// The operations of IO's Swagger 2.0 reference, by operation id.
fn swagger_operations(root: &Value) -> BTreeMap<String, Operation> {
    let mut operations = BTreeMap::new();
    for (path, item) in root["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let mut parameters = BTreeMap::new();
            let mut request_body = None;
            let shared = item.get("parameters").and_then(Value::as_array);
            let own = op.get("parameters").and_then(Value::as_array);
            for parameter in shared.into_iter().chain(own).flatten() {
                let parameter = deref(root, parameter);
                let name = parameter["name"].as_str().unwrap().to_owned();
                let location = parameter["in"].as_str().unwrap().to_owned();
                if location == "body" {
                    request_body = Some(normalize(root, &parameter["schema"], 0));
                    continue;
                }
                let required = parameter["required"].as_bool().unwrap_or(false);
                parameters.insert((name, location), (required, normalize(root, parameter, 0)));
            }
            let success = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(status, _)| status.starts_with('2'))
                .map(|(status, response)| {
                    let schema = response.get("schema").map(|s| normalize(root, s, 0));
                    (status.clone(), schema)
                });
            operations.insert(
                id.to_owned(),
                Operation {
                    path: path.clone(),
                    method: method.clone(),
                    parameters,
                    request_body,
                    success,
                    security: security_names(op),
                },
            );
        }
    }
    operations
}

/// The operations of our OpenAPI 3.1 document, by operation id.
fn openapi_operations(root: &Value) -> BTreeMap<String, Operation> {
    let json_schema = |content: Option<&Value>| {
        content
            .and_then(|c| c.get("application/json"))
            .and_then(|m| m.get("schema"))
            .map(|s| normalize(root, s, 0))
    };
    let mut operations = BTreeMap::new();
    for (path, item) in root["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let mut parameters = BTreeMap::new();
            let shared = item.get("parameters").and_then(Value::as_array);
            let own = op.get("parameters").and_then(Value::as_array);
            for parameter in shared.into_iter().chain(own).flatten() {
                let parameter = deref(root, parameter);
                let name = parameter["name"].as_str().unwrap().to_owned();
                let location = parameter["in"].as_str().unwrap().to_owned();
                let required = parameter["required"].as_bool().unwrap_or(false);
                let schema = normalize(root, &parameter["schema"], 0);
                parameters.insert((name, location), (required, schema));
            }
            let request_body = op
                .get("requestBody")
                .map(|b| deref(root, b))
                .and_then(|b| json_schema(b.get("content")));
            let success = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(status, _)| status.starts_with('2'))
                .map(|(status, response)| {
                    let response = deref(root, response);
                    (status.clone(), json_schema(response.get("content")))
                });
            operations.insert(
                id.to_owned(),
                Operation {
                    path: path.clone(),
                    method: method.clone(),
                    parameters,
                    request_body,
                    success,
                    security: security_names(op),
                },
            );
        }
    }
    operations
}

fn security_names(op: &Value) -> BTreeSet<String> {
    op.get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().cloned())
        .collect()
}

/// Every difference between our operation `id` and the reference's.
fn compare_operation(
    id: &str,
    reference: &Operation,
    ours: &Operation,
    allow: &mut Allowances,
    errors: &mut Vec<String>,
) {
    if (&reference.method, &reference.path) != (&ours.method, &ours.path) {
        errors.push(format!(
            "{id}: is {} {}, the reference has {} {}",
            ours.method, ours.path, reference.method, reference.path
        ));
    }
    if reference.security != ours.security
        && !Allowances::take(&mut allow.deviations, id, "security")
    {
        errors.push(format!(
            "{id}: security is {:?}, the reference has {:?}",
            ours.security, reference.security
        ));
    }
    for (key @ (name, location), (required, schema)) in &reference.parameters {
        let at = format!("parameter {name} (in {location})");
        match ours.parameters.get(key) {
            None => errors.push(format!("{id} {at}: missing")),
            Some((our_required, our_schema)) => {
                if required != our_required {
                    errors.push(format!(
                        "{id} {at}: required is {our_required}, the reference has {required}"
                    ));
                }
                compare(id, &at, schema, our_schema, allow, errors);
            }
        }
    }
    for (name, location) in ours.parameters.keys() {
        let known = reference
            .parameters
            .contains_key(&(name.clone(), location.clone()))
            || SPORTELLO_PARAMETERS.contains(&(id, name.as_str(), location.as_str()));
        if !known {
            errors.push(format!(
                "{id} parameter {name} (in {location}): not in the reference nor among \
                 Sportello's additions"
            ));
        }
    }
    match (&reference.request_body, &ours.request_body) {
        (Some(expected), Some(found)) => compare(id, "request", expected, found, allow, errors),
        (None, None) => {}
        (expected, found) => errors.push(format!(
            "{id}: request body is {}, the reference's is {}",
            if found.is_some() {
                "declared"
            } else {
                "absent"
            },
            if expected.is_some() {
                "declared"
            } else {
                "absent"
            },
        )),
    }
    match (&reference.success, &ours.success) {
        (Some((status, expected)), Some((our_status, found))) => {
            if status != our_status {
                errors.push(format!(
                    "{id}: success status is {our_status}, the reference has {status}"
                ));
            }
            match (expected, found) {
                (Some(expected), Some(found)) => {
                    compare(id, "response", expected, found, allow, errors);
                }
                (None, None) => {}
                (expected, _) => errors.push(format!(
                    "{id}: the reference's success response has {} body, ours does not agree",
                    if expected.is_some() { "a" } else { "no" },
                )),
            }
        }
        (reference, ours) => errors.push(format!(
            "{id}: success response {ours:?}, the reference has {reference:?}"
        )),
    }
}

#[test]
fn the_document_matches_the_reference_for_every_implemented_operation() {
    let reference = reference();
    let document = api::openapi::document();
    assert_eq!(document["openapi"], "3.1.0");

    let theirs = swagger_operations(&reference);
    let ours = openapi_operations(&document);
    let mut allow = Allowances::new();
    let mut errors = Vec::new();

    let base_path = reference["basePath"].as_str().unwrap();
    if document["servers"][0]["url"] != base_path {
        errors.push(format!(
            "the server URL is {}, the reference's base path is {base_path}",
            document["servers"][0]["url"]
        ));
    }
    for scheme in ["SubscriptionKey", "ManageSubscriptionKey"] {
        let expected = &reference["securityDefinitions"][scheme];
        let found = &document["components"]["securitySchemes"][scheme];
        for key in ["type", "name", "in"] {
            if expected[key] != found[key] {
                errors.push(format!(
                    "security scheme {scheme}: `{key}` is {}, the reference has {}",
                    found[key], expected[key]
                ));
            }
        }
    }
    let documented: BTreeSet<&str> = ours.keys().map(String::as_str).collect();
    let implemented: BTreeSet<&str> = IMPLEMENTED.iter().chain(SPORTELLO_ONLY).copied().collect();
    if documented != implemented {
        errors.push(format!(
            "the document declares {documented:?}, Sportello implements {implemented:?} \
             (IMPLEMENTED and SPORTELLO_ONLY)"
        ));
    }
    for id in SPORTELLO_ONLY {
        if IMPLEMENTED.contains(id) {
            errors.push(format!(
                "{id}: listed both in IMPLEMENTED and in SPORTELLO_ONLY"
            ));
        }
        if theirs.contains_key(*id) {
            errors.push(format!(
                "{id}: listed in SPORTELLO_ONLY but the reference has it; move it to IMPLEMENTED"
            ));
        }
        let Some(found) = ours.get(*id) else {
            errors.push(format!(
                "{id}: listed in SPORTELLO_ONLY but not in the document"
            ));
            continue;
        };
        if let Some((other, _)) = theirs
            .iter()
            .find(|(_, op)| (&op.method, &op.path) == (&found.method, &found.path))
        {
            errors.push(format!(
                "{id}: {} {} is the reference's {other}",
                found.method, found.path
            ));
        }
    }
    for id in IMPLEMENTED {
        let Some(expected) = theirs.get(*id) else {
            errors.push(format!("{id}: not in the reference"));
            continue;
        };
        let Some(found) = ours.get(*id) else {
            errors.push(format!("{id}: not in the document"));
            continue;
        };
        compare_operation(id, expected, found, &mut allow, &mut errors);
    }
    for (op, at) in allow.gaps {
        errors.push(format!(
            "{op} {at}: listed in KNOWN_GAPS but no longer a gap; remove the entry"
        ));
    }
    for (op, at) in allow.additions {
        errors.push(format!(
            "{op} {at}: listed in SPORTELLO_PROPERTIES but not an addition (not declared, or \
             now in the reference); remove the entry"
        ));
    }
    for (op, at) in allow.deviations {
        errors.push(format!(
            "{op} {at}: listed in DEVIATIONS but no longer differs from the reference; remove \
             the entry"
        ));
    }
    for (op, name, location) in SPORTELLO_PARAMETERS {
        if !ours.get(*op).is_some_and(|o| {
            o.parameters
                .contains_key(&((*name).to_owned(), (*location).to_owned()))
        }) {
            errors.push(format!(
                "{op} parameter {name} (in {location}): listed as Sportello's but not declared"
            ));
        }
    }

    assert!(
        errors.is_empty(),
        "{} difference(s) from the IO reference:\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
}

#[test]
fn the_served_document_is_the_committed_copy() {
    let path = committed_copy_path();
    let document = api::openapi::document();
    let text = format!("{}\n", serde_json::to_string_pretty(&document).unwrap());
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let committed: Value = serde_json::from_str(&committed).unwrap_or(Value::Null);
    assert!(
        committed == document,
        "{} differs from the served document; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test -p api --test openapi` and review the diff",
        path.display()
    );
}
