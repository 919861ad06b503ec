//! Cluster behaviour: the workload controllers, the scheduler and the load model, run as
//! one loop on the simulated clock.

pub mod daemonsets;
pub mod hpa;
pub mod hpa_behavior;
pub mod load;
pub mod trace;
pub mod workloads;

use std::sync::Arc;
use std::time::Duration;

use crate::server::Sim;

/// Simulated seconds between ticks of the cluster loop (metrics-server's resolution).
pub const TICK_SECS: u64 = 15;
/// Simulated seconds a pod needs to become Ready.
pub const STARTUP_SECS: i64 = 5;

/// One tick: reconcile workloads, refresh usage, then let HPAs act on it.
pub fn tick(sim: &Sim) {
    let mut store = sim.store();
    workloads::reconcile(&mut store, STARTUP_SECS);
    let usage = load::update_usage(&mut store, &sim.traces());
    hpa::sync(&mut store, &usage, &mut sim.hpa_memory());
    drop(store);
    *sim.usage() = usage;
}

/// Runs the cluster loop until the task is aborted.
pub fn spawn(sim: Arc<Sim>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tick(&sim);
            let wait = sim
                .clock
                .real_duration(Duration::from_secs(TICK_SECS))
                .max(Duration::from_millis(20));
            tokio::time::sleep(wait).await;
        }
    })
}
