//! Notification and callback jobs: e-mail and push notifications to citizens (and sandbox
//! copies to delegates), and signed status events to enti's callback URLs. Each attempt is
//! recorded with its job's next step in one transaction; temporary failures are retried with
//! back-off (notifications until the message expires, callbacks up to the attempt limit).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use messaging::citizen::{
    Attempt, CallbackDelivery, Channel, DeliveryStatus, Notification, NotificationStatus, Purpose,
    notification_channels,
};
use messaging::content::{MessageContent, format_timestamp};
use messaging::model::{Job, MessageRecord, Service};
use messaging::outbound::{HttpPoster, Mail, Mailer, SendError};
use notify::templates::{self, Lang};
use serde_json::json;

use crate::Worker;

/// The outbound channels, as configured. A channel that is `None` is off: its notifications
/// are recorded FAILED with the reason, never silently dropped.
pub struct Channels {
    pub mailer: Option<Arc<dyn Mailer>>,
    /// For the push gateway (the operator's endpoint).
    pub http: Arc<dyn HttpPoster>,
    /// For enti's callback URLs: behind the outbound policy, which refuses internal
    /// destinations when connecting.
    pub callbacks: Arc<dyn HttpPoster>,
    /// The push gateway notifications are POSTed to.
    pub push_url: Option<String>,
    /// Absolute base URL for links in e-mails, without a trailing slash.
    pub public_url: String,
}

/// Why a notification was not handed to its channel.
enum Failure {
    /// The message's time to live ran out first.
    Expired,
    /// Nothing to retry: the channel is off, the address is gone, the data was erased.
    Skip(String),
    Send(SendError),
}

