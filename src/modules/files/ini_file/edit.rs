//! The text logic of `ini_file`, ported line for line from community.general's `do_ini` so
//! files it edits come out byte-identical: a fake section header is put in front of the
//! lines (options before the first section belong to it) and a lone `[` behind them, the
//! wanted section is cut out, edited and put back. Its quirks (a new file starts with a blank
//! line, new sections are appended without a separating blank line, commented-out options
//! are reused by default) are kept on purpose: they are what Ansible users' files look like.

use regex::Regex;

/// The section name Ansible uses for "before the first section".
const FAKE_SECTION: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// What to do to the file, after argument handling.
#[derive(Clone, Debug, Default)]
pub struct IniRequest {
    pub section: Option<String>,
    /// `section_has_values`: (option, accepted values; empty = any value).
    pub section_has_values: Vec<(String, Vec<String>)>,
    pub option: Option<String>,
    pub values: Vec<String>,
    pub present: bool,
    pub exclusive: bool,
    pub no_extra_spaces: bool,
    pub ignore_spaces: bool,
    pub allow_no_value: bool,
    pub modify_inactive_option: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniEdit {
    pub text: String,
    pub changed: bool,
    pub msg: &'static str,
}

/// One option line as Ansible's `match_opt` sees it.
struct OptMatch {
    commented: bool,
    value: String,
}

/// Option-line matchers for one option name: `match_opt` (also commented-out lines) and
/// `match_active_opt`. Lines are matched without their `\n`, where Python's `$` also matches.
struct Matcher {
    any: Regex,
    active: Regex,
}

impl Matcher {
    fn new(option: &str) -> Matcher {
        let o = regex::escape(option);
        Matcher {
            any: Regex::new(&format!(
                r"^( |\t)*([#;]?)( |\t)*({o})( |\t)*(=|$)( |\t)*(.*)"
            ))
            .expect("escaped option"),
            active: Regex::new(&format!(r"^()()( |\t)*({o})( |\t)*(=|$)( |\t)*(.*)"))
                .expect("escaped option"),
        }
    }

