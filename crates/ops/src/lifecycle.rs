//! The publication workflow of a service, shared by the manage API (delegates), the admin API
//! and the CLI (operators): submit for review with the automatic quality checks, approve,
//! reject, publish, unpublish, edit, delete. Every change is written with its history entries
//! and an audit entry in one transaction ([`transition`]), which also makes the adapters forget
//! the service's cached authentications; illegal transitions are conflicts naming the current
//! state.

use chrono::{DateTime, Utc};
use kernel::audit::NewAuditEntry;
use kernel::values::ServiceId;
use messaging::lifecycle::{self, IllegalTransition, LifecycleAction, PublicationAction};
use messaging::model::{LifecycleStatus, PublicationStatus, Service};
use messaging::ports::NewHistoryEntry;
use messaging::quality::{self, LogoFacts, QualityIssue};
use serde_json::json;

use crate::{Context, Error, Result};

/// Who acts: `delegate:<id>` or `operator`.
pub type Actor<'a> = &'a str;

fn conflict(e: IllegalTransition) -> Error {
    Error::Conflict(format!("{e} (current state: {})", e.current_state()))
}

fn lifecycle_entry(service: &Service, actor: Actor<'_>) -> NewHistoryEntry {
    NewHistoryEntry {
        kind: "lifecycle",
        status: service.lifecycle.as_str().to_owned(),
        reason: service.lifecycle_reason.clone(),
        actor: actor.to_owned(),
    }
}

fn publication_entry(service: &Service, actor: Actor<'_>) -> NewHistoryEntry {
    NewHistoryEntry {
        kind: "publication",
        status: service.publication.as_str().to_owned(),
        reason: None,
        actor: actor.to_owned(),
    }
}

fn audit(
    ctx: Context<'_>,
    actor: Actor<'_>,
    action: &str,
    service: &Service,
    detail: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        at: ctx.clock.now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: format!("service:{}", service.id),
        detail,
    }
}

fn bump(service: &mut Service, now: DateTime<Utc>) {
    service.version += 1;
    service.updated_at = now;
}

/// Writes a changed service with its history and audit entries, then forgets its cached
/// authentications: what a key may do depends on the service's states.
async fn transition(
    ctx: Context<'_>,
    service: &Service,
    history: &[NewHistoryEntry],
    audit: &NewAuditEntry,
) -> Result<()> {
    ctx.store
        .transition_service(service, history, audit)
        .await?;
    ctx.auth_cache.forget_service(&service.id);
    Ok(())
}

/// Facts about a PNG logo, decoded for real: a file that does not decode is "not PNG".
pub fn logo_facts(bytes: &[u8]) -> LogoFacts {
    let not_png = LogoFacts {
        width: 0,
        height: 0,
        is_png: false,
        has_opaque_non_white_background: None,
    };
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let Ok(mut reader) = decoder.read_info() else {
        return not_png;
    };
    let mut buf = vec![0; reader.output_buffer_size()];
    let Ok(frame) = reader.next_frame(&mut buf) else {
        return not_png;
    };
    let data = &buf[..frame.buffer_size()];
    // The corner pixel stands for the background: opaque and not white means a coloured box.
    let corner = match (frame.color_type, frame.bit_depth) {
        (png::ColorType::Rgba, png::BitDepth::Eight) => data
            .get(..4)
            .map(|p| p[3] == 255 && p[..3] != [255, 255, 255]),
        (png::ColorType::Rgb, png::BitDepth::Eight) => data.get(..3).map(|p| p != [255, 255, 255]),
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => {
            data.get(..2).map(|p| p[1] == 255 && p[0] != 255)
        }
        (png::ColorType::Grayscale, png::BitDepth::Eight) => data.first().map(|p| *p != 255),
        _ => None,
    };
    LogoFacts {
        width: frame.width,
        height: frame.height,
        is_png: true,
        has_opaque_non_white_background: corner,
    }
}

/// The quality issues of `service` as it stands.
pub async fn quality_issues(ctx: Context<'_>, service: &Service) -> Result<Vec<QualityIssue>> {
    let org = ctx
        .store
        .get_organization(&service.organization_fiscal_code)
        .await?
        .ok_or_else(|| Error::internal("service without organization"))?;
    let logo = ctx
        .store
        .organization_logo(&service.organization_fiscal_code)
        .await?
        .map(|bytes| logo_facts(&bytes));
    let siblings = ctx
        .store
        .sibling_service_names(&service.organization_fiscal_code, &service.id)
        .await?;
    let names: Vec<&str> = siblings.iter().map(String::as_str).collect();
    Ok(quality::check(service, org.kind, logo.as_ref(), &names))
}

