//! A whole stack state as one JSON document: what `strata stack state export` writes and
//! `import` reads, so a stack moves between backends (SQLite, PostgreSQL) with nothing lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{EventRecord, InstanceRecord, JobRun, Release};

/// Every row of a stack's state, in an order that re-creates it exactly: instances in
/// first-seen order, events by id, releases in the order they were recorded (the tie-break of
/// releases deployed within one second), meta by key, job runs by id. Locks are not state and are not
/// included. Unknown fields are refused, so a dump from a newer strata is not half-read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateDump {
    /// The dump's format version, [`StateDump::FORMAT`].
    pub format: u32,
    /// The stack it was exported from (set by the command; the stores do not know it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    pub instances: Vec<InstanceRecord>,
    pub events: Vec<EventRecord>,
    pub releases: Vec<Release>,
    pub meta: BTreeMap<String, String>,
    /// Scheduled jobs' runs (`strata jobs history`), by id.
    pub job_runs: Vec<JobRun>,
}

impl StateDump {
    pub const FORMAT: u32 = 1;

    /// An empty dump of the current format.
    pub fn new() -> StateDump {
        StateDump {
            format: Self::FORMAT,
            ..StateDump::default()
        }
    }

    /// Whether there is nothing in it: importing over such a state loses nothing.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
            && self.events.is_empty()
            && self.releases.is_empty()
            && self.meta.is_empty()
            && self.job_runs.is_empty()
    }

    /// A dump of another format (from a newer strata) may hold what this one cannot store.
    pub fn check_format(&self) -> Result<(), String> {
        if self.format != Self::FORMAT {
            return Err(format!(
                "the dump has format {}; this strata reads format {}",
                self.format,
                Self::FORMAT
            ));
        }
        Ok(())
    }
}
