//! Every route the router serves is in one of the OpenAPI documents (`/api/v1/openapi.json`,
//! `/api/gpd/openapi.json`), and every operation they declare is served; the routes
//! deliberately left out are listed once, below, with the reason. The served routes come from the domains' route tables (`api::router::routes`), the
//! same calls that build the router.

use std::collections::BTreeSet;

use serde_json::Value;

/// Served but not in the document, each with the reason.
const UNDOCUMENTED: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/opendata/v1/organizations/{organizationfiscalcode}/datasets",
        OPENDATA,
    ),
    (
        "GET",
        "/api/opendata/v1/organizations/{organizationfiscalcode}/datasets",
        OPENDATA,
    ),
    (
        "GET",
        "/api/opendata/v1/organizations/{organizationfiscalcode}/members",
        OPENDATA,
    ),
    (
        "PUT",
        "/api/opendata/v1/organizations/{organizationfiscalcode}/members/{delegate_id}",
        OPENDATA,
    ),
    ("GET", "/api/opendata/v1/datasets/{id}", OPENDATA),
    ("PUT", "/api/opendata/v1/datasets/{id}", OPENDATA),
    ("POST", "/api/opendata/v1/datasets/{id}/resources", OPENDATA),
    ("POST", "/api/opendata/v1/datasets/{id}/publish", OPENDATA),
    ("GET", "/api/opendata/v1/resources/{id}", OPENDATA),
    (
        "POST",
        "/api/opendata/v1/resources/{id}/resolutions",
        OPENDATA,
    ),
    ("GET", "/api/opendata/v1/resources/{id}/rows", OPENDATA),
    ("GET", "/api/opendata/v1/resources/{id}/download", OPENDATA),
    ("POST", "/api/opendata/v1/datasets/{id}/pulls", OPENDATA),
    ("GET", "/api/opendata/v1/datasets/{id}/pulls", OPENDATA),
    ("DELETE", "/api/opendata/v1/pulls/{id}", OPENDATA),
    ("GET", "/api/3/action/{name}", OPENDATA),
    ("POST", "/api/3/action/{name}", OPENDATA),
    ("GET", "/catalog.ttl", OPENDATA),
    ("GET", "/catalog.rdf", OPENDATA),
    ("GET", "/catalog.jsonld", OPENDATA),
    ("GET", "/sparql", OPENDATA),
    ("POST", "/sparql", OPENDATA),
    ("GET", "/dataset/{id}", OPENDATA),
    (
        "POST",
        "/api/gpd/v1/organizations/{organizationfiscalcode}/notices/archives",
        ARCHIVES,
    ),
    (
        "GET",
        "/api/gpd/v1/organizations/{organizationfiscalcode}/notices/archives/{id}",
        ARCHIVES,
    ),
    (
        "GET",
        "/api/gpd/v1/organizations/{organizationfiscalcode}/notices/archives/{id}/zip",
        ARCHIVES,
    ),
    (
        "POST",
        "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/imports",
        IMPORTS,
    ),
    (
        "GET",
        "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/imports/{importid}",
        IMPORTS,
    ),
    (
        "GET",
        "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/imports/{importid}/report",
        IMPORTS,
    ),
    (
        "POST",
        "/api/pagopa/paForNode",
        "the SOAP station for the pagoPA node: described by paForNode.wsdl, not OpenAPI \
         (docs/PAGOPA-NODE.md)",
    ),
    // The payments admin API: operator-only, like the rest of `/api/admin/v1`.
    (
        "POST",
        "/api/admin/v1/organizations/{fiscal_code}/payments",
        ADMIN,
    ),
    (
        "GET",
        "/healthz",
        "liveness probe for the orchestrator, not an API",
    ),
    (
        "GET",
        "/readyz",
        "readiness probe for the orchestrator, not an API",
    ),
    ("GET", "/metrics", "Prometheus scrape endpoint, not an API"),
    ("GET", "/api/v1/openapi.json", "the document itself"),
    ("GET", "/api/gpd/openapi.json", "the document itself"),
    // The public catalogue: Sportello's own, not yet described (a follow-up: documenting it
    // changes docs/openapi.json).
    ("GET", "/api/citizen/v1/organizations", CATALOGUE),
    (
        "GET",
        "/api/citizen/v1/organizations/{fiscal_code}/services",
        CATALOGUE,
    ),
    (
        "GET",
        "/api/citizen/v1/organizations/{fiscal_code}/logo",
        CATALOGUE,
    ),
    ("GET", "/api/citizen/v1/services/featured", CATALOGUE),
    ("GET", "/api/citizen/v1/services/{service_id}", CATALOGUE),
    (
        "GET",
        "/api/citizen/v1/services/{service_id}/logo",
        CATALOGUE,
    ),
    // The operator's admin API (admin bearer token), described in docs/, not in the document
    // published for enti.
    ("POST", "/api/admin/v1/opendata/statistics", ADMIN),
    ("POST", "/api/admin/v1/opendata/pulls/run", ADMIN),
    ("POST", "/api/admin/v1/organizations", ADMIN),
    ("GET", "/api/admin/v1/organizations", ADMIN),
    (
        "POST",
        "/api/admin/v1/organizations/{fiscal_code}/disable",
        ADMIN,
    ),
    (
        "POST",
        "/api/admin/v1/organizations/{fiscal_code}/enable",
        ADMIN,
    ),
    (
        "POST",
        "/api/admin/v1/organizations/{fiscal_code}/delegates",
        ADMIN,
    ),
    (
        "POST",
        "/api/admin/v1/organizations/{fiscal_code}/variations",
        ADMIN,
    ),
    (
        "POST",
        "/api/admin/v1/organizations/{fiscal_code}/mandates",
        ADMIN,
    ),
    (
        "GET",
        "/api/admin/v1/organizations/{fiscal_code}/mandates",
        ADMIN,
    ),
    ("GET", "/api/admin/v1/delegates", ADMIN),
    ("POST", "/api/admin/v1/delegates/{id}/disable", ADMIN),
    ("POST", "/api/admin/v1/delegates/{id}/enable", ADMIN),
    ("POST", "/api/admin/v1/delegates/{id}/rotate-key", ADMIN),
    ("PUT", "/api/admin/v1/services/{service_id}/featured", ADMIN),
    ("GET", "/api/admin/v1/services/{service_id}/limits", ADMIN),
    ("PUT", "/api/admin/v1/services/{service_id}/limits", ADMIN),
    ("GET", "/api/admin/v1/reviews", ADMIN),
    ("POST", "/api/admin/v1/reviews/{service_id}/approve", ADMIN),
    ("POST", "/api/admin/v1/reviews/{service_id}/reject", ADMIN),
    ("GET", "/api/admin/v1/callbacks", ADMIN),
    ("POST", "/api/admin/v1/citizens", ADMIN),
    (
        "POST",
        "/api/admin/v1/citizens/{fiscal_code}/sessions",
        ADMIN,
    ),
    ("GET", "/api/admin/v1/jobs", ADMIN),
    ("POST", "/api/admin/v1/jobs/{id}/retry", ADMIN),
    ("GET", "/api/admin/v1/audit", ADMIN),
];

