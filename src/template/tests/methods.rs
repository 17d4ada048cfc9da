use serde_json::json;

use super::*;

#[test]
fn dict_methods() {
    let c = json!({"d": {"a": 1, "b": 2}});
    assert_eq!(eval("d.items()", &c), json!([["a", 1], ["b", 2]]));
    assert_eq!(eval("d.keys()", &c), json!(["a", "b"]));
    assert_eq!(eval("d.values()", &c), json!([1, 2]));
    assert_eq!(eval("d.get('a')", &c), json!(1));
    assert_eq!(eval("d.get('z')", &c), json!(null));
    assert_eq!(eval("d.get('z', 5)", &c), json!(5));
    assert_eq!(eval("'a' in d.keys()", &c), json!(true));
    assert_eq!(eval("d.copy()", &c), json!({"a": 1, "b": 2}));
    assert_eq!(
        render("{% for k, v in d.items() %}{{ k }}{{ v }};{% endfor %}", &c),
        "a1;b2;"
    );
}

#[test]
fn string_methods() {
    let c = json!({"s": " a,b ,c "});
    assert_eq!(eval("s.split(',')", &c), json!([" a", "b ", "c "]));
    assert_eq!(eval("s.split()", &c), json!(["a,b", ",c"]));
    assert_eq!(eval("'a b c'.split(None, 1)", &c), json!(["a", "b c"]));
    assert_eq!(eval("'a.b.c'.rsplit('.', 1)", &c), json!(["a.b", "c"]));
    assert_eq!(eval("s.strip()", &c), json!("a,b ,c"));
    assert_eq!(eval("'xxaxx'.strip('x')", &c), json!("a"));
    assert_eq!(eval("'xxa'.lstrip('x')", &c), json!("a"));
    assert_eq!(eval("'axx'.rstrip('x')", &c), json!("a"));
    assert_eq!(eval("'foobar'.startswith('foo')", &c), json!(true));
    assert_eq!(eval("'foobar'.startswith(('x', 'fo'))", &c), json!(true));
    assert_eq!(eval("'foobar'.endswith('bar')", &c), json!(true));
    assert_eq!(eval("'foobar'.endswith(['x', 'y'])", &c), json!(false));
    assert_eq!(eval("'AbC'.lower()", &c), json!("abc"));
    assert_eq!(eval("'AbC'.upper()", &c), json!("ABC"));
    assert_eq!(eval("'aaa'.replace('a', 'b', 1)", &c), json!("baa"));
    assert_eq!(eval("','.join(['a', 'b', 1])", &c), json!("a,b,1"));
    assert_eq!(eval("'{}-{}'.format('a', 1)", &c), json!("a-1"));
    assert_eq!(eval("'abc'.find('c')", &c), json!(2));
    assert_eq!(eval("'abc'.index('b')", &c), json!(1));
    assert_eq!(eval("'123'.isdigit()", &c), json!(true));
    assert_eq!(eval("'a\\nb'.splitlines()", &c), json!(["a", "b"]));
    assert_eq!(eval("'hello'.capitalize()", &c), json!("Hello"));
}

#[test]
fn list_methods_and_unknown_method() {
    let c = json!({"xs": [1, 2, 2]});
    assert_eq!(eval("xs.count(2)", &c), json!(2));
    assert_eq!(eval("xs.index(2)", &c), json!(1));
    let e = eval_err("xs.nosuch()", &c);
    assert!(
        e.message
            .contains("'list' object has no attribute 'nosuch'"),
        "{}",
        e.message
    );
}
