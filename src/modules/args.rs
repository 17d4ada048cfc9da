//! Typed access to a task's module arguments after templating, with Ansible's conversions
//! (`yes`/`no` booleans, comma-separated lists, octal modes given as strings or integers).

use serde_json::{Map, Value};

use crate::modules::ModuleError;
use crate::values::{to_bool, to_str, type_name};

#[derive(Clone, Debug, Default)]
pub struct Args(pub Map<String, Value>);

impl Args {
    pub fn new(m: Map<String, Value>) -> Self {
        Args(m)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(to_str)
    }

    pub fn req_str(&self, name: &str) -> Result<String, ModuleError> {
        self.str(name)
            .ok_or_else(|| ModuleError::Args(format!("missing required arguments: {name}")))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => to_bool(v).map(Some).ok_or_else(|| {
                ModuleError::Args(format!(
                    "argument '{name}' is of type {} and we were unable to convert to bool",
                    type_name(v)
                ))
            }),
        }
    }

    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ModuleError> {
        Ok(self.bool(name)?.unwrap_or(default))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as i64)),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                ModuleError::Args(format!(
                    "argument '{name}' is of type str and we were unable to convert to int: '{s}'"
                ))
            }),
            Some(v) => Err(ModuleError::Args(format!(
                "argument '{name}' is of type {} and we were unable to convert to int",
                type_name(v)
            ))),
        }
    }

    pub fn float(&self, name: &str) -> Result<Option<f64>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                ModuleError::Args(format!(
                    "argument '{name}' is of type str and we were unable to convert to float: '{s}'"
                ))
            }),
            Some(v) => Err(ModuleError::Args(format!(
                "argument '{name}' is of type {} and we were unable to convert to float",
                type_name(v)
            ))),
        }
    }

    /// A list, or a comma-separated string split and trimmed, as Ansible's `type='list'`.
    pub fn list(&self, name: &str) -> Result<Option<Vec<Value>>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|p| Value::from(p.trim()))
                    .filter(|v| v != "")
                    .collect(),
            )),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(vec![v.clone()])),
            Some(v) => Err(ModuleError::Args(format!(
                "argument '{name}' is of type {} and we were unable to convert to list",
                type_name(v)
            ))),
        }
    }

    pub fn str_list(&self, name: &str) -> Result<Option<Vec<String>>, ModuleError> {
        Ok(self
            .list(name)?
            .map(|l| l.iter().filter_map(to_str).collect()))
    }

    pub fn dict(&self, name: &str) -> Result<Option<Map<String, Value>>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(v) => Err(ModuleError::Args(format!(
                "argument '{name}' is of type {} and we were unable to convert to dict",
                type_name(v)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ansible_conversions() {
        let a = Args(
            json!({"b": "yes", "n": "no", "l": "a, b,c", "i": "42", "x": "maybe"})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(a.bool("b").unwrap(), Some(true));
        assert_eq!(a.bool("n").unwrap(), Some(false));
        assert!(a.bool("x").is_err());
        assert_eq!(a.str_list("l").unwrap().unwrap(), vec!["a", "b", "c"]);
        assert_eq!(a.int("i").unwrap(), Some(42));
        assert_eq!(a.str("missing"), None);
    }
}
