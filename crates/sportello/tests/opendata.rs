//! Open data end to end, on both backends: an organization publishes a CSV with a column of
//! fiscal codes; publication is blocked with the personal-data report; the column is
//! removed; the dataset is published; the Turtle catalogue passes the project's DCAT-AP_IT
//! SHACL shapes (pySHACL); `package_search` finds it by theme and territory; SPARQL finds it;
//! `datastore_search` returns its rows; the view counter moves.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, ORG, TestApp};
use serde_json::{Value, json};

/// Valid fiscal codes (check characters computed with an independent script of the official
/// algorithm, not with the code under test).
const CSV: &str = "anno;quartiere;importo;codice_fiscale;data\n\
2024;Centro;1.234,50;RSSMRA85M01H501Q;31/01/2024\n\
2024;Nord;99,00;VRDGPP70A01F205V;29/02/2024\n\
2023;Sud;10,25;BNCLCU90D45L219H;15/03/2023\n";

fn key_headers(key: &str) -> Vec<(&'static str, String)> {
    vec![("ocp-apim-subscription-key", key.to_owned())]
}

async fn call(
    app: &TestApp,
    key: Option<&str>,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Option<String>,
) -> common::Response {
    let mut headers: Vec<(&str, String)> = key.map(key_headers).unwrap_or_default();
    if let Some(ct) = content_type {
        headers.push(("content-type", ct.to_owned()));
    }
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    common::send(app.addr, method, path, &refs, body).await
}

