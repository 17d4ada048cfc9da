//! `ini_file` (community.general): one setting in an INI-style file. The file is read in one
//! round trip, edited in Rust by [`self::edit`] and written back with the shared atomic
//! writer only when its text or requested attributes differ. As in Ansible, check mode reports
//! only text changes: attributes are compared after the write, which check mode never does.

pub mod edit;

use futures::future::BoxFuture;
use serde_json::Value;

use self::edit::{IniRequest, do_ini, normalize_text};
use super::text_edit::{attrs_differ, load, missing};
use crate::events::FileDiff;
use crate::modules::toolkit::atomic_write::{
    Content, FileAttrs, WriteSpec, parent_dir, write_file,
};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::values::to_str;

pub struct IniFile;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "ini_file",
    params: &[
        Param::new("path", T::Str).required().aliases(&["dest"]),
        Param::new("section", T::Str),
        Param::new("section_has_values", T::Raw),
        Param::new("option", T::Str).aliases(&["key"]),
        Param::new("value", T::Str),
        Param::new("values", T::List),
        Param::new("backup", T::Bool),
        Param::new("state", T::Str).choices(&["absent", "present"]),
        Param::new("exclusive", T::Bool),
        Param::new("no_extra_spaces", T::Bool),
        Param::new("ignore_spaces", T::Bool),
        Param::new("allow_no_value", T::Bool),
        Param::new("modify_inactive_option", T::Bool),
        Param::new("create", T::Bool),
        Param::new("follow", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["value", "values"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for IniFile {
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

/// Builds the request from the task's arguments, with Ansible's validation.
pub fn request(args: &Args) -> Result<IniRequest, ModuleError> {
    let present = args.str("state").as_deref() != Some("absent");
    let allow_no_value = args.bool_or("allow_no_value", false)?;
    let value = args.str("value");
    let values = args.str_list("values")?;
    if present && !allow_no_value && value.is_none() && values.as_ref().is_none_or(Vec::is_empty) {
        return Err(ModuleError::Args(
            "Parameter 'value(s)' must be defined if state=present and allow_no_value=False."
                .into(),
        ));
    }
    let values = match value {
        Some(v) => vec![v],
        None => values.unwrap_or_default(),
    };
    Ok(IniRequest {
        section: args.str("section"),
        section_has_values: section_has_values(args.get("section_has_values"))?,
        option: args.str("option").or_else(|| args.str("key")),
        values,
        present,
        exclusive: args.bool_or("exclusive", true)?,
        no_extra_spaces: args.bool_or("no_extra_spaces", false)?,
        ignore_spaces: args.bool_or("ignore_spaces", false)?,
        allow_no_value,
        modify_inactive_option: args.bool_or("modify_inactive_option", true)?,
    })
}

fn section_has_values(v: Option<&Value>) -> Result<Vec<(String, Vec<String>)>, ModuleError> {
    let Some(v) = v else { return Ok(vec![]) };
    let bad = |m: &str| ModuleError::Args(format!("section_has_values: {m}"));
    let list = v.as_array().ok_or_else(|| bad("must be a list of dicts"))?;
    let mut out = Vec::new();
    for item in list {
        let d = item
            .as_object()
            .ok_or_else(|| bad("must be a list of dicts"))?;
        let option = d
            .get("option")
            .and_then(to_str)
            .ok_or_else(|| bad("missing required arguments: option"))?;
        let value = d.get("value").and_then(to_str);
        let values = d.get("values").filter(|v| !v.is_null());
        if value.is_some() && values.is_some() {
            return Err(bad("parameters are mutually exclusive: value|values"));
        }
        let vals = match (value, values) {
            (Some(v), _) => vec![v],
            (None, Some(Value::Array(a))) => a.iter().filter_map(to_str).collect(),
            (None, Some(other)) => to_str(other).into_iter().collect(),
            (None, None) => vec![],
        };
        out.push((option, vals));
    }
    Ok(out)
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let path = args
        .str("path")
        .or_else(|| args.str("dest"))
        .ok_or_else(|| ModuleError::Args("missing required arguments: path".into()))?;
    let req = request(args)?;
    let attrs = FileAttrs::from_args(args)?;
    let follow = args.bool_or("follow", false)?;
    let file = match load(ctx, &path).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let target = match (&file.real_path, follow) {
        (Some(real), true) => real.clone(),
        _ => path.clone(),
    };
    if file.stat.is_none() && !args.bool_or("create", true)? {
        return Ok(missing(format!("Destination {target} does not exist!")));
    }
    let before = normalize_text(&file.content);
    let edit = do_ini(&before, &req).map_err(ModuleError::Args)?;

    let mut r = ModuleResult::changed(edit.changed)
        .msg(edit.msg)
        .with("path", path.clone());
    if ctx.diff && edit.changed {
        r.diff.push(FileDiff {
            before_header: format!("{path} (content)"),
            after_header: format!("{path} (content)"),
            before,
            after: edit.text.clone(),
        });
    }
    // Ansible adds the path's attributes to any result that carries `path` (`add_path_info`),
    // as found on the host when nothing was written.
    let unwritten_info = |mut r: ModuleResult| {
        match &file.stat {
            Some(st) => r.data.extend(st.path_info()),
            None => {
                r.data.insert("state".into(), "absent".into());
            }
        }
        r
    };
    if ctx.check_mode {
        return Ok(unwritten_info(r));
    }
    let fix_attrs = match &file.stat {
        Some(st) => attrs_differ(st, &attrs, file.umask).map_err(ModuleError::Args)?,
        None => false,
    };
    if !edit.changed && !fix_attrs {
        return Ok(unwritten_info(r));
    }
    let content = if edit.changed {
        edit.text.into_bytes()
    } else {
        file.content.clone()
    };
    let (dest, name) = if file.stat.is_none() && !file.parent_exists {
        let base = target.rsplit('/').next().unwrap_or(&target).to_string();
        (format!("{}/", parent_dir(&target)), Some(base))
    } else {
        (target, None)
    };
    let mut spec = WriteSpec::new(dest, Content::Bytes(content));
    spec.name = name;
    spec.attrs = attrs;
    spec.backup = edit.changed && args.bool_or("backup", false)?;
    let o = write_file(ctx, &spec).await?;
    if let Some(e) = o.error {
        return Ok(e.into_result());
    }
    r.changed = edit.changed || o.changed();
    if let Some(b) = &o.backup_file {
        r.data.insert("backup_file".into(), b.clone().into());
    }
    if let Some(a) = &o.attrs {
        a.add_to(&mut r);
        r.data.insert("state".into(), "file".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
