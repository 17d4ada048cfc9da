//! Scheduled jobs (`jobs:` in the stack file, `strata jobs`): a stack event run from the
//! bastion on a schedule, never twice at once, with a history and a failure hook.
//!
//! `spec` is the job as the stack file defines it (checked at load time with `schedule`,
//! systemd calendar events and cron, and `span`, systemd time spans); `run` supervises one
//! run (`signals` lets it stop the event cleanly when it is itself told to stop); `views` lists jobs and their history; `install` puts the schedules into systemd
//! timers or the crontab.
pub mod install;
pub mod run;
pub mod schedule;
mod signals;
pub mod span;
pub mod spec;
pub mod views;
