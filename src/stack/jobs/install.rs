//! `strata jobs install|uninstall`: the jobs into the bastion's own scheduler.
//!
//! On systemd (`/run/systemd/system` exists), one `strata-<stack>-<job>.service` (oneshot,
//! running `strata jobs -f <stack file> run <job>` with absolute paths) and one `.timer`
//! (`OnCalendar=` in UTC, `Persistent=true`, `RandomizedDelaySec=` from `jitter`) per job,
//! in `/etc/systemd/system` or, with `--user`, `~/.config/systemd/user`. Without systemd,
//! one crontab line per job, marked `# strata:<stack>:<job>`. Every file and line strata
//! writes carries that marker: it is how `install` finds the units of jobs that left the
//! stack file, and it keeps a stack named `plone` from touching the units of a stack named
//! `plone-test`, whose names share the `strata-plone-` prefix. Files are written only when
//! their content changes, each atomically (temporary file, then rename).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::spec::Job;
use crate::shell::sh_quote;
use crate::stack::file::StackFile;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The stack's schedules cannot be said in this scheduler (exit 5).
    #[error("{0}")]
    Unsupported(String),
    /// A file or a scheduler command failed (exit 1).
    #[error("{0}")]
    Failed(String),
}

/// Where the jobs go.
#[derive(Clone, Debug)]
pub enum Scheduler {
    Systemd { dir: PathBuf, user: bool },
    Cron,
}

impl Scheduler {
    /// systemd when it is this machine's init (sd_booted's test), else cron.
    pub fn detect(user: bool) -> Scheduler {
        if !Path::new("/run/systemd/system").is_dir() {
            return Scheduler::Cron;
        }
        let dir = if user {
            std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
                .unwrap_or_else(|| PathBuf::from("/root/.config"))
                .join("systemd/user")
        } else {
            PathBuf::from("/etc/systemd/system")
        };
        Scheduler::Systemd { dir, user }
    }
}

/// `strata-<stack>-<job>`.
pub fn unit_name(file: &StackFile, job: &str) -> String {
    format!("strata-{}-{job}", file.name)
}

fn marker(file: &StackFile, job: &str) -> String {
    format!("# strata:{}:{job}", file.name)
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// One word of an `ExecStart=` line: quoted when needed, `%` doubled (systemd specifiers)
/// and `$` doubled (systemd expands `$NAME` in command lines, quoted or not).
fn exec_word(s: &str) -> String {
    let s = s.replace('%', "%%").replace('$', "$$");
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "\"'\\;$".contains(c)) {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s
    }
}

/// A path setting (`WorkingDirectory=`, `EnvironmentFile=`): systemd takes the rest of the
/// line as the path and does not unquote it, so only specifiers are escaped.
fn path_setting(p: &Path) -> String {
    p.to_string_lossy().replace('%', "%%")
}

pub fn service_unit(file: &StackFile, job: &Job, exe: &Path, env: Option<&Path>) -> String {
    let stack = abs(&file.path);
    let dir = abs(&file.dir);
    let exec = [
        exe.to_string_lossy().into_owned(),
        "jobs".into(),
        "-f".into(),
        stack.to_string_lossy().into_owned(),
        "run".into(),
        job.name.clone(),
    ]
    .iter()
    .map(|w| exec_word(w))
    .collect::<Vec<_>>()
    .join(" ");
    format!(
        "{marker}\n# Written by `strata jobs install` from {stack}; edit the stack file instead.\n\
         [Unit]\nDescription=strata job {job} of stack {name} (event {event})\n\n\
         [Service]\nType=oneshot\n\
         # strata enforces the job's own timeout and kills the run itself.\n\
         TimeoutStartSec=infinity\nWorkingDirectory={dir}\n{env}ExecStart={exec}\n",
        marker = marker(file, &job.name),
        stack = stack.display(),
        job = job.name,
        name = file.name,
        event = job.event,
        dir = path_setting(&dir),
        env = env
            .map(|p| format!("EnvironmentFile={}\n", path_setting(p)))
            .unwrap_or_default(),
    )
}

pub fn timer_unit(file: &StackFile, job: &Job) -> String {
    let jitter = job
        .jitter
        .map(|j| format!("RandomizedDelaySec={}\n", j.as_secs()))
        .unwrap_or_default();
    format!(
        "{marker}\n# Written by `strata jobs install`; schedule `{sched}` of the stack file.\n\
         [Unit]\nDescription=strata job {job} of stack {name}: {sched}\n\n\
         [Timer]\nOnCalendar={cal}\nPersistent=true\n{jitter}\n\
         [Install]\nWantedBy=timers.target\n",
        marker = marker(file, &job.name),
        sched = job.schedule,
        job = job.name,
        name = file.name,
        cal = job.calendar.on_calendar(),
    )
}

