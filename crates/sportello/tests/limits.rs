//! Per-service rate limits and quotas over HTTP, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, CITIZEN, SANDBOX, TestApp, markdown};
use serde_json::json;

both_backends!(
    a_service_over_its_rate_gets_429_with_the_gateway_headers,
    a_service_over_its_daily_quota_gets_429_saying_which_quota_and_when_it_resets,
    sixty_four_parallel_submitters_get_no_server_error_and_exactly_the_daily_quota,
    parallel_submitters_without_a_quota_are_all_accepted_and_all_counted,
);

async fn a_service_over_its_rate_gets_429_with_the_gateway_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, key) = app.service(&manage, json!({})).await;
    let bad = app
        .admin(
            "PUT",
            &format!("/services/{id}/limits"),
            Some(&json!({"rate_per_second": -1})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let r = app
        .admin(
            "PUT",
            &format!("/services/{id}/limits"),
            Some(&json!({"rate_per_second": 1, "burst": 2})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["effective"]["rate_per_second"], 1);
    let path = format!("/profiles/{SANDBOX}");
    assert_eq!(app.with_key(&key, "GET", &path, None).await.status, 200);
    assert_eq!(app.with_key(&key, "GET", &path, None).await.status, 200);
    let limited = app.with_key(&key, "GET", &path, None).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.body["title"], "Too many requests");
    assert_eq!(limited.headers["retry-after"], "1");
    assert_eq!(limited.headers["x-rate-limit-limit"], "1");
    assert_eq!(limited.headers["x-rate-limit-remaining"], "0");
    assert_eq!(limited.headers["x-rate-limit-retry-after"], "1");
    // Other services are not affected.
    let (_, other) = app.service(&manage, json!({"name": "Scuola"})).await;
    assert_eq!(app.with_key(&other, "GET", &path, None).await.status, 200);
    // A second on the clock refills one token.
    app.clock.advance(chrono::Duration::milliseconds(1_100));
    assert_eq!(
        app.with_key(&key, "GET", &path, None).await.status,
        200,
        "refilled"
    );
    let m = app.request("GET", "/metrics", &[], None).await;
    assert!(
        m.text.contains("sportello_rate_limited_total 1"),
        "{}",
        m.text
    );
    app.finish().await;
}

async fn a_service_over_its_daily_quota_gets_429_saying_which_quota_and_when_it_resets(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, key) = app.service(&manage, json!({})).await;
    let r = app
        .admin(
            "PUT",
            &format!("/services/{id}/limits"),
            Some(&json!({"daily_quota": 2})),
        )
        .await;
    assert_eq!(r.status, 200);
    let body = json!({"subject": "Benvenuto nel servizio", "markdown": markdown()});
    assert_eq!(app.send(&key, CITIZEN, body.clone()).await.status, 201);
    assert_eq!(app.send(&key, CITIZEN, body.clone()).await.status, 201);
    let refused = app.send(&key, CITIZEN, body.clone()).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("daily quota") && detail.contains("(2 messages)"),
        "{detail}"
    );
    assert!(
        detail.contains("T00:00:00.000Z"),
        "says when it resets: {detail}"
    );
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&wait));
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM messages").await,
        2,
        "nothing written"
    );

    let usage = app
        .with_key(
            &manage,
            "GET",
            &format!("/manage/services/{id}/usage"),
            None,
        )
        .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(usage.body["daily"]["used"], 2);
    assert_eq!(usage.body["daily"]["limit"], 2);
    assert_eq!(usage.body["daily"]["remaining"], 0);
    assert_eq!(usage.body["monthly"]["used"], 2);
    assert_eq!(usage.body["monthly"]["limit"], serde_json::Value::Null);
    // Raising the quota lets messages through again at once.
    app.admin(
        "PUT",
        &format!("/services/{id}/limits"),
        Some(&json!({"daily_quota": 3})),
    )
    .await;
    assert_eq!(app.send(&key, CITIZEN, body).await.status, 201);
    let audit = app.admin("GET", "/audit", None).await;
    assert_eq!(audit.body[0]["action"], "service.limits");
    let m = app.request("GET", "/metrics", &[], None).await;
    assert!(
        m.text.contains("sportello_quota_exceeded_total 1"),
        "{}",
        m.text
    );
    app.finish().await;
}

