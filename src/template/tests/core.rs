use serde_json::json;

use super::*;

#[test]
fn native_types_for_single_expression() {
    let t = templar();
    let c = ctx(json!({"xs": [1, 2], "n": 3, "s": "[1, 2]", "flag": true}));
    let sp = Span::unknown();
    assert_eq!(t.render_str("{{ xs }}", &c, &sp).unwrap(), json!([1, 2]));
    assert_eq!(t.render_str("{{ 1 + 1 }}", &c, &sp).unwrap(), json!(2));
    assert_eq!(t.render_str("{{ [1,2] }}", &c, &sp).unwrap(), json!([1, 2]));
    assert_eq!(
        t.render_str("{{ {'a': 1} }}", &c, &sp).unwrap(),
        json!({"a": 1})
    );
    assert_eq!(t.render_str("{{ flag }}", &c, &sp).unwrap(), json!(true));
    assert_eq!(t.render_str("n={{ n }}", &c, &sp).unwrap(), json!("n=3"));
    assert_eq!(t.render_str("{{ 'a' }} b", &c, &sp).unwrap(), json!("a b"));
    // A string that looks like a list stays a string (2.19).
    assert_eq!(t.render_str("{{ s }}", &c, &sp).unwrap(), json!("[1, 2]"));
    assert_eq!(
        t.render_str("{{ n }}{{ n }}", &c, &sp).unwrap(),
        json!("33")
    );
    assert_eq!(t.render_str("plain", &c, &sp).unwrap(), json!("plain"));
    assert_eq!(t.render_str("{{- n -}}", &c, &sp).unwrap(), json!(3));
    assert_eq!(t.render_str("{{ -n }}", &c, &sp).unwrap(), json!(-3));
    // Whitespace around a string result is kept.
    assert_eq!(t.render_str("{{ 'x' }}\n", &c, &sp).unwrap(), json!("x\n"));
}

#[test]
fn python_style_printing() {
    let c = json!({"t": true, "f": false, "n": null, "xs": [1, "a", true, null], "d": {"k": "v"}, "fl": 1.0});
    // Checked against ansible-core 2.19: None among other text prints as nothing.
    assert_eq!(render("{{ t }} {{ f }} {{ n }}|", &c), "True False |");
    assert_eq!(render("{{ n | string }} {{ xs[3] }}|", &c), "None |");
    assert_eq!(render("{{ xs }}", &c), "[1, 'a', True, None]");
    assert_eq!(render("{{ d }}", &c), "{'k': 'v'}");
    assert_eq!(render("{{ fl }} {{ 2.5 }} {{ 10 / 4 }}", &c), "1.0 2.5 2.5");
    assert_eq!(render("x{{ 'a' if false }}y", &c), "xy");
}

#[test]
fn render_value_templates_nested_strings() {
    let t = templar();
    let c = ctx(json!({"port": 80, "name": "web"}));
    let v = json!({"a": "{{ port }}", "b": ["{{ name }}-1", 3], "c": {"d": "x"}});
    assert_eq!(
        t.render_value(&v, &c, &Span::unknown()).unwrap(),
        json!({"a": 80, "b": ["web-1", 3], "c": {"d": "x"}})
    );
}

#[test]
fn eval_bool_follows_ansible_truthiness() {
    let t = templar();
    let c = ctx(
        json!({"s_false": "False", "s_no": "no", "s_yes": "yes", "res": {"changed": false, "rc": 0}, "empty": [], "zero": 0}),
    );
    let sp = Span::unknown();
    assert!(!t.eval_bool("s_false", &c, &sp).unwrap());
    assert!(!t.eval_bool("s_no", &c, &sp).unwrap());
    assert!(t.eval_bool("s_yes", &c, &sp).unwrap());
    assert!(t.eval_bool("res", &c, &sp).unwrap());
    assert!(!t.eval_bool("empty", &c, &sp).unwrap());
    assert!(!t.eval_bool("zero", &c, &sp).unwrap());
    assert!(t.eval_bool("{{ zero == 0 }}", &c, &sp).unwrap());
    assert!(
        t.eval_bool("res.rc == 0 and not res.changed", &c, &sp)
            .unwrap()
    );
    let e = t.eval_bool("nope", &c, &sp).unwrap_err();
    assert_eq!(e.message, "'nope' is undefined");
    let e = t.eval_bool("nope and true", &c, &sp).unwrap_err();
    assert_eq!(e.message, "'nope' is undefined");
    assert!(t.eval_bool("nope is not defined", &c, &sp).unwrap());
}