impl From<SendError> for Failure {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

/// Runs notification and callback jobs, a bounded number at a time.
pub(crate) async fn run_all(worker: &Worker, jobs: Vec<Job>) {
    let limit = worker.config.send_concurrency.max(1);
    futures_util::stream::iter(jobs)
        .for_each_concurrent(limit, |job| async move {
            let result = match job.kind.as_str() {
                "notify" => run_notification(worker, &job).await,
                _ => run_callback(worker, &job).await,
            };
            if let Err(error) = result {
                worker.record_failure(&job, &error).await;
            }
        })
        .await;
}

fn subject_id(job: &Job) -> Result<i64, String> {
    job.message_id
        .parse()
        .map_err(|_| format!("job subject `{}` is not a row id", job.message_id))
}

/// The next attempt after a temporary failure, or `None` when retrying would pass `deadline`.
fn retry_at(
    worker: &Worker,
    attempts: i64,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let at = now + chrono::Duration::milliseconds(worker.config.backoff_ms(attempts));
    match deadline {
        Some(d) if now >= d => None,
        Some(d) => Some(at.min(d)),
        None => Some(at),
    }
}

async fn run_notification(worker: &Worker, job: &Job) -> Result<(), String> {
    let store = worker.store.as_ref();
    let id = subject_id(job)?;
    let Some(n) = store
        .get_notification(id)
        .await
        .map_err(|e| e.to_string())?
    else {
        // Its citizen deleted their account: nothing left to send.
        return store.delete_job(job.id).await.map_err(|e| e.to_string());
    };
    if n.status.is_final() {
        return store.delete_job(job.id).await.map_err(|e| e.to_string());
    }
    let now = Utc::now();
    let outcome = if now >= n.expires_at {
        Err(Failure::Expired)
    } else {
        send_notification(worker, &n).await
    };
    let attempt = match outcome {
        Ok(()) => {
            worker.events.sent(n.channel.as_str(), true);
            Attempt {
                status: NotificationStatus::Sent.as_str().to_owned(),
                status_code: None,
                error: None,
                retry_at: None,
            }
        }
        Err(Failure::Expired) => Attempt {
            status: NotificationStatus::Expired.as_str().to_owned(),
            status_code: None,
            error: Some("the message expired before the notification could be sent".into()),
            retry_at: None,
        },
        Err(Failure::Skip(reason)) => {
            worker.events.sent(n.channel.as_str(), false);
            tracing::warn!(
                notification.id = n.id,
                channel = n.channel.as_str(),
                reason = %reason,
                "notification not sent"
            );
            Attempt {
                status: NotificationStatus::Failed.as_str().to_owned(),
                status_code: None,
                error: Some(reason),
                retry_at: None,
            }
        }
        Err(Failure::Send(SendError::Permanent(e))) => {
            worker.events.sent(n.channel.as_str(), false);
            tracing::warn!(notification.id = n.id, channel = n.channel.as_str(), error.cause = %e, "notification refused");
            Attempt {
                status: NotificationStatus::Failed.as_str().to_owned(),
                status_code: None,
                error: Some(e),
                retry_at: None,
            }
        }
        Err(Failure::Send(SendError::Transient(e))) => {
            tracing::info!(notification.id = n.id, channel = n.channel.as_str(), error.cause = %e, "notification delayed");
            match retry_at(worker, job.attempts, now, Some(n.expires_at)) {
                Some(at) => Attempt {
                    status: NotificationStatus::Throttled.as_str().to_owned(),
                    status_code: None,
                    error: Some(e),
                    retry_at: Some(at),
                },
                None => Attempt {
                    status: NotificationStatus::Expired.as_str().to_owned(),
                    status_code: None,
                    error: Some(e),
                    retry_at: None,
                },
            }
        }
    };
    store
        .record_notification_attempt(n.id, job.id, &attempt, Utc::now())
        .await
        .map_err(|e| e.to_string())
}

/// The message a notification is about, opened, with its service.
async fn message_of(
    worker: &Worker,
    n: &Notification,
) -> Result<(MessageRecord, MessageContent, Service), Failure> {
    let store = worker.store.as_ref();
    let id = messaging::values::MessageId::parse(&n.subject_id)
        .map_err(|_| Failure::Skip("the notification names no message".into()))?;
    let message = store
        .get_message(&id)
        .await
        .map_err(|e| Failure::Send(SendError::Transient(e.to_string())))?
        .ok_or_else(|| Failure::Skip("the message no longer exists".into()))?;
    if message.content.is_erased() {
        return Err(Failure::Skip("the message content was erased".into()));
    }
    let content = crate::open_content(&worker.keyring, &message).map_err(Failure::Skip)?;
    let service = store
        .get_service(&message.service_id)
        .await
        .map_err(|e| Failure::Send(SendError::Transient(e.to_string())))?
        .ok_or_else(|| Failure::Skip("the sending service no longer exists".into()))?;
    Ok((message, content, service))
}

fn mailer(worker: &Worker) -> Result<&dyn Mailer, Failure> {
    worker.channels.mailer.as_deref().ok_or_else(|| {
        Failure::Skip("e-mail channel off: SPORTELLO_SMTP_URL is not configured".into())
    })
}

async fn send_notification(worker: &Worker, n: &Notification) -> Result<(), Failure> {
    let store = worker.store.as_ref();
    let transient =
        |e: messaging::ports::StoreError| Failure::Send(SendError::Transient(e.to_string()));
    if n.purpose == Purpose::Sandbox {
        return send_sandbox_copy(worker, n).await;
    }
    let profile = store
        .get_citizen(&n.fiscal_code)
        .await
        .map_err(transient)?
        .ok_or_else(|| Failure::Skip("the citizen has no profile".into()))?;
    let lang = Lang::from_preferences(&profile.preferred_languages);
    let public_url = &worker.channels.public_url;
    if n.purpose == Purpose::EmailValidation {
        let mailer = mailer(worker)?;
        let sealed = n
            .payload
            .as_ref()
            .ok_or_else(|| Failure::Skip("the validation token is gone".into()))?;
        let plain = worker
            .keyring
            .open(
                &sealed.key_id,
                &sealed.bytes,
                format!("validation:{}", n.subject_id).as_bytes(),
            )
            .map_err(|e| Failure::Skip(format!("cannot open the validation token: {e}")))?;
        let payload: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|_| Failure::Skip("the validation payload does not parse".into()))?;
        let (Some(token), Some(email)) = (payload["token"].as_str(), payload["email"].as_str())
        else {
            return Err(Failure::Skip("the validation payload is incomplete".into()));
        };
        let link = format!("{public_url}/api/citizen/v1/email-validation?token={token}");
        let (subject, text, html) = templates::email_validation(lang, &link);
        return Ok(mailer
            .send(&Mail {
                to: email.to_owned(),
                subject,
                text,
                html: Some(html),
            })
            .await?);
    }
    let (message, content, service) = message_of(worker, n).await?;
    // The citizen may have changed their mind since the message was processed (a reminder
    // goes out days later): the channel must still be wanted now.
    let preference = store
        .get_service_preference(
            &n.fiscal_code,
            &message.service_id,
            profile.settings_version,
        )
        .await
        .map_err(transient)?;
    if !notification_channels(&profile, &message.service_id, preference.as_ref())
        .contains(&n.channel)
    {
        return Err(Failure::Skip(
            "the citizen turned this channel off after the message was processed".into(),
        ));
    }
    let secure = service.require_secure_channels || content.require_secure_channels == Some(true);
    let open_url = public_url.clone();
    match n.channel {
        Channel::Email => {
            let mailer = mailer(worker)?;
            let address = match (&profile.email, profile.is_email_validated) {
                (Some(a), true) => a.as_str().to_owned(),
                _ => return Err(Failure::Skip("the citizen has no validated address".into())),
            };
            let (subject, text, html) = match n.purpose {
                Purpose::Reminder => {
                    let due = content
                        .due_date
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default();
                    templates::reminder(
                        lang,
                        &service.name,
                        &service.organization_name,
                        &due,
                        (!secure).then_some(content.subject.as_str()),
                        &open_url,
                    )
                }
                _ => templates::new_message(
                    lang,
                    &service.name,
                    &service.organization_name,
                    (!secure).then_some((content.subject.as_str(), content.markdown.as_str())),
                    &open_url,
                ),
            };
            Ok(mailer
                .send(&Mail {
                    to: address,
                    subject,
                    text,
                    html: Some(html),
                })
                .await?)
        }
        Channel::Webhook => {
            let url = worker.channels.push_url.as_deref().ok_or_else(|| {
                Failure::Skip("push channel off: SPORTELLO_PUSH_URL is not configured".into())
            })?;
            let anonymous = secure || profile.push_anonymous;
            let mut body_message = json!({
                "id": message.id.to_string(),
                "fiscal_code": message.fiscal_code.as_str(),
                "created_at": format_timestamp(&message.created_at),
                "sender_service_id": message.service_id.to_string(),
            });
            if !anonymous {
                body_message["content"] = json!({
                    "subject": content.subject,
                    "markdown": content.markdown,
                });
            }
            let body = json!({
                "kind": n.purpose.as_str(),
                "message": body_message,
                "sender_metadata": {
                    "service_name": service.name,
                    "organization_name": service.organization_name,
                    "department_name": service.department_name,
                },
                "content_type": if anonymous { "ANONYMOUS" } else { "FULL" },
                "preferred_languages": profile.preferred_languages,
            });
            let bytes = serde_json::to_vec(&body).map_err(|e| Failure::Skip(e.to_string()))?;
            worker.channels.http.post_json(url, &[], bytes).await?;
            Ok(())
        }
    }
}

