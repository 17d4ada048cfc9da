//! The native EC2 inventory source against a real moto_server (no mocks of EC2): stacks and
//! layers through keyed_groups, filters, paging, host variables compared with Ansible's own
//! amazon.aws.aws_ec2 plugin, the cache, the credential chain (environment, profile files,
//! IMDSv2) with moto's signature checking switched on, failures, and a playbook run on lab
//! hosts found through EC2.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use common::ec2::{
    KEYS, LIST, aws_env, dump, ids, layers, members, stderr, strata, unwrap_unsafe, with_keys,
    workdir,
};
use common::moto::{Moto, Reply, Scripted, VENV};

/// 150 instances in 120 reservations (30 of two instances): two stacks, layers web, app, db
/// and the two-layer `web,app`.
fn launch_stacks(moto: &Moto) -> Value {
    let combos = ["web", "app", "db", "web,app"];
    let batches: Vec<Value> = (0..120)
        .map(|i| {
            let stack = if i % 2 == 0 { "prod" } else { "staging" };
            json!({
                "count": if i < 30 { 2 } else { 1 },
                "tags": {"strata:stack": stack, "strata:layer": combos[(i / 2) % 4]},
                "name_prefix": stack,
            })
        })
        .collect();
    let out = moto.helper(
        "launch",
        &json!({"region": "us-east-1", "batches": batches}),
    );
    assert_eq!(out.as_array().unwrap().len(), 150);
    out
}

#[test]
fn stack_layers_filters_exclusions_and_paging() {
    let moto = Moto::start();
    let all = launch_stacks(&moto);
    let dir = workdir("stack");
    let by_id = |id: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap()
            .clone()
    };

    let base = format!(
        "plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\nhostnames: [instance-id]\n",
        moto.endpoint
    );
    // No filter: 150 instances in 120 reservations need two pages (moto pages by 100).
    std::fs::write(dir.join("all.aws_ec2.yml"), &base).unwrap();
    let (groups, _) = dump(&dir, "all.aws_ec2.yml", &KEYS, &[]);
    assert_eq!(members(&groups, "aws_ec2"), ids(&all, |_| true));

    // Stack filter + one group per layer from the comma-separated tag.
    std::fs::write(
        dir.join("prod.aws_ec2.yml"),
        format!("{base}filters:\n  tag:strata:stack: prod\nkeyed_groups:\n  - key: tags['strata:layer'].split(',')\n    prefix: layer\n"),
    )
    .unwrap();
    let (groups, hostvars) = dump(&dir, "prod.aws_ec2.yml", &KEYS, &[]);
    let prod = |i: &Value| i["tags"]["strata:stack"] == "prod";
    assert_eq!(members(&groups, "all"), ids(&all, prod));
    for layer in ["web", "app", "db"] {
        let want = ids(&all, |i| prod(i) && layers(i).iter().any(|l| l == layer));
        assert!(!want.is_empty());
        assert_eq!(
            members(&groups, &format!("layer_{layer}")),
            want,
            "layer {layer}"
        );
    }
    for id in ids(&all, prod) {
        let inst = by_id(&id);
        let v = &hostvars[&id];
        assert_eq!(v["ec2_tags"], inst["tags"], "{id}");
        assert_eq!(v["tags"], inst["tags"], "{id}");
        assert_eq!(v["ansible_host"], inst["private_ip"], "{id}");
        assert_eq!(v["private_ip_address"], inst["private_ip"], "{id}");
        assert_eq!(v["instance_id"], json!(id));
        assert_eq!(v["state"]["name"], json!("running"));
        assert_eq!(v["placement"]["region"], json!("us-east-1"));
        for k in ["instance_type", "vpc_id", "subnet_id", "launch_time"] {
            assert!(v[k].is_string(), "{id} lacks {k}");
        }
    }
    // `strata inventory --list` shows the same layer groups and host variables.
    let o = strata(
        &dir,
        &["inventory", "-i", "prod.aws_ec2.yml", "--list"],
        &KEYS,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    for layer in ["web", "app", "db"] {
        let g = format!("layer_{layer}");
        let listed: std::collections::BTreeSet<String> = list[&g]["hosts"]
            .as_array()
            .unwrap_or_else(|| panic!("{g} missing from --list"))
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, members(&groups, &g), "--list {g}");
    }
    for id in ids(&all, prod) {
        let v = &list["_meta"]["hostvars"][&id];
        assert_eq!(v["ec2_tags"], by_id(&id)["tags"], "--list {id}");
        assert_eq!(v["ansible_host"], by_id(&id)["private_ip"], "--list {id}");
    }

    // exclude_filters drop what they match from the include results.
    std::fs::write(
        dir.join("nodb.aws_ec2.yml"),
        format!("{base}filters:\n  tag:strata:stack: [prod]\nexclude_filters:\n  - tag:strata:layer: db\n"),
    )
    .unwrap();
    let (groups, _) = dump(&dir, "nodb.aws_ec2.yml", &KEYS, &[]);
    let want = ids(&all, |i| prod(i) && i["tags"]["strata:layer"] != "db");
    assert_eq!(members(&groups, "aws_ec2"), want);

    // Stopped instances are left out by default; an explicit state filter replaces the default.
    let stopped: Vec<String> = ids(&all, prod).into_iter().take(2).collect();
    moto.helper("stop", &json!({"region": "us-east-1", "ids": stopped}));
    let (groups, _) = dump(&dir, "prod.aws_ec2.yml", &KEYS, &[]);
    let running = members(&groups, "aws_ec2");
    assert_eq!(running.len(), ids(&all, prod).len() - 2);
    assert!(stopped.iter().all(|s| !running.contains(s)));
    std::fs::write(
        dir.join("stopped.aws_ec2.yml"),
        format!("{base}filters:\n  instance-state-name: stopped\n"),
    )
    .unwrap();
    let (groups, _) = dump(&dir, "stopped.aws_ec2.yml", &KEYS, &[]);
    assert_eq!(members(&groups, "aws_ec2"), stopped.into_iter().collect());
}

