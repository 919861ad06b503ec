//! prescale-operator: the controllers, the collector, the actuators and the operator's
//! HTTP server. Decisions live in pure modules (`template::plan`, `pause`, `selector`);
//! the controllers around them only read the cluster and apply what those decide.
#![forbid(unsafe_code)]

pub mod backfill;
pub mod client;
pub mod collector;
pub mod http;
pub mod install;
pub mod leader;
pub mod metrics;
pub mod pause;
pub mod rbac;
pub mod run;
pub mod scope;
pub mod selector;
pub mod target;
pub mod template;