const OPENDATA: &str = "open data (docs/OPENDATA.md): the manage API, the CKAN action subset, \
                        the DCAT-AP_IT catalogue and SPARQL, not yet in an OpenAPI document";
const CATALOGUE: &str = "public citizen catalogue, not yet in the document";
const ADMIN: &str = "operator-only admin API, not part of the document published for enti";
const ARCHIVES: &str = "massive notice archives (docs/notice-archives.md): a job and a ZIP \
                        download, not yet in the GPD document";
const IMPORTS: &str = "bulk import of debt positions (docs/PAYMENTS-IMPORT.md): a streamed file \
                       upload, not yet in the GPD document";

/// A route as compared here: upper-case method, absolute path, parameters unnamed (`{}`), since
/// the document names them as IO does (`{serviceId}`) and the router as Rust does.
type Key = (String, String);

fn key(method: &str, path: &str) -> Key {
    let mut normalized = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                normalized.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => normalized.push(c),
        }
    }
    (method.to_ascii_uppercase(), normalized)
}

fn served() -> BTreeSet<Key> {
    let routes = api::router::routes();
    let mut served = BTreeSet::new();
    for route in routes.served() {
        assert!(
            served.insert(key(route.method.as_str(), route.path)),
            "{} {} is in the route tables twice",
            route.method.as_str(),
            route.path
        );
    }
    served
}

