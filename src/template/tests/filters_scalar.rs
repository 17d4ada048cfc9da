use serde_json::json;

use super::*;

#[test]
fn bool_filter_uses_ansible_words() {
    let c = json!({});
    for (input, want) in [
        ("'yes'", true),
        ("'Yes'", true),
        ("'on'", true),
        ("'1'", true),
        ("'true'", true),
        ("'TRUE'", true),
        ("1", true),
        ("true", true),
        ("1.0", true),
        ("'no'", false),
        ("'off'", false),
        ("'0'", false),
        ("'false'", false),
        ("0", false),
        ("false", false),
        ("'foo'", false),
        ("none", false),
        ("''", false),
        ("2", false),
    ] {
        assert_eq!(eval(&format!("{input} | bool"), &c), json!(want), "{input}");
    }
}

#[test]
fn int_filter_with_default_and_base() {
    let c = json!({});
    assert_eq!(eval("'42' | int", &c), json!(42));
    assert_eq!(eval("' 42 ' | int", &c), json!(42));
    assert_eq!(eval("'3.9' | int", &c), json!(3));
    assert_eq!(eval("3.9 | int", &c), json!(3));
    assert_eq!(eval("-3.9 | int", &c), json!(-3));
    assert_eq!(eval("'abc' | int", &c), json!(0));
    assert_eq!(eval("'abc' | int(7)", &c), json!(7));
    assert_eq!(eval("'abc' | int(default=7)", &c), json!(7));
    assert_eq!(eval("'ff' | int(base=16)", &c), json!(255));
    assert_eq!(eval("'0x1F' | int(0, 16)", &c), json!(31));
    assert_eq!(eval("'0755' | int(base=8)", &c), json!(493));
    assert_eq!(eval("'101' | int(base=2)", &c), json!(5));
    assert_eq!(eval("true | int", &c), json!(1));
    assert_eq!(eval("none | int", &c), json!(0));
}

#[test]
fn float_and_string_filters() {
    let c = json!({});
    assert_eq!(eval("'1.5' | float", &c), json!(1.5));
    assert_eq!(eval("'x' | float", &c), json!(0.0));
    assert_eq!(eval("'x' | float(2.5)", &c), json!(2.5));
    assert_eq!(eval("3 | float", &c), json!(3.0));
    assert_eq!(eval("true | string", &c), json!("True"));
    assert_eq!(eval("none | string", &c), json!("None"));
    assert_eq!(eval("[1, 'a'] | string", &c), json!("[1, 'a']"));
    assert_eq!(eval("12 | string", &c), json!("12"));
}

#[test]
fn string_case_and_trim_filters() {
    let c = json!({});
    assert_eq!(
        render("{{ 'Hello' | lower }} {{ 'Hello' | upper }}", &c),
        "hello HELLO"
    );
    assert_eq!(
        render("{{ '  x  ' | trim }}|{{ 'xxaxx' | trim('x') }}", &c),
        "x|a"
    );
    assert_eq!(
        render("{{ 'hELLO world' | capitalize }}", &c),
        "Hello world"
    );
    assert_eq!(
        render("{{ 'hello big world' | title }}", &c),
        "Hello Big World"
    );
}

#[test]
fn join_split_replace() {
    let c = json!({"xs": [1, "a", true], "users": [{"n": "a"}, {"n": "b"}]});
    assert_eq!(render("{{ xs | join(',') }}", &c), "1,a,True");
    assert_eq!(render("{{ xs | join }}", &c), "1aTrue");
    assert_eq!(
        render("{{ users | join(', ', attribute='n') }}", &c),
        "a, b"
    );
    assert_eq!(
        eval("'a,b,,c' | split(',')", &c),
        json!(["a", "b", "", "c"])
    );
    assert_eq!(eval("'  a  b c ' | split", &c), json!(["a", "b", "c"]));
    assert_eq!(eval("'a:b:c' | split(':', 1)", &c), json!(["a", "b:c"]));
    assert_eq!(eval("'aaa' | replace('a', 'b')", &c), json!("bbb"));
    assert_eq!(eval("'aaa' | replace('a', 'b', 2)", &c), json!("bba"));
}

