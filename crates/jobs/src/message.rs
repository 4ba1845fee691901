//! `process_message` jobs: a worker claims a group of message jobs, reads what they need with
//! one query per kind of record (messages, profiles, preferences; services one by one, cached
//! per group), decides PROCESSED or REJECTED by the domain rules, and records every outcome and
//! the jobs' removal in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kernel::jobs::{Job, JobKind};
use kernel::values::{FiscalCode, MessageId, ServiceId};
use messaging::citizen::*;
use messaging::content::*;
use messaging::delivery::{Decision, decide};
use messaging::model::*;
use messaging::ports::{CompletedJob, Store};
use seal::Keyring;

type Failed = Vec<(Job, String)>;

/// Decides the outcome of every job of a batch; writes nothing. Returns the decided jobs and
/// the jobs that failed with their reason.
pub(crate) async fn decide_batch(
    store: &dyn Store,
    keyring: &Keyring,
    jobs: &[Job],
    reminder_lead_ms: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(Vec<CompletedJob>, Failed), messaging::ports::StoreError> {
    let mut failed = Vec::new();
    let mut ids = Vec::with_capacity(jobs.len());
    for job in jobs {
        if job.kind != JobKind::ProcessMessage {
            failed.push((
                job.clone(),
                format!("a `{}` job is not a message job", job.kind),
            ));
            continue;
        }
        match MessageId::parse(&job.subject_id) {
            Ok(id) => ids.push((job, id)),
            Err(e) => failed.push((job.clone(), format!("job message id: {e}"))),
        }
    }
    let ids_only: Vec<MessageId> = ids.iter().map(|(_, id)| *id).collect();
    let messages: HashMap<MessageId, MessageRecord> = store
        .get_messages(&ids_only)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut codes: Vec<FiscalCode> = messages
        .values()
        .filter(|m| !m.fiscal_code.is_sandbox())
        .map(|m| m.fiscal_code.clone())
        .collect();
    codes.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    codes.dedup();
    let profiles: HashMap<String, CitizenProfile> = store
        .get_citizens(&codes)
        .await?
        .into_iter()
        .map(|p| (p.fiscal_code.to_string(), p))
        .collect();
    let with_profile: Vec<FiscalCode> = codes
        .into_iter()
        .filter(|c| profiles.contains_key(c.as_str()))
        .collect();
    let mut preferences: HashMap<String, Vec<ServicePreference>> = HashMap::new();
    for (fc, p) in store.get_preferences_of(&with_profile).await? {
        preferences.entry(fc.to_string()).or_default().push(p);
    }

    let mut services: HashMap<ServiceId, Option<Service>> = HashMap::new();
    for m in messages.values() {
        if let std::collections::hash_map::Entry::Vacant(e) = services.entry(m.service_id) {
            e.insert(store.get_service(&m.service_id).await?);
        }
    }
    let context = Context {
        keyring,
        profiles: &profiles,
        preferences: &preferences,
        services: &services,
        reminder_lead_ms,
        now,
    };
    let mut done = Vec::with_capacity(ids.len());
    for (job, id) in ids {
        let Some(message) = messages.get(&id) else {
            failed.push((
                job.clone(),
                "the message of this job does not exist".to_owned(),
            ));
            continue;
        };
        match decide_one(&context, message) {
            Ok(outcome) => done.push(CompletedJob {
                job_id: job.id,
                message_id: id,
                outcome,
            }),
            Err(e) => failed.push((job.clone(), e)),
        }
    }
    Ok((done, failed))
}

/// What one round read for deciding its messages.
struct Context<'a> {
    keyring: &'a Keyring,
    profiles: &'a HashMap<String, CitizenProfile>,
    preferences: &'a HashMap<String, Vec<ServicePreference>>,
    services: &'a HashMap<ServiceId, Option<Service>>,
    reminder_lead_ms: Option<i64>,
    now: DateTime<Utc>,
}

