//! The payments document (`/api/gpd/openapi.json`) against pagoPA's GPD references
//! (`reference/pagopa/openapi/gpd.json`, `gpd_v3.json`, `orgs_payment_options.json`), and
//! against the committed copy in `docs/openapi-gpd.json`.
//!
//! Both sides are brought to one normal form (`$ref`s resolved, `allOf` flattened) and
//! compared operation by operation: method and path (ours without its version prefix),
//! parameters (name, in, required, schema facets), the request body, every response status,
//! success bodies in full and error bodies by schema name; `ProblemJson` is compared once, as a
//! component. Error bodies are `application/problem+json` here where GPD says
//! `application/json`, and where GPD documents an error status without a body (401, 403) ours
//! carries `ProblemJson`: those two rules hold for every operation and are checked, not
//! allow-listed.
//!
//! Every other deliberate difference is listed, with why, below; an entry that no longer
//! matches a difference fails the test, so the lists cannot rot.

#![expect(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use support::openapi::{Allowances, compare, normalize};

/// The reference files.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Reference {
    V1,
    V3,
    PaymentOptions,
}

impl Reference {
    fn file(self) -> &'static str {
        match self {
            Self::V1 => "gpd.json",
            Self::V3 => "gpd_v3.json",
            Self::PaymentOptions => "orgs_payment_options.json",
        }
    }

    fn load(self) -> Value {
        let path = format!(
            "{}/../../../shared/reference/pagopa/openapi/{}",
            env!("CARGO_MANIFEST_DIR"),
            self.file()
        );
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read the GPD reference {path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }
}

/// GPD's operations Sportello implements: `(our id, reference, its id, our path prefix)`.
/// v3 ids carry the suffix `V3` since both versions are in one document.
const IMPLEMENTED: &[(&str, Reference, &str, &str)] = &[
    ("createPosition", Reference::V1, "createPosition", "/v1"),
    (
        "getOrganizationDebtPositions",
        Reference::V1,
        "getOrganizationDebtPositions",
        "/v1",
    ),
    (
        "updateTransferIbanMassive",
        Reference::V1,
        "updateTransferIbanMassive",
        "/v1",
    ),
    (
        "getOrganizationDebtPositionByIUPD",
        Reference::V1,
        "getOrganizationDebtPositionByIUPD",
        "/v1",
    ),
    ("updatePosition", Reference::V1, "updatePosition", "/v1"),
    ("deletePosition", Reference::V1, "deletePosition", "/v1"),
    ("publishPosition", Reference::V1, "publishPosition", "/v1"),
    (
        "invalidatePosition",
        Reference::V1,
        "invalidatePosition",
        "/v1",
    ),
    ("createPositionV3", Reference::V3, "createPosition", "/v3"),
    (
        "getOrganizationDebtPositionsV3",
        Reference::V3,
        "getOrganizationDebtPositions",
        "/v3",
    ),
    (
        "getOrganizationDebtPositionByIUPDV3",
        Reference::V3,
        "getOrganizationDebtPositionByIUPD",
        "/v3",
    ),
    ("updatePositionV3", Reference::V3, "updatePosition", "/v3"),
    ("deletePositionV3", Reference::V3, "deletePosition", "/v3"),
    ("publishPositionV3", Reference::V3, "publishPosition", "/v3"),
    (
        "getPaymentOptionsByNoticeNumber",
        Reference::PaymentOptions,
        "getPaymentOptionsByNoticeNumber",
        "/v1",
    ),
];

/// GPD's internal operations: no reference file describes them, so they are documented and
/// not compared (their response schemas are GPD's, compared through the operations above).
const GPD_INTERNAL: &[&str] = &[
    "healthCheck",
    "createMultiplePositions",
    "getOrganizationPaymentOptionByIUV",
    "getDebtPositionByIUV",
    "payPaymentOption",
    "setPaymentOptionAsAlreadyPaid",
    "updateNotificationFee",
    "reportTransfer",
];

