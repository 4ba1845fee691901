//! The two state machines of a service card, as IO's services CMS runs them: the review
//! lifecycle (`draft → submitted → approved | rejected`, `deleted`) and the publication state
//! (`unpublished ⇄ published`), plus the rule deciding when a submission skips manual review.
//!
//! Pure functions: the caller loads the current state, applies an action and stores the result;
//! an [`IllegalTransition`] is refused with nothing changed (HTTP 409).

use std::fmt;

use crate::model::{LifecycleStatus, PublicationStatus, Scope, Service, ServiceMetadata};
use kernel::values::{Cidr, FiscalCode, OrganizationFiscalCode};

/// An action on the review lifecycle of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleAction {
    /// Change the card; an approved or rejected card goes back to draft.
    Edit,
    /// Ask for review; `auto_publish` asks the caller to publish as soon as it is approved.
    Submit { auto_publish: bool },
    /// The review accepted the card.
    Approve,
    /// The review refused the card, saying why.
    Reject { reason: String },
    /// Remove the service for good.
    Delete,
}

impl LifecycleAction {
    /// The verb naming this action in messages and history entries.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Submit { .. } => "submit",
            Self::Approve => "approve",
            Self::Reject { .. } => "reject",
            Self::Delete => "delete",
        }
    }
}

/// An action on the publication state of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicationAction {
    /// Publish (IO's "release"): the service becomes visible to, and able to reach, every citizen.
    Release,
    /// Withdraw the service from the catalogue.
    Unpublish,
}

impl PublicationAction {
    /// The verb naming this action in messages and history entries.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Release => "publish",
            Self::Unpublish => "unpublish",
        }
    }
}

/// An action refused in the current state; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IllegalTransition {
    /// A lifecycle action refused.
    Lifecycle {
        current: LifecycleStatus,
        action: LifecycleAction,
    },
    /// A publication action refused.
    Publication {
        current: PublicationStatus,
        action: PublicationAction,
        ever_approved: bool,
    },
}

impl IllegalTransition {
    /// The state the service is in, as the API spells it (`rejected`, `published`, …).
    pub fn current_state(&self) -> &'static str {
        match self {
            Self::Lifecycle { current, .. } => current.as_str(),
            Self::Publication { current, .. } => current.as_str(),
        }
    }

    /// The verb of the refused action (`submit`, `publish`, …).
    pub fn action_verb(&self) -> &'static str {
        match self {
            Self::Lifecycle { action, .. } => action.verb(),
            Self::Publication { action, .. } => action.verb(),
        }
    }

    /// Why the action is refused and what to do instead.
    pub fn hint(&self) -> &'static str {
        use LifecycleAction as A;
        use LifecycleStatus as L;
        match self {
            Self::Lifecycle { current, action } => match (current, action) {
                (L::Deleted, _) => "a deleted service accepts no further action",
                (L::Submitted, A::Edit | A::Delete) => {
                    "it is under review and cannot change until it is approved or rejected"
                }
                (L::Submitted, A::Submit { .. }) => "it is already under review",
                (L::Rejected, A::Submit { .. }) => "edit it first",
                (L::Approved, A::Submit { .. }) => {
                    "it is already approved; edit it first to submit changes"
                }
                (_, A::Approve | A::Reject { .. }) => {
                    "only a service in state `submitted` can be reviewed"
                }
                // Every other pair is legal and never becomes an error.
                _ => "this action is not allowed in this state",
            },
            Self::Publication {
                current,
                action,
                ever_approved,
            } => match (current, action) {
                (PublicationStatus::Published, PublicationAction::Release) => {
                    "it is already published"
                }
                (PublicationStatus::Unpublished, PublicationAction::Unpublish) => {
                    "it is not published"
                }
                (PublicationStatus::Unpublished, PublicationAction::Release) if !ever_approved => {
                    "it has never been approved; submit it for review and wait for approval first"
                }
                _ => "this action is not allowed in this state",
            },
        }
    }
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} a service in state `{}`: {}",
            self.action_verb(),
            self.current_state(),
            self.hint()
        )
    }
}

