//! The citizen API (`/api/citizen/v1`) over real HTTP, on both backends: sessions, profile,
//! per-service preferences, inbox, status changes, export and account deletion, and that a
//! citizen never reaches another citizen's data.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN_TOKEN, Backend, CITIZEN, ORG, Response, SANDBOX, TestApp, markdown};
use serde_json::{Value, json};

both_backends!(
    a_session_issued_by_the_admin_api_opens_the_citizen_api_and_nothing_else_does,
    the_cli_issues_a_session_that_works_over_http,
    a_citizen_creates_and_updates_the_profile_with_optimistic_versions,
    an_invalid_profile_update_lists_every_field_and_changes_nothing,
    preferences_follow_the_mode_and_the_settings_version,
    the_inbox_lists_newest_first_with_cursors_filters_and_search,
    a_citizen_opens_reads_and_archives_messages,
    a_citizen_can_never_read_change_or_infer_another_citizens_data,
    the_export_holds_everything_in_json_and_the_messages_in_csv,
    deleting_the_account_removes_everything_but_the_entes_status_records,
    sessions_are_listed_revoked_one_by_one_or_all_and_kept_in_the_history,
    the_email_validation_link_refuses_unknown_and_malformed_tokens,
);

/// A second citizen.
const OTHER: &str = "VRDGPP80A01F205X";
const NOTICE: &str = "301000000000000144";

/// A request to the citizen API with a session token.
async fn citizen(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let auth = format!("Bearer {token}");
    app.request(
        method,
        &format!("/api/citizen/v1{path}"),
        &[("authorization", &auth)],
        body,
    )
    .await
}

