//! Scalar resolution: which type a plain scalar denotes.
//!
//! Two resolvers live here. [`resolve_plain`] ports go-yaml v3's `resolve()`
//! (the reader kustomize uses): YAML 1.2-ish booleans (`true`/`false` only),
//! nulls, integers through Go's `strconv.ParseInt(s, 0, 64)` after removing
//! `_` (so `0x`, `0o`, `0b` prefixes and YAML 1.1 leading-zero octal), then
//! `ParseUint`, then floats matching the YAML float pattern, and timestamps
//! in the four layouts go-yaml accepts. [`needs_double_quotes`] ports the
//! go-yaml v2 resolver the emitter consults: a string is double-quoted when
//! v2 would read it back as anything but a string (YAML 1.1 booleans such as
//! `yes`/`on`/`y` included) or when it looks like a base-60 float.

use std::fmt::Write as _;

/// What a plain scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    /// An integer; values beyond `i64` (up to `u64::MAX`) are kept exactly.
    Int(i128),
    Float(f64),
    Timestamp(Timestamp),
    Str,
}

/// A timestamp as go-yaml parses it with Go's `time.Parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanosecond: u32,
    /// Offset east of UTC in seconds; 0 for `Z` and for zone-less forms.
    pub offset_seconds: i32,
}

impl Timestamp {
    /// Formats the instant the way Go's `time.Time.MarshalJSON` does
    /// (RFC 3339 with nanoseconds, trailing zeros trimmed, `Z` for UTC).
    pub fn to_rfc3339(self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.nanosecond != 0 {
            let frac = format!("{:09}", self.nanosecond);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        if self.offset_seconds == 0 {
            s.push('Z');
        } else {
            let off = self.offset_seconds.unsigned_abs();
            let sign = if self.offset_seconds < 0 { '-' } else { '+' };
            let _ = write!(s, "{sign}{:02}:{:02}", off / 3600, (off / 60) % 60);
        }
        s
    }
}

/// Resolves a plain scalar the way go-yaml v3 does.
pub fn resolve_plain(text: &str) -> Resolved {
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    match text {
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match first {
        b'.' => match parse_dot_float(text) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => {
            if let Some(ts) = parse_timestamp(text) {
                return Resolved::Timestamp(ts);
            }
            let plain = without_underscores(text);
            if let Some(i) = go_parse_int(&plain) {
                return Resolved::Int(i);
            }
            if let Some(f) = yaml_style_float(&plain) {
                return Resolved::Float(f);
            }
            // go-yaml v3's own `0b`/`0o` prefixes, which let a sign follow
            // the prefix (`0b-1` is -1).
            match prefixed_int(&plain, "0b", 2).or_else(|| prefixed_int(&plain, "0o", 8)) {
                Some(i) => Resolved::Int(i),
                None => Resolved::Str,
            }
        }
        _ => Resolved::Str,
    }
}

/// Whether go-yaml v2 would double-quote this string when emitting it:
/// it resolves to a non-string under the v2 (YAML 1.1) resolver, or is a
/// base-60 float.
pub(crate) fn needs_double_quotes(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => matches!(
            s,
            "y" | "Y"
                | "yes"
                | "Yes"
                | "YES"
                | "true"
                | "True"
                | "TRUE"
                | "on"
                | "On"
                | "ON"
                | "n"
                | "N"
                | "no"
                | "No"
                | "NO"
                | "false"
                | "False"
                | "FALSE"
                | "off"
                | "Off"
                | "OFF"
                | "~"
                | "null"
                | "Null"
                | "NULL"
        ),
        b'.' => {
            matches!(s, ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF")
                || parse_dot_float(s).is_some()
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if matches!(s, "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF") {
                return true;
            }
            if parse_timestamp(s).is_some() {
                return true;
            }
            let plain = without_underscores(s);
            go_parse_int(&plain).is_some()
                || yaml_style_float(&plain).is_some()
                || prefixed_int(&plain, "0b", 2).is_some()
                || is_base60_float(s)
        }
        _ => false,
    }
}

fn without_underscores(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    }
}

/// go-yaml v2's `isBase60Float`:
/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        if i + 1 < b.len()
            && (b'0'..=b'5').contains(&b[i])
            && b[i + 1].is_ascii_digit()
            && !(i + 2 < b.len() && b[i + 2].is_ascii_digit())
        {
            i += 2;
        } else if i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let signed = s.starts_with(['+', '-']);
    let mag = parse_uint_base0(body)?;
    if neg {
        if mag <= 1u128 << 63 {
            return Some(-(mag as i128));
        }
        return None;
    }
    if mag <= i64::MAX as u128 {
        return Some(mag as i128);
    }
    // ParseUint accepts no sign.
    if !signed && mag <= u64::MAX as u128 {
        return Some(mag as i128);
    }
    None
}

