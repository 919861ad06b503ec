//! The system-wide pause (seed 002).
//!
//! The pause lives in the ConfigMap `thoras-operator-system-config` in the operator's
//! namespace, key `system-config.yaml`, holding `scaling-paused: true|false`. A missing
//! ConfigMap (or key) means "not paused". A malformed one also means "not paused" — the
//! pause is an opt-in brake, and a typo must not silently freeze the cluster — but the
//! problem is reported so the operator can surface it as a condition and a log line.
//!
//! This module only decides; watching the ConfigMap is the controller's job.

use std::collections::BTreeMap;

/// Name of the ConfigMap holding the system configuration.
pub const SYSTEM_CONFIG_MAP: &str = "thoras-operator-system-config";
/// Key inside the ConfigMap whose value is a small YAML document.
pub const SYSTEM_CONFIG_KEY: &str = "system-config.yaml";
/// The field of that YAML document that pauses scaling.
pub const SCALING_PAUSED_FIELD: &str = "scaling-paused";

/// What the operator should do about applying changes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseState {
    pub paused: bool,
    /// Set when the ConfigMap exists but could not be understood.
    pub problem: Option<String>,
}

impl PauseState {
    pub const RUNNING: PauseState = PauseState {
        paused: false,
        problem: None,
    };
}

/// Decides the pause state from the ConfigMap's `data`, or `None` when it does not exist.
pub fn pause_state(data: Option<&BTreeMap<String, String>>) -> PauseState {
    let Some(data) = data else {
        return PauseState::RUNNING;
    };
    let Some(doc) = data.get(SYSTEM_CONFIG_KEY) else {
        return PauseState::RUNNING;
    };
    match parse_scaling_paused(doc) {
        Ok(paused) => PauseState {
            paused,
            problem: None,
        },
        Err(problem) => PauseState {
            paused: false,
            problem: Some(format!(
                "ConfigMap {SYSTEM_CONFIG_MAP}, key {SYSTEM_CONFIG_KEY}: {problem}; \
                 treating scaling as not paused (fix: set `{SCALING_PAUSED_FIELD}: true` or `false`)"
            )),
        },
    }
}

fn parse_scaling_paused(doc: &str) -> Result<bool, String> {
    if doc.trim().is_empty() {
        return Ok(false);
    }
    let value: serde_json::Value =
        serde_saphyr::from_str(doc).map_err(|e| format!("not valid YAML ({e})"))?;
    match value {
        serde_json::Value::Null => Ok(false),
        serde_json::Value::Object(map) => match map.get(SCALING_PAUSED_FIELD) {
            None | Some(serde_json::Value::Null) => Ok(false),
            Some(serde_json::Value::Bool(b)) => Ok(*b),
            Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(other) => Err(format!(
                "`{SCALING_PAUSED_FIELD}` must be true or false, found {other}"
            )),
        },
        other => Err(format!(
            "expected a mapping with `{SCALING_PAUSED_FIELD}`, found {other}"
        )),
    }
}

/// The ConfigMap `data` that sets the pause to `paused` (used by `prescale pause|resume`).
pub fn config_map_data(paused: bool) -> BTreeMap<String, String> {
    BTreeMap::from([(
        SYSTEM_CONFIG_KEY.to_string(),
        format!("{SCALING_PAUSED_FIELD}: {paused}\n"),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(doc: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(SYSTEM_CONFIG_KEY.to_string(), doc.to_string())])
    }

    #[test]
    fn missing_config_map_means_not_paused() {
        assert_eq!(pause_state(None), PauseState::RUNNING);
        assert_eq!(pause_state(Some(&BTreeMap::new())), PauseState::RUNNING);
    }

    #[test]
    fn scaling_paused_true_pauses_and_false_resumes() {
        assert!(pause_state(Some(&data("scaling-paused: true"))).paused);
        assert!(!pause_state(Some(&data("scaling-paused: false"))).paused);
        assert!(pause_state(Some(&data("scaling-paused: \"true\"\n"))).paused);
    }

    #[test]
    fn malformed_config_is_reported_and_not_paused() {
        for doc in [
            "scaling-paused: maybe",
            "[1, 2]",
            "scaling-paused: {",
            "scaling-paused: 1",
        ] {
            let state = pause_state(Some(&data(doc)));
            assert!(!state.paused, "{doc}");
            let problem = state.problem.expect(doc);
            assert!(problem.contains(SYSTEM_CONFIG_MAP), "{problem}");
        }
    }

    #[test]
    fn written_data_round_trips() {
        for paused in [true, false] {
            assert_eq!(pause_state(Some(&config_map_data(paused))).paused, paused);
        }
    }
}
