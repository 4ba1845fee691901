//! Services of an organization: creating one from a parsed card (with its two keys), its
//! keys (read, regenerated) and its limits. The lifecycle of a service is in
//! [`crate::lifecycle`].

use kernel::audit::NewAuditEntry;
use kernel::values::ServiceId;
use messaging::model::{KeyType, LifecycleStatus, PublicationStatus, SealedContent, Service};
use messaging::ports::StoredKey;
use messaging::quota::LimitOverrides;
use messaging::service_payload::ServiceDraft;
use seal::Keyring;

use crate::{Context, Error, Result};

/// A service's two keys, in clear: shown when created, read or regenerated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceKeys {
    pub primary_key: String,
    pub secondary_key: String,
}

/// Puts a parsed card into a service (identity and states unchanged).
pub fn apply_draft(service: &mut Service, d: ServiceDraft) {
    service.name = d.name;
    service.description = d.description;
    service.organization_name = d.organization.name;
    service.department_name = d.organization.department_name;
    service.require_secure_channels = d.require_secure_channels;
    service.authorized_recipients = d.authorized_recipients;
    service.authorized_cidrs = d.authorized_cidrs;
    service.max_allowed_payment_amount = d.max_allowed_payment_amount;
    service.metadata = d.metadata;
}

fn new_key(keyring: &Keyring, service: &ServiceId, key_type: KeyType) -> (String, StoredKey) {
    let key = seal::new_api_key();
    let (key_id, bytes) = keyring.seal(key.as_bytes(), key_context(service, key_type).as_bytes());
    let stored = StoredKey {
        key_type,
        hash: seal::key_hash(&key),
        sealed: SealedContent { key_id, bytes },
    };
    (key, stored)
}

/// The additional data a key is sealed with: a sealed key opens only as its service's.
fn key_context(service: &ServiceId, key_type: KeyType) -> String {
    format!("service-key:{service}:{}", key_type.as_str())
}

/// Creates a draft service with two fresh keys: a new service reaches only its authorized
/// recipients and the sandbox code until it is approved and published.
pub async fn create_from_draft(
    ctx: Context<'_>,
    keyring: &Keyring,
    d: ServiceDraft,
    actor: &str,
) -> Result<(Service, ServiceKeys)> {
    let now = ctx.clock.now();
    let mut service = Service {
        id: ServiceId::new_at(now),
        organization_fiscal_code: d.organization.fiscal_code.clone(),
        organization_name: String::new(),
        department_name: None,
        name: String::new(),
        description: String::new(),
        require_secure_channels: false,
        authorized_recipients: vec![],
        authorized_cidrs: vec![],
        max_allowed_payment_amount: 0,
        metadata: Default::default(),
        lifecycle: LifecycleStatus::Draft,
        lifecycle_reason: None,
        publication: PublicationStatus::Unpublished,
        ever_approved: false,
        auto_publish: false,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    apply_draft(&mut service, d);
    let (primary_key, primary) = new_key(keyring, &service.id, KeyType::Primary);
    let (secondary_key, secondary) = new_key(keyring, &service.id, KeyType::Secondary);
    ctx.store
        .create_service(&service, &[primary, secondary])
        .await?;
    ctx.store
        .append_audit(&NewAuditEntry {
            at: ctx.clock.now(),
            actor: actor.to_owned(),
            action: "service.create".into(),
            subject: format!("service:{}", service.id),
            detail: serde_json::json!({"name": service.name}),
        })
        .await?;
    tracing::info!(service.id = %service.id, "service created");
    Ok((
        service,
        ServiceKeys {
            primary_key,
            secondary_key,
        },
    ))
}

/// The service's two keys, opened.
pub async fn keys(ctx: Context<'_>, keyring: &Keyring, service: &ServiceId) -> Result<ServiceKeys> {
    let mut primary = None;
    let mut secondary = None;
    for k in ctx.store.service_keys(service).await? {
        let plain = keyring
            .open(
                &k.sealed.key_id,
                &k.sealed.bytes,
                key_context(service, k.key_type).as_bytes(),
            )
            .map_err(Error::internal)?;
        let key = String::from_utf8(plain).map_err(Error::internal)?;
        match k.key_type {
            KeyType::Primary => primary = Some(key),
            KeyType::Secondary => secondary = Some(key),
        }
    }
    match (primary, secondary) {
        (Some(primary_key), Some(secondary_key)) => Ok(ServiceKeys {
            primary_key,
            secondary_key,
        }),
        _ => Err(Error::internal("service without both keys")),
    }
}

/// Replaces one of the service's keys; the old one stops working at once. Returns both keys.
pub async fn regenerate_key(
    ctx: Context<'_>,
    keyring: &Keyring,
    service: &ServiceId,
    key_type: KeyType,
    actor: &str,
) -> Result<ServiceKeys> {
    let (_, stored) = new_key(keyring, service, key_type);
    ctx.store.replace_service_key(service, &stored).await?;
    ctx.auth_cache.forget_service(service);
    ctx.store
        .append_audit(&NewAuditEntry {
            at: ctx.clock.now(),
            actor: actor.to_owned(),
            action: "service.regenerate_key".into(),
            subject: format!("service:{service}"),
            detail: serde_json::json!({"key_type": key_type.as_str()}),
        })
        .await?;
    tracing::info!(service.id = %service, key.r#type = key_type.as_str(), "service key regenerated");
    keys(ctx, keyring, service).await
}

/// Sets the service's own limits (a `None` takes the platform default), audited.
pub async fn set_limits(
    ctx: Context<'_>,
    service: &ServiceId,
    overrides: &LimitOverrides,
    actor: &str,
) -> Result<()> {
    ctx.store
        .set_service_limits(
            service,
            overrides,
            &NewAuditEntry {
                at: ctx.clock.now(),
                actor: actor.to_owned(),
                action: "service.limits".into(),
                subject: format!("service:{service}"),
                detail: serde_json::json!(overrides),
            },
        )
        .await?;
    ctx.auth_cache.forget_service(service);
    Ok(())
}
