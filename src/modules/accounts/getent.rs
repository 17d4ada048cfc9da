//! `getent` (ansible.builtin): one of the host's name-service databases (`passwd`, `group`,
//! `hosts`, `services`, ...) as facts, `getent_<database>`, so that a play can ask the host
//! what NSS says (LDAP and sssd users included) rather than parse `/etc/passwd` itself. The
//! host's own `getent` answers; each line is split as the module splits it (on `:` for the
//! colon databases, else on whitespace) and keyed by its first field.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::account_db::missing_binary;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Getent;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "getent",
    params: &[
        Param::new("database", T::Str).required(),
        Param::new("key", T::Str),
        Param::new("service", T::Str),
        Param::new("split", T::Str),
        Param::new("fail_key", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Getent {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(run(ctx, args))
    }
}

/// The databases whose records the module splits on `:` when `split` is not given.
const COLON: &[&str] = &["passwd", "shadow", "group", "gshadow"];

/// The exit status the script uses when the host has no `getent` (getent's own are 0-3).
const NO_GETENT: i32 = 227;

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let database = args.req_str("database")?;
    let key = args.str("key");
    let service = args.str("service");
    let fail_key = args.bool_or("fail_key", true)?;
    let split = args
        .str("split")
        .or_else(|| COLON.contains(&database.as_str()).then(|| ":".to_string()));
    if split.as_deref() == Some("") {
        return Err(ModuleError::Args("empty separator".into()));
    }
    // The argument order of the module's command: database, key, then `-s service`.
    let mut words = vec![sh_quote(&database)];
    words.extend(key.as_deref().map(sh_quote));
    if let Some(s) = &service {
        words.push("-s".into());
        words.push(sh_quote(s));
    }
    let script = format!(
        "command -v getent >/dev/null 2>&1 || {{ printf '%s\\n' \"$PATH\" >&2; exit {NO_GETENT}; }}\n\
         exec getent {}",
        words.join(" ")
    );
    // It only reads, so it runs in check mode too, as the module does.
    let out = ctx.run(&script, None).await?;
    let tree = format!("getent_{database}");
    let facts = |records: Map<String, Value>| {
        let mut f = Map::new();
        f.insert(tree.clone(), Value::Object(records));
        f
    };
    let msg = match out.rc {
        0 => {
            let records = records(&out.stdout_str(), split.as_deref());
            let mut r = ModuleResult::ok();
            r.facts = facts(records);
            return Ok(r);
        }
        NO_GETENT => {
            return Ok(ModuleResult::failed(missing_binary(
                "getent",
                out.stderr_str().trim(),
            )));
        }
        1 => "Missing arguments, or database unknown.",
        2 => {
            let msg = "One or more supplied key could not be found in the database.";
            if !fail_key {
                let mut records = Map::new();
                records.insert(key.unwrap_or_else(|| "None".into()), Value::Null);
                let mut r = ModuleResult::ok().msg(msg);
                r.facts = facts(records);
                return Ok(r);
            }
            msg
        }
        3 => "Enumeration not supported on this database.",
        _ => "Unexpected failure!",
    };
    Ok(ModuleResult::failed(msg))
}

/// The records keyed by their first field, as the module builds them: a key seen once maps
/// to its other fields; a key seen again becomes a list of those field lists.
fn records(out: &str, split: Option<&str>) -> Map<String, Value> {
    let mut tree = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for line in out.lines() {
        let fields: Vec<&str> = match split {
            Some(sep) => line.split(sep).collect(),
            None => line.split_whitespace().collect(),
        };
        let Some((first, rest)) = fields.split_first() else {
            continue;
        };
        let rest = Value::Array(rest.iter().map(|s| Value::from(*s)).collect());
        let count = seen.entry(first.to_string()).or_insert(0);
        *count += 1;
        match (*count, tree.get_mut(*first)) {
            (1, _) | (_, None) => {
                tree.insert(first.to_string(), rest);
            }
            (2, Some(prev)) => {
                let old = prev.take();
                *prev = Value::Array(vec![old, rest]);
            }
            (_, Some(Value::Array(list))) => list.push(rest),
            (_, Some(_)) => {}
        }
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::Harness;
    use serde_json::json;

    #[test]
    fn records_are_keyed_by_their_first_field() {
        let t = records("root:x:0:0:root:/root:/bin/bash\n", Some(":"));
        assert_eq!(
            t["root"],
            json!(["x", "0", "0", "root", "/root", "/bin/bash"])
        );
        // Whitespace runs split as Python's `str.split()`.
        let t = records("127.0.0.1   localhost  lh\n", None);
        assert_eq!(t["127.0.0.1"], json!(["localhost", "lh"]));
    }

    #[test]
    fn a_key_seen_again_becomes_a_list_of_records() {
        let t = records("::1 a\n::1 b\n::1 c\n", None);
        assert_eq!(t["::1"], json!([["a"], ["b"], ["c"]]));
    }

    #[tokio::test]
    async fn reads_the_hosts_passwd_and_reports_missing_keys() {
        let h = Harness::new();
        let r = h
            .run(&Getent, json!({"database": "passwd", "key": "root"}))
            .await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.facts["getent_passwd"]["root"][1], json!("0"));
        let r = h
            .run(
                &Getent,
                json!({"database": "passwd", "key": "no-such-user-x"}),
            )
            .await;
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("One or more supplied key could not be found in the database.")
        );
        let r = h
            .run(
                &Getent,
                json!({"database": "passwd", "key": "no-such-user-x", "fail_key": false}),
            )
            .await;
        assert!(!r.failed);
        assert_eq!(r.facts["getent_passwd"]["no-such-user-x"], Value::Null);
    }
}
