//! The collector: polls metrics.k8s.io for the pods of enrolled workloads and records
//! usage, restarts and OOM kills into the history store.

pub mod owners;