/// The crontab line of a job, or why cron cannot run its schedule.
pub fn cron_line(
    file: &StackFile,
    job: &Job,
    exe: &Path,
    env: Option<&Path>,
) -> Result<String, String> {
    let fields = job.calendar.to_cron().map_err(|e| {
        format!(
            "job `{}`: schedule `{}` cannot be written as a crontab line: {e}",
            job.name, job.schedule
        )
    })?;
    let env = env
        .map(|p| {
            format!(
                "set -a && . {} && set +a && ",
                sh_quote(&p.to_string_lossy())
            )
        })
        .unwrap_or_default();
    let cmd = format!(
        "{env}cd {} && {} jobs -f {} run {}",
        sh_quote(&abs(&file.dir).to_string_lossy()),
        sh_quote(&exe.to_string_lossy()),
        sh_quote(&abs(&file.path).to_string_lossy()),
        sh_quote(&job.name),
    );
    // In a crontab line an unescaped `%` ends the command.
    Ok(format!(
        "{fields} {} {}",
        cmd.replace('%', "\\%"),
        marker(file, &job.name)
    ))
}

/// What install or uninstall did, one line per unit or crontab entry.
pub type Report = Vec<String>;

pub fn install(file: &StackFile, sched: &Scheduler, exe: &Path) -> Result<Report, InstallError> {
    let env = state_env(file, true)?;
    let env = env.as_deref();
    match sched {
        Scheduler::Systemd { dir, user } => install_systemd(file, dir, *user, exe, env),
        Scheduler::Cron => install_cron(file, exe, env),
    }
}

