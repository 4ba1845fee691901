//! Who is calling: the client address (socket, or `X-Forwarded-For` from a trusted proxy), the
//! service behind an `Ocp-Apim-Subscription-Key`, the delegate behind a manage key, and the
//! admin bearer token.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use kernel::organization::Delegate;
use kernel::values::Cidr;
use messaging::model::Service;
use messaging::ports::ServiceAuth;

use crate::problem::ApiError;
use crate::state::AppState;

pub const KEY_HEADER: &str = "ocp-apim-subscription-key";

/// The address of the client as far as it can be trusted.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The client address given the socket peer, the trusted proxies and `X-Forwarded-For`:
/// walking the header from the right, the first address that is not a trusted proxy.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Every `X-Forwarded-For` line joined into one list, in order: a proxy may append its own
/// line after the client's (HAProxy `option forwardfor`), so reading only the first line would
/// let the client choose its address. A line that is not text stands for an unreadable hop.
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<String> {
    let lines: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("unreadable"))
        .collect();
    (!lines.is_empty()).then(|| lines.join(","))
}

impl<S> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| ApiError::internal("client address not available"))?;
        Ok(Self(client_ip(
            peer,
            forwarded_for(&parts.headers).as_deref(),
            &state.settings.trusted_proxies,
        )))
    }
}

pub(crate) fn subscription_key(parts: &Parts) -> Result<String, ApiError> {
    let key = parts
        .headers
        .get(KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(ApiError::Unauthorized(
            "Access denied due to missing subscription key. Make sure to include the \
             Ocp-Apim-Subscription-Key header.",
        ))?;
    Ok(key.to_owned())
}

fn check_cidrs(cidrs: &[Cidr], ip: IpAddr) -> Result<(), ApiError> {
    if cidrs.is_empty() || cidrs.iter().any(|c| c.contains(ip)) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "You are not allowed here",
            "You do not have enough permission to complete the operation you requested: \
             the client address is not in the service's authorized CIDRs.",
        ))
    }
}

/// The service whose key authenticated the request (its CIDRs already checked).
#[derive(Debug, Clone)]
pub struct ServiceCaller {
    pub service: Service,
    pub ip: IpAddr,
    /// The limits in force for this service (defaults with its overrides).
    pub limits: messaging::quota::Limits,
    /// The look-up hash of the key used (a batch stops when its key is revoked).
    pub key_hash: String,
}

impl<S> FromRequestParts<S> for ServiceCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let key = subscription_key(parts)?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let state = AppState::from_ref(state);
        let hash = seal::key_hash(&key);
        let found = match state.service_keys.get(&hash) {
            Some(found) => Some(found),
            None => {
                let found = state.store.service_by_key_hash(&hash).await?;
                if let Some(f) = &found {
                    state.service_keys.put(hash.clone(), f.clone());
                }
                found
            }
        };
        let found = found.ok_or(ApiError::Unauthorized(
            "Access denied due to invalid subscription key. Make sure to provide a valid \
                 key for an active subscription.",
        ))?;
        if found.organization_disabled || !found.service.is_active() {
            return Err(ApiError::forbidden(
                "Forbidden",
                "The service (or its organization) behind this key is disabled or deleted.",
            ));
        }
        check_cidrs(&found.service.authorized_cidrs, ip)?;
        let limits = state.settings.default_limits.with(&found.limits);
        if let Err(t) = state
            .rate_limiter
            .take(found.service.id, &limits, state.clock.now())
        {
            state.metrics.rate_limited();
            return Err(ApiError::TooManyRequests {
                detail: format!(
                    "The service may make {} requests per second (burst {}); retry in {} s.",
                    limits.rate_per_second, limits.burst, t.retry_after_secs
                ),
                retry_after_secs: t.retry_after_secs,
                limit: Some(u64::from(t.limit)),
            });
        }
        Ok(Self {
            service: found.service,
            ip,
            limits,
            key_hash: hash,
        })
    }
}

/// Recent service-key look-ups (hash → service), reused for a short time so that a busy
/// service does not cost a database read per request. Misses are not cached.
pub struct TtlCache<V> {
    ttl: std::time::Duration,
    entries: std::sync::RwLock<std::collections::HashMap<String, (std::time::Instant, V)>>,
}

/// Recent service-key look-ups.
pub type KeyCache = TtlCache<ServiceAuth>;

/// Entries kept at most; the cache is emptied when it is full.
const KEY_CACHE_MAX: usize = 10_000;

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: Default::default(),
        }
    }

    pub fn get(&self, hash: &str) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let (at, found) = entries.get(hash)?;
        (at.elapsed() < self.ttl).then(|| found.clone())
    }

    pub fn put(&self, hash: String, found: V) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= KEY_CACHE_MAX {
                entries.clear();
            }
            entries.insert(hash, (std::time::Instant::now(), found));
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// Forgets the entries `stale` picks: called (through `ops::AuthCache`) by the use cases
    /// that change a service, its keys, its organization or a citizen's sessions.
    pub fn forget_where(&self, stale: impl Fn(&V) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, (_, found)| !stale(found));
        }
    }
}