#[test]
fn host_names_variables_and_groups_match_ansible_aws_ec2() {
    let moto = Moto::start();
    let combos = ["web", "app,db", "db"];
    let batches: Vec<Value> = (0..6)
        .map(|i| json!({"count": 1 + i % 2, "tags": {"strata:layer": combos[i % 3], "strata:stack": "prod"}, "name_prefix": "node"}))
        .chain([json!({"count": 1, "tags": {"strata:layer": "web"}})]) // no Name: falls back
        .collect();
    let mut all = moto.helper(
        "launch",
        &json!({"region": "us-east-1", "batches": batches}),
    );
    // A second region, queried concurrently and merged.
    let eu = moto.helper(
        "launch",
        &json!({"region": "eu-west-1", "batches": [{"count": 2, "tags": {"strata:layer": "db"}, "name_prefix": "eu"}]}),
    );
    all.as_array_mut()
        .unwrap()
        .extend(eu.as_array().unwrap().iter().cloned());
    let dir = workdir("compat");
    std::fs::write(
        dir.join("stack.aws_ec2.yml"),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory/stack.aws_ec2.yml"),
        )
        .unwrap()
        .replace("  - us-east-1\n", "  - us-east-1\n  - eu-west-1\n")
        .replace(
            "  tag:strata:stack: prod\n",
            "  tag:strata:layer: [web, 'app,db', db]\n",
        ) + "groups:\n  dbish: \"'db' in tags['strata:layer']\"\n",
    )
    .unwrap();
    let env = with_keys(&[("AWS_ENDPOINT_URL", &moto.endpoint)]);
    let (groups, hostvars) = dump(&dir, "stack.aws_ec2.yml", &env, &[]);

    // The same file through Ansible's own plugin (boto3) against the same moto.
    let out = Command::new(format!("{VENV}/bin/ansible-inventory"))
        .args(["-i", "stack.aws_ec2.yml", "--list"])
        .current_dir(&dir)
        .env("HOME", dir.as_os_str())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
        .output()
        .expect("cannot run ansible-inventory");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ans = unwrap_unsafe(serde_json::from_slice(&out.stdout).unwrap());
    let ans_vars = ans["_meta"]["hostvars"].as_object().unwrap();

    // Host names: tag:Name, else the private IP.
    let names: BTreeSet<String> = ans_vars.keys().cloned().collect();
    assert_eq!(names.len(), all.as_array().unwrap().len());
    assert_eq!(members(&groups, "aws_ec2"), names);
    let noname = all
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tags"].get("Name").is_none())
        .unwrap();
    assert!(names.contains(noname["private_ip"].as_str().unwrap()));

    for (host, want) in ans_vars {
        let got = hostvars[host].as_object().unwrap();
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(got.get(k), Some(v), "host {host} variable {k}");
        }
        assert_eq!(got["ec2_tags"], want["tags"]);
        // Groups: every group Ansible lists the host in directly, strata has too.
        for (g, data) in ans.as_object().unwrap() {
            // Parent groups list children, not hosts (checked below).
            if g == "_meta" || g == "all" || data.get("children").is_some() {
                continue;
            }
            let direct = data["hosts"]
                .as_array()
                .is_some_and(|h| h.iter().any(|x| x == host.as_str()));
            assert_eq!(
                members(&groups, g).contains(host),
                direct,
                "host {host} in group {g}"
            );
        }
    }
    // Children of `layers`, as Ansible's parent_group builds them.
    let mut children: Vec<String> = ans["layers"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    children.sort();
    assert_eq!(children, ["layer_app", "layer_db", "layer_web"]);
    assert_eq!(members(&groups, "layers"), members(&groups, "aws_ec2"));
}

