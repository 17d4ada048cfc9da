//! `--list-hosts` and `--list-tasks`, in ansible-playbook's layout.

use super::plan::Plan;
use crate::playbook::model::Item;
use crate::playbook::tags::selected;

/// What to list, and the tag selection that applies to tasks.
pub struct Listing<'a> {
    pub hosts: bool,
    pub tasks: bool,
    pub only: &'a [String],
    pub skip: &'a [String],
}

impl Listing<'_> {
    pub fn render(&self, plan: &Plan) -> String {
        let (hosts, tasks, only, skip) = (self.hosts, self.tasks, self.only, self.skip);
        let mut out = String::new();
        for (pb, per_play) in plan.playbooks.iter().zip(&plan.play_hosts) {
            out.push_str(&format!("\nplaybook: {}\n", pb.path.display()));
            for (i, (play, hs)) in pb.plays.iter().zip(per_play).enumerate() {
                out.push_str(&format!(
                    "\n  play #{} ({}): {}\tTAGS: [{}]\n",
                    i + 1,
                    play.hosts.value,
                    play.name,
                    play.tags.join(", ")
                ));
                if hosts {
                    out.push_str(&format!(
                        "    pattern: ['{}']\n    hosts ({}):\n",
                        play.hosts.value,
                        hs.len()
                    ));
                    for h in hs {
                        out.push_str(&format!("      {h}\n"));
                    }
                }
                if tasks {
                    out.push_str("    tasks:\n");
                    for items in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
                        list_items(items, only, skip, &mut out);
                    }
                }
            }
        }
        out
    }
}

fn list_items(items: &[Item], only: &[String], skip: &[String], out: &mut String) {
    for item in items {
        match item {
            Item::Task(t) => {
                if selected(&t.common.tags, only, skip) {
                    out.push_str(&format!(
                        "      {}\tTAGS: [{}]\n",
                        t.display_name(),
                        t.common.tags.join(", ")
                    ));
                }
            }
            Item::Block(b) => {
                list_items(&b.block, only, skip, out);
                list_items(&b.rescue, only, skip, out);
                list_items(&b.always, only, skip, out);
            }
            Item::IncludeTasks(i) => {
                if selected(&i.common.tags, only, skip) {
                    out.push_str(&format!(
                        "      {}\tTAGS: [{}]\n",
                        i.name
                            .clone()
                            .unwrap_or_else(|| format!("include_tasks: {}", i.file.value)),
                        i.common.tags.join(", ")
                    ));
                }
            }
            Item::IncludeRole(i) => {
                if selected(&i.common.tags, only, skip) {
                    out.push_str(&format!(
                        "      {}\tTAGS: [{}]\n",
                        i.name
                            .clone()
                            .unwrap_or_else(|| format!("include_role: {}", i.role_name.value)),
                        i.common.tags.join(", ")
                    ));
                }
            }
        }
    }
}
