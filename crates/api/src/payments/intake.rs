//! Group commit for debt positions created one per request: as for messages
//! ([`crate::intake`]), each writer takes every position queued meanwhile (up to
//! [`MAX_GROUP`]) and writes them in one transaction, so one fsync covers the group; no
//! artificial delay. A duplicate in the group fails only its own request.

use std::sync::Arc;

use ::payments::ports::{CreateOutcome, PaymentsStore, PositionWrite};
use kernel::ports::StoreError;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Largest group written in one transaction.
pub const MAX_GROUP: usize = 256;

type Reply = oneshot::Sender<Result<CreateOutcome, StoreError>>;

/// Handle to the position writers.
#[derive(Clone)]
pub struct PositionIntake {
    tx: mpsc::Sender<(PositionWrite, Reply)>,
}

impl PositionIntake {
    /// Starts `writers` writer tasks (1 for SQLite, a few for PostgreSQL).
    pub fn start(store: Arc<dyn PaymentsStore>, writers: usize) -> Self {
        let (tx, rx) = mpsc::channel::<(PositionWrite, Reply)>(MAX_GROUP * 8);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let rx = rx.clone();
            let store = store.clone();
            tokio::spawn(async move {
                let mut group = Vec::with_capacity(MAX_GROUP);
                loop {
                    {
                        let mut rx = rx.lock().await;
                        if rx.recv_many(&mut group, MAX_GROUP).await == 0 {
                            return;
                        }
                    }
                    let (writes, replies): (Vec<_>, Vec<_>) = group.drain(..).unzip();
                    match store.create_positions(&writes).await {
                        Ok(outcomes) => {
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

    /// Writes one position (with its history and jobs) durably; returns what happened.
    pub async fn submit(&self, write: PositionWrite) -> Result<CreateOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((write, reply))
            .await
            .map_err(|_| StoreError::Backend("position writers stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("position writer dropped the request".into()))?
    }
}