#[test]
fn cache_is_used_until_flushed() {
    let moto = Moto::start();
    let all = moto.helper(
        "launch",
        &json!({"region": "us-east-1", "batches": [{"count": 3, "tags": {"strata:stack": "prod"}}]}),
    );
    let dir = workdir("cache");
    std::fs::write(
        dir.join("c.aws_ec2.yml"),
        format!("plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\nhostnames: [instance-id]\ncache: true\ncache_timeout: 600\n", moto.endpoint),
    )
    .unwrap();
    let hosts = |extra: &[&str]| members(&dump(&dir, "c.aws_ec2.yml", &KEYS, extra).0, "aws_ec2");
    let every = ids(&all, |_| true);
    assert_eq!(hosts(&[]), every);
    let gone = every.iter().next().unwrap().clone();
    moto.helper("terminate", &json!({"region": "us-east-1", "ids": [gone]}));
    // Served from the cache: the terminated instance is still listed.
    assert_eq!(hosts(&[]), every);
    let cache_files: Vec<_> = std::fs::read_dir(dir.join("cache/strata/inventory"))
        .unwrap()
        .collect();
    assert_eq!(
        cache_files.len(),
        1,
        "one atomic cache entry, no temp files left"
    );
    // --flush-cache queries again and refreshes the cache for later runs.
    let mut fresh = every.clone();
    fresh.remove(&gone);
    assert_eq!(hosts(&["--flush-cache"]), fresh);
    assert_eq!(hosts(&[]), fresh);

    // Ansible's cache_connection/cache_prefix choose where the entry goes.
    let elsewhere = dir.join("elsewhere");
    std::fs::write(
        dir.join("c.aws_ec2.yml"),
        format!("plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\nhostnames: [instance-id]\ncache: true\ncache_plugin: jsonfile\ncache_connection: {}\ncache_prefix: inv_\n", moto.endpoint, elsewhere.display()),
    )
    .unwrap();
    assert_eq!(hosts(&[]), fresh);
    let names: Vec<String> = std::fs::read_dir(&elsewhere)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.len() == 1 && names[0].starts_with("inv_"),
        "{names:?}"
    );
}

