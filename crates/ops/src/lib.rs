//! Sportello's use cases, outside any transport: what the admin and manage HTTP APIs, the
//! citizen API and the `sportello admin …`/`batch send` commands do, written once so that they
//! all enforce the same rules (and a SOAP adapter or a portal can reuse them without axum).
//! Each use case takes a [`Context`] (store, clock, job wake-ups, authentication cache), reads
//! the time only from its clock, clears the caches its change makes stale itself, and fails
//! with an [`Error`] that each adapter maps to its own answer.

pub mod batches;
pub mod citizens;
mod error;
pub mod imports;
pub mod jobs;
pub mod lifecycle;
pub mod node;
pub mod notice_archives;
pub mod opendata;
pub mod opendata_pull;
pub mod opendata_stats;
pub mod organizations;
pub mod payments;
pub mod recon;
pub mod services;

use kernel::Clock;
use kernel::jobs::{JobKind, JobsReady};
use kernel::values::{FiscalCode, OrganizationFiscalCode, ServiceId};
use messaging::ports::Store;

pub use error::{Error, Result};

/// What every use case works with. Cheap to copy: it only borrows.
///
/// The keyring is not in it: the use cases that seal or open something (creating a service,
/// its keys, a batch upload) take it as an argument, so that the CLI's other commands need no
/// content keys (on PostgreSQL they must be configured; on SQLite reading them creates the key
/// file).
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub store: &'a dyn Store,
    /// The time, for everything a use case decides or records.
    pub clock: &'a dyn Clock,
    /// Told when a use case queued jobs, so that the workers claim them now.
    pub jobs_ready: &'a dyn JobsReady,
    /// The adapter's cache of recent authentications, told what a change made stale.
    pub auth_cache: &'a dyn AuthCache,
}

impl<'a> Context<'a> {
    /// The context of a process that answers no requests and runs no workers, such as the
    /// CLI: no authentication cache to clear ([`NoAuthCache`]), no workers to wake
    /// ([`NoWorkers`]).
    pub fn standalone(store: &'a dyn Store, clock: &'a dyn Clock) -> Self {
        Self {
            store,
            clock,
            jobs_ready: &NoWorkers,
            auth_cache: &NoAuthCache,
        }
    }
}

/// The port through which a use case tells the adapter that cached authentications are stale:
/// the HTTP API keeps service-key and citizen-session look-ups for a short time, and a change
/// made through this process must show at once.
pub trait AuthCache: Send + Sync {
    /// A service's keys, state, card or limits changed.
    fn forget_service(&self, service: &ServiceId);
    /// An organization was disabled or enabled: every one of its services.
    fn forget_organization(&self, organization: &OrganizationFiscalCode);
    /// A citizen's sessions were revoked (or the account deleted).
    fn forget_citizen(&self, fiscal_code: &FiscalCode);
}

/// For a process that caches no authentication, such as the CLI: it answers no request, so
/// nothing of its own can be stale. The servers' caches, in other processes, see its changes
/// when their entries expire (`SPORTELLO_AUTH_CACHE_MS`, 1 s by default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuthCache;

impl AuthCache for NoAuthCache {
    fn forget_service(&self, _: &ServiceId) {}
    fn forget_organization(&self, _: &OrganizationFiscalCode) {}
    fn forget_citizen(&self, _: &FiscalCode) {}
}

/// For a process that runs no workers, such as the CLI: the workers of a running server claim
/// the jobs at their next poll.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWorkers;

impl JobsReady for NoWorkers {
    fn ready(&self, _: JobKind) {}
}