#[test]
fn ternary_quote_and_math() {
    let c = json!({"n": null});
    assert_eq!(eval("true | ternary('y', 'n')", &c), json!("y"));
    assert_eq!(eval("0 | ternary('y', 'n')", &c), json!("n"));
    assert_eq!(eval("n | ternary('y', 'n', 'none')", &c), json!("none"));
    assert_eq!(eval("n | ternary('y', 'n')", &c), json!("n"));
    assert_eq!(eval("'abc' | quote", &c), json!("abc"));
    assert_eq!(eval("'a b' | quote", &c), json!("'a b'"));
    assert_eq!(eval("\"it's\" | quote", &c), json!("'it'\"'\"'s'"));
    assert_eq!(eval("'' | quote", &c), json!("''"));
    assert_eq!(eval("-3 | abs", &c), json!(3));
    assert_eq!(eval("2.5 | round", &c), json!(2.0));
    assert_eq!(eval("3.5 | round", &c), json!(4.0));
    assert_eq!(eval("2.71828 | round(2)", &c), json!(2.72));
    assert_eq!(eval("3.11 | round(1, 'ceil')", &c), json!(3.2));
    assert_eq!(eval("3.19 | round(1, 'floor')", &c), json!(3.1));
    assert_eq!(eval("7 | round", &c), json!(7));
    assert_eq!(eval("8 | root(3) | round", &c), json!(2.0));
    assert_eq!(eval("2 | pow(10) | int", &c), json!(1024));
    assert_eq!(eval("100 | log(10) | round", &c), json!(2.0));
    assert_eq!(eval("{'a': 1} | type_debug", &c), json!("dict"));
    assert_eq!(eval("'x' | type_debug", &c), json!("str"));
}

#[test]
fn regex_filters() {
    let c = json!({});
    assert_eq!(
        eval(r"'foobar' | regex_replace('^f.*o(.*)$', '\\1')", &c),
        json!("bar")
    );
    assert_eq!(
        eval(
            r"'localhost:80' | regex_replace('^(?P<host>.+):(?P<port>\\d+)$', '\\g<host>, \\g<port>')",
            &c
        ),
        json!("localhost, 80")
    );
    assert_eq!(
        eval("'ansible' | regex_replace('^a.*i(.*)$', 'a\\\\1')", &c),
        json!("able")
    );
    assert_eq!(
        eval("'aXbX' | regex_replace('x', '-', ignorecase=true)", &c),
        json!("a-b-")
    );
    assert_eq!(
        eval("'aaa' | regex_replace('a', 'b', count=2)", &c),
        json!("bba")
    );
    assert_eq!(
        eval("'a$b' | regex_replace('\\\\$', '$$')", &c),
        json!("a$$b")
    );
    assert_eq!(
        eval("'foo=bar' | regex_replace('(?<==)bar', 'baz')", &c),
        json!("foo=baz")
    );
    assert_eq!(
        eval("'server1/database42' | regex_search('database[0-9]+')", &c),
        json!("database42")
    );
    assert_eq!(eval("'foo' | regex_search('bar')", &c), json!(null));
    assert_eq!(
        eval(
            r"'server1/database42' | regex_search('server([0-9]+)/database([0-9]+)', '\\1', '\\2')",
            &c
        ),
        json!(["1", "42"])
    );
    assert_eq!(
        eval(r"'ab' | regex_search('(?P<x>a)(?P<y>b)', '\\g<y>')", &c),
        json!(["b"])
    );
    assert_eq!(
        eval("'FOO' | regex_search('foo', ignorecase=true)", &c),
        json!("FOO")
    );
    assert_eq!(
        eval("'a1b22c333' | regex_findall('[0-9]+')", &c),
        json!(["1", "22", "333"])
    );
    assert_eq!(
        eval("'k1=v1 k2=v2' | regex_findall('(\\\\w+)=(\\\\w+)')", &c),
        json!([["k1", "v1"], ["k2", "v2"]])
    );
    assert_eq!(eval("'a.b*c' | regex_escape", &c), json!("a\\.b\\*c"));
    assert_eq!(
        eval("'a.b' | regex_escape('posix_basic')", &c),
        json!("a\\.b")
    );
    assert!(
        eval_err("'x' | regex_replace('(', 'y')", &c)
            .message
            .contains("invalid regular expression")
    );
}