    fn matches(&self, line: &str, inactive_too: bool) -> Option<OptMatch> {
        let re = if inactive_too {
            &self.any
        } else {
            &self.active
        };
        let c = re.captures(line.strip_suffix('\n').unwrap_or(line))?;
        Some(OptMatch {
            commented: c.get(2).is_some_and(|g| !g.as_str().is_empty()),
            value: c.get(8).map_or("", |g| g.as_str()).to_string(),
        })
    }
}

/// Python's universal-newline text reading (`\r\n` and `\r` become `\n`) with the UTF-8 BOM
/// dropped, as `io.open(..., encoding="utf-8-sig")` does.
pub fn normalize_text(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s = s.strip_prefix('\u{feff}').unwrap_or(&s);
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn blank_or_comment(line: &str) -> bool {
    let l = line.strip_suffix('\n').unwrap_or(line);
    let l = l.trim_start_matches([' ', '\t']);
    l.is_empty() || l.starts_with(['#', ';'])
}

fn has_values(conds: &[(String, Vec<String>)], lines: &[String]) -> bool {
    conds.iter().all(|(opt, vals)| {
        let m = Matcher::new(opt);
        lines.iter().any(|l| {
            m.matches(l, true)
                .is_some_and(|mm| vals.is_empty() || vals.contains(&mm.value))
        })
    })
}

/// Edits `text` (already normalized). `Err` is the one case where Ansible's module crashes:
/// values without an option in an existing section.
pub fn do_ini(text: &str, req: &IniRequest) -> Result<IniEdit, String> {
    let mut values: Vec<String> = Vec::new();
    for v in &req.values {
        if !values.contains(v) {
            values.push(v.clone());
        }
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut changed = false;
    if lines.is_empty() {
        lines.push("\n".into());
    }
    if let Some(last) = lines.last_mut()
        && !last.ends_with('\n')
    {
        last.push('\n');
        changed = true;
    }
    lines.insert(0, format!("[{FAKE_SECTION}]"));
    lines.push("[".into());

    let section = match req.section.as_deref() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => FAKE_SECTION.to_string(),
    };
    let fmt = |o: &str, v: &str| {
        if req.no_extra_spaces {
            format!("{o}={v}\n")
        } else {
            format!("{o} = {v}\n")
        }
    };
    let section_re = Regex::new(&format!(r"^\[\s*{}\s*\]", regex::escape(section.trim())))
        .expect("escaped section");

    let mut within = false;
    let (mut start, mut end) = (0usize, 0usize);
    for (i, line) in lines.iter().enumerate() {
        if within && line.starts_with('[') {
            if has_values(&req.section_has_values, &lines[start..i]) {
                end = i;
                break;
            }
            within = false;
            start = 0;
            end = 0;
        }
        if section_re.is_match(line) {
            within = true;
            start = i;
        }
    }
    let before: Vec<String> = lines[..start].to_vec();
    let mut sec: Vec<String> = lines[start..end].to_vec();
    let after: Vec<String> = lines[end..].to_vec();
    let mut touched = vec![false; sec.len()];
    let mut msg = "OK";
    let mut no_value_present = false;

    let opt = req.option.clone().filter(|o| !o.is_empty());
    let matcher = req.option.as_deref().map(Matcher::new);
    let inactive = req.modify_inactive_option;
    let any_match = Matcher::matches;

    // Ansible's update_section_line.
    let update = |sec: &mut Vec<String>,
                  touched: &mut Vec<bool>,
                  i: usize,
                  newline: String,
                  changed: &mut bool,
                  msg: &mut &'static str| {
        let m = matcher.as_ref().expect("option given");
        let mut option_changed = None;
        if req.ignore_spaces
            && let Some(old) = any_match(m, &sec[i], true)
            && !old.commented
        {
            let new = any_match(m, &newline, true)
                .map(|n| n.value)
                .unwrap_or_default();
            option_changed = Some(old.value != new);
        }
        let option_changed = option_changed.unwrap_or(sec[i] != newline);
        if option_changed {
            sec[i] = newline;
            *changed = true;
            *msg = "option changed";
        }
        touched[i] = true;
    };

    if req.present
        && let Some(o) = &opt
    {
        let m = matcher.as_ref().expect("option given");
        for i in 0..sec.len() {
            let Some(hit) = m.matches(&sec[i], inactive) else {
                continue;
            };
            if !values.is_empty() && values.contains(&hit.value) {
                let newline = if hit.value.is_empty() && req.allow_no_value {
                    no_value_present = true;
                    format!("{o}\n")
                } else {
                    fmt(o, &hit.value)
                };
                update(&mut sec, &mut touched, i, newline, &mut changed, &mut msg);
                if let Some(p) = values.iter().position(|v| *v == hit.value) {
                    values.remove(p);
                }
            } else if values.is_empty() && req.allow_no_value {
                update(
                    &mut sec,
                    &mut touched,
                    i,
                    format!("{o}\n"),
                    &mut changed,
                    &mut msg,
                );
                no_value_present = true;
                break;
            }
        }
    }

    if req.present && req.exclusive && !req.allow_no_value {
        let Some(m) = matcher.as_ref() else {
            // Ansible passes `None` to re.escape here and crashes.
            if (!values.is_empty() && !sec.is_empty()) || sec.len() > 1 {
                return Err("option is required to set a value in a section".into());
            }
            return finish(before, sec, after, within, req, values, changed, msg, &fmt);
        };
        let o = req.option.clone().unwrap_or_default();
        if !values.is_empty() {
            for i in 0..sec.len() {
                if !touched[i] && m.matches(&sec[i], inactive).is_some() {
                    let v = values.remove(0);
                    update(
                        &mut sec,
                        &mut touched,
                        i,
                        fmt(&o, &v),
                        &mut changed,
                        &mut msg,
                    );
                    if values.is_empty() {
                        break;
                    }
                }
            }
        }
        for i in (1..sec.len()).rev() {
            if !touched[i] && m.matches(&sec[i], inactive).is_some() {
                sec.remove(i);
                touched.remove(i);
                changed = true;
                msg = "option changed";
            }
        }
    }

    if req.present {
        for i in (1..=sec.len()).rev() {
            if blank_or_comment(&sec[i - 1]) {
                continue;
            }
            if let Some(o) = &opt {
                if !values.is_empty() {
                    for v in values.iter().rev() {
                        sec.insert(i, fmt(o, v));
                        msg = "option added";
                        changed = true;
                    }
                } else if req.allow_no_value && !no_value_present {
                    sec.insert(i, format!("{o}\n"));
                    msg = "option added";
                    changed = true;
                }
            }
            break;
        }
    } else if let Some(o) = &opt {
        let m = Matcher::new(o);
        let keep: Vec<String> = if req.exclusive {
            sec.iter()
                .filter(|l| m.matches(l, false).is_none())
                .cloned()
                .collect()
        } else if !values.is_empty() {
            sec.iter()
                .filter(|l| {
                    !m.matches(l, false)
                        .is_some_and(|hit| values.contains(&hit.value))
                })
                .cloned()
                .collect()
        } else {
            sec.clone()
        };
        if keep != sec {
            changed = true;
            msg = "option changed";
            sec = keep;
        }
    } else if !sec.is_empty() {
        sec.clear();
        msg = "section removed";
        changed = true;
    }
    finish(before, sec, after, within, req, values, changed, msg, &fmt)
}

/// Reassembles the lines, drops the fake first and last lines and appends a missing section.
#[allow(clippy::too_many_arguments)]
fn finish(
    before: Vec<String>,
    sec: Vec<String>,
    after: Vec<String>,
    within: bool,
    req: &IniRequest,
    mut values: Vec<String>,
    mut changed: bool,
    mut msg: &'static str,
    fmt: &dyn Fn(&str, &str) -> String,
) -> Result<IniEdit, String> {
    let mut lines: Vec<String> = before.into_iter().chain(sec).chain(after).collect();
    if !lines.is_empty() {
        lines.remove(0);
    }
    lines.pop();
    if !within && req.present {
        let section = match req.section.as_deref() {
            Some(s) if !s.is_empty() => s,
            _ => FAKE_SECTION,
        };
        lines.push(format!("[{section}]\n"));
        msg = "section and option added";
        for (copt, cvals) in &req.section_has_values {
            if Some(copt) != req.option.as_ref() {
                if !cvals.is_empty() {
                    for v in cvals {
                        lines.push(fmt(copt, v));
                    }
                } else if req.allow_no_value {
                    lines.push(format!("{copt}\n"));
                }
            } else if !req.exclusive {
                for v in cvals {
                    if !values.contains(v) {
                        values.push(v.clone());
                    }
                }
            }
        }
        match req.option.as_deref().filter(|o| !o.is_empty()) {
            Some(o) if !values.is_empty() => {
                for v in &values {
                    lines.push(fmt(o, v));
                }
            }
            Some(o) if req.allow_no_value => lines.push(format!("{o}\n")),
            _ => msg = "only section added",
        }
        changed = true;
    }
    Ok(IniEdit {
        text: lines.concat(),
        changed,
        msg,
    })
}