impl std::error::Error for IllegalTransition {}

/// The lifecycle state after `action`, or why `action` is refused in `current`.
///
/// `Submit { auto_publish }` only moves to `submitted`: the caller keeps `auto_publish` and
/// publishes on approval. A `Reject` reason is not checked here (a blank one is a 400, not a 409).
pub fn apply(
    current: LifecycleStatus,
    action: &LifecycleAction,
) -> Result<LifecycleStatus, IllegalTransition> {
    use LifecycleAction as A;
    use LifecycleStatus as L;
    let next = match (current, action) {
        (L::Draft | L::Approved | L::Rejected, A::Edit) => Some(L::Draft),
        (L::Draft, A::Submit { .. }) => Some(L::Submitted),
        (L::Submitted, A::Approve) => Some(L::Approved),
        (L::Submitted, A::Reject { .. }) => Some(L::Rejected),
        (L::Draft | L::Approved | L::Rejected, A::Delete) => Some(L::Deleted),
        _ => None,
    };
    next.ok_or_else(|| IllegalTransition::Lifecycle {
        current,
        action: action.clone(),
    })
}

/// The publication state after `action`, or why `action` is refused in `current`;
/// `ever_approved` says whether the service has been approved at least once.
pub fn apply_publication(
    current: PublicationStatus,
    action: PublicationAction,
    ever_approved: bool,
) -> Result<PublicationStatus, IllegalTransition> {
    match (current, action) {
        (PublicationStatus::Unpublished, PublicationAction::Release) if ever_approved => {
            Ok(PublicationStatus::Published)
        }
        (PublicationStatus::Published, PublicationAction::Unpublish) => {
            Ok(PublicationStatus::Unpublished)
        }
        _ => Err(IllegalTransition::Publication {
            current,
            action,
            ever_approved,
        }),
    }
}

/// The content of a service card, without its identity, states or timestamps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceCard {
    pub name: String,
    pub description: String,
    pub organization_fiscal_code: OrganizationFiscalCode,
    pub organization_name: String,
    pub department_name: Option<String>,
    pub require_secure_channels: bool,
    pub authorized_recipients: Vec<FiscalCode>,
    pub authorized_cidrs: Vec<Cidr>,
    pub max_allowed_payment_amount: u64,
    pub metadata: ServiceMetadata,
}

impl From<&Service> for ServiceCard {
    fn from(service: &Service) -> Self {
        Self {
            name: service.name.clone(),
            description: service.description.clone(),
            organization_fiscal_code: service.organization_fiscal_code.clone(),
            organization_name: service.organization_name.clone(),
            department_name: service.department_name.clone(),
            require_secure_channels: service.require_secure_channels,
            authorized_recipients: service.authorized_recipients.clone(),
            authorized_cidrs: service.authorized_cidrs.clone(),
            max_allowed_payment_amount: service.max_allowed_payment_amount,
            metadata: service.metadata.clone(),
        }
    }
}

/// The fields of a card whose change needs an operator's review once the service is published.
///
/// Built by exhaustive destructuring so that a new card field fails to compile until someone
/// decides whether it is sensitive.
#[derive(PartialEq, Eq)]
struct Sensitive<'a> {
    name: &'a str,
    description: &'a str,
    organization_fiscal_code: &'a OrganizationFiscalCode,
    organization_name: &'a str,
    department_name: Option<&'a str>,
    require_secure_channels: bool,
    authorized_cidrs: CidrSet<'a>,
    max_allowed_payment_amount: u64,
    scope: Option<Scope>,
    topic_id: Option<i64>,
    tos_url: Option<&'a str>,
    privacy_url: Option<&'a str>,
    token_name: Option<&'a str>,
}

/// Authorized CIDRs compared as a set: reordering them is not a change.
struct CidrSet<'a>(&'a [Cidr]);

