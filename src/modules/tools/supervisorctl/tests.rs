use super::*;
use crate::modules::harness::{Harness, Scratch, get};
use serde_json::json;

fn req(v: serde_json::Value) -> Request {
    Request::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
}

#[test]
fn status_lines_match_programs_groups_and_all() {
    let out = "lonely                           RUNNING   pid 7680, uptime 13:22:18\n\
               grp:grp_00                       STOPPED   Not started\n\
               grp:grp_01                       RUNNING   pid 7681, uptime 0:00:02\n\
               grpx:a                           FATAL     Exited too quickly\n\n";
    let p = matched(&req(json!({"name": "lonely", "state": "started"})), out);
    assert_eq!(p, vec![("lonely".into(), "RUNNING".into())]);
    let g = req(json!({"name": "grp:", "state": "started"}));
    assert!(g.is_group && g.name == "grp");
    let p = matched(&g, out);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].1, "STOPPED");
    assert_eq!(
        matched(&req(json!({"name": "all", "state": "stopped"})), out).len(),
        4
    );
    assert!(matched(&req(json!({"name": "grp", "state": "started"})), out).is_empty());
}

#[test]
fn signalled_needs_a_signal_and_passwords_stay_representable() {
    let e = Request::from_args(&Args::new(
        json!({"name": "a", "state": "signalled"})
            .as_object()
            .unwrap()
            .clone(),
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "state is signalled but all of the following are missing: signal"
    );
    for bad in ["a\nb", " lead", "x ;comment"] {
        assert!(
            Request::from_args(&Args::new(
                json!({"name": "a", "state": "started", "password": bad})
                    .as_object()
                    .unwrap()
                    .clone()
            ))
            .is_err()
        );
    }
    let r = req(json!({"name": "a", "state": "started", "password": "s3cret", "config": "/c"}));
    assert_eq!(
        r.cmd("/usr/bin/supervisorctl", &["start", "a"]),
        "/usr/bin/supervisorctl -c /c -p '********' start a"
    );
}

/// A private supervisord in a scratch directory: a unix socket with a login, two programs
/// (`lonely`, and the group `grp` of two) and one not yet added (`later`).
struct Supervisord {
    dir: Scratch,
    conf: String,
}

impl Supervisord {
    fn start() -> Option<Supervisord> {
        if std::process::Command::new("supervisord")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("supervisord is not installed; skipped");
            return None;
        }
        let dir = Scratch::new("supervisor");
        let d = dir.s("");
        let conf = dir.s("supervisord.conf");
        std::fs::create_dir_all(dir.path("conf.d")).unwrap();
        std::fs::write(
            &conf,
            format!(
                "[unix_http_server]\nfile={d}/s.sock\nusername=admin\npassword=pa%ss\n\
                 [supervisord]\nlogfile={d}/d.log\npidfile={d}/d.pid\nchildlogdir={d}\n\
                 [rpcinterface:supervisor]\n\
                 supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
                 [supervisorctl]\nserverurl=unix://{d}/s.sock\nusername=admin\n\
                 [include]\nfiles = {d}/conf.d/*.conf\n"
            )
            .replace("pa%ss", "pa%%ss"),
        )
        .unwrap();
        let prog = |name: &str, extra: &str| {
            format!(
                "[program:{name}]\ncommand=sleep 600\nautostart=false\nstartsecs=0\n\
                 stopsignal=KILL\n{extra}"
            )
        };
        std::fs::write(
            dir.path("conf.d/a.conf"),
            format!(
                "{}{}[group:grp]\nprograms=g1,g2\n",
                prog("lonely", ""),
                prog("g1", "") + &prog("g2", "")
            ),
        )
        .unwrap();
        let st = std::process::Command::new("supervisord")
            .args(["-c", &conf])
            .status()
            .unwrap();
        assert!(st.success());
        for _ in 0..100 {
            if dir.path("s.sock").exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(Supervisord { dir, conf })
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path("d.pid")) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
}

#[tokio::test]
async fn a_real_supervisord_through_every_state() {
    let Some(sd) = Supervisord::start() else {
        return;
    };
    let h = Harness::new();
    let base = json!({"config": sd.conf, "password": "pa%ss"});
    let args = |extra: serde_json::Value| {
        let mut m = base.as_object().unwrap().clone();
        m.extend(extra.as_object().unwrap().clone());
        serde_json::Value::Object(m)
    };
    // Wrong password: the status call fails to authenticate, so nothing matches.
    let r = h
        .run(
            &Supervisorctl,
            json!({"config": sd.conf, "password": "wrong", "name": "lonely", "state": "started"}),
        )
        .await;
    assert!(r.failed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some("ERROR (no such process)"));

    let r = Harness::new()
        .check()
        .run(
            &Supervisorctl,
            args(json!({"name": "lonely", "state": "started"})),
        )
        .await;
    assert!(r.changed && !r.failed && r.data.is_empty(), "{r:?}");
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "lonely", "state": "started"})),
        )
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(get(&r, "affected"), &json!(["lonely"]));
    assert_eq!(get(&r, "state"), "started");
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "lonely", "state": "started"})),
        )
        .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    assert_eq!(
        (get(&r, "name"), get(&r, "state")),
        (&json!("lonely"), &json!("started"))
    );

    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "grp:", "state": "started"})),
        )
        .await;
    assert_eq!(get(&r, "affected"), &json!(["grp:g1", "grp:g2"]), "{r:?}");
    assert_eq!(get(&r, "name"), "grp");
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "grp:", "state": "signalled", "signal": "CONT"})),
        )
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "all", "state": "restarted"})),
        )
        .await;
    assert_eq!(
        get(&r, "affected"),
        &json!(["grp:g1", "grp:g2", "lonely"]),
        "{r:?}"
    );
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "nope", "state": "restarted"})),
        )
        .await;
    assert!(r.failed);
    assert_eq!(r.msg.as_deref(), Some("ERROR (no such process)"));

    // A program added to the configuration later: present reads and adds it.
    std::fs::write(
        sd.dir.path("conf.d/b.conf"),
        "[program:later]\ncommand=sleep 600\nautostart=false\nstartsecs=0\n",
    )
    .unwrap();
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "later", "state": "present"})),
        )
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "later", "state": "present"})),
        )
        .await;
    assert!(!r.changed, "{r:?}");

    // absent: a running group is not removed without stop_before_removing.
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "grp:", "state": "absent"})),
        )
        .await;
    assert!(r.failed, "{r:?}");
    assert!(
        r.msg.as_deref().unwrap().contains("still running: grp"),
        "{r:?}"
    );
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "grp:", "state": "absent", "stop_before_removing": true})),
        )
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "grp:", "state": "absent"})),
        )
        .await;
    assert!(!r.changed && !r.failed, "{r:?}");

    let r = h
        .run(
            &Supervisorctl,
            args(json!({"name": "lonely", "state": "stopped"})),
        )
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    let e = h
        .try_run(
            &Supervisorctl,
            args(json!({"name": "lonely", "state": "started", "supervisorctl_path": "/nonexistent/sc"})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Provided path to supervisorctl does not exist or isn't executable: /nonexistent/sc"
    );
}
