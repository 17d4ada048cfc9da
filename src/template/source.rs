//! Source-level preparation of templates before minijinja compiles them.
//!
//! Ansible's undefined is strict everywhere except that attribute access on an undefined value
//! yields the same undefined (so `a.b.c | default('x')` and `a.b is defined` work when `a` is
//! missing). minijinja's strict mode errors on the second lookup instead. We therefore parse
//! the source, find attribute chains that are the direct operand of `default`/`d`/`mandatory`
//! or of the `defined`/`undefined` tests, and rewrite them into a call to a chain-lookup
//! function that propagates undefined. Offsets are recorded so that error positions still
//! point into the text the user wrote.

use std::collections::HashSet;

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::machinery::{parse, parse_expr};
use minijinja::syntax::SyntaxConfig;

/// Name of the global function that performs an undefined-propagating attribute chain.
pub const SOFT_CHAIN_FN: &str = "__strata_soft_chain";

/// Filters and tests whose operand may be undefined without raising.
const SOFT_FILTERS: &[&str] = &["default", "d", "mandatory"];
/// Of those, the ones whose operand never produces an undefined error (`mandatory` raises
/// its own, which is explained like any other).
const SILENT_FILTERS: &[&str] = &["default", "d"];
const SOFT_TESTS: &[&str] = &["defined", "undefined"];

/// A source string ready for minijinja plus the data needed to explain errors in it.
#[derive(Debug)]
pub struct Prepared {
    /// Text handed to minijinja (identical to the original when nothing was rewritten).
    pub compiled: String,
    /// Replaced regions: (start in compiled, end in compiled, start in original, end in original).
    edits: Vec<(usize, usize, usize, usize)>,
}

impl Prepared {
    /// Maps a byte offset in the compiled text back to the original text.
    pub fn original_offset(&self, off: usize) -> usize {
        let mut delta: isize = 0;
        for &(cs, ce, os, oe) in &self.edits {
            if off < cs {
                break;
            }
            if off < ce {
                return os;
            }
            delta = oe as isize - ce as isize;
        }
        (off as isize + delta).max(0) as usize
    }
}

/// Whether the source is a full template or a bare expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Template,
    Expression,
}

/// Parses `src` and produces the rewritten text. Syntax errors are returned as minijinja
/// errors with ranges in the original text.
pub fn prepare(src: &str, kind: Kind) -> Result<Prepared, minijinja::Error> {
    let finder = find(src, kind)?;
    let mut chains = finder.chains;
    chains.sort_by_key(|c| (c.start, std::cmp::Reverse(c.end)));
    let mut out = String::with_capacity(src.len() + 32 * chains.len());
    let mut edits = Vec::new();
    let mut pos = 0;
    for c in chains {
        if c.start < pos {
            continue; // nested inside a chain already rewritten
        }
        out.push_str(&src[pos..c.start]);
        let cs = out.len();
        out.push('(');
        out.push_str(SOFT_CHAIN_FN);
        out.push('(');
        out.push_str(c.root);
        for k in &c.keys {
            out.push_str(", ");
            match k {
                Key::Attr(name) => {
                    out.push('\'');
                    out.push_str(name);
                    out.push('\'');
                }
                Key::Item(s, e) => {
                    out.push('(');
                    out.push_str(&src[*s..*e]);
                    out.push(')');
                }
            }
        }
        out.push_str("))");
        edits.push((cs, out.len(), c.start, c.end));
        pos = c.end;
    }
    out.push_str(&src[pos..]);
    Ok(Prepared {
        compiled: out,
        edits,
    })
}

fn find(src: &str, kind: Kind) -> Result<Finder<'_>, minijinja::Error> {
    let mut finder = Finder::default();
    match kind {
        Kind::Template => {
            let syntax = SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .lstrip_blocks(false)
                .trim_blocks(true)
                .build()?;
            let stmt = parse(src, "<string>", syntax)?;
            finder.stmt(&stmt);
        }
        Kind::Expression => {
            let expr = parse_expr(src)?;
            finder.top_expr(&expr);
        }
    }
    Ok(finder)
}

/// Every variable reference in `src`, in source order.
pub fn refs(src: &str, kind: Kind) -> Result<Vec<Ref>, minijinja::Error> {
    Ok(find(src, kind)?.refs)
}

/// Names bound inside the template itself.
pub fn locals(src: &str, kind: Kind) -> HashSet<String> {
    find(src, kind).map(|f| f.locals).unwrap_or_default()
}

enum Key<'a> {
    Attr(&'a str),
    /// Byte range of the subscript expression in the original text.
    Item(usize, usize),
}

struct Chain<'a> {
    start: usize,
    end: usize,
    root: &'a str,
    keys: Vec<Key<'a>>,
}