impl PartialEq for CidrSet<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.iter().all(|c| other.0.contains(c)) && other.0.iter().all(|c| self.0.contains(c))
    }
}

impl Eq for CidrSet<'_> {}

impl ServiceCard {
    fn sensitive(&self) -> Sensitive<'_> {
        let Self {
            name,
            description,
            organization_fiscal_code,
            organization_name,
            department_name,
            require_secure_channels,
            // Recipients only matter before publication: a published service reaches everyone.
            authorized_recipients: _,
            authorized_cidrs,
            max_allowed_payment_amount,
            metadata,
        } = self;
        let ServiceMetadata {
            scope,
            topic_id,
            web_url: _,
            app_ios: _,
            app_android: _,
            tos_url,
            privacy_url,
            address: _,
            phone: _,
            email: _,
            pec: _,
            cta: _,
            token_name,
            support_url: _,
        } = metadata;
        Sensitive {
            name,
            description,
            organization_fiscal_code,
            organization_name,
            department_name: department_name.as_deref(),
            require_secure_channels: *require_secure_channels,
            authorized_cidrs: CidrSet(authorized_cidrs),
            max_allowed_payment_amount: *max_allowed_payment_amount,
            scope: *scope,
            topic_id: *topic_id,
            tos_url: tos_url.as_deref(),
            privacy_url: privacy_url.as_deref(),
            token_name: token_name.as_deref(),
        }
    }
}