/// `$STRATA_STATE_URL` as the scheduled runs must see it. A timer's or cron's run does not
/// inherit the installing shell's environment, so without this a stack whose state is chosen
/// by the variable would silently run its jobs against the stack file's `state:` instead.
/// The URL may hold a password, so it goes into a file only its owner reads
/// (`<state>/jobs/<stack>/state.env`, mode 0600, both systemd's `EnvironmentFile=` and `sh`
/// read it), never into a unit file or a command line. Without the variable (and on
/// uninstall) an earlier file is removed.
fn state_env(file: &StackFile, install: bool) -> Result<Option<PathBuf>, InstallError> {
    let path = file
        .state_dir
        .join("jobs")
        .join(&file.name)
        .join("state.env");
    let mut url = std::env::var(crate::stack::state::StateLocation::ENV).unwrap_or_default();
    if !url.is_empty() && !crate::stack::state::postgres::url::is_postgres(&url) {
        // A state directory is relative to the working directory, and scheduled runs start in
        // the stack file's: pin the one this command uses.
        url = abs(Path::new(&url)).to_string_lossy().into_owned();
    }
    if !install || url.is_empty() {
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(failed("removing", &path, e));
            }
            _ => return Ok(None),
        }
    }
    if url.contains(['\'', '\n', '\\']) {
        return Err(InstallError::Unsupported(format!(
            "${} holds a quote, backslash or newline, which an environment file cannot carry",
            crate::stack::state::StateLocation::ENV
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| failed("creating", dir, e))?;
    let text = format!("{}='{url}'\n", crate::stack::state::StateLocation::ENV);
    if fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(Some(abs(&path)));
    }
    let tmp = path.with_extension(format!("strata-tmp-{}", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    written.map_err(|e| failed("writing", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| failed("renaming into", &path, e))?;
    Ok(Some(abs(&path)))
}

pub fn uninstall(file: &StackFile, sched: &Scheduler) -> Result<Report, InstallError> {
    let empty = StackFile {
        jobs: Vec::new(),
        ..file.clone()
    };
    let report = match sched {
        Scheduler::Systemd { dir, user } => {
            install_systemd(&empty, dir, *user, Path::new("/nonexistent"), None)
        }
        Scheduler::Cron => install_cron(&empty, Path::new("/nonexistent"), None),
    }?;
    state_env(file, false)?;
    Ok(report)
}

fn failed(what: &str, p: &Path, e: std::io::Error) -> InstallError {
    InstallError::Failed(format!("{what} {}: {e}", p.display()))
}

/// Writes `text` at `path` unless it is already there; true when it wrote.
/// Refuses to replace a unit another stack's job wrote: `strata-plone-test-backup` is both
/// job `test-backup` of stack `plone` and job `backup` of stack `plone-test`, and a file not
/// written by strata is the operator's.
fn not_anothers(path: &Path, ours: &str) -> Result<(), InstallError> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(());
    };
    match text.lines().next() {
        Some(first) if first == ours => Ok(()),
        Some(first) if first.starts_with("# strata:") => Err(InstallError::Unsupported(format!(
            "{} belongs to another stack's job ({}); rename this job or that one",
            path.display(),
            first.trim_start_matches("# ")
        ))),
        _ => Err(InstallError::Unsupported(format!(
            "{} exists and was not written by strata jobs install; not replacing it",
            path.display()
        ))),
    }
}

fn write_if_changed(path: &Path, text: &str) -> Result<bool, InstallError> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    let tmp = path.with_extension(format!("strata-tmp-{}", std::process::id()));
    fs::write(&tmp, text).map_err(|e| failed("writing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| failed("renaming into", path, e))?;
    Ok(true)
}

fn systemctl(user: bool, args: &[&str]) -> Result<(), InstallError> {
    let mut cmd = Command::new("systemctl");
    if user {
        cmd.arg("--user");
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| InstallError::Failed(format!("cannot run systemctl: {e}")))?;
    if !out.status.success() {
        return Err(InstallError::Failed(format!(
            "systemctl {}{} failed: {}",
            if user { "--user " } else { "" },
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn install_systemd(
    file: &StackFile,
    dir: &Path,
    user: bool,
    exe: &Path,
    env: Option<&Path>,
) -> Result<Report, InstallError> {
    fs::create_dir_all(dir).map_err(|e| failed("creating", dir, e))?;
    let mut report = Vec::new();
    // Units of this stack whose job is gone: found by prefix, confirmed by marker.
    let prefix = format!("strata-{}-", file.name);
    let mut stale = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| failed("reading", dir, e))? {
        let Ok(e) = e else { continue };
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(job) = name.strip_prefix(&prefix).and_then(|r| {
            r.strip_suffix(".timer")
                .or_else(|| r.strip_suffix(".service"))
        }) else {
            continue;
        };
        let ours = fs::read_to_string(e.path())
            .is_ok_and(|t| t.lines().next() == Some(marker(file, job).as_str()));
        if ours && file.job(job).is_none() {
            stale.push((job.to_string(), e.path()));
        }
    }
    let mut stale_timers: Vec<String> = stale
        .iter()
        .filter(|(_, p)| p.extension().is_some_and(|x| x == "timer"))
        .map(|(j, _)| format!("{}.timer", unit_name(file, j)))
        .collect();
    stale_timers.dedup();
    for t in &stale_timers {
        // Best effort: a unit systemd never loaded cannot be disabled, only removed.
        let _ = systemctl(user, &["disable", "--now", t]);
    }
    for (_, p) in &stale {
        fs::remove_file(p).map_err(|e| failed("removing", p, e))?;
        report.push(format!("removed {}", p.display()));
    }
    let mut changed_timers = Vec::new();
    let mut timers = Vec::new();
    for job in &file.jobs {
        let base = unit_name(file, &job.name);
        let service = dir.join(format!("{base}.service"));
        let timer = dir.join(format!("{base}.timer"));
        for p in [&service, &timer] {
            not_anothers(p, &marker(file, &job.name))?;
        }
        let s = write_if_changed(&service, &service_unit(file, job, exe, env))?;
        let t = write_if_changed(&timer, &timer_unit(file, job))?;
        let word = if s || t { "installed" } else { "unchanged" };
        report.push(format!(
            "{word} {base}.timer (OnCalendar={}) and {base}.service",
            job.calendar.on_calendar()
        ));
        if t {
            changed_timers.push(format!("{base}.timer"));
        }
        timers.push(format!("{base}.timer"));
    }
    systemctl(user, &["daemon-reload"])?;
    if !timers.is_empty() {
        let mut args = vec!["enable", "--now"];
        args.extend(timers.iter().map(String::as_str));
        systemctl(user, &args)?;
    }
    if !changed_timers.is_empty() {
        // A running timer keeps its old schedule until restarted.
        let mut args = vec!["restart"];
        args.extend(changed_timers.iter().map(String::as_str));
        systemctl(user, &args)?;
    }
    Ok(report)
}

/// The current user's crontab; none yet is an empty one.
fn read_crontab() -> Result<String, InstallError> {
    let out = Command::new("crontab")
        .arg("-l")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            InstallError::Failed(format!("cannot run crontab (is cron installed?): {e}"))
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("no crontab") {
        return Ok(String::new());
    }
    Err(InstallError::Failed(format!(
        "crontab -l failed: {}",
        err.trim()
    )))
}

fn write_crontab(text: &str) -> Result<(), InstallError> {
    let mut child = Command::new("crontab")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| InstallError::Failed(format!("cannot run crontab: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| InstallError::Failed(format!("writing to crontab -: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| InstallError::Failed(format!("crontab -: {e}")))?;
    if !out.status.success() {
        return Err(InstallError::Failed(format!(
            "crontab - refused the new table: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn install_cron(file: &StackFile, exe: &Path, env: Option<&Path>) -> Result<Report, InstallError> {
    // Every line first: nothing is written when one job's schedule cannot be said in cron.
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for job in &file.jobs {
        match cron_line(file, job, exe, env) {
            Ok(l) => lines.push((job, l)),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(InstallError::Unsupported(format!(
            "{}\n(no systemd on this machine, so the jobs would go into the crontab)",
            problems.join("\n")
        )));
    }
    let old = read_crontab()?;
    let ours = format!("# strata:{}:", file.name);
    let mut report = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    for l in old.lines() {
        match l.rfind(&ours) {
            Some(at) if !l[at + ours.len()..].contains(char::is_whitespace) => {
                let job = &l[at + ours.len()..];
                if file.job(job).is_none() {
                    report.push(format!("removed the crontab line of job {job}"));
                }
            }
            _ => kept.push(l),
        }
    }
    let mut new = kept.join("\n");
    if !new.is_empty() {
        new.push('\n');
    }
    for (job, l) in &lines {
        new.push_str(l);
        new.push('\n');
        let word = if old.lines().any(|o| o == l) {
            "unchanged"
        } else {
            "installed"
        };
        report.push(format!("{word} the crontab line of job {}", job.name));
        if job.jitter.is_some() {
            report.push(format!(
                "warning: job {}: cron has no jitter; `jitter` applies under systemd only",
                job.name
            ));
        }
    }
    if new != old {
        write_crontab(&new)?;
    }
    if !file.jobs.is_empty() && local_offset() != 0 {
        report.push(
            "warning: cron runs in this machine's local time, which is not UTC; the stack \
             file's schedules are UTC"
                .into(),
        );
    }
    Ok(report)
}

/// The local time's offset from UTC now, in seconds.
fn local_offset() -> i64 {
    // SAFETY: time and localtime_r write only into the locals given to them.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack file with one job, in a directory whose name needs every kind of escaping.
    fn stack_in_awkward_dir() -> (PathBuf, StackFile) {
        let dir =
            crate::scratch::root().join(format!("strata jobs $HOME 100% {}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("inv.yml"), "all: {hosts: {h1: {}}}\n").unwrap();
        fs::write(
            dir.join("stack.yml"),
            "name: s\ninstances: {inventory: [inv.yml]}\nlayers:\n  app: {roles: []}\n\
             jobs:\n  nightly: {run: backup, layers: [app], schedule: daily, jitter: 5min}\n",
        )
        .unwrap();
        let f = crate::stack::file::load(&dir.join("stack.yml")).unwrap();
        (dir, f)
    }

    #[test]
    fn units_escape_paths_as_systemd_reads_them() {
        let (dir, f) = stack_in_awkward_dir();
        let job = f.job("nightly").unwrap();
        let env = dir.join("state.env");
        let unit = service_unit(&f, job, Path::new("/opt/strata bin/strata"), Some(&env));
        let shown = dir.to_string_lossy().replace('%', "%%");
        // Path settings: the rest of the line, unquoted, specifiers escaped.
        assert!(
            unit.contains(&format!("\nWorkingDirectory={shown}\n")),
            "{unit}"
        );
        assert!(
            unit.contains(&format!("\nEnvironmentFile={shown}/state.env\n")),
            "{unit}"
        );
        // ExecStart: words quoted, `$` and `%` doubled.
        let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        assert!(
            exec.starts_with("ExecStart=\"/opt/strata bin/strata\" jobs -f \""),
            "{exec}"
        );
        assert!(exec.contains("$$HOME 100%% "), "{exec}");
        assert!(exec.ends_with("/stack.yml\" run nightly"), "{exec}");
        assert!(unit.starts_with("# strata:s:nightly\n"), "{unit}");
        let timer = timer_unit(&f, job);
        assert!(
            timer.contains("\nOnCalendar=*-*-* 00:00:00 UTC\n"),
            "{timer}"
        );
        assert!(
            timer.contains("\nPersistent=true\nRandomizedDelaySec=300\n"),
            "{timer}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_stacks_unit_is_never_replaced() {
        let dir = crate::scratch::root().join(format!("strata-units-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("strata-plone-test-backup.timer");
        assert!(
            not_anothers(&p, "# strata:plone:test-backup").is_ok(),
            "no file yet"
        );
        fs::write(&p, "# strata:plone:test-backup\n[Timer]\n").unwrap();
        assert!(
            not_anothers(&p, "# strata:plone:test-backup").is_ok(),
            "our own"
        );
        let e = not_anothers(&p, "# strata:plone-test:backup").unwrap_err();
        assert!(e.to_string().contains("strata:plone:test-backup"), "{e}");
        fs::write(&p, "[Timer]\nOnCalendar=daily\n").unwrap();
        let e = not_anothers(&p, "# strata:plone:test-backup").unwrap_err();
        assert!(e.to_string().contains("not written by strata"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }
}
