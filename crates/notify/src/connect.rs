//! The TCP connector of [`crate::HttpClient`], with its [`OutboundPolicy`] applied before any
//! connection is opened: names are resolved by [`PolicyResolver`], which keeps only allowed
//! addresses, and IP-literal hosts (which hyper connects to without resolving) are checked by
//! [`Guarded`]. Checking at every connection, not only when a URL is configured, is what
//! defeats a name that resolves to an internal address, or is re-pointed there later (DNS
//! rebinding).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::policy::{OutboundPolicy, Refused};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Why a name gave no address to connect to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    #[error("cannot resolve the host: {0}")]
    Lookup(#[source] std::io::Error),
    #[error("{0}")]
    Refused(Refused),
}

/// The system resolver (`getaddrinfo`, as hyper's default), keeping only the addresses the
/// policy allows; a name with none left is refused.
#[derive(Clone, Debug)]
pub(crate) struct PolicyResolver {
    policy: Arc<OutboundPolicy>,
}

impl Service<Name> for PolicyResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = BoxFuture<Result<Self::Response, ResolveError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ResolveError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await
                .map_err(ResolveError::Lookup)?
                .collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(r) => {
                        refused.get_or_insert(r);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(r)) => Err(ResolveError::Refused(r)),
                _ => Ok(allowed.into_iter()),
            }
        })
    }
}

/// hyper's TCP connector behind the policy: IP-literal hosts are checked here, names by the
/// resolver.
#[derive(Clone, Debug)]
pub(crate) struct Guarded {
    inner: HttpConnector<PolicyResolver>,
    policy: Arc<OutboundPolicy>,
}

impl Guarded {
    /// A connector with `connect_timeout` that also takes https URIs (TLS is layered on top).
    pub(crate) fn new(policy: Arc<OutboundPolicy>, connect_timeout: std::time::Duration) -> Self {
        let mut inner = HttpConnector::new_with_resolver(PolicyResolver {
            policy: policy.clone(),
        });
        inner.set_connect_timeout(Some(connect_timeout));
        inner.enforce_http(false);
        Self { inner, policy }
    }
}

/// The host of `uri` when it is an IP address, read as hyper reads it (brackets stripped,
/// strict parsing): exactly the hosts hyper connects to without resolving.
fn literal_ip(uri: &Uri) -> Option<IpAddr> {
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

impl Service<Uri> for Guarded {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        if let Some(Err(refused)) = literal_ip(&dst).map(|ip| self.policy.check(ip)) {
            return Box::pin(async move { Err(refused.into()) });
        }
        let connecting = self.inner.call(dst);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

/// The policy refusal somewhere in `error`'s chain, if that is why the connection failed.
pub(crate) fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(*r);
        }
        if let Some(ResolveError::Refused(r)) = e.downcast_ref::<ResolveError>() {
            return Some(*r);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn literal_hosts_are_read_as_hyper_reads_them() {
        let host = |u: &str| literal_ip(&u.parse::<Uri>().unwrap());
        assert_eq!(
            host("http://127.0.0.1:80/"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(host("http://[::1]:6379/"), Some("::1".parse().unwrap()));
        assert_eq!(
            host("http://[::ffff:127.0.0.1]/"),
            Some("::ffff:127.0.0.1".parse().unwrap())
        );
        // Not literals for hyper: these go through the resolver, which checks what they
        // resolve to.
        assert_eq!(host("http://localhost/"), None);
        assert_eq!(host("http://2130706433/"), None);
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_allowed_addresses() {
        let mut open = PolicyResolver {
            policy: Arc::new(OutboundPolicy::unrestricted()),
        };
        let name: Name = "localhost".parse().unwrap();
        let all: Vec<SocketAddr> = open.call(name.clone()).await.unwrap().collect();
        assert!(!all.is_empty());
        let mut closed = PolicyResolver {
            policy: Arc::new(OutboundPolicy::restricted(Vec::new())),
        };
        let error = closed.call(name.clone()).await.unwrap_err();
        assert!(matches!(error, ResolveError::Refused(_)), "{error}");
        let mut v4_only = PolicyResolver {
            policy: Arc::new(OutboundPolicy::restricted(vec![
                kernel::values::Cidr::parse("127.0.0.0/8").unwrap(),
            ])),
        };
        let kept: Vec<SocketAddr> = v4_only.call(name).await.unwrap().collect();
        assert!(!kept.is_empty());
        assert!(kept.iter().all(|a| a.ip().is_ipv4()), "{kept:?}");
    }
}
