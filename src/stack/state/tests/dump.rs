//! Export and import: nothing lost within a backend or across them.

use serde_json::json;

use super::{Fx, Kind, both, holder, instance, release};
use crate::stack::state::*;

/// A state with a bit of everything: instances in a non-alphabetical first-seen order,
/// finished and running events, releases deployed within one second (order decided by the
/// insertion tie-break), meta, and job runs.
fn fill(st: &mut dyn StateStore) {
    st.put_instances(&[
        instance("i-z", "web9", Status::Online),
        instance("i-a", "web1", Status::SetupFailed),
    ])
    .unwrap();
    let e1 = st
        .begin_event(
            "setup",
            &json!({"z": 1, "a": {"y": 2, "b": 3}}),
            "strata stack sync",
            &["web9".into()],
        )
        .unwrap();
    st.finish_event(
        e1,
        EventResult::Ok,
        &json!({"web9": {"ok": 2, "changed": 1}}),
        &[("i-z".into(), Status::Online)],
    )
    .unwrap();
    st.begin_event("deploy", &json!({}), "strata stack deploy web", &[])
        .unwrap();
    let same = "20260101T000001Z";
    st.add_releases(
        &[release("web", "i-z", same), release("web", "i-a", same)],
        5,
    )
    .unwrap();
    st.add_releases(&[release("api", "i-z", same)], 5).unwrap();
    st.set_meta("configured_membership", "[\"b\",\"a\"]")
        .unwrap();
    st.set_meta("another", "x").unwrap();
    let h = holder("strata jobs run backup");
    let r = st.begin_job_run("backup", Some("/l/1.log"), &h).unwrap();
    st.finish_job_run(
        r,
        JobResult::Failed,
        Some(2),
        &json!({"m": {"failed": 1}}),
        Some(e1),
    )
    .unwrap();
    st.begin_job_run("pack", None, &h).unwrap();
}

fn export_import_round_trip(k: Kind) {
    let src = Fx::new(k, "exportsrc");
    let mut a = src.open();
    fill(&mut a);
    let dump = a.export().unwrap();
    assert_eq!(dump.format, StateDump::FORMAT);
    assert_eq!(dump.instances[0].id, "i-z", "first-seen order");
    assert_eq!(dump.events.len(), 2);
    assert_eq!(dump.job_runs.len(), 2);
    assert!(!dump.is_empty());

    let dst = Fx::new(k, "exportdst");
    let mut b = dst.open();
    b.import(&dump).unwrap();
    assert_eq!(b.export().unwrap(), dump);
    // Ids continue after the imported ones, as at the source.
    let next_a = a.begin_event("configure", &json!({}), "c", &[]).unwrap();
    let next_b = b.begin_event("configure", &json!({}), "c", &[]).unwrap();
    assert_eq!(next_a, next_b);
    let ja = a.begin_job_run("x", None, &holder("c")).unwrap();
    let jb = b.begin_job_run("x", None, &holder("c")).unwrap();
    assert_eq!(ja, jb);

    // Importing again replaces, not appends; an empty dump empties.
    b.import(&dump).unwrap();
    assert_eq!(b.export().unwrap(), dump);
    b.import(&StateDump::new()).unwrap();
    assert!(b.export().unwrap().is_empty());

    // A dump of another format is refused, and changes nothing.
    b.import(&dump).unwrap();
    let mut future = dump.clone();
    future.format = 99;
    assert!(b.import(&future).is_err());
    assert_eq!(b.export().unwrap(), dump);
}

both!(export_import_round_trip);

/// SQLite → JSON → PostgreSQL → JSON gives the same text, and back.
#[test]
fn sqlite_to_postgres_and_back_is_identical() {
    let lite = Fx::new(Kind::Sqlite, "crosslite");
    let mut a = lite.open();
    fill(&mut a);
    let json1 = serde_json::to_string_pretty(&a.export().unwrap()).unwrap();

    let pg = Fx::new(Kind::Postgres, "crosspg");
    let mut b = pg.open();
    b.import(&serde_json::from_str(&json1).unwrap()).unwrap();
    let json2 = serde_json::to_string_pretty(&b.export().unwrap()).unwrap();
    assert_eq!(json1, json2);

    // The same reads from both.
    assert_eq!(a.instances().unwrap(), b.instances().unwrap());
    assert_eq!(a.events(0).unwrap(), b.events(0).unwrap());
    assert_eq!(a.releases(None).unwrap(), b.releases(None).unwrap());
    assert_eq!(a.job_runs(None, 0).unwrap(), b.job_runs(None, 0).unwrap());
    assert_eq!(a.meta("another").unwrap(), b.meta("another").unwrap());

    let back = Fx::new(Kind::Sqlite, "crossback");
    let mut c = back.open();
    c.import(&b.export().unwrap()).unwrap();
    let json3 = serde_json::to_string_pretty(&c.export().unwrap()).unwrap();
    assert_eq!(json1, json3);
}