/// Decomposes `a.b[c].d` into its root variable and keys; `None` for anything else
/// (calls, literals, parenthesised roots).
fn chain<'a>(e: &Expr<'a>) -> Option<Chain<'a>> {
    let end = e.span().end_offset as usize;
    let mut keys = Vec::new();
    let mut cur = e;
    loop {
        match cur {
            Expr::GetAttr(g) => {
                keys.push(Key::Attr(g.name));
                cur = &g.expr;
            }
            Expr::GetItem(g) => {
                let sp = g.subscript_expr.span();
                keys.push(Key::Item(sp.start_offset as usize, sp.end_offset as usize));
                cur = &g.expr;
            }
            Expr::Var(v) if !keys.is_empty() => {
                keys.reverse();
                return Some(Chain {
                    start: v.span().start_offset as usize,
                    end,
                    root: v.id,
                    keys,
                });
            }
            _ => return None,
        }
    }
}

/// A variable reference as written, for explaining undefined errors: `a.b['c']` has root `a`
/// and keys `b`, `c`; a key computed at run time is `None`.
#[derive(Clone, Debug)]
pub struct Ref {
    pub root: String,
    pub keys: Vec<Option<minijinja::Value>>,
    pub start: usize,
    pub end: usize,
    /// Span of the enclosing top-level expression (`{{ }}` body, `if` condition, ...).
    pub top: (usize, usize),
    /// Operand of `default`/`defined`: undefined is allowed there.
    pub soft: bool,
}

/// Visits every statement and expression, collecting soft chains, references and
/// template-local names.
#[derive(Default)]
pub(crate) struct Finder<'a> {
    chains: Vec<Chain<'a>>,
    pub(crate) refs: Vec<Ref>,
    pub(crate) locals: HashSet<String>,
    top: (usize, usize),
    soft_next: bool,
}

impl<'a> Finder<'a> {
    fn soft(&mut self, e: &Expr<'a>) {
        if let Some(c) = chain(e) {
            self.chains.push(c);
        }
    }

    fn target(&mut self, e: &Expr<'a>) {
        match e {
            Expr::Var(v) => {
                self.locals.insert(v.id.to_string());
            }
            Expr::List(l) => l.items.iter().for_each(|i| self.target(i)),
            Expr::Tuple(t) => t.items.iter().for_each(|i| self.target(i)),
            _ => {}
        }
    }