/// A message to the sandbox code, copied to every active delegate of the organization.
async fn send_sandbox_copy(worker: &Worker, n: &Notification) -> Result<(), Failure> {
    let mailer = mailer(worker)?;
    let (_, content, service) = message_of(worker, n).await?;
    let delegates = worker
        .store
        .list_delegates(Some(&service.organization_fiscal_code))
        .await
        .map_err(|e| Failure::Send(SendError::Transient(e.to_string())))?;
    let recipients: Vec<_> = delegates.into_iter().filter(|d| !d.disabled).collect();
    if recipients.is_empty() {
        return Err(Failure::Skip(
            "the organization has no active delegate".into(),
        ));
    }
    let (subject, text, html) =
        templates::sandbox_copy(&service.name, &content.subject, &content.markdown);
    for d in recipients {
        mailer
            .send(&Mail {
                to: d.email.as_str().to_owned(),
                subject: subject.clone(),
                text: text.clone(),
                html: Some(html.clone()),
            })
            .await?;
    }
    Ok(())
}

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

async fn run_callback(worker: &Worker, job: &Job) -> Result<(), String> {
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
    let now = Utc::now();
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
        .record_callback_attempt(d.id, job.id, &attempt, Utc::now())
        .await
        .map_err(|e| e.to_string())
}
