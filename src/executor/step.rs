//! What one module invocation (one loop item, or a whole task without a loop) produced. The
//! flags are the truth: `changed_when`, `failed_when` and `until` change them, and the
//! registered result is built from them in one place ([`Step::value`]), so the JSON a playbook
//! sees can never disagree with what the recap counts.

use serde_json::{Map, Value, json};

use crate::events::FileDiff;

pub struct Step {
    pub changed: bool,
    pub failed: bool,
    /// Set once, by the constructor: nothing after `when` or the module turns a result into
    /// a skip.
    pub skipped: bool,
    /// Set once, by the constructor: the connection was lost.
    pub unreachable: bool,
    /// Every key of the registered result, in Ansible's order. `changed` and `failed` stand
    /// where Ansible puts them (`failed` first in a failure); [`Step::value`] fills in their
    /// current values there.
    fields: Map<String, Value>,
    pub diff: Vec<FileDiff>,
    /// The host a delegated invocation ran on, for its loop item's line.
    pub delegated_to: Option<String>,
}

impl Step {
    /// A result with these keys and flags. The keys are kept as given, except `changed`
    /// and `failed`, which always follow the flags.
    pub fn new(
        v: Value,
        (changed, failed, skipped, unreachable): (bool, bool, bool, bool),
        diff: Vec<FileDiff>,
    ) -> Step {
        let fields = match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Step {
            changed,
            failed,
            skipped,
            unreachable,
            fields,
            diff,
            delegated_to: None,
        }
    }

    /// A task that failed before (or instead of) running its module.
    pub fn failed(msg: impl Into<String>) -> Step {
        let msg: String = msg.into();
        let v = json!({"failed": true, "changed": false, "msg": msg});
        Step::new(v, (false, true, false, false), vec![])
    }

    /// A task whose `when` was false.
    pub fn skipped(cond: &str) -> Step {
        let v = json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": cond});
        Step::new(v, (false, false, true, false), vec![])
    }

    /// The host could not be reached, or the connection died.
    pub fn unreachable(msg: impl Into<String>) -> Step {
        let msg: String = msg.into();
        let v = json!({"unreachable": true, "changed": false, "msg": msg});
        Step::new(v, (false, false, false, true), vec![])
    }

    /// Sets a key of the result (`attempts`, `failed_when_result`, loop variables, ...).
    pub fn insert(&mut self, key: &str, v: Value) {
        self.fields.insert(key.to_string(), v);
    }

    /// The registered-variable form of the result: `changed` always follows its flag;
    /// `failed` does where the result has it, and is appended once it is true.
    pub fn value(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("changed".into(), self.changed.into());
        if self.failed || m.contains_key("failed") {
            m.insert("failed".into(), self.failed.into());
        }
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

    #[test]
    fn module_data_named_like_a_flag_is_only_data() {
        // `debug: var=unreachable` returns a key named `unreachable`: it says nothing about
        // the host.
        let s = Step::new(
            json!({"unreachable": true, "skipped": "x", "changed": false, "failed": false}),
            (false, false, false, false),
            vec![],
        );
        assert!(!s.unreachable && !s.skipped);
        assert_eq!(s.value()["unreachable"], json!(true));
        assert_eq!(s.value()["skipped"], json!("x"));
    }
}