/// Creates the caller's profile with the inbox on; returns it.
async fn profile(app: &TestApp, token: &str) -> Value {
    let r = citizen(
        app,
        token,
        "PUT",
        "/profile",
        Some(&json!({"version": 0, "is_inbox_enabled": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn invalid_names(r: &Response) -> Vec<String> {
    r.body["invalid_params"]
        .as_array()
        .unwrap_or_else(|| panic!("no invalid_params in {}", r.body))
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends a message and waits until it is processed; returns its id.
async fn delivered(app: &TestApp, key: &str, to: &str, content: Value) -> String {
    let r = app.send(key, to, content).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let got = app.settled(key, to, &id).await;
    assert_eq!(got["status"], "PROCESSED", "{got}");
    id
}

fn plain(subject: &str) -> Value {
    json!({"subject": subject, "markdown": markdown()})
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// An onboarded organization with one service that may message both citizens, both of whom
/// have a profile with the inbox on. Returns (manage key, service id, service key, token of
/// CITIZEN, token of OTHER).
async fn world(app: &TestApp) -> (String, String, String, String, String) {
    let manage = app.onboard().await;
    let (service, key) = app
        .service(&manage, json!({"authorized_recipients": [CITIZEN, OTHER]}))
        .await;
    let a = app.session(CITIZEN).await;
    let b = app.session(OTHER).await;
    profile(app, &a).await;
    profile(app, &b).await;
    (manage, service, key, a, b)
}

async fn a_session_issued_by_the_admin_api_opens_the_citizen_api_and_nothing_else_does(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .admin("POST", &format!("/citizens/{CITIZEN}/sessions"), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    assert_eq!(r.body["session_id"].as_str().unwrap().len(), 26);
    assert!(r.body["expires_at"].as_str().unwrap().ends_with('Z'));

    // Issuing a session does not create the profile.
    let p = citizen(&app, &token, "GET", "/profile", None).await;
    assert_eq!(p.status, 404, "{}", p.body);
    assert_eq!(p.body["title"], "Profile not found");
    assert_eq!(
        citizen(&app, &token, "GET", "/messages", None).await.status,
        200
    );

    // Refused fiscal codes, and the admin token is required.
    let bad = app
        .admin("POST", "/citizens/RSSMRA85T10A562X/sessions", None)
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(invalid_names(&bad), ["fiscal_code"]);
    let sandbox = app
        .admin("POST", &format!("/citizens/{SANDBOX}/sessions"), None)
        .await;
    assert_eq!(sandbox.status, 400, "{}", sandbox.body);
    let anonymous = app
        .request(
            "POST",
            &format!("/api/admin/v1/citizens/{CITIZEN}/sessions"),
            &[],
            None,
        )
        .await;
    assert_eq!(anonymous.status, 401);

    // Without a token, with a made-up one, with the admin token, or revoked: one answer.
    let unknown = "A".repeat(43);
    let mut refusals = vec![
        app.request("GET", "/api/citizen/v1/profile", &[], None)
            .await,
        citizen(&app, &unknown, "GET", "/profile", None).await,
        citizen(&app, ADMIN_TOKEN, "GET", "/profile", None).await,
        app.request(
            "GET",
            "/api/citizen/v1/profile",
            &[("authorization", &format!("Basic {token}"))],
            None,
        )
        .await,
    ];
    let revoked = citizen(&app, &token, "DELETE", "/sessions", None).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body["revoked"], 1);
    refusals.push(citizen(&app, &token, "GET", "/profile", None).await);
    for r in &refusals {
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.headers["content-type"], "application/problem+json");
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(r.body, refusals[0].body, "every refusal reads the same");
    }

    // The catalogue stays public.
    assert_eq!(
        app.request("GET", "/api/citizen/v1/organizations", &[], None)
            .await
            .status,
        200
    );
    app.finish().await;
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SPORTELLO_DATA_DIR", app.db.data_dir.path())
        .env("SPORTELLO_DATABASE_URL", &app.db.url)
        .env("SPORTELLO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("SPORTELLO_CONTENT_KEYS", &app.db.content_keys)
        .env("SPORTELLO_SESSION_TTL_HOURS", "2")
        .env("SPORTELLO_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

async fn the_cli_issues_a_session_that_works_over_http(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = tokio::task::block_in_place(|| {
        cli(
            &app,
            &[
                "admin",
                "citizen",
                "session",
                "--fiscal-code",
                CITIZEN,
                "--json",
            ],
        )
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = issued["token"].as_str().unwrap();
    let id = issued["session_id"].as_str().unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(issued["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let hours = (expires - chrono::Utc::now()).num_minutes();
    assert!(
        (110..=120).contains(&hours),
        "the configured lifetime: {hours} min"
    );

    profile(&app, token).await;
    let list = citizen(&app, token, "GET", "/sessions", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"][0]["id"], id);
    assert_eq!(list.body["items"][0]["method"], "admin");
    assert_eq!(list.body["items"][0]["current"], true);

    // A refused fiscal code: exit code 2 and the reason, no token.
    let bad = tokio::task::block_in_place(|| {
        cli(
            &app,
            &[
                "admin",
                "citizen",
                "session",
                "--fiscal-code",
                "RSSMRA85T10A562X",
            ],
        )
    });
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("check character"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let sandbox = tokio::task::block_in_place(|| {
        cli(
            &app,
            &["admin", "citizen", "session", "--fiscal-code", SANDBOX],
        )
    });
    assert_eq!(sandbox.status.code(), Some(2));
    app.finish().await;
}

async fn a_citizen_creates_and_updates_the_profile_with_optimistic_versions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.session(CITIZEN).await;

    // Creating needs version 0.
    let early = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 3})),
    )
    .await;
    assert_eq!(early.status, 409, "{}", early.body);
    let legacy = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 0, "service_preferences_settings": {"mode": "LEGACY"}})),
    )
    .await;
    assert_eq!(legacy.status, 409, "{}", legacy.body);
    let created = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 0, "email": "mario.rossi@example.org", "accepted_tos_version": 2})),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        created.body,
        json!({
            "fiscal_code": CITIZEN,
            "email": "mario.rossi@example.org",
            "is_email_validated": false,
            "is_email_enabled": true,
            "is_inbox_enabled": false,
            "is_webhook_enabled": false,
            "preferred_languages": ["it_IT"],
            "accepted_tos_version": 2,
            "service_preferences_settings": {"mode": "AUTO"},
            "blocked_inbox_or_channels": {},
            "reminder_status": "ENABLED",
            "push_notifications_content_type": "FULL",
            "version": 0
        })
    );
    let again = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 0})),
    )
    .await;
    assert_eq!(again.status, 200, "an update at version 0: {}", again.body);
    assert_eq!(again.body["version"], 1);

    // A stale version is refused and names the stored one.
    let stale = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 0, "is_inbox_enabled": true})),
    )
    .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["detail"], "stale version: stored 1");
    assert_eq!(
        citizen(&app, &token, "GET", "/profile", None).await.body["is_inbox_enabled"],
        false
    );

    // Absent fields keep their value; a profile read can be sent back changed.
    let mut read = citizen(&app, &token, "GET", "/profile", None).await.body;
    read["is_inbox_enabled"] = json!(true);
    read["is_webhook_enabled"] = json!(true);
    read["preferred_languages"] = json!(["en_GB", "it_IT"]);
    read["reminder_status"] = json!("DISABLED");
    read["push_notifications_content_type"] = json!("ANONYMOUS");
    let r = citizen(&app, &token, "PUT", "/profile", Some(&read)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["email"], "mario.rossi@example.org");
    assert_eq!(r.body["accepted_tos_version"], 2);
    assert_eq!(r.body["preferred_languages"], json!(["en_GB", "it_IT"]));
    assert_eq!(r.body["reminder_status"], "DISABLED");
    assert_eq!(r.body["push_notifications_content_type"], "ANONYMOUS");
    assert_eq!(r.body["is_webhook_enabled"], true);

    // The ente now sees the citizen.
    let manage = app.onboard().await;
    let (service, key) = app.service(&manage, json!({})).await;
    let limited = app
        .with_key(&key, "GET", &format!("/profiles/{CITIZEN}"), None)
        .await;
    assert_eq!(limited.status, 200, "{}", limited.body);
    assert_eq!(
        limited.body["preferred_languages"],
        json!(["en_GB", "it_IT"])
    );

    // A mode change starts a new settings version; there is no way back to LEGACY.
    let prefs = format!("/services/{service}/preferences");
    assert_eq!(
        citizen(&app, &token, "GET", &prefs, None).await.body["settings_version"],
        0
    );
    let manual = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 2, "service_preferences_settings": {"mode": "MANUAL"}})),
    )
    .await;
    assert_eq!(manual.status, 200, "{}", manual.body);
    assert_eq!(
        manual.body["service_preferences_settings"]["mode"],
        "MANUAL"
    );
    assert_eq!(
        citizen(&app, &token, "GET", &prefs, None).await.body["settings_version"],
        1
    );
    let back = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 3, "service_preferences_settings": {"mode": "LEGACY"}})),
    )
    .await;
    assert_eq!(back.status, 409, "{}", back.body);
    let same = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 3, "service_preferences_settings": {"mode": "MANUAL"}})),
    )
    .await;
    assert_eq!(same.status, 200);
    assert_eq!(
        citizen(&app, &token, "GET", &prefs, None).await.body["settings_version"],
        1,
        "the same mode again is no change"
    );

    // A changed address is unvalidated; null removes it.
    let changed = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 4, "email": "mario@example.org"})),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["email"], "mario@example.org");
    assert_eq!(changed.body["is_email_validated"], false);
    let removed = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 5, "email": null})),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body.get("email").is_none());
    app.finish().await;
}

