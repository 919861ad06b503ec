//! Fault injection for reliability tests: per resource and verb, an error rate (500, 429 or
//! 409), added latency, and watch streams cut short.

use std::time::Duration;

/// One rule; `None` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    /// Plural resource name, e.g. `pods`.
    pub resource: Option<String>,
    /// get, list, watch, create, update, patch, delete.
    pub verb: Option<String>,
    /// One object's name (its subresources included): fail that object alone.
    pub name: Option<String>,
    /// Share of matching requests that fail, in [0, 1].
    pub error_rate: f64,
    /// HTTP status of the injected failures: 500, 429 or 409.
    pub error_code: u16,
    /// Added before every matching request is served.
    pub latency: Duration,
    /// Watches end after this long (a disconnect the client must survive).
    pub watch_cut_after: Option<Duration>,
}

impl Fault {
    pub fn matches(&self, resource: &str, verb: &str, name: Option<&str>) -> bool {
        self.resource.as_deref().is_none_or(|r| r == resource)
            && self.verb.as_deref().is_none_or(|v| v == verb)
            && self.name.as_deref().is_none_or(|n| Some(n) == name)
    }
}

/// What the server should do to one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Injection {
    pub fail_with: Option<u16>,
    pub latency: Duration,
    pub watch_cut_after: Option<Duration>,
}

/// Combines every rule matching a request for `verb` on `resource` (object `name`, if
/// one); `roll` draws uniformly from [0, 1).
pub fn decide(
    faults: &[Fault],
    resource: &str,
    verb: &str,
    name: Option<&str>,
    mut roll: impl FnMut() -> f64,
) -> Injection {
    let mut out = Injection::default();
    for f in faults.iter().filter(|f| f.matches(resource, verb, name)) {
        out.latency += f.latency;
        if out.fail_with.is_none() && f.error_rate > 0.0 && roll() < f.error_rate {
            out.fail_with = Some(f.error_code);
        }
        out.watch_cut_after = match (out.watch_cut_after, f.watch_cut_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_resource_and_verb() {
        let faults = vec![
            Fault {
                resource: Some("pods".into()),
                verb: Some("get".into()),
                error_rate: 1.0,
                error_code: 500,
                ..Default::default()
            },
            Fault {
                latency: Duration::from_millis(5),
                ..Default::default()
            },
        ];
        let d = decide(&faults, "pods", "get", Some("a"), || 0.5);
        assert_eq!(
            (d.fail_with, d.latency),
            (Some(500), Duration::from_millis(5))
        );
        assert_eq!(
            decide(&faults, "pods", "list", None, || 0.5).fail_with,
            None
        );
        assert_eq!(
            decide(&faults, "configmaps", "get", None, || 0.0).fail_with,
            None
        );
        let one = [Fault {
            name: Some("a".into()),
            error_rate: 1.0,
            error_code: 500,
            ..Default::default()
        }];
        assert_eq!(
            decide(&one, "pods", "patch", Some("a"), || 0.5).fail_with,
            Some(500)
        );
        assert_eq!(
            decide(&one, "pods", "patch", Some("b"), || 0.5).fail_with,
            None
        );
        assert_eq!(decide(&one, "pods", "list", None, || 0.5).fail_with, None);
    }
}
