//! What fetch-style modules download in tests, built on the controller under /var/lib/strata
//! (which lab hosts can read; their /tmp is private): files and archives to serve over HTTP, a
//! git repository (two commits, tag `v1`, branch `dev`) and a wheelhouse of tiny packages
//! (`stratapkg` 1.0 and 2.0, `stratadep` 1.0).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn sh(dir: &Path, cmd: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes a minimal but valid wheel (`name-version-py3-none-any.whl`) with Python's zipfile.
pub fn wheel(dir: &Path, name: &str, version: &str) {
    let py = format!(
        r#"
import base64, hashlib, zipfile
name, ver = "{name}", "{version}"
di = f"{{name}}-{{ver}}.dist-info"
files = {{
    f"{{name}}/__init__.py": f"VERSION = '{{ver}}'\n",
    f"{{di}}/METADATA": f"Metadata-Version: 2.1\nName: {{name}}\nVersion: {{ver}}\n",
    f"{{di}}/WHEEL": "Wheel-Version: 1.0\nGenerator: strata-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}}
rec = []
for p, c in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b"=").decode()
    rec.append(f"{{p}},sha256={{h}},{{len(c.encode())}}")
rec.append(f"{{di}}/RECORD,,")
files[f"{{di}}/RECORD"] = "\n".join(rec) + "\n"
with zipfile.ZipFile(f"{dir}/{{name}}-{{ver}}-py3-none-any.whl", "w") as z:
    for p, c in files.items():
        z.writestr(p, c)
"#,
        dir = dir.display()
    );
    let out = Command::new("python3").arg("-c").arg(py).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Everything the hosts fetch: served files, archives, a repository and wheels.
pub fn shared_data(tag: &str) -> PathBuf {
    // Each process builds its own copy (tests of several checkouts may run at once) and
    // cannot remove it at exit, since statics are never dropped: ended ones' go here.
    strata::scratch::remove_ended(Path::new("/var/lib/strata"), tag);
    let data = PathBuf::from(format!("/var/lib/strata/{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(data.join("www")).unwrap();
    std::fs::create_dir_all(data.join("wheels")).unwrap();
    std::fs::create_dir_all(data.join("tree/sub")).unwrap();
    std::fs::write(data.join("www/hello.txt"), "hello from the controller\n").unwrap();
    std::fs::write(data.join("tree/a.txt"), "alpha\n").unwrap();
    std::fs::write(data.join("tree/sub/b.txt"), "beta\n").unwrap();
    sh(
        &data,
        "(cd tree && tar czf ../tree.tar.gz a.txt sub && zip -qr ../www/tree.zip a.txt sub) && \
         (cd www && sha256sum hello.txt > SHA256SUMS)",
    );
    let repo = data.join("repo");
    std::fs::create_dir(&repo).unwrap();
    sh(
        &repo,
        "git init -q -b main . && echo one > f && git add f && git commit -qm one && git tag v1 && \
         echo two > f && git commit -qam two && git checkout -qb dev && echo dev > f && \
         git commit -qam dev && git checkout -q main",
    );
    let wheels = data.join("wheels");
    wheel(&wheels, "stratapkg", "1.0");
    wheel(&wheels, "stratapkg", "2.0");
    wheel(&wheels, "stratadep", "1.0");
    sh(&data, "chmod -R a+rX .");
    data
}
