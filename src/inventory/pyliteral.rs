//! Python's `ast.literal_eval`, as far as INI inventories need it. Ansible passes every INI
//! variable value through `literal_eval` and keeps the raw text when that fails, so `port=80`
//! is a number, `debug=True` a boolean, `tags=['a']` a list, and `mode=yes` or `path=/x` stay
//! strings. Reproducing that exactly is what makes `ansible_port=2222` or `flag=False` behave
//! the same under strata as under Ansible.

use serde_json::{Map, Number, Value};

/// The value Ansible stores for INI value text `s`: the Python literal it spells, else `s`.
pub fn ini_value(s: &str) -> Value {
    literal_eval(s).unwrap_or_else(|| Value::from(s))
}

/// `None` when `s` is not a single Python literal (Ansible then keeps the text).
pub fn literal_eval(s: &str) -> Option<Value> {
    let mut p = Parser {
        s: s.as_bytes(),
        text: s,
        i: 0,
    };
    p.skip_ws();
    let v = p.expr()?;
    p.skip_ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Whitespace and `#` comments, which Python's tokenizer drops.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.i += 1,
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.skip_ws();
        match self.peek()? {
            // literal_eval accepts one sign in front of a number, nothing else.
            b'-' | b'+' => {
                let neg = self.peek() == Some(b'-');
                self.i += 1;
                self.skip_ws();
                let n = self.number()?;
                Some(if neg { negate(n)? } else { n })
            }
            b'[' => {
                self.i += 1;
                Some(Value::Array(self.items(b']')?))
            }
            b'(' => {
                self.i += 1;
                let start = self.i;
                let items = self.items(b')')?;
                // `(x)` is just x; a tuple needs a comma (or is empty).
                let inner = self.text[start..self.i - 1].trim_end();
                if items.len() == 1 && !inner.ends_with(',') {
                    return items.into_iter().next();
                }
                Some(Value::Array(items))
            }
            b'{' => {
                self.i += 1;
                self.brace()
            }
            b'0'..=b'9' | b'.' => self.number(),
            _ => self.name_or_string(),
        }
    }

    /// Comma-separated expressions up to `close`, trailing comma allowed.
    fn items(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.expr()?);
            if !self.eat(b',') {
                return self.eat(close).then_some(out);
            }
        }
    }

    /// A dict, or a set (which Ansible turns into a list).
    fn brace(&mut self) -> Option<Value> {
        if self.eat(b'}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr()?;
        if !self.eat(b':') {
            let mut items = vec![first];
            while self.eat(b',') {
                if self.eat(b'}') {
                    return Some(Value::Array(items));
                }
                items.push(self.expr()?);
            }
            return self.eat(b'}').then_some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let v = self.expr()?;
            map.insert(key_string(&key)?, v);
            if self.eat(b'}') {
                return Some(Value::Object(map));
            }
            if !self.eat(b',') {
                return None;
            }
            if self.eat(b'}') {
                return Some(Value::Object(map));
            }
            key = self.expr()?;
            if !self.eat(b':') {
                return None;
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            || (self.i > start
                && matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s[self.i - 1], b'e' | b'E')
                && !self.text[start..].starts_with("0x"))
        {
            self.i += 1;
        }
        let tok = &self.text[start..self.i];
        parse_number(tok)
    }

    fn name_or_string(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.i += 1;
        }
        let word = &self.text[start..self.i];
        if matches!(self.peek(), Some(b'\'' | b'"')) {
            let prefix = word.to_ascii_lowercase();
            if !matches!(prefix.as_str(), "" | "r" | "u" | "b" | "br" | "rb") {
                return None;
            }
            // Adjacent string literals concatenate, as in Python.
            let mut out = self.string(prefix.contains('r'))?;
            loop {
                let save = self.i;
                self.skip_ws();
                let pstart = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.i += 1;
                }
                let p = self.text[pstart..self.i].to_ascii_lowercase();
                if matches!(self.peek(), Some(b'\'' | b'"'))
                    && matches!(p.as_str(), "" | "r" | "u" | "b" | "br" | "rb")
                {
                    out.push_str(&self.string(p.contains('r'))?);
                } else {
                    self.i = save;
                    return Some(Value::String(out));
                }
            }
        }
        match word {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ => None,
        }
    }

    /// A quoted string body (single, double or triple quotes) with Python's escapes.
    fn string(&mut self, raw: bool) -> Option<String> {
        let q = self.peek()?;
        let triple = self.s[self.i..].starts_with(&[q, q, q]);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let c = rest.chars().next()?;
            if c as u32 == q as u32 && (!triple || rest.as_bytes().starts_with(&[q, q, q])) {
                self.i += if triple { 3 } else { 1 };
                return Some(out);
            }
            if c == '\n' && !triple {
                return None;
            }
            self.i += c.len_utf8();
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.text[self.i..].chars().next()?;
            self.i += e.len_utf8();
            if raw {
                out.push('\\');
                out.push(e);
                continue;
            }
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                '\\' | '\'' | '"' => out.push(e),
                '\n' => {}
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex = self.text.get(self.i..self.i + n)?;
                    out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                    self.i += n;
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

fn negate(v: Value) -> Option<Value> {
    if let Some(i) = v.as_i64() {
        return Some(Value::from(-i));
    }
    Number::from_f64(-v.as_f64()?).map(Value::Number)
}

/// Python's int and float literal forms (complex numbers are not data Ansible keeps).
fn parse_number(tok: &str) -> Option<Value> {
    if tok.is_empty() || tok.starts_with('_') || tok.ends_with('_') || tok.contains("__") {
        return None;
    }
    let clean = tok.replace('_', "");
    let lower = clean.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            return i64::from_str_radix(digits.trim_start_matches('_'), radix)
                .ok()
                .map(Value::from);
        }
    }
    if lower.bytes().all(|b| b.is_ascii_digit()) {
        // Python 3 refuses `010`; only zeros may lead with zero.
        if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|b| b != b'0') {
            return None;
        }
        return lower
            .parse::<i64>()
            .ok()
            .map(Value::from)
            .or_else(|| lower.parse::<u64>().ok().map(Value::from));
    }
    let ok = lower
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'));
    if !ok || !lower.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let f: f64 = lower.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// JSON object keys are strings; Python's `json.dumps` converts scalar keys this way.
