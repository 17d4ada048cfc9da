//! A local flat apt repository for lab hosts, which have no route to Debian's mirrors. It holds
//! real Debian packages downloaded on the controller (`hello`, and `haproxy` with whatever
//! dependencies this machine lacks, so a lab host — an overlay of this machine — can install
//! it), plus packages built here with `dpkg-deb`: `strata-demo` 1.0 and 2.0 for upgrades and
//! `strata-rec`, which recommends `hello`. It is built once and kept under
//! `/var/lib/strata/test-cache`, outside `/tmp`, because lab hosts see the base filesystem but
//! have a private `/tmp`; `deb:` tests install straight from that directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::Lab;

/// Bump when the contents change, so stale caches are not reused.
const VERSION: u32 = 1;

/// The repository directory (with its `Packages` index), built on first use.
pub fn repo() -> &'static Path {
    static REPO: OnceLock<PathBuf> = OnceLock::new();
    REPO.get_or_init(|| {
        let dir = PathBuf::from(format!("/var/lib/strata/test-cache/apt-repo-v{VERSION}"));
        if !dir.join("Packages").exists() {
            build(&dir);
        }
        dir
    })
}

/// The `sources.list` line for the repository served at `base_url` (no trailing slash).
pub fn source_line(base_url: &str) -> String {
    format!("deb [trusted=yes] {base_url}/ ./")
}

/// Moves the distribution's apt sources and package lists aside on every host, so `apt-get
/// update` only sees sources the test adds and nothing reaches for the unreachable mirrors.
/// The lists go too, with the base machine's update stamp, so `cache_valid_time` sees a cache
/// that was never updated, as on a fresh server.
pub fn offline(lab: &Lab) {
    for h in &lab.hosts {
        lab.ssh_ok(
            &h.name,
            "mkdir -p /etc/apt/sources.offline && \
             for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do \
               [ -e \"$f\" ] && mv \"$f\" /etc/apt/sources.offline/; done; \
             rm -rf /var/lib/apt/lists && mkdir -p /var/lib/apt/lists/partial && \
             rm -f /var/lib/apt/periodic/update-success-stamp && touch -d 2000-01-01 /var/lib/apt/lists",
        );
    }
}

fn build(dir: &Path) {
    let parent = dir.parent().unwrap();
    std::fs::create_dir_all(parent).unwrap();
    // Built aside and renamed into place, so a concurrent test process never sees half a repo.
    let tmp = parent.join(format!(
        ".{}.{}",
        dir.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("partial")).unwrap();

    // `download` fetches even what this machine has installed; `--download-only` adds the
    // dependencies this machine (and so every lab host) lacks.
    sh(&tmp, "apt-get download hello haproxy");
    sh(
        &tmp,
        &format!(
            "apt-get install -y -q --download-only --no-install-recommends \
             -o Dir::Cache::archives={} haproxy",
            tmp.display()
        ),
    );
    let _ = std::fs::remove_dir_all(tmp.join("partial"));
    let _ = std::fs::remove_file(tmp.join("lock"));

    for version in ["1.0", "2.0"] {
        build_deb(&tmp, "strata-demo", version, "");
    }
    build_deb(&tmp, "strata-rec", "1.0", "Recommends: hello\n");

    sh(&tmp, "dpkg-scanpackages -m . > Packages 2>/dev/null");
    sh(&tmp, "gzip -9 -k Packages");
    match std::fs::rename(&tmp, dir) {
        Ok(()) => {}
        // Another test process finished first: use its copy.
        Err(_) if dir.join("Packages").exists() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => panic!("cannot move the apt repository into {}: {e}", dir.display()),
    }
}

/// A tiny architecture-independent package that installs `/usr/share/<name>/VERSION`.
fn build_deb(out: &Path, name: &str, version: &str, extra_control: &str) {
    let root = out.join(format!("build-{name}-{version}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share").join(name)).unwrap();
    std::fs::write(
        root.join("usr/share").join(name).join("VERSION"),
        format!("{version}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\n\
             Maintainer: strata tests <tests@strata.invalid>\n{extra_control}\
             Description: strata test package {name} {version}\n"
        ),
    )
    .unwrap();
    sh(
        out,
        &format!(
            "dpkg-deb --root-owner-group --build {} {name}_{version}_all.deb >/dev/null",
            root.display()
        ),
    );
    std::fs::remove_dir_all(&root).unwrap();
}

fn sh(cwd: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .output()
        .expect("cannot run sh");
    assert!(
        out.status.success(),
        "building the test apt repository: `{script}` failed (it needs dpkg-dev, `apt-get update` \
         and access to Debian's mirrors from the controller):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