/// `PUT /manage/services/{id}/review`: runs the quality checks; a card that fails them is
/// rejected at once with every reason, one that passes waits for an operator.
pub async fn submit(
    ctx: Context<'_>,
    mut service: Service,
    auto_publish: bool,
    actor: Actor<'_>,
) -> Result<Service> {
    service.lifecycle =
        lifecycle::apply(service.lifecycle, &LifecycleAction::Submit { auto_publish })
            .map_err(conflict)?;
    service.lifecycle_reason = None;
    service.auto_publish = auto_publish;
    let mut history = vec![lifecycle_entry(&service, actor)];
    let issues = quality_issues(ctx, &service).await?;
    let detail = json!({"auto_publish": auto_publish, "issues": issues});
    if !issues.is_empty() {
        let reason = issues
            .iter()
            .map(|i| format!("{} [{}]: {} / {}", i.field, i.code, i.it, i.en))
            .collect::<Vec<_>>()
            .join("\n");
        service.lifecycle = lifecycle::apply(
            service.lifecycle,
            &LifecycleAction::Reject {
                reason: reason.clone(),
            },
        )
        .map_err(conflict)?;
        service.lifecycle_reason = Some(reason);
        history.push(lifecycle_entry(&service, "quality-checks"));
    } else if service.publication == PublicationStatus::Published {
        // Re-submission of a published service: only sensitive changes need an operator.
        let previous = ctx
            .store
            .published_card(&service.id)
            .await?
            .and_then(|json| serde_json::from_str::<lifecycle::ServiceCard>(&json).ok());
        let card = lifecycle::ServiceCard::from(&service);
        if !lifecycle::needs_manual_review(previous.as_ref(), &card) {
            service.lifecycle =
                lifecycle::apply(service.lifecycle, &LifecycleAction::Approve).map_err(conflict)?;
            service.ever_approved = true;
            history.push(lifecycle_entry(&service, "auto-approval"));
        }
    }
    bump(&mut service, ctx.clock.now());
    transition(
        ctx,
        &service,
        &history,
        &audit(ctx, actor, "service.submit", &service, detail),
    )
    .await?;
    if service.lifecycle == LifecycleStatus::Approved {
        save_card(ctx, &service).await?;
    }
    Ok(service)
}

/// Keeps the card as approved, to judge later re-submissions.
async fn save_card(ctx: Context<'_>, service: &Service) -> Result<()> {
    let card =
        serde_json::to_string(&lifecycle::ServiceCard::from(service)).map_err(Error::internal)?;
    ctx.store.save_published_card(&service.id, &card).await?;
    Ok(())
}

/// Loads a service under review or refuses.
async fn under_review(ctx: Context<'_>, id: &str) -> Result<Service> {
    let id = ServiceId::parse(id)
        .map_err(|_| Error::not_found("Not found", "No service with this ID."))?;
    ctx.store
        .get_service(&id)
        .await?
        .filter(Service::is_active)
        .ok_or_else(|| Error::not_found("Not found", "No service with this ID."))
}

/// An operator approves a submitted service (and publishes it if that was asked).
pub async fn approve(ctx: Context<'_>, id: &str, actor: Actor<'_>) -> Result<Service> {
    let mut service = under_review(ctx, id).await?;
    service.lifecycle =
        lifecycle::apply(service.lifecycle, &LifecycleAction::Approve).map_err(conflict)?;
    service.lifecycle_reason = None;
    service.ever_approved = true;
    let mut history = vec![lifecycle_entry(&service, actor)];
    if service.auto_publish && service.publication == PublicationStatus::Unpublished {
        service.publication = PublicationStatus::Published;
        history.push(publication_entry(&service, actor));
    }
    bump(&mut service, ctx.clock.now());
    transition(
        ctx,
        &service,
        &history,
        &audit(ctx, actor, "service.approve", &service, json!({})),
    )
    .await?;
    save_card(ctx, &service).await?;
    Ok(service)
}

