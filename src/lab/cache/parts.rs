//! How each cache part is built, and the inputs its key hashes. Every builder writes into the
//! empty temporary directory it is given; `super::ensure` swaps it into place.

use std::path::Path;

use super::{APT_PACKAGES, CacheError, digest, io, run};

/// Packages downloaded for buildout on top of the project's requirements, resolved against
/// the project's constraints (without their setuptools pin: buildout needs `setuptools<81`).
const BUILDOUT_PACKAGES: &[&str] = &[
    "zc.buildout==6.0.1",
    "plone.recipe.zope2instance",
    "plone.recipe.zeoserver",
    "uv",
    "wheel",
    "pip",
];

/// The setuptools that zc.buildout 6 and the recipes still import `pkg_resources` from.
const BUILDOUT_SETUPTOOLS: &str = "setuptools<81";

/// The hosts' Python: Debian's, not whatever `python3` is first on PATH (a pyenv build here
/// resolved packages that Debian's 3.11.2 cannot install).
const HOST_PYTHON: &str = "/usr/bin/python3";

pub fn apt_key() -> String {
    digest(&[APT_PACKAGES.join(" ").as_bytes()])
}

pub fn tools_key() -> String {
    digest(&[HOST_PYTHON.as_bytes(), b"venv + pip upgraded from PyPI"])
}

pub fn python_key(project: &Path) -> Result<String, CacheError> {
    let req = read(&project.join("requirements.txt"))?;
    let con = read(&project.join("constraints.txt"))?;
    Ok(digest(&[
        &req,
        &con,
        BUILDOUT_PACKAGES.join(" ").as_bytes(),
        BUILDOUT_SETUPTOOLS.as_bytes(),
    ]))
}

/// Every file of the project, by name and content, so any change re-packs the archive.
pub fn apps_key(project: &Path) -> Result<String, CacheError> {
    let mut files: Vec<_> = std::fs::read_dir(project)
        .map_err(io("cannot read", project))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut inputs = Vec::new();
    for f in &files {
        inputs.push(
            f.file_name()
                .unwrap_or_default()
                .as_encoded_bytes()
                .to_vec(),
        );
        inputs.push(read(f)?);
    }
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    Ok(digest(&refs))
}

fn read(path: &Path) -> Result<Vec<u8>, CacheError> {
    std::fs::read(path).map_err(io("cannot read", path))
}

/// A flat repository: `apt-get download` fetches the packages even where this machine has them
/// installed; `install --download-only` adds the dependencies this machine (and so every lab
/// host, an overlay of it) lacks.
pub fn build_apt(tmp: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), CacheError> {
    let partial = tmp.join("partial");
    std::fs::create_dir_all(&partial).map_err(io("cannot create", &partial))?;
    let mut args = vec!["download"];
    args.extend(APT_PACKAGES);
    run(tmp, "apt-get", &args, progress)?;
    let archives = format!("Dir::Cache::archives={}", tmp.display());
    let mut args = vec![
        "install",
        "-y",
        "-q",
        "--download-only",
        "--no-install-recommends",
        "-o",
        &archives,
    ];
    args.extend(APT_PACKAGES);
    run(tmp, "apt-get", &args, progress)?;
    let _ = std::fs::remove_dir_all(&partial);
    let _ = std::fs::remove_file(tmp.join("lock"));
    let index = run(tmp, "dpkg-scanpackages", &["-m", "."], progress)?;
    let packages = tmp.join("Packages");
    std::fs::write(&packages, index).map_err(io("cannot write", &packages))?;
    run(tmp, "gzip", &["-9", "-k", "Packages"], progress).map(drop)
}

/// A venv of the hosts' Python with a recent pip (Debian's pip 23 resolves more slowly and
/// lacks options). It is moved after creation, so it is only ever run as `bin/python3 -m pip`,
/// never through scripts with the temporary path in their shebang.
pub fn build_tools(tmp: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), CacheError> {
    let venv = tmp.to_string_lossy();
    run(tmp, HOST_PYTHON, &["-m", "venv", &venv], progress)?;
    let python = tmp.join("bin/python3");
    run(
        tmp,
        &python.to_string_lossy(),
        &[
            "-m",
            "pip",
            "install",
            "-q",
            "--no-cache-dir",
            "--upgrade",
            "pip",
        ],
        progress,
    )
    .map(drop)
}

