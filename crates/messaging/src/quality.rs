//! The automatic quality checks run when a service card is submitted for review: the mandatory
//! fields and formatting rules of the IO onboarding instructions (seed 002 §3.3–3.4) and IO's
//! own submit-time validation (`reference/io.md` §2). Each failure is a [`QualityIssue`] that
//! says, in Italian and English, what is wrong and how to fix it.
//!
//! The organization logo is described by [`LogoFacts`], filled by an adapter that decodes the
//! image: this crate does no image decoding.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::model::{Scope, Service};
use kernel::organization::OrganizationKind;
use kernel::values::Email;

/// Width and height, in pixels, the organization logo must have.
pub const LOGO_SIZE_PX: u32 = 300;

/// Fewest and most digits a phone number may have (E.164 allows at most 15).
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 6..=15;

/// The codes of [`QualityIssue`]s: one per rule, stable for clients and tests.
pub mod code {
    /// A mandatory field is missing or blank.
    pub const MISSING: &str = "missing";
    /// None of phone, e-mail, PEC or support URL is given.
    pub const CONTACT_MISSING: &str = "contact_missing";
    /// The organization logo has not been uploaded.
    pub const LOGO_MISSING: &str = "logo_missing";
    /// A URL is not an http(s) address with a host.
    pub const INVALID_URL: &str = "invalid_url";
    /// An e-mail or PEC address is not valid.
    pub const INVALID_EMAIL: &str = "invalid_email";
    /// A phone number is not plausible.
    pub const INVALID_PHONE: &str = "invalid_phone";
    /// A name or text is written in capitals only.
    pub const ALL_CAPS: &str = "all_caps";
    /// The organization name is not the full name of the body.
    pub const ORGANIZATION_NAME_INCOMPLETE: &str = "organization_name_incomplete";
    /// The organization logo is not a PNG image.
    pub const LOGO_NOT_PNG: &str = "logo_not_png";
    /// The organization logo is not 300×300 pixels.
    pub const LOGO_WRONG_SIZE: &str = "logo_wrong_size";
    /// The organization logo has an opaque, non-white background.
    pub const LOGO_BACKGROUND: &str = "logo_background";
    /// Another service of the same organization has the same name.
    pub const DUPLICATE_NAME: &str = "duplicate_name";
    /// A body serving a bounded territory declared a national scope.
    pub const SCOPE_NOT_LOCAL: &str = "scope_not_local";
}

/// One failed check: the field at fault (dotted path as in the service payload), the rule's
/// code, and what to do, in Italian (addressing the delegate as "tu") and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualityIssue {
    pub field: &'static str,
    pub code: &'static str,
    pub it: String,
    pub en: String,
}

impl QualityIssue {
    fn new(
        field: &'static str,
        code: &'static str,
        it: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            field,
            code,
            it: it.into(),
            en: en.into(),
        }
    }
}

/// What an adapter learnt by decoding the organization logo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogoFacts {
    pub width: u32,
    pub height: u32,
    pub is_png: bool,
    /// `Some(true)` when the background is neither white nor transparent; `None` when unknown.
    pub has_opaque_non_white_background: Option<bool>,
}