async fn an_invalid_profile_update_lists_every_field_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.session(CITIZEN).await;
    let before = profile(&app, &token).await;
    let r = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({
            "version": 0,
            "email": "mario at example",
            "is_inbox_enabled": false,
            "is_webhook_enabled": "yes",
            "preferred_languages": ["it_IT", "la_VA", "it_IT"],
            "accepted_tos_version": 0,
            "service_preferences_settings": {"mode": "SOMETIMES"},
            "blocked_inbox_or_channels": {"not-a-service": ["EMAIL"]},
            "reminder_status": "ON",
            "push_notifications_content_type": "SOME",
            "nickname": "Mario"
        })),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(
        invalid_names(&r),
        [
            "nickname",
            "email",
            "is_webhook_enabled",
            "preferred_languages[1]",
            "accepted_tos_version",
            "reminder_status",
            "push_notifications_content_type",
            "service_preferences_settings.mode",
            "blocked_inbox_or_channels.not-a-service",
        ]
    );
    assert!(!r.text.contains("mario at example"), "no input echoed");
    let missing = citizen(&app, &token, "PUT", "/profile", Some(&json!({}))).await;
    assert_eq!(invalid_names(&missing), ["version"]);
    let not_json = app
        .request(
            "PUT",
            "/api/citizen/v1/profile",
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(not_json.status, 400);
    let after = citizen(&app, &token, "GET", "/profile", None).await;
    assert_eq!(after.body, before, "nothing changed");
    app.finish().await;
}

