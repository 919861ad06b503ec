//! The CustomResourceDefinitions, generated from the Rust types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::{AIScaleTarget, ClusterAIScaleTemplate};

/// Both CRDs, AIScaleTarget first.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![AIScaleTarget::crd(), ClusterAIScaleTemplate::crd()]
}

/// Both CRDs as one multi-document YAML stream (what `prescale crds` prints and
/// `deploy/crds.yaml` holds).
pub fn crds_yaml() -> String {
    crds()
        .iter()
        .map(|crd| serde_saphyr::to_string(crd).expect("CRDs serialise to YAML"))
        .map(|doc| format!("---\n{doc}"))
        .collect()
}