/// Runs every check on a card submitted for review and returns all the issues found, in field
/// order; an empty list means the card may go on to review.
///
/// `logo` describes the organization logo (`None` when none was uploaded); `sibling_names` are
/// the names of the organization's other non-deleted services, this one excluded. The
/// organization fiscal code needs no check: [`Service`] cannot hold a missing or invalid one.
pub fn check(
    service: &Service,
    kind: OrganizationKind,
    logo: Option<&LogoFacts>,
    sibling_names: &[&str],
) -> Vec<QualityIssue> {
    let mut issues = Vec::new();
    let metadata = &service.metadata;

    match present(Some(&service.name)) {
        None => issues.push(QualityIssue::new(
            "name",
            code::MISSING,
            "Il nome del servizio è obbligatorio: inserisci un nome che indichi all'utente di cosa \
             parlano i messaggi (es. «Tributi»).",
            "The service name is required: enter a name that tells citizens what the messages are \
             about (e.g. \"Tributi\").",
        )),
        Some(name) => {
            if is_all_caps(name) {
                issues.push(QualityIssue::new(
                    "name",
                    code::ALL_CAPS,
                    "Il nome del servizio è scritto tutto in maiuscolo: scrivilo in minuscolo, con \
                     la maiuscola solo per l'iniziale e per le sigle (es. «Servizi scolastici», \
                     «Tributi TARI»).",
                    "The service name is written in capitals only: write it in lower case, \
                     capitalising only its first letter and acronyms (e.g. \"Servizi scolastici\", \
                     \"Tributi TARI\").",
                ));
            }
            let key = comparable_name(name);
            if sibling_names.iter().any(|s| comparable_name(s) == key) {
                issues.push(QualityIssue::new(
                    "name",
                    code::DUPLICATE_NAME,
                    "Il tuo ente ha già un altro servizio con questo nome: scegli un nome diverso \
                     che distingua questo servizio, oppure modifica il servizio esistente invece di \
                     crearne uno nuovo.",
                    "Your organization already has another service with this name: choose a \
                     different name that sets this service apart, or edit the existing service \
                     instead of creating a new one.",
                ));
            }
        }
    }

    match present(Some(&service.description)) {
        None => issues.push(QualityIssue::new(
            "description",
            code::MISSING,
            "La descrizione è obbligatoria: scrivi, in formato markdown, di cosa si occupa il \
             servizio e cosa l'utente riceverà tramite IO.",
            "The description is required: write, in markdown, what the service is about and what \
             citizens will receive through IO.",
        )),
        Some(description) if is_all_caps(description) => issues.push(QualityIssue::new(
            "description",
            code::ALL_CAPS,
            "La descrizione è scritta tutta in maiuscolo: riscrivila in minuscolo, con la \
             maiuscola solo a inizio frase, nei nomi propri e nelle sigle.",
            "The description is written in capitals only: rewrite it in lower case, capitalising \
             only the start of sentences, proper names and acronyms.",
        )),
        Some(_) => {}
    }

    match present(Some(&service.organization_name)) {
        None => issues.push(QualityIssue::new(
            "organization.name",
            code::MISSING,
            format!(
                "Il nome dell'ente è obbligatorio: inserisci il nome completo dell'ente (es. «{}»).",
                kind.name_example().0
            ),
            format!(
                "The organization name is required: enter the full name of the body (e.g. \"{}\").",
                kind.name_example().0
            ),
        )),
        Some(name) => {
            if !is_full_organization_name(name, kind) {
                issues.push(incomplete_organization_name(kind));
            }
            if is_all_caps(name) {
                issues.push(QualityIssue::new(
                    "organization.name",
                    code::ALL_CAPS,
                    format!(
                        "Il nome dell'ente è scritto tutto in maiuscolo: scrivilo in minuscolo, con \
                         la maiuscola solo per le iniziali e le sigle (es. «{}»).",
                        kind.name_example().0
                    ),
                    format!(
                        "The organization name is written in capitals only: write it in lower \
                         case, capitalising only initials and acronyms (e.g. \"{}\").",
                        kind.name_example().0
                    ),
                ));
            }
        }
    }

    if present(service.department_name.as_ref()).is_some_and(is_all_caps) {
        issues.push(QualityIssue::new(
            "organization.department_name",
            code::ALL_CAPS,
            "Il nome dell'ufficio è scritto tutto in maiuscolo: scrivilo in minuscolo, con la \
             maiuscola solo per le iniziali e le sigle (es. «Ufficio tributi»).",
            "The department name is written in capitals only: write it in lower case, \
             capitalising only initials and acronyms (e.g. \"Ufficio tributi\").",
        ));
    }

    issues.extend(logo_issues(logo));

    match metadata.scope {
        None => issues.push(QualityIssue::new(
            "metadata.scope",
            code::MISSING,
            "L'ambito del servizio (scope) è obbligatorio: scegli LOCAL se il tuo ente serve un \
             territorio delimitato (comune, provincia, regione…), NATIONAL se serve l'intera \
             nazione.",
            "The service scope is required: choose LOCAL if your organization serves a bounded \
             territory (municipality, province, region…), NATIONAL if it serves the whole country.",
        )),
        Some(Scope::National) if kind.is_territorial() => {
            let (it, en) = kind.label();
            issues.push(QualityIssue::new(
                "metadata.scope",
                code::SCOPE_NOT_LOCAL,
                format!(
                    "Il tuo ente è {it} e serve un territorio delimitato: imposta l'ambito del \
                     servizio (scope) su LOCAL invece di NATIONAL."
                ),
                format!(
                    "Your organization is {en} and serves a bounded territory: set the service \
                     scope to LOCAL instead of NATIONAL."
                ),
            ));
        }
        Some(_) => {}
    }

    if present(metadata.privacy_url.as_ref()).is_none() {
        issues.push(QualityIssue::new(
            "metadata.privacy_url",
            code::MISSING,
            "L'URL dell'informativa privacy è obbligatorio: inserisci l'indirizzo web (https://…) \
             della pagina dove è pubblicata l'informativa privacy del servizio.",
            "The privacy policy URL is required: enter the web address (https://…) of the page \
             where the service's privacy notice is published.",
        ));
    }
    let urls = [
        (
            "metadata.privacy_url",
            &metadata.privacy_url,
            "L'URL dell'informativa privacy",
            "The privacy policy URL",
        ),
        (
            "metadata.tos_url",
            &metadata.tos_url,
            "L'URL dei termini e condizioni",
            "The terms of service URL",
        ),
        (
            "metadata.web_url",
            &metadata.web_url,
            "L'URL del sito web",
            "The web URL",
        ),
        (
            "metadata.support_url",
            &metadata.support_url,
            "L'URL di supporto",
            "The support URL",
        ),
        (
            "metadata.app_ios",
            &metadata.app_ios,
            "Il link all'app iOS",
            "The iOS app link",
        ),
        (
            "metadata.app_android",
            &metadata.app_android,
            "Il link all'app Android",
            "The Android app link",
        ),
    ];
    for (field, value, subject_it, subject_en) in urls {
        if let Some(problem) = present(value.as_ref()).and_then(url_problem) {
            let (it, en) = problem.reason();
            issues.push(QualityIssue::new(
                field,
                code::INVALID_URL,
                format!(
                    "{subject_it} non è valido: {it} (es. https://www.comune.varese.it/pagina)."
                ),
                format!(
                    "{subject_en} is not valid: {en} (e.g. https://www.comune.varese.it/page)."
                ),
            ));
        }
    }

    let contacts = [
        &metadata.phone,
        &metadata.email,
        &metadata.pec,
        &metadata.support_url,
    ];
    if contacts.iter().all(|c| present(c.as_ref()).is_none()) {
        issues.push(QualityIssue::new(
            "metadata",
            code::CONTACT_MISSING,
            "Indica almeno un contatto a cui l'utente può chiedere assistenza: telefono, e-mail, \
             PEC o URL di supporto.",
            "Give at least one contact citizens can ask for help: phone, e-mail, PEC or support \
             URL.",
        ));
    }

    if let Some((it, en)) = present(metadata.phone.as_ref()).and_then(phone_problem) {
        issues.push(QualityIssue::new(
            "metadata.phone",
            code::INVALID_PHONE,
            format!("Il numero di telefono non è valido: {it} (es. +39 0332 255111)."),
            format!("The phone number is not valid: {en} (e.g. +39 0332 255111)."),
        ));
    }

    let emails = [
        (
            "metadata.email",
            &metadata.email,
            "L'indirizzo e-mail",
            "The e-mail address",
            "nome@comune.varese.it",
            "name@comune.varese.it",
        ),
        (
            "metadata.pec",
            &metadata.pec,
            "L'indirizzo PEC",
            "The PEC address",
            "protocollo@pec.comune.varese.it",
            "protocollo@pec.comune.varese.it",
        ),
    ];
    for (field, value, subject_it, subject_en, example_it, example_en) in emails {
        if let Some(Err(e)) = present(value.as_ref()).map(Email::parse) {
            issues.push(QualityIssue::new(
                field,
                code::INVALID_EMAIL,
                format!(
                    "{subject_it} non è valido: scrivilo nella forma {example_it}, con una sola @ \
                     e senza spazi."
                ),
                format!(
                    "{subject_en} is not valid: {}; write it as {example_en}.",
                    e.reason
                ),
            ));
        }
    }

    if present(metadata.address.as_ref()).is_some_and(is_all_caps) {
        issues.push(QualityIssue::new(
            "metadata.address",
            code::ALL_CAPS,
            "L'indirizzo è scritto tutto in maiuscolo: scrivilo in minuscolo, con la maiuscola solo \
             per le iniziali (es. «Via Sacco 5, 21100 Varese»).",
            "The address is written in capitals only: write it in lower case, capitalising only \
             initials (e.g. \"Via Sacco 5, 21100 Varese\").",
        ));
    }

    if service.authorized_cidrs.is_empty() {
        issues.push(QualityIssue::new(
            "authorized_cidrs",
            code::MISSING,
            "Indica almeno un indirizzo IP autorizzato (es. 192.168.10.11/32): le chiamate alle API \
             per questo servizio saranno accettate solo da questi indirizzi.",
            "Give at least one authorized IP address or network (e.g. 192.168.10.11/32): API calls \
             for this service are accepted only from these addresses.",
        ));
    }

    issues
}

