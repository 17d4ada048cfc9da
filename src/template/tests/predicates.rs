use serde_json::json;

use super::*;

#[test]
fn defined_undefined_none() {
    let c = json!({"a": 1, "n": null, "d": {"k": 1}});
    assert_eq!(eval("a is defined", &c), json!(true));
    assert_eq!(eval("nope is defined", &c), json!(false));
    assert_eq!(eval("nope is undefined", &c), json!(true));
    assert_eq!(eval("n is none", &c), json!(true));
    assert_eq!(eval("a is none", &c), json!(false));
    assert_eq!(
        eval("d.k is defined and d.zz is undefined", &c),
        json!(true)
    );
}

#[test]
fn regex_tests() {
    let c = json!({"url": "https://example.com/users/foo/resources/bar"});
    assert_eq!(
        eval("url is match('https://example.com/users/.*/resources')", &c),
        json!(true)
    );
    assert_eq!(eval("url is match('example.com')", &c), json!(false));
    assert_eq!(
        eval("url is search('users/.*/resources/.*')", &c),
        json!(true)
    );
    assert_eq!(
        eval("url is search('USERS', ignorecase=true)", &c),
        json!(true)
    );
    assert_eq!(
        eval("url is regex('example\\\\.com/\\\\w+/foo')", &c),
        json!(true)
    );
    assert_eq!(
        eval("url is regex('^example', match_type='match')", &c),
        json!(false)
    );
    assert_eq!(
        eval("'abc' is regex('abc', match_type='fullmatch')", &c),
        json!(true)
    );
    assert_eq!(
        eval("'a\\nb' is search('^b', multiline=true)", &c),
        json!(true)
    );
    assert_eq!(eval("'a\\nb' is search('^b')", &c), json!(false));
    assert_eq!(eval("url is not match('ftp')", &c), json!(true));
}

#[test]
fn version_tests() {
    let c = json!({"v": "2.10.1", "f": {"distribution_version": "22.04"}});
    for (expr, want) in [
        ("v is version('2.9', '>=')", true),
        ("v is version('2.9', 'ge')", true),
        ("v is version('2.10.1', '==')", true),
        ("v is version('2.10.1')", true),
        ("v is version('2.10.1', '=')", true),
        ("v is version('2.10.1', 'eq')", true),
        ("v is version('2.10.2', '<')", true),
        ("v is version('2.10.2', 'lt')", true),
        ("v is version('2.10.1', '<=')", true),
        ("v is version('2.10.1', 'le')", true),
        ("v is version('2.10', '>')", true),
        ("v is version('2.10', 'gt')", true),
        ("v is version('2.10', '!=')", true),
        ("v is version('2.10', '<>')", true),
        ("v is version('2.10', 'ne')", true),
        ("v is version('10.0', '<')", true),
        ("f.distribution_version is version('20.04', '>')", true),
        ("'1.0a1' is version('1.0', '<')", false),
        ("'1.0a1' is version('1.0', '<', strict=true)", true),
        (
            "'1.2.3-rc.1' is version('1.2.3', '<', version_type='semver')",
            true,
        ),
        (
            "'1.2.3' is version('1.2.3+build', '==', version_type='semver')",
            true,
        ),
        ("'1.10' is version_compare('1.9', '>')", true),
    ] {
        assert_eq!(eval(expr, &c), json!(want), "{expr}");
    }
    assert!(
        eval_err("'1.0' is version('1.0', 'bogus')", &c)
            .message
            .contains("Invalid operator")
    );
    assert!(
        eval_err("'1.0' is version('1.a', '<')", &c)
            .message
            .contains("Version comparison failed")
    );
}

