//! The user module's decisions: which useradd/usermod/userdel command a request and an
//! account lead to, as Ansible's user module decides.

use serde_json::json;

use super::plan::*;
use crate::modules::Args;
use crate::modules::accounts::account_db::{Groups, Passwd, Shadow};

fn req(v: serde_json::Value) -> UserRequest {
    UserRequest::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
}

fn acct(shadow: &str) -> Account {
    Account {
        pw: Passwd::parse("app:x:1001:1001:App:/home/app:/bin/sh"),
        shadow: Shadow::parse(shadow),
        groups: Groups::parse(["app:x:1001:", "adm:x:4:app", "staff:x:50:", "ops:x:2000:"]),
    }
}

#[test]
fn create_command_like_ansible() {
    let mut a = acct("app:!:1::::::");
    a.pw = None;
    let r =
        req(json!({"name": "app", "groups": "staff, adm", "shell": "/bin/bash", "system": true}));
    assert_eq!(
        create_command(&r, &a).unwrap(),
        vec![
            "useradd",
            "-N",
            "-G",
            "adm,staff",
            "-s",
            "/bin/bash",
            "-m",
            "-r",
            "app"
        ]
    );
    let r = req(json!({"name": "x", "group": "nope"}));
    assert_eq!(
        create_command(&r, &a).unwrap_err(),
        "Group nope does not exist"
    );
    let r = req(json!({"name": "x", "groups": ["staff", "ghost"]}));
    assert_eq!(
        create_command(&r, &a).unwrap_err(),
        "Group ghost does not exist"
    );
    let r = req(
        json!({"name": "x", "uid": 3000, "non_unique": true, "create_home": false,
        "password": "$6$s$h", "password_lock": true, "expires": 86400 * 365}),
    );
    assert_eq!(
        create_command(&r, &a).unwrap(),
        vec![
            "useradd",
            "-u",
            "3000",
            "-o",
            "-e",
            "1971-01-01",
            "-p",
            "!$6$s$h",
            "-M",
            "x"
        ]
    );
}

#[test]
fn modify_command_changes_only_what_differs() {
    let a = acct("app:$6$s$h:19000:0:99999:7:::");
    assert!(
        modify_command(&req(json!({"name": "app", "shell": "/bin/sh"})), &a)
            .unwrap()
            .is_empty()
    );
    // Group by name or gid, same primary group either way.
    assert!(
        modify_command(&req(json!({"name": "app", "group": "1001"})), &a)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        modify_command(&req(json!({"name": "app", "group": "ops"})), &a).unwrap(),
        vec!["usermod", "-g", "2000", "app"]
    );
    // groups without append replaces the set; order does not matter.
    assert!(
        modify_command(&req(json!({"name": "app", "groups": ["adm"]})), &a)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        modify_command(&req(json!({"name": "app", "groups": "staff"})), &a).unwrap(),
        vec!["usermod", "-G", "staff", "app"]
    );
    assert_eq!(
        modify_command(
            &req(json!({"name": "app", "groups": "staff", "append": true})),
            &a
        )
        .unwrap(),
        vec!["usermod", "-a", "-G", "staff", "app"]
    );
    assert!(
        modify_command(
            &req(json!({"name": "app", "groups": "", "append": true})),
            &a
        )
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        modify_command(&req(json!({"name": "app", "groups": []})), &a).unwrap(),
        vec!["usermod", "-G", "", "app"]
    );
    // Passwords compare with the shadow hash; lock state alone toggles -L/-U.
    assert!(
        modify_command(&req(json!({"name": "app", "password": "$6$s$h"})), &a)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        modify_command(&req(json!({"name": "app", "password": "$6$t$h"})), &a).unwrap(),
        vec!["usermod", "-p", "$6$t$h", "app"]
    );
    assert!(
        modify_command(
            &req(json!({"name": "app", "password": "$6$t$h", "update_password": "on_create"})),
            &a
        )
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        modify_command(&req(json!({"name": "app", "password_lock": true})), &a).unwrap(),
        vec!["usermod", "-L", "app"]
    );
    assert_eq!(
        modify_command(
            &req(json!({"name": "app", "home": "/srv/app", "move_home": true, "comment": "C"})),
            &a
        )
        .unwrap(),
        vec!["usermod", "-c", "C", "-d", "/srv/app", "-m", "app"]
    );
    // Expiry is compared by date.
    let mut e = acct("app:x:1:::::365:");
    assert!(
        modify_command(&req(json!({"name": "app", "expires": 365.5 * 86400.0})), &e)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        modify_command(&req(json!({"name": "app", "expires": -1})), &e).unwrap(),
        vec!["usermod", "-e", "", "app"]
    );
    e.shadow = Shadow::parse("app:x:1::::::");
    assert!(
        modify_command(&req(json!({"name": "app", "expires": -1})), &e)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn helpers() {
    assert_eq!(ymd(0.0), (1970, 1, 1));
    assert_eq!(ymd(1_700_000_000.0), (2023, 11, 14));
    assert_eq!(ymd(-1.0), (1969, 12, 31));
    assert_eq!(
        home_mode(Some(["UMASK\t\t022", "HOME_MODE\t0700"])),
        Some(0o700)
    );
    assert_eq!(home_mode(Some(["UMASK 027"])), Some(0o750));
    assert_eq!(home_mode(None::<Vec<&str>>), None);
    assert_eq!(
        delete_command(&req(json!({"name": "a", "remove": true, "force": true}))),
        vec!["userdel", "-f", "-r", "a"]
    );
    assert!(
        req(json!({"name": "a", "password": "plain"}))
            .password_warning()
            .is_some()
    );
    let hashed = format!("$6$salt${}", "a".repeat(86));
    assert!(
        req(json!({"name": "a", "password": hashed}))
            .password_warning()
            .is_none()
    );
}
