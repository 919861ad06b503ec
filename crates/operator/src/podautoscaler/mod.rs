//! The AIBrix PodAutoscaler controller (seed 004, docs/PODAUTOSCALER.md): the strategies are
//! the pure functions of `prescale_autoscale`; here are what a controller adds around them.
//!
//! | module | what |
//! |---|---|
//! | `plan` | pure: one decision — may it act (spec, conflict, pause, target), the strategy, conditions, history, Events |
//! | `predictive` | pure: the projections `spec.predictive` decides on, and their status |
//! | `learn` | I/O: each source's recorded history and its seasonal projection |
//! | `conflicts` | one autoscaler per workload: which other autoscaler keeps a PodAutoscaler from acting |
//! | `readings` | I/O: the metric sources (pod endpoints, metrics.k8s.io, custom/external APIs, HTTP endpoints) |
//! | `prom_text` | pure: a metric's sum in Prometheus text |
//! | `scale` | I/O: any kind's `scale` subresource, found by discovery |
//! | `seasonal` | pure: `spec.predictive` projections from prescale's seasonal forecaster |
//! | `controller` | the watch, the loop on the operator's clock, applying each decision |

pub mod conflicts;
pub mod controller;
pub mod learn;
pub mod plan;
pub mod predictive;
pub mod prom_text;
pub mod readings;
pub mod scale;
pub mod seasonal;

#[cfg(test)]
mod plan_tests;
