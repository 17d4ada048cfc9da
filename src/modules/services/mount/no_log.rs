//! `opts_no_log`: mount options can carry credentials (cifs `password=`). Ansible adds `opts`
//! to the module's no-log values, so a returned string equal to it reads
//! `VALUE_SPECIFIED_IN_NO_LOG_PARAMETER` and any other occurrence `********` (the result, its
//! messages, what `-v` and `--json` print, what `register` keeps). Ansible's mount shows no
//! diff; strata's fstab diff keeps its lines but hides the options field of every line for
//! this mount point, before and after, so a replaced password does not show either.

use serde_json::Value;

use super::fstab::escape;
use crate::modules::{Args, ModuleError, ModuleResult};

const EXACT: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";
const STARS: &str = "********";

/// The options to hide, as given and as written in fstab, and the entry's fstab name.
pub struct Secret {
    raw: String,
    escaped: String,
    name: String,
}

impl Secret {
    /// The secret of a task with `opts_no_log: true` and non-empty `opts`.
    pub fn from_args(args: &Args) -> Result<Option<Secret>, ModuleError> {
        if !args.bool_or("opts_no_log", false)? {
            return Ok(None);
        }
        let name = args.str("path").or_else(|| args.str("name"));
        Ok(args
            .str("opts")
            .filter(|o| !o.is_empty())
            .map(|raw| Secret {
                escaped: escape(&raw),
                name: escape(&name.unwrap_or_default()),
                raw,
            }))
    }

    /// A module outcome with the options hidden; transport errors carry no options.
    pub fn hide(&self, r: Result<ModuleResult, ModuleError>) -> Result<ModuleResult, ModuleError> {
        match r {
            Ok(mut r) => {
                r.msg = r.msg.map(|m| self.text(&m));
                for v in r.data.values_mut() {
                    self.value(v);
                }
                for d in &mut r.diff {
                    d.before = self.fstab(&d.before);
                    d.after = self.fstab(&d.after);
                }
                Ok(r)
            }
            Err(ModuleError::Args(m)) => Err(ModuleError::Args(self.text(&m))),
            Err(ModuleError::Become(m)) => Err(ModuleError::Become(self.text(&m))),
            Err(e) => Err(e),
        }
    }

    /// Ansible's `remove_values` on one string.
    fn text(&self, s: &str) -> String {
        if s == self.raw {
            EXACT.to_string()
        } else {
            s.replace(&self.raw, STARS)
        }
    }

    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(m) => m.values_mut().for_each(|x| self.value(x)),
            _ => {}
        }
    }

    /// fstab text with the options field of this mount point's lines starred, and the options
    /// starred wherever else they appear.
    fn fstab(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let body = line.split('#').next().unwrap_or("");
            let fields = field_spans(body);
            match fields.get(3) {
                Some(&(start, end)) if body[fields[1].0..fields[1].1] == self.name => {
                    out.push_str(&line[..start]);
                    out.push_str(STARS);
                    out.push_str(&line[end..]);
                }
                _ => out.push_str(line),
            }
        }
        out.replace(&self.escaped, STARS).replace(&self.raw, STARS)
    }
}

/// Byte ranges of the whitespace-separated fields of a line.
fn field_spans(s: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                spans.push((b, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        spans.push((b, s.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::events::FileDiff;

    fn secret(args: Value) -> Option<Secret> {
        Secret::from_args(&Args::new(args.as_object().unwrap().clone())).unwrap()
    }

    #[test]
    fn results_hide_options_as_ansible_does() {
        let s = secret(
            json!({"path": "/mnt/share", "opts": "user=u,password=p w", "opts_no_log": true}),
        )
        .unwrap();
        let r = ModuleResult::changed(true)
            .with("opts", "user=u,password=p w")
            .with("name", "/mnt/share")
            .msg("Error mounting /mnt/share: bad option user=u,password=p w,noauto");
        let r = s
            .hide(Ok(r.with("boot_opts", "user=u,password=p w,noauto")))
            .unwrap();
        let v = r.to_value();
        assert_eq!(v["opts"], EXACT);
        assert_eq!(v["boot_opts"], "********,noauto");
        assert_eq!(v["name"], "/mnt/share");
        assert_eq!(
            v["msg"],
            "Error mounting /mnt/share: bad option ********,noauto"
        );
        assert!(secret(json!({"path": "/m", "opts": "ro"})).is_none());
        assert!(secret(json!({"path": "/m", "opts_no_log": true})).is_none());
    }

    #[test]
    fn fstab_diff_hides_old_and_new_options() {
        let s = secret(json!({"path": "/mnt/a b", "opts": "password=new", "opts_no_log": true}))
            .unwrap();
        let mut r = ModuleResult::changed(true);
        r.diff.push(FileDiff {
            before_header: "/etc/fstab".into(),
            after_header: "/etc/fstab".into(),
            before: "# password=old\n//h/s /mnt/a\\040b cifs password=old 0 0\ntmpfs /t tmpfs defaults 0 0\n".into(),
            after: "//h/s /mnt/a\\040b  cifs\tpassword=new,noauto 0 0\n//x /y cifs password=new 0 0\n".into(),
        });
        let d = &s.hide(Ok(r)).unwrap().diff[0];
        assert_eq!(
            d.before,
            "# password=old\n//h/s /mnt/a\\040b cifs ******** 0 0\ntmpfs /t tmpfs defaults 0 0\n"
        );
        assert_eq!(
            d.after,
            "//h/s /mnt/a\\040b  cifs\t******** 0 0\n//x /y cifs ******** 0 0\n"
        );
    }

    /// The whole module on the controller, writing a scratch fstab (`present` mounts nothing).
    #[tokio::test]
    async fn module_hides_options_in_result_and_diff() {
        use crate::modules::harness::{Run, Scratch, read, run_module};
        let d = Scratch::new("mount-nolog");
        let fstab = d.s("fstab");
        std::fs::write(&fstab, "//h/s /mnt/s cifs password=old 0 0\n").unwrap();
        let args = json!({"path": "/mnt/s", "src": "//h/s", "fstype": "cifs", "opts": "password=new",
            "opts_no_log": true, "state": "present", "fstab": fstab, "boot": false});
        let r = run_module(&super::super::Mount, args, Run::diff()).await;
        assert!(r.changed && !r.failed, "{:?}", r.msg);
        assert_eq!(
            read(&d.path("fstab")),
            "//h/s /mnt/s cifs password=new,noauto 0 0\n"
        );
        assert_eq!(r.data["opts"], "********,noauto");
        assert_eq!(r.diff[0].before, "//h/s /mnt/s cifs ******** 0 0\n");
        assert_eq!(r.diff[0].after, "//h/s /mnt/s cifs ******** 0 0\n");
        let all = format!("{} {:?}", r.to_value(), r.diff);
        assert!(!all.contains("password="), "{all}");
    }
}
