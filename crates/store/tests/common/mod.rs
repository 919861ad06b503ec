//! Shared by the store tests: a fresh PostgreSQL database per test, and series keys.
#![allow(dead_code)] // each test binary uses its own part of this module

use prescale_store::{Metric, SeriesKey};

pub fn key(workload: &str, container: &str, metric: Metric) -> SeriesKey {
    SeriesKey {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        workload: workload.into(),
        container: container.into(),
        metric,
    }
}

pub use prescale_store::testing::fresh_database;
