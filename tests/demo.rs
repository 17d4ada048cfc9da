//! The README's main job: the example stack in `playbooks/site.yml` converges on lab hosts,
//! its app serves the backend list rendered from every host, and a second run changes nothing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use common::Lab;

#[test]
fn example_stack_converges_and_serves() {
    let lab = Lab::up("demo", 3, false);
    let book = lab.playbook_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/site.yml"));
    book.run().expect_exit(0);
    for h in &lab.hosts {
        let mut s = TcpStream::connect((h.addr.as_str(), 8080)).expect("app listens on 8080");
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        for other in &lab.hosts {
            assert!(
                body.contains(&format!("server {} {}:8080 check", other.name, other.addr)),
                "{body}"
            );
        }
        assert!(
            lab.ssh_raw(&h.name, "cat /etc/motd")
                .starts_with(&format!("{} (Debian", h.name))
        );
    }
    book.run().expect_exit(0).expect_converged();
}
