//! `apt`, `apt_repository` and `package` on real lab hosts, against a local apt repository
//! served over HTTP from the lab bridge (the hosts have no route to Debian's mirrors). Every
//! state is checked with the real OpenSSH client and dpkg on the host, independently of strata;
//! every playbook is run twice (the second run must change nothing) and check mode must leave
//! the hosts untouched.

mod common;

use common::Lab;
use common::playbook::{Run, fixture};

struct Apt<'a> {
    lab: &'a Lab,
    repo_line: String,
    base: String,
}

impl Apt<'_> {
    fn play(&self, book: &str, extra: &[&str]) -> Run {
        // JSON: the line has spaces, which `k=v` extra vars would split.
        let repo = serde_json::json!({ "repo_line": self.repo_line }).to_string();
        self.lab
            .playbook_file(&fixture("apt").join(book))
            .extra_var(&repo)
            .args(extra)
            .run()
    }

    /// Runs a playbook that must succeed and change something on every host, then again: the
    /// second run must be all `ok`.
    fn converge(&self, book: &str, extra: &[&str]) -> Run {
        let first = self.play(book, extra);
        assert_eq!(first.code, 0, "{book}: {}", first.dump());
        for h in &self.lab.hosts {
            assert!(first.host(&h.name).changed > 0, "{book}: {}", first.dump());
        }
        self.play(book, extra).expect_exit(0).expect_converged();
        first
    }

    /// dpkg's view of a package on every host: `installed 1.0`, or `absent`.
    fn dpkg(&self, pkg: &str) -> Vec<String> {
        self.lab
            .hosts
            .iter()
            .map(|h| {
                let (rc, out, _) = self.lab.ssh(
                    &h.name,
                    &format!("dpkg-query -W -f='${{db:Status-Status}} ${{Version}}' {pkg}"),
                );
                let out = out.trim().to_string();
                if rc != 0 || out.starts_with("not-installed") || out.starts_with("config-files") {
                    "absent".to_string()
                } else {
                    out
                }
            })
            .collect()
    }

    fn all(&self, s: &str) -> Vec<String> {
        vec![s.to_string(); self.lab.hosts.len()]
    }

    fn msg(&self, r: &Run, task: &str) -> String {
        let res = r.results(&self.lab.hosts[0].name, task);
        assert!(!res.is_empty(), "no result for {task}: {}", r.dump());
        res[0]["result"]["msg"]
            .as_str()
            .or_else(|| res[0]["msg"].as_str())
            .unwrap_or_else(|| panic!("no msg in {}", res[0]))
            .to_string()
    }
}

