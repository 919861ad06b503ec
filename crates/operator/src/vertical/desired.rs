//! The requests and limits one container of a pod should run with, given the target's
//! suggestion and policy. Pure, and the single source of that rule: the vertical actuator
//! (resizing or recreating running pods) and the pod admission webhook (new pods) both
//! call it, so a pod resized in place and a pod created afterwards get the same values.
//!
//! The rules, in order, for CPU and memory separately:
//! 1. A resource the container does not request (absent or zero) is left alone: giving it
//!    a request could turn a BestEffort pod Burstable.
//! 2. The request is the recommendation; memory is raised to the OOM floor (memory raised
//!    after OOM kills); then it is kept within `lowerbound`/`upperbound` (the upperbound
//!    wins over the OOM floor: it is the user's hard ceiling). CPU is rounded up to whole
//!    millicores and memory to whole bytes, as the API server stores them.
//! 3. A container without a limit keeps none. Otherwise, in a Guaranteed pod the limit
//!    equals the request (Guaranteed stays Guaranteed); in a Burstable pod the limit is
//!    `request × limit.ratio` when the policy sets a ratio, else the container's own
//!    limit-to-request ratio is kept — and a limit that was above its request stays above
//!    it, so a Burstable pod never turns Guaranteed.
//!
//! Together these preserve the pod's QoS class for any input (property-tested below):
//! a resize never changes it by accident (the API server would refuse such a resize), and
//! a recreated pod lands in the same class as the one it replaces.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use prescale_api::quantity::{Format, Quantity};
use prescale_api::target::status::ContainerRecommendation;
use prescale_api::target::vertical::{ContainerPolicy, ResourceName, ResourcePolicy};

/// The policy entry name that covers every container not named otherwise.
pub const ALL_CONTAINERS: &str = "*";

/// Nano-units in one millicore and in one byte: the grids CPU and memory are rounded to.
const CPU_UNIT: i128 = 1_000_000;
const MEMORY_UNIT: i128 = 1_000_000_000;

/// A pod's Quality of Service class, as the kubelet computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error("{path}: {value:?} is not a quantity ({reason})")]
    BadQuantity {
        path: String,
        value: String,
        reason: String,
    },
}

/// The policy that applies to `container`: its named entry, else the `*` entry; `None`
/// when the target does not cover the container (it is then never touched).
pub fn policy_for<'a>(
    policies: &'a [ContainerPolicy],
    container: &str,
) -> Option<&'a ContainerPolicy> {
    policies
        .iter()
        .find(|p| p.name == container)
        .or_else(|| policies.iter().find(|p| p.name == ALL_CONTAINERS))
}

/// The suggestion's entry for `container` of the workload `workload` (`<Kind>/<name>`);
/// entries without a workload (targets with `scaleTargetRef`) match any workload.
pub fn recommendation_for<'a>(
    recommendations: &'a [ContainerRecommendation],
    workload: &str,
    container: &str,
) -> Option<&'a ContainerRecommendation> {
    recommendations
        .iter()
        .find(|r| r.name == container && r.workload.as_deref().is_none_or(|w| w == workload))
}

fn parse(path: impl Fn() -> String, value: &str) -> Result<Quantity, DesiredError> {
    value.parse().map_err(
        |e: prescale_api::quantity::QuantityError| DesiredError::BadQuantity {
            path: path(),
            value: value.to_string(),
            reason: e.to_string(),
        },
    )
}

fn key(resource: ResourceName) -> &'static str {
    match resource {
        ResourceName::Cpu => "cpu",
        ResourceName::Memory => "memory",
    }
}

/// A quantity of `resource` in `map`, zero and absent alike meaning "not set" (as the
/// kubelet's QoS computation treats them).
fn get(
    map: Option<&BTreeMap<String, K8sQuantity>>,
    resource: ResourceName,
    path: &str,
) -> Result<Option<Quantity>, DesiredError> {
    let Some(q) = map.and_then(|m| m.get(key(resource))) else {
        return Ok(None);
    };
    let q = parse(|| format!("{path}.{}", key(resource)), &q.0)?;
    Ok((!q.is_zero()).then_some(q))
}

