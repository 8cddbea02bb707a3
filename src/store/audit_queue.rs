//! Batched audit events (`Durability::Batched`) leave the request path: a server queues them
//! and one task writes them in batches. The writer never waits to fill a batch: it takes what
//! is queued the moment the previous write returns, so an event waits at most for the write
//! ahead of it, and a crash loses only what was queued or in flight then. The queue is bounded and never drops a record: when it is full the request waits,
//! and a batch that fails to write is retried until it succeeds or the server stops (then the
//! remaining events are written one last time, or logged as lost).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{AuditEvent, Store};

/// Events waiting at most; a full queue makes requests wait.
const QUEUE_CAPACITY: usize = 4096;
/// Events written in one `insert_many`.
const BATCH: usize = 256;

pub(super) enum Message {
    Event(Box<AuditEvent>),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The sending side, shared by every clone of the store once a writer runs.
#[derive(Clone, Default)]
pub(super) struct AuditQueue(Arc<OnceLock<mpsc::Sender<Message>>>);

impl AuditQueue {
    pub(super) fn sender(&self) -> Option<&mpsc::Sender<Message>> {
        self.0.get()
    }
}

impl Store {
    /// Starts the batch writer; audit events are queued from now on. Runs until `shutdown`
    /// completes, then writes what is left.
    pub fn start_audit_writer(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        if self.audit_queue.0.set(sender).is_err() {
            return; // Already running.
        }
        tokio::spawn(write_batches(self.clone(), receiver, shutdown));
    }

    /// Waits until every event queued so far is written (a no-op without a writer).
    pub async fn flush_audit(&self) {
        if let Some(sender) = self.audit_queue.sender() {
            let (done, written) = oneshot::channel();
            if sender.send(Message::Flush(done)).await.is_ok() {
                let _ = written.await;
            }
        }
    }
}

async fn write_batches(
    store: Store,
    mut receiver: mpsc::Receiver<Message>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let first = tokio::select! {
            message = receiver.recv() => message,
            () = &mut shutdown => None,
        };
        let Some(first) = first else { break };
        let mut batch = Vec::new();
        let mut waiting = Vec::new();
        take(first, &mut batch, &mut waiting);
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(message) => take(message, &mut batch, &mut waiting),
                Err(_) => break,
            }
        }
        while let Err(error) = store.insert_audit_events(&batch).await {
            tracing::error!(%error, events = batch.len(), "audit write failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
    // Stopping: whatever is still queued gets one last attempt.
    receiver.close();
    let mut rest = Vec::new();
    let mut waiting = Vec::new();
    while let Ok(message) = receiver.try_recv() {
        take(message, &mut rest, &mut waiting);
    }
    if let Err(error) = store.insert_audit_events(&rest).await {
        tracing::error!(%error, events = rest.len(), "audit events lost at shutdown");
    }
    for done in waiting {
        let _ = done.send(());
    }
}

fn take(message: Message, batch: &mut Vec<AuditEvent>, waiting: &mut Vec<oneshot::Sender<()>>) {
    match message {
        Message::Event(event) => batch.push(*event),
        Message::Flush(done) => waiting.push(done),
    }
}