async fn preferences_follow_the_mode_and_the_settings_version(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (service, _) = app.service(&manage, json!({})).await;
    let prefs = format!("/services/{service}/preferences");
    let token = app.session(CITIZEN).await;
    let none = citizen(&app, &token, "GET", &prefs, None).await;
    assert_eq!(none.status, 404, "no profile: {}", none.body);

    // LEGACY: derived from the blocked channels, and not writable.
    app.citizen(json!({"fiscal_code": CITIZEN, "preference_mode": "LEGACY"}))
        .await;
    let blocked = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 0, "blocked_inbox_or_channels": {service.clone(): ["EMAIL", "EMAIL"]}})),
    )
    .await;
    assert_eq!(blocked.status, 200, "{}", blocked.body);
    assert_eq!(
        blocked.body["blocked_inbox_or_channels"],
        json!({service.clone(): ["EMAIL"]})
    );
    let legacy = citizen(&app, &token, "GET", &prefs, None).await;
    assert_eq!(legacy.status, 200, "{}", legacy.body);
    assert_eq!(
        legacy.body,
        json!({"is_inbox_enabled": true, "is_email_enabled": false, "is_webhook_enabled": true,
               "can_access_message_read_status": true, "settings_version": 0})
    );
    let body = json!({"is_inbox_enabled": false, "is_email_enabled": true,
                      "is_webhook_enabled": true, "settings_version": 0});
    let refused = citizen(&app, &token, "PUT", &prefs, Some(&body)).await;
    assert_eq!(refused.status, 409, "{}", refused.body);

    // AUTO: everything on until a preference says otherwise, for the new settings version.
    let auto = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 1, "service_preferences_settings": {"mode": "AUTO"}})),
    )
    .await;
    assert_eq!(auto.status, 200, "{}", auto.body);
    let r = citizen(&app, &token, "GET", &prefs, None).await;
    assert_eq!(
        r.body,
        json!({"is_inbox_enabled": true, "is_email_enabled": true, "is_webhook_enabled": true,
               "can_access_message_read_status": true, "settings_version": 1})
    );
    let stale = citizen(&app, &token, "PUT", &prefs, Some(&body)).await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    let mut current = body.clone();
    current["settings_version"] = json!(1);
    current["can_access_message_read_status"] = json!(false);
    let stored = citizen(&app, &token, "PUT", &prefs, Some(&current)).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert_eq!(stored.body, current);
    assert_eq!(
        citizen(&app, &token, "GET", &prefs, None).await.body,
        current
    );

    // MANUAL: a new settings version, where nothing is allowed by default.
    let manual = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 2, "service_preferences_settings": {"mode": "MANUAL"}})),
    )
    .await;
    assert_eq!(manual.status, 200, "{}", manual.body);
    assert_eq!(
        citizen(&app, &token, "GET", &prefs, None).await.body,
        json!({"is_inbox_enabled": false, "is_email_enabled": false, "is_webhook_enabled": false,
               "can_access_message_read_status": true, "settings_version": 2})
    );

    // Unknown and malformed services, invalid bodies.
    let unknown = format!("/services/{}/preferences", ulid::Ulid::new());
    assert_eq!(
        citizen(&app, &token, "GET", &unknown, None).await.status,
        404
    );
    assert_eq!(
        citizen(&app, &token, "PUT", &unknown, Some(&current))
            .await
            .status,
        404
    );
    let malformed = citizen(&app, &token, "GET", "/services/nope/preferences", None).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(invalid_names(&malformed), ["service_id"]);
    let bad = citizen(
        &app,
        &token,
        "PUT",
        &prefs,
        Some(
            &json!({"is_inbox_enabled": "yes", "is_webhook_enabled": true,
                     "settings_version": -1, "colour": "red"}),
        ),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        invalid_names(&bad),
        [
            "colour",
            "is_inbox_enabled",
            "is_email_enabled",
            "settings_version"
        ]
    );
    app.finish().await;
}

