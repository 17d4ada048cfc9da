//! Ansible's `constructed` options (`compose`, `groups`, `keyed_groups`, `strict`,
//! `leading_separator`), shared by every inventory source that builds hosts from data (the EC2
//! source today). Semantics follow Ansible's `Constructable`: `compose` sees only the source's
//! own host variables; `groups` and `keyed_groups` also see what `compose` set; a failing
//! expression skips that entry unless `strict` is set; group names are sanitised (every
//! character that is not a word character becomes `_`), as inventory plugins always do.

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Span};
use crate::template::Templar;
use crate::yaml::Node;

use super::Inventory;

/// One `compose` or `groups` entry: a name and a Jinja expression with its position.
#[derive(Clone, Debug)]
pub struct Expr {
    pub name: String,
    /// A string is an expression; any other YAML value is used as it is.
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct KeyedGroup {
    pub key: String,
    pub key_span: Span,
    pub prefix: String,
    pub separator: String,
    pub default_value: Option<String>,
    pub trailing_separator: Option<bool>,
    pub parent_group: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Constructed {
    pub compose: Vec<Expr>,
    pub groups: Vec<Expr>,
    pub keyed_groups: Vec<KeyedGroup>,
    pub strict: bool,
    pub leading_separator: bool,
}

impl Default for Constructed {
    fn default() -> Self {
        Constructed {
            compose: Vec::new(),
            groups: Vec::new(),
            keyed_groups: Vec::new(),
            strict: false,
            leading_separator: true,
        }
    }
}

/// The configuration keys [`Constructed::parse_key`] understands.
pub const KEYS: [&str; 5] = [
    "compose",
    "groups",
    "keyed_groups",
    "strict",
    "leading_separator",
];

const KEYED_GROUP_KEYS: [&str; 6] = [
    "key",
    "prefix",
    "separator",
    "default_value",
    "trailing_separator",
    "parent_group",
];

pub fn bool_of(v: &Node, what: &str) -> Result<bool, Diagnostic> {
    match &v.value {
        crate::yaml::Yaml::Bool(b) => Ok(*b),
        _ => crate::values::to_bool(&v.to_json()).ok_or_else(|| {
            v.error(format!("`{what}` must be a boolean, found {}", v.kind()))
                .label("expected true or false")
        }),
    }
}

pub fn string_of(v: &Node, what: &str) -> Result<String, Diagnostic> {
    match &v.value {
        crate::yaml::Yaml::Map(_) | crate::yaml::Yaml::Seq(_) => Err(v
            .error(format!("`{what}` must be a string, found {}", v.kind()))
            .label("expected a string")),
        _ => Ok(v.scalar_string().unwrap_or_default()),
    }
}

fn exprs(v: &Node, what: &str, templar: &Templar) -> Result<Vec<Expr>, Diagnostic> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let Some(m) = v.as_map() else {
        return Err(v
            .error(format!("`{what}` must be a mapping, found {}", v.kind()))
            .label("expected `name: expression` pairs"));
    };
    let mut out = Vec::new();
    for (k, e) in m {
        let name = string_of(k, what)?;
        if let Some(s) = e.as_str() {
            templar.check_expr_syntax(s, &e.span)?;
        }
        out.push(Expr {
            name,
            value: e.to_json(),
            span: e.span.clone(),
        });
    }
    Ok(out)
}

impl Constructed {
    /// Takes one configuration key if it is a constructed option; `Ok(false)` leaves it to the
    /// caller. Expressions are syntax-checked here, so a typo fails before anything is fetched.
    pub fn parse_key(
        &mut self,
        key: &str,
        v: &Node,
        templar: &Templar,
    ) -> Result<bool, Diagnostic> {
        match key {
            "compose" => self.compose = exprs(v, key, templar)?,
            "groups" => self.groups = exprs(v, key, templar)?,
            "strict" => self.strict = bool_of(v, key)?,
            "leading_separator" => self.leading_separator = bool_of(v, key)?,
            "keyed_groups" => {
                if v.is_null() {
                    return Ok(true);
                }
                let Some(items) = v.as_seq() else {
                    return Err(v
                        .error(format!("`keyed_groups` must be a list, found {}", v.kind()))
                        .label("expected a list of `{key: ..., prefix: ...}`"));
                };
                for item in items {
                    self.keyed_groups.push(keyed_group(item, templar)?);
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Applies `compose`, then `groups`, then `keyed_groups` to one host that the source has
    /// already added with its variables `source_vars`.
    pub fn apply(
        &self,
        inv: &mut Inventory,
        host: &str,
        source_vars: &Map<String, Value>,
        templar: &Templar,
    ) -> Result<(), Diagnostic> {
        let ctx = minijinja::Value::from(minijinja::value::Serde(source_vars));
        for c in &self.compose {
            let v = match &c.value {
                Value::String(expr) => match templar.eval(expr, &ctx, &c.span) {
                    Ok(v) => v,
                    Err(e) if self.strict => {
                        return Err(e.label(format!(
                            "could not set `{}` for host {host} (strict: true)",
                            c.name
                        )));
                    }
                    Err(_) => continue,
                },
                other => other.clone(),
            };
            inv.set_host_var(host, &c.name, v);
        }
        let ctx = context(inv, host, source_vars);
        for g in &self.groups {
            let ok = match &g.value {
                Value::String(expr) => match templar.eval_bool(expr, &ctx, &g.span) {
                    Ok(b) => b,
                    Err(e) if self.strict => {
                        return Err(e.label(format!(
                            "could not add host {host} to group `{}` (strict: true)",
                            g.name
                        )));
                    }
                    Err(_) => continue,
                },
                other => crate::values::to_bool(other).unwrap_or(false),
            };
            if ok {
                let name = sanitize_group_name(&g.name);
                inv.add_host(host, Some(&name), g.span.clone(), None);
            }
        }
        for kg in &self.keyed_groups {
            let ctx = context(inv, host, source_vars);
            self.apply_keyed(inv, host, kg, &ctx, templar)?;
        }
        Ok(())
    }

    fn apply_keyed(
        &self,
        inv: &mut Inventory,
        host: &str,
        kg: &KeyedGroup,
        ctx: &minijinja::Value,
        templar: &Templar,
    ) -> Result<(), Diagnostic> {
        let key = match templar.eval(&kg.key, ctx, &kg.key_span) {
            Ok(v) => v,
            Err(e) if self.strict => {
                return Err(e.label(format!(
                    "could not generate a group for host {host} (strict: true)"
                )));
            }
            Err(_) => return Ok(()),
        };
        let empty = matches!(&key, Value::Null) || key.as_str() == Some("");
        let use_default = empty && kg.default_value.is_some();
        let names: Vec<String> = if use_default {
            vec![kg.default_value.clone().unwrap_or_default()]
        } else {
            match &key {
                Value::String(s) if !s.is_empty() => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|i| match (i, &kg.default_value) {
                        (Value::Null, Some(d)) => d.clone(),
                        (Value::String(s), Some(d)) if s.is_empty() => d.clone(),
                        _ => scalar_text(i),
                    })
                    .collect(),
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| {
                        let blank = v.is_null() || v.as_str() == Some("");
                        match (&kg.default_value, kg.trailing_separator) {
                            (Some(d), _) if blank => format!("{k}{}{d}", kg.separator),
                            (None, Some(false)) if blank => k.clone(),
                            _ => format!("{k}{}{}", kg.separator, scalar_text(v)),
                        }
                    })
                    .collect(),
                Value::Null | Value::String(_) => {
                    if self.strict {
                        return Err(Diagnostic::new(
                            kg.key_span.clone(),
                            format!(
                                "keyed_groups key `{}` is empty for host {host} (strict: true)",
                                kg.key
                            ),
                        ));
                    }
                    return Ok(());
                }
                other => {
                    return Err(Diagnostic::new(
                        kg.key_span.clone(),
                        format!(
                            "keyed_groups key `{}` gave {other} for host {host}: expected a string, a list of them or a mapping",
                            kg.key
                        ),
                    ));
                }
            }
        };
        let sep = if kg.prefix.is_empty() && !self.leading_separator {
            ""
        } else {
            kg.separator.as_str()
        };
        for bare in names {
            let group = sanitize_group_name(&format!("{}{sep}{bare}", kg.prefix));
            inv.add_host(host, Some(&group), kg.key_span.clone(), None);
            if let Some(parent) = &kg.parent_group {
                let parent = sanitize_group_name(parent);
                inv.add_group(&parent, kg.key_span.clone());
                inv.add_child(&parent, &group)
                    .map_err(|e| Diagnostic::new(kg.key_span.clone(), e))?;
            }
        }
        Ok(())
    }
}

/// What `groups` and `keyed_groups` expressions see (Ansible's fetch_hostvars): the source's
/// variables, then the host's inventory variables (so what `compose` set), then the host's
/// magic variables `inventory_hostname`, `inventory_hostname_short` and `group_names`.
fn context(inv: &Inventory, host: &str, source_vars: &Map<String, Value>) -> minijinja::Value {
    let mut all = source_vars.clone();
    if let Some(h) = inv.host(host) {
        for (k, v) in &h.vars {
            all.insert(k.clone(), v.clone());
        }
    }
    let mut groups: Vec<String> = inv
        .groups_of(host)
        .iter()
        .map(|g| g.name.clone())
        .filter(|g| g != "all")
        .collect();
    groups.sort();
    all.insert("inventory_hostname".into(), Value::from(host));
    let short = host.split('.').next().unwrap_or(host);
    all.insert("inventory_hostname_short".into(), Value::from(short));
    all.insert("group_names".into(), Value::from(groups));
    minijinja::Value::from(minijinja::value::Serde(&all))
}

/// A value as Python's `str()` would print it inside a group name.
fn scalar_text(v: &Value) -> String {
    crate::values::to_str(v).unwrap_or_else(|| v.to_string())
}

fn keyed_group(item: &Node, templar: &Templar) -> Result<KeyedGroup, Diagnostic> {
    let Some(m) = item.as_map() else {
        return Err(item
            .error(format!(
                "a keyed_groups entry must be a mapping, found {}",
                item.kind()
            ))
            .label("expected `{key: ..., prefix: ...}`"));
    };
    let mut kg = KeyedGroup {
        key: String::new(),
        key_span: item.span.clone(),
        prefix: String::new(),
        separator: "_".into(),
        default_value: None,
        trailing_separator: None,
        parent_group: None,
    };
    let mut has_key = false;
    for (k, v) in m {
        let name = k.scalar_string().unwrap_or_default();
        match name.as_str() {
            "key" => {
                kg.key = string_of(v, "key")?;
                kg.key_span = v.span.clone();
                templar.check_expr_syntax(&kg.key, &v.span)?;
                has_key = true;
            }
            "prefix" => kg.prefix = string_of(v, "prefix")?,
            "separator" => kg.separator = string_of(v, "separator")?,
            "default_value" => kg.default_value = Some(string_of(v, "default_value")?),
            "trailing_separator" => kg.trailing_separator = Some(bool_of(v, "trailing_separator")?),
            "parent_group" => kg.parent_group = Some(string_of(v, "parent_group")?),
            _ => {
                return Err(k
                    .error(format!("unknown keyed_groups option `{name}`"))
                    .label("not a keyed_groups option")
                    .help(format!("valid options: {}", KEYED_GROUP_KEYS.join(", "))));
            }
        }
    }
    if !has_key {
        return Err(item
            .error("a keyed_groups entry needs a `key`")
            .label("no `key` here"));
    }
    if kg.default_value.is_some() && kg.trailing_separator.is_some() {
        return Err(item
            .error("keyed_groups: `default_value` and `trailing_separator` are mutually exclusive")
            .label("both set here"));
    }
    Ok(kg)
}

/// Inventory plugins always replace characters that cannot appear in a variable name (and a
/// leading digit) with `_`, so `tags['strata:layer']` values like `web-1` become `web_1`.
pub fn sanitize_group_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            let word = c.is_alphanumeric() || c == '_';
            if !word || (i == 0 && c.is_numeric()) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(yaml: &str) -> Constructed {
        let doc = crate::yaml::parse_str(yaml, std::path::Path::new("c.yml")).unwrap();
        let templar = Templar::new();
        let mut c = Constructed::default();
        for (k, v) in doc.as_map().unwrap() {
            assert!(c.parse_key(k.as_str().unwrap(), v, &templar).unwrap());
        }
        c
    }

    fn run(c: &Constructed, vars: Value) -> Inventory {
        let mut inv = Inventory::new();
        let vars = vars.as_object().unwrap().clone();
        inv.add_host("h1", None, Span::unknown(), None);
        for (k, v) in &vars {
            inv.set_host_var("h1", k, v.clone());
        }
        c.apply(&mut inv, "h1", &vars, &Templar::new()).unwrap();
        inv.reconcile();
        inv
    }

    fn groups(inv: &Inventory) -> Vec<String> {
        inv.groups_of("h1").iter().map(|g| g.name.clone()).collect()
    }

    #[test]
    fn keyed_groups_split_a_comma_separated_tag_into_one_group_per_element() {
        let c = parse(
            "keyed_groups:\n  - key: tags['strata:layer'].split(',')\n    prefix: layer\n    parent_group: layers\n",
        );
        let inv = run(&c, json!({"tags": {"strata:layer": "web,db-primary"}}));
        let g = groups(&inv);
        assert!(g.contains(&"layer_web".to_string()), "{g:?}");
        assert!(g.contains(&"layer_db_primary".to_string()), "{g:?}");
        assert_eq!(inv.group("layer_web").unwrap().parents, vec!["layers"]);
    }

    #[test]
    fn keyed_groups_follow_ansible_for_mappings_defaults_and_separators() {
        let doc = crate::yaml::parse_str(
            "keyed_groups:\n  - key: a\n    leading: 1\n",
            std::path::Path::new("c.yml"),
        )
        .unwrap();
        let err = Constructed::default()
            .parse_key(
                "keyed_groups",
                doc.get("keyed_groups").unwrap(),
                &Templar::new(),
            )
            .unwrap_err();
        assert!(
            err.message
                .contains("unknown keyed_groups option `leading`"),
            "{err}"
        );
        assert_eq!((err.span.line, err.span.col), (3, 5));

        let c = parse(
            "keyed_groups:\n  - key: tags\n    prefix: tag\n  - key: \"''\"\n    default_value: none\n    prefix: x\n  - key: instance_type\nleading_separator: true\n",
        );
        let inv = run(
            &c,
            json!({"tags": {"Name": "web 1", "env": ""}, "instance_type": "t3.micro"}),
        );
        let g = groups(&inv);
        for want in ["tag_Name_web_1", "tag_env_", "x_none", "_t3_micro"] {
            assert!(g.contains(&want.to_string()), "{want} not in {g:?}");
        }
        let c = parse("keyed_groups:\n  - key: instance_type\nleading_separator: false\n");
        assert!(groups(&run(&c, json!({"instance_type": "t3"}))).contains(&"t3".to_string()));
    }

    #[test]
    fn compose_then_groups_see_composed_vars_and_non_strict_errors_skip() {
        let c = parse(
            "compose:\n  ansible_host: private_ip_address\n  broken: nope.attr\ngroups:\n  reachable: ansible_host is defined\n  bad: nope > 1\n",
        );
        let inv = run(&c, json!({"private_ip_address": "10.0.0.7"}));
        assert_eq!(
            inv.host("h1").unwrap().vars["ansible_host"],
            json!("10.0.0.7")
        );
        assert!(!inv.host("h1").unwrap().vars.contains_key("broken"));
        let g = groups(&inv);
        assert!(g.contains(&"reachable".to_string()) && !g.contains(&"bad".to_string()));
    }

    #[test]
    fn groups_and_keyed_groups_see_magic_variables() {
        let c = parse(
            "groups:\n  named_web: inventory_hostname.startswith('h')\nkeyed_groups:\n  - key: group_names\n    prefix: also\n",
        );
        let g = groups(&run(&c, json!({})));
        assert!(g.contains(&"named_web".to_string()), "{g:?}");
        assert!(g.contains(&"also_named_web".to_string()), "{g:?}");
    }

    #[test]
    fn strict_makes_a_failing_expression_an_error() {
        let c = parse("compose:\n  x: nope.attr\nstrict: true\n");
        let mut inv = Inventory::new();
        inv.add_host("h1", None, Span::unknown(), None);
        let err = c
            .apply(&mut inv, "h1", &Map::new(), &Templar::new())
            .unwrap_err();
        assert!(err.label.contains("could not set `x`"), "{err:?}");
        assert_eq!(err.span.line, 2);
    }

    #[test]
    fn sanitizes_like_ansible() {
        assert_eq!(sanitize_group_name("1web-a.b"), "_web_a_b");
        assert_eq!(sanitize_group_name("layer_web"), "layer_web");
    }
}
