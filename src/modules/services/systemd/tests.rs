use super::*;
use serde_json::json;

fn sec(rc: i32, out: &str) -> Option<Section> {
    Some(Section {
        rc,
        stdout: out.into(),
        stderr: String::new(),
    })
}

fn req(v: serde_json::Value) -> Request {
    Request::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
}

const ACTIVE: &str = "Type=simple\nMainPID=42\nExecMainPID=42\nActiveState=active\nSubState=running\n\
LoadState=loaded\nUnitFileState=enabled\nDescription={weird but one line\n\
ExecStart={ path=/bin/sleep ; argv[]=/bin/sleep infinity ;\n  ignore_errors=no }\nId=demo.service\n";

fn probe(show: &str, isen: (i32, &str)) -> Probe {
    Probe {
        show: sec(0, show),
        is_enabled: sec(isen.0, isen.1),
        is_enabled_l: sec(isen.0, isen.1),
        ..Default::default()
    }
}

#[test]
fn show_output_parses_like_ansible() {
    let m = parse_show(ACTIVE);
    assert_eq!(m["ActiveState"], "active");
    assert_eq!(m["MainPID"], "42");
    assert_eq!(m["Description"], "{weird but one line");
    assert_eq!(
        m["ExecStart"],
        "{ path=/bin/sleep ; argv[]=/bin/sleep infinity ;\n  ignore_errors=no }"
    );
    assert_eq!(m["Id"], "demo.service");
}

#[test]
fn started_when_active_is_ok_and_restart_always_changes() {
    let p = probe(ACTIVE, (0, "enabled\n"));
    let d = decide(
        &req(json!({"name": "demo", "state": "started", "enabled": true})),
        &p,
        false,
    )
    .unwrap();
    assert!(!d.result.changed);
    assert!(d.actions.is_empty());
    assert_eq!(d.result.data["state"], "started");
    assert_eq!(d.result.data["enabled"], true);
    assert_eq!(d.result.data["status"]["SubState"], "running");

    let d = decide(
        &req(json!({"name": "demo", "state": "restarted"})),
        &p,
        false,
    )
    .unwrap();
    assert!(d.result.changed);
    assert_eq!(d.actions, vec![("restart".to_string(), true)]);
    assert_eq!(d.result.data["state"], "started");

    let d = decide(
        &req(json!({"name": "demo", "state": "reloaded"})),
        &p,
        false,
    )
    .unwrap();
    assert_eq!(d.actions, vec![("reload".to_string(), true)]);

    let d = decide(&req(json!({"name": "demo", "state": "stopped"})), &p, false).unwrap();
    assert_eq!(d.actions, vec![("stop".to_string(), true)]);
    assert_eq!(d.result.data["state"], "stopped");
}

#[test]
fn inactive_unit_is_started_by_every_running_state_and_enabled() {
    let show = ACTIVE.replace("ActiveState=active", "ActiveState=inactive");
    let p = probe(&show, (1, "disabled\n"));
    for state in ["started", "restarted", "reloaded"] {
        let d = decide(
            &req(json!({"name": "demo", "state": state, "enabled": "yes"})),
            &p,
            true,
        )
        .unwrap();
        assert!(d.result.changed);
        assert_eq!(
            d.actions,
            vec![("enable".to_string(), false), ("start".to_string(), true)]
        );
        assert_eq!(d.result.data["enabled"], true);
    }
    let d = decide(&req(json!({"name": "demo", "state": "stopped"})), &p, false).unwrap();
    assert!(!d.result.changed);
}

#[test]
fn is_enabled_special_answers_count_as_disabled() {
    for out in ["enabled-runtime\n", "indirect\n", "alias\n"] {
        let p = probe(ACTIVE, (0, out));
        let d = decide(&req(json!({"name": "demo", "enabled": true})), &p, false).unwrap();
        assert!(d.result.changed, "{out}");
    }
    let p = probe(ACTIVE, (0, "static\n"));
    let d = decide(&req(json!({"name": "demo", "enabled": true})), &p, false).unwrap();
    assert!(!d.result.changed);
}

