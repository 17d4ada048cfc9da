//! The `version` test: Python's `LooseVersion` (Ansible's default), `StrictVersion` and
//! semantic-version comparison.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Digits without leading zeros, compared numerically by length then text.
    Num(String),
    Str(String),
}

fn num(s: &str) -> Part {
    let t = s.trim_start_matches('0');
    Part::Num(if t.is_empty() { "0".into() } else { t.into() })
}

fn cmp_part(a: &Part, b: &Part) -> Result<Ordering, String> {
    match (a, b) {
        (Part::Num(x), Part::Num(y)) => Ok(x.len().cmp(&y.len()).then_with(|| x.cmp(y))),
        (Part::Str(x), Part::Str(y)) => Ok(x.cmp(y)),
        (Part::Num(_), Part::Str(_)) => {
            Err("'<' not supported between instances of 'int' and 'str'".into())
        }
        (Part::Str(_), Part::Num(_)) => {
            Err("'<' not supported between instances of 'str' and 'int'".into())
        }
    }
}

/// `LooseVersion` components: runs of digits, runs of lowercase letters, and whatever lies
/// between them (dots dropped).
fn loose(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut other = String::new();
    let chars: Vec<char> = v.chars().collect();
    let mut i = 0;
    let flush = |other: &mut String, parts: &mut Vec<Part>| {
        if !other.is_empty() {
            parts.push(Part::Str(std::mem::take(other)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c.is_ascii_lowercase() {
            flush(&mut other, &mut parts);
            let digit = c.is_ascii_digit();
            let start = i;
            while i < chars.len()
                && (if digit {
                    chars[i].is_ascii_digit()
                } else {
                    chars[i].is_ascii_lowercase()
                })
            {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            parts.push(if digit { num(&run) } else { Part::Str(run) });
            continue;
        }
        if c == '.' {
            flush(&mut other, &mut parts);
        } else {
            other.push(c);
        }
        i += 1;
    }
    flush(&mut other, &mut parts);
    parts
}

fn cmp_lists(a: &[Part], b: &[Part]) -> Result<Ordering, String> {
    for (x, y) in a.iter().zip(b) {
        let o = cmp_part(x, y)?;
        if o != Ordering::Equal {
            return Ok(o);
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// `StrictVersion`: `N.N[.N][(a|b)N]`; a pre-release sorts before the release.
/// Release numbers and optional pre-release tag (`a`/`b`) with its number.
type Strict = (Vec<Part>, Option<(String, Part)>);

fn strict(v: &str) -> Result<Strict, String> {
    let bad = || format!("invalid version number '{v}'");
    let (main, pre) = match v.find(['a', 'b']) {
        Some(i) => (&v[..i], Some((&v[i..i + 1], &v[i + 1..]))),
        None => (v, None),
    };
    let nums: Vec<&str> = main.split('.').collect();
    if !(2..=3).contains(&nums.len())
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad());
    }
    let mut parts: Vec<Part> = nums.iter().map(|n| num(n)).collect();
    if parts.len() == 2 {
        parts.push(num("0"));
    }
    let pre = match pre {
        Some((tag, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            Some((tag.to_string(), num(n)))
        }
        Some(_) => return Err(bad()),
        None => None,
    };
    Ok((parts, pre))
}

fn cmp_strict(a: &str, b: &str) -> Result<Ordering, String> {
    let (am, ap) = strict(a)?;
    let (bm, bp) = strict(b)?;
    let o = cmp_lists(&am, &bm)?;
    if o != Ordering::Equal {
        return Ok(o);
    }
    Ok(match (ap, bp) {
        (None, None) => Ordering::Equal,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some((t1, n1)), Some((t2, n2))) => t1.cmp(&t2).then(cmp_part(&n1, &n2)?),
    })
}

/// Semantic versions: `MAJOR.MINOR.PATCH[-pre][+build]`; build metadata is ignored.
fn cmp_semver(a: &str, b: &str) -> Result<Ordering, String> {
    let split = |v: &str| -> Result<(Vec<Part>, Vec<Part>), String> {
        let v = v.strip_prefix('v').unwrap_or(v);
        let v = v.split('+').next().unwrap_or(v);
        let (core, pre) = v.split_once('-').unwrap_or((v, ""));
        let nums: Vec<&str> = core.split('.').collect();
        if nums.len() != 3
            || nums
                .iter()
                .any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!("invalid semantic version '{v}'"));
        }
        let pre = if pre.is_empty() {
            Vec::new()
        } else {
            pre.split('.')
                .map(|p| {
                    if p.chars().all(|c| c.is_ascii_digit()) {
                        num(p)
                    } else {
                        Part::Str(p.into())
                    }
                })
                .collect()
        };
        Ok((nums.iter().map(|n| num(n)).collect(), pre))
    };
    let (am, ap) = split(a)?;
    let (bm, bp) = split(b)?;
    let o = cmp_lists(&am, &bm)?;
    if o != Ordering::Equal {
        return Ok(o);
    }
    Ok(match (ap.is_empty(), bp.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            for (x, y) in ap.iter().zip(&bp) {
                let o = match (x, y) {
                    (Part::Num(_), Part::Str(_)) => Ordering::Less,
                    (Part::Str(_), Part::Num(_)) => Ordering::Greater,
                    _ => cmp_part(x, y)?,
                };
                if o != Ordering::Equal {
                    return Ok(o);
                }
            }
            ap.len().cmp(&bp.len())
        }
    })
}

/// `value is version(other, operator, strict=False, version_type=None)`.
pub fn compare(
    value: &str,
    other: &str,
    op: &str,
    strict: bool,
    version_type: Option<&str>,
) -> Result<bool, String> {
    if value.is_empty() {
        return Err("Input version value cannot be empty".into());
    }
    if other.is_empty() {
        return Err("Version parameter to compare against cannot be empty".into());
    }
    let kind = version_type.unwrap_or(if strict { "strict" } else { "loose" });
    let ord = match kind {
        "loose" => cmp_lists(&loose(value), &loose(other)),
        "strict" => cmp_strict(value, other),
        "semver" | "semantic" => cmp_semver(value, other),
        other => {
            return Err(format!(
                "Invalid version type ({other}). Must be one of loose, strict, semver, semantic"
            ));
        }
    }
    .map_err(|e| format!("Version comparison failed: {e}"))?;
    use Ordering::*;
    Ok(match op {
        "<" | "lt" => ord == Less,
        "<=" | "le" => ord != Greater,
        ">" | "gt" => ord == Greater,
        ">=" | "ge" => ord != Less,
        "==" | "=" | "eq" => ord == Equal,
        "!=" | "<>" | "ne" => ord != Equal,
        other => return Err(format!("Invalid operator type ({other})")),
    })
}