async fn the_inbox_lists_newest_first_with_cursors_filters_and_search(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manage, tributi, key, token, _) = world(&app).await;
    let (anagrafe, other_key) = app
        .service(
            &manage,
            json!({"name": "Anagrafe", "authorized_recipients": [CITIZEN, OTHER]}),
        )
        .await;
    let mut sent = Vec::new();
    for i in 0..4 {
        sent.push(
            delivered(
                &app,
                &key,
                CITIZEN,
                plain(&format!("Avviso numero {i} della TARI")),
            )
            .await,
        );
    }
    let payment = delivered(
        &app,
        &other_key,
        CITIZEN,
        json!({"subject": "Rata del certificato anagrafico", "markdown": markdown(),
               "due_date": "2030-12-31T00:00:00.000Z",
               "payment_data": {"amount": 1600, "notice_number": NOTICE}}),
    )
    .await;
    sent.push(payment.clone());
    let mut newest_first = sent.clone();
    newest_first.sort();
    newest_first.reverse();

    // One page of everything, enriched.
    let all = citizen(&app, &token, "GET", "/messages", None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(ids(&all.body), newest_first);
    assert_eq!(all.body["prev"], newest_first[0].as_str());
    assert!(all.body.get("next").is_none(), "no older messages");
    let item = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == payment.as_str())
        .unwrap();
    assert_eq!(
        item["category"],
        json!({"tag": "PAYMENT", "rptId": format!("{ORG}{NOTICE}")})
    );
    assert_eq!(item["due_date"], "2030-12-31T00:00:00.000Z");
    assert_eq!(item["message_title"], "Rata del certificato anagrafico");
    assert_eq!(item["service_name"], "Anagrafe");
    assert_eq!(item["sender_service_id"], anagrafe.as_str());
    assert_eq!(item["organization_name"], "Comune di Varese");
    assert_eq!(item["organization_fiscal_code"], ORG);
    assert_eq!(item["fiscal_code"], CITIZEN);
    assert_eq!(item["time_to_live"], 3600);
    assert_eq!(
        (item["is_read"].clone(), item["is_archived"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        (
            item["has_attachments"].clone(),
            item["has_precondition"].clone()
        ),
        (json!(false), json!(false))
    );
    let generic = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == sent[0].as_str())
        .unwrap();
    assert_eq!(generic["category"], json!({"tag": "GENERIC"}));
    assert!(generic.get("due_date").is_none());

    // Pages of two, down with maximum_id and back up with minimum_id.
    let p1 = citizen(&app, &token, "GET", "/messages?page_size=2", None).await;
    assert_eq!(ids(&p1.body), newest_first[..2]);
    assert_eq!(p1.body["next"], newest_first[1].as_str());
    let next = p1.body["next"].as_str().unwrap();
    let p2 = citizen(
        &app,
        &token,
        "GET",
        &format!("/messages?page_size=2&maximum_id={next}"),
        None,
    )
    .await;
    assert_eq!(ids(&p2.body), newest_first[2..4]);
    assert_eq!(p2.body["prev"], newest_first[2].as_str());
    let next = p2.body["next"].as_str().unwrap();
    let p3 = citizen(
        &app,
        &token,
        "GET",
        &format!("/messages?page_size=2&maximum_id={next}"),
        None,
    )
    .await;
    assert_eq!(ids(&p3.body), newest_first[4..]);
    assert!(p3.body.get("next").is_none());
    let prev = p3.body["prev"].as_str().unwrap();
    let up = citizen(
        &app,
        &token,
        "GET",
        &format!("/messages?page_size=2&minimum_id={prev}"),
        None,
    )
    .await;
    assert_eq!(ids(&up.body), newest_first[2..4], "the page just above");
    let range = citizen(
        &app,
        &token,
        "GET",
        &format!(
            "/messages?minimum_id={}&maximum_id={}",
            newest_first[4], newest_first[0]
        ),
        None,
    )
    .await;
    assert_eq!(ids(&range.body), newest_first[1..4]);

    // Filters: service, archive, text in the subject.
    let only = citizen(
        &app,
        &token,
        "GET",
        &format!("/messages?service_id={anagrafe}"),
        None,
    )
    .await;
    assert_eq!(ids(&only.body), std::slice::from_ref(&payment));
    let only = citizen(
        &app,
        &token,
        "GET",
        &format!("/messages?service_id={tributi}"),
        None,
    )
    .await;
    assert_eq!(ids(&only.body).len(), 4);
    let archive = json!({"change_type": "archiving", "is_archived": true});
    let r = citizen(
        &app,
        &token,
        "PUT",
        &format!("/messages/{}/status", sent[1]),
        Some(&archive),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let inbox = citizen(&app, &token, "GET", "/messages", None).await;
    assert!(!ids(&inbox.body).contains(&sent[1]));
    assert_eq!(ids(&inbox.body).len(), 4);
    let archived = citizen(&app, &token, "GET", "/messages?archived=true", None).await;
    assert_eq!(ids(&archived.body), std::slice::from_ref(&sent[1]));
    assert_eq!(archived.body["items"][0]["is_archived"], true);
    let found = citizen(&app, &token, "GET", "/messages?search=NUMERO%202", None).await;
    assert_eq!(ids(&found.body), std::slice::from_ref(&sent[2]));
    let found = citizen(
        &app,
        &token,
        "GET",
        "/messages?search=tari&page_size=2",
        None,
    )
    .await;
    let mut tari: Vec<String> = [&sent[0], &sent[2], &sent[3]]
        .into_iter()
        .cloned()
        .collect();
    tari.sort();
    tari.reverse();
    assert_eq!(ids(&found.body), tari[..2]);
    let next = found.body["next"].as_str().unwrap();
    let rest = citizen(
        &app,
        &token,
        "GET",
        &format!("/messages?search=tari&page_size=2&maximum_id={next}"),
        None,
    )
    .await;
    assert_eq!(ids(&rest.body), tari[2..]);
    assert!(rest.body.get("next").is_none());
    let nothing = citizen(&app, &token, "GET", "/messages?search=imu", None).await;
    assert_eq!(nothing.body, json!({"items": []}));

    // Bad parameters are named.
    let bad = citizen(
        &app,
        &token,
        "GET",
        "/messages?page_size=101&maximum_id=xyz&archived=maybe&service_id=1&colour=red",
        None,
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(
        invalid_names(&bad),
        [
            "colour",
            "page_size",
            "maximum_id",
            "archived",
            "service_id"
        ]
    );
    let zero = citizen(&app, &token, "GET", "/messages?page_size=0", None).await;
    assert_eq!(invalid_names(&zero), ["page_size"]);
    app.finish().await;
}

async fn a_citizen_opens_reads_and_archives_messages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, service, key, token, _) = world(&app).await;
    let id = delivered(
        &app,
        &key,
        CITIZEN,
        json!({"subject": "Rata TARI in scadenza", "markdown": markdown(),
               "due_date": "2030-06-30T00:00:00.000Z",
               "payment_data": {"amount": 12345, "notice_number": NOTICE}}),
    )
    .await;
    let r = citizen(&app, &token, "GET", &format!("/messages/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["sender_service_id"], service.as_str());
    assert_eq!(r.body["message_title"], "Rata TARI in scadenza");
    assert_eq!(r.body["content"]["subject"], "Rata TARI in scadenza");
    assert_eq!(r.body["content"]["markdown"], markdown());
    assert_eq!(r.body["content"]["payment_data"]["amount"], 12345);
    assert_eq!(r.body["content"]["payment_data"]["notice_number"], NOTICE);
    assert_eq!(r.body["content"]["due_date"], "2030-06-30T00:00:00.000Z");
    assert_eq!(r.body["category"]["rptId"], format!("{ORG}{NOTICE}"));
    assert_eq!(r.body["is_read"], false, "opening is not reading");

    let status = format!("/messages/{id}/status");
    let change = |body: Value| {
        let (app, token, status) = (&app, &token, &status);
        async move { citizen(app, token, "PUT", status, Some(&body)).await }
    };
    let unread = change(json!({"change_type": "reading", "is_read": false})).await;
    assert_eq!(unread.status, 400);
    assert_eq!(invalid_names(&unread), ["is_read"]);
    let read = change(json!({"change_type": "reading", "is_read": true})).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body, json!({"is_read": true, "is_archived": false}));
    let archived = change(json!({"change_type": "archiving", "is_archived": true})).await;
    assert_eq!(archived.body, json!({"is_read": true, "is_archived": true}));
    let restored = change(json!({"change_type": "archiving", "is_archived": false})).await;
    assert_eq!(
        restored.body,
        json!({"is_read": true, "is_archived": false})
    );
    let bulk = change(json!({"change_type": "bulk", "is_read": true, "is_archived": true})).await;
    assert_eq!(bulk.body, json!({"is_read": true, "is_archived": true}));
    let bad = change(json!({"change_type": "deleting"})).await;
    assert_eq!(invalid_names(&bad), ["change_type"]);
    let item = citizen(&app, &token, "GET", &format!("/messages/{id}"), None).await;
    assert_eq!(
        (
            item.body["is_read"].clone(),
            item.body["is_archived"].clone()
        ),
        (json!(true), json!(true))
    );

    // Malformed and unknown ids.
    let malformed = citizen(&app, &token, "GET", "/messages/not-an-id", None).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(invalid_names(&malformed), ["id"]);
    let malformed = citizen(
        &app,
        &token,
        "PUT",
        "/messages/not-an-id/status",
        Some(&json!({"change_type": "reading", "is_read": true})),
    )
    .await;
    assert_eq!(malformed.status, 400);
    let unknown = ulid::Ulid::new();
    assert_eq!(
        citizen(&app, &token, "GET", &format!("/messages/{unknown}"), None)
            .await
            .status,
        404
    );
    app.finish().await;
}

async fn a_citizen_can_never_read_change_or_infer_another_citizens_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, key, a, b) = world(&app).await;
    let mine = delivered(
        &app,
        &key,
        CITIZEN,
        plain("Comunicazione riservata per Mario"),
    )
    .await;
    let unknown = ulid::Ulid::new().to_string();
    let a_sessions = citizen(&app, &a, "GET", "/sessions", None).await;
    let a_session = a_sessions.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = json!({"change_type": "reading", "is_read": true});

    // Every endpoint with an id: B on A's id answers exactly as on an unknown id.
    for (method, path, body) in [
        ("GET", "/messages/{}".to_owned(), None),
        ("PUT", "/messages/{}/status".to_owned(), Some(&read)),
        ("DELETE", "/sessions/{}".to_owned(), None),
    ] {
        let foreign_id = if path.starts_with("/sessions") {
            &a_session
        } else {
            &mine
        };
        let foreign = citizen(&app, &b, method, &path.replace("{}", foreign_id), body).await;
        let missing = citizen(&app, &b, method, &path.replace("{}", &unknown), body).await;
        assert_eq!(foreign.status, 404, "{method} {path}: {}", foreign.body);
        assert_eq!(
            (foreign.body.clone(), foreign.headers.get("content-type")),
            (missing.body.clone(), missing.headers.get("content-type")),
            "{method} {path}: a foreign id reads as an unknown one"
        );
        assert!(!foreign.text.contains(CITIZEN));
    }

    // B's lists and export show nothing of A's; A's message and session are untouched.
    let inbox = citizen(&app, &b, "GET", "/messages", None).await;
    assert_eq!(inbox.body, json!({"items": []}));
    let archive = citizen(&app, &b, "GET", "/messages?archived=true", None).await;
    assert_eq!(archive.body, json!({"items": []}));
    let export = citizen(&app, &b, "GET", "/export", None).await;
    assert!(!export.text.contains(CITIZEN));
    assert!(!export.text.contains(&mine));
    assert_eq!(export.body["messages"], json!([]));
    let csv = citizen(&app, &b, "GET", "/export?format=csv", None).await;
    assert!(!csv.text.contains(&mine));
    let b_sessions = citizen(&app, &b, "GET", "/sessions/history", None).await;
    assert!(!b_sessions.text.contains(&a_session));
    let r = citizen(&app, &a, "GET", &format!("/messages/{mine}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["is_read"], false);
    assert_eq!(citizen(&app, &a, "GET", "/profile", None).await.status, 200);
    // B's profile is B's own.
    assert_eq!(
        citizen(&app, &b, "GET", "/profile", None).await.body["fiscal_code"],
        OTHER
    );
    app.finish().await;
}

async fn the_export_holds_everything_in_json_and_the_messages_in_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, service, key, token, _) = world(&app).await;
    let first = delivered(
        &app,
        &key,
        CITIZEN,
        plain("Il tuo \"primo\" avviso, con virgola"),
    )
    .await;
    let second = delivered(&app, &key, CITIZEN, plain("Secondo avviso del comune")).await;
    let r = citizen(
        &app,
        &token,
        "PUT",
        &format!("/messages/{first}/status"),
        Some(&json!({"change_type": "bulk", "is_read": true, "is_archived": true})),
    )
    .await;
    assert_eq!(r.status, 200);
    let prefs = json!({"is_inbox_enabled": true, "is_email_enabled": false,
                       "is_webhook_enabled": true, "settings_version": 0});
    let r = citizen(
        &app,
        &token,
        "PUT",
        &format!("/services/{service}/preferences"),
        Some(&prefs),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let json = citizen(&app, &token, "GET", "/export", None).await;
    assert_eq!(json.status, 200, "{}", json.text);
    assert!(
        json.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let disposition = json.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"sportello-export-"));
    assert!(disposition.ends_with(".json\""));
    let doc = &json.body;
    assert_eq!(doc["fiscal_code"], CITIZEN);
    assert!(doc["exported_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["profile"]["fiscal_code"], CITIZEN);
    assert_eq!(doc["profile"]["is_inbox_enabled"], true);
    assert_eq!(
        doc["service_preferences"][0]["service_id"],
        service.as_str()
    );
    assert_eq!(doc["service_preferences"][0]["is_email_enabled"], false);
    assert_eq!(doc["sessions"][0]["current"], true);
    assert_eq!(doc["sessions"][0]["status"], "ACTIVE");
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let m = messages.iter().find(|m| m["id"] == first.as_str()).unwrap();
    assert_eq!(m["status"], "PROCESSED");
    assert_eq!(m["is_read"], true);
    assert_eq!(m["is_archived"], true);
    assert_eq!(m["sender_service_id"], service.as_str());
    assert_eq!(m["service_name"], "Tributi");
    assert_eq!(
        m["content"]["subject"],
        "Il tuo \"primo\" avviso, con virgola"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["id"] == second.as_str() && m["content"]["markdown"] == markdown().as_str())
    );
    assert!(doc["notifications"].is_array());

    let csv = citizen(&app, &token, "GET", "/export?format=csv", None).await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".csv\"")
    );
    let lines: Vec<&str> = csv.text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,created_at,sender_service_id,service_name,status,is_read,subject,markdown"
    );
    assert_eq!(lines.len(), 4, "header, two messages, final line break");
    let row = lines.iter().find(|l| l.contains(&first)).unwrap();
    assert!(row.contains(&format!("\"{service}\",\"Tributi\",\"PROCESSED\",\"true\"")));
    assert!(row.contains("\"Il tuo \"\"primo\"\" avviso, con virgola\""));
    assert!(csv.text.contains(&second));

    let bad = citizen(&app, &token, "GET", "/export?format=xml", None).await;
    assert_eq!(invalid_names(&bad), ["format"]);

    // A citizen with only a session gets an export too.
    let newcomer = app.session("BNCLRA70A41H501B").await;
    let empty = citizen(&app, &newcomer, "GET", "/export", None).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body["profile"], Value::Null);
    assert_eq!(empty.body["messages"], json!([]));
    assert_eq!(empty.body["sessions"].as_array().unwrap().len(), 1);
    app.finish().await;
}

