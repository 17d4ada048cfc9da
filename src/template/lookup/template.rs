//! `lookup('template', 'name.j2')`: renders template files on the controller with the task's
//! variables, as ansible-core's `template` lookup does. The file is found on the task's
//! `ansible_search_path` (each directory's `templates/`, then the directory) and the playbook
//! directory; its includes search the file's own directory first, then the same path.
//! Options: `template_vars` (extra variables, highest precedence) and `trim_blocks`; the
//! deprecated `convert_data` and `jinja2_native` are accepted and unused, as in ansible-core.
//! Other delimiters than Jinja's defaults are refused rather than ignored.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use minijinja::value::{Kwargs, Value, merge_maps};
use minijinja::{Error, ErrorKind, State};

use crate::template::{FileOptions, Templar, include_searchpath};

const DELIMITERS: &[&str] = &[
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
];

/// The templar the lookup renders with; a lookup runs inside another render, so it cannot
/// borrow the one that called it.
fn templar() -> &'static Templar {
    static T: OnceLock<Templar> = OnceLock::new();
    T.get_or_init(Templar::new)
}

fn strings(v: Option<Value>) -> Vec<PathBuf> {
    let Some(v) = v.filter(|v| !v.is_undefined() && !v.is_none()) else {
        return Vec::new();
    };
    if let Some(s) = v.as_str() {
        return vec![PathBuf::from(s)];
    }
    v.try_iter()
        .map(|it| {
            it.filter_map(|x| x.as_str().map(PathBuf::from))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

/// Every variable of the calling template: the task's whole scope when it has one (its
/// `vars`), else the variables the state knows.
fn variables(state: &State) -> Value {
    if let Some(v) = state.lookup("vars").filter(|v| !v.is_undefined()) {
        return v;
    }
    Value::from_pairs(
        state
            .known_variables()
            .into_iter()
            .filter_map(|k| state.lookup(&k).map(|v| (k.into_owned(), v))),
    )
}

fn fail(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// Renders each term to a string.
pub fn run(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    for d in DELIMITERS {
        if kwargs.has(d) {
            return Err(fail(format!(
                "lookup('template'): `{d}` is not supported; only Jinja's default delimiters are"
            )));
        }
    }
    let trim_blocks = kwargs.get::<Option<bool>>("trim_blocks")?.unwrap_or(true);
    let template_vars = kwargs
        .get::<Option<Value>>("template_vars")?
        .unwrap_or_else(|| Value::from_pairs(Vec::<(String, Value)>::new()));
    for deprecated in ["convert_data", "jinja2_native"] {
        kwargs.get::<Option<bool>>(deprecated)?;
    }
    let search = strings(state.lookup("ansible_search_path"));
    let basedir = strings(state.lookup("playbook_dir"))
        .into_iter()
        .next()
        .unwrap_or_else(|| PathBuf::from("."));
    let vars = variables(state);
    let mut out = Vec::new();
    for term in terms {
        let name = term
            .as_str()
            .map_or_else(|| term.to_string(), str::to_string);
        let file = find(&name, &search, &basedir).map_err(|looked| {
            fail(format!(
                "the template file {name} could not be found for the lookup (searched: {})",
                looked
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let mut searchpath = vec![file.parent().unwrap_or(Path::new(".")).to_path_buf()];
        searchpath.extend(include_searchpath(&search));
        let opts = FileOptions {
            searchpath,
            trim_blocks,
            ..FileOptions::default()
        };
        let mut generated = vec![
            ("template_path", Value::from(name.clone())),
            ("template_fullpath", Value::from(file.display().to_string())),
        ];
        let managed = vars
            .get_attr("ansible_managed")
            .ok()
            .filter(|v| !v.is_undefined());
        if managed.is_none() {
            generated.push(("ansible_managed", Value::from("Ansible managed")));
        }
        // The last map wins: `template_vars` over the template's own, over the task's.
        let ctx = merge_maps([
            vars.clone(),
            Value::from_pairs(generated),
            template_vars.clone(),
        ]);
        let text = templar()
            .render_file_with(&file, &ctx, &opts)
            .map_err(|d| {
                let at = match (&d.span.file, d.span.line) {
                    (Some(f), l) if l > 0 => format!("{}:{l}: ", f.display()),
                    (Some(f), _) => format!("{}: ", f.display()),
                    _ => String::new(),
                };
                fail(format!("lookup('template'): {at}{}", d.message))
            })?;
        out.push(Value::from(text));
    }
    Ok(out)
}

/// ansible-core's `path_dwim_relative_stack` for `templates`: each search directory's
/// `templates/<name>`, then `<name>` there, then the same under the playbook directory.
fn find(name: &str, search: &[PathBuf], basedir: &Path) -> Result<PathBuf, Vec<PathBuf>> {
    let p = Path::new(name);
    if p.is_absolute() {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(vec![p.to_path_buf()])
        };
    }
    let mut looked = Vec::new();
    let in_templates = name.split('/').next() == Some("templates");
    for dir in search.iter().chain([&basedir.to_path_buf()]) {
        if !in_templates {
            looked.push(dir.join("templates").join(p));
        }
        looked.push(dir.join(p));
    }
    looked.iter().find(|c| c.is_file()).cloned().ok_or(looked)
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Span;
    use crate::template::Templar;
    use serde_json::json;

    #[test]
    fn renders_with_includes_from_the_search_path_and_template_vars() {
        let root = crate::scratch::root().join(format!("strata-lookup-tpl-{}", std::process::id()));
        let role = root.join("roles/web");
        std::fs::create_dir_all(role.join("templates")).unwrap();
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(
            role.join("templates/site.j2"),
            "{% from 'macros.j2' import row %}{{ row(name) }}\n{% include 'footer.j2' %}\n",
        )
        .unwrap();
        std::fs::write(
            role.join("templates/macros.j2"),
            "{% macro row(x) %}[{{ x }}]{% endmacro %}",
        )
        .unwrap();
        std::fs::write(root.join("templates/footer.j2"), "footer {{ extra }}\n").unwrap();
        let t = Templar::new();
        let ctx = minijinja::Value::from(minijinja::value::Serde(json!({
            "name": "web",
            "extra": 0,
            "ansible_search_path": [role.display().to_string(), root.display().to_string()],
            "playbook_dir": root.display().to_string(),
        })));
        let out = t
            .render_str(
                "{{ lookup('template', 'site.j2', template_vars={'extra': 1}) }}",
                &ctx,
                &Span::unknown(),
            )
            .unwrap();
        assert_eq!(out, json!("[web]\nfooter 1\n"));
        let e = t
            .render_str(
                "{{ lookup('template', 'nope.j2') }}",
                &ctx,
                &Span::unknown(),
            )
            .unwrap_err();
        assert!(
            e.message.contains("nope.j2 could not be found")
                && e.message.contains("roles/web/templates/nope.j2"),
            "{}",
            e.message
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
