//! `gather_facts`: the action Ansible runs for a play's fact gathering, as a task. Ansible's
//! runs the configured facts modules (`FACTS_MODULES`, `smart`: `setup` on every host strata
//! reaches), passing its arguments to each; strata has the one, `setup`, so this is `setup`
//! with `parallel` (which only orders several facts modules) accepted. The executor marks the
//! host's facts as gathered (Ansible's `_ansible_facts_gathered`), which `gathering = smart`
//! honours.

use futures::future::BoxFuture;

use super::setup;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Fixed, Param, ParamType as T};

pub struct GatherFacts;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "gather_facts",
    params: &[
        Param::new("parallel", T::Bool),
        // Passed to `setup`, as Ansible passes its arguments to the facts modules.
        Param::new("gather_subset", T::List),
        Param::new("filter", T::List),
        Param::new("gather_timeout", T::Int),
        Param::new("fact_path", T::Str).only(Fixed::Str(setup::probe::FACT_PATH)),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for GatherFacts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move {
            // Read only so that a templated value of the wrong type fails as in Ansible.
            args.bool("parallel")?;
            setup::gather(ctx, args).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, load_errors};
    use serde_json::json;

    #[tokio::test]
    async fn gathers_what_setup_gathers() {
        let r = Harness::new()
            .run(
                &GatherFacts,
                json!({"parallel": false, "gather_subset": ["min"], "filter": ["ansible_system"]}),
            )
            .await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.facts["ansible_system"], json!("Linux"));
        assert_eq!(r.facts.len(), 1, "{:?}", r.facts);
    }

    #[test]
    fn takes_setup_s_parameters_and_parallel() {
        assert!(load_errors(&SPEC, "{parallel: true, gather_subset: ['!all']}").is_empty());
        assert!(!load_errors(&SPEC, "{parallel: true, colour: red}").is_empty());
        assert!(!load_errors(&SPEC, "{fact_path: /srv/facts}").is_empty());
    }
}