/// The issues of the organization logo, or the "missing" issue when there is none.
fn logo_issues(logo: Option<&LogoFacts>) -> Vec<QualityIssue> {
    const FIELD: &str = "organization.logo";
    let Some(logo) = logo else {
        return vec![QualityIssue::new(
            FIELD,
            code::LOGO_MISSING,
            "Il logo dell'ente è obbligatorio: caricalo come immagine PNG di 300×300 pixel su \
             fondo bianco o trasparente.",
            "The organization logo is required: upload it as a 300×300 pixel PNG image on a white \
             or transparent background.",
        )];
    };
    let mut issues = Vec::new();
    if !logo.is_png {
        issues.push(QualityIssue::new(
            FIELD,
            code::LOGO_NOT_PNG,
            "Il logo dell'ente non è in formato PNG: convertilo in PNG (300×300 pixel) e caricalo \
             di nuovo.",
            "The organization logo is not a PNG image: convert it to PNG (300×300 pixels) and \
             upload it again.",
        ));
    }
    if (logo.width, logo.height) != (LOGO_SIZE_PX, LOGO_SIZE_PX) {
        issues.push(QualityIssue::new(
            FIELD,
            code::LOGO_WRONG_SIZE,
            format!(
                "Il logo dell'ente misura {}×{} pixel: ridimensionalo a {LOGO_SIZE_PX}×{LOGO_SIZE_PX} \
                 pixel e caricalo di nuovo.",
                logo.width, logo.height
            ),
            format!(
                "The organization logo is {}×{} pixels: resize it to {LOGO_SIZE_PX}×{LOGO_SIZE_PX} \
                 pixels and upload it again.",
                logo.width, logo.height
            ),
        ));
    }
    if logo.has_opaque_non_white_background == Some(true) {
        issues.push(QualityIssue::new(
            FIELD,
            code::LOGO_BACKGROUND,
            "Il logo dell'ente ha uno sfondo colorato: usa un fondo bianco o trasparente e \
             caricalo di nuovo.",
            "The organization logo has a coloured background: use a white or transparent \
             background and upload it again.",
        ));
    }
    issues
}

