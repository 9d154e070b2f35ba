//! The emitter: JSON values to the exact text `kustomize build` prints.
//!
//! kustomize prints each resource through `sigs.k8s.io/yaml.JSONToYAML`,
//! that is go-yaml v2 marshalling a generic map. This module ports the parts
//! of that encoder and of its libyaml-derived emitter that such data can
//! reach: v2's "natural" key order, its choice of requested style per
//! string (literal for text with a newline, double quotes for text the v2
//! resolver would type differently, plain otherwise), libyaml's scalar
//! analysis and style selection, and the plain, single-quoted,
//! double-quoted and literal writers with their folding at column 80.
//! Columns count characters, as libyaml does. The writer keeps libyaml's
//! `column`/`whitespace`/`indention`/`indent` state so indentation and
//! line breaks come out identical; nesting is walked recursively (documents
//! come from the bounded parser or from the renderer). Quirks of the Go
//! port are kept where they show in the output: a value starting with a
//! byte order mark is escaped whole, and NEL inside a string folds when v2
//! reads the JSON back.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::float::go_format_g;
use crate::resolve::needs_double_quotes;
use crate::unicode_tables::{DECIMAL_DIGITS, LETTERS};
use crate::value::float_value;

const BEST_INDENT: isize = 2;
const BEST_WIDTH: usize = 80;

/// Prints documents the way `kustomize build` does: each one emitted on its
/// own, joined by `---\n`; nothing at all for no documents.
pub fn emit_documents(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit_into(&mut out, doc);
    }
    out
}

/// Prints one document, ending with a newline.
pub fn emit(doc: &Value) -> String {
    let mut out = String::new();
    emit_into(&mut out, doc);
    out
}

fn emit_into(out: &mut String, doc: &Value) {
    let mut e = Emitter {
        out,
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
    };
    e.node(
        doc,
        Ctx {
            mapping: false,
            simple_key: false,
        },
    );
    // Implicit document end.
    e.write_indent();
}

#[derive(Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter<'o> {
    out: &'o mut String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: isize,
    indents: Vec<isize>,
}

/// Sorts mapping entries in go-yaml v2's key order.
///
/// v2's order is not always transitive (`0x1F` < `1e3` < `0755` < `0x1F`),
/// and Go sorts a map's keys from its random iteration order, so kustomize
/// itself prints such keys in no fixed order. Here the entries are first put
/// in byte order, then sorted stably by v2's comparison (insertion sort for
/// small mappings, merge sort otherwise; neither can fail on an inconsistent
/// order): the result is deterministic, and identical to Go's whenever the
/// order is consistent.
fn sort_keys<V>(entries: &mut Vec<(Cow<'_, str>, V)>) {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if entries.len() <= 16 {
        // Small mappings (nearly all of them): a stable insertion sort.
        for i in 1..entries.len() {
            let mut j = i;
            while j > 0 && v2_key_less(&entries[j].0, &entries[j - 1].0) {
                entries.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mut src: Vec<_> = std::mem::take(entries);
    let n = src.len();
    let mut width = 1;
    while width < n {
        let mut out = Vec::with_capacity(n);
        let mut iter = src.into_iter().peekable();
        let mut remaining = n;
        while remaining > 0 {
            let left_len = width.min(remaining);
            let right_len = width.min(remaining - left_len);
            let mut left: std::collections::VecDeque<_> = (&mut iter).take(left_len).collect();
            let mut right: std::collections::VecDeque<_> = (&mut iter).take(right_len).collect();
            while let (Some(l), Some(r)) = (left.front(), right.front()) {
                // Take from the right only when it is strictly less: stable.
                if v2_key_less(&r.0, &l.0) {
                    out.extend(right.pop_front());
                } else {
                    out.extend(left.pop_front());
                }
            }
            out.extend(left);
            out.extend(right);
            remaining -= left_len + right_len;
        }
        src = out;
        width *= 2;
    }
    *entries = src;
}

/// Go's `unicode.IsLetter`.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_table(LETTERS, c)
    }
}

/// Go's `unicode.IsDigit`.
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_table(DECIMAL_DIGITS, c)
    }
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                Ordering::Less
            } else if lo > c {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

fn v2_key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return natural_less(a.as_bytes(), b.as_bytes(), |c| c as char);
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    natural_less(&ar, &br, |c| c)
}

