//! Load-time check of the `template` module's `output_encoding`: a codec strata cannot write
//! is refused before any host is touched, rather than failing on every host at run time.
//! (Its other options are checked by their spec: booleans, and the newline sequences.)

use serde_json::{Map, Value};

use super::loader::Loader;
use super::module_table::{ModuleSpec, output_encoding};
use super::srcfile::param_span;
use crate::diagnostic::Diagnostic;
use crate::template::is_template;
use crate::yaml::Node;

pub fn check(
    ld: &mut Loader,
    spec: &ModuleSpec,
    args: &Map<String, Value>,
    key: &Node,
    value: &Node,
    args_kw: Option<&Node>,
) {
    if spec.name != "template" {
        return;
    }
    let Some(enc) = args.get("output_encoding").and_then(Value::as_str) else {
        return;
    };
    if enc.is_empty() || is_template(enc) || output_encoding::codec(enc).is_some() {
        return;
    }
    let span = param_span("output_encoding", false, key, value, args_kw);
    ld.err(
        Diagnostic::new(span, format!("`output_encoding` `{enc}` is not supported"))
            .label("unsupported codec")
            .help(format!("supported: {}", output_encoding::SUPPORTED)),
    );
}
