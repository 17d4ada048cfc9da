use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use super::*;

#[test]
fn undefined_variable_is_named() {
    let c = json!({"d": {"x": 1}, "xs": [1]});
    assert_eq!(render_err("{{ nope }}", &c).message, "'nope' is undefined");
    assert_eq!(
        render_err("a {{ nope | upper }} b", &c).message,
        "'nope' is undefined"
    );
    assert_eq!(
        render_err("{{ 1 + nope }}", &c).message,
        "'nope' is undefined"
    );
    assert_eq!(
        render_err("{% for i in nope %}{% endfor %}", &c).message,
        "'nope' is undefined"
    );
    assert_eq!(
        render_err("{% if nope %}{% endif %}", &c).message,
        "'nope' is undefined"
    );
    assert_eq!(
        render_err("{{ d.y }}", &c).message,
        "object of type 'dict' has no attribute 'y'"
    );
    assert_eq!(
        render_err("{{ d.y.z }}", &c).message,
        "object of type 'dict' has no attribute 'y'"
    );
    assert_eq!(
        render_err("{{ nope.y }}", &c).message,
        "'nope' is undefined"
    );
    assert_eq!(eval_err("nope", &c).message, "'nope' is undefined");
    assert_eq!(eval_err("d.x + nope", &c).message, "'nope' is undefined");
    // A loop variable's missing attribute cannot be resolved from the context; the message
    // still says what is undefined.
    let e = render_err("{% for i in [d] %}{{ i.zz }}{% endfor %}", &c);
    assert!(e.message.contains("undefined"), "{}", e.message);
}

#[test]
fn mandatory_names_the_variable() {
    let c = json!({"v": 1});
    assert_eq!(render("{{ v | mandatory }}", &c), "1");
    assert_eq!(
        render_err("{{ nope | mandatory }}", &c).message,
        "Mandatory variable 'nope' not defined."
    );
    assert_eq!(
        render_err("{{ nope.x | mandatory }}", &c).message,
        "Mandatory variable 'nope.x' not defined."
    );
    assert_eq!(
        render_err("{{ nope | mandatory('set nope!') }}", &c).message,
        "set nope!"
    );
}

#[test]
fn render_file_errors_name_file_and_line() {
    let dir = crate::scratch::root().join(format!("strata-tmpl-err-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    let f = dir.join("templates/haproxy.cfg.j2");
    std::fs::write(
        &f,
        "global\n  maxconn 100\n\nbackend {{ name }}\n  server {{ server_ip }}:80\n",
    )
    .unwrap();
    let e = templar()
        .render_file(&f, &ctx(json!({"name": "web"})))
        .unwrap_err();
    assert_eq!(e.message, "'server_ip' is undefined");
    assert_eq!(e.span.line, 5);
    assert_eq!(e.span.col, 13);
    assert!(
        e.to_string().starts_with(&format!("{}:5:13", f.display())),
        "{e}"
    );
}

#[test]
fn syntax_errors_have_file_line_and_column() {
    let dir = crate::scratch::root().join(format!("strata-tmpl-syn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.j2");
    std::fs::write(&f, "ok\n{% if x %}\n{{ x +* }}\n{% endif %}\n").unwrap();
    let e = templar().check_file_syntax(&f).unwrap_err();
    assert!(e.message.contains("syntax error"), "{}", e.message);
    assert_eq!((e.span.line, e.span.col), (3, 7));
    std::fs::write(&f, "{% if x %}\nno end\n").unwrap();
    let e = templar().check_file_syntax(&f).unwrap_err();
    assert!(e.message.contains("syntax error"), "{}", e.message);
    assert!(e.span.line >= 1);
}

#[test]
fn errors_in_yaml_scalars_shift_to_the_right_line() {
    let file = Arc::new(PathBuf::from("play.yml"));
    // The scalar starts at line 10 column 12; the error is on its third line.
    let span = Span::new(&file, 10, 12, 1);
    let t = templar();
    let e = t
        .render_str("a\nb\n{{ nope }}", &ctx(json!({})), &span)
        .unwrap_err();
    assert_eq!((e.span.line, e.span.col), (12, 4));
    let e = t.check_syntax("x {{ 1 + }}", &span).unwrap_err();
    assert_eq!(e.span.line, 10);
    assert!(e.span.col > 12, "{:?}", e.span);
    let e = t.check_expr_syntax("x ==", &span).unwrap_err();
    assert!(e.message.contains("syntax error"), "{}", e.message);
    let e = t
        .eval_bool("x == 1 and nope", &ctx(json!({"x": 1})), &span)
        .unwrap_err();
    assert_eq!(e.message, "'nope' is undefined");
    assert_eq!((e.span.line, e.span.col), (10, 12 + 11));
}

#[test]
fn check_syntax_accepts_valid_templates() {
    let t = templar();
    let sp = Span::unknown();
    t.check_syntax(
        "{{ a.b | default('x') }} {% for i in xs %}{{ i }}{% endfor %}",
        &sp,
    )
    .unwrap();
    t.check_syntax("no template here", &sp).unwrap();
    t.check_expr_syntax("x is defined and x.y is version('1.0', '>=')", &sp)
        .unwrap();
    t.check_expr_syntax("{{ x }}", &sp).unwrap();
}

#[test]
fn unknown_filter_is_reported() {
    let e = render_err("{{ 1 | no_such_filter }}", &json!({}));
    assert!(e.message.contains("no_such_filter"), "{}", e.message);
}