/// Sportello's own operations: marked `x-sportello-only`, absent from every reference.
const SPORTELLO_ONLY: &[&str] = &[
    "reissuePosition",
    "getDebtPositionHistory",
    "getDebtPositionNotice",
    "getCitizenPayments",
    "getCitizenPaymentNotice",
    "getCitizenPaymentReceipt",
    "getOrganizationReceipts",
    "getOrganizationReceiptsByIuv",
    "postReportingFlow",
    "getReportingFlows",
    "postTreasuryStatement",
    "getReconciliation",
    "exportReconciliation",
    "getReconciliationSummary",
    "runReconciliation",
    "getReconciliationItem",
    "annotateReconciliationItem",
];

const ALL_V1: &[&str] = &[
    "createPosition",
    "getOrganizationDebtPositions",
    "updateTransferIbanMassive",
    "getOrganizationDebtPositionByIUPD",
    "updatePosition",
    "deletePosition",
    "publishPosition",
    "invalidatePosition",
];
const ALL_V3: &[&str] = &[
    "createPositionV3",
    "getOrganizationDebtPositionsV3",
    "getOrganizationDebtPositionByIUPDV3",
    "updatePositionV3",
    "deletePositionV3",
    "publishPositionV3",
];
const LISTS: &[&str] = &[
    "getOrganizationDebtPositions",
    "getOrganizationDebtPositionsV3",
];

/// Parameters Sportello adds: `(operations, name, in, why)`.
const SPORTELLO_PARAMETERS: &[(&[&str], &str, &str, &str)] = &[
    (
        LISTS,
        "segregationCodes",
        "query",
        "an intermediary's view limited to some segregation codes (GPD's later versions have it)",
    ),
    (
        LISTS,
        "payment_date_time_from",
        "query",
        "GPD's later date-time form of payment_date_from, accepted as an alias",
    ),
    (
        LISTS,
        "payment_date_time_to",
        "query",
        "GPD's later date-time form of payment_date_to, accepted as an alias",
    ),
];

const ALLOCATED: &str = "Sportello allocates iuv and nav when both are absent (from the \
    organization's IUV base and segregation code), so iuv is optional on create and update";

/// Required in the reference, optional here (or the reverse): `(operations, where, why)`.
const REQUIREDNESS: &[(&[&str], &str, &str)] = &[
    (
        &["createPosition", "updatePosition"],
        "request.paymentOption[].iuv",
        ALLOCATED,
    ),
    (
        &[
            "createPosition",
            "updatePosition",
            "publishPosition",
            "invalidatePosition",
        ],
        "response 2xx.paymentOption[].iuv",
        "the answer is the request's model (PaymentPositionModel), whose iuv is optional here; \
         the answer always carries it",
    ),
    (
        &["createPositionV3", "updatePositionV3"],
        "request.paymentOption[].installments[].iuv",
        ALLOCATED,
    ),
    (
        &["createPositionV3", "updatePositionV3", "publishPositionV3"],
        "response 2xx.paymentOption[].installments[].iuv",
        "the answer is the request's model (PaymentPositionModelV3), whose iuv is optional \
         here; the answer always carries it",
    ),
];

/// What the reference declares and Sportello does not serve: `(operations, where, why)`;
/// `where` is a schema location, `parameter <name> (in <in>)` or `status <code>`.
const KNOWN_GAPS: &[(&[&str], &str, &str)] = &[
    (
        ALL_V1,
        "parameter X-Request-Id (in header)",
        "no request-id correlation header yet (a follow-up for the whole API)",
    ),
    (
        ALL_V3,
        "parameter X-Request-Id (in header)",
        "no request-id correlation header yet (a follow-up for the whole API)",
    ),
    (
        LISTS,
        "status 429",
        "payments keys are not rate-limited: the list is a bounded page of the caller's own \
         positions",
    ),
    (
        &["getPaymentOptionsByNoticeNumber"],
        "status 409",
        "the option's state is answered in the body (`PO_INVALID`, `PO_EXPIRED_NOT_PAYABLE`) \
         with 200, never as a conflict",
    ),
    (
        &["getPaymentOptionsByNoticeNumber"],
        "status 422",
        "a malformed notice number is a 400; nothing else is unprocessable",
    ),
];

/// Statuses Sportello adds: `(operations, status, why)`.
const SPORTELLO_STATUSES: &[(&[&str], &str, &str)] = &[
    (
        &["getPaymentOptionsByNoticeNumber"],
        "401",
        "the operation needs the organization's payments key",
    ),
    (
        &["getPaymentOptionsByNoticeNumber"],
        "403",
        "the key must be the organization's own",
    ),
];

