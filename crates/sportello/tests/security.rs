//! Security properties over real HTTP on both backends: CSV exports that a spreadsheet cannot
//! run as formulas, and callback URLs that cannot reach the platform's own network (SSRF).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, CITIZEN, TestApp, markdown};
use serde_json::json;

both_backends!(csv_exports_neutralise_cells_a_spreadsheet_would_run_as_formulas,);

async fn csv_exports_neutralise_cells_a_spreadsheet_would_run_as_formulas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let r = app
        .admin("POST", &format!("/citizens/{CITIZEN}/sessions"), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let auth = format!("Bearer {}", r.body["token"].as_str().unwrap());
    let r = app
        .request(
            "PUT",
            "/api/citizen/v1/profile",
            &[("authorization", &auth)],
            Some(&json!({"version": 0, "is_inbox_enabled": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let formula = r#"=HYPERLINK("http://evil.example","Paga qui")"#;
    let cases = [
        (formula.to_owned(), format!("@SUM(1+1) {}", markdown())),
        (
            "+39 0332 255111 Ufficio tributi".to_owned(),
            format!("-{}", markdown()),
        ),
        (
            "\tRata TARI in scadenza".to_owned(),
            format!("\r{}", markdown()),
        ),
    ];
    for (subject, md) in &cases {
        let r = app
            .send(&key, CITIZEN, json!({"subject": subject, "markdown": md}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(app.settled(&key, CITIZEN, &id).await["status"], "PROCESSED");
    }
    let csv = app
        .request(
            "GET",
            "/api/citizen/v1/export?format=csv",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    // Every cell is quoted; one that starts with = + - @ tab or CR gets a leading apostrophe,
    // which spreadsheets show as text instead of evaluating.
    assert!(
        csv.text
            .contains(r#""'=HYPERLINK(""http://evil.example"",""Paga qui"")""#),
        "{}",
        csv.text
    );
    assert!(!csv.text.contains(r#","=HYPERLINK"#), "{}", csv.text);
    assert!(csv.text.contains("\"'@SUM(1+1) "), "{}", csv.text);
    assert!(csv.text.contains("\"'+39 0332"), "{}", csv.text);
    assert!(csv.text.contains("\"'-Gentile"), "{}", csv.text);
    assert!(csv.text.contains("\"'\tRata TARI"), "{}", csv.text);
    assert!(csv.text.contains("\"'\rGentile"), "{}", csv.text);
    // Ordinary cells are unchanged.
    assert!(csv.text.contains("\"PROCESSED\",\"false\""), "{}", csv.text);
    // The JSON export is data, not a spreadsheet: it keeps the text exactly as sent.
    let doc = app
        .request(
            "GET",
            "/api/citizen/v1/export",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert!(
        doc.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"]["subject"] == formula),
        "{}",
        doc.body
    );
    app.finish().await;
}
