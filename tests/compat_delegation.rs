//! Delegation and play/task keywords compared with ansible-core 2.19 on identical labs:
//! `delegate_to` any inventory host over that host's own connection (a two-tier rolling
//! restart that drains app hosts from a balancer), `run_once` with `delegate_to`,
//! `delegate_facts`, `local_action`; then `order`, `throttle`, `timeout` and
//! `ignore_unreachable`.
mod common;

use common::compat::compare_on;

#[test]
fn delegation_matches_ansible() {
    let runs = compare_on("delegation.yml", 3);
    for r in &runs {
        r.expect_exit(0);
        // Results of delegated tasks are the original host's, and say where they ran.
        for host in ["lab02", "lab03"] {
            let drained = r.results(host, "drain from the balancer");
            assert_eq!(drained.len(), 1, "{}", r.dump());
            assert_eq!(drained[0]["delegated_to"], "lab01", "{}", r.dump());
        }
        // run_once with delegate_to ran once, for the first host of the play.
        assert_eq!(
            r.results("lab02", "read the balancer config once, on the balancer")
                .len(),
            1
        );
        assert!(
            r.results("lab03", "read the balancer config once, on the balancer")
                .is_empty()
        );
        // Each loop item says where it ran: `delegate_to: "{{ item }}"` is rendered per item,
        // and an item delegated to its own host is not shown as delegated.
        let marks = r.results("lab02", "mark each app host on the balancer and on itself");
        let by_item: Vec<(&str, &serde_json::Value)> = marks
            .iter()
            .filter_map(|e| Some((e["item"].as_str()?, &e["delegated_to"])))
            .collect();
        assert_eq!(
            by_item,
            [
                ("lab01", &serde_json::json!("lab01")),
                ("lab02", &serde_json::Value::Null)
            ],
            "{}",
            r.dump()
        );
        // The balancer itself never ran a task of the app plays.
        assert!(
            r.results("lab01", "drain from the balancer").is_empty(),
            "{}",
            r.dump()
        );
    }
}

#[test]
fn play_and_task_keywords_match_ansible() {
    compare_on("play_keywords.yml", 3);
}
