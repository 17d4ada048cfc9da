//! `blockinfile`: a block of lines between `# BEGIN/END ANSIBLE MANAGED BLOCK` markers,
//! inserted, updated or removed. The placement logic is Ansible's, ported to Rust.

use futures::future::BoxFuture;

use super::text_edit::{EditOptions, TextEdit, compile, finish, lines_with_endings};
use super::text_edit::{load, missing};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct BlockInFile;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "blockinfile",
    params: &[
        Param::new("path", T::Str)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        Param::new("block", T::Str).aliases(&["content"]),
        Param::new("marker", T::Str),
        Param::new("marker_begin", T::Str),
        Param::new("marker_end", T::Str),
        Param::new("state", T::Str).choices(&["present", "absent"]),
        Param::new("insertafter", T::Str),
        Param::new("insertbefore", T::Str),
        Param::new("create", T::Bool),
        Param::new("backup", T::Bool),
        Param::new("append_newline", T::Bool),
        Param::new("prepend_newline", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("validate", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["insertbefore", "insertafter"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for BlockInFile {
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

pub struct Request {
    pub block: String,
    pub marker_begin: String,
    pub marker_end: String,
    pub present: bool,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
    pub append_newline: bool,
    pub prepend_newline: bool,
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let opts = EditOptions::from_args(args, "backup_file")?;
    let marker = args
        .str("marker")
        .unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
    let req = Request {
        block: args
            .str("block")
            .or_else(|| args.str("content"))
            .unwrap_or_default(),
        marker_begin: marker.replace(
            "{mark}",
            &args.str("marker_begin").unwrap_or_else(|| "BEGIN".into()),
        ),
        marker_end: marker.replace(
            "{mark}",
            &args.str("marker_end").unwrap_or_else(|| "END".into()),
        ),
        present: args.str("state").as_deref() != Some("absent"),
        insertafter: args.str("insertafter"),
        insertbefore: args.str("insertbefore"),
        append_newline: args.bool_or("append_newline", false)?,
        prepend_newline: args.bool_or("prepend_newline", false)?,
    };
    let file = match load(ctx, &opts.path).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let exists = file.stat.is_some();
    if !exists {
        if !args.bool_or("create", false)? {
            return Ok(missing(format!("Path {} does not exist !", opts.path)));
        }
        if !req.present {
            return Ok(ModuleResult::changed(false).msg("File not present"));
        }
    }
    let text = String::from_utf8_lossy(&file.content).into_owned();
    let mut edit = apply(&text, &req)?;
    if !exists && edit.changed {
        edit.msg = "File created".into();
    }
    finish(ctx, &opts, &file, edit).await
}

/// Ansible's block placement: replace the marked block in place, or insert it after the last
/// `insertafter` match / before the last `insertbefore` match / at EOF or BOF.
pub fn apply(text: &str, req: &Request) -> Result<TextEdit, ModuleError> {
    let mut lines = lines_with_endings(text);
    let m0 = format!("{}\n", req.marker_begin);
    let m1 = format!("{}\n", req.marker_end);
    let block_lines: Vec<String> = if req.present && !req.block.is_empty() {
        let mut b = req.block.clone();
        if !b.ends_with('\n') {
            b.push('\n');
        }
        let mut v = vec![m0.clone()];
        v.extend(lines_with_endings(&b));
        v.push(m1.clone());
        v
    } else {
        vec![]
    };
    let bare = |l: &str| l.trim_end_matches(['\r', '\n']).to_string();
    let (mut n0, mut n1) = (None, None);
    for (i, l) in lines.iter().enumerate() {
        if bare(l) == req.marker_begin {
            n0 = Some(i);
        }
        if bare(l) == req.marker_end {
            n1 = Some(i);
        }
    }
    let (after, before) = match (&req.insertafter, &req.insertbefore) {
        (None, None) => (Some("EOF".to_string()), None),
        (a, b) => (a.clone(), b.clone()),
    };
    let insert_re = match (&after, &before) {
        (Some(a), _) if a != "EOF" => Some(compile(a, "")?),
        (None, Some(b)) if b != "BOF" => Some(compile(b, "")?),
        _ => None,
    };
    let mut at = match (n0, n1) {
        (Some(a), Some(b)) => {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            lines.drain(lo..=hi);
            lo
        }
        _ => match &insert_re {
            Some(re) => match lines.iter().rposition(|l| re.is_match(&bare(l))) {
                None => lines.len(),
                Some(i) if after.is_some() => i + 1,
                Some(i) => i,
            },
            None if before.is_some() => 0,
            None => lines.len(),
        },
    };
    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push('\n');
    }
    if req.prepend_newline && req.present && at != 0 && lines[at - 1] != "\n" {
        lines.insert(at, "\n".into());
        at += 1;
    }
    let end = at + block_lines.len();
    lines.splice(at..at, block_lines.iter().cloned());
    if req.append_newline && req.present && end < lines.len() && lines[end] != "\n" {
        lines.insert(end, "\n".into());
    }
    let result = lines.concat();
    let (changed, msg) = if result == text {
        (false, "")
    } else if block_lines.is_empty() {
        (true, "Block removed")
    } else {
        (true, "Block inserted")
    };
    Ok(TextEdit {
        content: result.into_bytes(),
        changed,
        msg: msg.into(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::harness::{Run, Scratch, read, run_module};

    fn req(block: &str) -> Request {
        Request {
            block: block.into(),
            marker_begin: "# BEGIN ANSIBLE MANAGED BLOCK".into(),
            marker_end: "# END ANSIBLE MANAGED BLOCK".into(),
            present: true,
            insertafter: None,
            insertbefore: None,
            append_newline: false,
            prepend_newline: false,
        }
    }

    fn text(e: &TextEdit) -> String {
        String::from_utf8(e.content.clone()).unwrap()
    }

    #[test]
    fn insert_update_remove() {
        let e = apply("a\nb", &req("x\ny")).unwrap();
        let want = "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n";
        assert_eq!(
            (text(&e).as_str(), e.msg.as_str()),
            (want, "Block inserted")
        );
        assert!(!apply(want, &req("x\ny")).unwrap().changed);
        let e = apply(want, &req("z")).unwrap();
        assert_eq!(
            text(&e),
            "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nz\n# END ANSIBLE MANAGED BLOCK\n"
        );
        let mut r = req("");
        r.present = false;
        let e = apply(want, &r).unwrap();
        assert_eq!(
            (text(&e).as_str(), e.msg.as_str()),
            ("a\nb\n", "Block removed")
        );

        let mut r = req("x");
        r.insertafter = Some("^a".into());
        assert_eq!(
            text(&apply("a\nb\n", &r).unwrap()),
            "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\n"
        );
        let mut r = req("x");
        r.insertbefore = Some("BOF".into());
        assert!(text(&apply("a\n", &r).unwrap()).starts_with("# BEGIN"));
    }

    #[tokio::test]
    async fn module_on_real_files() {
        let d = Scratch::new("bif");
        let p = d.s("f");
        std::fs::write(d.path("f"), "keep\n").unwrap();
        let args = json!({"path": p, "block": "one\ntwo", "marker": "<!-- {mark} managed -->"});
        let r = run_module(&BlockInFile, args.clone(), Run::check()).await;
        assert!(r.changed && read(&d.path("f")) == "keep\n");
        let r = run_module(&BlockInFile, args.clone(), Run::diff()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.msg.as_deref(), Some("Block inserted"));
        assert_eq!(
            read(&d.path("f")),
            "keep\n<!-- BEGIN managed -->\none\ntwo\n<!-- END managed -->\n"
        );
        assert_eq!(r.diff[0].before, "keep\n");
        let r = run_module(&BlockInFile, args.clone(), Run::default()).await;
        assert!(!r.changed && !r.failed, "{r:?}");
        let r = run_module(
            &BlockInFile,
            json!({"path": d.s("nope"), "block": "x"}),
            Run::default(),
        )
        .await;
        assert_eq!(
            r.msg.unwrap(),
            format!("Path {} does not exist !", d.s("nope"))
        );
        let r = run_module(
            &BlockInFile,
            json!({"path": d.s("nope"), "block": "x", "create": true}),
            Run::default(),
        )
        .await;
        assert_eq!(r.msg.as_deref(), Some("File created"));
        assert_eq!(
            read(&d.path("nope")),
            "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n"
        );
    }
}