/// Requests as the API server defaults them: a limit without a request implies an equal
/// request.
fn effective(
    r: &ResourceRequirements,
    resource: ResourceName,
) -> Result<(Option<Quantity>, Option<Quantity>), DesiredError> {
    let request = get(r.requests.as_ref(), resource, "resources.requests")?;
    let limit = get(r.limits.as_ref(), resource, "resources.limits")?;
    Ok((request.or(limit), limit))
}

/// The QoS class of a pod with these containers' resources (app and init containers).
pub fn pod_qos<'a>(
    containers: impl IntoIterator<Item = &'a ResourceRequirements>,
) -> Result<QosClass, DesiredError> {
    let mut any = false;
    let mut guaranteed = true;
    for r in containers {
        for resource in [ResourceName::Cpu, ResourceName::Memory] {
            let (request, limit) = effective(r, resource)?;
            any |= request.is_some() || limit.is_some();
            guaranteed &= limit.is_some() && request == limit;
        }
    }
    Ok(match (any, guaranteed) {
        (false, _) => QosClass::BestEffort,
        (true, true) => QosClass::Guaranteed,
        (true, false) => QosClass::Burstable,
    })
}

fn unit(resource: ResourceName) -> i128 {
    match resource {
        ResourceName::Cpu => CPU_UNIT,
        ResourceName::Memory => MEMORY_UNIT,
    }
}

fn ceil_to(q: Quantity, unit: i128) -> Quantity {
    Quantity::from_nanos(
        q.nanos().div_euclid(unit) * unit + unit * i128::from(q.nanos().rem_euclid(unit) != 0),
    )
}

fn floor_to(q: Quantity, unit: i128) -> Quantity {
    Quantity::from_nanos(q.nanos().div_euclid(unit) * unit)
}

fn format(q: Quantity, resource: ResourceName) -> K8sQuantity {
    K8sQuantity(match resource {
        ResourceName::Cpu => format!("{}m", q.nanos() / CPU_UNIT),
        ResourceName::Memory => q.format(Format::Binary),
    })
}

/// The request for one resource: recommendation, OOM floor, bounds, rounding.
fn request(
    recommended: Quantity,
    oom_floor: Option<Quantity>,
    policy: Option<&ResourcePolicy>,
    resource: ResourceName,
    path: &str,
) -> Result<Quantity, DesiredError> {
    let bound = |b: Option<&prescale_api::quantity::QuantityValue>, name: &str| {
        b.map(|v| {
            v.quantity().map_err(|e| DesiredError::BadQuantity {
                path: format!("{path}.{name}"),
                value: format!("{v:?}"),
                reason: e.to_string(),
            })
        })
        .transpose()
    };
    let u = unit(resource);
    let lower = bound(policy.and_then(|p| p.lowerbound.as_ref()), "lowerbound")?;
    let upper = bound(policy.and_then(|p| p.upperbound.as_ref()), "upperbound")?;
    let mut value = recommended.max(oom_floor.unwrap_or(Quantity::ZERO));
    if let Some(lower) = lower {
        value = value.max(lower);
    }
    value = ceil_to(value, u);
    if let Some(upper) = upper {
        // The largest value on the grid within the bound (never zero: a zero request
        // means "none" and would change the QoS class).
        value = value.min(floor_to(upper, u).max(Quantity::from_nanos(u)));
    }
    Ok(value.max(Quantity::from_nanos(u)))
}