#[test]
fn credentials_from_env_profile_and_imds_with_signature_checking() {
    let moto = Moto::start();
    let all = moto.helper(
        "launch",
        &json!({"region": "eu-west-1", "batches": [{"count": 2}]}),
    );
    let key = moto.helper("iam_key", &json!({}));
    let (id, secret) = (key["id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    let role = moto.helper("role_credentials", &json!({}));
    let nobody = moto.helper("iam_key", &json!({"user": "nobody", "allow": false}));
    // From here on moto recomputes every request's SigV4 signature with the real secret.
    moto.helper("enable_auth", &json!({}));
    let dir = workdir("creds");
    std::fs::write(dir.join("p.yml"), LIST).unwrap();
    let cfg = |name: &str, extra: &str| {
        std::fs::write(
            dir.join(name),
            format!("plugin: aws_ec2\nregions: [eu-west-1]\nendpoint_url: {}\nhostnames: [instance-id]\n{extra}", moto.endpoint),
        )
        .unwrap();
    };
    cfg("e.aws_ec2.yml", "");
    let listed = |o: &Output| -> BTreeSet<String> {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        ids(&all, |i| {
            String::from_utf8_lossy(&o.stdout).contains(i["id"].as_str().unwrap())
        })
    };
    let every = ids(&all, |_| true);
    let list = ["playbook", "-i", "e.aws_ec2.yml", "p.yml", "--list-hosts"];

    // 1. Environment.
    let env = [("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret)];
    assert_eq!(listed(&strata(&dir, &list, &env)), every);

    // 2. A wrong secret is rejected by moto for real; the error names the file.
    let o = strata(
        &dir,
        &list,
        &[
            ("AWS_ACCESS_KEY_ID", id),
            ("AWS_SECRET_ACCESS_KEY", "wrong"),
        ],
    );
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert!(err.contains("AWS rejected the credentials"), "{err}");
    assert!(err.contains("e.aws_ec2.yml"), "{err}");
    assert!(err.contains("no host was contacted"), "{err}");

    // A valid key without permission: a distinct error, or a skipped region (with a warning)
    // under `strict_permissions: false`, as aws_ec2 does.
    let weak = [
        ("AWS_ACCESS_KEY_ID", nobody["id"].as_str().unwrap()),
        ("AWS_SECRET_ACCESS_KEY", nobody["secret"].as_str().unwrap()),
    ];
    let o = strata(&dir, &list, &weak);
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).contains("not allowed to call DescribeInstances (AccessDenied"),
        "{}",
        stderr(&o)
    );
    cfg("lax.aws_ec2.yml", "strict_permissions: false\n");
    let o = strata(
        &dir,
        &["playbook", "-i", "lax.aws_ec2.yml", "p.yml", "--list-hosts"],
        &weak,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(listed(&o).is_empty());
    assert!(
        stderr(&o).contains("skipping region eu-west-1"),
        "{}",
        stderr(&o)
    );

    // 3. Shared credentials file with AWS_PROFILE, and the config file's [profile x] through
    //    the inventory's own `profile:`.
    std::fs::create_dir_all(dir.join(".aws")).unwrap();
    std::fs::write(
        dir.join(".aws/credentials"),
        format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = wrong\n\n[ci]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    assert_eq!(
        listed(&strata(&dir, &list, &[("AWS_PROFILE", "ci")])),
        every
    );
    assert_eq!(
        strata(&dir, &list, &[]).status.code(),
        Some(5),
        "default profile has a wrong secret"
    );
    let conf = dir.join("awsconfig");
    std::fs::write(
        &conf,
        format!("[profile ops]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    cfg("p.aws_ec2.yml", "profile: ops\n");
    let o = strata(
        &dir,
        &["playbook", "-i", "p.aws_ec2.yml", "p.yml", "--list-hosts"],
        &[("AWS_CONFIG_FILE", conf.to_str().unwrap())],
    );
    assert_eq!(listed(&o), every);
    std::fs::remove_dir_all(dir.join(".aws")).unwrap();

    // 4. IMDSv2: a token first, then the role, then its credentials, all with the token.
    let creds = json!({"Code": "Success", "AccessKeyId": role["id"], "SecretAccessKey": role["secret"], "Token": role["token"], "Expiration": "2099-01-01T00:00:00Z"}).to_string();
    let imds = Scripted::start(move |r, _| {
        let ok = |body: String| Reply::Respond {
            status: 200,
            content_type: "text/plain",
            body,
        };
        let token_ok = r
            .headers
            .get("x-aws-ec2-metadata-token")
            .map(String::as_str)
            == Some("tok-123");
        match (r.method.as_str(), r.path.as_str()) {
            ("PUT", "/latest/api/token")
                if r.headers
                    .contains_key("x-aws-ec2-metadata-token-ttl-seconds") =>
            {
                ok("tok-123".into())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/") if token_ok => {
                ok("strata-role\n".into())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/strata-role") if token_ok => {
                ok(creds.clone())
            }
            _ => Reply::Respond {
                status: 401,
                content_type: "text/plain",
                body: String::new(),
            },
        }
    });
    let url = imds.url();
    let o = strata(
        &dir,
        &list,
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url),
        ],
    );
    assert_eq!(listed(&o), every);
    let seen = imds.requests();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("PUT", "/latest/api/token")
    );
    assert_eq!(
        seen[0].headers["x-aws-ec2-metadata-token-ttl-seconds"],
        "21600"
    );
    for r in &seen[1..] {
        assert_eq!(r.method, "GET");
        assert_eq!(r.headers["x-aws-ec2-metadata-token"], "tok-123");
    }

    // 5. Nothing anywhere: a clear error, no request to the metadata address.
    let o = strata(&dir, &list, &[]);
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).contains("no AWS credentials found"),
        "{}",
        stderr(&o)
    );
}

fn throttled_reply() -> Reply {
    Reply::Respond {
        status: 503,
        content_type: "text/xml",
        body: "<?xml version=\"1.0\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>".into(),
    }
}

#[test]
fn failures_are_located_classified_and_bounded() {
    let moto = Moto::start();
    let all = moto.helper(
        "launch",
        &json!({"region": "us-east-1", "batches": [{"count": 2}]}),
    );
    let dir = workdir("fail");
    std::fs::write(dir.join("p.yml"), LIST).unwrap();
    let run = |name: &str, body: String, env: &[(&str, &str)]| {
        std::fs::write(dir.join(name), body).unwrap();
        strata(
            &dir,
            &["playbook", "-i", name, "p.yml", "--list-hosts"],
            &with_keys(env),
        )
    };

    // An unknown key: located, exit 5, and not a single request sent.
    let spy = Scripted::start(|_, _| throttled_reply());
    let o = run(
        "typo.aws_ec2.yml",
        format!(
            "plugin: aws_ec2\nendpoint_url: {}\nregoins: [us-east-1]\n",
            spy.url()
        ),
        &[],
    );
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert!(
        err.contains("unknown aws_ec2 inventory option `regoins`"),
        "{err}"
    );
    assert!(err.contains("typo.aws_ec2.yml:3:1"), "{err}");
    assert!(err.contains("3 | regoins: [us-east-1]"), "{err}");
    assert!(spy.requests().is_empty());

    // Unreachable endpoint.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let o = run(
        "down.aws_ec2.yml",
        format!("plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: http://{closed}\n"),
        &[],
    );
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert!(err.contains("cannot reach the EC2 endpoint"), "{err}");
    assert!(err.contains("down.aws_ec2.yml"), "{err}");
    assert!(err.contains("no host was contacted"), "{err}");

    // Unknown regions: a malformed name before any request, an unknown one by the endpoint.
    let o = run(
        "mars.aws_ec2.yml",
        "plugin: aws_ec2\nregions: [mars]\n".into(),
        &[],
    );
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert!(err.contains("unknown region `mars`"), "{err}");
    assert!(err.contains("mars.aws_ec2.yml:2:11"), "{err}");
    let o = run(
        "nowhere.aws_ec2.yml",
        format!(
            "plugin: aws_ec2\nregions: [xx-nowhere-9]\nendpoint_url: {}\n",
            moto.endpoint
        ),
        &[],
    );
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).contains("unknown region `xx-nowhere-9`"),
        "{}",
        stderr(&o)
    );

    // Throttling: two 503 RequestLimitExceeded, then the real answer from moto.
    let upstream: std::net::SocketAddr = format!("127.0.0.1:{}", moto.port).parse().unwrap();
    let flaky = Scripted::start(move |_, n| {
        if n < 2 {
            throttled_reply()
        } else {
            Reply::Forward(upstream)
        }
    });
    let o = run(
        "flaky.aws_ec2.yml",
        format!(
            "plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\nhostnames: [instance-id]\n",
            flaky.url()
        ),
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        ids(&all, |_| true).iter().all(|i| out.contains(i.as_str())),
        "{out}"
    );
    assert_eq!(flaky.requests().len(), 3);

    // A transient InternalError is retried too; a persistent one is reported as it is.
    let internal = Scripted::start(|_, _| {
        Reply::Respond {
        status: 500,
        content_type: "text/xml",
        body: "<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors></Response>".into(),
    }
    });
    let o = run(
        "internal.aws_ec2.yml",
        format!(
            "plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\n",
            internal.url()
        ),
        &[("STRATA_EC2_MAX_ATTEMPTS", "2")],
    );
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).contains("EC2 answered 500: InternalError"),
        "{}",
        stderr(&o)
    );
    assert_eq!(internal.requests().len(), 2);

    // Throttled for good: bounded attempts, then a clear failure.
    let o = run(
        "throttled.aws_ec2.yml",
        format!(
            "plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\n",
            spy.url()
        ),
        &[("STRATA_EC2_MAX_ATTEMPTS", "3")],
    );
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert!(
        err.contains("throttling requests (RequestLimitExceeded); gave up after 3 attempts"),
        "{err}"
    );
    assert_eq!(spy.requests().len(), 3);
}

