//! `lineinfile`: ensures one line is present (possibly replacing a `regexp`/`search_string`
//! match, or inserted relative to `insertafter`/`insertbefore`) or absent. The line logic is a
//! port of Ansible's, in Rust. Regexes use the `regex` crate: Python syntax mostly carries over
//! (`\d`, `\s`, groups, `(?P<n>..)`), but lookaround and in-pattern backreferences do not; a
//! line is matched without its terminator, so `$` means end of line as with Python's `re`.

use futures::future::BoxFuture;
use regex::Regex;

use super::text_edit::{EditOptions, TextEdit, compile, finish, lines_with_endings};
use super::text_edit::{load, missing, python_template};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct LineInFile;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "lineinfile",
    params: &[
        Param::new("path", T::Str)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        Param::new("line", T::Str).aliases(&["value"]),
        Param::new("regexp", T::Str).aliases(&["regex"]),
        Param::new("search_string", T::Str),
        Param::new("state", T::Str).choices(&["present", "absent"]),
        Param::new("insertafter", T::Str),
        Param::new("insertbefore", T::Str),
        Param::new("create", T::Bool),
        Param::new("backrefs", T::Bool),
        Param::new("firstmatch", T::Bool),
        Param::new("backup", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("validate", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[
        &["insertbefore", "insertafter"],
        &["regexp", "search_string"],
        &["backrefs", "search_string"],
    ],
    required_one_of: &[],
    any_params: false,
};

impl Module for LineInFile {
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

/// The parsed request, independent of any host.
pub struct Request {
    pub line: Option<String>,
    pub regexp: Option<Regex>,
    pub search_string: Option<String>,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
    pub backrefs: bool,
    pub firstmatch: bool,
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let opts = EditOptions::from_args(args, "backup")?;
    let present = args.str("state").as_deref() != Some("absent");
    let backrefs = args.bool_or("backrefs", false)?;
    let regexp = args.str("regexp").or_else(|| args.str("regex"));
    let line = args.str("line").or_else(|| args.str("value"));
    let search_string = args.str("search_string");
    if present && line.is_none() {
        return Err(ModuleError::Args(
            "line is required with state=present".into(),
        ));
    }
    if backrefs && regexp.is_none() {
        return Err(ModuleError::Args(
            "regexp is required with backrefs=true".into(),
        ));
    }
    if !present && line.is_none() && regexp.is_none() && search_string.is_none() {
        return Err(ModuleError::Args(
            "one of line, search_string, or regexp is required with state=absent".into(),
        ));
    }
    let req = Request {
        line,
        regexp: regexp.as_deref().map(|r| compile(r, "")).transpose()?,
        search_string,
        insertafter: args.str("insertafter"),
        insertbefore: args.str("insertbefore"),
        backrefs,
        firstmatch: args.bool_or("firstmatch", false)?,
    };
    let file = match load(ctx, &opts.path).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    if file.stat.is_none() {
        if !present {
            return Ok(ModuleResult::changed(false).msg("file not present"));
        }
        if !args.bool_or("create", false)? {
            return Ok(missing(format!(
                "Destination {} does not exist !",
                opts.path
            )));
        }
    }
    let text = String::from_utf8_lossy(&file.content).into_owned();
    let mut edit = if present {
        ensure_present(&text, &req)?
    } else {
        ensure_absent(&text, &req)
    };
    if file.stat.is_none() {
        // A created file is a change even when the line logic found nothing to do.
        edit.changed = true;
    }
    finish(ctx, &opts, &file, edit).await
}

/// Ansible's `present()`.
pub fn ensure_present(text: &str, req: &Request) -> Result<TextEdit, ModuleError> {
    let line = req.line.clone().unwrap_or_default();
    let mut lines = lines_with_endings(text);
    let ins_re = match (&req.insertafter, &req.insertbefore) {
        (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile(a, "")?),
        (None, Some(b)) if b != "BOF" => Some(compile(b, "")?),
        _ => None,
    };
    let strip = |l: &str| l.trim_end_matches(['\r', '\n']).to_string();
    let (mut found, mut ins) = (None::<usize>, None::<usize>);
    let mut captured: Option<String> = None;
    if let Some(re) = &req.regexp {
        for (i, l) in lines.iter().enumerate() {
            let bare = strip(l);
            if let Some(c) = re.captures(&bare) {
                found = Some(i);
                captured = Some(if req.backrefs {
                    let mut s = String::new();
                    c.expand(&python_template(&line), &mut s);
                    s
                } else {
                    line.clone()
                });
                if req.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(ss) = &req.search_string {
        for (i, l) in lines.iter().enumerate() {
            if l.contains(ss.as_str()) {
                found = Some(i);
                captured = Some(line.clone());
                if req.firstmatch {
                    break;
                }
            }
        }
    }
    if captured.is_none() {
        for (i, l) in lines.iter().enumerate() {
            if strip(l) == line {
                found = Some(i);
            } else if let Some(re) = &ins_re
                && re.is_match(&strip(l))
            {
                ins = Some(if req.insertafter.is_some() { i + 1 } else { i });
                if req.firstmatch {
                    break;
                }
            }
        }
    }
    let added = |lines: Vec<String>| TextEdit {
        content: lines.concat().into_bytes(),
        changed: true,
        msg: "line added".into(),
    };
    let ensure_eol = |lines: &mut Vec<String>| {
        if let Some(last) = lines.last_mut()
            && !last.ends_with(['\n', '\r'])
        {
            last.push('\n');
        }
    };
    if let Some(i) = found {
        let mut new_line = captured.unwrap_or_else(|| line.clone());
        if !new_line.ends_with('\n') {
            new_line.push('\n');
        }
        if lines[i] != new_line {
            lines[i] = new_line;
            return Ok(TextEdit {
                content: lines.concat().into_bytes(),
                changed: true,
                msg: "line replaced".into(),
            });
        }
        return Ok(unchanged(text));
    }
    if req.backrefs {
        // Without a match there is nothing to expand the backreferences from: do nothing.
        return Ok(unchanged(text));
    }
    let bof =
        req.insertbefore.as_deref() == Some("BOF") || req.insertafter.as_deref() == Some("BOF");
    if bof {
        lines.insert(0, format!("{line}\n"));
        return Ok(added(lines));
    }
    match ins {
        Some(idx) if req.insertafter.as_deref() != Some("EOF") => {
            if req.insertafter.is_some() {
                if idx == lines.len() {
                    if strip(&lines[idx - 1]) == line {
                        return Ok(unchanged(text));
                    }
                    ensure_eol(&mut lines);
                    lines.push(format!("{line}\n"));
                } else if strip(&lines[idx]) == line {
                    return Ok(unchanged(text));
                } else {
                    lines.insert(idx, format!("{line}\n"));
                }
            } else {
                lines.insert(idx, format!("{line}\n"));
            }
            Ok(added(lines))
        }
        _ => {
            ensure_eol(&mut lines);
            lines.push(format!("{line}\n"));
            Ok(added(lines))
        }
    }
}

fn unchanged(text: &str) -> TextEdit {
    TextEdit {
        content: text.as_bytes().to_vec(),
        changed: false,
        msg: String::new(),
    }
}

/// Ansible's `absent()`: removes every matching line.
pub fn ensure_absent(text: &str, req: &Request) -> TextEdit {
    let mut removed = 0;
    let kept: Vec<String> = lines_with_endings(text)
        .into_iter()
        .filter(|l| {
            let bare = l.trim_end_matches(['\r', '\n']);
            let hit = match (&req.regexp, &req.search_string) {
                (Some(re), _) => re.is_match(bare),
                (None, Some(s)) => l.contains(s.as_str()),
                (None, None) => req.line.as_deref() == Some(bare),
            };
            removed += hit as usize;
            !hit
        })
        .collect();
    if removed == 0 {
        return unchanged(text);
    }
    TextEdit {
        content: kept.concat().into_bytes(),
        changed: true,
        msg: format!("{removed} line(s) removed"),
    }
}

#[cfg(test)]
mod tests;
