//! `callback` jobs: one signed event POSTed to the ente's callback URL, retried on 408, 429,
//! 5xx and network errors.

use kernel::jobs::Job;
use messaging::citizen::*;
use messaging::content::*;
use messaging::outbound::SendError;
use serde_json::json;

use crate::Worker;
use crate::outbound::{retry_at, subject_id};

/// What the ente reads when its endpoint gave no HTTP status: one text whether the destination
/// did not resolve, refused the connection, timed out, or is not allowed by the outbound
/// policy, so that the delivery log cannot be used to map what answers where on the platform's
/// network. The precise cause goes to the operator's log.
pub const NO_HTTP_ANSWER: &str = "no HTTP answer from the callback URL (unreachable, timed out, or \
                                  not an allowed destination)";

/// The JSON body of a callback event.
pub fn callback_body(d: &CallbackDelivery) -> serde_json::Value {
    let mut body = json!({
        "event_id": d.id.to_string(),
        "message_id": d.message_id.to_string(),
        "service_id": d.service_id.to_string(),
        "status": d.event.as_str(),
        "at": format_timestamp(&d.at),
    });
    if let Some(reason) = &d.reason {
        body["reason"] = json!(reason);
    }
    body
}

pub(crate) async fn run_callback(worker: &Worker, job: &Job) -> Result<(), String> {
    let store = worker.store.as_ref();
    let id = subject_id(job)?;
    let Some(d) = store
        .get_callback_delivery(id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return store.delete_job(job.id).await.map_err(|e| e.to_string());
    };
    if d.status != DeliveryStatus::Pending {
        return store.delete_job(job.id).await.map_err(|e| e.to_string());
    }
    let now = worker.clock.now();
    let config = store
        .get_callback(&d.service_id)
        .await
        .map_err(|e| e.to_string())?;
    let result = match config {
        None => Err((
            None,
            SendError::Permanent("the service has no callback URL any more".into()),
        )),
        Some(config) => match worker.keyring.open(
            &config.secret.key_id,
            &config.secret.bytes,
            format!("callback:{}", d.service_id).as_bytes(),
        ) {
            Err(e) => Err((
                None,
                SendError::Permanent(format!("cannot open the callback secret: {e}")),
            )),
            Ok(secret) => {
                let body = serde_json::to_vec(&callback_body(&d)).map_err(|e| e.to_string())?;
                let signature = notify::signature::sign(&secret, now.timestamp(), &body);
                let headers = [(notify::signature::SIGNATURE_HEADER.to_owned(), signature)];
                match worker
                    .channels
                    .callbacks
                    .post_json(&config.url, &headers, body)
                    .await
                {
                    Ok(code) => Ok(code),
                    Err(e) => match notify::http::status_of(&e) {
                        Some(code) => Err((Some(i64::from(code)), e)),
                        None => {
                            tracing::warn!(
                                service.id = %d.service_id,
                                delivery.id = d.id,
                                error.cause = %e,
                                "callback not delivered"
                            );
                            // Retried like any unreachable endpoint, whatever the cause: a
                            // refusal that ended at once would tell itself apart.
                            Err((None, SendError::Transient(NO_HTTP_ANSWER.to_owned())))
                        }
                    },
                }
            }
        },
    };
    let attempt = match result {
        Ok(code) => {
            worker.events.sent("CALLBACK", true);
            Attempt {
                status: DeliveryStatus::Delivered.as_str().to_owned(),
                status_code: Some(i64::from(code)),
                error: None,
                retry_at: None,
            }
        }
        Err((code, SendError::Permanent(e))) => {
            worker.events.sent("CALLBACK", false);
            Attempt {
                status: DeliveryStatus::Failed.as_str().to_owned(),
                status_code: code,
                error: Some(e),
                retry_at: None,
            }
        }
        Err((code, SendError::Transient(e))) => {
            let last = job.attempts >= worker.config.max_attempts;
            if last {
                worker.events.sent("CALLBACK", false);
            }
            Attempt {
                status: if last {
                    DeliveryStatus::Failed
                } else {
                    DeliveryStatus::Pending
                }
                .as_str()
                .to_owned(),
                status_code: code,
                error: Some(e),
                retry_at: if last {
                    None
                } else {
                    retry_at(worker, job.attempts, now, None)
                },
            }
        }
    };
    store
        .record_callback_attempt(d.id, job.id, &attempt, worker.clock.now())
        .await
        .map_err(|e| e.to_string())
}
