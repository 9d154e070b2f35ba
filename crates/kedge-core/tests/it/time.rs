//! `metav1.Time` and `MicroTime` formatting and parsing.

use kedge_core::{MicroTime, Time};

#[test]
fn time_formats() {
    let t = Time::from_unix_seconds(0).unwrap();
    assert_eq!(t.to_string(), "1970-01-01T00:00:00Z");
    let t = Time::parse("2024-02-29T23:59:59-01:00").unwrap();
    assert_eq!(t.to_string(), "2024-03-01T00:59:59Z");
    assert_eq!(
        serde_json::to_string(&t).unwrap(),
        "\"2024-03-01T00:59:59Z\""
    );
    let back: Time = serde_json::from_str("\"2024-03-01T00:59:59Z\"").unwrap();
    assert_eq!(back, t);
    let m = MicroTime::parse("2024-03-01T00:59:59.5Z").unwrap();
    assert_eq!(m.to_string(), "2024-03-01T00:59:59.500000Z");
    assert!(serde_json::from_str::<MicroTime>("\"nope\"").is_err());
    assert!(Time::now() <= Time::now());
}
