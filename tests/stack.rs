//! The stack model on real lab hosts (issue 12, "Tests" 1 to 8): `strata stack sync` follows
//! instances joining, leaving, failing and losing their connection, with the configure
//! broadcast re-rendering the fixture's load-balancer file; attributes merge; deploy and
//! rollback; one writer at a time and crash recovery. The fixture stack and its marks are
//! described in tests/common/stack.rs; bad stack files (test 9) are in tests/stack_files.rs,
//! EC2 (test 10) in tests/stack_ec2.rs.

mod common;

use serde_json::{Value, json};

use common::Lab;
use common::stack::{
    Stack, active, backends, ev, event_log, events_of, host_json, instance, is_release_id,
    layer_online, marks, statuses, want_backends, want_marks, want_statuses,
};

const LIFECYCLE: &[&str] = &["setup", "deploy", "configure"];

/// Tests 1 to 4 on one lab: lab01 is the lb, lab02.. the app layer.
#[test]
fn sync_follows_instances_joining_leaving_and_losing_connection() {
    let lab = Lab::up("stack-life", 4, false);
    let st = Stack::on(&lab);
    let app_marks = |setup, deploy, configure| {
        want_marks(&[
            ("app.setup", setup),
            ("app.deploy", deploy),
            ("app.configure", configure),
        ])
    };
    let lb_marks = |configure| want_marks(&[("lb.setup", 1), ("lb.configure", configure)]);

    // 1. Empty state, 3 hosts (1 lb, 2 app): setup and deploy everywhere, then configure on
    //    all three; the lb file lists both apps and all three are online.
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab03"])], &[]);
    assert!(!st.db().exists());
    st.expect(&["sync"], 0);
    assert!(st.db().exists(), "no state at {}", st.db().display());
    assert_eq!(marks(&lab, "lab01"), lb_marks(1));
    for h in ["lab02", "lab03"] {
        assert_eq!(marks(&lab, h), app_marks(1, 1, 1), "{h}");
        // In that order, each run with `stack.event` set to its event.
        assert_eq!(
            event_log(&lab, h),
            ["app setup", "app deploy", "app configure"],
            "{h}"
        );
    }
    assert_eq!(event_log(&lab, "lab01"), ["lb setup", "lb configure"]);
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab03"])
    );
    let s = st.status();
    assert_eq!(s["stack"], "fixture");
    assert_eq!(
        statuses(&s),
        want_statuses(&[
            ("lab01", "online"),
            ("lab02", "online"),
            ("lab03", "online")
        ])
    );
    assert_eq!(layer_online(&s, "lb"), (1, vec!["lab01".into()]));
    assert_eq!(
        layer_online(&s, "app"),
        (2, vec!["lab02".into(), "lab03".into()])
    );
    let lab02 = instance(&s, "lab02");
    assert_eq!(lab02["id"], "lab02", "identity is the inventory hostname");
    assert_eq!(lab02["layers"], json!(["app"]));
    assert_eq!(lab02["private_ip"], lab.host("lab02").addr.as_str());
    assert_eq!(lab02["last_event"]["result"], "ok", "{s:#}");
    assert_eq!(instance(&s, "lab01")["layers"], json!(["lb"]));
    // Each event is one engine run over all its hosts.
    assert_eq!(
        events_of(&st.history(), LIFECYCLE),
        [
            ev("setup", &["lab01", "lab02", "lab03"], "ok"),
            ev("deploy", &["lab02", "lab03"], "ok"),
            ev("configure", &["lab01", "lab02", "lab03"], "ok"),
        ]
    );

    // No membership change: nothing runs.
    st.expect(&["sync"], 0);
    assert_eq!(marks(&lab, "lab01"), lb_marks(1));
    assert_eq!(marks(&lab, "lab02"), app_marks(1, 1, 1));
    assert_eq!(events_of(&st.history(), LIFECYCLE).len(), 3);

    // 2. A fourth host in the inventory: setup and deploy on it only (the other counters do
    //    not move), then configure on all four; the lb file lists three apps.
    st.groups(
        &[("lb", &["lab01"]), ("app", &["lab02", "lab03", "lab04"])],
        &[],
    );
    st.expect(&["sync"], 0);
    assert_eq!(marks(&lab, "lab01"), lb_marks(2));
    assert_eq!(marks(&lab, "lab02"), app_marks(1, 1, 2));
    assert_eq!(marks(&lab, "lab03"), app_marks(1, 1, 2));
    assert_eq!(marks(&lab, "lab04"), app_marks(1, 1, 1));
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab03", "lab04"])
    );
    let evs = events_of(&st.history(), LIFECYCLE);
    assert_eq!(
        evs[3..],
        [
            ev("setup", &["lab04"], "ok"),
            ev("deploy", &["lab04"], "ok"),
            ev("configure", &["lab01", "lab02", "lab03", "lab04"], "ok"),
        ]
    );
    assert_eq!(statuses(&st.status())["lab04"], "online");

    // 3. A host removed from the inventory: terminated, and configure drops it.
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab04"])], &[]);
    st.expect(&["sync"], 0);
    let s = st.status();
    assert_eq!(
        statuses(&s),
        want_statuses(&[
            ("lab01", "online"),
            ("lab02", "online"),
            ("lab03", "terminated"),
            ("lab04", "online"),
        ])
    );
    assert_eq!(
        layer_online(&s, "app"),
        (2, vec!["lab02".into(), "lab04".into()])
    );
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab04"])
    );
    assert_eq!(marks(&lab, "lab01"), lb_marks(3));
    assert_eq!(marks(&lab, "lab02"), app_marks(1, 1, 3));
    assert_eq!(
        marks(&lab, "lab03"),
        app_marks(1, 1, 2),
        "configure ran on lab03"
    );
    assert_eq!(marks(&lab, "lab04"), app_marks(1, 1, 2));

    // 4. A host stopped: connection_lost, and configure drops it. After `lab start` and a
    //    sync it is back, without a new setup.
    lab.stop_host("lab04");
    // A lost connection is a change of state that sync handles, not a failure: exit 0
    // (README, "Stacks"), with the instance named in the summary.
    let o = st.run(&["sync"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stack::dump(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("connection lost: lab04"),
        "{}",
        common::stack::dump(&o)
    );
    let s = st.status();
    assert_eq!(statuses(&s)["lab04"], "connection_lost", "{s:#}");
    assert_eq!(layer_online(&s, "app"), (1, vec!["lab02".into()]));
    assert_eq!(backends(&lab, "lab01"), want_backends(&lab, &["lab02"]));
    assert_eq!(marks(&lab, "lab01"), lb_marks(4));
    assert_eq!(marks(&lab, "lab02"), app_marks(1, 1, 4));

    lab.start_host("lab04");
    st.expect(&["sync"], 0);
    let s = st.status();
    assert_eq!(statuses(&s)["lab04"], "online", "{s:#}");
    assert_eq!(
        layer_online(&s, "app"),
        (2, vec!["lab02".into(), "lab04".into()])
    );
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab04"])
    );
    assert_eq!(marks(&lab, "lab01"), lb_marks(5));
    assert_eq!(marks(&lab, "lab02"), app_marks(1, 1, 5));
    assert_eq!(marks(&lab, "lab04"), app_marks(1, 1, 3));
}

