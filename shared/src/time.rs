//! The wire format for timestamps: ISO 8601 UTC with microseconds and `Z`.
//!
//! Every timestamp is truncated to microseconds when it is created, so Postgres
//! (microsecond precision) and SQLite return exactly what was written.

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use serde::Serializer;

/// The current time, truncated to the microsecond precision the databases keep.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `2026-11-24T22:57:04.418115Z`.
pub fn format(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Microseconds since the epoch: how SQLite stores timestamps, sortable as integers.
pub fn to_micros(at: &DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The inverse of [`to_micros`]; out-of-range values clamp to the epoch rather than panic.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

/// `#[serde(serialize_with = "shared::time::serialize")]` for DTO fields.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_microseconds_and_z() {
        let at = from_micros(1_795_561_024_418_115);
        assert_eq!(format(&at), "2026-11-24T22:57:04.418115Z");
    }

    #[test]
    fn micros_round_trip() {
        let at = now();
        assert_eq!(from_micros(to_micros(&at)), at);
    }
}
