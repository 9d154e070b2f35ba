//! `metav1.Time` and `metav1.MicroTime`: UTC timestamps as Kubernetes
//! serializes them.
//!
//! `Time` (creationTimestamp, deletionTimestamp, condition times) prints RFC
//! 3339 with second precision and a `Z` suffix (`2024-05-01T10:00:00Z`);
//! `MicroTime` (managedFields times, lease renewals, events.k8s.io
//! `eventTime`) prints six fractional digits (`2024-05-01T10:00:00.123456Z`).
//! Both parse any RFC 3339 timestamp (any offset, any precision) and
//! normalize to UTC, truncating to their precision, as the Go types do when
//! an object round-trips through the server. Built on `jiff::Timestamp`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp that did not parse as RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct ParseTimeError {
    /// The rejected input.
    pub input: String,
    /// Why.
    pub reason: String,
}

fn parse_timestamp(s: &str) -> Result<jiff::Timestamp, ParseTimeError> {
    s.parse::<jiff::Timestamp>().map_err(|e| ParseTimeError {
        input: s.to_string(),
        reason: e.to_string(),
    })
}

/// `metav1.Time`: second precision, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(jiff::Timestamp);

impl Time {
    /// The current time, truncated to seconds.
    pub fn now() -> Self {
        Self::from_timestamp(jiff::Timestamp::now())
    }

    /// Truncates a `jiff::Timestamp` to seconds.
    pub fn from_timestamp(ts: jiff::Timestamp) -> Self {
        Self(jiff::Timestamp::from_second(ts.as_second()).expect("truncation stays in range"))
    }

    /// Seconds since the Unix epoch.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        jiff::Timestamp::from_second(seconds).ok().map(Self)
    }

    /// Parses any RFC 3339 timestamp, truncating to seconds.
    pub fn parse(s: &str) -> Result<Self, ParseTimeError> {
        parse_timestamp(s).map(Self::from_timestamp)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.as_second()
    }

    /// The underlying timestamp.
    pub fn timestamp(&self) -> jiff::Timestamp {
        self.0
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl std::str::FromStr for Time {
    type Err = ParseTimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `metav1.MicroTime`: microsecond precision, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MicroTime(jiff::Timestamp);

impl MicroTime {
    /// The current time, truncated to microseconds.
    pub fn now() -> Self {
        Self::from_timestamp(jiff::Timestamp::now())
    }

    /// Truncates a `jiff::Timestamp` to microseconds.
    pub fn from_timestamp(ts: jiff::Timestamp) -> Self {
        let micros = ts.as_microsecond();
        Self(jiff::Timestamp::from_microsecond(micros).expect("truncation stays in range"))
    }

    /// Parses any RFC 3339 timestamp, truncating to microseconds.
    pub fn parse(s: &str) -> Result<Self, ParseTimeError> {
        parse_timestamp(s).map(Self::from_timestamp)
    }

    /// The underlying timestamp.
    pub fn timestamp(&self) -> jiff::Timestamp {
        self.0
    }

    /// This time at second precision.
    pub fn to_time(&self) -> Time {
        Time::from_timestamp(self.0)
    }
}

impl fmt::Display for MicroTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_microsecond().rem_euclid(1_000_000);
        write!(f, "{}.{micros:06}Z", self.0.strftime("%Y-%m-%dT%H:%M:%S"))
    }
}

impl std::str::FromStr for MicroTime {
    type Err = ParseTimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                <$ty>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_serde!(Time);
string_serde!(MicroTime);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = Time::parse("2024-05-01T12:00:00.987+02:00").unwrap();
        assert_eq!(t.to_string(), "2024-05-01T10:00:00Z");
        let m = MicroTime::parse("2024-05-01T10:00:00.1234567Z").unwrap();
        assert_eq!(m.to_string(), "2024-05-01T10:00:00.123456Z");
        assert_eq!(m.to_time(), Time::parse("2024-05-01T10:00:00Z").unwrap());
        assert!(Time::parse("yesterday").is_err());
    }
}