/// An operator rejects a submitted service with a reason.
pub async fn reject(ctx: Context<'_>, id: &str, reason: &str, actor: Actor<'_>) -> Result<Service> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::bad_request(
            "Invalid payload",
            "A rejection needs a reason telling the delegate what to fix.",
        ));
    }
    let mut service = under_review(ctx, id).await?;
    service.lifecycle = lifecycle::apply(
        service.lifecycle,
        &LifecycleAction::Reject {
            reason: reason.to_owned(),
        },
    )
    .map_err(conflict)?;
    service.lifecycle_reason = Some(reason.to_owned());
    let history = vec![lifecycle_entry(&service, actor)];
    bump(&mut service, ctx.clock.now());
    transition(
        ctx,
        &service,
        &history,
        &audit(
            ctx,
            actor,
            "service.reject",
            &service,
            json!({"reason": reason}),
        ),
    )
    .await?;
    Ok(service)
}

/// Publishes (`POST …/release`) or unpublishes (`DELETE …/release`) a service.
pub async fn publication(
    ctx: Context<'_>,
    mut service: Service,
    action: PublicationAction,
    actor: Actor<'_>,
) -> Result<Service> {
    if service.lifecycle == LifecycleStatus::Deleted {
        return Err(Error::not_found("Not found", "No service with this ID."));
    }
    service.publication =
        lifecycle::apply_publication(service.publication, action, service.ever_approved)
            .map_err(conflict)?;
    let history = vec![publication_entry(&service, actor)];
    bump(&mut service, ctx.clock.now());
    let verb = match action {
        PublicationAction::Release => "service.publish",
        PublicationAction::Unpublish => "service.unpublish",
    };
    transition(
        ctx,
        &service,
        &history,
        &audit(ctx, actor, verb, &service, json!({})),
    )
    .await?;
    Ok(service)
}

/// An edit or a deletion by a delegate: the lifecycle rule decides, the history records it.
pub async fn edit_or_delete(
    ctx: Context<'_>,
    mut service: Service,
    action: LifecycleAction,
    actor: Actor<'_>,
    detail: serde_json::Value,
) -> Result<Service> {
    service.lifecycle = lifecycle::apply(service.lifecycle, &action).map_err(conflict)?;
    service.lifecycle_reason = None;
    let mut history = vec![lifecycle_entry(&service, actor)];
    if service.lifecycle == LifecycleStatus::Deleted
        && service.publication == PublicationStatus::Published
    {
        service.publication = PublicationStatus::Unpublished;
        history.push(publication_entry(&service, actor));
    }
    bump(&mut service, ctx.clock.now());
    let verb = if service.lifecycle == LifecycleStatus::Deleted {
        "service.delete"
    } else {
        "service.edit"
    };
    transition(
        ctx,
        &service,
        &history,
        &audit(ctx, actor, verb, &service, detail),
    )
    .await?;
    Ok(service)
}

/// The service as citizens see it: the card as last approved (later drafts are not public
/// until approved), with the service's current identity and states.
pub async fn published_view(ctx: Context<'_>, service: &Service) -> Result<Service> {
    let mut view = service.clone();
    if let Some(card) = ctx
        .store
        .published_card(&service.id)
        .await?
        .and_then(|json| serde_json::from_str::<lifecycle::ServiceCard>(&json).ok())
    {
        apply_card(&mut view, card);
    }
    Ok(view)
}

/// Puts a card's content into a service (identity and states unchanged).
pub fn apply_card(service: &mut Service, card: lifecycle::ServiceCard) {
    service.name = card.name;
    service.description = card.description;
    service.organization_fiscal_code = card.organization_fiscal_code;
    service.organization_name = card.organization_name;
    service.department_name = card.department_name;
    service.require_secure_channels = card.require_secure_channels;
    service.authorized_recipients = card.authorized_recipients;
    service.authorized_cidrs = card.authorized_cidrs;
    service.max_allowed_payment_amount = card.max_allowed_payment_amount;
    service.metadata = card.metadata;
}

/// The card fields that differ between two versions of a service (for the audit log).
pub fn changed_fields(before: &Service, after: &Service) -> Vec<String> {
    let a = serde_json::to_value(lifecycle::ServiceCard::from(before)).unwrap_or_default();
    let b = serde_json::to_value(lifecycle::ServiceCard::from(after)).unwrap_or_default();
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return Vec::new();
    };
    let mut changed: Vec<String> = Vec::new();
    for (k, v) in b {
        match (k.as_str(), a.get(k), v.as_object()) {
            ("metadata", Some(old), Some(new)) => {
                for (mk, mv) in new {
                    if old.get(mk) != Some(mv) {
                        changed.push(format!("metadata.{mk}"));
                    }
                }
            }
            (_, old, _) if old != Some(v) => changed.push(k.clone()),
            _ => {}
        }
    }
    changed
}
