//! What a module declares about its parameters, so that the loader can check a task's
//! arguments before any host is touched and the module can rely on them at run time.

/// Parameter types checked at load time (when the value is not templated) and at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    Str,
    Bool,
    Int,
    Float,
    /// A list, or a comma-separated string, as Ansible accepts.
    List,
    Dict,
    /// A file mode: octal string/int or symbolic (`u+rwx,g-w`).
    Mode,
    /// Anything, e.g. `debug: msg` or `set_fact` values.
    Raw,
}

impl ParamType {
    /// Whether `s` is a file mode Ansible accepts for a [`ParamType::Mode`] parameter (octal
    /// or symbolic), exactly as the modules will read it.
    pub fn valid_mode(s: &str) -> bool {
        crate::modules::toolkit::mode::ModeSpec::parse_str(s).is_ok()
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    pub aliases: &'static [&'static str],
    /// Allowed values for string parameters; empty means any.
    pub choices: &'static [&'static str],
    /// The one value strata supports (Ansible's default); any other is refused.
    pub only: Option<Fixed>,
}

/// The only value strata supports for an Ansible parameter it does not implement. Any other
/// value is refused (at load time when written literally, at run time when templated),
/// because accepting and ignoring it would run something else than the playbook says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixed {
    Bool(bool),
    Int(i64),
    /// Compared exactly: for a path, `/a/` and `/a` are different spellings that a module
    /// would have to normalise, and the refusal names the one spelling that works.
    Str(&'static str),
}

impl Fixed {
    /// Whether `v` means this value, in Ansible's spellings (`yes`, `"65536"`, ...). Null is
    /// the default too.
    pub fn accepts(&self, v: &serde_json::Value) -> bool {
        if v.is_null() {
            return true;
        }
        match self {
            Fixed::Bool(b) => crate::values::to_bool(v) == Some(*b),
            Fixed::Int(i) => match v {
                serde_json::Value::Number(n) => n.as_f64() == Some(*i as f64),
                serde_json::Value::String(s) => s.trim().parse::<i64>().ok() == Some(*i),
                _ => false,
            },
            Fixed::Str(s) => v.as_str() == Some(*s),
        }
    }

    /// The refusal, naming the parameter and the one value that works.
    pub fn refusal(&self, module: &str, param: &str, given: &str) -> String {
        let only = match self {
            Fixed::Bool(b) => b.to_string(),
            Fixed::Int(i) => i.to_string(),
            Fixed::Str(s) => s.to_string(),
        };
        format!(
            "`{module}`: strata does not implement `{param}: {given}`; only Ansible's default \
             `{param}: {only}` is supported (see the README's table of unsupported parameters)"
        )
    }
}

impl Param {
    pub const fn new(name: &'static str, ty: ParamType) -> Self {
        Param {
            name,
            ty,
            required: false,
            aliases: &[],
            choices: &[],
            only: None,
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Self {
        self.aliases = a;
        self
    }
    pub const fn choices(mut self, c: &'static [&'static str]) -> Self {
        self.choices = c;
        self
    }
    pub const fn only(mut self, f: Fixed) -> Self {
        self.only = Some(f);
        self
    }
}

/// How a module treats a bare string argument (`shell: echo hi`, `copy: src=a dest=b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeForm {
    /// Only `k=v` pairs are allowed in a string argument.
    KeyValue,
    /// The string (minus recognised `k=v` options such as `chdir=`) becomes this parameter,
    /// as with `command`/`shell` (`_raw_params` in Ansible).
    Raw(&'static str),
}

#[derive(Debug)]
pub struct ModuleSpec {
    pub name: &'static str,
    pub params: &'static [Param],
    pub free_form: FreeForm,
    /// Groups of which at most one may be given.
    pub mutually_exclusive: &'static [&'static [&'static str]],
    /// Groups of which at least one must be given.
    pub required_one_of: &'static [&'static [&'static str]],
    /// Accept parameters not listed (set_fact takes arbitrary names).
    pub any_params: bool,
}

#[cfg(test)]
mod tests {
    use super::Fixed;
    use serde_json::json;

    #[test]
    fn fixed_values_accept_ansible_spellings_of_the_default_and_null() {
        for v in [json!(true), json!("yes"), json!("True"), json!(null)] {
            assert!(Fixed::Bool(true).accepts(&v), "{v}");
        }
        assert!(!Fixed::Bool(true).accepts(&json!("no")));
        for v in [json!(10), json!(10.0), json!(" 10 "), json!(null)] {
            assert!(Fixed::Int(10).accepts(&v), "{v}");
        }
        assert!(!Fixed::Int(10).accepts(&json!(11)));
        assert!(!Fixed::Int(10).accepts(&json!("ten")));
    }

    #[test]
    fn fixed_strings_accept_only_the_exact_default() {
        let f = Fixed::Str("/etc/ansible/facts.d");
        assert!(f.accepts(&json!("/etc/ansible/facts.d")));
        assert!(f.accepts(&json!(null)));
        for v in [
            json!("/etc/ansible/facts.d/"),
            json!("/srv/facts"),
            json!(""),
            json!(1),
            json!(["/etc/ansible/facts.d"]),
        ] {
            assert!(!f.accepts(&v), "{v}");
        }
        let m = f.refusal("setup", "fact_path", "/srv/facts");
        assert!(
            m.contains("`setup`: strata does not implement `fact_path: /srv/facts`"),
            "{m}"
        );
        assert!(
            m.contains("`fact_path: /etc/ansible/facts.d` is supported"),
            "{m}"
        );
    }
}
