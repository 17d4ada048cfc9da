//! `user`, `group`, `cron` and `ini_file` on real lab hosts: state checked over plain ssh
//! (`getent`, `id`, `crontab -l`, `cat`), second runs are `changed=0`, check mode changes
//! nothing, and failures carry Ansible's messages.

mod common;

use common::Lab;
use common::playbook::{PlaybookRun, fixture};

const ALICE_HASH: &str = "$6$strataSalt$YUe3e1n39c210pEytDBf/C1TwWNR33iIKTFxY78isfPj3FJ2wqm8vHtI81yy4ZisVr.rVKFcA1y7kSKOcdwwg1";

fn book<'a>(lab: &'a Lab, name: &str) -> PlaybookRun<'a> {
    lab.playbook_file(&fixture("acct").join(name))
}

/// The state `site.yml` leaves on a host.
fn check_site_state(lab: &Lab, h: &str) {
    let ssh = |cmd: &str| lab.ssh_ok(h, cmd);
    assert_eq!(
        ssh("getent passwd alice"),
        "alice:x:2501:2500:Alice Example:/home/alice:/bin/bash"
    );
    assert_eq!(ssh("id -nG alice"), "ops devs svc");
    assert_eq!(ssh("getent shadow alice | cut -d: -f2"), ALICE_HASH);
    assert_eq!(
        ssh("stat -c '%U %a' /home/alice /home/alice/.ssh /home/alice/.ssh/id_rsa"),
        "alice 755\nalice 700\nalice 600"
    );
    assert!(ssh("cat /home/alice/.ssh/id_rsa.pub").ends_with(" alice@strata"));
    assert_eq!(ssh("getent passwd bob | cut -d: -f6"), "/srv/people/bob");
    assert_eq!(ssh("stat -c %U /srv/people/bob"), "bob");
    assert_eq!(ssh("getent shadow bob | cut -d: -f8"), "21915");
    assert_eq!(ssh("id -nG bob"), "bob devs");
    assert!(ssh("id -u svcuser").parse::<u32>().unwrap() < 1000);
    ssh("test ! -e /home/svcuser");
    assert!(
        ssh("getent group svc | cut -d: -f3")
            .parse::<u32>()
            .unwrap()
            < 1000
    );
    assert_eq!(
        lab.ssh_raw(h, "crontab -l -u alice"),
        "MAILTO=\"ops@example.com\"\n#Ansible: backup\n0 3 * * * /usr/local/bin/backup\n"
    );
    assert_eq!(
        lab.ssh_raw(h, "crontab -l"),
        "#Ansible: weekly report\n#@weekly /bin/report\n"
    );
    assert_eq!(
        lab.ssh_raw(h, "cat /etc/cron.d/strata-cleanup"),
        "#Ansible: cleanup\n*/5 * * * * root find /tmp -mtime +1 -delete\n"
    );
    assert_eq!(ssh("stat -c %a /etc/cron.d/strata-cleanup"), "644");
    assert_eq!(
        lab.ssh_raw(h, "cat /etc/strata-app/app.ini"),
        "version = 2\n\n[main]\nport = 8080\ndebug=false\n[peers]\npeer = a\npeer = b\n"
    );
    assert_eq!(ssh("stat -c %a /etc/strata-app/app.ini"), "640");
}

