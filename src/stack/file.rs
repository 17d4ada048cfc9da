//! The stack file (`stack.yml`): loaded like a playbook, with a span on every node, unknown
//! keys as located errors, and every layer, role, tasks file and inventory source it names
//! checked before any host is touched.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::jobs::spec::Job;
use super::state::StateLocation;
use super::state::postgres::url::{PgUrl, is_postgres};
use crate::diagnostic::{Diagnostic, InputErrors, Span};
use crate::playbook::suggest::{did_you_mean, unknown_key};
use crate::yaml::{Node, Yaml};

/// The lifecycle events every layer may have; any other name is an "execute recipes" event.
pub const LIFECYCLE_EVENTS: [&str; 5] = ["setup", "configure", "deploy", "undeploy", "shutdown"];

const TOP_KEYS: &[&str] = &[
    "name",
    "state",
    "instances",
    "attributes",
    "layers",
    "apps",
    "jobs",
];
const INSTANCES_KEYS: &[&str] = &["inventory"];
const LAYER_KEYS: &[&str] = &["name", "group", "roles", "events", "attributes"];
const APP_KEYS: &[&str] = &[
    "layers",
    "type",
    "source",
    "deploy_to",
    "environment",
    "attributes",
];

/// A loaded, structurally valid stack file. Roles are kept as their nodes so that the event
/// plays built from them report problems at their place in this file.
#[derive(Clone, Debug)]
pub struct StackFile {
    pub path: PathBuf,
    /// The file's directory; relative paths in it resolve from here.
    pub dir: PathBuf,
    pub name: String,
    /// Where `<name>.db` lives (and, whatever the backend, other local state files).
    pub state_dir: PathBuf,
    /// `state:` as a PostgreSQL URL, when it is one; see [`StackFile::state_location`].
    pub state_url: Option<String>,
    /// Instance sources, as `-i` takes them, resolved against `dir`.
    pub inventory: Vec<PathBuf>,
    /// The stack's custom JSON.
    pub attributes: Map<String, Value>,
    /// The same, as written: role argument specs point at the refused value.
    pub attributes_node: Option<Node>,
    /// In declared order: plays run in this order, and attributes merge in it.
    pub layers: Vec<Layer>,
    pub apps: Vec<App>,
    /// Scheduled jobs (`strata jobs`), in declared order.
    pub jobs: Vec<Job>,
}

#[derive(Clone, Debug)]
pub struct Layer {
    pub shortname: String,
    pub name: String,
    /// The inventory group whose hosts are this layer's instances.
    pub group: String,
    pub roles: Vec<Node>,
    /// Per-event role lists that replace `roles` for that event.
    pub events: Vec<(String, Vec<Node>)>,
    pub attributes: Map<String, Value>,
    /// The layer's `attributes` as written, for located argument spec errors.
    pub attributes_node: Option<Node>,
    pub span: Span,
}

impl Layer {
    /// The role entries for `event`, and whether they come from an `events:` override (whose
    /// roles must all have the event's tasks file).
    pub fn roles_for(&self, event: &str) -> (&[Node], bool) {
        match self.events.iter().find(|(e, _)| e == event) {
            Some((_, roles)) => (roles, true),
            None => (&self.roles, false),
        }
    }
}

#[derive(Clone, Debug)]
pub struct App {
    pub name: String,
    pub layers: Vec<String>,
    /// The app's `type` as written (`pip`, `buildout`, ...), `None` when absent. The engine
    /// does not interpret it: the roles that deploy the app do, so any string is accepted and
    /// the roles decide what an unknown one means. See [`App::kind`].
    pub kind: Option<String>,
    /// `{type: git, url, revision}`, `{type: archive, url, checksum}` or `{type: none}`.
    pub source: Map<String, Value>,
    pub deploy_to: Option<String>,
    pub environment: Map<String, Value>,
    pub attributes: Map<String, Value>,
}

impl App {
    /// The type an app without `type:` has. The Plone roles, the stacks strata ships, treat
    /// an untyped app as a pip app (a pinned set installed into a virtualenv), so the engine
    /// shows that value in `stack.apps.X.type` and `stack.deploy.X.type`.
    pub const DEFAULT_TYPE: &'static str = "pip";

    /// The app's type, [`App::DEFAULT_TYPE`] when the stack file gives none.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or(Self::DEFAULT_TYPE)
    }
}

