//! Vertical scaling of running pods: what each container should run with (`desired`,
//! shared with the pod admission webhook) and how a target's pods get there.

pub mod desired;
