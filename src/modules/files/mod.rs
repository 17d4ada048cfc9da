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
