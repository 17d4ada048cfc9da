//! `synchronize` (ansible.posix.synchronize): rsync between the controller and the host, run
//! ON THE CONTROLLER as ansible.posix's action plugin runs it, against the host's own SSH
//! settings (address, user, port, private key; with `use_ssh_args` its other ssh options,
//! jump hosts and known_hosts among them), `mode: push` or `pull`. `changed` comes from
//! rsync's itemized output (`--out-format=<<CHANGED>>%i %n%L`), check mode is `--dry-run`.
//!
//! Where rsync runs follows the action plugin: on the controller; on the host itself when the
//! host's connection is local or the task is delegated to the host itself (both paths are then
//! local to it). Delegating to a third host (rsync run there against this host) is refused:
//! strata does not hand one host's SSH credentials to another.

mod command;

use futures::future::BoxFuture;

use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::{invocation, shlex};
use crate::transport::{LocalTransport, Transport};
use command::{Options, command_string, read_output, rsh_target, ssh_args_of};

pub struct Synchronize;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "synchronize",
    params: &[
        Param::new("src", T::Str).required(),
        Param::new("dest", T::Str).required(),
        Param::new("dest_port", T::Int),
        Param::new("delete", T::Bool),
        Param::new("private_key", T::Str),
        Param::new("rsync_path", T::Str),
        Param::new("archive", T::Bool),
        Param::new("checksum", T::Bool),
        Param::new("compress", T::Bool),
        Param::new("existing_only", T::Bool),
        Param::new("dirs", T::Bool),
        Param::new("recursive", T::Bool),
        Param::new("links", T::Bool),
        Param::new("copy_links", T::Bool),
        Param::new("perms", T::Bool),
        Param::new("times", T::Bool),
        Param::new("owner", T::Bool),
        Param::new("group", T::Bool),
        Param::new("set_remote_user", T::Bool),
        Param::new("rsync_timeout", T::Int),
        Param::new("rsync_opts", T::List),
        Param::new("use_ssh_args", T::Bool),
        Param::new("ssh_connection_multiplexing", T::Bool),
        Param::new("partial", T::Bool),
        Param::new("verify_host", T::Bool),
        Param::new("delay_updates", T::Bool),
        Param::new("mode", T::Str).choices(&["pull", "push"]),
        Param::new("link_dest", T::List),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Synchronize {
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

const LOCALHOST: &[&str] = &["127.0.0.1", "localhost", "::1"];

/// A host variable as text (`ansible_port` may be a number).
fn var(ctx: &ModuleCtx<'_>, name: &str) -> Option<String> {
    let v = ctx.vars.get_attr(name).ok()?;
    if v.is_undefined() || v.is_none() {
        return None;
    }
    v.as_str()
        .map(str::to_string)
        .or_else(|| Some(v.to_string()))
        .filter(|s| !s.is_empty())
}

/// `_get_absolute_path`: a controller path found as a role's or the playbook's `files/`
/// (keeping a trailing `/`, which tells rsync to copy the directory's contents).
fn local_path(ctx: &ModuleCtx<'_>, path: &str) -> String {
    if path.contains(':') || path.starts_with('/') {
        return path.to_string();
    }
    let rel = path.trim_end_matches('/');
    let found = ctx
        .search
        .find("files", rel)
        .or_else(|| ctx.search.roots.last().map(|r| r.join(rel)))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| rel.to_string());
    if path.ends_with('/') && !found.ends_with('/') {
        format!("{found}/")
    } else {
        found
    }
}

fn options(ctx: &ModuleCtx<'_>, args: &Args) -> Result<Options, ModuleError> {
    let b = |n: &str, d: bool| args.bool_or(n, d);
    Ok(Options {
        src: args.req_str("src")?,
        dest: args.req_str("dest")?,
        dest_port: args.int("dest_port")?,
        delete: b("delete", false)?,
        private_key: args.str("private_key"),
        rsync_path: args.str("rsync_path"),
        archive: b("archive", true)?,
        checksum: b("checksum", false)?,
        compress: b("compress", true)?,
        existing_only: b("existing_only", false)?,
        dirs: b("dirs", false)?,
        recursive: args.bool("recursive")?,
        links: args.bool("links")?,
        copy_links: b("copy_links", false)?,
        perms: args.bool("perms")?,
        times: args.bool("times")?,
        owner: args.bool("owner")?,
        group: args.bool("group")?,
        rsync_timeout: args.int("rsync_timeout")?.unwrap_or(0),
        rsync_opts: args.str_list("rsync_opts")?.unwrap_or_default(),
        ssh_args: None,
        ssh_connection_multiplexing: b("ssh_connection_multiplexing", false)?,
        partial: b("partial", false)?,
        verify_host: b("verify_host", false)?,
        delay_updates: b("delay_updates", true)?,
        link_dest: args.str_list("link_dest")?.unwrap_or_default(),
        check_mode: ctx.check_mode,
    })
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let mut o = options(ctx, args)?;
    let pull = args.str("mode").as_deref() == Some("pull");
    let target = ctx.host_conn.ssh_params()?;
    let host_ids: Vec<String> = [Some(ctx.host.to_string()), var(ctx, "ansible_host")]
        .into_iter()
        .flatten()
        .collect();
    let delegated = ctx.delegated_to.filter(|d| !LOCALHOST.contains(d));
    // Where rsync runs: the controller, unless both ends are the host itself.
    let local_copy = match (delegated, &target) {
        (Some(d), _) if host_ids.iter().any(|h| h == d) => true,
        (Some(d), _) => {
            return Ok(ModuleResult::failed(format!(
                "synchronize: strata runs rsync on the controller (or on the host itself); \
                 delegate_to: {d} would run it on another host against {}, which strata does \
                 not do",
                ctx.host
            )));
        }
        (None, None) => true,
        (None, Some(_)) => false,
    };
    if local_copy {
        o.src = local_path(ctx, &o.src);
        o.dest = local_path(ctx, &o.dest);
        return execute(ctx, o, false).await;
    }
    let p = target.expect("an ssh target");
    if p.password.is_some() {
        return Ok(ModuleResult::failed(
            "synchronize: the host logs in with ansible_password, which strata does not hand \
             to rsync (Ansible uses sshpass); give the host a key (ansible_ssh_private_key_file)",
        ));
    }
    let user = args
        .bool_or("set_remote_user", true)?
        .then(|| p.user.clone());
    if o.private_key.is_none() {
        o.private_key = p
            .key_file
            .as_ref()
            .map(|k| k.to_string_lossy().into_owned());
    }
    if o.dest_port.is_none() {
        o.dest_port = var(ctx, "ansible_port")
            .and_then(|s| s.parse().ok())
            .or((p.port != 22).then_some(i64::from(p.port)));
    }
    if args.bool_or("use_ssh_args", false)? {
        o.ssh_args = Some(ssh_args_of(&p));
    }
    let remote = |path: &str| rsh_target(&p.host, path, user.as_deref());
    if pull {
        o.src = remote(&o.src);
        o.dest = local_path(ctx, &o.dest);
    } else {
        o.src = local_path(ctx, &o.src);
        o.dest = remote(&o.dest);
    }
    if o.rsync_path.is_none()
        && let Some(b) = &ctx.become_
        && b.method == crate::shell::BecomeMethod::Sudo
    {
        o.rsync_path = Some(format!("sudo -u {} rsync", b.user));
    }
    execute(ctx, o, true).await
}

/// Runs the command on the controller (`on_controller`) or over the task's connection.
async fn execute(
    ctx: &ModuleCtx<'_>,
    o: Options,
    on_controller: bool,
) -> Result<ModuleResult, ModuleError> {
    let rsync = var(ctx, "ansible_rsync_path").unwrap_or_else(|| "rsync".into());
    let find = |prog: &str, var: &str| {
        if prog.contains('/') {
            format!("{var}={}\n", crate::shell::sh_quote(prog))
        } else {
            format!(
                "__p=\"$PATH:/sbin:/usr/sbin:/usr/local/sbin\"\n\
                 {var}=$(PATH=\"$__p\" command -v {q}) || {{ __s_val nobin \
                 \"Failed to find required executable \\\"{prog}\\\" in paths: $__p\"; exit 0; }}\n",
                q = crate::shell::sh_quote(prog)
            )
        }
    };
    let mut s = SectionScript::new();
    s.line(&find(&rsync, "__rsync"));
    if on_controller {
        s.line(&find("ssh", "__ssh"));
    } else {
        s.line("__ssh=ssh");
    }
    s.line("__s_val bins \"$__rsync\n$__ssh\"");
    let probe = s.build();
    let conn: &dyn Transport = if on_controller {
        &LocalTransport
    } else {
        ctx.conn
    };
    let run_script = |script: String| async move {
        if on_controller {
            let inv = invocation(&script, &ctx.env, None, None);
            Ok::<_, ModuleError>(conn.exec(&inv.command, Some(&inv.stdin)).await?)
        } else {
            ctx.run(&script, None).await
        }
    };
    let out = run_script(probe).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if let Some(m) = secs.val("nobin") {
        return Ok(ModuleResult::failed(m.to_string()));
    }
    let bins = secs.val("bins").unwrap_or("rsync\nssh").to_string();
    let (rsync_bin, ssh_bin) = bins.split_once('\n').unwrap_or(("rsync", "ssh"));
    // Ansible's command string, split into words as the module's `run_command` splits it.
    let cmdstr = match command_string(&o, rsync_bin, ssh_bin) {
        Ok(c) => c,
        Err(e) => return Ok(ModuleResult::failed(e.to_string()).with("rc", 1)),
    };
    let words = shlex::split(&cmdstr).map_err(|e| ModuleError::Args(format!("{e}")))?;
    let mut a = SectionScript::new();
    a.sec(
        "rsync",
        &words.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let out = run_script(a.build()).await?;
    let secs = Sections::parse(a.marker(), &out.stdout_str());
    let Some(r) = secs.get("rsync") else {
        return Ok(ModuleResult::failed(format!(
            "rsync could not run: {}",
            out.stderr_str().trim()
        )));
    };
    if r.rc != 0 {
        return Ok(ModuleResult::failed(r.stderr.clone())
            .with("rc", r.rc)
            .with("cmd", cmdstr));
    }
    let (changed, clean, lines) = read_output(&r.stdout, !o.link_dest.is_empty());
    Ok(ModuleResult::changed(changed)
        .msg(clean)
        .with("rc", 0)
        .with("cmd", cmdstr)
        .with("stdout_lines", lines))
}

#[cfg(test)]
mod tests;
