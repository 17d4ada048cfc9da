//! The read-only views: `status` (layers, instances, apps' active releases) and `history`
//! (the event log). They never take the lock, so they answer while an event runs.

use serde_json::{Value, json};

use super::StackError;
use super::file::StackFile;
use super::state::{EventRecord, StateStore, Status};

/// `status --json`'s object; the text view is rendered from it.
pub fn status(file: &StackFile, store: &dyn StateStore) -> Result<Value, StackError> {
    let records = store.instances()?;
    let events = store.events(0)?;
    let releases = store.releases(None)?;
    let layers: Vec<Value> = file
        .layers
        .iter()
        .map(|l| {
            let online: Vec<&str> = records
                .iter()
                .filter(|r| r.status == Status::Online && r.layers.contains(&l.shortname))
                .map(|r| r.name.as_str())
                .collect();
            json!({"shortname": l.shortname, "name": l.name, "online": online.len(), "instances": online})
        })
        .collect();
    let instances: Vec<Value> = records
        .iter()
        .map(|r| {
            let last = r.last_event.and_then(|id| events.iter().find(|e| e.id == id));
            json!({
                "id": r.id,
                "name": r.name,
                "layers": r.layers,
                "status": r.status.as_str(),
                "status_since": r.status_since,
                "private_ip": r.private_ip,
                "public_ip": r.public_ip,
                "last_event": last.map(|e| json!({"id": e.id, "kind": e.kind, "result": e.result.as_str()})),
            })
        })
        .collect();
    let apps: Vec<Value> = file
        .apps
        .iter()
        .map(|a| {
            let mut active = serde_json::Map::new();
            // Keyed by name, so only live instances: a terminated one may share its name
            // with its replacement.
            for rel in releases.iter().filter(|x| x.app == a.name && x.active) {
                let Some(r) = records
                    .iter()
                    .find(|r| r.id == rel.instance && r.status != Status::Terminated)
                else {
                    continue;
                };
                active.insert(
                    r.name.clone(),
                    json!({"revision": rel.revision, "release": rel.release}),
                );
            }
            json!({"name": a.name, "layers": a.layers, "active": active})
        })
        .collect();
    // Who is running an event right now, so that an operator sees why a command would wait.
    let busy = store.holder()?;
    Ok(
        json!({"stack": file.name, "busy": busy, "layers": layers, "instances": instances, "apps": apps}),
    )
}

/// Aligned columns, each line after `indent`: the first row is the header. Shared by every
/// table the stack and job views print, so they line up the same way.
pub(crate) fn table(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<w$}", w = widths[i]))
            .collect();
        out.push_str(indent);
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The text view of [`status`].
pub fn render_status(v: &Value, file: &StackFile) -> String {
    let mut out = format!("stack {} ({})\n", s(&v["stack"]), file.path.display());
    if let Value::Object(h) = &v["busy"] {
        out.push_str(&format!(
            "busy: pid {} on {} (`{}`), since {}\n",
            s(&h["pid"]),
            s(&h["host"]),
            s(&h["command"]),
            s(&h["since"])
        ));
    }
    out.push_str("\nLAYERS\n");
    let mut rows = vec![vec!["SHORTNAME".into(), "NAME".into(), "ONLINE".into()]];
    for l in v["layers"].as_array().into_iter().flatten() {
        rows.push(vec![s(&l["shortname"]), s(&l["name"]), s(&l["online"])]);
    }
    out.push_str(&table(&rows, "  "));
    out.push_str("\nINSTANCES\n");
    let mut rows = vec![
        [
            "NAME",
            "LAYERS",
            "STATUS",
            "SINCE",
            "PRIVATE IP",
            "PUBLIC IP",
            "LAST EVENT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for i in v["instances"].as_array().into_iter().flatten() {
        let layers: Vec<String> = i["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(s)
            .collect();
        let last = match &i["last_event"] {
            Value::Null => "-".into(),
            e => format!("#{} {} {}", s(&e["id"]), s(&e["kind"]), s(&e["result"])),
        };
        rows.push(vec![
            s(&i["name"]),
            layers.join(","),
            s(&i["status"]),
            s(&i["status_since"]),
            s(&i["private_ip"]),
            s(&i["public_ip"]),
            last,
        ]);
    }
    out.push_str(&table(&rows, "  "));
    out.push_str("\nAPPS\n");
    let mut rows = vec![
        ["APP", "INSTANCE", "REVISION", "RELEASE"]
            .map(String::from)
            .to_vec(),
    ];
    for a in v["apps"].as_array().into_iter().flatten() {
        let active = a["active"].as_object().cloned().unwrap_or_default();
        if active.is_empty() {
            rows.push(vec![
                s(&a["name"]),
                "-".into(),
                "-".into(),
                "(not deployed)".into(),
            ]);
        }
        for (inst, rel) in active {
            rows.push(vec![
                s(&a["name"]),
                inst,
                s(&rel["revision"]),
                s(&rel["release"]),
            ]);
        }
    }
    out.push_str(&table(&rows, "  "));
    out
}

/// `history [--limit N]`, newest first.
pub fn history(store: &dyn StateStore, limit: usize) -> Result<Vec<EventRecord>, StackError> {
    Ok(store.events(limit)?)
}

pub fn render_history(events: &[EventRecord]) -> String {
    let mut rows = vec![
        ["ID", "EVENT", "RESULT", "STARTED", "ENDED", "HOSTS", "BY"]
            .map(String::from)
            .to_vec(),
    ];
    for e in events {
        rows.push(vec![
            format!("#{}", e.id),
            e.kind.clone(),
            e.result.as_str().to_string(),
            e.started.clone(),
            e.ended.clone().unwrap_or_else(|| "-".into()),
            e.hosts.join(","),
            e.user.clone(),
        ]);
    }
    table(&rows, "  ")
}
