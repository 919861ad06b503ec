//! The install manifest (`prescale install`): namespace, CRDs, ServiceAccount,
//! least-privilege RBAC, the operator Deployment, optional forecast workers, and the PVC of
//! the embedded history store. Options mirror the Helm values of seed 003.
//!
//! Pure: options in, Kubernetes objects (as JSON values) out.

use serde_json::{Value, json};

use crate::{rbac, webhook};

/// Name shared by the operator's ServiceAccount, ClusterRole, Deployment and labels.
pub const APP: &str = "prescale-operator";
/// Where the embedded store lives inside the operator container.
pub const DATA_DIR: &str = "/var/lib/prescale";
/// The registry (and path) of prescale's image by default: the Helm chart's
/// `imageCredentials.registry` and the reference `scripts/image` gives the image it builds.
pub const IMAGE_REGISTRY: &str = "ghcr.io/prescale";
/// The image's repository below the registry (the chart's `image.repository`).
pub const IMAGE_REPOSITORY: &str = "prescale";
/// The dashboard's port in the operator's pod and on its Service (`<APP>-dashboard`).
/// Inside the pod it listens on every address so the Service reaches it; reads are open
/// to whoever reaches the Service, writes need a token Kubernetes authorises
/// (docs/DASHBOARD.md).
pub const DASHBOARD_PORT: u16 = 8090;

#[derive(Debug, Clone, PartialEq)]
pub struct InstallOptions {
    pub namespace: String,
    /// `imageCredentials.registry`: the registry (and path) images are pulled from.
    pub image_registry: String,
    pub image_tag: String,
    /// `imageCredentials.secretRef`: an existing docker-registry Secret for pulls.
    pub image_pull_secret: Option<String>,
    /// Operator replicas; more than one is safe (leader election through a Lease).
    pub operator_replicas: u32,
    /// Separate `prescale worker` pods (the chart's `thorasForecast.worker.replicas` counts
    /// the operator too: it is this plus one). They share history through PostgreSQL, so
    /// they need `postgres_secret`.
    pub worker_replicas: u32,
    /// A Secret with key `url` holding the PostgreSQL connection string.
    pub postgres_secret: Option<String>,
    /// `metricsCollector.persistence.enabled`.
    pub persistence_enabled: bool,
    /// `metricsCollector.persistence.pvcStorageRequestSize`.
    pub persistence_size: String,
    pub storage_class_name: Option<String>,
    pub volume_name: Option<String>,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            namespace: "prescale-system".into(),
            image_registry: IMAGE_REGISTRY.into(),
            image_tag: env!("CARGO_PKG_VERSION").into(),
            image_pull_secret: None,
            operator_replicas: 1,
            worker_replicas: 0,
            postgres_secret: None,
            persistence_enabled: true,
            persistence_size: "5Gi".into(),
            storage_class_name: None,
            volume_name: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    #[error(
        "--worker-replicas {0} needs --postgres-secret: forecast workers share history through PostgreSQL"
    )]
    WorkersNeedPostgres(u32),
    #[error(
        "--operator-replicas 2 or more with the embedded store needs a volume several pods can mount; use --postgres-secret, or keep one replica"
    )]
    ReplicasNeedSharedStore,
    #[error("--persistence-size {0:?} is not a quantity such as 5Gi")]
    BadSize(String),
    /// `problem` names the value (`"Bad_NS" must be a lowercase RFC 1123 label: ...`).
    #[error("--{flag}: {problem}")]
    BadName { flag: &'static str, problem: String },
    #[error(
        "--image-tag {0:?} is not an image tag: letters, digits, '_', '.' and '-', at most 128, starting with a letter, digit or '_' (e.g. 0.1.0)"
    )]
    BadImageTag(String),
}

