//! The work loop: clusters with pending operations are queued (by an RPC
//! nudge or by the sweep), a bounded set of workers takes them one cluster at a
//! time under a lease, and runs their operations in order.
//!
//! Level-triggered, in the manner of a Kubernetes reconciler: the outbox is the
//! truth, a message or a sweep only says "look at this cluster". A failed step
//! is retried with exponential backoff (`not_before`), and after
//! `[conductor] max_attempts` the operation fails with the reason.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use magnum_common::db::models::{changes, cluster_lease, pending_operation};
use magnum_common::ids::{ClusterUuid, OperationUuid};
use tokio::sync::{mpsc, oneshot};

use crate::error::OpError;
use crate::ops::{self, Op};
use crate::services::Services;

/// How an operation ended, for a caller waiting on it (`Err`: the reason it failed).
pub type Outcome = Result<(), String>;

#[derive(Default)]
struct State {
    queued: HashSet<ClusterUuid>,
    busy: HashSet<ClusterUuid>,
    dirty: HashSet<ClusterUuid>,
}

/// The conductor's work queue and workers.
pub struct Reconciler {
    svc: Arc<Services>,
    tx: mpsc::UnboundedSender<ClusterUuid>,
    state: Mutex<State>,
    waiters: Mutex<HashMap<OperationUuid, Vec<oneshot::Sender<Outcome>>>>,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reconciler({})", self.svc.owner)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The pause before attempt `attempts + 1`: 2, 4, 8 … seconds, at most a minute.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(1, 6)).min(Duration::from_secs(60))
}

