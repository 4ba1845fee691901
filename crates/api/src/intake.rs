//! Group commit for message intake. Handlers hand their validated message to a writer task
//! and wait; each writer takes everything queued meanwhile (up to [`MAX_GROUP`]) and writes it
//! in one transaction, so one fsync covers the whole group. No artificial delay: a group is
//! whatever arrived while the previous one was being written, so a lone request is written at
//! once and a crowd shares the cost.

use std::sync::Arc;

use kernel::jobs::{JobKind, JobsReady};
use messaging::model::{AcceptOutcome, NewMessageRecord};
use messaging::ports::{Store, StoreError};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::metrics::Metrics;

/// Largest group written in one transaction.
pub const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<AcceptOutcome, StoreError>>;

/// Handle to the intake writers.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<(NewMessageRecord, Reply)>,
}

impl Intake {
    /// Starts `writers` writer tasks (1 for SQLite, a few for PostgreSQL).
    pub fn start(
        store: Arc<dyn Store>,
        writers: usize,
        jobs_ready: Arc<dyn JobsReady>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<(NewMessageRecord, Reply)>(MAX_GROUP * 8);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let rx = rx.clone();
            let store = store.clone();
            let jobs_ready = jobs_ready.clone();
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut group = Vec::with_capacity(MAX_GROUP);
                loop {
                    {
                        let mut rx = rx.lock().await;
                        if rx.recv_many(&mut group, MAX_GROUP).await == 0 {
                            return; // every sender is gone
                        }
                    }
                    let (records, replies): (Vec<_>, Vec<_>) = group.drain(..).unzip();
                    match store.accept_messages(&records).await {
                        Ok(outcomes) => {
                            let created = outcomes
                                .iter()
                                .filter(|o| matches!(o, AcceptOutcome::Created(_)))
                                .count();
                            metrics.messages_accepted(created as u64, records.len() as u64);
                            if created > 0 {
                                jobs_ready.ready(JobKind::ProcessMessage);
                            }
                            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                                let _ = reply.send(Ok(outcome));
                            }
                        }
                        Err(e) => {
                            let text = e.to_string();
                            for reply in replies {
                                let _ = reply.send(Err(StoreError::Backend(text.clone())));
                            }
                        }
                    }
                }
            });
        }
        Self { tx }
    }

    /// Writes one message (with its processing job) durably; returns what intake did.
    pub async fn submit(&self, record: NewMessageRecord) -> Result<AcceptOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((record, reply))
            .await
            .map_err(|_| StoreError::Backend("intake writers stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("intake writer dropped the request".into()))?
    }
}