#[test]
fn unknown_unit_fails_like_ansible() {
    let p = probe(
        "Id=nosuch.service\nLoadState=not-found\nActiveState=inactive\n",
        (1, ""),
    );
    let e = decide(
        &req(json!({"name": "nosuch", "state": "started"})),
        &p,
        false,
    )
    .unwrap_err();
    assert_eq!(
        e.msg.as_deref(),
        Some("Could not find the requested service nosuch: host")
    );
    // Check mode predicts the start and enable an earlier task's unit file would allow, with
    // a warning; stopping an absent unit still fails, as it would in a run.
    let d = decide(
        &req(json!({"name": "nosuch", "state": "started", "enabled": true})),
        &p,
        true,
    )
    .unwrap();
    assert!(d.result.changed && d.actions.is_empty());
    assert!(
        d.result.data["warnings"][0]
            .as_str()
            .unwrap()
            .contains("check mode assumes")
    );
    assert!(
        decide(
            &req(json!({"name": "nosuch", "state": "stopped"})),
            &p,
            true
        )
        .is_err()
    );
    // Masking an absent unit is allowed: systemd can mask anything.
    let d = decide(&req(json!({"name": "nosuch", "masked": true})), &p, false).unwrap();
    assert_eq!(d.mask_action, Some("mask"));
    // An init script makes it found.
    let mut p2 = p.clone();
    p2.initd = true;
    assert!(
        decide(
            &req(json!({"name": "nosuch", "state": "started"})),
            &p2,
            false
        )
        .is_ok()
    );
}

#[test]
fn masked_decision_and_load_errors() {
    let show = ACTIVE.replace("LoadState=loaded", "LoadState=masked");
    let p = probe(&show, (1, "masked\n"));
    let d = decide(&req(json!({"name": "demo", "masked": true})), &p, false).unwrap();
    assert!(!d.result.changed);
    let d = decide(
        &req(json!({"name": "demo", "masked": false, "enabled": true})),
        &p,
        false,
    )
    .unwrap();
    assert_eq!(d.mask_action, Some("unmask"));
    // Outside check mode the enable decision waits for `is-enabled` after unmasking.
    assert!(d.actions.is_empty());
    let d = decide(
        &req(json!({"name": "demo", "masked": false, "enabled": true})),
        &p,
        true,
    )
    .unwrap();
    assert_eq!(d.actions, vec![("enable".to_string(), false)]);

    let bad = format!("{ACTIVE}LoadError=org.freedesktop.systemd1.BadUnitSetting \"bad\"\n");
    let e = decide(
        &req(json!({"name": "demo", "state": "started"})),
        &probe(&bad, (0, "enabled")),
        false,
    )
    .unwrap_err();
    assert!(
        e.msg
            .unwrap()
            .starts_with("Error loading unit file 'demo': ")
    );
}

#[test]
fn daemon_reload_alone_is_not_a_change_but_its_failure_fails() {
    let r = req(json!({"daemon_reload": true}));
    let d = decide(
        &r,
        &Probe {
            reload: sec(0, ""),
            ..Default::default()
        },
        false,
    )
    .unwrap();
    assert!(!d.result.changed);
    assert_eq!(d.result.data["name"], serde_json::Value::Null);
    let p = Probe {
        reload: Some(Section {
            rc: 1,
            stdout: String::new(),
            stderr: "boom".into(),
        }),
        ..Default::default()
    };
    assert_eq!(
        decide(&r, &p, false).unwrap_err().msg.as_deref(),
        Some("failure 1 during daemon-reload: boom")
    );
}

#[test]
fn arguments_are_checked_like_ansible() {
    let bad = |v: serde_json::Value| {
        Request::from_args(&Args::new(v.as_object().unwrap().clone()))
            .unwrap_err()
            .to_string()
    };
    assert!(bad(json!({"name": "a*", "state": "started"})).contains("glob patterns"));
    // Defaults satisfy Ansible's required_one_of: a name alone is a no-op.
    assert!(decide(&req(json!({"name": "a"})), &Probe::default(), false).is_ok());
    assert!(bad(json!({"state": "started"})).contains("required by 'state': name"));
    let r = req(
        json!({"unit": "x", "daemon-reload": "yes", "scope": "user", "no_block": true, "force": true}),
    );
    assert!(r.daemon_reload);
    assert_eq!(r.unit.as_deref(), Some("x"));
    assert_eq!(
        r.systemctl(),
        vec!["systemctl", "--user", "--no-block", "--force"]
    );
}

#[test]
fn probe_skips_daemon_reload_in_check_mode() {
    let r = req(json!({"name": "demo", "daemon_reload": true, "state": "started"}));
    assert!(probe_script(&r, false).build().contains("daemon-reload"));
    assert!(!probe_script(&r, true).build().contains("daemon-reload"));
}
