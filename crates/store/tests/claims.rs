//! Contract of the job queue's claims, on both backends: claimers running at the same time,
//! each on connections of its own, are never handed the same job, and together they claim every
//! due job. On PostgreSQL a claim also skips the rows another claim holds instead of waiting
//! for them (`FOR UPDATE SKIP LOCKED`).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use kernel::jobs::JobKind;
use kernel::values::ServiceId;
use messaging::ports::prelude::*;
use store::SqlStore;
use support::{Backend, Db, message};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() { super::$name(super::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() { super::$name(super::Backend::Postgres).await }
            )*
        }
    };
}

both!(concurrent_claimers_are_never_handed_the_same_job_and_together_claim_every_job);

/// Jobs queued for a test.
const JOBS: usize = 400;
/// Claimers running at once, each with its own connections.
const CLAIMERS: usize = 4;
/// Jobs per claim: small, so that each claimer claims many times while the others do.
const PER_CLAIM: i64 = 3;
/// Longer than the test: no claim runs out and comes back.
const LEASE_MS: i64 = 600_000;

/// `n` queued message jobs of `service`, due now; returns their ids.
async fn queue_jobs(db: &Db, service: ServiceId, n: usize) -> BTreeSet<i64> {
    let messages: Vec<_> = (0..n).map(|_| message(service, None)).collect();
    db.store.accept_messages(&messages).await.unwrap();
    let ids: BTreeSet<i64> = db
        .store
        .list_jobs(None)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids.len(), n);
    ids
}

async fn concurrent_claimers_are_never_handed_the_same_job_and_together_claim_every_job(
    backend: Backend,
) {
    let (db, service) = support::seeded(backend).await;
    let queued = queue_jobs(&db, service.id, JOBS).await;
    let due = Utc::now() + chrono::Duration::seconds(1);
    let start = Arc::new(tokio::sync::Barrier::new(CLAIMERS));
    let mut claimers = tokio::task::JoinSet::new();
    for claimer in 0..CLAIMERS {
        // Separate pools: the claims really run on different connections at the same time.
        let store = SqlStore::connect(&db.url, 2).await.unwrap();
        let start = start.clone();
        claimers.spawn(async move {
            let mut got = Vec::new();
            start.wait().await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                assert!(Instant::now() < deadline, "claimer {claimer} never ran dry");
                let jobs = store
                    .claim_jobs(&JobKind::ALL, PER_CLAIM, due, LEASE_MS)
                    .await
                    .unwrap();
                if jobs.is_empty() {
                    // Another claim may hold the last jobs uncommitted: done only once the
                    // queue has nothing left to hand out.
                    if store.job_counts().await.unwrap().queued == 0 {
                        break;
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
                assert!(jobs.len() as i64 <= PER_CLAIM);
                got.extend(jobs.iter().map(|j| (j.id, j.attempts)));
            }
            store.close().await;
            (claimer, got)
        });
    }
    // Job id → (claimer, attempts) of every claim that returned it.
    let mut handed: BTreeMap<i64, Vec<(usize, i64)>> = BTreeMap::new();
    let mut busy_claimers = 0;
    for (claimer, got) in claimers.join_all().await {
        if !got.is_empty() {
            busy_claimers += 1;
        }
        for (id, attempts) in got {
            handed.entry(id).or_default().push((claimer, attempts));
        }
    }
    let twice: Vec<_> = handed.iter().filter(|(_, by)| by.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "{} jobs handed to more than one claim, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(5)]
    );
    assert!(
        handed
            .values()
            .flatten()
            .all(|&(_, attempts)| attempts == 1),
        "a job was claimed by someone else first"
    );
    let claimed: BTreeSet<i64> = handed.keys().copied().collect();
    assert_eq!(claimed, queued, "every queued job is claimed");
    assert!(
        busy_claimers > 1,
        "the claimers ran one after the other, not concurrently"
    );
    let counts = db.store.job_counts().await.unwrap();
    assert_eq!((counts.queued, counts.running), (0, JOBS as i64));
    db.done().await;
}

/// A claim that finds rows locked by another claim's transaction takes the other due jobs at
/// once: it neither waits for the lock nor returns the locked rows. (Without `SKIP LOCKED` it
/// would wait; without `FOR UPDATE` either, two claims could update the same rows.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_claim_skips_the_jobs_another_claim_holds_instead_of_waiting() {
    let (db, service) = support::seeded(Backend::Postgres).await;
    let queued = queue_jobs(&db, service.id, 10).await;
    let mut holder = db.store.write_pool().begin().await.unwrap();
    let held: BTreeSet<i64> =
        sqlx::query_scalar::<_, i64>("SELECT id FROM jobs ORDER BY run_at, id LIMIT 4 FOR UPDATE")
            .fetch_all(&mut *holder)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(held.len(), 4);

    let other = SqlStore::connect(&db.url, 2).await.unwrap();
    let due = Utc::now() + chrono::Duration::seconds(1);
    let claimed = tokio::time::timeout(
        Duration::from_secs(5),
        other.claim_jobs(&JobKind::ALL, 100, due, LEASE_MS),
    )
    .await
    .expect("the claim waited for the rows another transaction holds")
    .unwrap();
    let claimed: BTreeSet<i64> = claimed.iter().map(|j| j.id).collect();
    let free: BTreeSet<i64> = queued.difference(&held).copied().collect();
    assert_eq!(claimed, free, "exactly the jobs nobody holds");

    holder.rollback().await.unwrap();
    let rest = other
        .claim_jobs(&JobKind::ALL, 100, due, LEASE_MS)
        .await
        .unwrap();
    let rest: BTreeSet<i64> = rest.iter().map(|j| j.id).collect();
    assert_eq!(rest, held, "released, the held jobs are claimed next");
    other.close().await;
    db.done().await;
}
