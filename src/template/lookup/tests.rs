use serde_json::{Value, json};

use crate::diagnostic::Span;
use crate::template::Templar;

fn render(e: &str, vars: Value) -> Result<Value, String> {
    let t = Templar::new();
    let c = minijinja::Value::from(minijinja::value::Serde(vars));
    t.render_str(e, &c, &Span::unknown()).map_err(|d| d.message)
}

fn s(e: &str) -> Value {
    render(e, json!({})).unwrap()
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = crate::scratch::root().join(format!("strata-lookup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn env_file_pipe_and_query() {
    let d = tmpdir("file");
    let f = d.join("secret");
    std::fs::write(&f, "secret\n\n").unwrap();
    assert_eq!(
        s(&format!("{{{{ lookup('file', '{}') }}}}", f.display())),
        json!("secret")
    );
    assert_eq!(s("{{ lookup('pipe', 'echo hi') }}"), json!("hi"));
    assert_eq!(s("{{ query('items', [1, 2]) }}"), json!([1, 2]));
    assert_eq!(
        s("{{ lookup('env', 'STRATA_SURELY_UNSET_VAR') }}"),
        json!("")
    );
    assert!(render("{{ lookup('nope', 'x') }}", json!({})).is_err());
}

#[test]
fn wantlist_errors_and_env_default() {
    assert_eq!(
        s("{{ lookup('pipe', 'echo hi', wantlist=True) }}"),
        json!(["hi"])
    );
    assert_eq!(
        s("{{ lookup('env', 'STRATA_SURELY_UNSET_VAR', default='d') }}"),
        json!("d")
    );
    assert!(render("{{ lookup('pipe', 'true', bogus=1) }}", json!({})).is_err());
    assert_eq!(
        s("{{ lookup('pipe', 'exit 3', errors='ignore') }}"),
        json!(null)
    );
    assert_eq!(
        s("{{ query('pipe', 'exit 3', errors='ignore') }}"),
        json!([])
    );
    // Several strings are joined; non-strings stay a list.
    assert_eq!(s("{{ lookup('items', ['a', 'b']) }}"), json!("a,b"));
    assert_eq!(s("{{ lookup('items', [1, 2]) }}"), json!([1, 2]));
}

#[test]
fn sequence_forms() {
    assert_eq!(
        s("{{ query('sequence', '4') }}"),
        json!(["1", "2", "3", "4"])
    );
    assert_eq!(
        s("{{ query('sequence', '2-10/4') }}"),
        json!(["2", "6", "10"])
    );
    assert_eq!(
        s("{{ query('sequence', '3:host%02d') }}"),
        json!(["host01", "host02", "host03"])
    );
    assert_eq!(
        s("{{ query('sequence', 'start=0 count=3 stride=2 format=n%x') }}"),
        json!(["n0", "n2", "n4"])
    );
    assert_eq!(
        s("{{ query('sequence', start=5, end=3, stride=-1) }}"),
        json!(["5", "4", "3"])
    );
    assert_eq!(s("{{ query('sequence', 'count=0') }}"), json!([]));
    let e = render("{{ query('sequence', 'start=3 end=1') }}", json!({})).unwrap_err();
    assert!(e.contains("to count backwards make stride negative"), "{e}");
    let e = render("{{ query('sequence', 'start=1') }}", json!({})).unwrap_err();
    assert!(e.contains("must specify count or end"), "{e}");
    let e = render("{{ query('sequence', 'end=3 bogus=1') }}", json!({})).unwrap_err();
    assert!(
        e.contains("unrecognized arguments to with_sequence: ['bogus']"),
        "{e}"
    );
    let e = render("{{ query('sequence', 'end=3 format=%d%d') }}", json!({})).unwrap_err();
    assert!(e.contains("bad formatting string"), "{e}");
}

#[test]
fn percent_format_is_pythons() {
    use super::sequence::percent_format as f;
    assert_eq!(f("%05d", 42).unwrap(), "00042");
    assert_eq!(f("%-4d|", 7).unwrap(), "7   |");
    assert_eq!(f("%#x", 255).unwrap(), "0xff");
    assert_eq!(f("%o", 8).unwrap(), "10");
    assert_eq!(f("%+d", 3).unwrap(), "+3");
    assert_eq!(f("v%s", -2).unwrap(), "v-2");
    assert_eq!(f("%.2f", 3).unwrap(), "3.00");
}

#[test]
fn reshaping_lookups() {
    assert_eq!(
        s("{{ query('nested', ['a', 'b'], [1, 2]) }}"),
        json!([["a", 1], ["a", 2], ["b", 1], ["b", 2]])
    );
    assert_eq!(
        s("{{ query('together', ['a', 'b', 'c'], [1, 2]) }}"),
        json!([["a", 1], ["b", 2], ["c", null]])
    );
    assert_eq!(
        s("{{ query('indexed_items', ['a', 'b']) }}"),
        json!([[0, "a"], [1, "b"]])
    );
    assert_eq!(
        s("{{ query('dict', {'x': 1}) }}"),
        json!([{"key": "x", "value": 1}])
    );
    let pick = s("{{ lookup('random_choice', 'a', 'b', 'c') }}");
    assert!(["a", "b", "c"].contains(&pick.as_str().unwrap()));
    assert_eq!(s("{{ query('random_choice') }}"), json!([]));
}

#[test]
fn subelements_take_the_sublist_out() {
    let users = json!({"users": [
        {"name": "a", "keys": ["k1", "k2"]},
        {"name": "b", "keys": []},
        {"name": "c"}
    ]});
    let e = render("{{ query('subelements', users, 'keys') }}", users.clone()).unwrap_err();
    assert!(
        e.contains("could not find 'keys' key in iterated item"),
        "{e}"
    );
    assert_eq!(
        render(
            "{{ query('subelements', users, 'keys', {'skip_missing': True}) }}",
            users.clone()
        )
        .unwrap(),
        json!([[{"name": "a"}, "k1"], [{"name": "a"}, "k2"]])
    );
    let nested = json!({"d": [{"n": 1, "a": {"b": [5]}}]});
    assert_eq!(
        render("{{ query('subelements', d, 'a.b') }}", nested).unwrap(),
        json!([[{"n": 1, "a": {}}, 5]])
    );
    let e = render("{{ query('subelements', [1], 'k') }}", json!({})).unwrap_err();
    assert!(e.contains("expects a dictionary"), "{e}");
}

#[test]
fn vars_and_varnames() {
    let v = json!({"app_port": 80, "app_name": "x", "other": "{{ app_port }}"});
    assert_eq!(
        render("{{ lookup('vars', 'app_' + 'port') }}", v.clone()).unwrap(),
        json!(80)
    );
    assert_eq!(
        render("{{ lookup('vars', 'nope', default=7) }}", v.clone()).unwrap(),
        json!(7)
    );
    assert!(render("{{ lookup('vars', 'nope') }}", v.clone()).is_err());
    assert_eq!(
        render("{{ query('varnames', '^app_') }}", v).unwrap(),
        json!(["app_name", "app_port"])
    );
}

#[test]
fn files_are_found_through_the_search_path() {
    let d = tmpdir("search");
    std::fs::create_dir_all(d.join("role/files")).unwrap();
    std::fs::create_dir_all(d.join("role/tasks")).unwrap();
    std::fs::create_dir_all(d.join("files")).unwrap();
    std::fs::write(d.join("role/files/a.txt"), "role a").unwrap();
    std::fs::write(d.join("files/a.txt"), "play a").unwrap();
    std::fs::write(d.join("files/b.txt"), "play b").unwrap();
    std::fs::write(d.join("files/.hidden.txt"), "h").unwrap();
    // Outside a `with_` loop first_found searches no `files/` subdirectory.
    std::fs::write(d.join("c.txt"), "c").unwrap();
    let role = json!({
        "playbook_dir": d.display().to_string(),
        "role_path": d.join("role").display().to_string(),
        "ansible_search_path": [d.join("role").display().to_string(), d.join("role/tasks").display().to_string()],
    });
    let play = json!({"playbook_dir": d.display().to_string()});
    assert_eq!(
        render("{{ lookup('file', 'a.txt') }}", role.clone()).unwrap(),
        json!("role a")
    );
    assert_eq!(
        render("{{ lookup('file', 'b.txt') }}", role.clone()).unwrap(),
        json!("play b")
    );
    assert_eq!(
        render("{{ lookup('file', 'a.txt') }}", play.clone()).unwrap(),
        json!("play a")
    );
    let e = render("{{ lookup('file', 'zz.txt') }}", play.clone()).unwrap_err();
    assert!(e.contains("Unable to access the file 'zz.txt'"), "{e}");
    let files = |p: &str| d.join(p).display().to_string();
    assert_eq!(
        render("{{ query('fileglob', '*.txt') }}", play.clone()).unwrap(),
        json!([files("files/a.txt"), files("files/b.txt")])
    );
    assert_eq!(
        render("{{ query('fileglob', '*.txt') }}", role.clone()).unwrap(),
        json!([files("role/files/a.txt")])
    );
    assert_eq!(
        render(
            "{{ query('first_found', ['zz.txt', 'b.txt', 'c.txt']) }}",
            play.clone()
        )
        .unwrap(),
        json!([files("c.txt")])
    );
    assert_eq!(
        render(
            "{{ lookup('first_found', {'files': ['x', 'b.txt'], 'paths': ['files']}) }}",
            play.clone()
        )
        .unwrap(),
        json!(files("files/b.txt"))
    );
    assert_eq!(
        render(
            "{{ query('first_found', ['zz'], skip=True) }}",
            play.clone()
        )
        .unwrap(),
        json!([])
    );
    let e = render("{{ query('first_found', ['zz']) }}", play).unwrap_err();
    assert!(
        e.contains("No file was found when using first_found."),
        "{e}"
    );
}

#[test]
fn lines_of_a_command() {
    assert_eq!(
        s("{{ query('lines', 'printf \"a\\nb\\n\"') }}"),
        json!(["a", "b"])
    );
    let e = render("{{ query('lines', 'exit 2') }}", json!({})).unwrap_err();
    assert!(e.contains("lookup_plugin.lines(exit 2) returned 2"), "{e}");
}

#[test]
fn password_is_made_once_and_kept() {
    let d = tmpdir("password");
    let vars = json!({"playbook_dir": d.display().to_string()});
    let first = render(
        "{{ lookup('password', 'creds/admin length=12 chars=digits') }}",
        vars.clone(),
    )
    .unwrap();
    let pw = first.as_str().unwrap().to_string();
    assert_eq!(pw.len(), 12);
    assert!(pw.chars().all(|c| c.is_ascii_digit()));
    let stored = d.join("creds/admin");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), format!("{pw}\n"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(d.join("creds"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    // Reused whatever the options say now.
    let again = render(
        "{{ lookup('password', 'creds/admin', length=30) }}",
        vars.clone(),
    )
    .unwrap();
    assert_eq!(again, json!(pw));
    assert_eq!(
        render(
            "{{ lookup('password', '/dev/null', seed='web1') }}",
            vars.clone()
        )
        .unwrap(),
        json!("PHReYru8meWgwuf2LQh8")
    );
    let e = render(
        "{{ lookup('password', 'x encrypt=sha512_crypt') }}",
        vars.clone(),
    )
    .unwrap_err();
    assert!(e.contains("encrypt"), "{e}");
    let e = render("{{ lookup('password', 'x bogus=1') }}", vars).unwrap_err();
    assert!(
        e.contains("Unrecognized parameter(s) given to password lookup: bogus"),
        "{e}"
    );
}
