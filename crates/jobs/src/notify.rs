//! `notify` jobs: one notification (e-mail, push webhook, sandbox copy) handed to its channel,
//! with retries until the message's time to live runs out.

use kernel::jobs::Job;
use messaging::citizen::*;
use messaging::content::*;
use messaging::model::*;
use messaging::outbound::{Mail, Mailer, SendError};
use notify::templates::{self, Lang};
use serde_json::json;

use crate::Worker;
use crate::outbound::{Failure, retry_at, subject_id};

pub(crate) async fn run_notification(worker: &Worker, job: &Job) -> Result<(), String> {
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
    let now = worker.clock.now();
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
        .record_notification_attempt(n.id, job.id, &attempt, worker.clock.now())
        .await
        .map_err(|e| e.to_string())
}

/// The message a notification is about, opened, with its service.
async fn message_of(
    worker: &Worker,
    n: &Notification,
) -> Result<(MessageRecord, MessageContent, Service), Failure> {
    let store = worker.store.as_ref();
    let id = kernel::values::MessageId::parse(&n.subject_id)
        .map_err(|_| Failure::Skip("the notification names no message".into()))?;
    let message = store
        .get_message(&id)
        .await
        .map_err(|e| Failure::Send(SendError::Transient(e.to_string())))?
        .ok_or_else(|| Failure::Skip("the message no longer exists".into()))?;
    if message.content.is_erased() {
        return Err(Failure::Skip("the message content was erased".into()));
    }
    let content = crate::message::open_content(&worker.keyring, &message).map_err(Failure::Skip)?;
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
    if n.purpose == Purpose::Reminder && message.paid_at.is_some() {
        return Err(Failure::Skip("the notice was paid".into()));
    }
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
