//! Per-service request rate limiting: a token bucket per service, refilled at the sustained
//! rate up to the burst. Kept in memory on each node (with N nodes a service may reach N times
//! its rate; quotas, which are counted in the database, are exact).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use kernel::values::ServiceId;
use messaging::quota::Limits;

struct Bucket {
    tokens: f64,
    at: Instant,
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
    /// Takes one token for `service`; `Ok(remaining)` or `Err` when the bucket is empty.
    pub fn take(&self, service: ServiceId, limits: &Limits) -> Result<u32, Throttled> {
        if limits.rate_per_second == 0 {
            return Ok(u32::MAX);
        }
        let rate = f64::from(limits.rate_per_second);
        let capacity = f64::from(limits.burst.max(1));
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(0);
        };
        let bucket = buckets.entry(service).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
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
        assert_eq!(rl.take(s, &l), Ok(2));
        assert_eq!(rl.take(s, &l), Ok(1));
        assert_eq!(rl.take(s, &l), Ok(0));
        let refused = rl.take(s, &l).unwrap_err();
        assert_eq!(refused.limit, 20);
        assert_eq!(refused.retry_after_secs, 1);
        // Another service has its own bucket.
        assert!(rl.take(ServiceId::new(), &l).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(120));
        assert!(rl.take(s, &l).is_ok(), "refilled at 20/s");
    }

    #[test]
    fn a_zero_rate_means_unlimited() {
        let rl = RateLimiter::default();
        let s = ServiceId::new();
        for _ in 0..1000 {
            assert!(rl.take(s, &limits(0, 0)).is_ok());
        }
    }
}
