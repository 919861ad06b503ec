//! OOM kills seen in pod status, remembered per workload so each is counted once (the
//! `prescale_oom_kills_total` metric) and each target's plan can say which of its
//! containers were killed since its last suggestion (`status.oomKilledContainers`,
//! `status.lastOOMTime`).

use std::collections::HashSet;

use super::OomKill;
use super::owners::WorkloadRef;

/// Kills older than this (in data time) are forgotten.
const MEMORY_SECS: i64 = 7 * 86_400;

#[derive(Debug, Default)]
pub struct OomTracker {
    seen: HashSet<(String, String, i32)>,
    /// (namespace, workload, container, when)
    kills: Vec<(String, WorkloadRef, String, i64)>,
}

impl OomTracker {
    /// Records the kills of one collection in `namespace` at data time `now`; returns how
    /// many were new.
    pub fn observe(&mut self, namespace: &str, kills: Vec<OomKill>, now: i64) -> usize {
        let mut new = 0;
        for k in kills {
            if self
                .seen
                .insert((k.pod_uid.clone(), k.container.clone(), k.restart_count))
            {
                new += 1;
                let when = k.finished_at.unwrap_or(now);
                self.kills
                    .push((namespace.to_string(), k.workload, k.container, when));
            }
        }
        self.kills
            .retain(|(_, _, _, when)| *when >= now - MEMORY_SECS);
        new
    }

    /// Every remembered kill of a container of `workloads` in `namespace`:
    /// (container, data time).
    pub fn kills_of(&self, namespace: &str, workloads: &[WorkloadRef]) -> Vec<(String, i64)> {
        self.kills
            .iter()
            .filter(|(ns, w, _, _)| ns == namespace && workloads.contains(w))
            .map(|(_, _, c, when)| (c.clone(), *when))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kill_counts_once_and_is_remembered_per_workload() {
        let web = WorkloadRef {
            kind: "Deployment".into(),
            name: "web".into(),
        };
        let kill = |restarts, at| OomKill {
            workload: web.clone(),
            pod_uid: "uid-1".into(),
            container: "app".into(),
            restart_count: restarts,
            finished_at: Some(at),
        };
        let mut t = OomTracker::default();
        let only_web = std::slice::from_ref(&web);
        assert_eq!(t.observe("shop", vec![kill(1, 100)], 110), 1);
        assert_eq!(t.observe("shop", vec![kill(1, 100)], 120), 0, "seen again");
        assert_eq!(
            t.observe("shop", vec![kill(2, 200)], 210),
            1,
            "a new restart"
        );
        assert!(t.kills_of("other", only_web).is_empty());
        assert_eq!(
            t.kills_of("shop", only_web),
            [("app".to_string(), 100), ("app".to_string(), 200)]
        );
    }
}