fn key_string(k: &Value) -> Option<String> {
    match k {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_literals() {
        assert_eq!(ini_value("80"), json!(80));
        assert_eq!(ini_value("-3"), json!(-3));
        assert_eq!(ini_value("1.5"), json!(1.5));
        assert_eq!(ini_value("1e3"), json!(1000.0));
        assert_eq!(ini_value("0x1f"), json!(31));
        assert_eq!(ini_value("1_000"), json!(1000));
        assert_eq!(ini_value("True"), json!(true));
        assert_eq!(ini_value("None"), Value::Null);
        assert_eq!(ini_value("'a b'"), json!("a b"));
        assert_eq!(ini_value(r#""x\ty""#), json!("x\ty"));
        assert_eq!(ini_value("'a' \"b\""), json!("ab"));
        assert_eq!(ini_value("[1, 'x', [2]]"), json!([1, "x", [2]]));
        assert_eq!(ini_value("(1,)"), json!([1]));
        assert_eq!(ini_value("(1)"), json!(1));
        assert_eq!(ini_value("{'k': 2, 1: None}"), json!({"k": 2, "1": null}));
        assert_eq!(ini_value("{}"), json!({}));
        assert_eq!(ini_value("42 # answer"), json!(42));
    }

    #[test]
    fn everything_else_stays_text() {
        for s in [
            "yes",
            "010",
            "/etc/x",
            "val # comment",
            "{k:2}",
            "[1,x]",
            "1+2",
            "--5",
            "'open",
            "true",
            "f'x'",
            "1.2.3",
        ] {
            assert_eq!(ini_value(s), json!(s), "{s}");
        }
    }
}
