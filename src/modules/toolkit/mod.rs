//! Shell-side building blocks that modules share; each does one job on the host:
//! - `async_job`: jobs started detached under `async:`, with Ansible's status file;
//! - `atomic_write`: write a file via a temp file and a rename (mode, owner, validate, backup);
//! - `replace_file`: replace a whole file atomically inside a module's own action script;
//! - `sections`: run several commands in one script and read each one's status and output back;
//! - `fs_attrs`: mode and owner of files a module produced itself (`set_fs_attributes`);
//! - `mode`: file modes as Ansible accepts them (octal, symbolic, `preserve`);
//! - `remote_stat`: one `stat(1)` format and its parser, for file metadata and content;
//! - `clock`: timestamps in the text forms Python prints, as results carry them;
//! - `sh_words`: shell words with Python's `expandvars`/`expanduser` and globbing;
//! - `script_output`: `__o`/`__dump` result lines a script prints, and reading them back.

pub mod async_job;
pub mod atomic_write;
pub mod clock;
pub mod fs_attrs;
pub mod mode;
pub mod remote_stat;
pub mod replace_file;
pub mod script_output;
pub mod sections;
pub mod sh_words;
