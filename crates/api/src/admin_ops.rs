//! Platform operations shared by the admin HTTP API and the `sportello admin …` commands, so
//! both enforce the same rules.

use chrono::Utc;
use messaging::FieldErrors;
use messaging::model::{CitizenProfile, Delegate, Organization, PreferenceMode};
use messaging::ports::Store;
use messaging::quality::OrganizationKind;
use messaging::values::{Email, FiscalCode, OrganizationFiscalCode};

use crate::problem::{ApiError, ApiResult};
use crate::wire::CreatedDelegate;

fn invalid(errors: FieldErrors) -> ApiError {
    ApiError::Validation {
        title: "Invalid payload",
        errors,
    }
}

fn org_code(raw: &str, field: &str) -> ApiResult<OrganizationFiscalCode> {
    OrganizationFiscalCode::parse(raw).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.push(field, e.reason);
        invalid(errors)
    })
}

/// Creates an organization (11-digit fiscal code with check digit, full name).
pub async fn create_organization(
    store: &dyn Store,
    fiscal_code: &str,
    name: &str,
    kind: Option<&str>,
) -> ApiResult<Organization> {
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
    let (Some(fiscal_code), Some(kind), true) = (code, kind, errors.is_empty()) else {
        return Err(invalid(errors));
    };
    let org = Organization {
        fiscal_code,
        name: name.to_owned(),
        kind,
        disabled: false,
        created_at: Utc::now(),
    };
    store.create_organization(&org).await?;
    Ok(org)
}

pub async fn set_organization_disabled(
    store: &dyn Store,
    fiscal_code: &str,
    disabled: bool,
) -> ApiResult<()> {
    let code = org_code(fiscal_code, "fiscal_code")?;
    store.set_organization_disabled(&code, disabled).await?;
    Ok(())
}

/// Creates a delegate of an organization and returns its manage key (shown only now).
pub async fn create_delegate(
    store: &dyn Store,
    organization: &str,
    email: &str,
) -> ApiResult<CreatedDelegate> {
    let mut errors = FieldErrors::default();
    let org = OrganizationFiscalCode::parse(organization)
        .map_err(|e| errors.push("organization", e.reason))
        .ok();
    let email = Email::parse(email)
        .map_err(|e| errors.push("email", e.reason))
        .ok();
    let (Some(org), Some(email)) = (org, email) else {
        return Err(invalid(errors));
    };
    if store.get_organization(&org).await?.is_none() {
        return Err(ApiError::not_found(
            "Organization not found",
            "No organization has this fiscal code; create it first.",
        ));
    }
    let key = seal::new_api_key();
    let delegate = Delegate {
        id: ulid::Ulid::new().to_string(),
        organization_fiscal_code: org,
        email,
        disabled: false,
        created_at: Utc::now(),
    };
    store
        .create_delegate(&delegate, &seal::key_hash(&key))
        .await?;
    Ok(CreatedDelegate {
        id: delegate.id,
        organization_fiscal_code: delegate.organization_fiscal_code.to_string(),
        email: delegate.email.to_string(),
        manage_key: key,
    })
}

/// Creates a citizen profile (normally the citizen's own doing; here for operators and tests).
pub async fn create_citizen(
    store: &dyn Store,
    fiscal_code: &str,
    email: Option<&str>,
    inbox_enabled: bool,
    mode: Option<&str>,
) -> ApiResult<CitizenProfile> {
    let mut errors = FieldErrors::default();
    let code = FiscalCode::parse(fiscal_code)
        .map_err(|e| errors.push("fiscal_code", e.reason))
        .ok();
    let email = match email {
        Some(e) => Email::parse(e)
            .map_err(|err| errors.push("email", err.reason))
            .ok(),
        None => None,
    };
    let mode = match mode {
        None => Some(PreferenceMode::Auto),
        Some(m) => {
            let parsed = PreferenceMode::parse(m);
            if parsed.is_none() {
                errors.push("preference_mode", "must be one of LEGACY, AUTO, MANUAL");
            }
            parsed
        }
    };
    let (Some(fiscal_code), Some(mode), true) = (code, mode, errors.is_empty()) else {
        return Err(invalid(errors));
    };
    if fiscal_code.is_sandbox() {
        return Err(ApiError::bad_request(
            "Invalid payload",
            "The sandbox fiscal code cannot have a citizen profile.",
        ));
    }
    let now = Utc::now();
    let profile = CitizenProfile {
        fiscal_code,
        email,
        is_email_validated: false,
        is_inbox_enabled: inbox_enabled,
        is_email_enabled: true,
        is_webhook_enabled: false,
        preferred_languages: vec!["it_IT".to_owned()],
        preference_mode: mode,
        settings_version: 0,
        blocked_channels: Default::default(),
        version: 0,
        created_at: now,
        updated_at: now,
    };
    store.create_citizen(&profile).await?;
    Ok(profile)
}
