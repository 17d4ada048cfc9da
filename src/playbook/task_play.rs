//! A play the engine is given as a ready-made shell plus its tasks as spanned YAML, rather than
//! read from a playbook: `strata run` synthesises one play with one task from `-m` and `-a`.
//! The tasks go through the same loader as a playbook's `tasks:`, so an unknown module or a
//! bad argument is the same located input error, found before any host is touched.

use super::LoadOptions;
use super::loader::{Loader, PlayState, Scope};
use super::model::Play;
use super::module_table::ModuleTable;
use crate::diagnostic::Diagnostic;
use crate::template::Templar;
use crate::yaml::Node;

/// `play` (its keywords already set by the caller) with `tasks`, a YAML list of tasks,
/// parsed and validated into its `tasks`; relative paths resolve from the play's `base_dir`.
pub fn play_with_tasks(
    mut play: Play,
    tasks: &Node,
    opts: &LoadOptions,
    templar: &Templar,
) -> Result<Play, Vec<Diagnostic>> {
    let modules = ModuleTable::registry();
    let mut ld = Loader::new(opts, templar, &modules);
    ld.play = PlayState::default();
    let scope = Scope::play(&play.base_dir);
    play.tasks = ld.parse_items(tasks, &scope, "tasks");
    play.handlers.append(&mut ld.play.handlers);
    ld.finish(play)
}