/// Where Sportello deliberately answers differently, waived as a whole: `(operations, where,
/// why)`.
const DEVIATIONS: &[(&[&str], &str, &str)] = &[
    (
        ALL_V3,
        "security",
        "the key is accepted only in the Ocp-Apim-Subscription-Key header, not in the \
         `subscription-key` query parameter (keys in URLs end up in logs)",
    ),
    (
        &["getPaymentOptionsByNoticeNumber"],
        "security",
        "the reference declares no security (it sits behind pagoPA's gateway); Sportello \
         requires the organization's payments key",
    ),
];

/// Properties Sportello adds to `ProblemJson`: RFC 7807 fields and the fields at fault.
const PROBLEM_ADDITIONS: &[&str] = &["type", "instance", "invalid_params"];

/// One operation, normalized.
#[derive(Debug)]
struct Operation {
    path: String,
    method: String,
    /// `(name, in)` → `(required, normalized schema)`.
    parameters: BTreeMap<(String, String), (bool, Value)>,
    request_body: Option<Value>,
    /// Status → response.
    responses: BTreeMap<String, Response>,
    /// `(in, name)` of each accepted security scheme.
    security: BTreeSet<(String, String)>,
}

#[derive(Debug)]
struct Response {
    media: Option<String>,
    /// The raw schema (`$ref` kept), to compare error bodies by name.
    raw: Option<Value>,
    schema: Option<Value>,
}

fn operations(root: &Value) -> BTreeMap<String, Operation> {
    let global_security = root.get("security");
    let schemes = &root["components"]["securitySchemes"];
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
                let parameter = support::openapi::deref(root, parameter);
                let name = parameter["name"].as_str().unwrap().to_owned();
                let location = parameter["in"].as_str().unwrap().to_owned();
                let required = parameter["required"].as_bool().unwrap_or(false);
                let schema = normalize(root, &parameter["schema"], 0);
                parameters.insert((name, location), (required, schema));
            }
            let request_body = op
                .get("requestBody")
                .and_then(|b| b["content"]["application/json"].get("schema"))
                .map(|s| normalize(root, s, 0));
            let mut responses = BTreeMap::new();
            for (status, response) in op["responses"].as_object().unwrap() {
                let media = response
                    .get("content")
                    .and_then(Value::as_object)
                    .and_then(|c| c.iter().next());
                let raw = media.and_then(|(_, m)| m.get("schema")).cloned();
                responses.insert(
                    status.clone(),
                    Response {
                        media: media.map(|(name, _)| name.clone()),
                        schema: raw.as_ref().map(|s| normalize(root, s, 0)),
                        raw,
                    },
                );
            }
            let security = op
                .get("security")
                .or(global_security)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|requirement| requirement.keys())
                .map(|name| {
                    let s = &schemes[name];
                    let location = s["in"].as_str().unwrap_or("http");
                    let key = s["name"].as_str().or(s["scheme"].as_str()).unwrap_or("");
                    (location.to_owned(), key.to_owned())
                })
                .collect();
            operations.insert(
                id.to_owned(),
                Operation {
                    path: path.clone(),
                    method: method.clone(),
                    parameters,
                    request_body,
                    responses,
                    security,
                },
            );
        }
    }
    operations
}

/// The allow-lists, expanded to `(operation, where)` pairs.
fn expand(list: &[(&[&str], &str, &str)]) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for (ops, at, why) in list {
        assert!(!why.is_empty(), "{at}: give a reason");
        for op in *ops {
            assert!(
                set.insert(((*op).to_owned(), (*at).to_owned())),
                "{op} {at} is listed twice"
            );
        }
    }
    set
}

struct Lists {
    allow: Allowances,
    gaps: BTreeSet<(String, String)>,
    statuses: BTreeSet<(String, String)>,
}

/// `response 2xx` for success bodies, so the required-ness allow-list names
/// one location for 200 and 201 alike.
fn response_at(status: &str) -> String {
    if status.starts_with('2') {
        "response 2xx".to_owned()
    } else {
        format!("response {status}")
    }
}

