//! The unit of a trace, for plots a person can read: cores, MiB/GiB, requests/s, percent.
//! Taken from a `manifest.json` beside the CSV files (its `metric_kind`, as in
//! ../shared/data/traces) when there is one, else from the file name.
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Cores,
    Bytes,
    /// A count per sampling interval, shown per second.
    RequestsPerInterval,
    Percent,
    /// Normalised units (0..1 of a capacity), shown as is.
    Normalized,
    /// Unknown: shown as is.
    Plain,
}

/// How values are shown on an axis: divided by `divisor`, labelled `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub name: String,
    pub divisor: f64,
}

impl Unit {
    fn from_kind(kind: &str) -> Unit {
        let kind = kind.to_ascii_lowercase();
        if kind.contains("bytes") {
            Unit::Bytes
        } else if kind.contains("cores") {
            Unit::Cores
        } else if kind.contains("requests") {
            Unit::RequestsPerInterval
        } else if kind.contains("percent") {
            Unit::Percent
        } else if kind.contains("normalized") {
            Unit::Normalized
        } else {
            Unit::Plain
        }
    }

    /// The scale for values up to `max`, sampled every `step` seconds.
    pub fn scale(self, max: f64, step: i64) -> Scale {
        let scale = |name: &str, divisor: f64| Scale {
            name: name.into(),
            divisor,
        };
        match self {
            Unit::Cores => scale("cores", 1.0),
            Unit::Bytes => {
                const MIB: f64 = 1024.0 * 1024.0;
                if max >= 2.0 * 1024.0 * MIB {
                    scale("GiB", 1024.0 * MIB)
                } else {
                    scale("MiB", MIB)
                }
            }
            Unit::RequestsPerInterval => scale("requests/s", step.max(1) as f64),
            Unit::Percent => scale("% of CPU", 1.0),
            Unit::Normalized => scale("normalized units", 1.0),
            Unit::Plain => scale("value", 1.0),
        }
    }
}

/// Units of the files of a directory, read from its `manifest.json` (file → metric_kind).
#[derive(Debug, Default)]
pub struct Units {
    manifests: HashMap<std::path::PathBuf, HashMap<String, String>>,
}

impl Units {
    /// The unit of `file`: its manifest entry, else its name.
    pub fn of(&mut self, file: &Path) -> Unit {
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let manifest = self
            .manifests
            .entry(dir.clone())
            .or_insert_with(|| read_manifest(&dir.join("manifest.json")));
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Unit::from_kind(manifest.get(&name).map_or(name.as_str(), String::as_str))
    }
}

/// `{"series": [{"file": ..., "metric_kind": ...}]}`; anything else (or no file) is empty.
fn read_manifest(path: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return HashMap::new();
    };
    doc["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some((
                s["file"].as_str()?.into(),
                s["metric_kind"].as_str()?.into(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_come_from_the_manifest_or_the_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"series": [{"file": "nab_cpu.csv", "metric_kind": "cpu_percent"}]}"#,
        )
        .unwrap();
        let mut units = Units::default();
        assert_eq!(units.of(&dir.path().join("nab_cpu.csv")), Unit::Percent);
        assert_eq!(
            units.of(&dir.path().join("vm_memory_bytes.csv")),
            Unit::Bytes
        );
        assert_eq!(
            units.of(Path::new("/nowhere/fn_requests.csv")),
            Unit::RequestsPerInterval
        );
        assert_eq!(Unit::Bytes.scale(6e9, 300).name, "GiB");
        assert_eq!(Unit::Bytes.scale(6e8, 300).name, "MiB");
        assert_eq!(Unit::RequestsPerInterval.scale(1.0, 300).divisor, 300.0);
    }
}
