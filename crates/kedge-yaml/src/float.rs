//! Go's `strconv.FormatFloat(f, 'g', -1, 64)`, the float format of go-yaml
//! v2's encoder.
//!
//! Rust's `{:e}` already prints the shortest digits that round-trip (the
//! same digits Go's shortest mode picks); this module only lays them out the
//! Go way: `%e` when the decimal exponent is below -4 or at least 6 (Go's
//! rule for the shortest precision), with a sign and at least two exponent
//! digits (`1e+21`, `1e-06`), and `%f` otherwise.

/// Formats a finite float as Go's `FormatFloat(f, 'g', -1, 64)` does.
pub(crate) fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, exp) = shortest_digits(f.abs());
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        push_e(&mut out, &digits, exp);
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// The shortest decimal digits that read back as `f` (positive, finite),
/// and the decimal exponent of the first digit. Among candidates of that
/// length Go picks the one closest to the exact binary value, ties to even;
/// Rust's shortest printer can pick the other one of a tie, so the digits
/// are re-derived from the exact expansion, rounded half to even.
fn shortest_digits(f: f64) -> (String, i32) {
    let (digits, exp) = split_sci(&format!("{f:e}"));
    let n = digits.len();
    // Every f64 has an exact decimal expansion of at most 767 digits.
    let (exact, exact_exp) = split_sci(&format!("{f:.800e}"));
    let exact = exact.as_bytes();
    let (head, rest) = exact.split_at(n.min(exact.len()));
    let mut rounded: Vec<u8> = head.to_vec();
    let up = match rest.first() {
        Some(b'6'..=b'9') => true,
        Some(b'5') => {
            rest[1..].iter().any(|&d| d != b'0')
                || rounded.last().is_some_and(|d| (d - b'0') % 2 == 1)
        }
        _ => false,
    };
    let mut new_exp = exact_exp;
    if up {
        let mut i = rounded.len();
        loop {
            if i == 0 {
                rounded.insert(0, b'1');
                rounded.pop();
                new_exp += 1;
                break;
            }
            i -= 1;
            if rounded[i] == b'9' {
                rounded[i] = b'0';
            } else {
                rounded[i] += 1;
                break;
            }
        }
    }
    let candidate = String::from_utf8(rounded).unwrap_or_default();
    let trimmed = candidate.trim_end_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    let text = format!("{}.{}e{}", &trimmed[..1], &trimmed[1..], new_exp);
    if text.parse::<f64>().ok() == Some(f) && trimmed.len() <= n {
        (trimmed.to_string(), new_exp)
    } else {
        (digits, exp)
    }
}

/// Splits Rust's `{:e}` output into its digits (no point) and exponent.
fn split_sci(sci: &str) -> (String, i32) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let digits = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

fn push_e(out: &mut String, digits: &str, exp: i32) {
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

#[cfg(test)]
mod tests {
    use super::go_format_g;

    #[test]
    fn go_layout() {
        assert_eq!(go_format_g(1e21), "1e+21");
        assert_eq!(go_format_g(1e20), "1e+20");
        assert_eq!(go_format_g(0.000001), "1e-06");
        assert_eq!(go_format_g(0.0001), "0.0001");
        assert_eq!(go_format_g(0.5), "0.5");
        assert_eq!(go_format_g(123456789.123), "1.23456789123e+08");
        assert_eq!(go_format_g(123456.5), "123456.5");
        assert_eq!(go_format_g(1234567.5), "1.2345675e+06");
        assert_eq!(go_format_g(-2.5e-300), "-2.5e-300");
        assert_eq!(go_format_g(100000.0), "100000");
        assert_eq!(go_format_g(1000000.0), "1e+06");
        // A tie between two shortest candidates goes to the even digit.
        assert_eq!(
            go_format_g("-680394385367749.25".parse().unwrap()),
            "-6.803943853677492e+14"
        );
        assert_eq!(
            go_format_g("908802413190240.25".parse().unwrap()),
            "9.088024131902402e+14"
        );
        assert_eq!(go_format_g(0.1), "0.1");
        assert_eq!(go_format_g(5e-324), "5e-324");
        assert_eq!(go_format_g(f64::MAX), "1.7976931348623157e+308");
    }
}
