//! The custom JSON merge: stack < layers (in the instance's declared order) < apps being
//! deployed < `--attributes`. Mappings merge key by key and anything else replaces, as
//! OpsWorks merged custom JSON into the stack configuration attributes.

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, InputErrors, Span};

/// Merges `over` into `base`: mappings key by key, anything else replaced.
pub fn deep_merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => deep_merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Merges the layers in order, lowest first.
pub fn merged<'a>(layers: impl IntoIterator<Item = &'a Map<String, Value>>) -> Map<String, Value> {
    let mut out = Map::new();
    for l in layers {
        deep_merge(&mut out, l);
    }
    out
}

/// `--attributes JSON|@file`: a mapping, given inline or read from a JSON or YAML file. Later
/// ones merge over earlier ones.
pub fn parse_cli(args: &[String]) -> Result<Map<String, Value>, InputErrors> {
    let mut out = Map::new();
    for a in args {
        let value = match a.strip_prefix('@') {
            Some(path) => {
                let path = std::path::Path::new(path);
                crate::yaml::load_file(path)
                    .map_err(|d| InputErrors(vec![d]))?
                    .to_json()
            }
            None => serde_json::from_str(a).map_err(|e| {
                InputErrors(vec![Diagnostic::new(
                    Span::unknown(),
                    format!("--attributes: not valid JSON: {e}"),
                )
                .help("give a JSON mapping, e.g. --attributes '{\"lb\": {\"port\": 8080}}', or @file")])
            })?,
        };
        match value {
            Value::Object(m) => deep_merge(&mut out, &m),
            other => {
                return Err(InputErrors(vec![Diagnostic::new(
                    Span::unknown(),
                    format!(
                        "--attributes must be a mapping, found {}",
                        crate::values::type_name(&other)
                    ),
                )]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn mappings_merge_and_the_rest_replaces() {
        let stack = m(json!({"lb": {"port": 80, "backends": [1, 2]}, "mode": "a"}));
        let layer = m(json!({"lb": {"backends": [3]}, "only_layer": true}));
        let cli = m(json!({"lb": {"port": 8080}, "mode": {"x": 1}}));
        let out = merged([&stack, &layer, &cli]);
        assert_eq!(
            Value::Object(out),
            json!({"lb": {"port": 8080, "backends": [3]}, "mode": {"x": 1}, "only_layer": true})
        );
    }

    #[test]
    fn cli_attributes_are_json_mappings() {
        let out = parse_cli(&["{\"a\": {\"b\": 1}}".into(), "{\"a\": {\"c\": 2}}".into()]).unwrap();
        assert_eq!(Value::Object(out), json!({"a": {"b": 1, "c": 2}}));
        let err = parse_cli(&["[1]".into()]).unwrap_err();
        assert!(err.render().contains("must be a mapping"));
        let err = parse_cli(&["{bad".into()]).unwrap_err();
        assert!(err.render().contains("not valid JSON"));
    }
}
