//! prescale-sim: a simulated Kubernetes cluster that speaks the real REST + watch protocol,
//! so kube-rs and kubectl work against it unchanged. Used by prescale's integration tests
//! and by `prescale demo`; never by production code paths.
#![forbid(unsafe_code)]

pub mod clock;
pub mod cluster;
pub mod crd_cost;
pub mod error;
pub mod faults;
pub mod patch;
pub mod registry;
pub mod resources;
pub mod selector;
pub mod server;
pub mod store;
pub mod testing;
pub mod tls;

pub use clock::Clock;
pub use server::{Sim, router};
