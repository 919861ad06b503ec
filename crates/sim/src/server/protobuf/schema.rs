//! The protobuf layout of the built-in types (`schema.txt`, generated from the k8s-pb and
//! k8s-openapi crates by `crates/sim/gen/protobuf_schema.py`), parsed once.

use std::collections::HashMap;
use std::sync::OnceLock;

/// How a field repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Optional,
    Repeated,
    /// `map<string, V>`: repeated entries `{1: key, 2: value}`.
    Map,
}

/// A field's value type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
    Message(String),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub tag: u32,
    /// The JSON name; `None` for a struct Go embeds inline (its fields sit in the parent).
    pub json: Option<String>,
    pub label: Label,
    pub ty: Type,
}

#[derive(Debug, Default)]
pub struct Schema {
    messages: HashMap<String, Vec<Field>>,
    /// (apiVersion, kind) → message
    kinds: HashMap<(String, String), String>,
    /// apiVersion → the module (message name prefix) of its types
    modules: HashMap<String, String>,
}

const META: &str = "apimachinery.pkg.apis.meta.v1";

impl Schema {
    /// The schema of the built-in types.
    pub fn builtin() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema::parse(include_str!("schema.txt")))
    }

    fn parse(text: &str) -> Schema {
        let mut schema = Schema::default();
        let mut current: Option<String> = None;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["K", api_version, kind, message] => {
                    let module = message.rsplit_once('.').map_or("", |(m, _)| m);
                    schema
                        .modules
                        .insert(api_version.to_string(), module.to_string());
                    schema.kinds.insert(
                        (api_version.to_string(), kind.to_string()),
                        message.to_string(),
                    );
                }
                ["M", message] => {
                    current = Some(message.to_string());
                    schema.messages.insert(message.to_string(), vec![]);
                }
                [tag, json, label, ty, rest @ ..] => {
                    let (Some(message), Ok(tag)) = (&current, tag.parse()) else {
                        continue;
                    };
                    let label = match *label {
                        "rep" => Label::Repeated,
                        "map" => Label::Map,
                        _ => Label::Optional,
                    };
                    let ty = match *ty {
                        "string" => Type::String,
                        "bytes" => Type::Bytes,
                        "bool" => Type::Bool,
                        "int32" => Type::Int32,
                        "int64" => Type::Int64,
                        "double" => Type::Double,
                        _ => Type::Message(rest.first().copied().unwrap_or_default().to_string()),
                    };
                    let json = (*json != "~").then(|| json.to_string());
                    if let Some(fields) = schema.messages.get_mut(message) {
                        fields.push(Field {
                            tag,
                            json,
                            label,
                            ty,
                        });
                    }
                }
                _ => {}
            }
        }
        schema
    }

    pub fn fields(&self, message: &str) -> &[Field] {
        self.messages.get(message).map_or(&[], Vec::as_slice)
    }

    /// The message of `kind` in `apiVersion`: a registered kind, a type of the same module
    /// (`DeploymentList`, `Scale`), or a meta type served in every group (`Status`,
    /// `DeleteOptions`).
    pub fn message_for(&self, api_version: &str, kind: &str) -> Option<&str> {
        if let Some(m) = self.kinds.get(&(api_version.to_string(), kind.to_string())) {
            return Some(m);
        }
        let module = match api_version {
            "meta.k8s.io/v1" => Some(META),
            "metrics.k8s.io/v1beta1" => Some("metrics.pkg.apis.metrics.v1beta1"),
            "autoscaling/v1" => Some("api.autoscaling.v1"),
            other => self.modules.get(other).map(String::as_str),
        };
        [module, Some(META)]
            .into_iter()
            .flatten()
            .map(|m| format!("{m}.{kind}"))
            .find_map(|name| self.messages.get_key_value(&name).map(|(k, _)| k.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_lists_and_meta_types_resolve() {
        let s = Schema::builtin();
        assert_eq!(
            s.message_for("apps/v1", "Deployment"),
            Some("api.apps.v1.Deployment")
        );
        assert_eq!(
            s.message_for("apps/v1", "DeploymentList"),
            Some("api.apps.v1.DeploymentList")
        );
        assert_eq!(
            s.message_for("v1", "DeleteOptions"),
            Some("apimachinery.pkg.apis.meta.v1.DeleteOptions")
        );
        assert_eq!(
            s.message_for("autoscaling/v1", "Scale"),
            Some("api.autoscaling.v1.Scale")
        );
        assert_eq!(
            s.message_for("metrics.k8s.io/v1beta1", "PodMetrics"),
            Some("metrics.pkg.apis.metrics.v1beta1.PodMetrics")
        );
        assert_eq!(s.message_for("thoras.ai/v1", "AIScaleTarget"), None);
        let volume = s.fields("api.core.v1.Volume");
        assert!(
            volume.iter().any(|f| f.json.is_none()),
            "VolumeSource is inline"
        );
    }
}
