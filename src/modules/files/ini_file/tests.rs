//! ini_file: the module on real files, and the edit rules (`edit`) it applies.

use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, mode_of, read, run_module};

#[tokio::test]
async fn edits_files_idempotently_with_attrs_check_and_diff() {
    let s = Scratch::new("ini");
    let p = s.s("sub/app.ini");
    let args =
        json!({"path": p, "section": "main", "option": "port", "value": "80", "mode": "0600"});
    let r = run_module(&IniFile, args.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{:?}", r.msg);
    assert!(!s.path("sub").exists(), "check mode wrote");

    let r = run_module(&IniFile, args.clone(), Run::diff()).await;
    assert!(r.changed, "{:?}", r.msg);
    assert_eq!(read(&s.path("sub/app.ini")), "\n[main]\nport = 80\n");
    assert_eq!(mode_of(&s.path("sub/app.ini")), 0o600);
    assert_eq!(r.diff[0].after, "\n[main]\nport = 80\n");
    assert_eq!(r.msg.as_deref(), Some("section and option added"));

    let r = run_module(&IniFile, args.clone(), Run::default()).await;
    assert!(!r.changed && !r.failed, "{:?}", r.msg);

    // Only the mode differs: a change outside check mode, none inside it, as in Ansible.
    std::fs::set_permissions(
        s.path("sub/app.ini"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    assert!(
        !run_module(&IniFile, args.clone(), Run::check())
            .await
            .changed
    );
    assert!(
        run_module(&IniFile, args.clone(), Run::default())
            .await
            .changed
    );
    assert_eq!(mode_of(&s.path("sub/app.ini")), 0o600);

    let r = run_module(
        &IniFile,
        json!({"path": p, "section": "main", "option": "port", "state": "absent", "backup": true}),
        Run::default(),
    )
    .await;
    assert!(r.changed && r.data.contains_key("backup_file"), "{r:?}");
    assert_eq!(read(&s.path("sub/app.ini")), "\n[main]\n");
}

#[tokio::test]
async fn failures_use_ansibles_messages() {
    let s = Scratch::new("ini-f");
    let r = run_module(
        &IniFile,
        json!({"path": s.s("x.ini"), "option": "a", "value": "1", "create": false}),
        Run::default(),
    )
    .await;
    assert!(r.failed);
    assert_eq!(
        r.msg.as_deref(),
        Some(format!("Destination {} does not exist!", s.s("x.ini")).as_str())
    );
    let r = run_module(
        &IniFile,
        json!({"path": s.s("x.ini"), "option": "a"}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.as_deref(),
        Some("Parameter 'value(s)' must be defined if state=present and allow_no_value=False.")
    );
}

mod edit_rules {
    use super::super::edit::*;

    fn req(section: Option<&str>, option: &str, values: &[&str]) -> IniRequest {
        IniRequest {
            section: section.map(str::to_string),
            option: Some(option.to_string()),
            values: values.iter().map(|v| v.to_string()).collect(),
            present: true,
            exclusive: true,
            modify_inactive_option: true,
            ..Default::default()
        }
    }

    fn apply(text: &str, r: &IniRequest) -> IniEdit {
        do_ini(text, r).unwrap()
    }

    #[test]
    fn new_file_gets_ansibles_leading_blank_line() {
        let e = apply("", &req(Some("drinks"), "fav", &["lemonade"]));
        assert_eq!(e.text, "\n[drinks]\nfav = lemonade\n");
        assert_eq!(e.msg, "section and option added");
        assert!(e.changed);
        let again = apply(&e.text, &req(Some("drinks"), "fav", &["lemonade"]));
        assert!(!again.changed, "{again:?}");
        assert_eq!(again.text, e.text);
    }

    #[test]
    fn options_are_added_after_the_last_setting_of_their_section() {
        let text = "[a]\nx = 1\n\n[b]\ny = 2\n";
        let e = apply(text, &req(Some("a"), "z", &["3"]));
        assert_eq!(e.text, "[a]\nx = 1\nz = 3\n\n[b]\ny = 2\n");
        assert_eq!(e.msg, "option added");
        let e = apply(text, &req(Some("a"), "x", &["9"]));
        assert_eq!(e.text, "[a]\nx = 9\n\n[b]\ny = 2\n");
        assert_eq!(e.msg, "option changed");
        let e = apply(text, &req(Some("c"), "k", &["v"]));
        assert_eq!(e.text, "[a]\nx = 1\n\n[b]\ny = 2\n[c]\nk = v\n");
    }

    #[test]
    fn no_section_means_before_the_first_section() {
        let e = apply("[a]\nx = 1\n", &req(None, "top", &["1"]));
        assert_eq!(e.text, "top = 1\n[a]\nx = 1\n");
        let e = apply("", &req(None, "top", &["1"]));
        assert_eq!(e.text, "top = 1\n\n");
    }

    #[test]
    fn spacing_commented_options_and_missing_newline() {
        let mut r = req(Some("s"), "k", &["v"]);
        r.no_extra_spaces = true;
        assert_eq!(apply("[s]\nk = v\n", &r).text, "[s]\nk=v\n");
        r.no_extra_spaces = false;
        r.ignore_spaces = true;
        let e = apply("[s]\nk=v\n", &r);
        assert!(!e.changed && e.text == "[s]\nk=v\n", "{e:?}");

        // Commented-out options are reused unless modify_inactive_option is off.
        let r = req(Some("Journal"), "LineMax", &["48k"]);
        let e = apply(
            "[Journal]\n#Storage=auto\n#LineMax=48K\n#ReadKMsg=yes\n",
            &r,
        );
        assert_eq!(
            e.text,
            "[Journal]\n#Storage=auto\nLineMax = 48k\n#ReadKMsg=yes\n"
        );
        let mut r = r;
        r.modify_inactive_option = false;
        let e = apply("[Journal]\n#LineMax=48K\n", &r);
        assert_eq!(e.text, "[Journal]\nLineMax = 48k\n#LineMax=48K\n");

        // A missing final newline alone is a change.
        let e = apply("[s]\nk = v", &req(Some("s"), "k", &["v"]));
        assert!(e.changed);
        assert_eq!(e.text, "[s]\nk = v\n");
    }

    #[test]
    fn multiple_values_exclusive_and_not() {
        let text = "[d]\nb = coke\nb = tea\nb = milk\n";
        let mut r = req(Some("d"), "b", &["coke", "pepsi"]);
        let e = apply(text, &r);
        assert_eq!(e.text, "[d]\nb = coke\nb = pepsi\n");
        r.exclusive = false;
        let e = apply(text, &r);
        assert_eq!(e.text, "[d]\nb = coke\nb = tea\nb = milk\nb = pepsi\n");
        assert!(!apply(&e.text, &r).changed);
    }

    #[test]
    fn absent_removes_options_values_or_sections() {
        let text = "[d]\nb = coke\nb = tea\n# b = old\n\n[e]\nx = 1\n";
        let mut r = req(Some("d"), "b", &[]);
        r.present = false;
        let e = apply(text, &r);
        assert_eq!(e.text, "[d]\n# b = old\n\n[e]\nx = 1\n");
        r.exclusive = false;
        r.values = vec!["tea".into()];
        assert_eq!(
            apply(text, &r).text,
            "[d]\nb = coke\n# b = old\n\n[e]\nx = 1\n"
        );
        r.option = None;
        let e = apply(text, &r);
        assert_eq!(
            (e.text.as_str(), e.msg),
            ("[e]\nx = 1\n", "section removed")
        );
        let mut r = req(Some("zzz"), "b", &[]);
        r.present = false;
        assert!(!apply(text, &r).changed);
    }

    #[test]
    fn allow_no_value_and_section_has_values() {
        let mut r = req(Some("mysqld"), "skip-name-resolve", &[]);
        r.allow_no_value = true;
        let e = apply("[mysqld]\nport = 1\n", &r);
        assert_eq!(e.text, "[mysqld]\nport = 1\nskip-name-resolve\n");
        assert!(!apply(&e.text, &r).changed);

        let text = "[Peer]\nAllowedIps = 10.0.0.1/32\nKey = a\n\n[Peer]\nAllowedIps = 10.0.0.2/32\nKey = b\n";
        let mut r = req(Some("Peer"), "Key", &["c"]);
        r.section_has_values = vec![("AllowedIps".into(), vec!["10.0.0.2/32".into()])];
        assert_eq!(
            apply(text, &r).text,
            "[Peer]\nAllowedIps = 10.0.0.1/32\nKey = a\n\n[Peer]\nAllowedIps = 10.0.0.2/32\nKey = c\n"
        );
    }

    #[test]
    fn text_is_read_like_python() {
        assert_eq!(normalize_text(b"\xef\xbb\xbfa\r\nb\rc"), "a\nb\nc");
    }
}
