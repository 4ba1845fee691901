//! Organizations (enti) and the people acting for them: creating and disabling an
//! organization, delegate variations and manage keys, aggregators' mandates. Shared by the
//! admin HTTP API and `sportello admin …`.

use kernel::FieldErrors;
use kernel::audit::NewAuditEntry;
use kernel::organization::OrganizationKind;
use kernel::organization::{Delegate, DelegateRole, Mandate, Organization};
use kernel::values::ServiceId;
use kernel::values::{Email, FiscalCode, OrganizationFiscalCode};
use serde_json::json;

use crate::{Context, Error, Result};

/// A delegate just created: the only time its manage key is shown.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CreatedDelegate {
    pub id: String,
    pub organization_fiscal_code: String,
    pub email: String,
    pub manage_key: String,
}

fn org_code(raw: &str, field: &str) -> Result<OrganizationFiscalCode> {
    OrganizationFiscalCode::parse(raw).map_err(|e| Error::invalid_field(field, e.reason))
}

/// Creates an organization (11-digit fiscal code with check digit, full name).
pub async fn create_organization(
    ctx: Context<'_>,
    fiscal_code: &str,
    name: &str,
    kind: Option<&str>,
) -> Result<Organization> {
    create_organization_with_ipa(ctx, fiscal_code, name, kind, None).await
}

/// [`create_organization`] with the body's IPA code.
pub async fn create_organization_with_ipa(
    ctx: Context<'_>,
    fiscal_code: &str,
    name: &str,
    kind: Option<&str>,
    ipa_code: Option<&str>,
) -> Result<Organization> {
    let mut errors = FieldErrors::default();
    let kind = match kind {
        None => Some(OrganizationKind::Other),
        Some(k) => {
            let parsed = OrganizationKind::parse(k);
            if parsed.is_none() {
                errors.push(
                    "kind",
                    "must be one of comune, provincia, citta_metropolitana, regione, \
                     unione_di_comuni, other",
                );
            }
            parsed
        }
    };
    let code = OrganizationFiscalCode::parse(fiscal_code)
        .map_err(|e| errors.push("fiscal_code", e.reason))
        .ok();
    let name = name.trim();
    if !(3..=200).contains(&name.chars().count()) {
        errors.push(
            "name",
            "must be the full name of the body, 3 to 200 characters (e.g. \"Comune di Varese\")",
        );
    }
    let ipa_code = ipa_code.map(str::trim).filter(|c| !c.is_empty());
    if let Some(code) = ipa_code
        && (code.len() > 16
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        errors.push(
            "ipa_code",
            "must be 1 to 16 letters, digits, '_' or '-' (e.g. c_l682)",
        );
    }
    let (Some(fiscal_code), Some(kind), true) = (code, kind, errors.is_empty()) else {
        return Err(Error::invalid(errors));
    };
    let org = Organization {
        fiscal_code,
        name: name.to_owned(),
        kind,
        ipa_code: ipa_code.map(str::to_owned),
        disabled: false,
        created_at: ctx.clock.now(),
    };
    ctx.store.create_organization(&org).await?;
    ctx.store
        .append_audit(&NewAuditEntry {
            at: ctx.clock.now(),
            actor: "operator".into(),
            action: "organization.create".into(),
            subject: format!("organization:{}", org.fiscal_code),
            detail: json!({"name": org.name, "kind": org.kind.as_str(), "ipa_code": org.ipa_code}),
        })
        .await?;
    Ok(org)
}

/// Disables an organization (its services may no longer send) or enables it again.
pub async fn set_organization_disabled(
    ctx: Context<'_>,
    fiscal_code: &str,
    disabled: bool,
) -> Result<()> {
    let code = org_code(fiscal_code, "fiscal_code")?;
    ctx.store.set_organization_disabled(&code, disabled).await?;
    ctx.auth_cache.forget_organization(&code);
    ctx.store
        .append_audit(&NewAuditEntry {
            at: ctx.clock.now(),
            actor: "operator".into(),
            action: if disabled {
                "organization.disable"
            } else {
                "organization.enable"
            }
            .into(),
            subject: format!("organization:{code}"),
            detail: json!({}),
        })
        .await?;
    Ok(())
}