#[test]
fn undefined_is_allowed_in_default_and_defined() {
    let c = json!({"a": {"b": 1}, "xs": [1]});
    assert_eq!(render("{{ nope | default('x') }}", &c), "x");
    assert_eq!(render("{{ nope | d('x') }}", &c), "x");
    assert_eq!(render("{{ nope.b | default('x') }}", &c), "x");
    assert_eq!(render("{{ nope.b.c | default('x') }}", &c), "x");
    assert_eq!(render("{{ a.c.d | default('x') }}", &c), "x");
    assert_eq!(render("{{ a['c']['d'] | default('x') }}", &c), "x");
    assert_eq!(render("{{ a.b | default('x') }}", &c), "1");
    assert_eq!(render("{{ xs[5] | default('x') }}", &c), "x");
    assert_eq!(render("{{ xs.0 | default('x') }}", &c), "1");
    assert_eq!(eval("nope.b is defined", &c), json!(false));
    assert_eq!(eval("nope.b is undefined", &c), json!(true));
    assert_eq!(eval("a.c is defined", &c), json!(false));
    assert_eq!(eval("a.b is defined", &c), json!(true));
    assert_eq!(eval("a.c.d is not defined", &c), json!(true));
    assert_eq!(eval("(nope | default({})).x | default(2)", &c), json!(2));
    assert_eq!(
        render("{% if nope.x is defined %}y{% else %}n{% endif %}", &c),
        "n"
    );
    assert_eq!(eval("a[nope.k | default('b')]", &c), json!(1));
}

#[test]
fn default_with_boolean_argument() {
    let c = json!({"e": "", "z": 0, "v": "val"});
    assert_eq!(render("{{ e | default('x') }}", &c), "");
    assert_eq!(render("{{ e | default('x', true) }}", &c), "x");
    assert_eq!(render("{{ z | default('x', boolean=true) }}", &c), "x");
    assert_eq!(render("{{ v | default('x', true) }}", &c), "val");
    assert_eq!(render("{{ nope | default }}", &c), "");
}

