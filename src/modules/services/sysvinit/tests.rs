use super::*;

fn secs(vals: &[&str]) -> Sections {
    let mut s = SectionScript::new();
    for v in vals {
        s.line(&format!("__s_val {v}"));
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(s.build())
        .output()
        .unwrap();
    Sections::parse(s.marker(), &String::from_utf8(out.stdout).unwrap())
}

fn req(state: Option<&str>, enabled: Option<bool>) -> Request {
    Request {
        name: "demo".into(),
        state: state.map(String::from),
        enabled,
        sleep: 1,
        ..Default::default()
    }
}

#[test]
fn status_heuristics_follow_ansible() {
    assert_eq!(
        status_says_started("demo", 0, "demo is running.\n", false),
        (true, true)
    );
    assert_eq!(
        status_says_started("demo", 3, "demo is not running ... failed!\n", false),
        (false, true)
    );
    assert_eq!(status_says_started("demo", 3, "", false), (false, true));
    assert_eq!(
        status_says_started("demo", 0, "line1\nline2\nline3\n", false),
        (true, true)
    );
    assert_eq!(status_says_started("demo", 7, "", true), (true, true));
    assert_eq!(status_says_started("demo", 7, "", false), (false, false));
    assert_eq!(
        status_says_started("demo", 0, "demo stopped\n", false),
        (false, true)
    );
}

#[test]
fn ps_search_ignores_the_probe_itself() {
    let ps = "root 1 sh -c @@m ps auxww demo\nroot 2 /usr/bin/demo-daemon\n";
    assert!(ps_has(ps, "demo-daemon", "@@m"));
    assert!(!ps_has(ps, "auxww", "@@m"));
}

#[test]
fn plans_match_the_sysvinit_module() {
    let s = secs(&["bin_update-rc.d /usr/sbin/update-rc.d"]);
    let p = plan(&req(Some("started"), Some(true)), &s, false);
    assert!(p.enable_changed && p.state_changed);
    assert_eq!(
        p.enable_cmd.as_deref(),
        Some("/usr/sbin/update-rc.d demo defaults")
    );
    assert_eq!(
        p.state_cmds,
        vec![("start".into(), "/etc/init.d/demo start".into())]
    );
    assert!(!plan(&req(Some("started"), None), &s, true).state_changed);
    assert!(!plan(&req(Some("stopped"), None), &s, false).state_changed);
    let stop = plan(&req(Some("stopped"), None), &s, true);
    assert_eq!(stop.action, "stop");
    assert_eq!(stop.state_cmds[0].1, "/etc/init.d/demo stop");
    let restart = plan(&req(Some("restarted"), None), &s, false);
    assert!(restart.restart);
    assert_eq!(restart.state_cmds.len(), 2);
    for started in [true, false] {
        let r = plan(&req(Some("reloaded"), None), &s, started);
        assert!(r.state_changed);
        assert_eq!(r.action, "reload");
    }
    let enabled = secs(&["bin_update-rc.d /usr/sbin/update-rc.d", "en_? 1"]);
    let p = plan(&req(None, Some(false)), &enabled, false);
    assert_eq!(
        p.enable_cmd.as_deref(),
        Some("/usr/sbin/update-rc.d demo disable")
    );
    assert!(!plan(&req(None, Some(true)), &enabled, false).enable_changed);
}

#[test]
fn arguments_are_split_like_a_command_line() {
    let s = secs(&[]);
    let mut r = req(Some("started"), None);
    r.arguments = Some("--port 80 'two words'".into());
    let p = plan(&r, &s, false);
    assert_eq!(
        p.state_cmds[0].1,
        "/etc/init.d/demo start --port 80 'two words'"
    );
}
