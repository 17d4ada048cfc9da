//! Modules that manage files: `copy`, `template`, `file`, the line and block editors
//! (`lineinfile`, `blockinfile`, `replace` over `text_edit`), `ini_file`, `stat`, `slurp` and
//! `fetch`.

pub mod blockinfile;
pub mod copy;
pub mod fetch;
pub mod file;
pub mod ini_file;
pub mod lineinfile;
pub mod output_encoding;
pub mod replace;
pub mod slurp;
pub mod stat;
pub mod template;
pub mod text_edit;
