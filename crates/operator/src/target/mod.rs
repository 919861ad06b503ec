//! The AIScaleTarget controller: `plan` decides (pure; `actuation` is its part that
//! decides what to apply and what `AbleToScale` says; `revert` its part that reverts a
//! target leaving autonomous mode and keeps the finalizer), `forecast` says which direction
//! forecasts when and combines their results, `suggest` forecasts, `inputs` reads,
//! `provisioning` is a target's share of the provisioning ratio, `replicas` the plan's
//! horizontal part (the replica floor), and
//! `controller` runs them for one target and applies the outcome (`events` records its
//! Events); `runner` takes targets from the work queue and runs `controller`. `claims` splits the targets between processes sharing a PostgreSQL store.

pub mod actuation;
pub mod claims;
pub mod controller;
pub mod events;
pub mod forecast;
pub mod inputs;
pub mod plan;
pub mod provisioning;
pub mod replicas;
pub mod revert;
pub mod runner;
pub mod schedule;
pub mod suggest;
