//! `HttpClient` against a real local HTTP server (`notify::testing::HttpReceiver`).

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use kernel::values::Cidr;
use notify::testing::HttpReceiver;
use notify::{HttpClient, HttpPoster, OutboundPolicy, SIGNATURE_HEADER, SendError};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_post_arrives_with_its_body_and_headers_and_returns_the_status() {
    let receiver = HttpReceiver::start().await;
    let client = HttpClient::new(OutboundPolicy::unrestricted());
    let body = br#"{"event":"message.processed","id":"01J"}"#.to_vec();
    let signature = notify::sign(b"secret", 1_700_000_000, &body);
    let headers = [(SIGNATURE_HEADER.to_owned(), signature.clone())];

    let status = client
        .post_json(&receiver.url("/callbacks/ente?x=1"), &headers, body.clone())
        .await
        .unwrap();

    assert_eq!(status, 200);
    let requests = receiver.wait_for(1, WAIT).await;
    let got = &requests[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/callbacks/ente?x=1");
    assert_eq!(got.body, body);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.header("user-agent"),
        Some(concat!("Sportello/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(got.header(SIGNATURE_HEADER), Some(signature.as_str()));
    notify::verify(b"secret", &signature, &got.body, 1_700_000_010, 300).unwrap();
}

#[tokio::test]
async fn a_503_answer_is_a_transient_failure() {
    let receiver = HttpReceiver::start().await;
    receiver.set_status(503);

    let error = HttpClient::new(OutboundPolicy::unrestricted())
        .post_json(&receiver.url("/push?token=secret"), &[], b"{}".to_vec())
        .await
        .unwrap_err();

    assert_eq!(error, SendError::Transient("HTTP 503".to_owned()));
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_429_answer_is_a_transient_failure_and_a_404_a_permanent_one() {
    let receiver = HttpReceiver::start().await;
    let client = HttpClient::new(OutboundPolicy::unrestricted());

    receiver.set_status(429);
    let error = client.post_json(&receiver.url("/"), &[], Vec::new()).await;
    assert_eq!(error, Err(SendError::Transient("HTTP 429".to_owned())));

    receiver.set_status(404);
    let error = client.post_json(&receiver.url("/"), &[], Vec::new()).await;
    assert_eq!(error, Err(SendError::Permanent("HTTP 404".to_owned())));

    receiver.set_status(204);
    assert_eq!(
        client.post_json(&receiver.url("/"), &[], Vec::new()).await,
        Ok(204)
    );
}

#[tokio::test]
async fn a_closed_port_is_a_transient_failure_that_names_the_host_but_not_the_query() {
    let closed = notify::testing::ClosedPort::new();
    let port = closed.port();

    let error = HttpClient::new(OutboundPolicy::unrestricted())
        .post_json(
            &format!("http://127.0.0.1:{port}/cb?token=secret"),
            &[],
            b"{}".to_vec(),
        )
        .await
        .unwrap_err();

    assert_eq!(
        error,
        SendError::Transient(format!("HTTP connection failed (http://127.0.0.1:{port})"))
    );
}

#[tokio::test]
async fn a_peer_that_does_not_answer_in_time_is_a_transient_failure() {
    // Accepts the connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let client = HttpClient::with_timeouts(
        Duration::from_secs(1),
        Duration::from_millis(300),
        OutboundPolicy::unrestricted(),
    );

    let error = client
        .post_json(&format!("http://{address}/slow"), &[], b"{}".to_vec())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, SendError::Transient(text) if text.starts_with("HTTP timeout")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_restricted_client_never_connects_to_an_internal_address_by_name_or_literal() {
    let receiver = HttpReceiver::start().await;
    let port = receiver
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let client = HttpClient::new(OutboundPolicy::restricted(Vec::new()));
    for url in [
        format!("http://127.0.0.1:{port}/cb?token=secret"),
        format!("http://localhost:{port}/cb?token=secret"),
        format!("http://[::ffff:127.0.0.1]:{port}/cb"),
        // getaddrinfo reads this number as 127.0.0.1: the resolved address is what counts.
        format!("http://2130706433:{port}/cb"),
    ] {
        let error = client
            .post_json(&url, &[], b"{}".to_vec())
            .await
            .unwrap_err();
        let SendError::Permanent(text) = &error else {
            panic!("{url}: {error:?}");
        };
        assert!(
            text.starts_with("HTTP destination not allowed"),
            "{url}: {text}"
        );
        assert!(text.contains("loopback"), "{url}: {text}");
        assert!(!text.contains("secret"), "{url}: {text}");
    }
    assert!(
        receiver.requests().is_empty(),
        "nothing may reach the receiver"
    );

    // The operator's allow-list opens the network, to names and literals alike.
    let on_premises = HttpClient::new(OutboundPolicy::restricted(vec![
        Cidr::parse("127.0.0.0/8").unwrap(),
    ]));
    for url in [
        format!("http://127.0.0.1:{port}/cb"),
        format!("http://localhost:{port}/cb"),
    ] {
        assert_eq!(
            on_premises.post_json(&url, &[], b"{}".to_vec()).await,
            Ok(200),
            "{url}"
        );
    }
    assert_eq!(receiver.wait_for(2, WAIT).await.len(), 2);
}
