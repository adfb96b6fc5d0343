//! [`TaskContext`]: what every task of the daemon is handed so it can be shut
//! down: one cancellation token, one tracker to wait on, and a registry of
//! task names so a task that misses the shutdown deadline can be named.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
}

#[derive(Debug, Default)]
struct Registry {
    next_id: AtomicU64,
    running: Mutex<BTreeMap<u64, (String, AbortHandle)>>,
}

/// Removes a task from the registry when its future ends or is dropped.
struct Deregister {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.registry
            .running
            .lock()
            .expect("task registry lock poisoned")
            .remove(&self.id);
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
        }
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
        // Hold the lock across the spawn so a task that ends at once cannot
        // deregister before it is registered.
        let mut running = self
            .registry
            .running
            .lock()
            .expect("task registry lock poisoned");
        let handle = self.tracker.spawn(async move {
            let _guard = guard;
            fut.await
        });
        running.insert(id, (name.into(), handle.abort_handle()));
        handle
    }

    /// Names of the tasks still running, in spawn order.
    pub fn running(&self) -> Vec<String> {
        self.registry
            .running
            .lock()
            .expect("task registry lock poisoned")
            .values()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Aborts every task still running and returns their names.
    pub fn abort_all(&self) -> Vec<String> {
        // Copy out first: an aborted task deregisters itself, which takes
        // the lock.
        let running: Vec<(String, AbortHandle)> = self
            .registry
            .running
            .lock()
            .expect("task registry lock poisoned")
            .values()
            .cloned()
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
}
