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
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
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
    }
}
