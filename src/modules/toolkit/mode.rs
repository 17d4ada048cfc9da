//! File modes as Ansible accepts them: integers (YAML `0644` is already octal 420), octal
//! strings (`"0644"`, `"644"`), symbolic modes (`u=rw,g=r,o=`, `u+x`, `a-w`, `g=u`, `X`, `s`,
//! `t`) and `preserve`. Symbolic modes are evaluated here with Ansible's rules, so a module can
//! tell from a probe whether a file needs a `chmod` before touching it.

use serde_json::Value;

/// A requested mode, parsed and syntax-checked before any host is touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModeSpec {
    Octal(u32),
    Symbolic(String),
    /// `copy`/`template`: keep the source file's mode.
    Preserve,
}

const PERM_BITS: u32 = 0o7777;
const EXEC_BITS: u32 = 0o111;

impl ModeSpec {
    /// Parses a `mode:` argument. Errors use Ansible's wording.
    pub fn parse(v: &Value) -> Result<ModeSpec, String> {
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(m) if m <= PERM_BITS as u64 => Ok(ModeSpec::Octal(m as u32)),
                _ => Err(format!("mode must be in octal or symbolic form: {n}")),
            },
            Value::String(s) => Self::parse_str(s),
            other => Err(format!("mode must be in octal or symbolic form: {other}")),
        }
    }

    pub fn parse_str(s: &str) -> Result<ModeSpec, String> {
        let s = s.trim();
        if s == "preserve" {
            return Ok(ModeSpec::Preserve);
        }
        // Ansible tries Python's `int(mode, 8)` first, which also takes a `0o` prefix: that is
        // how `mode: 0o644` arrives, since YAML 1.1 reads it as a string.
        let digits = s
            .strip_prefix("0o")
            .or_else(|| s.strip_prefix("0O"))
            .unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return match u32::from_str_radix(digits, 8) {
                Ok(m) if m <= PERM_BITS => Ok(ModeSpec::Octal(m)),
                _ => Err(format!("mode must be in octal or symbolic form: {s}")),
            };
        }
        // Validate the symbolic form now by evaluating it against an arbitrary mode.
        symbolic_to_octal(s, 0o644, false, 0o022)?;
        Ok(ModeSpec::Symbolic(s.to_string()))
    }

    /// The mode a file currently at `current` (permission bits) ends up with. `umask` matters
    /// only for symbolic clauses without a user class (`+x`), as in chmod(1) and Ansible.
    /// `Preserve` has no meaning here and keeps the current mode.
    pub fn apply(&self, current: u32, is_dir: bool, umask: u32) -> Result<u32, String> {
        match self {
            ModeSpec::Octal(m) => Ok(*m),
            ModeSpec::Symbolic(s) => symbolic_to_octal(s, current & PERM_BITS, is_dir, umask),
            ModeSpec::Preserve => Ok(current & PERM_BITS),
        }
    }

    /// The argument to hand to a remote `chmod`: octal digits or the symbolic string, which
    /// POSIX chmod evaluates with the same rules as [`ModeSpec::apply`].
    pub fn chmod_arg(&self) -> Option<String> {
        match self {
            ModeSpec::Octal(m) => Some(format!("{m:04o}")),
            ModeSpec::Symbolic(s) => Some(s.clone()),
            ModeSpec::Preserve => None,
        }
    }
}

/// Ansible's return-value form: `"0644"`.
pub fn mode_string(m: u32) -> String {
    format!("{:04o}", m & PERM_BITS)
}

fn bad(clause: &str) -> String {
    format!("bad symbolic permission for mode: {clause}")
}

/// Evaluates a comma-separated symbolic mode clause by clause (Ansible's
/// `_symbolic_mode_to_octal`): each operator sees the mode produced by the previous ones.
fn symbolic_to_octal(spec: &str, current: u32, is_dir: bool, umask: u32) -> Result<u32, String> {
    let mut mode = current;
    for clause in spec.split(',') {
        let op_at = clause
            .find(['+', '-', '='])
            .ok_or_else(|| format!("mode must be in octal or symbolic form: {spec}"))?;
        let who = &clause[..op_at];
        if !who.chars().all(|c| "ugoa".contains(c)) {
            return Err(bad(clause));
        }
        let use_umask = who.is_empty();
        let users: Vec<char> = if who.is_empty() || who.contains('a') {
            vec!['u', 'g', 'o']
        } else {
            who.chars().collect()
        };
        // The rest is a sequence of (operator, perms) pairs, e.g. `u+x-w`.
        let mut rest = &clause[op_at..];
        while let Some(op) = rest.chars().next() {
            let body = &rest[1..];
            let end = body.find(['+', '-', '=']).unwrap_or(body.len());
            let perms = &body[..end];
            rest = &body[end..];
            if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                return Err(bad(clause));
            }
            for &user in &users {
                let mut bits = perms
                    .chars()
                    .fold(0, |acc, p| acc | perm_bits(user, p, mode, is_dir));
                if use_umask {
                    bits &= !umask;
                }
                mode = apply_op(user, op, bits, mode);
            }
        }
    }
    Ok(mode)
}