/// Whether a submission needs an operator's review: always for a service never published,
/// and for a published one when anything but contacts, app links, `web_url` or `cta` changed.
pub fn needs_manual_review(
    previous_published: Option<&ServiceCard>,
    submitted: &ServiceCard,
) -> bool {
    match previous_published {
        None => true,
        Some(previous) => previous.sensitive() != submitted.sensitive(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use LifecycleStatus::{Approved, Deleted, Draft, Rejected, Submitted};
    use PublicationStatus::{Published, Unpublished};

    const ALL_STATES: [LifecycleStatus; 5] = [Draft, Submitted, Approved, Rejected, Deleted];

    fn all_actions() -> [LifecycleAction; 6] {
        [
            LifecycleAction::Edit,
            LifecycleAction::Submit {
                auto_publish: false,
            },
            LifecycleAction::Submit { auto_publish: true },
            LifecycleAction::Approve,
            LifecycleAction::Reject {
                reason: "manca l'informativa privacy".into(),
            },
            LifecycleAction::Delete,
        ]
    }

    /// The legal lifecycle transitions: (from, verb, to). Every other pair must be refused.
    const LEGAL: [(LifecycleStatus, &str, LifecycleStatus); 9] = [
        (Draft, "edit", Draft),
        (Approved, "edit", Draft),
        (Rejected, "edit", Draft),
        (Draft, "submit", Submitted),
        (Submitted, "approve", Approved),
        (Submitted, "reject", Rejected),
        (Draft, "delete", Deleted),
        (Approved, "delete", Deleted),
        (Rejected, "delete", Deleted),
    ];

    fn expected(from: LifecycleStatus, action: &LifecycleAction) -> Option<LifecycleStatus> {
        LEGAL
            .iter()
            .find(|(f, verb, _)| *f == from && *verb == action.verb())
            .map(|(_, _, to)| *to)
    }

    #[test]
    fn every_lifecycle_state_and_action_pair_follows_the_cms_table() {
        let mut legal = 0;
        for from in ALL_STATES {
            for action in all_actions() {
                let got = apply(from, &action);
                match expected(from, &action) {
                    Some(to) => {
                        legal += 1;
                        assert_eq!(got, Ok(to), "{from:?} --{action:?}-->");
                    }
                    None => assert_eq!(
                        got,
                        Err(IllegalTransition::Lifecycle {
                            current: from,
                            action: action.clone()
                        }),
                        "{from:?} --{action:?}--> must be refused"
                    ),
                }
            }
        }
        // 9 distinct legal pairs, submit counted twice for its two auto_publish values.
        assert_eq!(legal, 10);
    }

    #[test]
    fn a_rejected_service_must_be_edited_before_it_is_submitted_again() {
        let err = apply(
            Rejected,
            &LifecycleAction::Submit {
                auto_publish: false,
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot submit a service in state `rejected`: edit it first"
        );
        let draft = apply(Rejected, &LifecycleAction::Edit).unwrap();
        assert_eq!(
            apply(draft, &LifecycleAction::Submit { auto_publish: true }),
            Ok(Submitted)
        );
    }

    #[test]
    fn a_submitted_service_can_be_neither_edited_nor_deleted() {
        for action in [LifecycleAction::Edit, LifecycleAction::Delete] {
            let err = apply(Submitted, &action).unwrap_err();
            assert_eq!(err.current_state(), "submitted");
            assert_eq!(
                err.to_string(),
                format!(
                    "cannot {} a service in state `submitted`: it is under review and cannot \
                     change until it is approved or rejected",
                    action.verb()
                )
            );
        }
    }

    #[test]
    fn a_deleted_service_accepts_nothing() {
        for action in all_actions() {
            let err = apply(Deleted, &action).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "cannot {} a service in state `deleted`: a deleted service accepts no further action",
                    action.verb()
                )
            );
        }
    }

    #[test]
    fn only_a_submitted_service_can_be_approved_or_rejected() {
        let err = apply(Draft, &LifecycleAction::Approve).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot approve a service in state `draft`: only a service in state `submitted` can be reviewed"
        );
        let err = apply(Approved, &LifecycleAction::Reject { reason: "x".into() }).unwrap_err();
        assert_eq!(err.action_verb(), "reject");
        assert_eq!(err.current_state(), "approved");
    }

    #[test]
    fn submitting_twice_or_an_approved_card_is_refused_with_a_reason() {
        let submit = LifecycleAction::Submit {
            auto_publish: false,
        };
        assert_eq!(
            apply(Submitted, &submit).unwrap_err().to_string(),
            "cannot submit a service in state `submitted`: it is already under review"
        );
        assert_eq!(
            apply(Approved, &submit).unwrap_err().to_string(),
            "cannot submit a service in state `approved`: it is already approved; edit it first to submit changes"
        );
    }

    #[test]
    fn every_publication_state_action_and_approval_follows_the_cms_table() {
        use PublicationAction::{Release, Unpublish};
        let table = [
            (Unpublished, Release, true, Some(Published)),
            (Unpublished, Release, false, None),
            (Unpublished, Unpublish, true, None),
            (Unpublished, Unpublish, false, None),
            (Published, Release, true, None),
            (Published, Release, false, None),
            (Published, Unpublish, true, Some(Unpublished)),
            (Published, Unpublish, false, Some(Unpublished)),
        ];
        for (from, action, ever_approved, to) in table {
            let got = apply_publication(from, action, ever_approved);
            match to {
                Some(to) => assert_eq!(got, Ok(to), "{from:?} --{action:?}-->"),
                None => assert_eq!(
                    got,
                    Err(IllegalTransition::Publication {
                        current: from,
                        action,
                        ever_approved
                    }),
                    "{from:?} --{action:?}--> (ever approved: {ever_approved}) must be refused"
                ),
            }
        }
    }

    #[test]
    fn publication_refusals_say_why() {
        use PublicationAction::{Release, Unpublish};
        let message = |from, action, ever_approved| {
            apply_publication(from, action, ever_approved)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            message(Unpublished, Release, false),
            "cannot publish a service in state `unpublished`: it has never been approved; \
             submit it for review and wait for approval first"
        );
        assert_eq!(
            message(Published, Release, true),
            "cannot publish a service in state `published`: it is already published"
        );
        assert_eq!(
            message(Unpublished, Unpublish, true),
            "cannot unpublish a service in state `unpublished`: it is not published"
        );
    }

    fn card() -> ServiceCard {
        ServiceCard {
            name: "Tributi".into(),
            description: "Avvisi di pagamento dei tributi comunali.".into(),
            organization_fiscal_code: OrganizationFiscalCode::parse("00441340122").unwrap(),
            organization_name: "Comune di Varese".into(),
            department_name: Some("Ufficio tributi".into()),
            require_secure_channels: false,
            authorized_recipients: vec![FiscalCode::parse("RSSMRA85T10A562S").unwrap()],
            authorized_cidrs: vec![
                Cidr::parse("10.0.0.0/8").unwrap(),
                Cidr::parse("192.168.1.0/24").unwrap(),
            ],
            max_allowed_payment_amount: 100_000,
            metadata: ServiceMetadata {
                scope: Some(Scope::Local),
                topic_id: Some(11),
                privacy_url: Some("https://www.comune.varese.it/privacy".into()),
                email: Some("tributi@comune.varese.it".into()),
                ..ServiceMetadata::default()
            },
        }
    }

    #[test]
    fn a_service_never_published_always_needs_manual_review() {
        assert!(needs_manual_review(None, &card()));
    }

    #[test]
    fn resubmitting_a_published_service_unchanged_is_approved_automatically() {
        assert!(!needs_manual_review(Some(&card()), &card()));
    }

    #[test]
    fn changing_only_contacts_links_and_cta_of_a_published_service_is_approved_automatically() {
        let edits: [fn(&mut ServiceCard); 11] = [
            |c| c.metadata.phone = Some("+39 0332 255111".into()),
            |c| c.metadata.email = Some("info@comune.varese.it".into()),
            |c| c.metadata.pec = Some("protocollo@pec.comune.varese.it".into()),
            |c| c.metadata.support_url = Some("https://www.comune.varese.it/aiuto".into()),
            |c| c.metadata.address = Some("Via Sacco 5, Varese".into()),
            |c| c.metadata.app_ios = Some("https://apps.apple.com/app/id1".into()),
            |c| c.metadata.app_android = Some("https://play.google.com/store/apps".into()),
            |c| c.metadata.web_url = Some("https://www.comune.varese.it/tributi".into()),
            |c| c.metadata.cta = Some("---\nit:\n  cta_1:\n    text: Paga\n---".into()),
            |c| c.authorized_recipients.clear(),
            |c| c.authorized_cidrs.reverse(),
        ];
        for (i, edit) in edits.into_iter().enumerate() {
            let mut submitted = card();
            edit(&mut submitted);
            assert!(
                !needs_manual_review(Some(&card()), &submitted),
                "edit #{i} should be approved automatically"
            );
        }
    }

    #[test]
    fn changing_a_sensitive_field_of_a_published_service_needs_manual_review() {
        let edits: [fn(&mut ServiceCard); 13] = [
            |c| c.name = "Tributi comunali".into(),
            |c| c.description.push_str(" E molto altro."),
            |c| c.organization_name = "Comune di Como".into(),
            |c| c.organization_fiscal_code = OrganizationFiscalCode::parse("00000000000").unwrap(),
            |c| c.department_name = None,
            |c| c.metadata.scope = Some(Scope::National),
            |c| c.metadata.privacy_url = Some("https://example.it/privacy".into()),
            |c| c.metadata.tos_url = Some("https://example.it/tos".into()),
            |c| c.authorized_cidrs.push(Cidr::parse("0.0.0.0/0").unwrap()),
            |c| c.max_allowed_payment_amount = 9_999_999_999,
            |c| c.metadata.topic_id = Some(1),
            |c| c.metadata.token_name = Some("token".into()),
            |c| c.require_secure_channels = true,
        ];
        for (i, edit) in edits.into_iter().enumerate() {
            let mut submitted = card();
            edit(&mut submitted);
            assert!(
                needs_manual_review(Some(&card()), &submitted),
                "edit #{i} should need manual review"
            );
        }
    }
}
