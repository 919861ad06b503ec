//! The AIScaleTarget controller: `plan` decides (pure; `actuation` is its part that
//! decides what to apply and what `AbleToScale` says), `forecast` says which direction
//! forecasts when and combines their results, `suggest` forecasts, `inputs` reads, and
//! `controller` runs them for one target and applies the outcome. `claims` splits the
//! targets between processes sharing a PostgreSQL store.

pub mod actuation;
pub mod claims;
pub mod controller;
pub mod forecast;
pub mod inputs;
pub mod plan;
pub mod schedule;
pub mod suggest;
