//! Runs the target controller: takes targets from the work queue in turn (`workqueue`:
//! first asked, first served; the pause ahead of the rest), reconciles up to `slots` at
//! once, and sets each target's timer to the time its reconcile asked for.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::reflector::{ObjectRef, Store};
use prescale_api::AIScaleTarget;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::controller::{TargetContext, reconcile};
use crate::workqueue::WorkQueue;

pub type TargetQueue = WorkQueue<ObjectRef<AIScaleTarget>>;

/// One target's turn: whatever happens to the reconcile (a panic included), the target
/// leaves the active set and keeps a timer, so it is never lost.
struct Turn {
    queue: Arc<TargetQueue>,
    key: ObjectRef<AIScaleTarget>,
    wake: Option<Duration>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.queue.set_timer(self.key.clone(), self.wake);
        self.queue.done(&self.key);
    }
}

/// Reconciles targets from `queue` until the task is aborted (which aborts the reconciles
/// in flight too).
pub async fn run(
    queue: Arc<TargetQueue>,
    targets: Store<AIScaleTarget>,
    ctx: Arc<TargetContext>,
    slots: usize,
) {
    let slots = Arc::new(Semaphore::new(slots.max(1)));
    let mut running = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let key = queue.next().await;
        let Some(ast) = targets.get(&key) else {
            // Not in the cache: deleted (its deletion forgets it), or not there yet — its
            // arrival in the cache asks for it again (`cache::watch`).
            queue.done(&key);
            continue;
        };
        let (queue, ctx) = (queue.clone(), ctx.clone());
        running.spawn(async move {
            let _slot = slot;
            // A reconcile that panics leaves the target with the safety net's timer.
            let mut turn = Turn {
                queue,
                key,
                wake: Some(ctx.resync),
            };
            turn.wake = reconcile(ast, &ctx).await;
        });
    }
}