/// go-yaml's explicit-prefix fallback: `0b…` is `ParseInt(rest, 2)` (then
/// `ParseUint`), `-0b…` is `ParseInt("-" + rest, 2)`; likewise `0o` in v3.
fn prefixed_int(plain: &str, prefix: &str, base: u32) -> Option<i128> {
    if let Some(rest) = plain.strip_prefix(prefix) {
        let (neg, digits) = match rest.as_bytes().first()? {
            b'+' => (false, &rest[1..]),
            b'-' => (true, &rest[1..]),
            _ => (false, rest),
        };
        let mag = parse_digits(digits, base)?;
        return if neg {
            (mag <= 1u128 << 63).then(|| -(mag as i128))
        } else if mag <= i64::MAX as u128 || !rest.starts_with('+') {
            Some(mag as i128)
        } else {
            None
        };
    }
    let rest = plain.strip_prefix('-')?.strip_prefix(prefix)?;
    let mag = parse_digits(rest, base)?;
    (mag <= 1u128 << 63).then(|| -(mag as i128))
}

/// Digits in a base, at least one, up to `u64::MAX`.
fn parse_digits(digits: &str, base: u32) -> Option<u128> {
    if digits.is_empty() {
        return None;
    }
    let mut n: u128 = 0;
    for c in digits.chars() {
        n = n * base as u128 + c.to_digit(base)? as u128;
        if n > u64::MAX as u128 {
            return None;
        }
    }
    Some(n)
}

/// The unsigned part of Go's base-0 integer syntax; `None` on bad syntax or
/// a value beyond `u64`.
fn parse_uint_base0(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (base, digits): (u32, &[u8]) = if b[0] == b'0' {
        if b.len() >= 3 {
            match b[1].to_ascii_lowercase() {
                b'b' => (2, &b[2..]),
                b'o' => (8, &b[2..]),
                b'x' => (16, &b[2..]),
                _ => (8, &b[1..]),
            }
        } else {
            (8, &b[1..])
        }
    } else {
        (10, b)
    };
    let mut n: u128 = 0;
    for &c in digits {
        let d = (c as char).to_digit(base)?;
        n = n * base as u128 + d as u128;
        if n > u64::MAX as u128 {
            return None;
        }
    }
    Some(n)
}

/// `yamlStyleFloat` (`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
/// then Go's `ParseFloat`, which fails (so the scalar stays a string) when
/// the value overflows.
fn yaml_style_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start {
        // \.[0-9]+
        if i >= b.len() || b[i] != b'.' {
            return None;
        }
        i += 1;
        let fs = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == fs {
            return None;
        }
    } else if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let es = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == es {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() { None } else { Some(f) }
}

/// Go's `ParseFloat` on a scalar starting with `.` (the only forms it takes
/// there are `.digits` with an optional exponent).
fn parse_dot_float(s: &str) -> Option<f64> {
    if s.len() < 2 || !s.as_bytes()[1].is_ascii_digit() {
        return None;
    }
    if s.contains('_') {
        // ParseFloat takes `_` between digits only.
        if !go_underscore_ok(s) {
            return None;
        }
        return yaml_style_float(&s.replace('_', ""));
    }
    yaml_style_float(s)
}

/// Go's `underscoreOK` for a decimal number: every `_` sits between two
/// digits.
fn go_underscore_ok(s: &str) -> bool {
    let mut saw = b'^';
    for &c in s.as_bytes() {
        if c.is_ascii_digit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// go-yaml's `parseTimestamp`: the layouts `2006-1-2T15:4:5.999999999Z07:00`,
/// the same with a lower-case `t`, `2006-1-2 15:4:5.999999999` and
/// `2006-1-2`, with Go `time.Parse` rules (one- or two-digit fields, range
/// checks, optional fraction).
pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year: i32 = s[..4].parse().ok()?;
    let mut i = 5;
    let month = getnum(b, &mut i)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if b.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    let day = getnum(b, &mut i)?;
    let mut ts = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: 0,
        offset_seconds: 0,
    };
    if i != b.len() {
        let sep = b[i];
        let zoned = match sep {
            b'T' | b't' => true,
            b' ' => false,
            _ => return None,
        };
        i += 1;
        if !zoned {
            // Go's time.Parse matches a layout space to a run of spaces.
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
        }
        ts.hour = getnum(b, &mut i)?;
        if ts.hour >= 24 || b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        ts.minute = getnum(b, &mut i)?;
        if ts.minute >= 60 || b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        ts.second = getnum(b, &mut i)?;
        if ts.second >= 60 {
            return None;
        }
        // Optional fraction: a period or comma followed by a digit.
        if i + 1 < b.len() && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &s[start..i];
            let mut ns: u64 = 0;
            for (k, c) in digits.bytes().enumerate() {
                if k >= 9 {
                    break;
                }
                ns = ns * 10 + (c - b'0') as u64;
            }
            for _ in digits.len()..9 {
                ns *= 10;
            }
            ts.nanosecond = ns as u32;
        }
        if zoned {
            match b.get(i) {
                Some(b'Z') => i += 1,
                Some(&sign @ (b'+' | b'-')) => {
                    if b.len() < i + 6 || b[i + 3] != b':' {
                        return None;
                    }
                    let h = two_digits(&b[i + 1..i + 3])?;
                    let m = two_digits(&b[i + 4..i + 6])?;
                    if h > 24 || m > 60 {
                        return None;
                    }
                    let off = ((h * 60 + m) * 60) as i32;
                    ts.offset_seconds = if sign == b'-' { -off } else { off };
                    i += 6;
                }
                _ => return None,
            }
        }
        if i != b.len() {
            return None;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return None;
    }
    Some(ts)
}