/// The names the options give objects, checked as the API server will check them, so a
/// wrong flag is refused here rather than by `kubectl apply` halfway through the manifest.
fn check_names(opts: &InstallOptions) -> Result<(), InstallError> {
    use prescale_api::validate::{NameKind, name_problem};
    let names = [
        ("namespace", NameKind::Label, Some(&opts.namespace)),
        (
            "image-pull-secret",
            NameKind::Subdomain,
            opts.image_pull_secret.as_ref(),
        ),
        (
            "postgres-secret",
            NameKind::Subdomain,
            opts.postgres_secret.as_ref(),
        ),
        (
            "storage-class-name",
            NameKind::Subdomain,
            opts.storage_class_name.as_ref(),
        ),
        (
            "volume-name",
            NameKind::Subdomain,
            opts.volume_name.as_ref(),
        ),
    ];
    for (flag, kind, value) in names {
        let Some(value) = value else { continue };
        if let Some(problem) = name_problem(kind, value) {
            return Err(InstallError::BadName { flag, problem });
        }
    }
    if !is_image_tag(&opts.image_tag) {
        return Err(InstallError::BadImageTag(opts.image_tag.clone()));
    }
    Ok(())
}

/// The OCI distribution spec's tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_image_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    tag.len() <= 128
        && tag.chars().next().is_some_and(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-')
}

/// Every object of the installation, in apply order.
pub fn install_objects(
    opts: &InstallOptions,
    crds: Vec<Value>,
) -> Result<Vec<Value>, InstallError> {
    if opts.worker_replicas > 0 && opts.postgres_secret.is_none() {
        return Err(InstallError::WorkersNeedPostgres(opts.worker_replicas));
    }
    if opts.operator_replicas > 1 && opts.postgres_secret.is_none() && opts.persistence_enabled {
        return Err(InstallError::ReplicasNeedSharedStore);
    }
    if prescale_api::quantity::parse(&opts.persistence_size).is_err() {
        return Err(InstallError::BadSize(opts.persistence_size.clone()));
    }
    check_names(opts)?;
    let ns = opts.namespace.as_str();
    let mut objects = vec![json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": labels()},
    })];
    objects.extend(crds);
    objects.push(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": APP, "namespace": ns, "labels": labels()},
    }));
    objects.push(cluster_role(ns));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": cluster_rbac_name(ns), "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_rbac_name(ns)},
        "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": ns}],
    }));
    objects.push(namespace_role(ns));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": APP, "namespace": ns, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": APP},
        "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": ns}],
    }));
    if opts.persistence_enabled && opts.postgres_secret.is_none() {
        objects.push(pvc(opts));
    }
    objects.push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": APP, "namespace": ns, "labels": labels()},
        "spec": {"selector": {"app.kubernetes.io/name": APP},
                 "ports": [{"name": "http", "port": 8080, "targetPort": "http"},
                           {"name": webhook::LISTEN_PORT_NAME, "port": 443, "targetPort": webhook::LISTEN_PORT_NAME}]},
    }));
    objects.push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("{APP}-dashboard"), "namespace": ns, "labels": labels()},
        "spec": {"selector": {"app.kubernetes.io/name": APP},
                 "ports": [{"name": "dashboard", "port": DASHBOARD_PORT, "targetPort": "dashboard"}]},
    }));
    objects.push(deployment(opts, APP, opts.operator_replicas, &["operator"]));
    // Registered through the Service; the operator writes their caBundle once it has
    // issued its certificate (until then, failurePolicy Ignore admits everything).
    let endpoint = webhook::configs::Endpoint::Service {
        namespace: ns.to_string(),
        name: APP.to_string(),
    };
    let r = webhook::configs::Registration {
        endpoint: &endpoint,
        namespace: ns,
        watched: None,
    };
    objects.push(webhook::configs::mutating(r, None, &labels()));
    objects.push(webhook::configs::validating(r, None, &labels()));
    if opts.worker_replicas > 0 {
        objects.push(deployment(
            opts,
            "prescale-worker",
            opts.worker_replicas,
            &["worker"],
        ));
    }
    Ok(objects)
}

/// The labels of every object of the install.
pub fn labels() -> Value {
    json!({"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": "prescale"})
}