/// The delegate whose manage key authenticated the request.
#[derive(Debug, Clone)]
pub struct ManageCaller {
    pub delegate: Delegate,
    pub ip: IpAddr,
}

impl<S> FromRequestParts<S> for ManageCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let key = subscription_key(parts)?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let state = AppState::from_ref(state);
        let found = state
            .store
            .delegate_by_key_hash(&seal::key_hash(&key))
            .await?
            .ok_or(ApiError::Unauthorized(
                "Access denied due to invalid subscription key. Make sure to provide a valid \
                 manage key.",
            ))?;
        if found.delegate.disabled || found.organization_disabled {
            return Err(ApiError::forbidden(
                "Forbidden",
                "The delegate (or the organization) behind this manage key is disabled.",
            ));
        }
        Ok(Self {
            delegate: found.delegate,
            ip,
        })
    }
}

/// The platform operator, authenticated by the configured admin bearer token.
#[derive(Debug, Clone, Copy)]
pub struct AdminCaller;

impl<S> FromRequestParts<S> for AdminCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Some(expected) = state.settings.admin_token.as_deref() else {
            return Err(ApiError::forbidden(
                "Forbidden",
                "The admin API is disabled: no admin token is configured (SPORTELLO_ADMIN_TOKEN).",
            ));
        };
        let given = bearer_token(&parts.headers).ok_or(ApiError::Unauthorized(
            "The admin API needs `Authorization: Bearer <admin token>`.",
        ))?;
        if constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized("The admin token is not valid."))
        }
    }
}

/// The token of `Authorization: Bearer <token>`, trimmed. The scheme is matched without
/// regard to case (RFC 9110 §11.1), so `bearer` and `BEARER` work as `Bearer` does.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn service_auth() -> ServiceAuth {
        let now = chrono::Utc::now();
        ServiceAuth {
            service: Service {
                id: kernel::values::ServiceId::new(),
                organization_fiscal_code: kernel::values::OrganizationFiscalCode::parse(
                    "00441340122",
                )
                .unwrap(),
                organization_name: "Comune di Varese".into(),
                department_name: None,
                name: "Tributi".into(),
                description: "Tributi".into(),
                require_secure_channels: false,
                authorized_recipients: vec![],
                authorized_cidrs: vec![],
                max_allowed_payment_amount: 0,
                metadata: Default::default(),
                lifecycle: messaging::model::LifecycleStatus::Draft,
                lifecycle_reason: None,
                publication: messaging::model::PublicationStatus::Unpublished,
                ever_approved: false,
                auto_publish: false,
                version: 0,
                created_at: now,
                updated_at: now,
            },
            organization_disabled: false,
            limits: Default::default(),
        }
    }

    #[test]
    fn the_key_cache_forgets_entries_after_its_ttl_and_on_clear() {
        let cache = KeyCache::new(std::time::Duration::from_millis(40));
        cache.put("h".into(), service_auth());
        assert!(cache.get("h").is_some());
        assert!(cache.get("other").is_none());
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(cache.get("h").is_none(), "expired");
        cache.put("h".into(), service_auth());
        cache.clear();
        assert!(cache.get("h").is_none(), "cleared");
        let off = KeyCache::new(std::time::Duration::ZERO);
        off.put("h".into(), service_auth());
        assert!(off.get("h").is_none(), "a zero TTL disables the cache");
    }

    #[test]
    fn every_forwarded_for_line_is_read_in_order_as_one_list() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(forwarded_for(&headers), None);
        headers.append("x-forwarded-for", "10.1.2.3".parse().unwrap());
        headers.append("x-forwarded-for", "192.168.1.1, 127.0.0.1".parse().unwrap());
        let joined = forwarded_for(&headers).unwrap();
        let trusted = vec![Cidr::parse("127.0.0.1/32").unwrap()];
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some(&joined), &trusted),
            ip("192.168.1.1")
        );
        // A line that is not text is a hop that cannot be read: nothing left of it counts.
        headers.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        let joined = forwarded_for(&headers).unwrap();
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some(&joined), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        let with = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert("authorization", v.parse().unwrap());
            bearer_token(&h).map(str::to_owned)
        };
        for v in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert_eq!(with(v).as_deref(), Some("abc"), "{v}");
        }
        for v in ["Basic abc", "Bearerabc", "Bearer ", "abc"] {
            assert_eq!(with(v), None, "{v}");
        }
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let trusted = vec![Cidr::parse("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(ip("192.0.2.9"), Some("203.0.113.5"), &trusted),
            ip("192.0.2.9")
        );
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_gives_the_first_untrusted_hop_from_the_right() {
        let trusted = vec![Cidr::parse("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                Some("198.51.100.7, 203.0.113.5, 10.0.0.2"),
                &trusted
            ),
            ip("203.0.113.5")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some("2001:db8::5"), &trusted),
            ip("2001:db8::5")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), None, &trusted), ip("10.0.0.1"));
    }
}
