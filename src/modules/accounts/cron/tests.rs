use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, read, run_module};

fn req(v: serde_json::Value) -> CronRequest {
    CronRequest::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
}

#[test]
fn validation_matches_ansibles_messages() {
    let r = req(json!({"name": "x", "job": "j", "special_time": "daily", "minute": "5"}));
    assert_eq!(
        r.validate().unwrap_err(),
        "You cannot combine special_time with any of the time or day/date parameters."
    );
    let r = req(json!({"name": "x", "job": "j", "cron_file": "f"}));
    assert_eq!(
        r.validate().unwrap_err(),
        "To use cron_file=... parameter you must specify user=... as well"
    );
    assert_eq!(r.cron_file.as_ref().unwrap().1, "/etc/cron.d/f");
    let r = req(json!({"name": "x"}));
    assert_eq!(
        r.validate().unwrap_err(),
        "You must specify 'job' to install a new cron job or variable"
    );
    let r = req(json!({"name": "x", "job": "j", "insertafter": "A"}));
    assert_eq!(
        r.validate().unwrap_err(),
        "Insertafter and insertbefore parameters are valid only with env=yes"
    );
    assert!(
        req(json!({"name": "x", "state": "absent"}))
            .validate()
            .is_ok()
    );
}

#[test]
fn apply_adds_updates_and_is_idempotent() {
    let mut tab = CronTab::from_user_listing("", None);
    let r = req(json!({"name": "backup", "job": "/bin/backup", "hour": "3", "minute": 0}));
    let mut w = vec![];
    assert_eq!(
        apply(&mut tab, &r, &mut w).unwrap(),
        Outcome::Edited { changed: true }
    );
    assert_eq!(tab.render(), "#Ansible: backup\n0 3 * * * /bin/backup\n");
    let mut again = CronTab::from_user_listing(&tab.render(), None);
    assert_eq!(
        apply(&mut again, &r, &mut w).unwrap(),
        Outcome::Edited { changed: false }
    );
    let env = req(json!({"name": "PATH", "env": true, "job": "/bin:/usr/bin"}));
    apply(&mut again, &env, &mut w).unwrap();
    assert_eq!(
        again.render(),
        "PATH=\"/bin:/usr/bin\"\n#Ansible: backup\n0 3 * * * /bin/backup\n"
    );
    let bad = req(json!({"name": "A B", "env": true, "job": "x"}));
    assert_eq!(
        apply(&mut again, &bad, &mut w).unwrap_err(),
        "Invalid name for environment variable"
    );
    // A crontab without a final newline is fixed even when the job is in place.
    let mut nonl = CronTab::from_user_listing("#Ansible: backup\n0 3 * * * /bin/backup", None);
    assert_eq!(
        apply(&mut nonl, &r, &mut w).unwrap(),
        Outcome::Edited { changed: true }
    );
}

#[tokio::test]
async fn cron_files_are_created_edited_and_removed_when_empty() {
    let s = Scratch::new("cron");
    let f = s.s("job-file");
    let args = json!({"name": "tick", "job": "/bin/true", "user": "root", "cron_file": f, "special_time": "hourly"});
    let r = run_module(&Cron, args.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!s.path("job-file").exists());
    let r = run_module(&Cron, args.clone(), Run::diff()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        read(&s.path("job-file")),
        "#Ansible: tick\n@hourly root /bin/true\n"
    );
    assert_eq!(crate::modules::harness::mode_of(&s.path("job-file")), 0o644);
    assert_eq!(r.data["jobs"], json!(["tick"]));
    assert_eq!(r.diff[0].after, "#Ansible: tick\n@hourly root /bin/true\n");
    assert!(
        !run_module(&Cron, args.clone(), Run::default())
            .await
            .changed
    );

    let absent = json!({"name": "tick", "cron_file": f, "state": "absent"});
    let r = run_module(&Cron, absent.clone(), Run::check()).await;
    assert!(r.changed && s.path("job-file").exists());
    let r = run_module(&Cron, absent.clone(), Run::default()).await;
    assert!(r.changed && !s.path("job-file").exists(), "{r:?}");
    assert!(!run_module(&Cron, absent, Run::default()).await.changed);
}
