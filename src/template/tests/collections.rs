use serde_json::json;

use super::*;

#[test]
fn combine_shallow_recursive_and_list_merge() {
    let c = json!({"a": {"x": 1, "n": {"p": 1, "q": 2}, "l": [1, 2]}, "b": {"y": 2, "n": {"q": 3}, "l": [2, 3]}});
    assert_eq!(
        eval("a | combine(b)", &c),
        json!({"x": 1, "n": {"q": 3}, "l": [2, 3], "y": 2})
    );
    assert_eq!(
        eval("a | combine(b, recursive=true)", &c),
        json!({"x": 1, "n": {"p": 1, "q": 3}, "l": [2, 3], "y": 2})
    );
    assert_eq!(
        eval("a | combine(b, list_merge='append')", &c)["l"],
        json!([1, 2, 2, 3])
    );
    assert_eq!(
        eval("a | combine(b, list_merge='prepend')", &c)["l"],
        json!([2, 3, 1, 2])
    );
    assert_eq!(
        eval("a | combine(b, list_merge='keep')", &c)["l"],
        json!([1, 2])
    );
    assert_eq!(
        eval("a | combine(b, list_merge='append_rp')", &c)["l"],
        json!([1, 2, 3])
    );
    assert_eq!(
        eval("a | combine(b, list_merge='prepend_rp')", &c)["l"],
        json!([2, 3, 1])
    );
    assert_eq!(
        eval("[{'a': 1}, {'b': 2}] | combine", &c),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        eval("{'a': 1} | combine({'a': 2}, {'a': 3})", &c),
        json!({"a": 3})
    );
    assert!(
        eval_err("a | combine(b, list_merge='bogus')", &c)
            .message
            .contains("list_merge")
    );
}

#[test]
fn dict2items_and_items2dict() {
    let c = json!({"d": {"a": 1, "b": 2}});
    assert_eq!(
        eval("d | dict2items", &c),
        json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    );
    assert_eq!(
        eval("d | dict2items(key_name='k', value_name='v')", &c),
        json!([{"k": "a", "v": 1}, {"k": "b", "v": 2}])
    );
    assert_eq!(
        eval("d | dict2items | items2dict", &c),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        eval(
            "[{'k': 'x', 'v': 1}] | items2dict(key_name='k', value_name='v')",
            &c
        ),
        json!({"x": 1})
    );
    assert!(
        eval_err("[1] | dict2items", &c)
            .message
            .contains("dict2items requires a dictionary")
    );
}

#[test]
fn flatten_levels() {
    let c = json!({"l": [1, [2, [3, [4]]], null]});
    assert_eq!(eval("l | flatten", &c), json!([1, 2, 3, 4]));
    assert_eq!(eval("l | flatten(1)", &c), json!([1, 2, [3, [4]]]));
    assert_eq!(eval("l | flatten(levels=2)", &c), json!([1, 2, 3, [4]]));
    assert_eq!(
        eval("l | flatten(skip_nulls=false)", &c),
        json!([1, 2, 3, 4, null])
    );
}

#[test]
fn set_operations_keep_order() {
    let c = json!({"a": [3, 1, 2, 1], "b": [2, 4, 3]});
    assert_eq!(eval("a | unique", &c), json!([3, 1, 2]));
    assert_eq!(eval("['a', 'A', 'b'] | unique", &c), json!(["a", "b"]));
    assert_eq!(eval("a | union(b)", &c), json!([3, 1, 2, 4]));
    assert_eq!(eval("a | intersect(b)", &c), json!([3, 2]));
    assert_eq!(eval("a | difference(b)", &c), json!([1]));
    assert_eq!(eval("a | symmetric_difference(b)", &c), json!([1, 4]));
}

#[test]
fn map_select_reject_and_attrs() {
    let c = json!({"users": [{"name": "a", "on": true, "age": 30, "g": {"id": 1}}, {"name": "b", "on": false, "age": 20, "g": {"id": 2}}]});
    assert_eq!(
        eval("users | map(attribute='name') | list", &c),
        json!(["a", "b"])
    );
    assert_eq!(
        eval("users | map(attribute='g.id') | list", &c),
        json!([1, 2])
    );
    assert_eq!(
        eval("users | map(attribute='x', default='d') | list", &c),
        json!(["d", "d"])
    );
    assert_eq!(eval("['1', '2'] | map('int') | list", &c), json!([1, 2]));
    assert_eq!(
        eval("['a', 'b'] | map('regex_replace', '^', 'x-') | list", &c),
        json!(["x-a", "x-b"])
    );
    assert_eq!(
        eval(
            "users | selectattr('on') | map(attribute='name') | list",
            &c
        ),
        json!(["a"])
    );
    assert_eq!(
        eval(
            "users | rejectattr('on') | map(attribute='name') | list",
            &c
        ),
        json!(["b"])
    );
    assert_eq!(
        eval(
            "users | selectattr('age', '>', 25) | map(attribute='name') | list",
            &c
        ),
        json!(["a"])
    );
    assert_eq!(
        eval(
            "users | selectattr('name', 'equalto', 'b') | map(attribute='age') | first",
            &c
        ),
        json!(20)
    );
    assert_eq!(
        eval(
            "users | selectattr('name', 'match', '^a') | list | length",
            &c
        ),
        json!(1)
    );
    assert_eq!(
        eval("[1, 2, 3, 4] | select('even') | list", &c),
        json!([2, 4])
    );
    assert_eq!(
        eval("[1, 2, 3, 4] | reject('odd') | list", &c),
        json!([2, 4])
    );
    assert_eq!(
        eval("['a', '', 'b'] | select | list", &c),
        json!(["a", "b"])
    );
    assert_eq!(
        eval("users | selectattr('name', 'defined') | list | length", &c),
        json!(2)
    );
}

