//! [`StateStore`] on PostgreSQL: each method one transaction through the session thread
//! (`PgState::read` / `write`), on the same tables and with the same meaning as SQLite's.
//! Kept apart from `mod.rs`, which opens the state and holds the plumbing they share.

use std::time::Duration;

use serde_json::Value;

use super::super::sqlite::lock::hostname;
use super::super::sqlite::user_name;
use super::super::{
    EventRecord, EventResult, Holder, InstanceRecord, JobResult, JobRun, LockGuard, Release,
    StateDump, StateError, StateStore, Status,
};
use super::lock::PgLock;
use super::{
    EVENT_COLS, Fail, INSTANCE_COLS, PgState, RELEASE_COLS, apply_statuses, dump, event_from_row,
    instance_from_row, jobs, release_from_row, select,
};
use crate::stack::clock;

impl StateStore for PgState {
    fn instances(&self) -> Result<Vec<InstanceRecord>, StateError> {
        self.read(|tx| {
            Box::pin(async move {
                let sql = format!("SELECT {INSTANCE_COLS} FROM instances ORDER BY seq");
                select(tx, &sql, &[], instance_from_row).await
            })
        })
    }

    fn put_instances(&mut self, recs: &[InstanceRecord]) -> Result<(), StateError> {
        let recs = recs.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                // An upsert keeps the row's `seq`, so first-seen order survives.
                let stmt = tx
                    .prepare(
                        "INSERT INTO instances (id, name, layers, private_ip, public_ip, details,
                                                status, status_since, last_event)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         ON CONFLICT (id) DO UPDATE SET
                             name = excluded.name, layers = excluded.layers,
                             private_ip = excluded.private_ip, public_ip = excluded.public_ip,
                             details = excluded.details, status = excluded.status,
                             status_since = excluded.status_since,
                             last_event = excluded.last_event",
                    )
                    .await?;
                for r in &recs {
                    tx.execute(
                        &stmt,
                        &[
                            &r.id,
                            &r.name,
                            &serde_json::to_string(&r.layers)?,
                            &r.private_ip,
                            &r.public_ip,
                            &serde_json::to_string(&r.details)?,
                            &r.status.as_str(),
                            &r.status_since,
                            &r.last_event,
                        ],
                    )
                    .await?;
                }
                Ok(())
            })
        })
    }

    fn set_statuses(
        &mut self,
        changes: &[(String, Status)],
        event: Option<i64>,
    ) -> Result<(), StateError> {
        let now = clock::now_rfc3339();
        let changes = changes.to_vec();
        self.write(move |tx| {
            Box::pin(async move { apply_statuses(tx, &changes, event, &now).await })
        })
    }

    fn begin_event(
        &mut self,
        kind: &str,
        args: &Value,
        command: &str,
        hosts: &[String],
    ) -> Result<i64, StateError> {
        let user = format!("{}@{}", user_name(), hostname());
        let now = clock::now_rfc3339();
        let kind = kind.to_string();
        let command = command.to_string();
        let args = serde_json::to_string(args).map_err(|e| self.err(e.to_string()))?;
        let hosts = serde_json::to_string(hosts).map_err(|e| self.err(e.to_string()))?;
        self.write(move |tx| {
            Box::pin(async move {
                let row = tx
                    .query_one(
                        r#"INSERT INTO events (kind, args, "user", command, hosts, started, ended,
                                               result, recap)
                           VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, '{}') RETURNING id"#,
                        &[
                            &kind,
                            &args,
                            &user,
                            &command,
                            &hosts,
                            &now,
                            &EventResult::Running.as_str(),
                        ],
                    )
                    .await?;
                Ok(row.try_get(0)?)
            })
        })
    }

    fn finish_event(
        &mut self,
        id: i64,
        result: EventResult,
        recap: &Value,
        statuses: &[(String, Status)],
    ) -> Result<(), StateError> {
        if result == EventResult::Running {
            return Err(self.err(format!("event {id} cannot finish as running")));
        }
        let now = clock::now_rfc3339();
        let recap = serde_json::to_string(recap).map_err(|e| self.err(e.to_string()))?;
        let statuses = statuses.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                let n = tx
                    .execute(
                        "UPDATE events SET ended = $2, result = $3, recap = $4 WHERE id = $1",
                        &[&id, &now, &result.as_str(), &recap],
                    )
                    .await?;
                if n == 0 {
                    return Err(Fail(format!("no event with id {id}")));
                }
                // Every live instance the event targeted ran it, whether or not its status
                // moved.
                tx.execute(
                    "UPDATE instances SET last_event = $1
                     WHERE status != 'terminated' AND name IN (
                         SELECT json_array_elements_text(hosts::json) FROM events WHERE id = $1)",
                    &[&id],
                )
                .await?;
                apply_statuses(tx, &statuses, Some(id), &now).await
            })
        })
    }

    fn events(&self, limit: usize) -> Result<Vec<EventRecord>, StateError> {
        // LIMIT NULL is PostgreSQL for "no limit".
        let limit = (limit != 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(move |tx| {
            Box::pin(async move {
                let sql = format!("SELECT {EVENT_COLS} FROM events ORDER BY id DESC LIMIT $1");
                select(tx, &sql, &[&limit], event_from_row).await
            })
        })
    }

    fn abort_running(&mut self) -> Result<Vec<i64>, StateError> {
        let now = clock::now_rfc3339();
        self.write(move |tx| {
            Box::pin(async move {
                let rows = tx
                    .query(
                        "UPDATE events SET result = $2, ended = COALESCE(ended, $3)
                         WHERE result = $1 RETURNING id",
                        &[
                            &EventResult::Running.as_str(),
                            &EventResult::Aborted.as_str(),
                            &now,
                        ],
                    )
                    .await?;
                let mut ids = rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<Vec<i64>, _>>()?;
                ids.sort_unstable();
                Ok(ids)
            })
        })
    }

    fn add_releases(&mut self, rels: &[Release], keep: usize) -> Result<(), StateError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let rels = rels.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                let deactivate = tx
                    .prepare("UPDATE releases SET active = false WHERE app = $1 AND instance = $2")
                    .await?;
                // Same release id twice (two deploys within one second) updates the row.
                let insert = tx
                    .prepare(
                        "INSERT INTO releases (app, instance, revision, release, deployed_at,
                                               active, event)
                         VALUES ($1, $2, $3, $4, $5, true, $6)
                         ON CONFLICT (app, instance, release) DO UPDATE SET
                             revision = excluded.revision, deployed_at = excluded.deployed_at,
                             active = true, event = excluded.event",
                    )
                    .await?;
                let prune = tx
                    .prepare(
                        "DELETE FROM releases
                         WHERE app = $1 AND instance = $2 AND NOT active AND seq NOT IN (
                             SELECT seq FROM releases WHERE app = $1 AND instance = $2
                             ORDER BY deployed_at DESC, seq DESC LIMIT $3)",
                    )
                    .await?;
                for r in &rels {
                    tx.execute(&deactivate, &[&r.app, &r.instance]).await?;
                    tx.execute(
                        &insert,
                        &[
                            &r.app,
                            &r.instance,
                            &r.revision,
                            &r.release,
                            &r.deployed_at,
                            &r.event,
                        ],
                    )
                    .await?;
                    tx.execute(&prune, &[&r.app, &r.instance, &keep]).await?;
                }
                Ok(())
            })
        })
    }

    fn activate_release(
        &mut self,
        app: &str,
        release: &str,
        instances: &[String],
    ) -> Result<(), StateError> {
        let (app, release, instances) = (app.to_string(), release.to_string(), instances.to_vec());
        self.write(move |tx| {
            Box::pin(async move {
                for inst in &instances {
                    let found = tx
                        .query_opt(
                            "SELECT 1 FROM releases
                             WHERE app = $1 AND instance = $2 AND release = $3",
                            &[&app, inst, &release],
                        )
                        .await?;
                    if found.is_none() {
                        return Err(Fail(format!(
                            "app {app} has no release {release} on instance {inst}"
                        )));
                    }
                    tx.execute(
                        "UPDATE releases SET active = (release = $3)
                         WHERE app = $1 AND instance = $2",
                        &[&app, inst, &release],
                    )
                    .await?;
                }
                Ok(())
            })
        })
    }

    fn deactivate_releases(&mut self, app: &str, instances: &[String]) -> Result<(), StateError> {
        let (app, instances) = (app.to_string(), instances.to_vec());
        self.write(move |tx| {
            Box::pin(async move {
                for inst in &instances {
                    tx.execute(
                        "UPDATE releases SET active = false WHERE app = $1 AND instance = $2",
                        &[&app, inst],
                    )
                    .await?;
                }
                Ok(())
            })
        })
    }

    fn releases(&self, app: Option<&str>) -> Result<Vec<Release>, StateError> {
        let app = app.map(str::to_string);
        self.read(move |tx| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {RELEASE_COLS} FROM releases WHERE $1::text IS NULL OR app = $1
                     ORDER BY deployed_at DESC, seq DESC"
                );
                select(tx, &sql, &[&app], release_from_row).await
            })
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        let key = key.to_string();
        self.read(move |tx| {
            Box::pin(async move {
                let row = tx
                    .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                    .await?;
                Ok(match row {
                    Some(r) => Some(r.try_get(0)?),
                    None => None,
                })
            })
        })
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &value],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn lock(&self, holder: &Holder, wait: Duration) -> Result<Box<dyn LockGuard>, StateError> {
        self.locker()
            .lock(&PgLock::stack(&self.stack), &self.session, holder, wait)
    }

    fn holder(&self) -> Result<Option<Holder>, StateError> {
        self.locker()
            .holder_now(&PgLock::stack(&self.stack), &self.session)
    }

    fn begin_job_run(
        &mut self,
        job: &str,
        log: Option<&str>,
        holder: &Holder,
    ) -> Result<i64, StateError> {
        let (job, log, holder) = (job.to_string(), log.map(str::to_string), holder.clone());
        self.write(move |tx| {
            Box::pin(async move { jobs::begin(tx, &job, log.as_deref(), &holder).await })
        })
    }

    fn finish_job_run(
        &mut self,
        id: i64,
        result: JobResult,
        exit_code: Option<i32>,
        recap: &Value,
        event: Option<i64>,
    ) -> Result<(), StateError> {
        let recap = recap.clone();
        self.write(move |tx| {
            Box::pin(async move { jobs::finish(tx, id, result, exit_code, &recap, event).await })
        })
    }

    fn job_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StateError> {
        let job = job.map(str::to_string);
        self.read(move |tx| Box::pin(async move { jobs::list(tx, job.as_deref(), limit).await }))
    }

    fn abort_running_jobs(&mut self, job: &str) -> Result<Vec<i64>, StateError> {
        let job = job.to_string();
        self.write(move |tx| Box::pin(async move { jobs::abort_running(tx, &job).await }))
    }

    fn job_lock(
        &self,
        job: &str,
        holder: &Holder,
        wait: Duration,
    ) -> Result<Box<dyn LockGuard>, StateError> {
        self.locker()
            .lock(&PgLock::job(&self.stack, job), &self.session, holder, wait)
    }

    fn job_holder(&self, job: &str) -> Result<Option<Holder>, StateError> {
        self.locker()
            .holder_now(&PgLock::job(&self.stack, job), &self.session)
    }

    fn export(&self) -> Result<StateDump, StateError> {
        self.read(|tx| Box::pin(dump::export(tx)))
    }

    fn import(&mut self, dump: &StateDump) -> Result<(), StateError> {
        dump.check_format().map_err(|m| self.err(m))?;
        let d = dump.clone();
        self.write(move |tx| Box::pin(async move { dump::import(tx, &d).await }))
    }
}
