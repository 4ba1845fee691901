//! Per-service request rate limiting: a token bucket per service, refilled at the sustained
//! rate up to the burst. Kept in memory on each node (with N nodes a service may reach N times
//! its rate; quotas, which are counted in the database, are exact).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use kernel::values::ServiceId;
use messaging::quota::Limits;

struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

/// The buckets of every service seen by this node.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<ServiceId, Bucket>>,
}

/// A refused request: how long until one more is allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttled {
    pub retry_after_secs: u64,
    pub limit: u32,
}

impl RateLimiter {
    /// Takes one token for `service` at `now` (the clock's time); `Ok(remaining)` or `Err`
    /// when the bucket is empty.
    pub fn take(
        &self,
        service: ServiceId,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<u32, Throttled> {
        if limits.rate_per_second == 0 {
            return Ok(u32::MAX);
        }
        let rate = f64::from(limits.rate_per_second);
        let capacity = f64::from(limits.burst.max(1));
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(0);
        };
        let bucket = buckets.entry(service).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        // A clock set back refills nothing.
        let elapsed = (now - bucket.at).to_std().map_or(0.0, |d| d.as_secs_f64());
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(bucket.tokens as u32)
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            Err(Throttled {
                retry_after_secs: wait.ceil().max(1.0) as u64,
                limit: limits.rate_per_second,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32) -> Limits {
        Limits {
            rate_per_second: rate,
            burst,
            daily_quota: None,
            monthly_quota: None,
        }
    }

    #[test]
    fn a_burst_passes_then_requests_are_refused_until_tokens_refill() {
        let rl = RateLimiter::default();
        let s = ServiceId::new();
        let l = limits(20, 3);
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(rl.take(s, &l, t0), Ok(2));
        assert_eq!(rl.take(s, &l, t0), Ok(1));
        assert_eq!(rl.take(s, &l, t0), Ok(0));
        let refused = rl.take(s, &l, t0).unwrap_err();
        assert_eq!(refused.limit, 20);
        assert_eq!(refused.retry_after_secs, 1);
        // Another service has its own bucket.
        assert!(rl.take(ServiceId::new(), &l, t0).is_ok());
        // 40 ms later: not yet one token (20/s is one per 50 ms).
        let t1 = t0 + chrono::Duration::milliseconds(40);
        assert!(rl.take(s, &l, t1).is_err(), "not refilled after 40 ms");
        let t2 = t0 + chrono::Duration::milliseconds(60);
        assert!(rl.take(s, &l, t2).is_ok(), "refilled at 20/s");
        // A clock set back refills nothing.
        assert!(rl.take(s, &l, t0).is_err());
    }

    #[test]
    fn a_zero_rate_means_unlimited() {
        let rl = RateLimiter::default();
        let s = ServiceId::new();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for _ in 0..1000 {
            assert!(rl.take(s, &limits(0, 0), now).is_ok());
        }
    }
}