/// The operations of both documents (`/api/v1`'s and the payments one, `/api/gpd`'s), at
/// absolute paths.
fn documented() -> BTreeSet<Key> {
    let mut documented = documented_in(&api::openapi::document());
    for key in documented_in(&api::payments::openapi::document()) {
        assert!(
            !documented.contains(&key),
            "{} {} is in both documents",
            key.0,
            key.1
        );
        documented.insert(key);
    }
    documented
}

/// The operations of one document, at absolute paths: a path without the `/api/` prefix is
/// relative to the document's server (`/api/v1`, `/api/gpd`).
fn documented_in(doc: &Value) -> BTreeSet<Key> {
    let server = doc["servers"][0]["url"]
        .as_str()
        .expect("the document names its server");
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        let absolute = if path.starts_with("/api/") {
            path.clone()
        } else {
            format!("{server}{path}")
        };
        let item = item.as_object().expect("a path item is an object");
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some_and(Value::is_object) {
                documented.insert(key(method, &absolute));
            }
        }
    }
    documented
}

fn undocumented() -> BTreeSet<Key> {
    let mut set = BTreeSet::new();
    for (method, path, reason) in UNDOCUMENTED {
        assert!(!reason.is_empty(), "{method} {path}: give a reason");
        assert!(
            set.insert(key(method, path)),
            "{method} {path} is allow-listed twice"
        );
    }
    set
}

fn listing(set: &BTreeSet<&Key>) -> String {
    set.iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect::<Vec<_>>()
        .join("\n  ")
}

#[test]
fn every_route_served_is_in_the_openapi_document_unless_allow_listed() {
    let (served, documented, undocumented) = (served(), documented(), undocumented());
    let missing: BTreeSet<&Key> = served
        .iter()
        .filter(|r| !documented.contains(*r) && !undocumented.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "served but not in the OpenAPI document (document them in the domain's openapi part, \
         or allow-list them with a reason):\n  {}",
        listing(&missing)
    );
}

#[test]
fn every_operation_in_the_openapi_document_is_served() {
    let served = served();
    let documented = documented();
    let phantom: BTreeSet<&Key> = documented.difference(&served).collect();
    assert!(
        phantom.is_empty(),
        "in the OpenAPI document but not served:\n  {}",
        listing(&phantom)
    );
}

#[test]
fn every_allow_listed_route_is_served_and_not_documented() {
    let (served, documented, undocumented) = (served(), documented(), undocumented());
    let stale: BTreeSet<&Key> = undocumented.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "allow-listed but not served (remove them from UNDOCUMENTED):\n  {}",
        listing(&stale)
    );
    let both: BTreeSet<&Key> = undocumented.intersection(&documented).collect();
    assert!(
        both.is_empty(),
        "allow-listed but documented (remove them from UNDOCUMENTED):\n  {}",
        listing(&both)
    );
}

#[test]
fn parameters_are_compared_without_their_names() {
    assert_eq!(
        key("get", "/api/v1/manage/services/{serviceId}/keys/{keyType}"),
        key(
            "GET",
            "/api/v1/manage/services/{service_id}/keys/{key_type}"
        )
    );
}