fn compare_operation(
    id: &str,
    prefix: &str,
    reference: &Operation,
    ours: &Operation,
    lists: &mut Lists,
    errors: &mut Vec<String>,
) {
    let path = ours.path.strip_prefix(prefix).unwrap_or(&ours.path);
    if (reference.method.as_str(), reference.path.as_str()) != (ours.method.as_str(), path) {
        errors.push(format!(
            "{id}: is {} {} (after {prefix}), the reference has {} {}",
            ours.method, path, reference.method, reference.path
        ));
    }
    if reference.security != ours.security
        && !Allowances::take(&mut lists.allow.deviations, id, "security")
    {
        errors.push(format!(
            "{id}: security is {:?}, the reference has {:?}",
            ours.security, reference.security
        ));
    }
    for (key @ (name, location), (required, schema)) in &reference.parameters {
        let at = format!("parameter {name} (in {location})");
        match ours.parameters.get(key) {
            None if Allowances::take(&mut lists.gaps, id, &at) => {}
            None => errors.push(format!("{id} {at}: missing")),
            Some((our_required, our_schema)) => {
                if required != our_required {
                    errors.push(format!(
                        "{id} {at}: required is {our_required}, the reference has {required}"
                    ));
                }
                compare(id, &at, schema, our_schema, &mut lists.allow, errors);
            }
        }
    }
    for (name, location) in ours.parameters.keys() {
        let known = reference
            .parameters
            .contains_key(&(name.clone(), location.clone()))
            || SPORTELLO_PARAMETERS
                .iter()
                .any(|(ops, n, l, _)| ops.contains(&id) && n == name && l == location);
        if !known {
            errors.push(format!(
                "{id} parameter {name} (in {location}): not in the reference nor among \
                 Sportello's additions"
            ));
        }
    }
    match (&reference.request_body, &ours.request_body) {
        (Some(expected), Some(found)) => {
            compare(id, "request", expected, found, &mut lists.allow, errors);
        }
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
    let statuses: BTreeSet<&String> = reference
        .responses
        .keys()
        .chain(ours.responses.keys())
        .collect();
    for status in statuses {
        let at = format!("status {status}");
        let (expected, found) = match (reference.responses.get(status), ours.responses.get(status))
        {
            (Some(e), Some(f)) => (e, f),
            (Some(_), None) if Allowances::take(&mut lists.gaps, id, &at) => continue,
            (None, Some(_)) if Allowances::take(&mut lists.statuses, id, status) => continue,
            (Some(_), None) => {
                errors.push(format!("{id} {at}: missing (the reference declares it)"));
                continue;
            }
            (None, _) => {
                errors.push(format!(
                    "{id} {at}: not in the reference nor among Sportello's statuses"
                ));
                continue;
            }
        };
        if status.starts_with('2') {
            if expected.media != found.media {
                errors.push(format!(
                    "{id} {at}: media type {:?}, the reference has {:?}",
                    found.media, expected.media
                ));
            }
            match (&expected.schema, &found.schema) {
                (Some(e), Some(f)) => {
                    compare(id, &response_at(status), e, f, &mut lists.allow, errors);
                }
                (None, None) => {}
                _ => errors.push(format!("{id} {at}: the body differs in presence")),
            }
        } else {
            // Errors: problem+json with ProblemJson, wherever the reference has a body or not.
            let problem = serde_json::json!({ "$ref": "#/components/schemas/ProblemJson" });
            if found.media.as_deref() != Some("application/problem+json")
                || found.raw.as_ref() != Some(&problem)
            {
                errors.push(format!(
                    "{id} {at}: not an application/problem+json ProblemJson"
                ));
            }
            if let Some(raw) = &expected.raw
                && raw != &problem
            {
                errors.push(format!(
                    "{id} {at}: the reference's body is {raw}, not ProblemJson"
                ));
            }
        }
    }
}

#[test]
fn the_document_matches_the_gpd_references_for_every_implemented_operation() {
    let document = api::payments::openapi::document();
    assert_eq!(document["openapi"], "3.1.0");
    let ours = operations(&document);
    let references: BTreeMap<Reference, (Value, BTreeMap<String, Operation>)> =
        [Reference::V1, Reference::V3, Reference::PaymentOptions]
            .into_iter()
            .map(|r| {
                let root = r.load();
                let ops = operations(&root);
                (r, (root, ops))
            })
            .collect();
    let mut lists = Lists {
        allow: Allowances {
            deviations: expand(DEVIATIONS),
            requiredness: expand(REQUIREDNESS),
            ..Allowances::default()
        },
        gaps: expand(KNOWN_GAPS),
        statuses: expand(SPORTELLO_STATUSES),
    };
    let mut errors = Vec::new();

    let documented: BTreeSet<&str> = ours.keys().map(String::as_str).collect();
    let declared: BTreeSet<&str> = IMPLEMENTED
        .iter()
        .map(|(id, ..)| *id)
        .chain(GPD_INTERNAL.iter().copied())
        .chain(SPORTELLO_ONLY.iter().copied())
        .collect();
    if documented != declared {
        errors.push(format!(
            "the document declares {documented:?}; IMPLEMENTED, GPD_INTERNAL and \
             SPORTELLO_ONLY list {declared:?}"
        ));
    }
    for id in GPD_INTERNAL.iter().chain(SPORTELLO_ONLY) {
        for (r, (_, theirs)) in &references {
            if theirs.contains_key(*id) {
                errors.push(format!(
                    "{id}: {} has it; compare it (IMPLEMENTED)",
                    r.file()
                ));
            }
        }
    }
    for id in SPORTELLO_ONLY {
        let marked = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .any(|op| op["operationId"] == *id && op["x-sportello-only"] == true);
        if !marked {
            errors.push(format!("{id}: not marked x-sportello-only"));
        }
    }
    for (id, reference, their_id, prefix) in IMPLEMENTED {
        let Some(expected) = references[reference].1.get(*their_id) else {
            errors.push(format!("{their_id}: not in {}", reference.file()));
            continue;
        };
        let Some(found) = ours.get(*id) else {
            errors.push(format!("{id}: not in the document"));
            continue;
        };
        compare_operation(id, prefix, expected, found, &mut lists, &mut errors);
    }

    // ProblemJson, once, as a component: GPD's v1 and v3 declare the same.
    let problem = |root: &Value| normalize(root, &root["components"]["schemas"]["ProblemJson"], 0);
    let theirs = problem(&references[&Reference::V1].0);
    if theirs != problem(&references[&Reference::V3].0) {
        errors.push("ProblemJson: gpd.json and gpd_v3.json no longer agree".to_owned());
    }
    let mut problem_allow = Allowances {
        additions: PROBLEM_ADDITIONS
            .iter()
            .map(|p| ("ProblemJson".to_owned(), format!("ProblemJson.{p}")))
            .collect(),
        ..Allowances::default()
    };
    let ours_problem = problem(&document);
    compare(
        "ProblemJson",
        "ProblemJson",
        &theirs,
        &ours_problem,
        &mut problem_allow,
        &mut errors,
    );
    for (op, at) in &problem_allow.additions {
        errors.push(format!(
            "{op} {at}: listed in PROBLEM_ADDITIONS but not an addition"
        ));
    }

    for (name, set) in [
        ("KNOWN_GAPS", &lists.gaps),
        ("SPORTELLO_STATUSES", &lists.statuses),
        ("DEVIATIONS", &lists.allow.deviations),
        ("REQUIREDNESS", &lists.allow.requiredness),
    ] {
        for (op, at) in set {
            errors.push(format!(
                "{op} {at}: listed in {name} but no longer differs from the reference; remove \
                 the entry"
            ));
        }
    }
    for (ops, name, location, _) in SPORTELLO_PARAMETERS {
        for op in *ops {
            if !ours.get(*op).is_some_and(|o| {
                o.parameters
                    .contains_key(&((*name).to_owned(), (*location).to_owned()))
            }) {
                errors.push(format!(
                    "{op} parameter {name} (in {location}): listed as Sportello's but not declared"
                ));
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} difference(s) from the GPD references:\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
}

fn committed_copy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi-gpd.json")
}

#[test]
fn the_served_gpd_document_is_the_committed_copy() {
    let path = committed_copy_path();
    let document = api::payments::openapi::document();
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
         `UPDATE_OPENAPI=1 cargo test -p api --test openapi_gpd` and review the diff",
        path.display()
    );
}
