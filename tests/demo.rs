//! The README's main job: the example stack in `playbooks/site.yml` converges on lab hosts,
//! its app serves the backend list rendered from every host, and a second run changes nothing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use common::Lab;
use common::playbook::run;

#[test]
fn example_stack_converges_and_serves() {
    let lab = Lab::up("demo", 3, false);
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/site.yml");
    let first = run(&lab, &book, &[]);
    assert_eq!(first.code, 0, "{}", first.dump());
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
    let second = run(&lab, &book, &[]);
    assert_eq!(second.code, 0, "{}", second.dump());
    assert_eq!(second.total_changed(), 0, "{}", second.dump());
}
