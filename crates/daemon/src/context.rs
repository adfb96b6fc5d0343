//! [`TaskContext`]: what every task of the daemon is handed so it can be shut
//! down: one cancellation token, one tracker to wait on, and a registry of
//! task names so a task that misses the shutdown deadline can be named. A
//! scoped context ([`TaskContext::scoped`]) also tracks its own tasks apart,
//! so one component (a sink) can be stopped and waited for alone.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Shutdown plumbing shared by all tasks of one daemon run. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct TaskContext {
    /// Cancelled once to ask every task to stop.
    pub token: CancellationToken,
    /// Tracks every task spawned through [`TaskContext::spawn`].
    pub tracker: TaskTracker,
    registry: Arc<Registry>,
    scope: Option<Arc<Scope>>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: AtomicU64,
    running: Mutex<BTreeMap<u64, RunningTask>>,
}

impl Registry {
    /// The running tasks, locked. A poisoned lock is taken over: every
    /// change under it is one insert or remove, never left half done.
    fn lock_running(&self) -> MutexGuard<'_, BTreeMap<u64, RunningTask>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One running task in the registry.
#[derive(Debug, Clone)]
struct RunningTask {
    name: String,
    abort: AbortHandle,
    /// The scope it was spawned on, if any.
    scope: Option<u64>,
}

/// The tasks of one scoped context.
#[derive(Debug)]
struct Scope {
    id: u64,
    tracker: TaskTracker,
    spawned: AtomicU64,
}

/// Removes a task from the registry when its future ends or is dropped.
struct Deregister {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.registry.lock_running().remove(&self.id);
    }
}

impl TaskContext {
    /// A fresh context with its own token, tracker and registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context whose token is a child of this one (cancelled with it, or
    /// alone), sharing the tracker and registry.
    pub fn child(&self) -> Self {
        Self {
            token: self.token.child_token(),
            tracker: self.tracker.clone(),
            registry: self.registry.clone(),
            scope: None,
        }
    }

    /// A child context (see [`child`](Self::child)) whose tasks are also
    /// tracked apart: [`stop_scope`](Self::stop_scope) waits for them
    /// alone, [`scope_alive`](Self::scope_alive) says whether all still run.
    pub fn scoped(&self) -> Self {
        let id = self.registry.next_id.fetch_add(1, Ordering::Relaxed);
        Self {
            scope: Some(Arc::new(Scope {
                id,
                tracker: TaskTracker::new(),
                spawned: AtomicU64::new(0),
            })),
            ..self.child()
        }
    }

    /// True while every task spawned on this scoped context still runs
    /// (always true for an unscoped one).
    pub fn scope_alive(&self) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|s| s.tracker.len() as u64 == s.spawned.load(Ordering::Relaxed))
    }

    /// Cancels this context's token and waits up to `grace` for the tasks
    /// of its scope to end; those still running then are aborted and their
    /// names returned.
    pub async fn stop_scope(&self, grace: std::time::Duration) -> Vec<String> {
        self.token.cancel();
        let Some(scope) = &self.scope else {
            return Vec::new();
        };
        scope.tracker.close();
        if tokio::time::timeout(grace, scope.tracker.wait())
            .await
            .is_ok()
        {
            return Vec::new();
        }
        let late = self.abort_where(|s| s == Some(scope.id));
        scope.tracker.wait().await;
        late
    }

    /// Spawns a named, tracked task. The name is what the shutdown report
    /// logs when the task is late.
    pub fn spawn<F>(&self, name: impl Into<String>, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = self.registry.next_id.fetch_add(1, Ordering::Relaxed);
        let guard = Deregister {
            registry: self.registry.clone(),
            id,
        };
        let scope = self.scope.as_ref().map(|s| {
            s.spawned.fetch_add(1, Ordering::Relaxed);
            (s.id, s.tracker.token())
        });
        let scope_id = scope.as_ref().map(|(id, _)| *id);
        // Hold the lock across the spawn so a task that ends at once cannot
        // deregister before it is registered.
        let mut running = self.registry.lock_running();
        let handle = self.tracker.spawn(async move {
            let _guard = guard;
            let _scope = scope;
            fut.await
        });
        running.insert(
            id,
            RunningTask {
                name: name.into(),
                abort: handle.abort_handle(),
                scope: scope_id,
            },
        );
        handle
    }

    /// Names of the tasks still running, in spawn order.
    pub fn running(&self) -> Vec<String> {
        self.registry
            .lock_running()
            .values()
            .map(|t| t.name.clone())
            .collect()
    }

    /// Aborts every task still running and returns their names.
    pub fn abort_all(&self) -> Vec<String> {
        self.abort_where(|_| true)
    }

    /// Aborts the running tasks whose scope passes `which`; their names.
    fn abort_where(&self, which: impl Fn(Option<u64>) -> bool) -> Vec<String> {
        // Copy out first: an aborted task deregisters itself, which takes
        // the lock.
        let running: Vec<(String, AbortHandle)> = self
            .registry
            .lock_running()
            .values()
            .filter(|t| which(t.scope))
            .map(|t| (t.name.clone(), t.abort.clone()))
            .collect();
        running
            .into_iter()
            .map(|(n, h)| {
                h.abort();
                n
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn registry_names_running_tasks_only() {
        let ctx = TaskContext::new();
        ctx.spawn("quick", async {}).await.expect("joins");
        let token = ctx.token.clone();
        let slow = ctx.spawn("slow", async move { token.cancelled().await });
        assert_eq!(ctx.running(), vec!["slow".to_owned()]);
        ctx.token.cancel();
        slow.await.expect("joins");
        assert!(ctx.running().is_empty());
        let stuck = ctx.spawn("stuck", std::future::pending::<()>());
        assert_eq!(ctx.abort_all(), vec!["stuck".to_owned()]);
        assert!(stuck.await.expect_err("aborted").is_cancelled());
        assert!(ctx.running().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_scope_is_watched_and_stopped_alone() {
        let ctx = TaskContext::new();
        let outside = ctx.spawn("outside", std::future::pending::<()>());
        let scope = ctx.scoped();
        let token = scope.token.clone();
        scope.spawn("polite", async move { token.cancelled().await });
        let (end_tx, end_rx) = tokio::sync::oneshot::channel::<()>();
        scope.spawn("ends early", async move {
            let _ = end_rx.await;
        });
        scope.spawn("stubborn", std::future::pending::<()>());
        assert!(scope.scope_alive());
        drop(end_tx);
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        assert!(!scope.scope_alive(), "a task of the scope ended");
        let late = scope.stop_scope(std::time::Duration::from_secs(1)).await;
        assert_eq!(late, vec!["stubborn".to_owned()]);
        assert_eq!(ctx.running(), vec!["outside".to_owned()]);
        assert!(!outside.is_finished());
        assert!(ctx.scope_alive(), "an unscoped context is always alive");
    }
}