/// Test 5: a setup that fails on a new host.
#[test]
fn failed_setup_leaves_others_untouched_and_is_retried() {
    let lab = Lab::up("stack-fail", 3, false);
    let st = Stack::on(&lab);
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02"])], &[]);
    st.expect(&["sync"], 0);
    let before = (marks(&lab, "lab01"), marks(&lab, "lab02"));

    st.groups(
        &[("lb", &["lab01"]), ("app", &["lab02", "lab03"])],
        &[("lab03", "fixture_fail_setup: true")],
    );
    st.expect(&["sync"], 2);
    let s = st.status();
    assert_eq!(
        statuses(&s),
        want_statuses(&[
            ("lab01", "online"),
            ("lab02", "online"),
            ("lab03", "setup_failed")
        ])
    );
    assert_eq!(layer_online(&s, "app"), (1, vec!["lab02".into()]));
    // Setup began on lab03 (its mark) and stopped there: no deploy, no configure. The
    // online set did not change, so nothing ran on the others.
    assert_eq!(marks(&lab, "lab03"), want_marks(&[("app.setup", 1)]));
    assert_eq!((marks(&lab, "lab01"), marks(&lab, "lab02")), before);
    assert_eq!(backends(&lab, "lab01"), want_backends(&lab, &["lab02"]));
    let evs = events_of(&st.history(), LIFECYCLE);
    assert_eq!(evs.last().unwrap(), &ev("setup", &["lab03"], "failed"));

    // The next sync retries it.
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab03"])], &[]);
    st.expect(&["sync"], 0);
    assert_eq!(statuses(&st.status())["lab03"], "online");
    assert_eq!(
        marks(&lab, "lab03"),
        want_marks(&[("app.setup", 2), ("app.deploy", 1), ("app.configure", 1)])
    );
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab03"])
    );
    assert_eq!(marks(&lab, "lab02")["app.setup"], 1);
    assert_eq!(marks(&lab, "lab02")["app.configure"], 2);
}