async fn deleting_the_account_removes_everything_but_the_entes_status_records(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, service, key, token, b) = world(&app).await;
    let id = delivered(&app, &key, CITIZEN, plain("Avviso che sarà cancellato")).await;
    let kept = delivered(&app, &key, OTHER, plain("Avviso per un altro cittadino")).await;
    let r = citizen(
        &app,
        &token,
        "PUT",
        &format!("/services/{service}/preferences"),
        Some(&json!({"is_inbox_enabled": true, "is_email_enabled": true,
                     "is_webhook_enabled": false, "settings_version": 0})),
    )
    .await;
    assert_eq!(r.status, 200);

    let gone = citizen(&app, &token, "DELETE", "/profile", None).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(
        citizen(&app, &token, "GET", "/profile", None).await.status,
        401
    );
    assert_eq!(
        citizen(&app, &token, "GET", "/messages", None).await.status,
        401
    );

    let fresh = app.session(CITIZEN).await;
    assert_eq!(
        citizen(&app, &fresh, "GET", "/profile", None).await.status,
        404
    );
    assert_eq!(
        citizen(&app, &fresh, "GET", "/messages", None).await.body,
        json!({"items": []})
    );
    assert_eq!(
        citizen(&app, &fresh, "GET", &format!("/messages/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        citizen(
            &app,
            &fresh,
            "GET",
            &format!("/services/{service}/preferences"),
            None
        )
        .await
        .status,
        404
    );
    let export = citizen(&app, &fresh, "GET", "/export", None).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.body["profile"], Value::Null);
    assert_eq!(export.body["service_preferences"], json!([]));
    assert!(!export.text.contains("Avviso che sarà cancellato"));
    for m in export.body["messages"].as_array().unwrap() {
        assert_eq!(m["content"], Value::Null, "no content survives: {m}");
    }
    let sessions = export.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "only the new session: {sessions:?}");
    let csv = citizen(&app, &fresh, "GET", "/export?format=csv", None).await;
    assert!(!csv.text.contains("Avviso che sarà cancellato"));

    // The ente: no profile any more.
    let limited = app
        .with_key(&key, "GET", &format!("/profiles/{CITIZEN}"), None)
        .await;
    assert_eq!(limited.status, 404);
    assert_eq!(limited.body["title"], "Profile not found");

    // The other citizen is untouched.
    let other = citizen(&app, &b, "GET", &format!("/messages/{kept}"), None).await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(
        other.body["content"]["subject"],
        "Avviso per un altro cittadino"
    );
    app.finish().await;
}