/// A delegate to add in a variation.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DelegateInput {
    pub email: String,
    pub name: Option<String>,
    pub fiscal_code: Option<String>,
    /// `administrative` or `technical` (default).
    pub role: Option<String>,
}

/// Creates a delegate of an organization and returns its manage key (shown only now): a
/// variation that adds one person.
pub async fn create_delegate(
    ctx: Context<'_>,
    organization: &str,
    email: &str,
) -> Result<CreatedDelegate> {
    let input = DelegateInput {
        email: email.to_owned(),
        ..Default::default()
    };
    add_delegate(ctx, organization, input, "operator").await
}

/// Adds one person as a delegate (a variation of one): errors name the person's own fields
/// (`email`), as the caller sent them, not a position in a list the caller never sent.
pub async fn add_delegate(
    ctx: Context<'_>,
    organization: &str,
    input: DelegateInput,
    actor: &str,
) -> Result<CreatedDelegate> {
    let mut created = apply(
        ctx,
        organization,
        std::slice::from_ref(&input),
        &[],
        actor,
        |_, f| f.to_owned(),
    )
    .await?;
    created
        .pop()
        .ok_or_else(|| Error::internal("variation created nothing"))
}

/// A delegate variation: the persons the organization adds and the delegates it removes, in
/// one audited change. Returns the added delegates with their manage keys (shown only now).
/// Errors name the person by position (`add[1].email`).
pub async fn variation(
    ctx: Context<'_>,
    organization: &str,
    add: &[DelegateInput],
    remove: &[String],
    actor: &str,
) -> Result<Vec<CreatedDelegate>> {
    apply(ctx, organization, add, remove, actor, |i, f| {
        format!("add[{i}].{f}")
    })
    .await
}

/// A variation whose field errors are named by `field_name(index, field)`.
async fn apply(
    ctx: Context<'_>,
    organization: &str,
    add: &[DelegateInput],
    remove: &[String],
    actor: &str,
    field_name: impl Fn(usize, &str) -> String,
) -> Result<Vec<CreatedDelegate>> {
    let mut errors = FieldErrors::default();
    let org = OrganizationFiscalCode::parse(organization)
        .map_err(|e| errors.push("organization", e.reason))
        .ok();
    let mut delegates = Vec::new();
    for (i, d) in add.iter().enumerate() {
        let at = |f: &str| field_name(i, f);
        let email = Email::parse(&d.email)
            .map_err(|e| errors.push(at("email"), e.reason))
            .ok();
        let fiscal_code = match &d.fiscal_code {
            Some(f) => FiscalCode::parse(f)
                .map_err(|e| errors.push(at("fiscal_code"), e.reason))
                .ok(),
            None => None,
        };
        let role = match d.role.as_deref() {
            None => Some(DelegateRole::Technical),
            Some(r) => {
                let parsed = DelegateRole::parse(r);
                if parsed.is_none() {
                    errors.push(at("role"), "must be administrative or technical");
                }
                parsed
            }
        };
        let name = d.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > 200) {
            errors.push(at("name"), "must be at most 200 characters");
        }
        if let (Some(org), Some(email), Some(role)) = (&org, email, role) {
            delegates.push(Delegate {
                id: ulid::Ulid::from_datetime(ctx.clock.now().into()).to_string(),
                organization_fiscal_code: org.clone(),
                email,
                name: name.map(str::to_owned),
                fiscal_code,
                role,
                disabled: false,
                created_at: ctx.clock.now(),
            });
        }
    }
    if add.is_empty() && remove.is_empty() {
        errors.push("add", "a variation adds or removes at least one delegate");
    }
    let (Some(org), true) = (org, errors.is_empty()) else {
        return Err(Error::invalid(errors));
    };
    if ctx.store.get_organization(&org).await?.is_none() {
        return Err(Error::not_found(
            "Organization not found",
            "No organization has this fiscal code; create it first.",
        ));
    }
    let current = ctx.store.list_delegates(Some(&org)).await?;
    for id in remove {
        if !current.iter().any(|d| &d.id == id) {
            return Err(Error::not_found(
                "Delegate not found",
                format!("The organization has no delegate {id}."),
            ));
        }
    }
    let keys: Vec<String> = delegates.iter().map(|_| seal::new_api_key()).collect();
    let rows: Vec<(Delegate, String)> = delegates
        .iter()
        .cloned()
        .zip(keys.iter().map(|k| seal::key_hash(k)))
        .collect();
    let audit = NewAuditEntry {
        at: ctx.clock.now(),
        actor: actor.to_owned(),
        action: "delegate.variation".into(),
        subject: format!("organization:{org}"),
        detail: json!({
            "added": delegates.iter().map(|d| json!({"id": d.id, "role": d.role.as_str()})).collect::<Vec<_>>(),
            "removed": remove,
        }),
    };
    ctx.store.apply_variation(&rows, remove, &audit).await?;
    Ok(delegates
        .into_iter()
        .zip(keys)
        .map(|(d, manage_key)| CreatedDelegate {
            id: d.id,
            organization_fiscal_code: d.organization_fiscal_code.to_string(),
            email: d.email.to_string(),
            manage_key,
        })
        .collect())
}