/// `value × numerator / denominator`, rounded up to the resource's grid. `value` is on the
/// grid; working in grid units after reducing the fraction keeps every product far from
/// overflow for any real quantity.
fn scale(value: Quantity, numerator: i128, denominator: i128, u: i128) -> Quantity {
    fn gcd(a: i128, b: i128) -> i128 {
        if b == 0 {
            a.abs().max(1)
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(numerator, denominator);
    let (numerator, denominator) = (numerator / g, (denominator / g).max(1));
    let n = (value.nanos() / u).saturating_mul(numerator);
    let units = n.div_euclid(denominator) + i128::from(n.rem_euclid(denominator) != 0);
    Quantity::from_nanos(units.saturating_mul(u))
}

/// The resources `current` should have under `recommendation` and `policy`, in a pod of
/// class `pod_qos` (see the module doc for the rules). Resources other than CPU and
/// memory are kept as they are. `oom_floor` is the memory the target raised this
/// container to after OOM kills (`status.oomAdjustedMemory`).
pub fn desired_resources(
    current: &ResourceRequirements,
    recommendation: &ContainerRecommendation,
    policy: &ContainerPolicy,
    oom_floor: Option<Quantity>,
    pod_qos: QosClass,
) -> Result<ResourceRequirements, DesiredError> {
    let mut out = current.clone();
    for resource in [ResourceName::Cpu, ResourceName::Memory] {
        let (recommended, resource_policy, floor) = match resource {
            ResourceName::Cpu => (recommendation.cpu.as_deref(), policy.cpu.as_ref(), None),
            ResourceName::Memory => (
                recommendation.memory.as_deref(),
                policy.memory.as_ref(),
                oom_floor,
            ),
        };
        let (cur_request, cur_limit) = effective(current, resource)?;
        let (Some(recommended), Some(cur_request)) = (recommended, cur_request) else {
            continue;
        };
        let policy_path = format!(
            "spec.vertical.containers[{}].{}",
            policy.name,
            key(resource)
        );
        let recommended = parse(
            || {
                format!(
                    "status.suggestion.containers[{}].{}",
                    recommendation.name,
                    key(resource)
                )
            },
            recommended,
        )?;
        let new_request = request(recommended, floor, resource_policy, resource, &policy_path)?;
        let u = unit(resource);
        let new_limit = cur_limit.map(|cur_limit| {
            if pod_qos == QosClass::Guaranteed {
                return new_request;
            }
            let ratio = resource_policy
                .and_then(|p| p.limit.as_ref())
                .and_then(|l| l.ratio)
                .filter(|r| r.is_finite() && *r >= 1.0);
            let limit = match ratio {
                // Ratios are kept to a millionth, exactly enough for any spec value.
                Some(r) => scale(new_request, (r * 1e6).round() as i128, 1_000_000, u),
                None => scale(new_request, cur_limit.nanos(), cur_request.nanos(), u),
            };
            if cur_limit > cur_request && limit <= new_request {
                Quantity::from_nanos(new_request.nanos() + u)
            } else {
                limit.max(new_request)
            }
        });
        out.requests
            .get_or_insert_with(BTreeMap::new)
            .insert(key(resource).into(), format(new_request, resource));
        if let Some(limit) = new_limit {
            out.limits
                .get_or_insert_with(BTreeMap::new)
                .insert(key(resource).into(), format(limit, resource));
        }
    }
    Ok(out)
}

/// The resources (CPU, memory) whose request or limit differs between `a` and `b`,
/// comparing values rather than spellings (`1` equals `1000m`).
pub fn changed_resources(
    a: &ResourceRequirements,
    b: &ResourceRequirements,
) -> Result<Vec<ResourceName>, DesiredError> {
    let mut changed = vec![];
    for resource in [ResourceName::Cpu, ResourceName::Memory] {
        let pa = (
            get(a.requests.as_ref(), resource, "requests")?,
            get(a.limits.as_ref(), resource, "limits")?,
        );
        let pb = (
            get(b.requests.as_ref(), resource, "requests")?,
            get(b.limits.as_ref(), resource, "limits")?,
        );
        if pa != pb {
            changed.push(resource);
        }
    }
    Ok(changed)
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