/// The bits one permission letter means for one user class, given the mode so far.
fn perm_bits(user: char, perm: char, prev: u32, is_dir: bool) -> u32 {
    let shift = match user {
        'u' => 6,
        'g' => 3,
        _ => 0,
    };
    let class = |c: u32| c << shift;
    let copy_from = |from_shift: u32| ((prev >> from_shift) & 0o7) << shift;
    match perm {
        'r' => class(0o4),
        'w' => class(0o2),
        'x' => class(0o1),
        'X' if is_dir || prev & EXEC_BITS != 0 => class(0o1),
        'X' => 0,
        's' => match user {
            'u' => 0o4000,
            'g' => 0o2000,
            _ => 0,
        },
        't' if user == 'o' => 0o1000,
        't' => 0,
        'u' => copy_from(6),
        'g' => copy_from(3),
        'o' => copy_from(0),
        _ => 0,
    }
}

fn apply_op(user: char, op: char, bits: u32, current: u32) -> u32 {
    match op {
        '=' => {
            let mask = match user {
                'u' => 0o700 | 0o4000,
                'g' => 0o070 | 0o2000,
                _ => 0o007 | 0o1000,
            };
            (current & (mask ^ PERM_BITS)) | bits
        }
        '+' => current | bits,
        _ => current & !bits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sym(s: &str, cur: u32) -> u32 {
        ModeSpec::parse_str(s)
            .unwrap()
            .apply(cur, false, 0o022)
            .unwrap()
    }

    #[test]
    fn octal_forms() {
        assert_eq!(
            ModeSpec::parse(&json!(420)).unwrap(),
            ModeSpec::Octal(0o644)
        );
        assert_eq!(
            ModeSpec::parse(&json!("0644")).unwrap(),
            ModeSpec::Octal(0o644)
        );
        assert_eq!(
            ModeSpec::parse(&json!("755")).unwrap(),
            ModeSpec::Octal(0o755)
        );
        assert_eq!(
            ModeSpec::parse(&json!("04755")).unwrap(),
            ModeSpec::Octal(0o4755)
        );
        assert_eq!(
            ModeSpec::parse(&json!("preserve")).unwrap(),
            ModeSpec::Preserve
        );
        assert!(ModeSpec::parse(&json!("99999")).is_err());
        // `mode: 0o640` in YAML 1.1 is a string; Python's int(s, 8) accepts the prefix.
        assert_eq!(
            ModeSpec::parse(&json!("0o640")).unwrap(),
            ModeSpec::Octal(0o640)
        );
        assert!(ModeSpec::parse(&json!("0o")).is_err());
        assert_eq!(mode_string(0o644), "0644");
    }

    #[test]
    fn symbolic_forms() {
        assert_eq!(sym("u=rw,g=r,o=r", 0o777), 0o644);
        assert_eq!(sym("u+rwx,g-w,o=", 0o664), 0o740);
        assert_eq!(sym("a-w", 0o666), 0o444);
        assert_eq!(sym("+x", 0o644), 0o755);
        assert_eq!(sym("g=u", 0o640), 0o660);
        assert_eq!(sym("u+s,o+t", 0o755), 0o5755);
        assert_eq!(sym("u=rwx,go=rx", 0), 0o755);
        assert_eq!(sym("a+X", 0o644), 0o644);
        assert_eq!(sym("a+X", 0o744), 0o755);
        assert_eq!(
            ModeSpec::parse_str("a+X")
                .unwrap()
                .apply(0o644, true, 0o022)
                .unwrap(),
            0o755
        );
        assert_eq!(sym("u+x-w", 0o644), 0o544);
    }

    #[test]
    fn symbolic_errors() {
        assert_eq!(
            ModeSpec::parse_str("z+x").unwrap_err(),
            "bad symbolic permission for mode: z+x"
        );
        assert_eq!(
            ModeSpec::parse_str("u+q").unwrap_err(),
            "bad symbolic permission for mode: u+q"
        );
        assert!(ModeSpec::parse_str("rw").is_err());
    }

    #[test]
    fn matches_chmod_for_symbolic_modes() {
        // The remote side uses chmod(1) for symbolic modes; both evaluators must agree.
        let dir = crate::modules::harness::Scratch::new("mode");
        let f = dir.path("f");
        for (start, spec) in [
            (0o640, "u+x,g=u,o-r"),
            (0o600, "a+X"),
            (0o751, "go=r"),
            (0o644, "u=rwx,g=rx,o="),
        ] {
            std::fs::write(&f, "x").unwrap();
            let st = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "umask 022; chmod {start:o} {0} && chmod {spec} {0}",
                    f.display()
                ))
                .status()
                .unwrap();
            assert!(st.success());
            assert_eq!(
                crate::modules::harness::mode_of(&f),
                sym(spec, start),
                "{spec} from {start:o}"
            );
        }
    }
}
