//! `set_stats` results, kept for the end of the run as Ansible's `AggregateStats.custom`:
//! per host, or for the whole run (`_run`). With `aggregate` (the default) a new value is
//! added to the one kept: mappings merged recursively, numbers added, strings and lists
//! concatenated; a value of another type is ignored, as Python's `isinstance` check does.
//! Without it the value replaces the one kept.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

/// The key Ansible keeps run-wide statistics under.
pub const RUN: &str = "_run";

#[derive(Debug, Default)]
pub struct CustomStats(Mutex<BTreeMap<String, Map<String, Value>>>);

impl CustomStats {
    /// Records one `ansible_stats` result for `hosts` (the task's hosts under `per_host`).
    pub fn record(&self, stats: &Value, hosts: &[String]) {
        let Some(data) = stats.get("data").and_then(Value::as_object) else {
            return;
        };
        if data.is_empty() {
            return;
        }
        let per_host = stats.get("per_host").and_then(Value::as_bool) != Some(false);
        let aggregate = stats.get("aggregate").and_then(Value::as_bool) == Some(true);
        let keys: Vec<String> = if per_host {
            hosts.to_vec()
        } else {
            vec![RUN.to_string()]
        };
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            let kept = all.entry(key).or_default();
            for (k, v) in data {
                match kept.get_mut(k) {
                    Some(old) if aggregate => add(old, v),
                    _ => {
                        kept.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }

    /// Everything kept, per host and `_run`.
    pub fn snapshot(&self) -> BTreeMap<String, Map<String, Value>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Python's `+=` (or `merge_hash` for mappings) on JSON values of the same type.
fn add(old: &mut Value, new: &Value) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => merge_hash(a, b),
        (Value::Array(a), Value::Array(b)) => a.extend(b.iter().cloned()),
        (Value::String(a), Value::String(b)) => a.push_str(b),
        (Value::Number(a), Value::Number(b)) => {
            let sum = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x.checked_add(y).map(Value::from),
                _ => None,
            };
            let sum = sum.unwrap_or_else(|| {
                Value::from(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
            });
            if let Value::Number(n) = sum {
                *a = n;
            }
        }
        _ => {}
    }
}

/// Ansible's `merge_hash` (recursive, lists replaced): `b` wins, mappings merge.
fn merge_hash(a: &mut Map<String, Value>, b: &Map<String, Value>) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (Some(Value::Object(x)), Value::Object(y)) => merge_hash(x, y),
            _ => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aggregates_as_ansible_does() {
        let s = CustomStats::default();
        let hosts = ["a".to_string(), "b".to_string()];
        let rec = |data: Value, per_host: bool, aggregate: bool| {
            s.record(
                &json!({"data": data, "per_host": per_host, "aggregate": aggregate}),
                &hosts[..1],
            )
        };
        rec(
            json!({"n": 1, "l": [1], "s": "x", "d": {"k": {"a": 1}}}),
            false,
            true,
        );
        rec(
            json!({"n": 2, "l": [2], "s": "y", "d": {"k": {"b": 2}}}),
            false,
            true,
        );
        rec(json!({"n": "three"}), false, true);
        rec(json!({"m": 1}), true, true);
        rec(json!({"m": 5}), true, false);
        let all = s.snapshot();
        assert_eq!(
            Value::Object(all[RUN].clone()),
            json!({"n": 3, "l": [1, 2], "s": "xy", "d": {"k": {"a": 1, "b": 2}}})
        );
        assert_eq!(Value::Object(all["a"].clone()), json!({"m": 5}));
        assert!(!all.contains_key("b"));
        s.record(&json!({"data": {}, "per_host": false}), &hosts);
        assert_eq!(s.snapshot().len(), 2);
    }
}