/// Test 5, continued: a setup failing on every host of one layer (the lb, declared first)
/// must not cost the other layers' new instances their setup, nor let one of them be deployed
/// without it.
#[test]
fn setup_failing_on_a_whole_layer_spares_the_other_layers() {
    let lab = Lab::up("stack-fail-layer", 2, false);
    let st = Stack::on(&lab);
    st.groups(
        &[("lb", &["lab01"]), ("app", &["lab02"])],
        &[("lab01", "fixture_fail_setup: true")],
    );
    st.expect(&["sync"], 2);
    assert_eq!(
        statuses(&st.status()),
        want_statuses(&[("lab01", "setup_failed"), ("lab02", "online")])
    );
    assert_eq!(marks(&lab, "lab01"), want_marks(&[("lb.setup", 1)]));
    assert_eq!(
        marks(&lab, "lab02"),
        want_marks(&[("app.setup", 1), ("app.deploy", 1), ("app.configure", 1)])
    );
}

/// The merged attributes as the fixture's app role rendered them (`fixture`, the two
/// top-level keys, and `stack.attributes`).
fn attrs(fixture: Value, level: &str, inv: &str) -> Value {
    json!({
        "fixture": fixture.clone(),
        "fixture_level": level,
        "fixture_inv": inv,
        "stack_attributes": {"fixture": fixture, "fixture_level": level, "fixture_inv": inv},
    })
}

