//! A real, throwaway PostgreSQL server for tests: `initdb` and `postgres` in a temporary
//! directory, on a free localhost port (and a unix socket in that directory), torn down on
//! drop. Self-contained (std and libc only) so the state's unit tests include it too
//! (`#[path]` in `src/stack/state/tests/postgres.rs`).
//!
//! The binaries are found on `PATH`, then in `/usr/lib/postgresql/<version>/bin` (Debian's
//! `postgresql` package). `initdb` refuses to run as root, so as root the server runs as
//! `nobody` (through `setpriv`). Authentication: `trust` for the superuser `strata`, and a
//! role `secret` (password [`PgServer::PASSWORD`]) that must log in with its password over
//! TCP, to test a refused login.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PgServer {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    child: Option<Child>,
}

impl PgServer {
    /// The password of the role `secret`.
    pub const PASSWORD: &'static str = "right-horse-battery";

    /// Starts a server; panics with the server's log if it does not come up.
    pub fn start(name: &str) -> PgServer {
        let bin = bin_dir().expect("PostgreSQL's initdb and postgres (install `postgresql`)");
        let dir = std::env::temp_dir().join(format!("strata-pg-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            chown_nobody(&dir);
        }
        let data = dir.join("data");
        let out = as_server_user(root, &bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-A", "trust", "-U", "strata", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             host all secret 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let mut server = PgServer {
            dir,
            port: 0,
            bin,
            child: None,
        };
        for _ in 0..3 {
            server.port = free_port();
            if server.spawn(root) {
                server.psql(
                    "postgres",
                    &format!("CREATE ROLE secret LOGIN PASSWORD '{}'", Self::PASSWORD),
                );
                server.psql("postgres", "CREATE DATABASE secretdb OWNER secret");
                return server;
            }
        }
        panic!("postgres did not start: {}", server.log());
    }

    /// Starts postgres and waits until it accepts connections; false if it exited.
    fn spawn(&mut self, root: bool) -> bool {
        let log = std::fs::File::create(self.dir.join("log")).unwrap();
        if root {
            chown_nobody(&self.dir.join("log"));
        }
        let child = as_server_user(root, &self.bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-k")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=16MB"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.log().contains("ready to accept connections") {
                return true;
            }
            if let Some(c) = self.child.as_mut()
                && c.try_wait().ok().flatten().is_some()
            {
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// The postmaster's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// A trusted URL of database `db` (superuser `strata`, no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://strata@127.0.0.1:{}/{db}", self.port)
    }

    /// A URL of the password role `secret`, with `password`.
    pub fn password_url(&self, db: &str, password: &str) -> String {
        format!("postgres://secret:{password}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` (trust), returning its URL.
    pub fn database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// Runs SQL through `psql` on the unix socket; returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .psql_command(db)
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `psql` connected to `db` as `strata` over the unix socket, arguments to add.
    pub fn psql_command(&self, db: &str) -> Command {
        let psql = self.bin.join("psql");
        let mut c = Command::new(if psql.exists() {
            psql
        } else {
            PathBuf::from("psql")
        });
        c.arg("-h").arg(&self.dir).args([
            "-p",
            &self.port.to_string(),
            "-U",
            "strata",
            "-d",
            db,
            "-X",
            "-q",
        ]);
        c
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGINT: "fast" shutdown, which ends every session without waiting for them.
            // SAFETY: kill only sends a signal to our own child.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGINT) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of `initdb` and `postgres`: `PATH`, then Debian's versioned directories.
pub fn bin_dir() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in std::env::split_paths(&path) {
        let initdb = d.join("initdb");
        if initdb.exists() {
            let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
            let dir = real.parent()?.to_path_buf();
            if dir.join("postgres").exists() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn as_server_user(root: bool, program: &Path) -> Command {
    if root {
        // setpriv execs the program itself (runuser would stay as its parent), so the child's
        // pid is the postmaster's and signals reach it.
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn chown_nobody(p: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; 65534 is nobody/nogroup.
    let rc = unsafe { libc::chown(c.as_ptr(), 65534, 65534) };
    assert_eq!(rc, 0, "chown {}", p.display());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
