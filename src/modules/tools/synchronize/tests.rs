use super::command::*;
use super::*;
use crate::modules::harness::{Harness, Scratch, get};
use crate::transport::ssh::{JumpHost, SshParams};
use serde_json::json;

fn opts(src: &str, dest: &str) -> Options {
    Options {
        src: src.into(),
        dest: dest.into(),
        archive: true,
        compress: true,
        delay_updates: true,
        ..Default::default()
    }
}

#[test]
fn the_command_string_is_the_modules() {
    let mut o = opts("/srv/app/", "root@10.0.0.5:/opt/app");
    o.private_key = Some("/k/id".into());
    o.dest_port = Some(2222);
    o.delete = true;
    o.check_mode = true;
    o.rsync_opts = vec!["--exclude=.git".into(), "--exclude 'a b'".into()];
    o.recursive = Some(false);
    let c = command_string(&o, "/usr/bin/rsync", "/usr/bin/ssh").unwrap();
    assert_eq!(
        c,
        "/usr/bin/rsync --delay-updates -F --compress --dry-run --delete-after --archive \
         --no-recursive --rsh='/usr/bin/ssh -S none -i /k/id -o Port=2222 -o \
         StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null' --exclude=.git \
         --exclude 'a b' --out-format='<<CHANGED>>%i %n%L' /srv/app/ root@10.0.0.5:/opt/app"
    );
    let words = crate::shell::shlex::split(&c).unwrap();
    assert!(words.contains(&"a b".to_string()), "{words:?}");
    // Without archive, only what is asked; local paths need no ssh.
    let mut o = opts("/a", "/b");
    (o.archive, o.compress, o.delay_updates) = (false, false, false);
    (o.links, o.times, o.verify_host) = (Some(true), Some(false), true);
    o.rsync_path = Some("sudo -u root rsync".into());
    assert_eq!(
        command_string(&o, "rsync", "ssh").unwrap(),
        "rsync --links --rsync-path='sudo -u root rsync' --out-format='<<CHANGED>>%i %n%L' /a /b"
    );
    let o = opts("rsync://a/x", "rsync://b/y");
    assert_eq!(
        command_string(&o, "rsync", "ssh").unwrap_err().to_string(),
        "either src or dest must be a localhost"
    );
}

#[test]
fn targets_quotes_and_output() {
    assert_eq!(
        rsh_target("10.0.0.5", "/opt", Some("root")),
        "root@10.0.0.5:/opt"
    );
    assert_eq!(rsh_target("fe80::1", "/opt", Some("u")), "[u@fe80::1]:/opt");
    assert_eq!(rsh_target("h", "other:/opt", Some("u")), "u@other:/opt");
    assert_eq!(rsh_target("h", "v@other:/opt", Some("u")), "v@other:/opt");
    assert_eq!(rsh_target("h", "/opt", None), "h:/opt");
    assert_eq!(py_quote("it's"), "'it'\"'\"'s'");
    assert_eq!(py_quote(""), "''");
    let (changed, msg, lines) = read_output(
        "<<CHANGED>>>f+++++++++ a.txt\n<<CHANGED>>cd+++++++++ d/\n",
        false,
    );
    assert!(changed);
    assert_eq!(msg, ">f+++++++++ a.txt\ncd+++++++++ d/\n");
    assert_eq!(lines, vec![">f+++++++++ a.txt", "cd+++++++++ d/"]);
    assert!(!read_output("", false).0);
}

#[test]
fn ssh_args_carry_known_hosts_policy_and_jump_hosts() {
    let mut p = SshParams::new("10.0.0.5", "root");
    p.known_hosts = Some("/lab/known hosts".into());
    p.key_file = Some("/lab/id".into());
    p.jump = vec![JumpHost {
        user: None,
        host: "bastion".into(),
        port: 2200,
    }];
    let a = ssh_args_of(&p);
    assert!(
        a.starts_with("-o UserKnownHostsFile='/lab/known hosts' -o StrictHostKeyChecking=yes"),
        "{a}"
    );
    let words = crate::shell::shlex::split(&a).unwrap();
    let proxy = words
        .iter()
        .find(|w| w.starts_with("ProxyCommand="))
        .unwrap();
    assert!(
        proxy.contains("-i /lab/id") && proxy.ends_with("-p 2200 -W %h:%p root@bastion"),
        "{proxy}"
    );
    assert!(
        proxy.contains("UserKnownHostsFile='/lab/known hosts'"),
        "{proxy}"
    );
}

#[tokio::test]
async fn a_local_copy_with_check_mode_delete_and_idempotence() {
    let d = Scratch::new("sync");
    std::fs::create_dir_all(d.path("src/sub")).unwrap();
    std::fs::write(d.path("src/a.txt"), "a").unwrap();
    std::fs::write(d.path("src/sub/b.txt"), "b").unwrap();
    std::fs::create_dir_all(d.path("dest")).unwrap();
    std::fs::write(d.path("dest/stale"), "x").unwrap();
    let args = json!({"src": d.s("src/"), "dest": d.s("dest"), "delete": true});
    let r = Harness::new().check().run(&Synchronize, args.clone()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(
        get(&r, "cmd").as_str().unwrap().contains(" --dry-run "),
        "{r:?}"
    );
    assert!(!d.path("dest/a.txt").exists());
    let h = Harness::new();
    let r = h.run(&Synchronize, args.clone()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(d.path("dest/sub/b.txt")).unwrap(),
        "b"
    );
    assert!(!d.path("dest/stale").exists());
    let lines = get(&r, "stdout_lines").as_array().unwrap();
    assert!(lines.iter().any(|l| l == "*deleting   stale"), "{lines:?}");
    assert_eq!(get(&r, "rc"), 0);
    let r = h.run(&Synchronize, args).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some(""));
    let r = h
        .run(
            &Synchronize,
            json!({"src": d.s("nope/"), "dest": d.s("dest")}),
        )
        .await;
    assert!(r.failed && get(&r, "rc") == 23, "{r:?}");
    assert!(
        r.msg
            .as_deref()
            .unwrap()
            .contains("No such file or directory"),
        "{r:?}"
    );
}