/// `python/wheels/`: the project's pinned set, then buildout and its recipes, uv, wheel and
/// pip, then buildout's setuptools; and `python/wheelhouse.tar`, the same files in one archive.
/// pip's own cache is off, so a cold cache really downloads everything.
pub fn build_python(
    tmp: &Path,
    tools: &Path,
    project: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), CacheError> {
    let python = tools.join("bin/python3").to_string_lossy().into_owned();
    let req = project
        .join("requirements.txt")
        .to_string_lossy()
        .into_owned();
    let con = project.join("constraints.txt");
    let con_s = con.to_string_lossy().into_owned();
    let download = [
        "-m",
        "pip",
        "download",
        "-q",
        "--no-cache-dir",
        "-d",
        "wheels",
    ];

    let mut args = download.to_vec();
    args.extend(["-r", &req, "-c", &con_s]);
    run(tmp, &python, &args, progress)?;

    // Outside `wheels`, and removed before the part is swapped in.
    let loose = tmp.join("constraints-without-setuptools.txt");
    let text = String::from_utf8_lossy(&read(&con)?).into_owned();
    std::fs::write(&loose, without_setuptools(&text)).map_err(io("cannot write", &loose))?;
    let loose_s = loose.to_string_lossy().into_owned();
    let mut args = download.to_vec();
    args.extend(["-c", &loose_s]);
    args.extend(BUILDOUT_PACKAGES);
    run(tmp, &python, &args, progress)?;
    std::fs::remove_file(&loose).map_err(io("cannot remove", &loose))?;

    let mut args = download.to_vec();
    args.extend(["--no-deps", BUILDOUT_SETUPTOOLS]);
    run(tmp, &python, &args, progress)?;

    run(
        tmp,
        "tar",
        &["-C", "wheels", "-cf", "wheelhouse.tar", "."],
        progress,
    )
    .map(drop)
}

/// `apps/plone-project.tar.gz`: the project directory's files, no leading directory.
pub fn build_apps(
    tmp: &Path,
    project: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), CacheError> {
    let name = format!(
        "{}.tar.gz",
        project.file_name().unwrap_or_default().to_string_lossy()
    );
    run(
        tmp,
        "tar",
        &["-C", &project.to_string_lossy(), "-czf", &name, "."],
        progress,
    )
    .map(drop)
}

/// The constraints minus any `setuptools` pin.
fn without_setuptools(constraints: &str) -> String {
    constraints
        .lines()
        .filter(|l| {
            let name: String = l
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            !name.eq_ignore_ascii_case("setuptools")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_setuptools_pin_leaves_the_constraints() {
        let c =
            "Plone==6.2.2\nsetuptools==84.2.1\nSetuptools >= 1\nsetuptools-scm==8.0\nZEO==6.2\n";
        assert_eq!(
            without_setuptools(c),
            "Plone==6.2.2\nsetuptools-scm==8.0\nZEO==6.2\n"
        );
    }

    #[test]
    fn the_python_key_follows_requirements_and_constraints() {
        let d = crate::scratch::root().join(format!("strata-cache-key-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("requirements.txt"), "Plone\n").unwrap();
        std::fs::write(d.join("constraints.txt"), "Plone==6.2.2\n").unwrap();
        let (k1, a1) = (python_key(&d).unwrap(), apps_key(&d).unwrap());
        std::fs::write(d.join("constraints.txt"), "Plone==6.2.3\n").unwrap();
        assert_ne!(python_key(&d).unwrap(), k1);
        assert_ne!(apps_key(&d).unwrap(), a1);
        std::fs::write(d.join("README"), "x").unwrap();
        let k2 = python_key(&d).unwrap();
        assert_eq!(python_key(&d).unwrap(), k2);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
