//! `GET/PUT/DELETE /profile` and the e-mail validation link (`GET /email-validation`).
//!
//! Updates follow IO (`reference/io.md` §3.2): an optimistic `version` (stale → 409), a
//! preference-mode change to AUTO or MANUAL starts a new settings version, and there is no way
//! back to LEGACY (409). Absent fields keep their value. A new or changed e-mail address is
//! unvalidated until its citizen opens the link sent to it; the validation and its e-mail are
//! written in the same transaction as the profile.

use kernel::jobs::JobKind;
use notify::templates::escape_html;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use kernel::values::{Email, FiscalCode, ServiceId};
use messaging::citizen::{Channel, NewEmailValidation, NewNotification, Purpose};
use messaging::model::{BlockedChannel, CitizenProfile, PreferenceMode, SealedContent};
use messaging::ports::StoreError;
use serde_json::Value;

use super::wire::CitizenProfileView;
use super::{echo, invalid, profile_not_found, query_pairs, refuse_unknown};
use crate::citizen_auth::{CitizenCaller, new_token, plausible_token};
use crate::problem::{ApiError, ApiResult};
use crate::request::{Body, json_body};
use crate::state::AppState;

/// IO's languages.
pub const LANGUAGES: &[&str] = &["it_IT", "en_GB", "es_ES", "de_DE", "fr_FR"];

/// The members a profile update may carry; `fiscal_code` (must be the caller's) and
/// `is_email_validated` are read-only and ignored, so that a profile read can be sent back.
const FIELDS: &[&str] = &[
    "version",
    "email",
    "is_email_enabled",
    "is_inbox_enabled",
    "is_webhook_enabled",
    "preferred_languages",
    "accepted_tos_version",
    "service_preferences_settings",
    "blocked_inbox_or_channels",
    "reminder_status",
    "push_notifications_content_type",
    "fiscal_code",
    "is_email_validated",
];

pub async fn get_profile(
    State(state): State<AppState>,
    caller: CitizenCaller,
) -> ApiResult<Json<CitizenProfileView>> {
    let profile = state
        .store
        .get_citizen(&caller.fiscal_code)
        .await?
        .ok_or_else(profile_not_found)?;
    Ok(Json(CitizenProfileView::from(&profile)))
}

/// A parsed profile update: `None` keeps the stored value.
#[derive(Debug, Default)]
struct ProfileUpdate {
    version: i64,
    /// `Some(None)`: remove the address (`"email": null`).
    email: Option<Option<Email>>,
    is_email_enabled: Option<bool>,
    is_inbox_enabled: Option<bool>,
    is_webhook_enabled: Option<bool>,
    preferred_languages: Option<Vec<String>>,
    accepted_tos_version: Option<i64>,
    mode: Option<PreferenceMode>,
    blocked: Option<BTreeMap<String, Vec<BlockedChannel>>>,
    reminders_enabled: Option<bool>,
    push_anonymous: Option<bool>,
}

fn parse_update(value: &Value, caller: &FiscalCode) -> Result<ProfileUpdate, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(o) = ObjectReader::new(value, "", &mut errors) else {
        return Err(errors);
    };
    refuse_unknown(&o, FIELDS, &mut errors);
    let version = o.integer("version", true, 0..=i64::MAX, &mut errors);
    if let Some(v) = o.optional("fiscal_code")
        && v.as_str() != Some(caller.as_str())
    {
        errors.push("fiscal_code", "is read-only: omit it or send your own");
    }
    if o.optional("is_email_validated")
        .is_some_and(|v| !v.is_boolean())
    {
        errors.push("is_email_validated", "must be a boolean (it is read-only)");
    }
    let email = match o.obj.get("email") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => o
            .parsed("email", false, Email::parse, &mut errors)
            .map(Some),
    };
    let mut update = ProfileUpdate {
        version: version.unwrap_or_default(),
        email,
        is_email_enabled: o.boolean("is_email_enabled", &mut errors),
        is_inbox_enabled: o.boolean("is_inbox_enabled", &mut errors),
        is_webhook_enabled: o.boolean("is_webhook_enabled", &mut errors),
        preferred_languages: languages(&o, &mut errors),
        accepted_tos_version: o.integer("accepted_tos_version", false, 1..=i64::MAX, &mut errors),
        reminders_enabled: o
            .one_of("reminder_status", &["ENABLED", "DISABLED"], &mut errors)
            .map(|s| s == "ENABLED"),
        push_anonymous: o
            .one_of(
                "push_notifications_content_type",
                &["FULL", "ANONYMOUS"],
                &mut errors,
            )
            .map(|s| s == "ANONYMOUS"),
        ..Default::default()
    };
    if let Some(settings) = o.object("service_preferences_settings", false, &mut errors) {
        refuse_unknown(&settings, &["mode"], &mut errors);
        if settings.required("mode", &mut errors).is_some() {
            update.mode = settings
                .one_of("mode", &["LEGACY", "AUTO", "MANUAL"], &mut errors)
                .and_then(PreferenceMode::parse);
        }
    }
    update.blocked = blocked(&o, &mut errors);
    errors.finish(update)
}

