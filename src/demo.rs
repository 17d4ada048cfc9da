//! `strata lab demo`, the README's first command: the Plone stack (`stacks/plone.yml`) on 5
//! fresh systemd lab hosts. Fresh hosts, the package caches built or reused and served on the
//! lab's bridge, the lab's inventory where the stack reads it, an empty stack state, then
//! `strata stack -f stacks/plone.yml sync` in this process, and a check of the site through
//! its frontend. One status line per step, with the time since the start, because a cold run
//! spends minutes downloading. `strata bench --case demo` times the same function.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::exit::ExitCode;
use crate::lab::cache::{self, CacheError, CacheOptions};
use crate::lab::{self, Demo, LabError, LabOptions, serve};
use crate::run::{Output, RunRequest};
use crate::stack::state::SqliteState;
use crate::stack::{Stack, StackError, StackRequest, file, status, sync};

/// How long the frontend may take to serve the site after the sync (haproxy's health checks
/// and the clients' first requests).
const CHECK_TIMEOUT: Duration = Duration::from_secs(90);

pub struct DemoOptions {
    pub lab: LabOptions,
    pub cache: CacheOptions,
    /// The strata binary, which runs the lab's file server in the background.
    pub exe: PathBuf,
    /// Print the sync's task lines (the command does; the benchmark does not).
    pub verbose_sync: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0} not found: run `strata lab demo` from the root of strata's checkout")]
    MissingStack(PathBuf),
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error("the sync did not bring the stack up (exit code {0:?}); its report is above")]
    Sync(ExitCode),
    #[error("the frontend {url} did not serve the site within {secs}s: {last}")]
    Check {
        url: String,
        secs: u64,
        last: String,
    },
}

impl DemoError {
    /// Prints the error as the commands do: stack input errors with their locations.
    pub fn report(&self) {
        match self {
            DemoError::Stack(StackError::Input(i)) => eprint!("{}", i.render()),
            other => eprintln!("error: {other}"),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            DemoError::MissingStack(_) => ExitCode::BadInput,
            DemoError::Stack(e) => e.exit_code(),
            DemoError::Sync(code) => *code,
            _ => ExitCode::Error,
        }
    }
}

/// What the demo brought up.
#[derive(Clone, Debug)]
pub struct DemoOutcome {
    pub frontend: String,
    /// The front page's `<title>`, fetched through the frontend.
    pub title: String,
}

/// One line per step: `[  12.3s] what is happening now`.
struct Steps(Instant);

impl Steps {
    fn step(&self, what: &str) {
        println!("[{:>6.1}s] {what}", self.0.elapsed().as_secs_f64());
    }
}

/// Runs the whole demo; the hosts stay up afterwards.
pub async fn plone(opts: &DemoOptions) -> Result<DemoOutcome, DemoError> {
    let steps = Steps(Instant::now());
    let stack_file = Path::new(Demo::STACK);
    if !stack_file.is_file() {
        return Err(DemoError::MissingStack(stack_file.into()));
    }
    let lab_opts = opts.lab.clone();
    // New hosts every run: a lab of this name goes first (with its file server), and so does
    // the state that remembers its hosts as instances (they would not be set up again).
    if lab_opts.state_path().exists() {
        steps.step(&format!("removing the previous lab {:?}", lab_opts.name));
        blocking({
            let o = lab_opts.clone();
            move || lab::down(&o)
        })
        .await?;
    }
    steps.step(&format!(
        "starting {} systemd lab hosts: {}",
        Demo::HOSTS.len(),
        Demo::HOSTS.join(" ")
    ));
    let state = blocking({
        let o = lab_opts.clone();
        let names: Vec<String> = Demo::HOSTS.iter().map(|h| h.to_string()).collect();
        move || lab::up_named(&o, &names, true)
    })
    .await?;
    steps.step(&format!(
        "package caches in {} (built, or reused when complete)",
        opts.cache.dir.display()
    ));
    blocking({
        let c = opts.cache.clone();
        move || cache::build(&c, &mut |line| println!("           {line}"))
    })
    .await?;
    steps.step(&format!("serving them at {}", serve::url(&state)));
    blocking({
        let (o, exe, dir) = (lab_opts.clone(), opts.exe.clone(), opts.cache.dir.clone());
        move || serve::start(&o, &exe, &dir)
    })
    .await?;
    lab::inventory_to(&lab_opts, Path::new(Demo::INVENTORY))?;
    steps.step(&format!(
        "wrote {}; emptying the stack state; strata stack -f {} sync",
        Demo::INVENTORY,
        Demo::STACK
    ));
    let code = sync_and_status(stack_file, opts.verbose_sync).await?;
    if code != ExitCode::Ok {
        return Err(DemoError::Sync(code));
    }
    let frontend_host = state
        .host(Demo::FRONTEND)
        .expect("the demo lab has its frontend host");
    let frontend = format!("http://{}/", frontend_host.addr);
    steps.step(&format!(
        "checking the site through the frontend, {frontend}"
    ));
    let title = front_page_title(&frontend).await?;
    steps.step("done");
    Ok(DemoOutcome { frontend, title })
}