/// Concurrent intake writers (four on PostgreSQL) lock the day and month usage rows in one order
/// and read them under that lock: no deadlock, and the quota holds exactly.
async fn sixty_four_parallel_submitters_get_no_server_error_and_exactly_the_daily_quota(
    backend: Backend,
) {
    const QUOTA: usize = 150;
    const SUBMITTERS: usize = 64;
    const EACH: usize = 5;
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, key) = app.service(&manage, json!({})).await;
    let r = app
        .admin(
            "PUT",
            &format!("/services/{id}/limits"),
            Some(&json!({"daily_quota": QUOTA})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut created = 0;
    let mut refused = 0;
    for (status, text) in submit_in_parallel(&app, &key, SUBMITTERS, EACH).await {
        match status {
            201 => created += 1,
            429 => refused += 1,
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!(created, QUOTA, "exactly the quota is accepted");
    assert_eq!(refused, SUBMITTERS * EACH - QUOTA, "the rest is refused");
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM messages").await,
        QUOTA as i64,
        "no refused message was written"
    );
    let usage = app
        .with_key(
            &manage,
            "GET",
            &format!("/manage/services/{id}/usage"),
            None,
        )
        .await;
    assert_eq!(usage.body["daily"]["used"], QUOTA, "{}", usage.body);
    assert_eq!(usage.body["monthly"]["used"], QUOTA, "{}", usage.body);
    app.finish().await;
}

/// Without a quota each intake writer adds to its own shard of the usage counters; the usage a
/// delegate reads is still every accepted message.
async fn parallel_submitters_without_a_quota_are_all_accepted_and_all_counted(backend: Backend) {
    const SUBMITTERS: usize = 32;
    const EACH: usize = 5;
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, key) = app.service(&manage, json!({})).await;
    for (status, text) in submit_in_parallel(&app, &key, SUBMITTERS, EACH).await {
        assert_eq!(status, 201, "{text}");
    }
    let usage = app
        .with_key(
            &manage,
            "GET",
            &format!("/manage/services/{id}/usage"),
            None,
        )
        .await;
    assert_eq!(
        usage.body["daily"]["used"],
        SUBMITTERS * EACH,
        "{}",
        usage.body
    );
    assert_eq!(
        usage.body["monthly"]["used"],
        SUBMITTERS * EACH,
        "{}",
        usage.body
    );
    let metrics = app.request("GET", "/metrics", &[], None).await;
    for gauge in [
        "sportello_service_messages_today",
        "sportello_service_messages_this_month",
    ] {
        let line = format!("{gauge}{{service_id=\"{id}\"}} {}\n", SUBMITTERS * EACH);
        assert!(metrics.text.contains(&line), "{line} in {}", metrics.text);
    }
    app.finish().await;
}

/// `submitters` concurrent clients, each sending `each` messages one after the other with `key`
/// (a connection per request); every answer's status and body.
async fn submit_in_parallel(
    app: &TestApp,
    key: &str,
    submitters: usize,
    each: usize,
) -> Vec<(u16, String)> {
    let body = json!({"content": {"subject": "Benvenuto nel servizio", "markdown": markdown()}})
        .to_string();
    let path = format!("/api/v1/messages/{CITIZEN}");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..submitters {
        let (addr, key, path, body) = (app.addr, key.to_owned(), path.clone(), body.clone());
        tasks.spawn(async move {
            let mut answers = Vec::with_capacity(each);
            for _ in 0..each {
                let headers = [("ocp-apim-subscription-key", key.as_str())];
                let r = common::send(addr, "POST", &path, &headers, Some(body.clone())).await;
                answers.push((r.status, r.text));
            }
            answers
        });
    }
    let mut answers = Vec::with_capacity(submitters * each);
    while let Some(done) = tasks.join_next().await {
        answers.extend(done.unwrap());
    }
    answers
}
