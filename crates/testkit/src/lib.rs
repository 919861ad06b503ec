//! Test support for prescale's integration tests: the real Kubernetes API server of
//! `../shared/realk8s`, a namespace per test, and impersonation of a ServiceAccount.
#![forbid(unsafe_code)]

pub mod realk8s;

pub use realk8s::{TestNamespace, impersonating, real_client, real_kubeconfig};
