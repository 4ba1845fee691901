//! Per-service limits: a sustained request rate with a burst, and daily and monthly message
//! quotas counted in UTC calendar periods.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A service's own overrides; `None` takes the platform default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitOverrides {
    pub rate_per_second: Option<u32>,
    pub burst: Option<u32>,
    pub daily_quota: Option<u64>,
    pub monthly_quota: Option<u64>,
}

/// The limits in force for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Requests per second sustained (0: unlimited).
    pub rate_per_second: u32,
    /// Requests that may arrive at once above the sustained rate.
    pub burst: u32,
    /// Messages accepted per UTC day (`None`: unlimited).
    pub daily_quota: Option<u64>,
    /// Messages accepted per UTC month (`None`: unlimited).
    pub monthly_quota: Option<u64>,
}

impl Limits {
    /// These defaults with a service's overrides applied.
    pub fn with(self, o: &LimitOverrides) -> Self {
        Self {
            rate_per_second: o.rate_per_second.unwrap_or(self.rate_per_second),
            burst: o.burst.unwrap_or(self.burst),
            daily_quota: o.daily_quota.or(self.daily_quota),
            monthly_quota: o.monthly_quota.or(self.monthly_quota),
        }
    }
}

/// Which quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    Daily,
    Monthly,
}

impl QuotaPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        }
    }

    /// The storage key of the period containing `at` (`d2026-11-25`, `m2026-11`).
    pub fn key(self, at: DateTime<Utc>) -> String {
        match self {
            Self::Daily => format!("d{}", at.format("%Y-%m-%d")),
            Self::Monthly => format!("m{}", at.format("%Y-%m")),
        }
    }

    /// When the period containing `at` ends.
    pub fn resets_at(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let date = at.date_naive();
        let next = match self {
            Self::Daily => date.succ_opt(),
            Self::Monthly => {
                let (y, m) = if date.month() == 12 {
                    (date.year() + 1, 1)
                } else {
                    (date.year(), date.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1)
            }
        };
        next.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(at, |d| Utc.from_utc_datetime(&d))
    }
}

/// The quotas a message must fit in when it is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    pub daily: Option<u64>,
    pub monthly: Option<u64>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn periods_have_calendar_keys_and_reset_at_the_next_utc_boundary() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        assert_eq!(QuotaPeriod::Daily.key(at), "d2026-12-31");
        assert_eq!(QuotaPeriod::Monthly.key(at), "m2026-12");
        assert_eq!(
            QuotaPeriod::Daily.resets_at(at),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            QuotaPeriod::Monthly.resets_at(at),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        let feb = Utc.with_ymd_and_hms(2028, 2, 10, 8, 0, 0).unwrap();
        assert_eq!(
            QuotaPeriod::Monthly.resets_at(feb),
            Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn overrides_replace_only_what_they_set() {
        let d = Limits {
            rate_per_second: 100,
            burst: 200,
            daily_quota: None,
            monthly_quota: Some(1_000_000),
        };
        let o = LimitOverrides {
            rate_per_second: Some(5),
            daily_quota: Some(10),
            ..Default::default()
        };
        assert_eq!(
            d.with(&o),
            Limits {
                rate_per_second: 5,
                burst: 200,
                daily_quota: Some(10),
                monthly_quota: Some(1_000_000)
            }
        );
    }
}