impl Reconciler {
    /// Starts `[conductor] workers` workers.
    pub fn start(svc: Arc<Services>) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let me = Arc::new(Reconciler {
            svc: Arc::clone(&svc),
            tx,
            state: Mutex::new(State::default()),
            waiters: Mutex::new(HashMap::new()),
        });
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..svc.cfg.conductor.workers.max(1) {
            let (me, rx) = (Arc::clone(&me), Arc::clone(&rx));
            tokio::spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some(cluster) = next else { break };
                    me.work(cluster).await;
                }
            });
        }
        me
    }

    /// Asks for `cluster` to be looked at soon.
    pub fn nudge(&self, cluster: ClusterUuid) {
        let mut s = lock(&self.state);
        if s.busy.contains(&cluster) {
            s.dirty.insert(cluster);
            return;
        }
        if s.queued.insert(cluster) {
            let _ = self.tx.send(cluster);
        }
    }

    /// Whether a local worker holds `cluster` right now.
    pub fn is_busy(&self, cluster: &ClusterUuid) -> bool {
        let s = lock(&self.state);
        s.busy.contains(cluster) || s.queued.contains(cluster)
    }

    /// Waits (at most `timeout`) for operation `op` of `cluster` to end.
    /// `None` when it has not ended in time (it carries on regardless).
    pub async fn wait_for(
        &self,
        cluster: ClusterUuid,
        op: OperationUuid,
        timeout: Duration,
    ) -> Option<Outcome> {
        let (tx, mut rx) = oneshot::channel();
        lock(&self.waiters).entry(op).or_default().push(tx);
        self.nudge(cluster);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            tokio::select! {
                r = &mut rx => return r.ok(),
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    // Another conductor may have done it.
                    let row = self.svc.db.run(move |c| pending_operation::get(c, op)).await.ok().flatten();
                    match row {
                        None => return Some(Ok(())),
                        Some(r) if r.state == "done" => return Some(r.last_error.map_or(Ok(()), Err)),
                        Some(_) => {}
                    }
                    if tokio::time::Instant::now() >= deadline {
                        lock(&self.waiters).remove(&op);
                        return None;
                    }
                }
            }
        }
    }

    fn finished(&self, op: OperationUuid, outcome: &Outcome) {
        if let Some(list) = lock(&self.waiters).remove(&op) {
            for tx in list {
                let _ = tx.send(outcome.clone());
            }
        }
    }

    async fn work(&self, cluster: ClusterUuid) {
        {
            let mut s = lock(&self.state);
            s.queued.remove(&cluster);
            if !s.busy.insert(cluster) {
                s.dirty.insert(cluster);
                return;
            }
        }
        loop {
            if let Err(e) = self.work_leased(cluster).await {
                tracing::warn!(%cluster, error = %e, "cluster work interrupted; the sweep will retry");
            }
            let mut s = lock(&self.state);
            if !s.dirty.remove(&cluster) {
                s.busy.remove(&cluster);
                break;
            }
        }
    }

    async fn work_leased(&self, cluster: ClusterUuid) -> Result<(), OpError> {
        let svc = &self.svc;
        let (owner, lease) = (svc.owner.clone(), svc.lease());
        let o = owner.clone();
        let held = svc
            .db
            .run(move |c| cluster_lease::acquire(c, cluster, &o, magnum_common::db::now(), lease))
            .await?;
        if !held {
            tracing::debug!(%cluster, "leased by another conductor");
            return Ok(());
        }
        let renew = {
            let (db, o) = (svc.db.clone(), owner.clone());
            let every = lease.to_std().unwrap_or(Duration::from_secs(60)) / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let o = o.clone();
                    let _ = db
                        .run(move |c| {
                            cluster_lease::acquire(c, cluster, &o, magnum_common::db::now(), lease)
                        })
                        .await;
                }
            })
        };
        let result = self.run_pending(cluster).await;
        renew.abort();
        let o = owner.clone();
        svc.db
            .run(move |c| cluster_lease::release(c, cluster, &o))
            .await?;
        result
    }

    async fn run_pending(&self, cluster: ClusterUuid) -> Result<(), OpError> {
        let svc = &self.svc;
        loop {
            let pending = svc
                .db
                .run(move |c| pending_operation::pending_for_cluster(c, cluster))
                .await?;
            let Some(row) = pending.into_iter().next() else {
                return Ok(());
            };
            if row.not_before.is_some_and(|t| t > magnum_common::db::now()) {
                return Ok(());
            }
            let mut op = Op::new(row);
            let run = AssertUnwindSafe(ops::run(svc, &mut op))
                .catch_unwind()
                .await;
            let result = run
                .unwrap_or_else(|_| Err(OpError::Transient(format!("{} crashed", op.row.method))));
            match result {
                Ok(()) => self.complete(&op, None).await?,
                Err(OpError::Permanent(reason)) => self.give_up(&op, &reason).await?,
                Err(e @ (OpError::Transient(_) | OpError::Unauthorized(_))) => {
                    if matches!(e, OpError::Unauthorized(_)) {
                        // The next attempt authenticates afresh.
                        svc.trusts.forget_trust_tokens().await;
                    }
                    let reason = e.to_string();
                    let attempts = op.row.attempts + 1;
                    if u32::try_from(attempts).unwrap_or(u32::MAX) >= svc.cfg.conductor.max_attempts
                    {
                        let reason = format!("{reason} (gave up after {attempts} attempts)");
                        self.give_up(&op, &reason).await?;
                        continue;
                    }
                    let wait = backoff(attempts);
                    tracing::warn!(cluster = %cluster, method = %op.row.method, attempts, error = %reason, retry_in = ?wait, "operation failed, will retry");
                    let when = magnum_common::db::now()
                        + chrono::Duration::from_std(wait).unwrap_or_default();
                    let uuid = op.row.uuid;
                    // The cluster says why it is waiting, so a user sees more than IN_PROGRESS.
                    let shown = format!(
                        "{reason}; retrying in {}s (attempt {attempts} of {})",
                        wait.as_secs(),
                        svc.cfg.conductor.max_attempts
                    );
                    svc.db
                        .run(move |c| {
                            pending_operation::defer(c, uuid, attempts, when, &reason)?;
                            changes::update_cluster(
                                c,
                                cluster,
                                changes::ClusterChange::new().status_reason(Some(shown)),
                            )
                        })
                        .await?;
                    let me_cluster = cluster;
                    let tx = self.tx.clone();
                    // Come back when it is due (the sweep would too, later).
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        let _ = tx.send(me_cluster);
                    });
                    return Ok(());
                }
            }
        }
    }

    async fn complete(&self, op: &Op, error: Option<&str>) -> Result<(), OpError> {
        let (uuid, err) = (op.row.uuid, error.map(str::to_owned));
        self.svc
            .db
            .run(move |c| pending_operation::mark_done(c, uuid, err.as_deref()))
            .await?;
        tracing::info!(cluster = %op.row.cluster_uuid, method = %op.row.method, error = ?error, "operation done");
        self.finished(uuid, &error.map_or(Ok(()), |e| Err(e.to_owned())));
        Ok(())
    }

    async fn give_up(&self, op: &Op, reason: &str) -> Result<(), OpError> {
        tracing::warn!(cluster = %op.row.cluster_uuid, method = %op.row.method, %reason, "operation failed");
        ops::fail(&self.svc, op, reason).await?;
        self.complete(op, Some(reason)).await
    }

    /// Queues every cluster with an operation due (the outbox sweep).
    pub async fn sweep(&self) -> Result<usize, OpError> {
        let due = self
            .svc
            .db
            .run(|c| pending_operation::clusters_due(c, magnum_common::db::now(), 10_000))
            .await?;
        let n = due.len();
        for c in due {
            self.nudge(c);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_a_minute() {
        use std::time::Duration;
        assert_eq!(super::backoff(1), Duration::from_secs(2));
        assert_eq!(super::backoff(2), Duration::from_secs(4));
        assert_eq!(super::backoff(5), Duration::from_secs(32));
        assert_eq!(super::backoff(9), Duration::from_secs(60));
    }
}