fn languages(o: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<Vec<String>> {
    let list = o.parsed_list(
        "preferred_languages",
        |s| {
            LANGUAGES
                .iter()
                .find(|l| **l == s)
                .map(|l| (*l).to_owned())
                .ok_or_else(|| {
                    kernel::values::ValueError::new(format!(
                        "must be one of {}",
                        LANGUAGES.join(", ")
                    ))
                })
        },
        errors,
    )?;
    let mut ok = true;
    if list.is_empty() {
        errors.push("preferred_languages", "must list at least one language");
        ok = false;
    }
    for (i, l) in list.iter().enumerate() {
        if list[..i].contains(l) {
            errors.push(format!("preferred_languages[{i}]"), "is listed twice");
            ok = false;
        }
    }
    ok.then_some(list)
}

fn blocked(
    o: &ObjectReader<'_>,
    errors: &mut FieldErrors,
) -> Option<BTreeMap<String, Vec<BlockedChannel>>> {
    let map = o.object("blocked_inbox_or_channels", false, errors)?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (key, channels) in map.obj {
        let at = map.path(&echo(key));
        let service = ServiceId::parse(key)
            .map_err(|e| {
                errors.push(at.clone(), format!("the key must be a service ID: {e}"));
            })
            .ok();
        let Some(items) = channels.as_array() else {
            errors.push(at, "must be an array of EMAIL, INBOX, WEBHOOK");
            ok = false;
            continue;
        };
        let mut list = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let channel = match item.as_str() {
                Some("EMAIL") => BlockedChannel::Email,
                Some("INBOX") => BlockedChannel::Inbox,
                Some("WEBHOOK") => BlockedChannel::Webhook,
                _ => {
                    errors.push(format!("{at}[{i}]"), "must be one of EMAIL, INBOX, WEBHOOK");
                    ok = false;
                    continue;
                }
            };
            if !list.contains(&channel) {
                list.push(channel);
            }
        }
        match service {
            Some(s) if !list.is_empty() => {
                out.insert(s.to_string(), list);
            }
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `PUT /profile`: creates the profile (`version` 0) or updates it (`version` = the stored
/// one); 200 with the profile as stored.
pub async fn put_profile(
    State(state): State<AppState>,
    caller: CitizenCaller,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<CitizenProfileView>> {
    let value = json_body(&headers, &body)?;
    let update = parse_update(&value, &caller.fiscal_code)
        .map_err(|errors| invalid("Invalid payload", errors))?;
    let now = state.clock.now();
    let stored = state.store.get_citizen(&caller.fiscal_code).await?;
    let (mut profile, expected) = match stored {
        None if update.version != 0 => {
            return Err(ApiError::Conflict(
                "stale version: there is no profile yet; create it with version 0".to_owned(),
            ));
        }
        None if update.mode == Some(PreferenceMode::Legacy) => {
            return Err(ApiError::Conflict(
                "a new profile cannot use the LEGACY preference mode: choose AUTO or MANUAL"
                    .to_owned(),
            ));
        }
        None => (CitizenProfile::new(caller.fiscal_code.clone(), now), None),
        Some(p) if p.version != update.version => {
            return Err(ApiError::Conflict(format!(
                "stale version: stored {}",
                p.version
            )));
        }
        Some(p) => {
            let expected = p.version;
            (p, Some(expected))
        }
    };
    if let Some(mode) = update.mode
        && mode != profile.preference_mode
    {
        if mode == PreferenceMode::Legacy {
            return Err(ApiError::Conflict(
                "the preference mode cannot go back to LEGACY".to_owned(),
            ));
        }
        profile.preference_mode = mode;
        if expected.is_some() {
            profile.settings_version += 1;
        }
    }
    let mut validation = None;
    match update.email {
        Some(Some(email)) if profile.email.as_ref() != Some(&email) => {
            validation = Some(email_validation(&state, &profile.fiscal_code, &email, now)?);
            profile.email = Some(email);
            profile.is_email_validated = false;
        }
        Some(None) => {
            profile.email = None;
            profile.is_email_validated = false;
        }
        _ => {}
    }
    let set = |field: &mut bool, value: Option<bool>| {
        if let Some(v) = value {
            *field = v;
        }
    };
    set(&mut profile.is_email_enabled, update.is_email_enabled);
    set(&mut profile.is_inbox_enabled, update.is_inbox_enabled);
    set(&mut profile.is_webhook_enabled, update.is_webhook_enabled);
    set(&mut profile.reminders_enabled, update.reminders_enabled);
    set(&mut profile.push_anonymous, update.push_anonymous);
    if let Some(l) = update.preferred_languages {
        profile.preferred_languages = l;
    }
    if let Some(v) = update.accepted_tos_version {
        profile.accepted_tos_version = Some(v);
    }
    if let Some(b) = update.blocked {
        profile.blocked_channels = b;
    }
    if let Some(v) = expected {
        profile.version = v + 1;
    }
    profile.updated_at = now;
    match state
        .store
        .save_citizen(&profile, expected, validation.as_ref())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(
                "stale version: the profile changed meanwhile; read it again".to_owned(),
            ));
        }
        Err(StoreError::NotFound(_)) => return Err(profile_not_found()),
        Err(e) => return Err(e.into()),
    }
    if validation.is_some() {
        state.jobs_ready.ready(JobKind::Notify);
    }
    Ok(Json(CitizenProfileView::from(&profile)))
}

/// A pending validation of `email` and the e-mail carrying its link (the token, sealed, is
/// the notification's payload; only its hash is stored for the look-up).
fn email_validation(
    state: &AppState,
    fiscal_code: &FiscalCode,
    email: &Email,
    now: DateTime<Utc>,
) -> ApiResult<NewEmailValidation> {
    let ttl = chrono::Duration::from_std(state.settings.email_validation_ttl)
        .map_err(|_| ApiError::internal("e-mail validation lifetime out of range"))?;
    let id = ulid::Ulid::from_datetime(now.into()).to_string();
    let token = new_token();
    let plain = serde_json::to_vec(&serde_json::json!({"token": token, "email": email.as_str()}))
        .map_err(ApiError::internal)?;
    let (key_id, bytes) = state
        .keyring
        .seal(&plain, format!("validation:{id}").as_bytes());
    let expires_at = now + ttl;
    Ok(NewEmailValidation {
        id: id.clone(),
        token_hash: seal::key_hash(&token),
        email: email.to_string(),
        expires_at,
        notification: NewNotification {
            subject_id: id,
            fiscal_code: fiscal_code.clone(),
            channel: Channel::Email,
            purpose: Purpose::EmailValidation,
            send_at: now,
            expires_at,
            payload: Some(SealedContent { key_id, bytes }),
        },
    })
}

/// `DELETE /profile`: removes everything held about the citizen (sessions included); their
/// messages stay, without content, as status records for the enti that sent them.
pub async fn delete_profile(
    State(state): State<AppState>,
    caller: CitizenCaller,
) -> ApiResult<StatusCode> {
    if ops::citizens::delete_account(state.ops(), &caller.fiscal_code).await? {
        // The enti keep their debt positions; the citizen's link to them goes.
        state.payments.unlink_citizen(&caller.fiscal_code).await?;
        tracing::info!("citizen account deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(profile_not_found())
    }
}

/// `GET /email-validation?token=…`: the link of the validation e-mail. Public (the token is
/// the credential); answers a small page in Italian and English, never saying more than
/// whether the link worked.
pub async fn validate_email(State(state): State<AppState>, uri: Uri) -> Response {
    let token = query_pairs(&uri, &["token"], &mut FieldErrors::default())
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "token"))
        .map(|(_, v)| v)
        .filter(|t| plausible_token(t));
    let Some(token) = token else {
        return page(
            StatusCode::BAD_REQUEST,
            "Link non valido",
            "Il link non è completo: copialo per intero dall'e-mail che hai ricevuto.",
            "Invalid link",
            "The link is incomplete: copy it whole from the e-mail you received.",
        );
    };
    match state
        .store
        .validate_email(&seal::key_hash(&token), state.clock.now())
        .await
    {
        Ok(Some(_)) => page(
            StatusCode::OK,
            "Indirizzo confermato",
            "Grazie: il tuo indirizzo e-mail è confermato. Riceverai qui gli avvisi dei nuovi \
             messaggi.",
            "Address confirmed",
            "Thank you: your e-mail address is confirmed. You will receive notices of new \
             messages here.",
        ),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            "Link scaduto o non valido",
            "Questo link non è valido o è scaduto. Dall'app puoi chiedere un nuovo link.",
            "Link expired or invalid",
            "This link is not valid or has expired. You can ask for a new link from the app.",
        ),
        Err(e) => {
            tracing::error!(error.cause = %e, "e-mail validation failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Errore temporaneo",
                "Non è stato possibile confermare l'indirizzo: riprova più tardi.",
                "Temporary error",
                "The address could not be confirmed: please try again later.",
            )
        }
    }
}

