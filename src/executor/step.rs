//! What one module invocation (one loop item, or a whole task without a loop) produced. The
//! flags are the truth: `changed_when`, `failed_when` and `until` change them, and the
//! registered result is built from them in one place ([`Step::value`]), so the JSON a playbook
//! sees can never disagree with what the recap counts.

use serde_json::{Map, Value, json};

use crate::events::FileDiff;

pub struct Step {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub unreachable: bool,
    /// Every other key of the registered result, in Ansible's order. A flag's key sits here
    /// too where Ansible puts it (`failed` first in a failure): [`Step::value`] fills in its
    /// current value there (see [`Step::value`] for flags that have no place yet).
    fields: Map<String, Value>,
    pub diff: Vec<FileDiff>,
}

const FLAGS: [&str; 4] = ["changed", "failed", "skipped", "unreachable"];

impl Step {
    /// A result whose keys come from `v` (an object) and whose flags are read from it.
    pub fn from_value(v: Value, diff: Vec<FileDiff>) -> Step {
        let fields = match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let flag = |k: &str| fields.get(k).and_then(Value::as_bool).unwrap_or(false);
        Step {
            changed: flag("changed"),
            failed: flag("failed"),
            skipped: flag("skipped"),
            unreachable: flag("unreachable"),
            fields,
            diff,
        }
    }

    /// A task that failed before (or instead of) running its module.
    pub fn failed(msg: impl Into<String>) -> Step {
        let msg: String = msg.into();
        Step::from_value(
            json!({"failed": true, "changed": false, "msg": msg}),
            vec![],
        )
    }

    /// A task whose `when` was false.
    pub fn skipped(cond: &str) -> Step {
        Step::from_value(
            json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": cond}),
            vec![],
        )
    }

    /// The host could not be reached, or the connection died.
    pub fn unreachable(msg: impl Into<String>) -> Step {
        let msg: String = msg.into();
        Step::from_value(
            json!({"unreachable": true, "changed": false, "msg": msg}),
            vec![],
        )
    }

    /// Sets a key of the result other than a flag (`attempts`, loop variables, ...).
    pub fn insert(&mut self, key: &str, v: Value) {
        debug_assert!(!FLAGS.contains(&key), "flags are set through their fields");
        self.fields.insert(key.to_string(), v);
    }

    /// The registered-variable form of the result. `changed` is always there; `failed` and
    /// `skipped` appear once true (appended when they had no place); `unreachable` only where
    /// the result has a place for it, as Ansible leaves it out of a loop's summary.
    pub fn value(&self) -> Value {
        let mut m = self.fields.clone();
        let mut put = |k: &str, v: bool, add: bool| {
            if add || m.contains_key(k) {
                m.insert(k.to_string(), v.into());
            }
        };
        put("changed", self.changed, true);
        put("failed", self.failed, self.failed);
        put("skipped", self.skipped, self.skipped);
        put("unreachable", self.unreachable, false);
        Value::Object(m)
    }

    /// The result's `msg` as text (a non-string `msg` printed as JSON).
    pub fn msg(&self) -> String {
        self.fields
            .get("msg")
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_their_place_and_follow_the_fields() {
        let mut s = Step::failed("boom");
        assert_eq!(
            s.value().to_string(),
            r#"{"failed":true,"changed":false,"msg":"boom"}"#
        );
        s.failed = false;
        s.insert("attempts", json!(2));
        assert_eq!(
            s.value().to_string(),
            r#"{"failed":false,"changed":false,"msg":"boom","attempts":2}"#
        );
        let mut s = Step::skipped("x");
        assert!(s.value().get("failed").is_none());
        s.failed = true;
        assert_eq!(s.value()["failed"], json!(true));
    }
}