#[test]
fn apt_modules_manage_packages_and_repositories() {
    let lab = Lab::up("sys-apt", 2, false);
    common::aptrepo::offline(&lab);
    let srv =
        common::http::HttpServer::start(&lab.state.gateway.to_string(), common::aptrepo::repo());
    let base = srv.url("").trim_end_matches('/').to_string();
    let t = Apt {
        lab: &lab,
        repo_line: common::aptrepo::source_line(&base),
        base: base.clone(),
    };
    let list = format!(
        "/etc/apt/sources.list.d/{}.list",
        base.trim_start_matches("http://").replace(['.', ':'], "_")
    );
    let h0 = lab.hosts[0].name.clone();

    // apt_repository: check mode writes nothing, then the file appears with the exact line
    // (named from the URL as Ansible names it), and the cache knows the repository.
    let check = t.play("repo.yml", &["--check", "--diff"]);
    assert_eq!(check.code, 0, "{}", check.dump());
    assert_eq!(check.host(&h0).changed, 1, "{}", check.dump());
    assert_eq!(
        lab.ssh(&h0, &format!("test -e {list}")).0,
        1,
        "check mode wrote {list}"
    );
    t.converge("repo.yml", &[]);
    for h in &lab.hosts {
        assert_eq!(
            lab.ssh_raw(&h.name, &format!("cat {list}")),
            format!("{}\n", t.repo_line)
        );
        assert_eq!(lab.ssh_ok(&h.name, &format!("stat -c %a {list}")), "644");
        let policy = lab.ssh_ok(&h.name, "apt-cache policy strata-demo");
        assert!(policy.contains("Candidate: 2.0"), "{policy}");
    }

    // Check mode reports the installs but installs nothing.
    let check = t.play("install.yml", &["--check"]);
    assert_eq!(check.code, 0, "{}", check.dump());
    assert_eq!(check.host(&h0).changed, 2, "{}", check.dump());
    assert_eq!(t.dpkg("hello"), t.all("absent"));
    assert_eq!(t.dpkg("strata-demo"), t.all("absent"));

    // present + a pinned version (cache_valid_time: fresh cache, no refresh).
    t.converge("install.yml", &[]);
    assert_eq!(t.dpkg("hello"), t.all("installed 2.10-3"));
    assert_eq!(t.dpkg("strata-demo"), t.all("installed 1.0"));
    assert_eq!(lab.ssh_ok(&h0, "hello"), "Hello, world!");

    // latest upgrades the pinned package to the candidate.
    let check = t.play("latest.yml", &["--check"]);
    assert_eq!(check.host(&h0).changed, 1, "{}", check.dump());
    assert_eq!(t.dpkg("strata-demo"), t.all("installed 1.0"));
    t.converge("latest.yml", &[]);
    assert_eq!(t.dpkg("strata-demo"), t.all("installed 2.0"));
    assert_eq!(lab.ssh_ok(&h0, "cat /usr/share/strata-demo/VERSION"), "2.0");

    // update_cache alone: changed when the cache was refreshed; cache_valid_time skips it.
    let upd = t.play("update.yml", &[]);
    assert_eq!(upd.code, 0, "{}", upd.dump());

    // install_recommends: strata-rec recommends hello.
    let r = t.play("recommends.yml", &["-e", "rec=no"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(t.dpkg("strata-rec"), t.all("installed 1.0"));
    assert_eq!(
        t.dpkg("hello"),
        t.all("absent"),
        "a recommendation was installed"
    );
    let r = t.play("recommends.yml", &["-e", "rec=yes"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(t.dpkg("strata-rec"), t.all("installed 1.0"));
    assert_eq!(t.dpkg("hello"), t.all("installed 2.10-3"));

    // A held dpkg lock: apt waits lock_timeout seconds, then fails naming the lock and its
    // holder. dpkg locks with fcntl, so the holder takes an fcntl lock (flock(1) would not
    // conflict with it).
    t.converge("absent.yml", &[]);
    let holder = lab.ssh_ok(
        &h0,
        "setsid python3 -c 'import fcntl,time; f=open(\"/var/lib/dpkg/lock-frontend\",\"w\"); \
         fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(60)' </dev/null >/dev/null 2>&1 & echo $!",
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    let locked = t.play("lock.yml", &["--limit", &h0]);
    lab.ssh_ok(&h0, &format!("kill {holder}"));
    assert_ne!(locked.code, 0, "{}", locked.dump());
    assert_eq!(locked.host(&h0).failed, 1, "{}", locked.dump());
    assert!(
        started.elapsed().as_secs() >= 3,
        "lock_timeout was not waited for"
    );
    let msg = t.msg(&locked, "Install while dpkg is locked");
    assert!(
        msg.contains("Could not get lock /var/lib/dpkg/lock-frontend"),
        "{msg}"
    );
    assert!(msg.contains(&format!("held by process {holder}")), "{msg}");
    assert_eq!(t.dpkg("strata-rec")[0], "absent");

    // absent + purge (with a wildcard name): dpkg keeps no trace, not even config files.
    for h in &lab.hosts {
        let (_, out, _) = lab.ssh(
            &h.name,
            "dpkg-query -W -f='${db:Status-Status}\n' strata-demo strata-rec 2>/dev/null",
        );
        assert!(out.lines().all(|l| l == "not-installed"), "{out}");
    }

    // deb: a file in the repository directory (the hosts see it), then a URL to a newer one.
    let deb_path = common::aptrepo::repo().join("strata-demo_1.0_all.deb");
    let deb_arg = format!("deb={}", deb_path.display());
    t.converge("deb.yml", &["-e", &deb_arg]);
    assert_eq!(t.dpkg("strata-demo"), t.all("installed 1.0"));
    let url_arg = format!("deb={}/strata-demo_2.0_all.deb", t.base);
    let check = t.play("deb.yml", &["--check", "-e", &url_arg]);
    assert_eq!(check.code, 0, "{}", check.dump());
    assert_eq!(check.host(&h0).changed, 1, "{}", check.dump());
    assert_eq!(t.dpkg("strata-demo"), t.all("installed 1.0"));
    t.converge("deb.yml", &["-e", &url_arg]);
    assert_eq!(t.dpkg("strata-demo"), t.all("installed 2.0"));
    // An older file than the installed version fails unless downgrades are allowed.
    let older = t.play("deb.yml", &["-e", &deb_arg]);
    assert_ne!(older.code, 0);
    assert_eq!(
        t.msg(&older, "Install a .deb file"),
        "A later version is already installed"
    );
    t.converge("deb.yml", &["-e", &deb_arg, "-e", "downgrade=true"]);
    assert_eq!(t.dpkg("strata-demo"), t.all("installed 1.0"));

    // Clear failures.
    let f = t.play("failures.yml", &[]);
    assert_eq!(f.code, 0, "{}", f.dump());
    assert_eq!(f.host(&h0).ignored, 5, "{}", f.dump());
    assert_eq!(
        t.msg(&f, "An unknown package"),
        "No package matching 'strata-no-such-package' is available"
    );
    assert_eq!(
        t.msg(&f, "A version that does not exist"),
        "no available installation candidate for strata-demo=9.9"
    );
    assert!(
        t.msg(&f, "build-dep is refused")
            .contains("build-dep is not supported")
    );
    assert!(t.msg(&f, "A PPA is refused").contains("not supported"));
    assert_eq!(
        t.msg(&f, "A dnf host is refused by package"),
        "package: the 'dnf' package manager is not supported by strata yet (only apt)"
    );

    // package dispatches to apt, with and without facts.
    assert_eq!(t.dpkg("hello"), t.all("absent"));
    t.converge("package.yml", &["-e", "pkg_state=present"]);
    assert_eq!(t.dpkg("hello"), t.all("installed 2.10-3"));
    t.converge("package_facts.yml", &["-e", "pkg_state=absent"]);
    assert_eq!(t.dpkg("hello"), t.all("absent"));

    // apt_repository absent: the line goes, and with it the now-empty file.
    let check = t.play("repo.yml", &["--check", "-e", "repo_state=absent"]);
    assert_eq!(check.host(&h0).changed, 1, "{}", check.dump());
    lab.ssh_ok(&h0, &format!("test -f {list}"));
    t.converge("repo.yml", &["-e", "repo_state=absent"]);
    for h in &lab.hosts {
        assert_eq!(lab.ssh(&h.name, &format!("test -e {list}")).0, 1);
    }
}