fn incomplete_organization_name(kind: OrganizationKind) -> QualityIssue {
    let (example, short) = kind.name_example();
    let (it, en) = match kind.expected_name_prefix() {
        Some(prefix) => (
            format!(
                "Il nome dell'ente deve essere il nome completo della pubblica amministrazione e \
                 iniziare con «{}» seguito dal nome (es. «{example}», non «{short}»).",
                prefix.trim_end()
            ),
            format!(
                "The organization name must be the full name of the public body and start with \
                 \"{}\" followed by the name (e.g. \"{example}\", not \"{short}\").",
                prefix.trim_end()
            ),
        ),
        None => (
            format!(
                "Il nome dell'ente deve essere il nome completo della pubblica amministrazione, non \
                 una sigla o una sola parola (es. «{example}», non «{short}»)."
            ),
            format!(
                "The organization name must be the full name of the public body, not an acronym or \
                 a single word (e.g. \"{example}\", not \"{short}\")."
            ),
        ),
    };
    QualityIssue::new(
        "organization.name",
        code::ORGANIZATION_NAME_INCOMPLETE,
        it,
        en,
    )
}

/// The value when it holds something other than whitespace.
fn present(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|v| !v.trim().is_empty())
}

/// A name as compared for duplicates: lowercased, runs of whitespace made one space.
fn comparable_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A text is ALL-CAPS when all its alphabetic words of two letters or more are uppercase and
/// there are at least two of them or one longer than six letters: a lone acronym ("TARI") is not.
fn is_all_caps(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 2)
        .collect();
    let all_upper = !words.is_empty() && words.iter().all(|w| w.chars().all(|c| !c.is_lowercase()));
    all_upper && (words.len() >= 2 || words.iter().any(|w| w.chars().count() > 6))
}

/// A name folded for comparing prefixes: lowercased, `à`/`á` as `a`, an apostrophe standing
/// for an accent ("Citta' ") dropped, runs of whitespace made one space.
fn fold_name(name: &str) -> String {
    let chars: Vec<char> = name.to_lowercase().chars().collect();
    let mut folded = String::with_capacity(name.len());
    for (i, &c) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        match c {
            'à' | 'á' => folded.push('a'),
            '\'' | '’' if next_is_space && i > 0 => {}
            c => folded.push(c),
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `name` is the full name of a body of `kind`: it starts with an accepted prefix and
/// names something after it, or (for other bodies) has at least two words.
fn is_full_organization_name(name: &str, kind: OrganizationKind) -> bool {
    let prefixes = kind.accepted_name_prefixes();
    if prefixes.is_empty() {
        return name
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphabetic))
            .count()
            >= 2;
    }
    let folded = fold_name(name);
    prefixes.iter().any(|prefix| {
        folded
            .strip_prefix(&fold_name(prefix))
            .and_then(|rest| rest.strip_prefix(' '))
            .is_some_and(|rest| rest.chars().any(char::is_alphabetic))
    })
}

/// Why a URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlProblem {
    Whitespace,
    Scheme,
    Host,
}

impl UrlProblem {
    fn reason(self) -> (&'static str, &'static str) {
        match self {
            Self::Whitespace => ("non deve contenere spazi", "it must not contain spaces"),
            Self::Scheme => (
                "deve iniziare con https:// (o http://)",
                "it must start with https:// (or http://)",
            ),
            Self::Host => (
                "dopo https:// deve esserci un nome di dominio completo, come www.comune.varese.it",
                "https:// must be followed by a full domain name, such as www.comune.varese.it",
            ),
        }
    }
}