async fn sessions_are_listed_revoked_one_by_one_or_all_and_kept_in_the_history(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.session(CITIZEN).await;
    let second = app.session(CITIZEN).await;
    let third = app.session(CITIZEN).await;
    let list = citizen(&app, &second, "GET", "/sessions", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    let current: Vec<bool> = items
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1);
    let second_id = items.iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first_id = citizen(&app, &first, "GET", "/sessions", None).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Revoke one: it stops working, the others go on; revoking it again is a 404.
    let r = citizen(
        &app,
        &second,
        "DELETE",
        &format!("/sessions/{first_id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        citizen(&app, &first, "GET", "/sessions", None).await.status,
        401
    );
    let again = citizen(
        &app,
        &second,
        "DELETE",
        &format!("/sessions/{first_id}"),
        None,
    )
    .await;
    assert_eq!(again.status, 404);
    let malformed = citizen(&app, &second, "DELETE", "/sessions/nope", None).await;
    assert_eq!(malformed.status, 400);
    let left = citizen(&app, &third, "GET", "/sessions", None).await;
    assert_eq!(left.body["items"].as_array().unwrap().len(), 2);

    // The history keeps every login, newest first, with its status.
    let history = citizen(&app, &third, "GET", "/sessions/history", None).await;
    assert_eq!(history.status, 200, "{}", history.body);
    let logins = history.body["items"].as_array().unwrap();
    assert_eq!(logins.len(), 3);
    let created: Vec<&str> = logins
        .iter()
        .map(|l| l["created_at"].as_str().unwrap())
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(created, sorted, "newest first");
    let revoked = logins
        .iter()
        .find(|l| l["id"] == first_id.as_str())
        .unwrap();
    assert_eq!(revoked["status"], "REVOKED");
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(revoked["method"], "admin");
    assert!(
        revoked["client_ip"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1")
    );
    assert_eq!(logins.iter().filter(|l| l["status"] == "ACTIVE").count(), 2);
    let limited = citizen(&app, &third, "GET", "/sessions/history?limit=1", None).await;
    assert_eq!(limited.body["items"].as_array().unwrap().len(), 1);
    let bad = citizen(&app, &third, "GET", "/sessions/history?limit=0", None).await;
    assert_eq!(invalid_names(&bad), ["limit"]);

    // Revoke all, the current one included.
    let all = citizen(&app, &third, "DELETE", "/sessions", None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body, json!({"revoked": 2}));
    for token in [&second, &third] {
        assert_eq!(
            citizen(&app, token, "GET", "/sessions", None).await.status,
            401
        );
    }
    let after = app.session(CITIZEN).await;
    let history = citizen(&app, &after, "GET", "/sessions/history", None).await;
    let statuses: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ACTIVE", "REVOKED", "REVOKED", "REVOKED"]);
    let second = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == second_id.as_str())
        .unwrap();
    assert_eq!(second["status"], "REVOKED");
    app.finish().await;
}

async fn the_email_validation_link_refuses_unknown_and_malformed_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.session(CITIZEN).await;
    let r = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": 0, "email": "mario.rossi@example.org"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["is_email_validated"], false);

    let page = |query: String| {
        let app = &app;
        async move {
            app.request(
                "GET",
                &format!("/api/citizen/v1/email-validation{query}"),
                &[],
                None,
            )
            .await
        }
    };
    let unknown = page(format!("?token={}", "x".repeat(43))).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(unknown.headers["cache-control"], "no-store");
    assert!(unknown.text.contains("scaduto"));
    assert!(unknown.text.contains("expired"));
    assert!(!unknown.text.contains("example.org"));
    for query in [
        String::new(),
        "?token=short".to_owned(),
        format!("?token={}%3Cscript%3E", "x".repeat(40)),
        format!("?token={}", "x".repeat(200)),
    ] {
        let r = page(query.clone()).await;
        assert_eq!(r.status, 400, "{query}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(!r.text.contains("<script>"));
    }
    // Still unvalidated.
    assert_eq!(
        citizen(&app, &token, "GET", "/profile", None).await.body["is_email_validated"],
        false
    );
    app.finish().await;
}
