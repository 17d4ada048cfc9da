//! Modules that manage files: `copy`, `template`, `file`, the line and block editors
//! (`lineinfile`, `blockinfile`, `replace` over `text_edit`), `ini_file`, `stat`, `slurp` and
//! `fetch`; `find`, `tempfile`, `assemble`, `archive` (community.general) and `acl`
//! (ansible.posix).

pub mod acl;
pub mod archive;
pub mod assemble;
pub mod blockinfile;
pub mod copy;
pub mod fetch;
pub mod file;
pub mod find;
pub mod ini_file;
pub mod lineinfile;
pub mod output_encoding;
pub mod replace;
pub mod slurp;
pub mod stat;
pub mod tempfile;
pub mod template;
pub mod text_edit;
pub mod tree;

#[cfg(test)]
mod tests {
    use crate::modules::lookup;

    #[test]
    fn issue_17_file_modules_answer_to_their_short_and_qualified_names() {
        for (names, real) in [
            (&["find", "ansible.builtin.find"][..], "find"),
            (&["tempfile", "ansible.builtin.tempfile"][..], "tempfile"),
            (&["assemble", "ansible.builtin.assemble"][..], "assemble"),
            (&["archive", "community.general.archive"][..], "archive"),
            (&["acl", "ansible.posix.acl"][..], "acl"),
        ] {
            for n in names {
                assert_eq!(lookup(n).map(|m| m.spec().name), Some(real), "{n}");
            }
        }
        assert!(lookup("ansible.posix.archive").is_none());
        assert!(lookup("community.general.acl").is_none());
    }
}
