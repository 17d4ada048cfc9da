use serde_json::json;

use super::*;

#[test]
fn to_json_matches_python_json_dumps() {
    let c = json!({"d": {"b": [1, 2.5, null, true], "a": "é\"x"}});
    assert_eq!(
        eval("d | to_json", &c),
        json!(r#"{"b": [1, 2.5, null, true], "a": "\u00e9\"x"}"#)
    );
    assert_eq!(
        eval("d | to_json(sort_keys=true)", &c),
        json!(r#"{"a": "\u00e9\"x", "b": [1, 2.5, null, true]}"#)
    );
    assert_eq!(
        eval("d | to_json(ensure_ascii=false)", &c),
        json!(r#"{"b": [1, 2.5, null, true], "a": "é\"x"}"#)
    );
    assert_eq!(eval("'x' | to_json", &c), json!("\"x\""));
    assert_eq!(eval("[] | to_json", &c), json!("[]"));
}

#[test]
fn to_nice_json_indents_four_and_sorts() {
    let c = json!({"d": {"b": [1, {"z": 1, "y": {}}], "a": "x"}});
    let want = "{\n    \"a\": \"x\",\n    \"b\": [\n        1,\n        {\n            \"y\": {},\n            \"z\": 1\n        }\n    ]\n}";
    assert_eq!(eval("d | to_nice_json", &c), json!(want));
    assert_eq!(
        eval("{'a': 1} | to_nice_json(indent=2)", &c),
        json!("{\n  \"a\": 1\n}")
    );
}

#[test]
fn from_json_and_from_yaml() {
    let c = json!({"j": "{\"a\": [1, 2], \"b\": null}", "y": "a: 1\nb: [x, z]\nc: yes\n"});
    assert_eq!(eval("j | from_json", &c), json!({"a": [1, 2], "b": null}));
    assert_eq!(eval("y | from_yaml", &c)["b"], json!(["x", "z"]));
    assert_eq!(eval("y | from_yaml", &c)["a"], json!(1));
    assert_eq!(
        eval("'---\\na: 1\\n---\\nb: 2\\n' | from_yaml_all", &c),
        json!([{"a": 1}, {"b": 2}])
    );
    assert!(
        eval_err("'{' | from_json", &c)
            .message
            .contains("from_json")
    );
}

#[test]
fn to_yaml_like_pyyaml() {
    let c = json!({"d": {"b": [1, 2], "a": "x", "n": {"k": "yes", "e": ""}}, "l": [{"a": 1, "b": [1]}, "s"]});
    // default_flow_style=None: leaf collections in flow style.
    assert_eq!(
        eval("d | to_yaml", &c),
        json!("a: x\nb: [1, 2]\nn: {e: '', k: 'yes'}\n")
    );
    assert_eq!(
        eval("d | to_nice_yaml", &c),
        json!("a: x\nb:\n-   1\n-   2\nn:\n    e: ''\n    k: 'yes'\n")
    );
    assert_eq!(
        eval("d | to_nice_yaml(indent=2)", &c),
        json!("a: x\nb:\n- 1\n- 2\nn:\n  e: ''\n  k: 'yes'\n")
    );
    assert_eq!(
        eval("l | to_nice_yaml", &c),
        json!("-   a: 1\n    b:\n    -   1\n-   s\n")
    );
    assert_eq!(eval("{'a': 1} | to_yaml", &c), json!("{a: 1}\n"));
    assert_eq!(eval("'abc' | to_yaml", &c), json!("abc\n...\n"));
    assert_eq!(
        eval(
            "['1', '1.5', 'null', 'a: b', '#x', '-', 'ok', 'x\\ny', '2001-01-01'] | to_nice_yaml",
            &c
        ),
        json!(
            "-   '1'\n-   '1.5'\n-   'null'\n-   'a: b'\n-   '#x'\n-   '-'\n-   ok\n-   \"x\\ny\"\n-   '2001-01-01'\n"
        )
    );
    assert_eq!(
        eval("{'b': 1, 'a': 2} | to_nice_yaml(sort_keys=false)", &c),
        json!("b: 1\na: 2\n")
    );
    assert_eq!(
        eval("{'f': 1.0, 'e': [], 'm': {}} | to_nice_yaml", &c),
        json!("e: []\nf: 1.0\nm: {}\n")
    );
}

#[test]
fn base64_paths_and_hashes() {
    let c = json!({});
    assert_eq!(eval("'hello' | b64encode", &c), json!("aGVsbG8="));
    assert_eq!(eval("'aGVsbG8=' | b64decode", &c), json!("hello"));
    assert_eq!(
        eval("'/etc/nginx/nginx.conf' | basename", &c),
        json!("nginx.conf")
    );
    assert_eq!(
        eval("'/etc/nginx/nginx.conf' | dirname", &c),
        json!("/etc/nginx")
    );
    assert_eq!(eval("'/etc/nginx/' | basename", &c), json!(""));
    assert_eq!(eval("'/etc/nginx/' | dirname", &c), json!("/etc/nginx"));
    assert_eq!(eval("'/file' | dirname", &c), json!("/"));
    assert_eq!(eval("'file' | dirname", &c), json!(""));
    assert_eq!(
        eval("'/a/b.tar.gz' | splitext", &c),
        json!(["/a/b.tar", ".gz"])
    );
    assert_eq!(
        eval("'/a/.bashrc' | splitext", &c),
        json!(["/a/.bashrc", ""])
    );
    assert_eq!(
        eval("['/etc', 'nginx', 'x.conf'] | path_join", &c),
        json!("/etc/nginx/x.conf")
    );
    assert_eq!(eval("['a', '/abs', 'b'] | path_join", &c), json!("/abs/b"));
    assert_eq!(
        eval("'test' | hash('sha1')", &c),
        json!("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")
    );
    assert_eq!(
        eval("'test' | hash", &c),
        json!("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")
    );
    assert_eq!(
        eval("'test' | hash('md5')", &c),
        json!("098f6bcd4621d373cade4e832627b4f6")
    );
    assert_eq!(
        eval("'test' | md5", &c),
        json!("098f6bcd4621d373cade4e832627b4f6")
    );
    assert_eq!(
        eval("'test' | checksum", &c),
        json!("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")
    );
    assert_eq!(
        eval("'test' | hash('sha256')", &c),
        json!("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    );
}
