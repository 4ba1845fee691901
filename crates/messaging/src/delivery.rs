//! Who may send to whom: IO's sender-allowed algorithm (`reference/io.md` §3.4) and the
//! decision taken when a message is processed.

use crate::model::{
    BlockedChannel, CitizenProfile, PreferenceMode, ProcessingOutcome, RejectionReason,
    ServicePreference,
};
use kernel::values::ServiceId;

/// Whether the citizen accepts messages from `service` in their inbox.
///
/// `preference` must be the citizen's preference for this service at the profile's current
/// settings version, if any.
pub fn sender_allowed(
    profile: &CitizenProfile,
    service: &ServiceId,
    preference: Option<&ServicePreference>,
) -> bool {
    if !profile.is_inbox_enabled {
        return false;
    }
    let preference = preference
        .filter(|p| p.service_id == *service && p.settings_version == profile.settings_version);
    match profile.preference_mode {
        PreferenceMode::Legacy => !profile
            .blocked_channels
            .get(&service.to_string())
            .is_some_and(|channels| channels.contains(&BlockedChannel::Inbox)),
        PreferenceMode::Auto => preference.is_none_or(|p| p.is_inbox_enabled),
        PreferenceMode::Manual => preference.is_some_and(|p| p.is_inbox_enabled),
    }
}

/// The processing decision for a message to a (possibly absent) profile.
pub fn decide(
    profile: Option<&CitizenProfile>,
    service: &ServiceId,
    preference: Option<&ServicePreference>,
) -> Decision {
    match profile {
        None => Decision::Reject(RejectionReason::UserNotFound),
        Some(p) if !sender_allowed(p, service, preference) => {
            Decision::Reject(RejectionReason::ServiceNotAllowed)
        }
        Some(_) => Decision::Deliver,
    }
}

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Deliver,
    Reject(RejectionReason),
}

impl Decision {
    pub fn rejected(self) -> Option<ProcessingOutcome> {
        match self {
            Self::Reject(r) => Some(ProcessingOutcome::Rejected(r)),
            Self::Deliver => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Utc;
    use kernel::values::FiscalCode;

    fn profile(mode: PreferenceMode) -> CitizenProfile {
        CitizenProfile {
            fiscal_code: FiscalCode::parse("AAAAAA00A00A000A").unwrap(),
            email: None,
            is_email_validated: false,
            is_inbox_enabled: true,
            is_email_enabled: true,
            is_webhook_enabled: false,
            preferred_languages: vec![],
            preference_mode: mode,
            settings_version: 0,
            blocked_channels: Default::default(),
            accepted_tos_version: None,
            reminders_enabled: true,
            push_anonymous: false,
            version: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn pref(service: ServiceId, inbox: bool, version: i64) -> ServicePreference {
        ServicePreference {
            service_id: service,
            settings_version: version,
            is_inbox_enabled: inbox,
            is_email_enabled: true,
            is_webhook_enabled: true,
            can_access_message_read_status: true,
        }
    }

    #[test]
    fn a_missing_profile_means_user_not_found() {
        let s = ServiceId::new();
        assert_eq!(
            decide(None, &s, None),
            Decision::Reject(RejectionReason::UserNotFound)
        );
    }

    #[test]
    fn a_disabled_inbox_rejects_every_service() {
        let s = ServiceId::new();
        let mut p = profile(PreferenceMode::Auto);
        p.is_inbox_enabled = false;
        assert_eq!(
            decide(Some(&p), &s, None),
            Decision::Reject(RejectionReason::ServiceNotAllowed)
        );
    }

    #[test]
    fn legacy_mode_allows_unless_the_inbox_is_blocked_for_the_service() {
        let s = ServiceId::new();
        let mut p = profile(PreferenceMode::Legacy);
        assert!(sender_allowed(&p, &s, None));
        p.blocked_channels
            .insert(s.to_string(), vec![BlockedChannel::Email]);
        assert!(sender_allowed(&p, &s, None));
        p.blocked_channels
            .insert(s.to_string(), vec![BlockedChannel::Inbox]);
        assert!(!sender_allowed(&p, &s, None));
        assert!(sender_allowed(&p, &ServiceId::new(), None));
    }

    #[test]
    fn auto_mode_allows_unless_a_current_preference_disables_the_inbox() {
        let s = ServiceId::new();
        let p = profile(PreferenceMode::Auto);
        assert!(sender_allowed(&p, &s, None));
        assert!(!sender_allowed(&p, &s, Some(&pref(s, false, 0))));
        // A preference of an older settings version no longer counts.
        assert!(sender_allowed(&p, &s, Some(&pref(s, false, 7))));
    }

    #[test]
    fn manual_mode_blocks_unless_a_preference_enables_the_inbox() {
        let s = ServiceId::new();
        let p = profile(PreferenceMode::Manual);
        assert!(!sender_allowed(&p, &s, None));
        assert!(sender_allowed(&p, &s, Some(&pref(s, true, 0))));
        assert!(!sender_allowed(&p, &s, Some(&pref(s, false, 0))));
    }
}
