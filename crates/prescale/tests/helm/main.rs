//! The Helm chart (deploy/helm/prescale), with the helm binary of scripts/deps/helm.sh:
//! generated files in sync with the Rust code, the same objects as `prescale install`,
//! seed 003's values, the schema's refusals, and the real API server's verdict.

mod agree;
mod files;
mod real;
mod render;
mod support;