#[test]
fn template_files_keep_trailing_newline_and_trim_blocks() {
    let dir = crate::scratch::root().join(format!("strata-tmpl-core-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("t.j2");
    std::fs::write(&f, "{% for x in xs %}\nline {{ x }}\n{% endfor %}\nend\n").unwrap();
    let out = templar()
        .render_file(&f, &ctx(json!({"xs": [1, 2]})))
        .unwrap();
    assert_eq!(out, "line 1\nline 2\nend\n");
}

/// Checked against ansible-core 2.19: inline strings trim block newlines, yet keep as many
/// trailing newlines as the source had.
#[test]
fn inline_strings_trim_blocks_and_keep_trailing_newlines() {
    let c = json!({"xs": [1, 2]});
    assert_eq!(
        render("{% for i in xs %}x{{ i }}\n{% endfor %}\nend\n", &c),
        "x1\nx2\nend\n"
    );
    assert_eq!(
        render("{% for i in xs %}x{{ i }}\n{% endfor %}\n", &c),
        "x1\nx2\n"
    );
    assert_eq!(render("{% if true %}\nA\n{% endif %}\nB\n", &c), "A\nB\n");
    assert_eq!(
        render("{% for i in xs %}{{ i }} {% endfor %}\n", &c),
        "1 2 \n"
    );
    // The source's last newline goes before rendering: a value's own one stands in for it.
    let c = json!({"x": "status 503\n"});
    assert_eq!(render("A {{ x }}\n", &c), "A status 503\n");
    assert_eq!(render("A {{ x }}\n\n", &c), "A status 503\n\n");
    assert_eq!(render("{{ x }}", &c), "status 503\n");
}

#[test]
fn loops_sets_macros_and_loop_controls() {
    let c = json!({"xs": [1, 2, 3, 4]});
    assert_eq!(
        render(
            "{% for x in xs %}{% if x > 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
            &c
        ),
        "12"
    );
    assert_eq!(render("{% set y = xs | sum %}{{ y }}", &c), "10");
    assert_eq!(
        render("{% macro m(a) %}<{{ a }}>{% endmacro %}{{ m(1) }}", &c),
        "<1>"
    );
    assert_eq!(
        render(
            "{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}",
            &c
        ),
        "a=1"
    );
    assert_eq!(
        render("{{ xs | length }} {{ xs + [5] }}", &c),
        "4 [1, 2, 3, 4, 5]"
    );
    assert_eq!(render("{{ range(3) | list }}", &c), "[0, 1, 2]");
    assert_eq!(render("{{ 'a' ~ 1 }} {{ 'ab' in 'xabx' }}", &c), "a1 True");
}

#[test]
fn dict_preserves_insertion_order() {
    let c = json!({"d": {"z": 1, "a": 2, "m": 3}});
    assert_eq!(render("{{ d.keys() | join(',') }}", &c), "z,a,m");
    assert_eq!(eval("d", &c).to_string(), r#"{"z":1,"a":2,"m":3}"#);
}

#[test]
fn json_round_trip_helpers() {
    let v = json!({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}});
    let j = super::super::json_to_jinja(&v);
    assert_eq!(super::super::jinja_to_json(&j).unwrap(), v);
}

#[test]
fn single_expression_detection() {
    use super::super::single_expression;
    assert_eq!(single_expression("{{ x }}"), Some("x"));
    assert_eq!(single_expression("  {{ x | y }} "), Some("x | y"));
    assert_eq!(single_expression("{{ x }} {{ y }}"), None);
    assert_eq!(single_expression("a {{ x }}"), None);
    assert_eq!(single_expression("{{ x }}{% if y %}{% endif %}"), None);
}

#[test]
fn python_literals_and_operators() {
    let c = json!({"x": true});
    assert_eq!(eval("x == True", &c), json!(true));
    assert_eq!(eval("None is none", &c), json!(true));
    assert_eq!(eval("False or x", &c), json!(true));
    assert_eq!(eval("'b' if nope is defined else 'c'", &c), json!("c"));
    assert_eq!(eval("[1, 2][-1]", &c), json!(2));
    assert_eq!(eval("'abcdef'[1:3]", &c), json!("bc"));
    assert_eq!(eval("7 // 2", &c), json!(3));
    assert_eq!(eval("2 ** 3", &c), json!(8));
    assert_eq!(eval("'%s-%d' | format('a', 3)", &c), json!("a-3"));
}

#[test]
fn undefined_result_without_a_missing_name_is_still_an_error() {
    let e = render_err("{{ [] | first }}", &json!({}));
    assert!(e.message.contains("undefined"), "{}", e.message);
}

#[test]
fn extra_globals_can_be_registered() {
    let mut t = super::super::Templar::new();
    t.configure(|env| {
        env.add_global("omit", "__omit_place_holder__");
        env.add_function("lookup", |kind: String, arg: String| {
            format!("{kind}:{arg}")
        });
    });
    let c = ctx(json!({}));
    assert_eq!(
        t.eval("lookup('env', 'HOME')", &c, &Span::unknown())
            .unwrap(),
        json!("env:HOME")
    );
    assert_eq!(
        t.eval("nope | default(omit)", &c, &Span::unknown())
            .unwrap(),
        json!("__omit_place_holder__")
    );
    // A global is not mistaken for an undefined variable in error messages.
    let e = t
        .render_text("{{ omit.x.y }}", &c, &Span::unknown())
        .unwrap_err();
    assert!(!e.message.contains("'omit' is undefined"), "{}", e.message);
}

/// The executor passes a lazily-resolving object as the context; names resolve on demand.
#[derive(Debug)]
struct LazyVars;

impl minijinja::value::Object for LazyVars {
    fn get_value(self: &std::sync::Arc<Self>, key: &JValue) -> Option<JValue> {
        match key.as_str()? {
            "host" => Some(JValue::from("web1")),
            "facts" => Some(super::super::json_to_jinja(
                &json!({"os": {"family": "Debian"}}),
            )),
            _ => None,
        }
    }
}

#[test]
fn lazy_object_context() {
    let t = templar();
    let c = JValue::from_object(LazyVars);
    let sp = Span::unknown();
    assert_eq!(
        t.render_str("{{ host }}-{{ facts.os.family }}", &c, &sp)
            .unwrap(),
        json!("web1-Debian")
    );
    assert_eq!(
        t.eval("facts.os.nope.x | default('d')", &c, &sp).unwrap(),
        json!("d")
    );
    assert!(t.eval_bool("missing is not defined", &c, &sp).unwrap());
    assert_eq!(
        t.render_str("{{ missing }}", &c, &sp).unwrap_err().message,
        "'missing' is undefined"
    );
    assert_eq!(
        t.render_str("{{ facts.os.kernel }}", &c, &sp)
            .unwrap_err()
            .message,
        "object of type 'dict' has no attribute 'kernel'"
    );
}

#[test]
fn templar_is_shareable_across_host_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<super::super::Templar>();
    let t = std::sync::Arc::new(super::super::Templar::new());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || {
                let c = ctx(json!({"i": i}));
                t.eval("i * 2", &c, &Span::unknown()).unwrap()
            })
        })
        .collect();
    let got: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec![json!(0), json!(2), json!(4), json!(6)]);
}
