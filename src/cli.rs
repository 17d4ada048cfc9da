//! Command-line interface (clap derive). Parsing only: `crate::run` dispatches. Options that
//! `ansible.cfg` can also set are optional here; `commands/` applies them over its settings.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::bench::{BenchCase, BenchOptions};
use crate::lab::LabOptions;
use crate::lab::cache::CacheOptions;

#[derive(Parser, Debug)]
#[command(
    name = "strata",
    version,
    about = "Agentless SSH orchestration with Ansible playbook syntax"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run playbooks against an inventory.
    Playbook(PlaybookArgs),
    /// Show the inventory as Ansible sees it (`ansible-inventory`).
    Inventory(InventoryArgs),
    /// Throwaway real OpenSSH hosts on this machine (needs root).
    Lab(LabArgs),
    /// Time a 17-step playbook, or a stack's sync and configure, on lab hosts against plain OpenSSH.
    Bench(BenchArgs),
    /// Layered stacks: instances, apps, lifecycle events and the configure broadcast.
    Stack(StackArgs),
    /// Run one module on the hosts a pattern matches (Ansible's ad-hoc `ansible` command).
    Run(AdhocArgs),
    /// A stack's scheduled jobs (`jobs:` in the stack file): run, history, timers.
    Jobs(JobsArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PlaybookArgs {
    /// Inventory sources: YAML or INI files, directories, or `host1,host2,`. Repeatable.
    /// Default: `inventory` of ansible.cfg or ANSIBLE_INVENTORY, else /etc/ansible/hosts.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<PathBuf>,
    /// Playbook files, run in order.
    #[arg(required = true)]
    pub playbooks: Vec<PathBuf>,
    /// Further limit the selected hosts with a pattern (or @file).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Only run tasks and plays tagged with these (comma-separated, repeatable).
    #[arg(short = 't', long = "tags", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks and plays tagged with these.
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// Extra variables: `k=v k2=v2`, `@file.yml` or JSON. Repeatable; later wins.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Report what would change without changing anything.
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show differences of changed files.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// How many hosts run a task at once [default: `forks` of ansible.cfg or ANSIBLE_FORKS,
    /// else 50].
    #[arg(short = 'f', long = "forks", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,
    /// More output: -v shows results.
    #[arg(short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
    /// One JSON object per event on stdout.
    #[arg(long)]
    pub json: bool,
    /// Check playbooks, roles and templates, then exit without contacting any host.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,
    /// List the hosts each play would run on, then exit.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
    /// List the tasks each play would run, then exit.
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,
    /// Refuse, at load time (exit 5), tasks whose module Ansible knows but strata does not
    /// implement; without it they load with a warning and fail only where they run.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Ignore cached inventory results (`cache: true` sources) and refresh the cache.
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
}

/// `ansible`'s ad-hoc options; hosts from an inventory (`-i`) or a stack (`-s`).
#[derive(Args, Debug, Clone)]
pub struct AdhocArgs {
    /// Host pattern (Ansible's patterns; with -s, layer names are groups).
    pub pattern: String,
    /// The module to run.
    #[arg(short = 'm', long = "module-name", default_value = crate::adhoc::DEFAULT_MODULE)]
    pub module: String,
    /// The module's arguments: free form, `k=v k2=v2`, or a JSON object.
    #[arg(short = 'a', long = "args")]
    pub args: Option<String>,
    /// Inventory sources, as for `strata playbook` (default: ansible.cfg's inventory).
    #[arg(short = 'i', long = "inventory", conflicts_with = "stack")]
    pub inventory: Vec<PathBuf>,
    /// Run on this stack's online instances instead of an inventory.
    #[arg(short = 's', long = "stack", value_name = "STACK_FILE")]
    pub stack: Option<PathBuf>,
    /// With -s: custom JSON merged over the stack's attributes, as for a stack event.
    #[arg(long = "attributes", value_name = "JSON|@FILE", requires = "stack")]
    pub attributes: Vec<String>,
    /// Run the module with become (sudo or ansible.cfg's become_method).
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// Become this user (default root).
    #[arg(long = "become-user")]
    pub become_user: Option<String>,
    /// Further limit the selected hosts with a pattern (or @file).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Extra variables: `k=v k2=v2`, `@file.yml` or JSON. Repeatable; later wins.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Report what would change without changing anything.
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show differences of changed files.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// How many hosts run at once [default: `forks` of ansible.cfg or ANSIBLE_FORKS, else 50].
    #[arg(short = 'f', long = "forks", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,
    /// More output (repeatable).
    #[arg(short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
    /// One line per host (Ansible's `oneline` output).
    #[arg(short = 'o', long = "one-line", conflicts_with = "json")]
    pub one_line: bool,
    /// One JSON object per event on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write each host's result as JSON to DIR/<host>.
    #[arg(short = 't', long = "tree", value_name = "DIR")]
    pub tree: Option<PathBuf>,
    /// List the matched hosts, then exit.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
    /// Refuse, at load time (exit 5), tasks whose module Ansible knows but strata does not
    /// implement; without it they load with a warning and fail only where they run.
    #[arg(long)]
    pub strict: bool,
    /// Ignore cached inventory results (`cache: true` sources) and refresh the cache.
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    #[command(flatten)]
    pub ssh: SshArgs,
}

/// How to reach hosts: shared by every command that runs tasks.
#[derive(Args, Debug, Clone)]
pub struct SshArgs {
    /// Connect as this user, for hosts without ansible_user [default: `remote_user` of
    /// ansible.cfg or ANSIBLE_REMOTE_USER, else $USER].
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Private key file, for hosts without ansible_ssh_private_key_file [default:
    /// `private_key_file` of ansible.cfg or ANSIBLE_PRIVATE_KEY_FILE].
    #[arg(long = "private-key", alias = "key-file")]
    pub private_key: Option<PathBuf>,
    /// Trust and record unknown host keys in known_hosts; a changed key is still an error.
    #[arg(long = "accept-new-host-keys")]
    pub accept_new_host_keys: bool,
    /// Do not check host keys at all. Only for throwaway lab hosts.
    #[arg(long = "insecure-ignore-host-keys")]
    pub insecure_ignore_host_keys: bool,
    /// SSH connect timeout in seconds [default: `timeout` of ansible.cfg or ANSIBLE_TIMEOUT,
    /// else 10].
    #[arg(long = "timeout")]
    pub timeout: Option<u64>,
    /// Ask for the SSH password (used where the inventory sets no ansible_password).
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// Ask for the become password (used where the inventory sets no
    /// ansible_become_password).
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
}

/// `ansible-inventory`'s options; exactly one of `--list`, `--host`, `--graph`.
#[derive(Args, Debug, Clone, Default)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["list", "host", "graph"])))]
pub struct InventoryArgs {
    /// Inventory sources: YAML or INI files, directories, or `host1,host2,`. Repeatable.
    #[arg(short = 'i', long = "inventory", required = true)]
    pub inventory: Vec<PathBuf>,
    /// Print all groups and hosts as JSON, with host variables under `_meta.hostvars`.
    #[arg(long)]
    pub list: bool,
    /// Print the variables of one host as JSON.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Print a tree of groups and hosts, from GROUP (default `all`).
    #[arg(long)]
    pub graph: bool,
    /// With --graph: show variables too.
    #[arg(long)]
    pub vars: bool,
    /// With --list or --host: YAML instead of JSON (ansible-inventory's `-y`).
    #[arg(short = 'y', long)]
    pub yaml: bool,
    /// Also read group_vars/ and host_vars/ from this directory, as a playbook there would.
    #[arg(long = "playbook-dir")]
    pub playbook_dir: Option<PathBuf>,
    /// Only show hosts matching this pattern (or @file).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Ignore cached inventory results (`cache: true` sources) and refresh the cache.
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    /// The group to start --graph from.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,
}

#[derive(Args, Debug)]
pub struct LabArgs {
    /// Lab name: several labs can exist side by side.
    #[arg(long, default_value = LabOptions::DEFAULT_NAME, global = true)]
    pub name: String,
    /// Where lab state lives.
    #[arg(
        long,
        env = "STRATA_LAB_DIR",
        default_value = LabOptions::DEFAULT_DIR,
        global = true
    )]
    pub dir: PathBuf,
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Start N hosts named lab01, lab02, ..., or the hosts named by --hosts.
    Up {
        #[arg(required_unless_present = "hosts", conflicts_with = "hosts")]
        n: Option<usize>,
        /// Host names, comma-separated (each is also the host's hostname): --hosts lb1,web1.
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        hosts: Vec<String>,
        /// Boot systemd as PID 1 (for real services).
        #[arg(long)]
        systemd: bool,
    },
    /// Add hosts to a running lab: same kind, same bridge, the next addresses.
    Add {
        /// Add N hosts named after the lab's count (lab04, lab05, ...).
        #[arg(required_unless_present = "hosts", conflicts_with = "hosts")]
        n: Option<usize>,
        /// Host names, comma-separated.
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        hosts: Vec<String>,
    },
    /// Remove every host, namespace, mount and link of the lab, and stop its file server.
    Down,
    /// Show the lab's hosts.
    Status,
    /// Print (or write) a YAML inventory of the lab.
    Inventory {
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Stop one host (it becomes unreachable).
    Stop { host: String },
    /// Start a stopped host again.
    Start { host: String },
    /// Build (or reuse) the package caches lab hosts install from: a flat apt repository, a
    /// Python wheelhouse and the Plone project's archive, from stacks/apps/plone-project/.
    Cache {
        /// The cache root (`--dir` is the lab state directory).
        #[arg(long, env = "STRATA_CACHE_DIR", default_value = CacheOptions::DEFAULT_DIR)]
        cache_dir: PathBuf,
    },
    /// Serve the cache read-only over HTTP on the lab's bridge, port 8780, in the background
    /// until `lab down`.
    Serve {
        #[arg(long, env = "STRATA_CACHE_DIR", default_value = CacheOptions::DEFAULT_DIR)]
        cache_dir: PathBuf,
        /// Serve in this process instead (what the background server runs).
        #[arg(long, hide = true)]
        foreground: bool,
    },
    /// Bring up the Plone stack's 5 systemd hosts (lb1 plone1 plone2 zeo1 maint1), build the
    /// package caches, serve them, and sync stacks/plone.yml (the README's first command);
    /// with --playbook, run that playbook on plain hosts instead.
    Demo {
        /// Run this playbook (e.g. playbooks/site.yml) instead of the Plone stack.
        #[arg(long)]
        playbook: Option<PathBuf>,
        /// Number of hosts for --playbook (default 5).
        #[arg(long, requires = "playbook")]
        hosts: Option<usize>,
        #[arg(long, env = "STRATA_CACHE_DIR", default_value = CacheOptions::DEFAULT_DIR)]
        cache_dir: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Number of lab hosts.
    #[arg(long, default_value_t = BenchOptions::DEFAULT_HOSTS)]
    pub hosts: usize,
    /// Repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = BenchOptions::DEFAULT_RUNS)]
    pub runs: usize,
    /// What to time: the 17-step playbook, a stack's sync and configure, both, or the Plone
    /// demo cold and warm.
    #[arg(long, value_enum, default_value_t = BenchCase::Playbook)]
    pub case: BenchCase,
    /// Lab name for the bench hosts.
    #[arg(long, default_value = BenchOptions::DEFAULT_LAB)]
    pub lab: String,
    #[arg(long, env = "STRATA_LAB_DIR", default_value = LabOptions::DEFAULT_DIR)]
    pub dir: PathBuf,
    /// The package caches for --case demo (emptied for its cold run).
    #[arg(long, env = "STRATA_CACHE_DIR", default_value = CacheOptions::DEFAULT_DIR)]
    pub cache_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct StackArgs {
    /// The stack file.
    #[arg(
        short = 'f',
        long = "file",
        env = "STRATA_STACK",
        default_value = "stack.yml",
        global = true
    )]
    pub file: PathBuf,
    #[command(subcommand)]
    pub command: StackCommand,
}

#[derive(Subcommand, Debug)]
pub enum StackCommand {
    /// Layers, instances and their statuses, and each app's active release.
    Status {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Set up and deploy new instances, retire departed ones, check reachability, and run
    /// configure everywhere when the online set changed.
    Sync {
        /// Print what would run; contact no host and change no state.
        #[arg(long = "dry-run")]
        dry_run: bool,
        /// Repeat every N seconds until interrupted.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        watch: Option<u64>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run configure on every online instance.
    Configure {
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run one event (any tasks file name) on online instances.
    Run {
        event: String,
        /// Only instances of this layer (repeatable).
        #[arg(long = "layer")]
        layers: Vec<String>,
        /// Only this instance (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Set up and deploy one instance, then configure on all.
    Start {
        host: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Shut one instance down, mark it stopped, then configure on the rest.
    Stop {
        host: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Deploy an app to its layers' online instances as a new release.
    Deploy {
        app: String,
        /// The revision to deploy (default: the app's `source.revision`).
        #[arg(long)]
        revision: Option<String>,
        /// Only this instance (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Deploy each instance's previous release of an app again.
    Rollback {
        app: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run undeploy of an app on its layers' online instances.
    Undeploy {
        app: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// The whole state as JSON, to move a stack between backends (SQLite, PostgreSQL).
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Past events, newest first.
    History {
        /// At most this many events (0: all).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// A JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct JobsArgs {
    /// The stack file.
    #[arg(
        short = 'f',
        long = "file",
        env = "STRATA_STACK",
        default_value = "stack.yml",
        global = true
    )]
    pub file: PathBuf,
    #[command(subcommand)]
    pub command: JobsCommand,
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Each job with its schedule, next run, last run and result.
    List {
        /// A JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Run a job now, as its scheduler would: its lock, overlap policy, timeout, history,
    /// log and on_failure hook.
    Run { name: String },
    /// Past runs, newest first.
    History {
        /// Only this job's runs.
        name: Option<String>,
        /// At most this many runs (0: all).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// A JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Put the jobs into this machine's scheduler: systemd timers, else the crontab.
    Install {
        /// systemd user units (~/.config/systemd/user) instead of system ones.
        #[arg(long)]
        user: bool,
    },
    /// Remove the stack's timers (or crontab lines).
    Uninstall {
        /// systemd user units.
        #[arg(long)]
        user: bool,
    },
}

/// `strata stack state ...`.
#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Write the whole state (instances, events, releases, job runs...) as JSON.
    Export {
        /// Write to FILE (atomically) instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Replace the state with an exported JSON file (`-` reads stdin). Takes the stack's
    /// lock; refuses a state that is not empty, or a dump of another stack, unless --force.
    Import {
        // Not named `file`: that id is the stack file's global `-f`, which it would shadow.
        #[arg(value_name = "FILE")]
        dump: PathBuf,
        /// Replace a state that is not empty (or import another stack's dump).
        #[arg(long)]
        force: bool,
        /// Wait this long for another stack command to finish before giving up (exit 6).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        wait: u64,
    },
}

/// The engine options of every stack command that runs tasks.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Extra variables: `k=v k2=v2`, `@file.yml` or JSON. Repeatable; later wins.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Custom JSON for this event only, merged over the stack's, layers' and apps'
    /// attributes: JSON or @file. Repeatable.
    #[arg(long = "attributes", value_name = "JSON|@FILE")]
    pub attributes: Vec<String>,
    /// Report what would change without changing anything (statuses stay as they are).
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show differences of changed files.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// Only run tasks tagged with these.
    #[arg(short = 't', long = "tags", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks tagged with these.
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// How many hosts run a task at once (`-f` is the stack file here) [default: `forks` of
    /// ansible.cfg or ANSIBLE_FORKS, else 50].
    #[arg(long = "forks", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,
    /// More output: -v shows results.
    #[arg(short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
    /// One JSON object per event on stdout.
    #[arg(long)]
    pub json: bool,
    /// Wait this long for another stack command to finish before giving up (exit 6).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,
    /// Refuse, at load time (exit 5), tasks whose module Ansible knows but strata does not
    /// implement; without it they load with a warning and fail only where they run.
    #[arg(long)]
    pub strict: bool,
    /// Ignore cached inventory results and refresh them.
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    #[command(flatten)]
    pub ssh: SshArgs,
}