fn two_digits(b: &[u8]) -> Option<u32> {
    if b.len() == 2 && b[0].is_ascii_digit() && b[1].is_ascii_digit() {
        Some(((b[0] - b'0') * 10 + (b[1] - b'0')) as u32)
    } else {
        None
    }
}

/// Go's `getnum(s, false)`: one or two digits.
fn getnum(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = *b.get(*i)?;
    if !d0.is_ascii_digit() {
        return None;
    }
    match b.get(*i + 1) {
        Some(d1) if d1.is_ascii_digit() => {
            *i += 2;
            Some(((d0 - b'0') * 10 + (d1 - b'0')) as u32)
        }
        _ => {
            *i += 1;
            Some((d0 - b'0') as u32)
        }
    }
}

fn days_in(month: u32, year: i32) -> u32 {
    match month {
        2 => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(resolve_plain("0755"), Resolved::Int(493));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("+1"), Resolved::Int(1));
        assert_eq!(resolve_plain("-0x10"), Resolved::Int(-16));
        assert_eq!(
            resolve_plain("12345678901234567890"),
            Resolved::Int(12345678901234567890)
        );
        assert_eq!(resolve_plain("08"), Resolved::Float(8.0));
        assert_eq!(resolve_plain("0x"), Resolved::Str);
        assert_eq!(resolve_plain("0b-1"), Resolved::Int(-1));
        assert_eq!(resolve_plain("0o+7"), Resolved::Int(7));
        assert_eq!(resolve_plain("-0o-7"), Resolved::Str);
        assert_eq!(resolve_plain("0O-4"), Resolved::Str);
        assert_eq!(resolve_plain("-"), Resolved::Str);
    }

    #[test]
    fn floats_and_others() {
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert_eq!(resolve_plain(".5_5"), Resolved::Float(0.55));
        assert_eq!(resolve_plain("._5"), Resolved::Str);
        assert_eq!(resolve_plain(".5__5"), Resolved::Str);
        assert_eq!(resolve_plain("1_0.5_"), Resolved::Float(10.5));
        assert_eq!(resolve_plain("yes"), Resolved::Str);
        assert_eq!(resolve_plain("True"), Resolved::Bool(true));
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert!(matches!(resolve_plain(".NaN"), Resolved::Float(f) if f.is_nan()));
    }

    #[test]
    fn timestamps() {
        let Resolved::Timestamp(t) = resolve_plain("2024-01-01") else {
            panic!("not a timestamp")
        };
        assert_eq!(t.to_rfc3339(), "2024-01-01T00:00:00Z");
        let Resolved::Timestamp(t) = resolve_plain("2024-1-2t3:04:05.120+02:30") else {
            panic!("not a timestamp")
        };
        assert_eq!(t.to_rfc3339(), "2024-01-02T03:04:05.12+02:30");
        assert_eq!(resolve_plain("2024-02-30"), Resolved::Str);
        let Resolved::Timestamp(t) = resolve_plain("2024-1-2   3:4:5,5") else {
            panic!("not a timestamp")
        };
        assert_eq!(t.to_rfc3339(), "2024-01-02T03:04:05.5Z");
        assert_eq!(resolve_plain("2024-13-01"), Resolved::Str);
    }

    #[test]
    fn v2_quoting() {
        for s in [
            "yes",
            "on",
            "Off",
            "y",
            "N",
            "",
            "~",
            "1.0",
            "0755",
            "12:30",
            "1_000",
            "0x1F",
            "1e3",
            "2024-01-01",
            ".5",
            "-.inf",
            "190:20:30",
        ] {
            assert!(needs_double_quotes(s), "{s}");
        }
        for s in [
            "yess", "hello", "1e400", "1.2.3", "12:60", "-", "<<", "0x", "x1",
        ] {
            assert!(!needs_double_quotes(s), "{s}");
        }
    }
}
