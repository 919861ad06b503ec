//! Vertical scaling of running pods: what each container should run with (`desired`,
//! shared with the pod admission webhook), the policy resolved from `spec.vertical`
//! (`policy`), the pods as the rollout sees them (`pods`), one step of a workload's
//! rollout (`rollout`), the rolling restarts of whole workloads (`restarts`: the revert,
//! a selector target's restarts) and the memory floors OOM kills raise (`oom`). All pure;
//! `crate::actuate` carries the actions out.

pub mod desired;
pub mod oom;
pub mod pods;
pub mod policy;
pub mod restarts;
pub mod rollout;