#[test]
fn sort_and_ordering_filters() {
    let c = json!({"users": [{"n": "b", "a": 2}, {"n": "a", "a": 3}, {"n": "C", "a": 1}]});
    assert_eq!(eval("[3, 1, 2] | sort", &c), json!([1, 2, 3]));
    assert_eq!(eval("[3, 1, 2] | sort(reverse=true)", &c), json!([3, 2, 1]));
    assert_eq!(eval("['b', 'C', 'a'] | sort", &c), json!(["a", "b", "C"]));
    assert_eq!(
        eval("['b', 'C', 'a'] | sort(case_sensitive=true)", &c),
        json!(["C", "a", "b"])
    );
    assert_eq!(
        eval(
            "users | sort(attribute='a') | map(attribute='n') | list",
            &c
        ),
        json!(["C", "b", "a"])
    );
    assert_eq!(
        eval(
            "users | sort(attribute='n', reverse=true) | map(attribute='n') | join",
            &c
        ),
        json!("Cba")
    );
    assert_eq!(eval("[3, 1, 2] | reverse | list", &c), json!([2, 1, 3]));
    assert_eq!(
        eval("{'b': 1, 'a': 2} | dictsort", &c),
        json!([["a", 2], ["b", 1]])
    );
    assert_eq!(
        eval("{'b': 1, 'a': 2} | items | list", &c),
        json!([["b", 1], ["a", 2]])
    );
}

#[test]
fn aggregates() {
    let c = json!({"xs": [3, 1, 2], "users": [{"a": 2}, {"a": 5}]});
    assert_eq!(eval("xs | length", &c), json!(3));
    assert_eq!(eval("xs | count", &c), json!(3));
    assert_eq!(eval("'abc' | length", &c), json!(3));
    assert_eq!(eval("{'a': 1} | length", &c), json!(1));
    assert_eq!(eval("xs | first", &c), json!(3));
    assert_eq!(eval("xs | last", &c), json!(2));
    assert_eq!(eval("xs | min", &c), json!(1));
    assert_eq!(eval("xs | max", &c), json!(3));
    assert_eq!(eval("users | max(attribute='a')", &c), json!({"a": 5}));
    assert_eq!(eval("users | min(attribute='a')", &c), json!({"a": 2}));
    assert_eq!(eval("xs | sum", &c), json!(6));
    assert_eq!(eval("users | sum(attribute='a')", &c), json!(7));
    assert_eq!(eval("[[1], [2, 3]] | sum(start=[])", &c), json!([1, 2, 3]));
    assert_eq!(eval("[1.5, 2] | sum", &c), json!(3.5));
}

#[test]
fn zip_subelements_extract_batch_dict() {
    let c = json!({"users": [{"name": "a", "keys": ["k1", "k2"]}, {"name": "b", "keys": []}], "m": {"x": 10, "y": 20}});
    assert_eq!(
        eval("[1, 2, 3] | zip(['a', 'b'])", &c),
        json!([[1, "a"], [2, "b"]])
    );
    assert_eq!(
        eval("[1, 2] | zip_longest(['a'], fillvalue='-')", &c),
        json!([[1, "a"], [2, "-"]])
    );
    assert_eq!(
        eval("dict(['a', 'b'] | zip([1, 2]))", &c),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        eval("[1, 2] | product(['a', 'b'])", &c),
        json!([[1, "a"], [1, "b"], [2, "a"], [2, "b"]])
    );
    assert_eq!(
        eval("[0, 1] | product(repeat=2) | list", &c),
        json!([[0, 0], [0, 1], [1, 0], [1, 1]])
    );
    assert_eq!(eval("dict(m, z=1)", &c), json!({"x": 10, "y": 20, "z": 1}));
    assert_eq!(eval("dict(a=1)", &c), json!({"a": 1}));
    assert_eq!(
        eval("users | subelements('keys') | map('last') | list", &c),
        json!(["k1", "k2"])
    );
    assert_eq!(
        eval("(users | subelements('keys'))[0][0].name", &c),
        json!("a")
    );
    assert!(
        eval_err("users | subelements('nokey')", &c)
            .message
            .contains("could not find")
    );
    assert_eq!(
        eval(
            "[{'name': 'a'}] | subelements('nokey', skip_missing=true)",
            &c
        ),
        json!([])
    );
    assert_eq!(
        eval("['x', 'y'] | map('extract', m) | list", &c),
        json!([10, 20])
    );
    assert_eq!(
        eval("[1, 2, 3] | batch(2) | list", &c),
        json!([[1, 2], [3]])
    );
    assert_eq!(eval("[1, 2] | list", &c), json!([1, 2]));
    assert_eq!(eval("'ab' | list", &c), json!(["a", "b"]));
    assert_eq!(eval("m | list", &c), json!(["x", "y"]));
}