#[test]
fn playbook_runs_on_lab_hosts_found_through_ec2() {
    let lab = common::Lab::up("ec2inv", 2, false);
    let moto = Moto::start();
    // A VPC and subnet covering the lab's /24, one instance per lab host at its address.
    let first: std::net::Ipv4Addr = lab.hosts[0].addr.parse().unwrap();
    let o = first.octets();
    let batches: Vec<Value> = lab
        .hosts
        .iter()
        .map(|h| json!({"count": 1, "private_ip": h.addr, "tags": {"Name": h.name, "strata:stack": "lab", "strata:layer": "web"}}))
        .collect();
    moto.helper(
        "launch",
        &json!({"region": "us-east-1", "cidr": format!("{}.{}.0.0/16", o[0], o[1]), "subnet": format!("{}.{}.{}.0/24", o[0], o[1], o[2]), "batches": batches}),
    );
    let key = lab.key.display().to_string();
    let args = format!(
        "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
        lab.known_hosts.display()
    );
    let pb = lab
        .playbook("- hosts: layer_web\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"{{ inventory_hostname }} {{ instance_id }} {{ ec2_tags['strata:stack'] }}\\n\"\n        dest: /tmp/strata-ec2-marker\n")
        .file(
            "lab.aws_ec2.yml",
            &format!(
                "plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\nfilters:\n  tag:strata:stack: lab\nhostnames: [tag:Name]\nkeyed_groups:\n  - key: tags['strata:layer'].split(',')\n    prefix: layer\ncompose:\n  ansible_host: private_ip_address\n",
                moto.endpoint,
            ),
        )
        // Connection settings come from group_vars beside the EC2 config, as for any source.
        .file(
            "group_vars/layer_web.yml",
            &format!(
                "ansible_user: root\nansible_ssh_private_key_file: {}\nansible_ssh_common_args: {}\n",
                serde_json::to_string(&key).unwrap(),
                serde_json::to_string(&args).unwrap(),
            ),
        );
    let (dir, config) = (pb.dir(), pb.dir().join("lab.aws_ec2.yml"));
    pb.inventory(&config)
        .in_its_dir()
        .command(|cmd| aws_env(cmd, &dir, &KEYS))
        .run()
        .expect_clean();
    for h in &lab.hosts {
        let text = lab.ssh_ok(&h.name, "cat /tmp/strata-ec2-marker");
        let parts: Vec<&str> = text.split(' ').collect();
        assert_eq!(parts[0], h.name);
        assert!(parts[1].starts_with("i-"), "{text}");
        assert_eq!(parts[2], "lab");
    }
}