    fn body(&mut self, b: &[Stmt<'a>]) {
        b.iter().for_each(|s| self.stmt(s));
    }

    pub(crate) fn stmt(&mut self, s: &Stmt<'a>) {
        match s {
            Stmt::Template(t) => self.body(&t.children),
            Stmt::EmitExpr(e) => self.top_expr(&e.expr),
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                self.target(&f.target);
                self.locals.insert("loop".into());
                self.top_expr(&f.iter);
                if let Some(fe) = &f.filter_expr {
                    self.top_expr(fe);
                }
                self.body(&f.body);
                self.body(&f.else_body);
            }
            Stmt::IfCond(i) => {
                self.top_expr(&i.expr);
                self.body(&i.true_body);
                self.body(&i.false_body);
            }
            Stmt::WithBlock(w) => {
                for (t, e) in &w.assignments {
                    self.target(t);
                    self.top_expr(e);
                }
                self.body(&w.body);
            }
            Stmt::Set(st) => {
                self.target(&st.target);
                self.top_expr(&st.expr);
            }
            Stmt::SetBlock(sb) => {
                self.target(&sb.target);
                if let Some(f) = &sb.filter {
                    self.top_expr(f);
                }
                self.body(&sb.body);
            }
            Stmt::AutoEscape(a) => self.body(&a.body),
            Stmt::FilterBlock(f) => {
                self.top_expr(&f.filter);
                self.body(&f.body);
            }
            Stmt::Block(b) => self.body(&b.body),
            Stmt::Macro(m) => self.macro_decl(m),
            Stmt::CallBlock(c) => {
                self.call(&c.call);
                self.macro_decl(&c.macro_decl);
            }
            Stmt::Do(d) => self.call(&d.call),
            Stmt::Import(i) => self.target(&i.name),
            Stmt::FromImport(f) => {
                for (n, alias) in &f.names {
                    self.target(alias.as_ref().unwrap_or(n));
                }
            }
            Stmt::Extends(_) | Stmt::Include(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
        }
    }

    fn macro_decl(&mut self, m: &ast::Macro<'a>) {
        self.locals.insert(m.name.to_string());
        m.args.iter().for_each(|a| self.target(a));
        m.defaults.iter().for_each(|d| self.expr(d));
        for n in ["caller", "varargs", "kwargs"] {
            self.locals.insert(n.into());
        }
        self.body(&m.body);
    }

    fn top_expr(&mut self, e: &Expr<'a>) {
        let sp = e.span();
        self.top = (start_of(e), sp.end_offset as usize);
        self.expr(e);
    }

    fn call(&mut self, c: &ast::Call<'a>) {
        match &c.expr {
            // `x.items()`: `items` is a method, only the receiver is a reference.
            Expr::GetAttr(g) => self.expr(&g.expr),
            other => self.expr(other),
        }
        self.args(&c.args);
    }

    fn push_ref(
        &mut self,
        root: &str,
        keys: Vec<Option<minijinja::Value>>,
        span: (usize, usize),
        soft: bool,
    ) {
        let (start, end) = span;
        self.refs.push(Ref {
            root: root.to_string(),
            keys,
            start,
            end,
            top: self.top,
            soft,
        });
    }

    fn args(&mut self, args: &[CallArg<'a>]) {
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e),
            }
        }
    }

    pub(crate) fn expr(&mut self, e: &Expr<'a>) {
        let soft = std::mem::take(&mut self.soft_next);
        if let (Expr::GetAttr(_) | Expr::GetItem(_), Some(c)) = (e, chain(e)) {
            let keys = ref_keys(e);
            self.push_ref(c.root, keys, (c.start, c.end), soft);
            // Only subscripts remain to be visited: the chain itself is one reference.
            let mut cur = e;
            while let Expr::GetAttr(g) = cur {
                cur = &g.expr;
            }
            while let Expr::GetItem(g) = cur {
                self.expr(&g.subscript_expr);
                cur = &g.expr;
                while let Expr::GetAttr(g) = cur {
                    cur = &g.expr;
                }
            }
            return;
        }
        match e {
            Expr::Var(v) => {
                let sp = v.span();
                self.push_ref(
                    v.id,
                    Vec::new(),
                    (sp.start_offset as usize, sp.end_offset as usize),
                    soft,
                );
            }
            Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr);
                for x in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(x);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                c.ops.iter().for_each(|o| self.expr(&o.expr));
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                if let Some(f) = &i.false_expr {
                    self.expr(f);
                }
            }
            Expr::Filter(f) => {
                if let Some(x) = &f.expr {
                    if SOFT_FILTERS.contains(&f.name) {
                        self.soft(x);
                        self.soft_next = SILENT_FILTERS.contains(&f.name);
                    }
                    self.expr(x);
                    self.soft_next = false;
                }
                self.args(&f.args);
            }
            Expr::Test(t) => {
                if SOFT_TESTS.contains(&t.name) {
                    self.soft(&t.expr);
                    self.soft_next = true;
                }
                self.expr(&t.expr);
                self.soft_next = false;
                self.args(&t.args);
            }
            Expr::GetAttr(g) => self.expr(&g.expr),
            Expr::GetItem(g) => {
                self.expr(&g.expr);
                self.expr(&g.subscript_expr);
            }
            Expr::Call(c) => self.call(c),
            Expr::List(l) => l.items.iter().for_each(|i| self.expr(i)),
            Expr::Tuple(t) => t.items.iter().for_each(|i| self.expr(i)),
            Expr::Map(m) => {
                m.keys.iter().for_each(|k| self.expr(k));
                m.values.iter().for_each(|v| self.expr(v));
            }
        }
    }
}

/// Start offset of an expression including the root of an attribute chain, whose own span
/// starts at the first `.` or `[`.
fn start_of(e: &Expr<'_>) -> usize {
    let mut cur = e;
    loop {
        match cur {
            Expr::GetAttr(g) => cur = &g.expr,
            Expr::GetItem(g) => cur = &g.expr,
            Expr::Filter(f) if f.expr.is_some() => cur = f.expr.as_ref().unwrap(),
            Expr::Test(t) => cur = &t.expr,
            Expr::BinOp(b) => cur = &b.left,
            Expr::Compare(c) => cur = &c.expr,
            Expr::Call(c) => cur = &c.expr,
            Expr::Slice(s) => cur = &s.expr,
            Expr::IfExpr(i) => cur = &i.true_expr,
            other => {
                return (other.span().start_offset as usize).min(e.span().start_offset as usize);
            }
        }
    }
}

/// Constant keys of a chain, root first; computed subscripts become `None`.
fn ref_keys(e: &Expr<'_>) -> Vec<Option<minijinja::Value>> {
    let mut keys = Vec::new();
    let mut cur = e;
    loop {
        match cur {
            Expr::GetAttr(g) => {
                keys.push(Some(minijinja::Value::from(g.name)));
                cur = &g.expr;
            }
            Expr::GetItem(g) => {
                keys.push(match &g.subscript_expr {
                    Expr::Const(c) => Some(c.value.clone()),
                    _ => None,
                });
                cur = &g.expr;
            }
            _ => break,
        }
    }
    keys.reverse();
    keys
}

/// Byte offset of a 1-based line/0-based column position, as minijinja spans report them.
pub fn line_col(src: &str, off: usize) -> (u32, u32) {
    let off = off.min(src.len());
    let before = &src[..off];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0) as u32
        + 1;
    (line, col)
}