#[test]
fn accounts_crontabs_and_ini_files_converge_change_and_go_away() {
    let lab = Lab::up("acct-main", 2, false);

    let first = book(&lab, "site.yml").run();
    first.expect_clean();
    for h in &lab.hosts {
        assert!(first.host(&h.name).changed >= 14, "{}", first.dump());
        check_site_state(&lab, &h.name);
    }
    // Ansible's return keys, with the key the host generated.
    let h0 = &lab.hosts[0].name;
    let alice = &first.results(h0, "user alice")[0]["result"];
    assert_eq!(alice["uid"], 2501, "{alice}");
    assert_eq!(alice["group"], 2500, "{alice}");
    assert_eq!(alice["groups"], "devs,svc", "{alice}");
    assert_eq!(alice["home"], "/home/alice");
    assert_eq!(alice["ssh_key_file"], "/home/alice/.ssh/id_rsa");
    assert_eq!(
        alice["ssh_public_key"].as_str().unwrap(),
        lab.ssh_ok(h0, "cat /home/alice/.ssh/id_rsa.pub")
    );
    assert!(
        alice["ssh_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("2048 SHA256:"),
        "{alice}"
    );
    assert_eq!(alice["password"], "NOT_LOGGING_PASSWORD");
    let cron = &first.results(h0, "cron job for alice")[0]["result"];
    assert_eq!(cron["jobs"], serde_json::json!(["backup"]), "{cron}");
    assert_eq!(cron["envs"], serde_json::json!([]), "{cron}");

    let pubkey = lab.ssh_ok(h0, "cat /home/alice/.ssh/id_rsa.pub");
    book(&lab, "site.yml").run().expect_converged();
    assert_eq!(
        lab.ssh_ok(h0, "cat /home/alice/.ssh/id_rsa.pub"),
        pubkey,
        "an existing key is kept"
    );

    // Check mode reports the changes, with diffs, and makes none.
    let check = book(&lab, "change.yml").args(&["--check", "--diff"]).run();
    check.expect_clean();
    for h in &lab.hosts {
        assert_eq!(check.host(&h.name).changed, 8, "{}", check.dump());
        check_site_state(&lab, &h.name);
    }
    let diff = &check.results(h0, "backup moves to 4am")[0]["diff"][0];
    assert_eq!(
        diff["before_header"], "crontab for user \"alice\"",
        "{diff}"
    );
    assert_eq!(
        diff["after"],
        "MAILTO=\"ops@example.com\"\n#Ansible: backup\n0 4 * * * /usr/local/bin/backup\n"
    );

    let changed = book(&lab, "change.yml").run();
    changed.expect_clean();
    for h in &lab.hosts {
        let ssh = |cmd: &str| lab.ssh_ok(&h.name, cmd);
        assert_eq!(changed.host(&h.name).changed, 8, "{}", changed.dump());
        assert_eq!(ssh("id -nG alice"), "ops devs");
        assert_eq!(
            ssh("getent shadow alice | cut -d: -f2"),
            format!("!{ALICE_HASH}")
        );
        assert_eq!(ssh("getent passwd alice | cut -d: -f7"), "/bin/sh");
        assert_eq!(ssh("id -nG bob"), "bob devs svc");
        assert_eq!(ssh("getent group devs | cut -d: -f3"), "2600");
        assert_eq!(
            lab.ssh_raw(&h.name, "crontab -l -u alice"),
            "#Ansible: backup\n0 4 * * * /usr/local/bin/backup\n"
        );
        ssh("test ! -e /etc/cron.d/strata-cleanup");
        assert_eq!(
            lab.ssh_raw(&h.name, "cat /etc/strata-app/app.ini"),
            "version = 2\n\n[main]\ndebug=true\n[peers]\npeer = a\npeer = b\n"
        );
    }
    book(&lab, "change.yml").run().expect_converged();

    // Failures, with Ansible's messages, while accounts still exist.
    let bad = book(&lab, "failures.yml").run();
    assert_eq!(bad.code, 0, "{}", bad.dump());
    let msg = |task: &str| {
        bad.results(h0, task)[0]["result"]["msg"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(bad.host(h0).ignored, 7, "{}", bad.dump());
    assert_eq!(msg("primary group missing"), "Group nosuch does not exist");
    assert_eq!(
        msg("supplementary group missing"),
        "Group nosuch2 does not exist"
    );
    assert_eq!(
        msg("special_time with minute"),
        "You cannot combine special_time with any of the time or day/date parameters."
    );
    assert_eq!(
        msg("cron_file without user"),
        "To use cron_file=... parameter you must specify user=... as well"
    );
    assert!(
        msg("crontab missing on the host")
            .starts_with("Failed to find required executable \"crontab\""),
        "{}",
        bad.dump()
    );
    assert_eq!(
        msg("ini file missing without create"),
        "Destination /nonexistent/x.ini does not exist!"
    );
    assert_eq!(
        msg("non_unique without gid"),
        "non_unique is True but all of the following are missing: gid"
    );
    lab.ssh_ok(h0, "! getent passwd carol && ! getent group g");

    // Removal: check mode first, then for real, then converged.
    let check = book(&lab, "remove.yml").args(&["--check"]).run();
    check.expect_clean();
    assert!(check.host(h0).changed >= 6, "{}", check.dump());
    lab.ssh_ok(
        h0,
        "getent passwd alice && getent group ops && test -d /srv/people/bob",
    );
    let removed = book(&lab, "remove.yml").run();
    removed.expect_clean();
    for h in &lab.hosts {
        let ssh = |cmd: &str| lab.ssh_ok(&h.name, cmd);
        ssh("! getent passwd alice && ! getent passwd bob && ! getent passwd svcuser");
        ssh("! getent group ops && ! getent group devs && ! getent group svc");
        ssh("test ! -e /home/alice && test ! -e /srv/people/bob");
        assert_eq!(lab.ssh_raw(&h.name, "crontab -l"), "");
        assert_eq!(
            lab.ssh_raw(&h.name, "cat /etc/strata-app/app.ini"),
            "version = 2\n\n[main]\ndebug=true\n"
        );
    }
    book(&lab, "remove.yml").run().expect_converged();
}
