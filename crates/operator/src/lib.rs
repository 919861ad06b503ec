//! prescale-operator: the controllers, the cache they share, the collector, the actuation
//! seam and the operator's HTTP server. Decisions live in pure modules (`template::plan`,
//! `target::plan`, `target::forecast`, `pause`, `selector`, `triggers`); the controllers
//! around them only read the cache and apply what those decide.
#![forbid(unsafe_code)]

pub mod actuate;
pub mod backfill;
pub mod cache;
pub mod client;
pub mod clock;
pub mod collector;
pub mod conditions;
pub mod dashboard;
pub mod finalizer;
pub mod horizontal;
pub mod http;
pub mod install;
pub mod leader;
pub mod metrics;
pub mod metrics_api;
pub mod pause;
pub mod pause_switch;
pub mod podautoscaler;
pub mod rbac;
pub mod run;
pub mod scope;
pub mod selector;
pub mod target;
pub mod template;
pub mod triggers;
pub mod vertical;
pub mod webhook;
pub mod workload;
pub mod workqueue;