impl StackFile {
    pub fn layer(&self, shortname: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.shortname == shortname)
    }

    pub fn app(&self, name: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.name == name)
    }

    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// `<state>/<name>.db`.
    pub fn db_path(&self) -> PathBuf {
        self.state_dir.join(format!("{}.db", self.name))
    }

    /// Where the stack file puts the state: PostgreSQL for a `postgres://` URL, else the
    /// SQLite file [`StackFile::db_path`]. `$STRATA_STATE_URL` overrides it (see
    /// [`StateLocation::from_env`]; `Stack::open` applies it).
    pub fn state_location(&self) -> StateLocation {
        match &self.state_url {
            Some(u) => StateLocation::Postgres(u.clone()),
            None => StateLocation::Sqlite(self.db_path()),
        }
    }

    /// Where the state is for this command: `$STRATA_STATE_URL` when set, else
    /// [`StackFile::state_location`]. Every command that opens the state goes through here, so
    /// `strata stack` and `strata jobs` never disagree on the backend. The error is a sentence
    /// naming the variable (an input error).
    pub fn resolved_state_location(&self) -> Result<StateLocation, String> {
        Ok(StateLocation::from_env(&self.name)?.unwrap_or_else(|| self.state_location()))
    }
}

/// Reads and checks the structure of a stack file. Roles and tasks files are checked by
/// [`super::plays::validate`], which needs the playbook loader.
pub fn load(path: &Path) -> Result<StackFile, InputErrors> {
    let root = crate::yaml::load_file(path).map_err(|d| InputErrors(vec![d]))?;
    let mut p = Parser { errors: Vec::new() };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let stack = p.stack(&root, path, &dir);
    match stack {
        Some(s) if p.errors.is_empty() => Ok(s),
        _ => Err(InputErrors(p.errors)),
    }
}

struct Parser {
    errors: Vec<Diagnostic>,
}