/// What is wrong with `url`, if anything: it must be http or https, with a host (a domain name
/// of two labels or more, or an IP address), an optional port, and no spaces or user info.
fn url_problem(url: &str) -> Option<UrlProblem> {
    if url.chars().any(char::is_whitespace) {
        return Some(UrlProblem::Whitespace);
    }
    let rest = ["https://", "http://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .and_then(|_| url.get(scheme.len()..))
    });
    let Some(rest) = rest else {
        return Some(UrlProblem::Scheme);
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!is_valid_authority(authority)).then_some(UrlProblem::Host)
}

/// A host with an optional `:port`; user info (`user@`) is refused as a phishing vector.
fn is_valid_authority(authority: &str) -> bool {
    if authority.contains('@') {
        return false;
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return false;
        };
        return address.parse::<Ipv6Addr>().is_ok()
            && (after.is_empty() || after.strip_prefix(':').is_some_and(is_port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    port.is_none_or(is_port) && is_valid_host(host)
}

fn is_port(port: &str) -> bool {
    (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())
}

/// An IPv4 address, or a domain name of two labels or more whose last label is alphabetic.
fn is_valid_host(host: &str) -> bool {
    if host.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// Why a phone number is implausible, in Italian and English: it may hold only digits, spaces
/// and a leading `+`, with 6 to 15 digits.
fn phone_problem(phone: &str) -> Option<(&'static str, &'static str)> {
    let phone = phone.trim();
    let allowed = phone
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || c == ' ' || (c == '+' && i == 0));
    if !allowed {
        return Some((
            "usa solo cifre, spazi e, all'inizio, il prefisso internazionale con il +",
            "use only digits, spaces and, at the start, the international prefix with +",
        ));
    }
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if digits < *PHONE_DIGITS.start() {
        return Some((
            "deve avere almeno 6 cifre",
            "it must have at least 6 digits",
        ));
    }
    if digits > *PHONE_DIGITS.end() {
        return Some((
            "può avere al massimo 15 cifre",
            "it may have at most 15 digits",
        ));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::model::{LifecycleStatus, PublicationStatus, ServiceMetadata};
    use kernel::values::{Cidr, OrganizationFiscalCode, ServiceId};

    const GOOD_LOGO: LogoFacts = LogoFacts {
        width: 300,
        height: 300,
        is_png: true,
        has_opaque_non_white_background: Some(false),
    };

    fn valid_service() -> Service {
        let now = Utc::now();
        Service {
            id: ServiceId::new(),
            organization_fiscal_code: OrganizationFiscalCode::parse("00441340122").unwrap(),
            organization_name: "Comune di Varese".into(),
            department_name: Some("Ufficio tributi".into()),
            name: "Tributi TARI".into(),
            description: "Ricevi gli **avvisi di pagamento** della TARI e le scadenze.".into(),
            require_secure_channels: false,
            authorized_recipients: vec![],
            authorized_cidrs: vec![Cidr::parse("20.18.1.10/32").unwrap()],
            max_allowed_payment_amount: 100_000,
            metadata: ServiceMetadata {
                scope: Some(Scope::Local),
                topic_id: Some(11),
                web_url: Some("https://www.comune.varese.it/tributi".into()),
                app_ios: Some("https://apps.apple.com/it/app/id123456".into()),
                app_android: Some("https://play.google.com/store/apps/details?id=it.varese".into()),
                tos_url: Some("http://www.comune.varese.it/tos".into()),
                privacy_url: Some("https://www.comune.varese.it/privacy".into()),
                address: Some("Via Sacco 5, 21100 Varese".into()),
                phone: Some("+39 0332 255111".into()),
                email: Some("tributi@comune.varese.it".into()),
                pec: Some("protocollo@pec.comune.varese.it".into()),
                cta: None,
                token_name: None,
                support_url: Some("https://www.comune.varese.it:8443/assistenza".into()),
            },
            lifecycle: LifecycleStatus::Draft,
            lifecycle_reason: None,
            publication: PublicationStatus::Unpublished,
            ever_approved: false,
            auto_publish: false,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn issues_of(service: &Service) -> Vec<(&'static str, &'static str)> {
        found(check(
            service,
            OrganizationKind::Comune,
            Some(&GOOD_LOGO),
            &["Anagrafe"],
        ))
    }

    fn found(issues: Vec<QualityIssue>) -> Vec<(&'static str, &'static str)> {
        issues.iter().map(|i| (i.field, i.code)).collect()
    }

    fn with(edit: impl FnOnce(&mut Service)) -> Service {
        let mut service = valid_service();
        edit(&mut service);
        service
    }

    #[test]
    fn a_complete_valid_card_has_no_issues() {
        assert_eq!(
            check(
                &valid_service(),
                OrganizationKind::Comune,
                Some(&GOOD_LOGO),
                &["Anagrafe", "Servizi scolastici"]
            ),
            vec![]
        );
    }

    #[test]
    fn a_blank_service_name_is_reported_missing() {
        let s = with(|s| s.name = "  ".into());
        assert_eq!(issues_of(&s), [("name", code::MISSING)]);
    }

    #[test]
    fn a_blank_organization_name_is_reported_missing() {
        let s = with(|s| s.organization_name = String::new());
        assert_eq!(issues_of(&s), [("organization.name", code::MISSING)]);
    }

    #[test]
    fn a_missing_privacy_url_is_reported() {
        let s = with(|s| s.metadata.privacy_url = None);
        assert_eq!(issues_of(&s), [("metadata.privacy_url", code::MISSING)]);
    }

    #[test]
    fn a_blank_description_is_reported_missing() {
        let s = with(|s| s.description = "\n".into());
        assert_eq!(issues_of(&s), [("description", code::MISSING)]);
    }

    #[test]
    fn a_card_without_any_contact_is_reported() {
        let s = with(|s| {
            s.metadata.phone = None;
            s.metadata.email = Some(" ".into());
            s.metadata.pec = None;
            s.metadata.support_url = None;
        });
        assert_eq!(issues_of(&s), [("metadata", code::CONTACT_MISSING)]);
    }

    #[test]
    fn one_contact_of_any_kind_is_enough() {
        for keep in 0..4 {
            let s = with(|s| {
                let m = &mut s.metadata;
                let contacts = [&mut m.phone, &mut m.email, &mut m.pec, &mut m.support_url];
                for (i, c) in contacts.into_iter().enumerate() {
                    if i != keep {
                        *c = None;
                    }
                }
            });
            assert_eq!(issues_of(&s), [], "keeping contact #{keep}");
        }
    }

    #[test]
    fn a_missing_scope_is_reported() {
        let s = with(|s| s.metadata.scope = None);
        assert_eq!(issues_of(&s), [("metadata.scope", code::MISSING)]);
    }

    #[test]
    fn a_card_without_authorized_cidrs_is_reported() {
        let s = with(|s| s.authorized_cidrs.clear());
        assert_eq!(issues_of(&s), [("authorized_cidrs", code::MISSING)]);
    }

    #[test]
    fn a_missing_organization_logo_is_reported() {
        let issues = check(&valid_service(), OrganizationKind::Comune, None, &[]);
        assert_eq!(found(issues), [("organization.logo", code::LOGO_MISSING)]);
    }

    /// Picks one optional text field of the metadata.
    type Slot = fn(&mut ServiceMetadata) -> &mut Option<String>;

    #[test]
    fn every_url_field_must_be_http_or_https_with_a_host() {
        let fields: [(&str, Slot); 6] = [
            ("metadata.privacy_url", |m| &mut m.privacy_url),
            ("metadata.tos_url", |m| &mut m.tos_url),
            ("metadata.web_url", |m| &mut m.web_url),
            ("metadata.support_url", |m| &mut m.support_url),
            ("metadata.app_ios", |m| &mut m.app_ios),
            ("metadata.app_android", |m| &mut m.app_android),
        ];
        let bad = [
            "www.comune.varese.it/privacy",
            "ftp://www.comune.varese.it/privacy",
            "https://",
            "https:///privacy",
            "https://localhost/privacy",
            "https://comune .varese.it",
            "https://user@comune.varese.it",
            "https://comune.varese.it:port/x",
            "https://comune..it",
            "javascript:alert(1)",
        ];
        for (field, slot) in fields {
            for url in bad {
                let s = with(|s| *slot(&mut s.metadata) = Some(url.into()));
                assert_eq!(
                    issues_of(&s),
                    [(field, code::INVALID_URL)],
                    "{field} = {url:?}"
                );
            }
        }
    }

    #[test]
    fn well_formed_urls_are_accepted() {
        for url in [
            "https://www.comune.varese.it",
            "HTTP://WWW.COMUNE.VARESE.IT/Privacy?x=1#top",
            "https://10.0.0.1:8080/privacy",
            "https://[2001:db8::1]/privacy",
            "https://comune.forlì.it/privacy",
        ] {
            let s = with(|s| s.metadata.privacy_url = Some(url.into()));
            assert_eq!(issues_of(&s), [], "{url}");
        }
    }

    #[test]
    fn a_malformed_email_or_pec_is_reported() {
        let s = with(|s| s.metadata.email = Some("tributi.comune.varese.it".into()));
        assert_eq!(issues_of(&s), [("metadata.email", code::INVALID_EMAIL)]);
        let s = with(|s| s.metadata.pec = Some("protocollo@pec".into()));
        assert_eq!(issues_of(&s), [("metadata.pec", code::INVALID_EMAIL)]);
    }

    #[test]
    fn an_implausible_phone_number_is_reported() {
        for phone in [
            "0332-255111",
            "tel. 0332 255111",
            "12345",
            "39+0332255111",
            "+39 0332 255111 255111 1",
        ] {
            let s = with(|s| s.metadata.phone = Some(phone.into()));
            assert_eq!(
                issues_of(&s),
                [("metadata.phone", code::INVALID_PHONE)],
                "{phone}"
            );
        }
        for phone in ["800 123 456", "+390332255111", "0332255111"] {
            let s = with(|s| s.metadata.phone = Some(phone.into()));
            assert_eq!(issues_of(&s), [], "{phone}");
        }
    }

    #[test]
    fn an_all_caps_service_name_is_reported() {
        for name in ["SERVIZI SCOLASTICI", "SCOLASTICI", "TARI E IMU"] {
            let s = with(|s| s.name = name.into());
            assert_eq!(issues_of(&s), [("name", code::ALL_CAPS)], "{name}");
        }
    }

    #[test]
    fn a_lone_acronym_in_a_service_name_is_allowed() {
        for name in ["TARI", "Tributi TARI", "TARI 2024", "Servizi scolastici"] {
            let s = with(|s| s.name = name.into());
            assert_eq!(issues_of(&s), [], "{name}");
        }
    }

    #[test]
    fn an_all_caps_description_is_reported() {
        let s = with(|s| s.description = "RICEVI GLI AVVISI DI PAGAMENTO DELLA TARI.".into());
        assert_eq!(issues_of(&s), [("description", code::ALL_CAPS)]);
    }

    #[test]
    fn an_all_caps_organization_name_is_reported() {
        let s = with(|s| s.organization_name = "COMUNE DI VARESE".into());
        assert_eq!(issues_of(&s), [("organization.name", code::ALL_CAPS)]);
    }

    #[test]
    fn an_all_caps_department_name_or_address_is_reported() {
        let s = with(|s| s.department_name = Some("UFFICIO TRIBUTI".into()));
        assert_eq!(
            issues_of(&s),
            [("organization.department_name", code::ALL_CAPS)]
        );
        let s = with(|s| s.metadata.address = Some("VIA SACCO 5, VARESE".into()));
        assert_eq!(issues_of(&s), [("metadata.address", code::ALL_CAPS)]);
    }

    #[test]
    fn an_organization_name_without_the_prefix_of_its_kind_is_reported() {
        for name in ["Varese", "Comune di", "Comune di  ", "Città di Varese"] {
            let s = with(|s| s.organization_name = name.into());
            assert_eq!(
                issues_of(&s),
                [("organization.name", code::ORGANIZATION_NAME_INCOMPLETE)],
                "{name}"
            );
        }
        let issue = check(
            &with(|s| s.organization_name = "Varese".into()),
            OrganizationKind::Comune,
            Some(&GOOD_LOGO),
            &[],
        )
        .remove(0);
        assert!(
            issue.it.contains("«Comune di Varese», non «Varese»"),
            "{}",
            issue.it
        );
    }

    #[test]
    fn the_full_name_of_each_kind_of_body_is_accepted() {
        let cases = [
            (OrganizationKind::Comune, "comune di Varese"),
            (OrganizationKind::Comune, "Comune di L'Aquila"),
            (OrganizationKind::Provincia, "Provincia di Varese"),
            (OrganizationKind::Provincia, "Provincia autonoma di Trento"),
            (
                OrganizationKind::CittaMetropolitana,
                "Città metropolitana di Milano",
            ),
            (
                OrganizationKind::CittaMetropolitana,
                "Citta' Metropolitana di Roma Capitale",
            ),
            (OrganizationKind::Regione, "Regione Lombardia"),
            (OrganizationKind::Regione, "Regione autonoma Valle d'Aosta"),
            (
                OrganizationKind::UnioneDiComuni,
                "Unione dei comuni della Valle del Savio",
            ),
            (OrganizationKind::Other, "Azienda sanitaria locale Roma 1"),
        ];
        for (kind, name) in cases {
            let s = with(|s| s.organization_name = name.into());
            let issues = check(&s, kind, Some(&GOOD_LOGO), &[]);
            assert!(
                !found(issues).contains(&("organization.name", code::ORGANIZATION_NAME_INCOMPLETE)),
                "{kind:?} {name}"
            );
        }
    }

    #[test]
    fn a_single_word_name_of_another_kind_of_body_is_reported() {
        let s = with(|s| {
            s.organization_name = "INPS".into();
            s.metadata.scope = Some(Scope::National);
        });
        let issues = check(&s, OrganizationKind::Other, Some(&GOOD_LOGO), &[]);
        assert_eq!(
            found(issues),
            [("organization.name", code::ORGANIZATION_NAME_INCOMPLETE)]
        );
    }

    #[test]
    fn a_logo_that_is_not_png_is_reported() {
        let logo = LogoFacts {
            is_png: false,
            ..GOOD_LOGO
        };
        let issues = check(&valid_service(), OrganizationKind::Comune, Some(&logo), &[]);
        assert_eq!(found(issues), [("organization.logo", code::LOGO_NOT_PNG)]);
    }

    #[test]
    fn a_logo_that_is_not_300_by_300_is_reported_with_its_size() {
        let logo = LogoFacts {
            width: 512,
            height: 300,
            ..GOOD_LOGO
        };
        let issues = check(&valid_service(), OrganizationKind::Comune, Some(&logo), &[]);
        assert!(issues[0].it.contains("512×300"), "{}", issues[0].it);
        assert_eq!(
            found(issues),
            [("organization.logo", code::LOGO_WRONG_SIZE)]
        );
    }

    #[test]
    fn a_logo_on_a_coloured_background_is_reported_and_an_unknown_background_is_not() {
        let logo = LogoFacts {
            has_opaque_non_white_background: Some(true),
            ..GOOD_LOGO
        };
        let issues = check(&valid_service(), OrganizationKind::Comune, Some(&logo), &[]);
        assert_eq!(
            found(issues),
            [("organization.logo", code::LOGO_BACKGROUND)]
        );
        let logo = LogoFacts {
            has_opaque_non_white_background: None,
            ..GOOD_LOGO
        };
        assert_eq!(
            check(&valid_service(), OrganizationKind::Comune, Some(&logo), &[]),
            []
        );
    }

    #[test]
    fn a_name_already_used_by_another_service_of_the_organization_is_reported() {
        let issues = check(
            &valid_service(),
            OrganizationKind::Comune,
            Some(&GOOD_LOGO),
            &["Anagrafe", "  tributi   tari "],
        );
        assert_eq!(found(issues), [("name", code::DUPLICATE_NAME)]);
    }

    #[test]
    fn a_territorial_body_must_choose_a_local_scope() {
        for kind in [
            OrganizationKind::Comune,
            OrganizationKind::Provincia,
            OrganizationKind::CittaMetropolitana,
            OrganizationKind::Regione,
            OrganizationKind::UnioneDiComuni,
        ] {
            let s = with(|s| {
                s.metadata.scope = Some(Scope::National);
                s.organization_name = kind.name_example().0.into();
            });
            let issues = check(&s, kind, Some(&GOOD_LOGO), &[]);
            assert_eq!(
                found(issues),
                [("metadata.scope", code::SCOPE_NOT_LOCAL)],
                "{kind:?}"
            );
        }
        let other = with(|s| {
            s.metadata.scope = Some(Scope::National);
            s.organization_name = "Istituto nazionale della previdenza sociale".into();
        });
        assert_eq!(
            check(&other, OrganizationKind::Other, Some(&GOOD_LOGO), &[]),
            []
        );
    }

    #[test]
    fn every_issue_of_a_card_is_reported_at_once() {
        let s = with(|s| {
            s.name = "SERVIZI SCOLASTICI".into();
            s.organization_name = "Varese".into();
            s.metadata.privacy_url = None;
            s.metadata.web_url = Some("www.comune.varese.it".into());
            s.metadata.scope = Some(Scope::National);
            s.authorized_cidrs.clear();
        });
        let issues = check(&s, OrganizationKind::Comune, None, &["Servizi scolastici"]);
        assert_eq!(
            found(issues),
            [
                ("name", code::ALL_CAPS),
                ("name", code::DUPLICATE_NAME),
                ("organization.name", code::ORGANIZATION_NAME_INCOMPLETE),
                ("organization.logo", code::LOGO_MISSING),
                ("metadata.scope", code::SCOPE_NOT_LOCAL),
                ("metadata.privacy_url", code::MISSING),
                ("metadata.web_url", code::INVALID_URL),
                ("authorized_cidrs", code::MISSING),
            ]
        );
    }

    #[test]
    fn every_message_is_given_in_italian_and_english() {
        let s = with(|s| {
            s.name = String::new();
            s.metadata.email = Some("x".into());
        });
        for issue in check(&s, OrganizationKind::Comune, None, &[]) {
            assert!(!issue.it.is_empty() && !issue.en.is_empty(), "{issue:?}");
            assert_ne!(issue.it, issue.en);
        }
    }

    #[test]
    fn organization_kinds_round_trip_through_their_identifiers() {
        for kind in [
            OrganizationKind::Comune,
            OrganizationKind::Provincia,
            OrganizationKind::CittaMetropolitana,
            OrganizationKind::Regione,
            OrganizationKind::UnioneDiComuni,
            OrganizationKind::Other,
        ] {
            assert_eq!(OrganizationKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(OrganizationKind::parse("Comune"), None);
    }
}