async fn a_published_csv_goes_from_upload_to_catalogue_search_sparql_and_datastore(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(
                &json!({"fiscal_code": ORG, "name": "Comune di Varese", "kind": "comune",
                         "ipa_code": "c_l682"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/delegates"),
            Some(&json!({"email": "opendata@comune.varese.it", "role": "technical"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.body["manage_key"].as_str().unwrap().to_owned();

    // Bad metadata: every fault named, nothing created.
    let r = call(
        &app,
        Some(&key),
        "POST",
        &format!("/api/opendata/v1/organizations/{ORG}/datasets"),
        Some("application/json"),
        Some(
            json!({"title": "", "description": "x", "themes": ["GOVX"], "frequency": "ANNUAL",
                    "license": "A21_CCBY40"})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("title") && r.text.contains("themes"),
        "{}",
        r.text
    );

    let r = call(
        &app,
        Some(&key),
        "POST",
        &format!("/api/opendata/v1/organizations/{ORG}/datasets"),
        Some("application/json"),
        Some(
            json!({"title": "Contributi per quartiere", "description":
                   "Contributi erogati dal Comune per quartiere e anno.",
                   "themes": ["GOVE", "ECON"], "frequency": "ANNUAL", "license": "A21_CCBY40",
                   "keywords": ["contributi", "quartieri"], "territory": ["012133"]})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let dataset = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["identifier"], format!("c_l682:{dataset}"));

    // Upload: the report names the fiscal-code column, masks the examples.
    let r = call(
        &app,
        Some(&key),
        "POST",
        &format!("/api/opendata/v1/datasets/{dataset}/resources?name=contributi"),
        Some("text/csv"),
        Some(CSV.to_owned()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let resource = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["row_count"], 3, "{}", r.body);
    assert_eq!(r.body["quality"]["delimiter"], ";", "{}", r.body);
    let personal = r.body["personal_data"].as_array().unwrap();
    assert!(
        personal
            .iter()
            .any(|f| f["column"] == "codice_fiscale" && f["kind"] == "fiscal_code"),
        "{}",
        r.body
    );
    assert!(
        !r.text.contains("RSSMRA85M01H501Q"),
        "raw value leaked: {}",
        r.text
    );
    let types: Vec<(String, String)> = r.body["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        types.contains(&("anno".into(), "integer".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&("importo".into(), "number".into())),
        "{types:?}"
    );
    assert!(types.contains(&("data".into(), "date".into())), "{types:?}");

    // Publication blocked, listing the column.
    let r = call(
        &app,
        Some(&key),
        "POST",
        &format!("/api/opendata/v1/datasets/{dataset}/publish"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(
        r.body["columns"][0]["column"], "codice_fiscale",
        "{}",
        r.body
    );
    // Not public yet.
    let r = call(
        &app,
        None,
        "GET",
        &format!("/api/3/action/package_show?id={dataset}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);

    // The column is removed; publication goes through.
    let r = call(
        &app,
        Some(&key),
        "POST",
        &format!("/api/opendata/v1/resources/{resource}/resolutions"),
        Some("application/json"),
        Some(json!({"column": "codice_fiscale", "action": "remove"}).to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["publishable"], true, "{}", r.body);
    assert!(
        !r.body["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "codice_fiscale")
    );
    let r = call(
        &app,
        Some(&key),
        "POST",
        &format!("/api/opendata/v1/datasets/{dataset}/publish"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "published");

    // The Turtle catalogue passes the SHACL shapes.
    let r = call(&app, None, "GET", "/catalog.ttl", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(&dataset), "{}", r.text);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("catalog.ttl");
    std::fs::write(&data, &r.bytes).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tools = std::process::Command::new("bash")
        .arg(root.join("scripts/test-tools.sh"))
        .output()
        .unwrap();
    assert!(
        tools.status.success(),
        "{}",
        String::from_utf8_lossy(&tools.stderr)
    );
    let python = String::from_utf8_lossy(&tools.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    let shacl = std::process::Command::new(&python)
        .args(["-m", "pyshacl", "-s"])
        .arg(root.join("crates/linkeddata/shapes/dcat-ap-it.ttl"))
        .args(["-df", "turtle", "-sf", "turtle"])
        .arg(&data)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&shacl.stdout);
    assert!(
        shacl.status.success() && report.contains("Conforms: True"),
        "{report}"
    );

    // package_search by theme and territory (the comune's province and region too).
    for fq in [
        "theme:GOVE",
        "territory:012133",
        "territory:012",
        "territory:03",
    ] {
        let r = call(
            &app,
            None,
            "GET",
            &format!("/api/3/action/package_search?fq={fq}&facet.field=%5B%22theme%22%5D"),
            None,
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["result"]["count"], 1, "{fq}: {}", r.body);
        assert_eq!(r.body["result"]["results"][0]["id"], dataset.as_str());
    }
    let r = call(
        &app,
        None,
        "GET",
        "/api/3/action/package_search?fq=theme:AGRI",
        None,
        None,
    )
    .await;
    assert_eq!(r.body["result"]["count"], 0, "{}", r.body);
    let r = call(
        &app,
        None,
        "GET",
        "/api/3/action/package_search?q=contributo",
        None,
        None,
    )
    .await;
    assert_eq!(r.body["result"]["count"], 1, "stemmed search: {}", r.body);

    // SPARQL finds it by theme.
    let query = "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/> \
                 SELECT ?d ?title WHERE { ?d a dcat:Dataset ; dct:title ?title ; dcat:theme \
                 <http://publications.europa.eu/resource/authority/data-theme/GOVE> }";
    let r = call(
        &app,
        None,
        "POST",
        "/sparql",
        Some("application/sparql-query"),
        Some(query.to_owned()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bindings = r.body["results"]["bindings"].as_array().unwrap();
    assert_eq!(bindings.len(), 1, "{}", r.body);
    assert_eq!(bindings[0]["title"]["value"], "Contributi per quartiere");
    let r = call(
        &app,
        None,
        "GET",
        "/sparql?query=SELECT%20%3Fx%20WHERE%20%7B",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // datastore_search returns its rows, typed, filtered.
    let r = call(
        &app,
        None,
        "POST",
        "/api/3/action/datastore_search",
        Some("application/json"),
        Some(
            json!({"resource_id": resource, "filters": {"anno": 2024}, "sort": "importo desc"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let records = r.body["result"]["records"].as_array().unwrap();
    assert_eq!(r.body["result"]["total"], 2, "{}", r.body);
    assert_eq!(records[0]["quartiere"], "Centro");
    assert_eq!(records[0]["importo"], 1234.5);
    assert_eq!(records[1]["data"], "2024-02-29");
    assert!(records[0].get("codice_fiscale").is_none());

    // q: a case-insensitive substring of a text column, counted; LIKE wildcards are literal.
    for (q, total) in [("cENTR", 1), ("r", 2), ("%", 0), ("_", 0), ("Periferia", 0)] {
        let r = call(
            &app,
            None,
            "POST",
            "/api/3/action/datastore_search",
            Some("application/json"),
            Some(json!({"resource_id": resource, "q": q}).to_string()),
        )
        .await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert_eq!(r.body["result"]["total"], total, "{q}: {}", r.body);
        assert_eq!(
            r.body["result"]["records"].as_array().unwrap().len(),
            total as usize,
            "{q}"
        );
    }

    // The view counter moves: a page view and a package_show by one visitor count once a day each.
    let before = call(
        &app,
        None,
        "GET",
        &format!("/api/3/action/package_show?id={dataset}"),
        None,
        None,
    )
    .await;
    let before = before.body["result"]["tracking_summary"]["total"]
        .as_u64()
        .unwrap();
    let page = call(
        &app,
        None,
        "GET",
        &format!("/dataset/{dataset}"),
        None,
        None,
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Contributi per quartiere"));
    let after: Value = call(
        &app,
        None,
        "GET",
        &format!("/api/3/action/package_show?id={dataset}"),
        None,
        None,
    )
    .await
    .body;
    let after_total = after["result"]["tracking_summary"]["total"]
        .as_u64()
        .unwrap();
    assert_eq!(after_total, before + 1, "{after}");
    app.finish().await;
}

/// The spreadsheet fixtures of the opendata crate (written by openpyxl, XlsxWriter and odfpy).
fn sheet_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../sheet/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn spreadsheets_upload_with_their_formula_cells_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.onboard().await;
    let r = call(
        &app,
        Some(&key),
        "POST",
        &format!("/api/opendata/v1/organizations/{ORG}/datasets"),
        Some("application/json"),
        Some(
            json!({"title": "Conti", "description": "Voci di spesa.", "themes": ["GOVE"],
                   "frequency": "ANNUAL", "license": "A21_CCBY40"})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let dataset = r.body["id"].as_str().unwrap().to_owned();
    let upload = |name: &'static str, ct: &'static str| {
        let (addr, key, dataset) = (app.addr, key.clone(), dataset.clone());
        async move {
            common::send_bytes(
                addr,
                "POST",
                &format!("/api/opendata/v1/datasets/{dataset}/resources?name={name}"),
                &[("ocp-apim-subscription-key", &key), ("content-type", ct)],
                Some(sheet_fixture(name)),
            )
            .await
        }
    };
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let ods = "application/vnd.oasis.opendocument.spreadsheet";
    let r = upload("formula.xlsx", xlsx).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["format"], "XLSX", "{}", r.body);
    assert_eq!(r.body["row_count"], 3, "{}", r.body);
    let issues = r.body["quality"]["issues"].as_array().unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i["kind"] == "formula-cell" && i["row"] == 4 && i["column"] == "importo"),
        "{}",
        r.body
    );
    let resource = r.body["id"].as_str().unwrap().to_owned();
    // A draft is not public.
    let r = call(
        &app,
        None,
        "GET",
        &format!("/api/opendata/v1/datasets/{dataset}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = call(
        &app,
        Some(&key),
        "GET",
        &format!("/api/opendata/v1/resources/{resource}/download?format=json"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got: Vec<Value> = serde_json::from_str(&r.text).unwrap();
    assert_eq!(got[0]["voce"], "Perché Città", "{}", r.text);
    assert_eq!(got[0]["giorno"], "2024-02-29", "{}", r.text);
    assert_eq!(got[2]["importo"], 3.5, "{}", r.text);

    let r = upload("table.ods", ods).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["format"], "ODS", "{}", r.body);
    assert_eq!(r.body["row_count"], 4, "{}", r.body);

    // Declared ODS, sent XLSX: refused with the reason, nothing created.
    let r = common::send_bytes(
        app.addr,
        "POST",
        &format!("/api/opendata/v1/datasets/{dataset}/resources?name=wrong"),
        &[("ocp-apim-subscription-key", &key), ("content-type", ods)],
        Some(sheet_fixture("table.xlsx")),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.text.contains("not-a-spreadsheet") || r.text.contains("spreadsheet"),
        "{}",
        r.text
    );
    let d = call(
        &app,
        Some(&key),
        "GET",
        &format!("/api/opendata/v1/datasets/{dataset}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        d.body["resources"].as_array().unwrap().len(),
        2,
        "{}",
        d.body
    );
    app.finish().await;
}

both_backends!(
    a_published_csv_goes_from_upload_to_catalogue_search_sparql_and_datastore,
    spreadsheets_upload_with_their_formula_cells_reported
);