fn natural_less<T: Copy + PartialEq>(ar: &[T], br: &[T], ch: impl Fn(T) -> char) -> bool {
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        let (ac, bc) = (ch(ar[i]), ch(br[i]));
        if ac == bc {
            i += 1;
            continue;
        }
        let al = is_letter(ac);
        let bl = is_letter(bc);
        if al && bl {
            return ac < bc;
        }
        if al || bl {
            return bl;
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ac == '0' || bc == '0' {
            let mut j = i;
            while j > 0 && is_digit(ch(ar[j - 1])) {
                j -= 1;
                if ch(ar[j]) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ch(ar[ai])) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(ch(ar[ai]) as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(ch(br[bi])) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(ch(br[bi]) as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ac < bc;
    }
    ar.len() < br.len()
}

/// A non-empty ASCII scalar of letters, digits and `._/-:` (`:` not
/// last, `-` not first): plain style holds it as is and there is nothing to
/// fold.
fn is_simple_plain(text: &str) -> bool {
    let b = text.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    b.last() != Some(&b':')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-' | b':'))
}

/// libyaml's scalar analysis (the parts block context uses).
pub(crate) struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    pub(crate) block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let c = c as u32;
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || (0xA0..=0xD7FF).contains(&c)
        || ((0xE000..=0xFFFD).contains(&c) && c != 0xFEFF)
}

pub(crate) fn analyze(value: &str) -> Analysis {
    analyze_with(value, false)
}

/// The analysis, optionally taking tabs as printable (go-yaml v3 does, as
/// its output shows).
pub(crate) fn analyze_with(value: &str, tab_printable: bool) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut preceded_by_ws = true;
    let mut previous_space = false;
    let mut previous_break = false;

    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let followed_by_ws = matches!(next, None | Some(' ' | '\t'));
        let last = next.is_none();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !(is_printable(c) || tab_printable && c == '\t') {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// What go-yaml v2 reads back from the JSON text of a string: Go's JSON
/// encoder leaves NEL (U+0085) raw, and inside a double-quoted scalar a raw
/// line break folds. The spaces before it are dropped, a single break becomes
/// one space, each further break a newline, and spaces after it are skipped.
fn v2_reread(s: &str) -> Cow<'_, str> {
    if !s.contains('\u{85}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut spaces = String::new();
    while let Some(c) = chars.next() {
        match c {
            ' ' => spaces.push(' '),
            '\u{85}' => {
                spaces.clear();
                let mut breaks = 0usize;
                while let Some(&n) = chars.peek() {
                    match n {
                        ' ' => {}
                        '\u{85}' => breaks += 1,
                        _ => break,
                    }
                    chars.next();
                }
                if breaks == 0 {
                    out.push(' ');
                } else {
                    out.extend(std::iter::repeat_n('\n', breaks));
                }
            }
            _ => {
                out.push_str(&spaces);
                spaces.clear();
                out.push(c);
            }
        }
    }
    out.push_str(&spaces);
    Cow::Owned(out)
}

/// The text and requested style go-yaml v2's encoder gives a scalar.
fn scalar_text(v: &Value) -> (Cow<'_, str>, Style) {
    match v {
        Value::Null => ("null".into(), Style::Plain),
        Value::Bool(b) => (if *b { "true" } else { "false" }.into(), Style::Plain),
        Value::Number(n) => (number_text(n).into(), Style::Plain),
        Value::String(s) => string_style(v2_reread(s)),
        Value::Array(_) | Value::Object(_) => (String::new().into(), Style::Plain),
    }
}

/// go-yaml v2's requested style for a string: literal with a newline,
/// double-quoted when the v2 resolver would type it, plain otherwise.
fn string_style(s: Cow<'_, str>) -> (Cow<'_, str>, Style) {
    let style = if s.contains('\n') {
        Style::Literal
    } else if needs_double_quotes(&s) {
        Style::Double
    } else {
        Style::Plain
    };
    (s, style)
}

fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    match float_value(f) {
        Some(Value::Number(m)) if m.as_i64().is_some() || m.as_u64().is_some() => number_text(&m),
        _ => go_format_g(f),
    }
}

impl Emitter<'_> {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn node(&mut self, v: &Value, ctx: Ctx) {
        match v {
            Value::Object(m) if !m.is_empty() => self.block_mapping(m),
            Value::Array(a) if !a.is_empty() => self.block_sequence(a, ctx),
            Value::Object(_) => self.empty_flow("{", "}"),
            Value::Array(_) => self.empty_flow("[", "]"),
            _ => {
                let (text, style) = scalar_text(v);
                self.scalar(&text, style, ctx);
            }
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Value], ctx: Ctx) {
        let indentless = ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(
                item,
                Ctx {
                    mapping: false,
                    simple_key: false,
                },
            );
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, map: &Map<String, Value>) {
        self.increase_indent(false, false);
        let mut entries: Vec<(Cow<'_, str>, &Value)> =
            map.iter().map(|(k, v)| (v2_reread(k), v)).collect();
        sort_keys(&mut entries);
        for (k, v) in entries {
            self.write_indent();
            let (text, style) = string_style(k);
            if style == Style::Plain && text.len() <= 128 && is_simple_plain(&text) {
                self.scalar(
                    &text,
                    style,
                    Ctx {
                        mapping: true,
                        simple_key: true,
                    },
                );
                self.write_indicator(":", false, false, false);
                self.node(
                    v,
                    Ctx {
                        mapping: true,
                        simple_key: false,
                    },
                );
                continue;
            }
            let analysis = analyze(&text);
            let simple = !analysis.multiline && text.len() <= 128;
            if simple {
                self.scalar_analyzed(
                    &text,
                    style,
                    &analysis,
                    Ctx {
                        mapping: true,
                        simple_key: true,
                    },
                );
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.scalar_analyzed(
                    &text,
                    style,
                    &analysis,
                    Ctx {
                        mapping: true,
                        simple_key: false,
                    },
                );
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(
                v,
                Ctx {
                    mapping: true,
                    simple_key: false,
                },
            );
        }
        self.pop_indent();
    }

    fn scalar(&mut self, text: &str, style: Style, ctx: Ctx) {
        if style == Style::Plain && is_simple_plain(text) {
            // The common case (names, numbers, images): the analysis would
            // allow plain style and there is no space to fold at.
            if !self.whitespace {
                self.put(' ');
            }
            self.out.push_str(text);
            self.column += text.len();
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let analysis = analyze(text);
        self.scalar_analyzed(text, style, &analysis, ctx);
    }

    fn scalar_analyzed(&mut self, text: &str, requested: Style, a: &Analysis, ctx: Ctx) {
        let mut style = requested;
        if ctx.simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (text.is_empty() && ctx.simple_key))
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || ctx.simple_key) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(text, allow_breaks),
            Style::Single => self.write_single(text, allow_breaks),
            Style::Double => self.write_double(text, allow_breaks),
            Style::Literal => self.write_literal(text),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            if c == ' ' {
                let next_space = chars.peek() == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = value.chars().enumerate().peekable();
        let n = value.chars().count();
        while let Some((i, c)) = chars.next() {
            if c == ' ' {
                let next_space = chars.peek().map(|&(_, n)| n) == Some(' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != n - 1
                    && !next_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        let mut chars = value.chars().enumerate().peekable();
        let n = value.chars().count();
        // go-yaml v2's `is_bom` looks at the start of the value whatever the
        // position it is asked about: a value starting with a byte order
        // mark has every character escaped.
        let escape_all = value.starts_with('\u{FEFF}');
        while let Some((i, c)) = chars.next() {
            if escape_all
                || !is_printable(c)
                || c == '\u{FEFF}'
                || is_break(c)
                || c == '"'
                || c == '\\'
            {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (prefix, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(prefix);
                        for k in (0..width).rev() {
                            let digit = (v >> (k * 4)) & 0xF;
                            let ch = char::from_digit(digit, 16)
                                .unwrap_or('0')
                                .to_ascii_uppercase();
                            self.put(ch);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < n - 1 {
                    self.write_indent();
                    if chars.peek().map(|&(_, n)| n) == Some(' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints.
        let mut chars = value.chars();
        if let Some(first) = chars.clone().next()
            && (first == ' ' || is_break(first))
        {
            self.write_indicator("2", false, false, false);
        }
        let mut rev = value.chars().rev();
        let chomp = match rev.next() {
            None => Some("-"),
            Some(last) if !is_break(last) => Some("-"),
            Some(_) => match rev.next() {
                None => Some("+"),
                Some(prev) if is_break(prev) => Some("+"),
                Some(_) => None,
            },
        };
        if let Some(h) = chomp {
            self.write_indicator(h, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in chars.by_ref() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_key_order() {
        let sorted = |keys: &[&'static str]| {
            let mut entries: Vec<(Cow<'_, str>, ())> =
                keys.iter().map(|k| (Cow::Borrowed(*k), ())).collect();
            sort_keys(&mut entries);
            entries
                .into_iter()
                .map(|(k, ())| k.into_owned())
                .collect::<Vec<_>>()
        };
        let keys = sorted(&["a10", "a2", "b", "a_", "aB", "A", "1", "10", "2"]);
        assert_eq!(keys, ["1", "2", "10", "A", "a_", "a2", "a10", "aB", "b"]);
        // Go's categories: ² and Ⅳ are neither letters nor digits, ٣ is a digit.
        let keys = sorted(&["a日", "aé", "aZ", "a١٢", "a٣", "a9", "a1", "aⅣ", "a²", "a_"]);
        assert_eq!(
            keys,
            ["a_", "a²", "aⅣ", "a1", "a9", "a٣", "a١٢", "aZ", "aé", "a日"]
        );
    }
}