impl Parser {
    fn err(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    fn unknown_key(&mut self, key: &Node, allowed: &[&str], what: &str) {
        let name = key.scalar_string().unwrap_or_default();
        let message = format!("unknown key `{name}` in {what}");
        self.err(unknown_key(key, allowed, message, true));
    }

    fn map<'n>(&mut self, n: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        match &n.value {
            Yaml::Map(m) => Some(m),
            Yaml::Null => Some(&[]),
            _ => {
                self.err(n.error(format!("{what} must be a mapping, found {}", n.kind())));
                None
            }
        }
    }

    fn string(&mut self, n: &Node, what: &str) -> Option<String> {
        match &n.value {
            Yaml::Str(s) if !s.is_empty() => Some(s.clone()),
            Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) => n.scalar_string(),
            _ => {
                self.err(n.error(format!(
                    "{what} must be a non-empty string, found {}",
                    n.kind()
                )));
                None
            }
        }
    }

    /// A shortname: what variables, groups and task files can be named after.
    fn name(&mut self, n: &Node, what: &str) -> Option<String> {
        let s = self.string(n, what)?;
        let ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !ok || s.starts_with('.') {
            self.err(n.error(format!(
                "{what} `{s}` may only use letters, digits, `_`, `-` and `.`"
            )));
            return None;
        }
        Some(s)
    }

    fn strings(&mut self, n: &Node, what: &str) -> Vec<(String, Span)> {
        match &n.value {
            Yaml::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i, what).map(|s| (s, i.span.clone())))
                .collect(),
            Yaml::Str(_) => self
                .string(n, what)
                .map(|s| vec![(s, n.span.clone())])
                .unwrap_or_default(),
            Yaml::Null => Vec::new(),
            _ => {
                self.err(n.error(format!("{what} must be a list, found {}", n.kind())));
                Vec::new()
            }
        }
    }

    fn attributes(&mut self, n: &Node, what: &str) -> Map<String, Value> {
        match (self.map(n, what), n.to_json()) {
            (Some(_), Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    fn list<'n>(&mut self, n: &'n Node, what: &str) -> &'n [Node] {
        match &n.value {
            Yaml::Seq(items) => items,
            Yaml::Null => &[],
            _ => {
                self.err(n.error(format!("{what} must be a list, found {}", n.kind())));
                &[]
            }
        }
    }

    fn stack(&mut self, root: &Node, path: &Path, dir: &Path) -> Option<StackFile> {
        let m = match &root.value {
            Yaml::Map(m) => m,
            _ => {
                self.err(root.error(format!(
                    "a stack file must be a mapping with `name` and `layers`, found {}",
                    root.kind()
                )));
                return None;
            }
        };
        let mut s = StackFile {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            name: String::new(),
            state_dir: dir.join(".strata"),
            state_url: None,
            inventory: Vec::new(),
            attributes: Map::new(),
            attributes_node: None,
            layers: Vec::new(),
            apps: Vec::new(),
            jobs: Vec::new(),
        };
        let mut name = None;
        let mut apps = None;
        let mut jobs = None;
        for (k, v) in m {
            match k.as_str().unwrap_or_default() {
                "name" => name = self.name(v, "the stack `name`"),
                "state" => {
                    if let Some(d) = self.string(v, "`state`") {
                        if is_postgres(&d) {
                            // Checked now, so a wrong URL is located here (password masked).
                            match PgUrl::parse(&d) {
                                Ok(_) => s.state_url = Some(d),
                                Err(e) => self.err(v.error(e).help(
                                    "`state` is a directory, or postgres://user@host[:port]/database",
                                )),
                            }
                        } else {
                            s.state_dir = dir.join(d);
                        }
                    }
                }
                "instances" => s.inventory = self.instances(v, dir),
                "attributes" => {
                    s.attributes = self.attributes(v, "`attributes`");
                    s.attributes_node = Some(v.clone());
                }
                "layers" => s.layers = self.layers(v),
                "apps" => apps = Some(v),
                "jobs" => jobs = Some(v),
                _ => self.unknown_key(k, TOP_KEYS, "the stack file"),
            }
        }
        match name {
            Some(n) => s.name = n,
            None if m.iter().all(|(k, _)| k.as_str() != Some("name")) => self.err(
                root.error("the stack file has no `name`")
                    .help("add `name: <stack name>`"),
            ),
            None => {}
        }
        if let Some(v) = apps {
            s.apps = self.apps(v, &s.layers);
        }
        if let Some(v) = jobs {
            let names: Vec<&str> = s.layers.iter().map(|l| l.shortname.as_str()).collect();
            let (parsed, errors) = super::jobs::spec::parse(v, &names);
            s.jobs = parsed;
            self.errors.extend(errors);
        }
        Some(s)
    }

    fn instances(&mut self, v: &Node, dir: &Path) -> Vec<PathBuf> {
        let Some(m) = self.map(v, "`instances`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in m {
            if k.as_str() != Some("inventory") {
                self.unknown_key(k, INSTANCES_KEYS, "`instances`");
                continue;
            }
            for (src, span) in self.strings(v, "`instances.inventory`") {
                let p = dir.join(&src);
                // `host1,host2,` is an inventory too, as with `-i`.
                if src.contains(',') && !p.exists() {
                    out.push(PathBuf::from(src));
                } else if p.exists() {
                    out.push(p);
                } else {
                    self.err(
                        Diagnostic::new(span, format!("inventory source `{src}` not found"))
                            .label("no such file or directory")
                            .help(format!("relative paths start at {}", dir.display())),
                    );
                }
            }
        }
        out
    }

    fn layers(&mut self, v: &Node) -> Vec<Layer> {
        let Some(m) = self.map(v, "`layers`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in m {
            let Some(short) = self.name(k, "a layer shortname") else {
                continue;
            };
            let mut layer = Layer {
                name: short.clone(),
                group: short.clone(),
                shortname: short,
                roles: Vec::new(),
                events: Vec::new(),
                attributes: Map::new(),
                attributes_node: None,
                span: k.span.clone(),
            };
            let what = format!("layer `{}`", layer.shortname);
            for (lk, lv) in self.map(v, &what).unwrap_or_default() {
                match lk.as_str().unwrap_or_default() {
                    "name" => layer.name = self.string(lv, "a layer `name`").unwrap_or_default(),
                    "group" => layer.group = self.string(lv, "a layer `group`").unwrap_or_default(),
                    "roles" => layer.roles = self.list(lv, "a layer's `roles`").to_vec(),
                    "events" => {
                        for (ek, ev) in self.map(lv, "a layer's `events`").unwrap_or_default() {
                            if let Some(event) = self.name(ek, "an event name") {
                                let roles = self.list(ev, "an event's role list").to_vec();
                                layer.events.push((event, roles));
                            }
                        }
                    }
                    "attributes" => {
                        layer.attributes = self.attributes(lv, "a layer's `attributes`");
                        layer.attributes_node = Some(lv.clone());
                    }
                    _ => self.unknown_key(lk, LAYER_KEYS, &what),
                }
            }
            out.push(layer);
        }
        out
    }

    fn apps(&mut self, v: &Node, layers: &[Layer]) -> Vec<App> {
        let Some(m) = self.map(v, "`apps`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in m {
            let Some(name) = self.name(k, "an app name") else {
                continue;
            };
            let mut app = App {
                name,
                layers: Vec::new(),
                kind: None,
                source: Map::from_iter([("type".to_string(), Value::from("none"))]),
                deploy_to: None,
                environment: Map::new(),
                attributes: Map::new(),
            };
            let what = format!("app `{}`", app.name);
            let mut has_layers = false;
            for (ak, av) in self.map(v, &what).unwrap_or_default() {
                match ak.as_str().unwrap_or_default() {
                    "layers" => {
                        has_layers = true;
                        for (l, span) in self.strings(av, "an app's `layers`") {
                            if layers.iter().any(|x| x.shortname == l) {
                                app.layers.push(l);
                                continue;
                            }
                            let names = layers.iter().map(|x| x.shortname.as_str());
                            let mut d = Diagnostic::new(span, format!("unknown layer `{l}`"))
                                .label("not a layer of this stack");
                            if let Some(h) = did_you_mean(&l, names) {
                                d = d.help(h);
                            }
                            self.err(d);
                        }
                    }
                    "type" => app.kind = self.app_type(av),
                    "source" => app.source = self.source(av),
                    "deploy_to" => app.deploy_to = self.string(av, "`deploy_to`"),
                    "environment" => app.environment = self.environment(av),
                    "attributes" => app.attributes = self.attributes(av, "an app's `attributes`"),
                    _ => self.unknown_key(ak, APP_KEYS, &what),
                }
            }
            if !has_layers {
                self.err(
                    k.error(format!("app `{}` has no `layers`", app.name))
                        .help("name the layers it deploys to: `layers: [app]`"),
                );
            }
            out.push(app);
        }
        out
    }

    /// An app's `type`: a non-empty string (roles compare it with names, so `type: 1` is a
    /// mistake worth reporting).
    fn app_type(&mut self, v: &Node) -> Option<String> {
        match &v.value {
            Yaml::Str(s) if !s.is_empty() => Some(s.clone()),
            _ => {
                self.err(
                    v.error(format!("an app's `type` must be a string, found {}", v.kind()))
                        .label("not a string")
                        .help(format!(
                            "name the app type its roles know, e.g. `type: {}` (the default) or `type: buildout`",
                            App::DEFAULT_TYPE
                        )),
                );
                None
            }
        }
    }

    fn source(&mut self, v: &Node) -> Map<String, Value> {
        let none = Map::from_iter([("type".to_string(), Value::from("none"))]);
        if v.is_null() || v.as_str() == Some("none") {
            return none;
        }
        let Some(m) = self.map(v, "an app's `source`") else {
            return none;
        };
        let kind = v.get("type").and_then(|t| t.as_str()).unwrap_or_default();
        let allowed: &[&str] = match kind {
            "git" => &["type", "url", "revision"],
            "archive" => &["type", "url", "checksum"],
            "none" => &["type"],
            _ => {
                let at = v.get("type").unwrap_or(v);
                self.err(
                    at.error(format!("unknown source type `{kind}`"))
                        .help("use `type: git`, `type: archive` or `type: none`"),
                );
                return none;
            }
        };
        for (k, val) in m {
            let key = k.as_str().unwrap_or_default();
            if !allowed.contains(&key) {
                self.unknown_key(k, allowed, &format!("a `{kind}` source"));
            } else if key != "type" {
                self.string(val, &format!("`source.{key}`"));
            }
        }
        if kind != "none" && v.get("url").is_none() {
            self.err(v.error(format!("a `{kind}` source needs a `url`")));
        }
        match v.to_json() {
            Value::Object(o) => o,
            _ => none,
        }
    }

    fn environment(&mut self, v: &Node) -> Map<String, Value> {
        let Some(m) = self.map(v, "an app's `environment`") else {
            return Map::new();
        };
        let mut out = Map::new();
        for (k, val) in m {
            let Some(key) = self.string(k, "an environment variable name") else {
                continue;
            };
            match val.scalar_string() {
                Some(s) => {
                    out.insert(key, Value::String(s));
                }
                None => self.err(val.error(format!(
                    "environment variable `{key}` must be a scalar, found {}",
                    val.kind()
                ))),
            }
        }
        out
    }
}