/// Test 6: stack < layer (in declared order) < app < `--attributes`, in rendered files.
/// lab01 is in both layers (lb declared first), lab02 only in app. Top-level attributes beat
/// role defaults and inventory variables.
#[test]
fn attributes_merge_stack_layer_app_and_command_line() {
    let lab = Lab::up("stack-attr", 2, false);
    let st = Stack::on(&lab);
    st.groups(
        &[("lb", &["lab01"]), ("app", &["lab01", "lab02"])],
        &[("lab02", "fixture_inv: inventory")],
    );
    st.expect(&["sync"], 0);
    // An instance in two layers runs both layers' roles.
    assert_eq!(
        marks(&lab, "lab01"),
        want_marks(&[
            ("lb.setup", 1),
            ("lb.configure", 1),
            ("app.setup", 1),
            ("app.deploy", 1),
            ("app.configure", 1)
        ])
    );
    let layer = json!({"a": "stack", "b": "app-layer", "c": "app-layer", "d": "app-layer",
                       "e": "app-layer", "list": ["app-layer"]});
    let with_lb = |mut v: Value| {
        v["f"] = json!("lb");
        v
    };
    let conf = "/var/lib/fixture/app.configure.attributes.json";
    let dep = "/var/lib/fixture/web.attributes.json";
    assert_eq!(
        host_json(&lab, "lab02", conf),
        attrs(layer.clone(), "stack", "stack")
    );
    assert_eq!(
        host_json(&lab, "lab01", conf),
        attrs(with_lb(layer.clone()), "stack", "stack")
    );
    // The deploy during sync adds the app's attributes.
    let mut app = layer.clone();
    app["c"] = json!("app");
    app["d"] = json!("app");
    assert_eq!(
        host_json(&lab, "lab02", dep),
        attrs(app.clone(), "stack", "stack")
    );

    // --attributes JSON: on top, mappings key by key, lists replaced.
    let cli = r#"{"fixture": {"d": "cli", "list": ["cli"]}, "fixture_level": "cli"}"#;
    std::thread::sleep(std::time::Duration::from_secs(1));
    st.expect(&["deploy", "web", "--attributes", cli], 0);
    let mut top = app.clone();
    top["d"] = json!("cli");
    top["list"] = json!(["cli"]);
    assert_eq!(
        host_json(&lab, "lab02", dep),
        attrs(top.clone(), "cli", "stack")
    );
    assert_eq!(
        host_json(&lab, "lab01", dep),
        attrs(with_lb(top), "cli", "stack")
    );

    // --attributes @file.
    st.write("cli.json", r#"{"fixture": {"a": "file"}}"#);
    std::thread::sleep(std::time::Duration::from_secs(1));
    st.expect(&["deploy", "web", "--attributes", "@cli.json"], 0);
    let mut from_file = app.clone();
    from_file["a"] = json!("file");
    assert_eq!(
        host_json(&lab, "lab02", dep),
        attrs(from_file, "stack", "stack")
    );

    // They were for those events only: the next configure is back to stack < layer.
    st.expect(&["configure"], 0);
    assert_eq!(marks(&lab, "lab02")["app.configure"], 2);
    assert_eq!(
        host_json(&lab, "lab02", conf),
        attrs(layer.clone(), "stack", "stack")
    );
}

/// `stack.deploy.web` as the fixture's deploy task wrote it on `host`.
fn deployed(lab: &Lab, host: &str) -> Value {
    host_json(lab, host, "/var/lib/fixture/web.deploy.json")
}

fn second() {
    // Release ids have one-second resolution.
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

/// Test 7: deploy with a revision, then another, then rollback; the state and the hosts show
/// the right active release. Then a deploy to one host, and undeploy.
#[test]
fn deploy_rollback_and_active_releases() {
    let lab = Lab::up("stack-deploy", 3, false);
    let st = Stack::on(&lab);
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab03"])], &[]);
    st.expect(&["sync"], 0);
    let apps = ["lab02", "lab03"];
    // The deploy of sync deploys the app's source revision as a first release.
    let d0 = deployed(&lab, "lab02");
    assert_eq!(d0["revision"], "main", "{d0}");
    let r0 = d0["release"].as_str().unwrap_or_default().to_string();
    assert!(is_release_id(&r0), "{d0}");
    assert_eq!(d0["previous_release"], Value::Null, "{d0}");

    let active_is = |want: &[(&str, &str, &str)]| {
        let a = active(&st.status(), "web");
        for (h, rev, rel) in want {
            assert_eq!(a[h]["revision"], *rev, "{h}: {a:#}");
            assert_eq!(a[h]["release"], *rel, "{h}: {a:#}");
        }
    };
    active_is(&[("lab02", "main", &r0)]);

    let mut releases = vec![r0.clone()];
    for rev in ["v1", "v2"] {
        second();
        st.expect(&["deploy", "web", "--revision", rev], 0);
        let d = deployed(&lab, "lab02");
        let r = d["release"].as_str().unwrap_or_default().to_string();
        assert!(is_release_id(&r), "{d}");
        assert!(
            r > *releases.last().unwrap(),
            "release ids go up: {releases:?} {r}"
        );
        assert_eq!(d["revision"], rev, "{d}");
        assert_eq!(d["previous_release"], releases.last().unwrap().as_str());
        assert_eq!(deployed(&lab, "lab03")["release"], r.as_str());
        releases.push(r);
    }
    let (r1, r2) = (releases[1].clone(), releases[2].clone());
    active_is(&[("lab02", "v2", &r2), ("lab03", "v2", &r2)]);

    // rollback: the previous release again, flagged.
    second();
    st.expect(&["rollback", "web"], 0);
    for h in apps {
        let d = deployed(&lab, h);
        assert_eq!(d["rollback"], true, "{h}: {d}");
        assert_eq!(d["release"], r1.as_str(), "{h}: {d}");
        assert_eq!(d["revision"], "v1", "{h}: {d}");
        assert_eq!(marks(&lab, h)["app.deploy"], 4, "{h}");
    }
    active_is(&[("lab02", "v1", &r1), ("lab03", "v1", &r1)]);
    // The lb layer has no app: no deploy ran there.
    assert!(!marks(&lab, "lab01").contains_key("app.deploy"));

    // --host: one instance only.
    second();
    st.expect(&["deploy", "web", "--revision", "v3", "--host", "lab03"], 0);
    let r3 = deployed(&lab, "lab03")["release"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(is_release_id(&r3) && r3 > r2, "{r3}");
    assert_eq!(marks(&lab, "lab02")["app.deploy"], 4);
    active_is(&[("lab02", "v1", &r1), ("lab03", "v3", &r3)]);

    // undeploy runs on every app instance, with stack.deploy.web set.
    second();
    st.expect(&["undeploy", "web"], 0);
    for h in apps {
        assert_eq!(marks(&lab, h)["app.undeploy"], 1, "{h}");
        let u = host_json(&lab, h, "/var/lib/fixture/web.undeploy.json");
        assert!(u.is_object(), "{h}: stack.deploy.web was {u}");
    }
    let h = st.history();
    assert_eq!(h[0]["kind"], "undeploy", "{:#}", h[0]);
    assert_eq!(h[0]["result"], "ok", "{:#}", h[0]);
}

/// Test 8: two syncs at once, one exits 6 naming the holder; a SIGKILLed sync is recovered by
/// the next one (its event `aborted`, the setup run again).
#[test]
fn one_writer_at_a_time_and_crash_recovery() {
    let lab = Lab::up("stack-busy", 3, false);
    let st = Stack::on(&lab);
    common::stack::busy_and_crash(&lab, &st);
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab03"])
    );
}

/// Beyond the ten: `run EVENT`, `stop HOST` and `start HOST`.
#[test]
fn run_stop_and_start_commands() {
    let lab = Lab::up("stack-cmds", 3, false);
    let st = Stack::on(&lab);
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab03"])], &[]);
    st.expect(&["sync"], 0);

    // run: by default every online instance of the layers that have the event.
    st.expect(&["run", "backup"], 0);
    st.expect(&["run", "backup", "--host", "lab03"], 0);
    assert_eq!(marks(&lab, "lab02")["app.backup"], 1);
    assert_eq!(marks(&lab, "lab03")["app.backup"], 2);
    assert_eq!(event_log(&lab, "lab03").last().unwrap(), "app backup");
    assert!(!marks(&lab, "lab01").contains_key("app.backup"));

    // stop: shutdown on it, stopped, configure on the rest.
    st.expect(&["stop", "lab03"], 0);
    assert_eq!(marks(&lab, "lab03")["app.shutdown"], 1);
    assert_eq!(marks(&lab, "lab03")["app.configure"], 1);
    assert_eq!(marks(&lab, "lab02")["app.configure"], 2);
    assert_eq!(statuses(&st.status())["lab03"], "stopped");
    assert_eq!(backends(&lab, "lab01"), want_backends(&lab, &["lab02"]));
    // A sync leaves a stopped instance alone.
    st.expect(&["sync"], 0);
    assert_eq!(statuses(&st.status())["lab03"], "stopped");
    assert_eq!(marks(&lab, "lab03")["app.setup"], 1);

    // start: setup and deploy on it, then configure on all.
    st.expect(&["start", "lab03"], 0);
    let m = marks(&lab, "lab03");
    assert_eq!(
        (m["app.setup"], m["app.deploy"], m["app.configure"]),
        (2, 2, 2)
    );
    assert_eq!(marks(&lab, "lab02")["app.configure"], 3);
    assert_eq!(statuses(&st.status())["lab03"], "online");
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab03"])
    );
}

/// Check mode changes neither hosts nor state; a configure broadcast that fails is run again
/// by the next sync even though no instance joined or left in between.
#[test]
fn check_mode_changes_nothing_and_a_failed_broadcast_is_retried() {
    let lab = Lab::up("stack-retry", 3, false);
    let st = Stack::on(&lab);
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02"])], &[]);
    st.expect(&["sync"], 0);
    let events_before = st.history().len();

    // -C: lab03 would join, but nothing happens to it, to the others, or to the state.
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab03"])], &[]);
    // (Its deploy fails in check mode, as in Ansible: setup's directory was never made.)
    let o = st.run(&["sync", "-C"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("state is unchanged"),
        "{}",
        common::stack::dump(&o)
    );
    assert!(
        marks(&lab, "lab03").is_empty(),
        "{:?}",
        marks(&lab, "lab03")
    );
    assert!(!statuses(&st.status()).contains_key("lab03"));
    assert_eq!(st.history().len(), events_before, "check mode logs nothing");
    assert_eq!(backends(&lab, "lab01"), want_backends(&lab, &["lab02"]));

    // The real sync: lab03 comes online, but the lb's configure fails.
    st.groups(
        &[("lb", &["lab01"]), ("app", &["lab02", "lab03"])],
        &[("lab01", "fixture_fail_configure: true")],
    );
    st.expect(&["sync"], 2);
    assert_eq!(statuses(&st.status())["lab03"], "online");
    assert_eq!(marks(&lab, "lab01")["lb.configure"], 2);

    // Nothing joined or left since, yet the failed broadcast runs again, and only once.
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab03"])], &[]);
    st.expect(&["sync"], 0);
    assert_eq!(marks(&lab, "lab01")["lb.configure"], 3);
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab03"])
    );
    let h = st.history();
    assert_eq!(
        (h[0]["kind"].as_str(), h[0]["result"].as_str()),
        (Some("configure"), Some("ok"))
    );
    st.expect(&["sync"], 0);
    assert_eq!(
        marks(&lab, "lab01")["lb.configure"],
        3,
        "a converged stack runs nothing"
    );
}