#[test]
fn task_result_tests() {
    let c = json!({
        "ok": {"changed": false, "failed": false},
        "ch": {"changed": true},
        "bad": {"failed": true, "msg": "x"},
        "sk": {"skipped": true, "changed": false},
        "loop": {"results": [{"changed": false}, {"changed": true}]},
        "unr": {"unreachable": true},
    });
    assert_eq!(eval("ch is changed", &c), json!(true));
    assert_eq!(eval("ok is changed", &c), json!(false));
    assert_eq!(eval("loop is changed", &c), json!(true));
    assert_eq!(eval("bad is failed", &c), json!(true));
    assert_eq!(eval("ok is failed", &c), json!(false));
    assert_eq!(eval("ok is succeeded", &c), json!(true));
    assert_eq!(eval("ok is success", &c), json!(true));
    assert_eq!(eval("bad is success", &c), json!(false));
    assert_eq!(eval("sk is skipped", &c), json!(true));
    assert_eq!(eval("ok is skipped", &c), json!(false));
    assert_eq!(eval("unr is unreachable", &c), json!(true));
    assert_eq!(eval("ok is reachable", &c), json!(true));
    let jobs = json!({
        "run": {"started": true, "finished": false},
        "old": {"started": 1, "finished": 1},
        "done": {"finished": true},
        "plain": {"changed": true},
    });
    for (expr, want) in [
        ("run is finished", false),
        ("run is started", true),
        ("old is finished", true),
        ("done is finished", true),
        ("plain is finished", true),
        ("plain is started", true),
    ] {
        assert_eq!(eval(expr, &jobs), json!(want), "{expr}");
    }
    assert!(
        eval_err("'x' is changed", &c)
            .message
            .contains("expects a dictionary")
    );
}

#[test]
fn type_tests_follow_python() {
    let c = json!({});
    for (expr, want) in [
        ("'a' is string", true),
        ("1 is string", false),
        ("1 is number", true),
        ("1.5 is number", true),
        ("'1' is number", false),
        ("{} is mapping", true),
        ("[] is mapping", false),
        ("[] is sequence", true),
        ("'abc' is sequence", true),
        ("{} is sequence", true),
        ("1 is sequence", false),
        ("'abc' is iterable", true),
        ("[1] is iterable", true),
        ("1 is iterable", false),
        ("2 is in [1, 2]", true),
        ("'a' is in 'cat'", true),
        ("true is boolean", true),
        ("1 is integer", true),
        ("1.0 is float", true),
    ] {
        assert_eq!(eval(expr, &c), json!(want), "{expr}");
    }
}

#[test]
fn truthy_falsy_and_collection_tests() {
    let c = json!({});
    assert_eq!(eval("'x' is truthy", &c), json!(true));
    assert_eq!(eval("'' is truthy", &c), json!(false));
    assert_eq!(eval("'no' is truthy", &c), json!(true));
    assert_eq!(eval("'no' is truthy(convert_bool=true)", &c), json!(false));
    assert_eq!(eval("0 is falsy", &c), json!(true));
    assert_eq!(eval("'yes' is falsy(convert_bool=true)", &c), json!(false));
    assert_eq!(eval("[1, 2] is subset([1, 2, 3])", &c), json!(true));
    assert_eq!(eval("[1, 2, 3] is superset([3])", &c), json!(true));
    assert_eq!(eval("[1, 2] is contains(2)", &c), json!(true));
    assert_eq!(eval("[0, 1] is any", &c), json!(true));
    assert_eq!(eval("[0, 1] is all", &c), json!(false));
}

#[test]
fn controller_path_tests() {
    let dir = crate::scratch::root().join(format!("strata-tmpl-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("f.txt");
    std::fs::write(&f, "x").unwrap();
    let l = dir.join("l");
    let _ = std::fs::remove_file(&l);
    std::os::unix::fs::symlink(&f, &l).unwrap();
    let c = json!({"d": dir, "f": f, "l": l, "m": dir.join("missing")});
    assert_eq!(eval("f is file", &c), json!(true));
    assert_eq!(eval("d is file", &c), json!(false));
    assert_eq!(eval("d is directory", &c), json!(true));
    assert_eq!(eval("f is exists", &c), json!(true));
    assert_eq!(eval("m is exists", &c), json!(false));
    assert_eq!(eval("l is link", &c), json!(true));
    assert_eq!(eval("f is link", &c), json!(false));
    assert_eq!(eval("f is abs", &c), json!(true));
    assert_eq!(eval("'rel/x' is abs", &c), json!(false));
}