/// Re-enables a removed delegate: a variation too, so it is audited.
pub async fn enable_delegate(ctx: Context<'_>, id: &str, actor: &str) -> Result<()> {
    ctx.store.set_delegate_disabled(id, false).await?;
    ctx.store
        .append_audit(&NewAuditEntry {
            at: ctx.clock.now(),
            actor: actor.to_owned(),
            action: "delegate.variation".into(),
            subject: format!("delegate:{id}"),
            detail: json!({"enabled": id}),
        })
        .await?;
    Ok(())
}

/// Gives a delegate a new manage key; the old one stops working at once.
pub async fn rotate_manage_key(ctx: Context<'_>, id: &str, actor: &str) -> Result<String> {
    let key = seal::new_api_key();
    ctx.store
        .rotate_delegate_key(
            id,
            &seal::key_hash(&key),
            &NewAuditEntry {
                at: ctx.clock.now(),
                actor: actor.to_owned(),
                action: "delegate.rotate_key".into(),
                subject: format!("delegate:{id}"),
                detail: json!({}),
            },
        )
        .await?;
    Ok(key)
}

/// Gives `aggregator` a mandate over `organization`'s services (all, or one).
pub async fn add_mandate(
    ctx: Context<'_>,
    aggregator: &str,
    organization: &str,
    service_id: Option<&str>,
    actor: &str,
) -> Result<Mandate> {
    let mut errors = FieldErrors::default();
    let agg = OrganizationFiscalCode::parse(aggregator)
        .map_err(|e| errors.push("aggregator", e.reason))
        .ok();
    let org = OrganizationFiscalCode::parse(organization)
        .map_err(|e| errors.push("organization", e.reason))
        .ok();
    let service = match service_id {
        Some(s) => ServiceId::parse(s)
            .map_err(|e| errors.push("service_id", e.reason))
            .ok(),
        None => None,
    };
    let (Some(aggregator), Some(organization), true) = (agg, org, errors.is_empty()) else {
        return Err(Error::invalid(errors));
    };
    if aggregator == organization {
        return Err(Error::bad_request(
            "Invalid payload",
            "An organization needs no mandate over itself.",
        ));
    }
    if let Some(id) = &service {
        let found = ctx.store.get_service(id).await?;
        if found.is_none_or(|s| s.organization_fiscal_code != organization) {
            return Err(Error::not_found(
                "Not found",
                "The aggregated organization has no service with this ID.",
            ));
        }
    }
    let mandate = Mandate {
        aggregator,
        organization,
        service_id: service,
        created_at: ctx.clock.now(),
    };
    let audit = NewAuditEntry {
        at: ctx.clock.now(),
        actor: actor.to_owned(),
        action: "mandate.add".into(),
        subject: format!("organization:{}", mandate.aggregator),
        detail: json!({"organization": mandate.organization.as_str(),
            "service_id": mandate.service_id.map(|s| s.to_string())}),
    };
    ctx.store.add_mandate(&mandate, &audit).await?;
    Ok(mandate)
}