/// The outcome for one message given the round's profiles, preferences and services: the
/// decision, the inbox entry, and the notifications the citizen's preferences ask for.
fn decide_one(cx: &Context<'_>, message: &MessageRecord) -> Result<ProcessingOutcome, String> {
    if message.content.is_erased() {
        // The citizen deleted their account after the message was accepted.
        return Ok(ProcessingOutcome::Rejected(RejectionReason::UserNotFound));
    }
    let content = open_content(cx.keyring, message)?;
    let expires_at = message.created_at + chrono::Duration::seconds(message.time_to_live);
    if message.fiscal_code.is_sandbox() {
        // The sandbox code has no inbox: the organization's delegates get a copy by e-mail.
        return Ok(ProcessingOutcome::Processed {
            inbox: None,
            notifications: vec![NewNotification {
                subject_id: message.id.to_string(),
                fiscal_code: message.fiscal_code.clone(),
                channel: Channel::Email,
                purpose: Purpose::Sandbox,
                send_at: cx.now,
                expires_at,
                payload: None,
            }],
        });
    }
    let profile = cx.profiles.get(message.fiscal_code.as_str());
    let preference = profile.and_then(|p| {
        cx.preferences.get(p.fiscal_code.as_str()).and_then(|list| {
            list.iter().find(|pref| {
                pref.service_id == message.service_id && pref.settings_version == p.settings_version
            })
        })
    });
    let profile = match (decide(profile, &message.service_id, preference), profile) {
        (Decision::Deliver, Some(p)) => p,
        (Decision::Reject(reason), _) => return Ok(ProcessingOutcome::Rejected(reason)),
        (Decision::Deliver, None) => {
            return Ok(ProcessingOutcome::Rejected(RejectionReason::UserNotFound));
        }
    };
    let service = cx
        .services
        .get(&message.service_id)
        .and_then(Option::as_ref)
        .ok_or_else(|| "the sending service does not exist".to_owned())?;
    let rpt_id = content.payment_data.as_ref().map(|p| {
        let payee = p
            .payee
            .as_ref()
            .map_or(service.organization_fiscal_code.as_str(), |payee| {
                payee.fiscal_code.as_str()
            });
        format!("{payee}{}", p.notice_number.as_str())
    });
    let (title_key, title) = cx.keyring.seal(
        content.subject.as_bytes(),
        format!("title:{}", message.id).as_bytes(),
    );
    let channels = notification_channels(profile, &message.service_id, preference);
    let mut notifications = Vec::new();
    if expires_at > cx.now {
        for &channel in &channels {
            notifications.push(NewNotification {
                subject_id: message.id.to_string(),
                fiscal_code: message.fiscal_code.clone(),
                channel,
                purpose: Purpose::Message,
                send_at: cx.now,
                expires_at,
                payload: None,
            });
        }
    }
    if let (Some(due), Some(lead)) = (content.due_date, cx.reminder_lead_ms)
        && profile.reminders_enabled
    {
        let send_at = due - chrono::Duration::milliseconds(lead);
        if send_at > cx.now && send_at < expires_at {
            for &channel in &channels {
                notifications.push(NewNotification {
                    subject_id: message.id.to_string(),
                    fiscal_code: message.fiscal_code.clone(),
                    channel,
                    purpose: Purpose::Reminder,
                    send_at,
                    expires_at: due.min(expires_at),
                    payload: None,
                });
            }
        }
    }
    Ok(ProcessingOutcome::Processed {
        inbox: Some(InboxEntry {
            fiscal_code: message.fiscal_code.clone(),
            message_id: message.id,
            service_id: message.service_id,
            has_payment: content.payment_data.is_some(),
            due_date: content.due_date,
            title: SealedContent {
                key_id: title_key,
                bytes: title,
            },
            rpt_id,
            created_at: message.created_at,
            time_to_live: message.time_to_live,
        }),
        notifications,
    })
}

/// A message's content, opened and parsed (the caller has checked it is not erased).
pub(crate) fn open_content(
    keyring: &Keyring,
    message: &MessageRecord,
) -> Result<MessageContent, String> {
    let plain = keyring
        .open(
            &message.content.key_id,
            &message.content.bytes,
            message.id.to_string().as_bytes(),
        )
        .map_err(|e| format!("cannot open message content: {e}"))?;
    serde_json::from_slice(&plain)
        .map_err(|e| format!("stored message content does not parse: {e}"))
}