/// The name of the install's cluster-scoped RBAC objects: they carry the namespace, so two
/// installs (e.g. an operator per tenant, scoped with `--watch-namespaces`) never
/// overwrite or delete each other's.
pub fn cluster_rbac_name(namespace: &str) -> String {
    format!("{APP}-{namespace}")
}

/// Cluster-wide permissions: the `Cluster` rows of `rbac::GRANTS`.
fn cluster_role(ns: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": cluster_rbac_name(ns), "labels": labels()},
        "rules": rbac::rules(rbac::Scope::Cluster),
    })
}

/// Permissions in the operator's own namespace only: the `OperatorNamespace` rows.
fn namespace_role(ns: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": APP, "namespace": ns, "labels": labels()},
        "rules": rbac::rules(rbac::Scope::OperatorNamespace),
    })
}

fn pvc(opts: &InstallOptions) -> Value {
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": opts.persistence_size}},
    });
    if let Some(class) = &opts.storage_class_name {
        spec["storageClassName"] = json!(class);
    }
    if let Some(volume) = &opts.volume_name {
        spec["volumeName"] = json!(volume);
    }
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "prescale-history", "namespace": opts.namespace, "labels": labels()},
        "spec": spec,
    })
}

impl InstallOptions {
    /// The image every pod runs: `<registry>/prescale:<tag>`, by default
    /// `ghcr.io/prescale/prescale:<crate version>`.
    pub fn image(&self) -> String {
        format!(
            "{}/{IMAGE_REPOSITORY}:{}",
            self.image_registry.trim_end_matches('/'),
            self.image_tag
        )
    }
}