/// `strata stack -f FILE sync` from an empty state, then `status`; returns the sync's code.
async fn sync_and_status(stack_file: &Path, verbose: bool) -> Result<ExitCode, StackError> {
    SqliteState::remove(&file::load(stack_file)?.db_path())?;
    let req = StackRequest {
        file: stack_file.to_path_buf(),
        run: RunRequest::new(Vec::new(), Vec::new()),
        attributes: Vec::new(),
        wait: Duration::ZERO,
        output: if verbose {
            Output::Stdout { json: false }
        } else {
            Output::Discard
        },
        command: "strata lab demo".into(),
    };
    let mut stack = Stack::open(req)?;
    let report = sync::sync(&mut stack, false, None, |_| {}).await?;
    print!("{}", report.render("sync"));
    let v = status::status(&stack.ctx.file, &stack.store)?;
    print!("\n{}", status::render_status(&v, &stack.ctx.file));
    Ok(report.exit_code())
}

/// GETs the frontend until it answers 200 with a `<title>` (the controller reaches the lab's
/// bridge), for the demo's closing check line.
async fn front_page_title(url: &str) -> Result<String, DemoError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client builds");
    let start = Instant::now();
    let mut last = String::from("no answer");
    while start.elapsed() < CHECK_TIMEOUT {
        match client.get(url).send().await {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.text().await.unwrap_or_default();
                match title(&body) {
                    Some(t) if status.is_success() => return Ok(t),
                    _ => last = format!("HTTP {status}"),
                }
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Err(DemoError::Check {
        url: url.to_string(),
        secs: CHECK_TIMEOUT.as_secs(),
        last,
    })
}

/// The text of an HTML page's `<title>`, whitespace collapsed.
fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title>")?;
    let text = html[start..end].split_whitespace().collect::<Vec<_>>();
    Some(text.join(" "))
}

/// Runs blocking lab work off the async runtime.
async fn blocking<T: Send + 'static, E: Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The closing lines of `strata lab demo`.
pub fn print_outcome(o: &DemoOutcome, lab: &LabOptions) {
    let name = if lab.name == LabOptions::DEFAULT_NAME {
        String::new()
    } else {
        format!(" --name {}", lab.name)
    };
    println!(
        "\nPlone is up behind nginx -> varnish -> haproxy on {}:",
        Demo::FRONTEND
    );
    println!("  frontend:    {}", o.frontend);
    println!(
        "  admin login: user admin, password in {} (on this machine)",
        Demo::ADMIN_PASSWORD
    );
    println!(
        "  check:       GET {} -> <title>{}</title>",
        o.frontend, o.title
    );
    println!(
        "The hosts stay up. Go on with `strata stack -f {} status`, `strata stack -f {0} run backup`, ...; \
         end with `strata lab{name} down`.",
        Demo::STACK
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_is_read_from_the_page() {
        assert_eq!(
            title("<html><head><TITLE>\n  Plone   site\n</TITLE></head>").as_deref(),
            Some("Plone site")
        );
        assert_eq!(
            title("<title data-x=\"1\">A &amp; B</title>").as_deref(),
            Some("A &amp; B")
        );
        assert_eq!(title("<p>no title</p>"), None);
    }
}