fn page(
    status: StatusCode,
    title_it: &str,
    text_it: &str,
    title_en: &str,
    text_en: &str,
) -> Response {
    let e = escape_html;
    let html = format!(
        "<!doctype html>\n<html lang=\"it\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · {}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;\
         padding:0 1rem;line-height:1.5;color:#17324d}}h1{{font-size:1.4rem}}\
         hr{{border:0;border-top:1px solid #ccc;margin:2rem 0}}</style>\n</head>\n<body>\n\
         <main>\n<h1>{}</h1>\n<p>{}</p>\n<hr>\n<section lang=\"en\">\n<h1>{}</h1>\n<p>{}</p>\n\
         </section>\n</main>\n</body>\n</html>\n",
        e(title_it),
        e(title_en),
        e(title_it),
        e(text_it),
        e(title_en),
        e(text_en),
    );
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fc() -> FiscalCode {
        FiscalCode::parse("RSSMRA85T10A562S").unwrap()
    }

    fn names(errors: &FieldErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn an_update_lists_every_field_at_fault() {
        let body = json!({
            "version": -1,
            "email": "not-an-address",
            "preferred_languages": ["it_IT", "xx_XX", "it_IT"],
            "accepted_tos_version": 0,
            "service_preferences_settings": {"mode": "SOMETIMES"},
            "blocked_inbox_or_channels": {"nope": ["EMAIL"], "01J0000000000000000000000A": ["SMS"]},
            "reminder_status": "MAYBE",
            "push_notifications_content_type": "PARTIAL",
            "is_inbox_enabled": "yes",
            "favourite_colour": "blue"
        });
        let errors = parse_update(&body, &fc()).unwrap_err();
        assert_eq!(
            names(&errors),
            [
                "favourite_colour",
                "version",
                "email",
                "is_inbox_enabled",
                "preferred_languages[1]",
                "accepted_tos_version",
                "reminder_status",
                "push_notifications_content_type",
                "service_preferences_settings.mode",
                "blocked_inbox_or_channels.01J0000000000000000000000A[0]",
                "blocked_inbox_or_channels.nope",
            ]
        );
    }

    #[test]
    fn duplicate_and_empty_language_lists_are_refused() {
        let dup = parse_update(
            &json!({"version": 0, "preferred_languages": ["it_IT", "it_IT"]}),
            &fc(),
        )
        .unwrap_err();
        assert_eq!(names(&dup), ["preferred_languages[1]"]);
        let empty =
            parse_update(&json!({"version": 0, "preferred_languages": []}), &fc()).unwrap_err();
        assert_eq!(names(&empty), ["preferred_languages"]);
    }

    #[test]
    fn a_profile_read_can_be_sent_back_but_not_for_someone_else() {
        let ok = json!({"version": 3, "fiscal_code": "RSSMRA85T10A562S", "is_email_validated": true,
            "email": null, "service_preferences_settings": {"mode": "MANUAL"}});
        let u = parse_update(&ok, &fc()).unwrap();
        assert_eq!(u.version, 3);
        assert_eq!(u.email, Some(None));
        assert_eq!(u.mode, Some(PreferenceMode::Manual));
        let other = json!({"version": 3, "fiscal_code": "BNCLRA70A41H501B"});
        assert_eq!(
            names(&parse_update(&other, &fc()).unwrap_err()),
            ["fiscal_code"]
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">l'&</a>"),
            "&lt;a href=&quot;x&quot;&gt;l&#39;&amp;&lt;/a&gt;"
        );
    }
}