fn deployment(opts: &InstallOptions, name: &str, replicas: u32, command: &[&str]) -> Value {
    let image = opts.image();
    let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    args.extend(["--namespace".into(), opts.namespace.clone()]);
    let mut ports = vec![json!({"name": "http", "containerPort": 8080})];
    if command == ["operator"] {
        args.push(format!("--dashboard-addr=0.0.0.0:{DASHBOARD_PORT}"));
        ports.push(json!({"name": "dashboard", "containerPort": DASHBOARD_PORT}));
    }
    let mut env = vec![
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
    ];
    let mut volumes = vec![];
    let mut mounts = vec![];
    if let Some(secret) = &opts.postgres_secret {
        env.push(json!({"name": "PRESCALE_STORE",
                        "valueFrom": {"secretKeyRef": {"name": secret, "key": "url"}}}));
    } else {
        args.extend(["--store".into(), format!("{DATA_DIR}/history")]);
        mounts.push(json!({"name": "history", "mountPath": DATA_DIR}));
        volumes.push(if opts.persistence_enabled {
            json!({"name": "history", "persistentVolumeClaim": {"claimName": "prescale-history"}})
        } else {
            json!({"name": "history", "emptyDir": {}})
        });
    }
    // Only the operator's replicas serve the webhooks (the Service selects them alone).
    if command == ["operator"] {
        ports.push(
            json!({"name": webhook::LISTEN_PORT_NAME, "containerPort": webhook::LISTEN_PORT}),
        );
    }
    let mut pod_spec = json!({
        "serviceAccountName": APP,
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "fsGroup": 65532},
        "containers": [{
            "name": "prescale",
            "image": image,
            "args": args,
            "env": env,
            "ports": ports,
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": mounts,
        }],
        "volumes": volumes,
    });
    if let Some(secret) = &opts.image_pull_secret {
        pod_spec["imagePullSecrets"] = json!([{"name": secret}]);
    }
    let selector = json!({"app.kubernetes.io/name": name});
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": opts.namespace, "labels": labels()},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            // One store file, one writer: never run two operators on it at once.
            "strategy": if opts.postgres_secret.is_none() { json!({"type": "Recreate"}) } else { json!({"type": "RollingUpdate"}) },
            "template": {"metadata": {"labels": selector}, "spec": pod_spec},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(objects: &[Value]) -> Vec<&str> {
        objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn default_install_has_every_part() {
        let objects = install_objects(
            &InstallOptions::default(),
            vec![json!({"kind": "CustomResourceDefinition"})],
        )
        .unwrap();
        assert_eq!(
            kinds(&objects),
            [
                "Namespace",
                "CustomResourceDefinition",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
                "PersistentVolumeClaim",
                "Service",
                "Service",
                "Deployment",
                "MutatingWebhookConfiguration",
                "ValidatingWebhookConfiguration"
            ]
        );
        assert_eq!(
            objects[3]["rules"].as_array().unwrap().len()
                + objects[5]["rules"].as_array().unwrap().len(),
            rbac::GRANTS.len(),
            "every grant of the table, in the ClusterRole or the Role"
        );
        assert!(
            serde_json::to_string(&objects[5])
                .unwrap()
                .contains("leases")
        );
        assert_eq!(
            objects[3]["metadata"]["name"],
            "prescale-operator-prescale-system"
        );
        assert_eq!(
            objects[4]["roleRef"]["name"], objects[3]["metadata"]["name"],
            "the binding names the install's own ClusterRole"
        );
    }

    #[test]
    fn helm_values_map_to_flags() {
        let opts = InstallOptions {
            image_registry: "registry.example.com/mirror/".into(),
            image_pull_secret: Some("license".into()),
            storage_class_name: Some("efs".into()),
            volume_name: Some("pv-1".into()),
            persistence_size: "100Gi".into(),
            ..Default::default()
        };
        let objects = install_objects(&opts, vec![]).unwrap();
        let text = serde_json::to_string(&objects).unwrap();
        assert!(
            text.contains("registry.example.com/mirror/prescale:"),
            "{text}"
        );
        assert!(text.contains(r#""imagePullSecrets":[{"name":"license"}]"#));
        assert!(
            text.contains(r#""storageClassName":"efs""#) && text.contains(r#""volumeName":"pv-1""#)
        );
        assert!(text.contains("100Gi"));
    }

    #[test]
    fn workers_need_a_shared_store() {
        let opts = InstallOptions {
            worker_replicas: 3,
            ..Default::default()
        };
        assert_eq!(
            install_objects(&opts, vec![]),
            Err(InstallError::WorkersNeedPostgres(3))
        );
        let opts = InstallOptions {
            worker_replicas: 3,
            postgres_secret: Some("pg".into()),
            ..Default::default()
        };
        let objects = install_objects(&opts, vec![]).unwrap();
        assert_eq!(
            objects.iter().filter(|o| o["kind"] == "Deployment").count(),
            2
        );
        assert!(!kinds(&objects).contains(&"PersistentVolumeClaim"));
    }

    #[test]
    fn names_and_tags_the_server_would_refuse_are_refused_with_their_flag() {
        let bad = |opts: InstallOptions| install_objects(&opts, vec![]).unwrap_err().to_string();
        let err = bad(InstallOptions {
            namespace: "Bad_NS".into(),
            ..Default::default()
        });
        assert!(
            err.starts_with("--namespace: \"Bad_NS\" must be a lowercase RFC 1123 label"),
            "{err}"
        );
        let err = bad(InstallOptions {
            image_pull_secret: Some("my secret".into()),
            ..Default::default()
        });
        assert!(
            err.starts_with("--image-pull-secret: \"my secret\" must be"),
            "{err}"
        );
        for tag in ["", "-rc1", "a:b", &"x".repeat(129)] {
            let err = bad(InstallOptions {
                image_tag: tag.into(),
                ..Default::default()
            });
            assert!(err.contains("is not an image tag"), "{tag:?}: {err}");
        }
        for tag in ["0.1.0", "v1.2.3-rc.1", "latest", "_x"] {
            let opts = InstallOptions {
                image_tag: tag.into(),
                ..Default::default()
            };
            assert!(install_objects(&opts, vec![]).is_ok(), "{tag:?}");
        }
    }
}
