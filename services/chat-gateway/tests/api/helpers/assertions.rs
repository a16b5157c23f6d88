//! What tests compare responses and events with: the wire shapes of timestamps and ids, the
//! guide's error bodies, and counts of repeated values.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::collections::HashMap;

use serde_json::{json, Value};

/// `2026-11-24T22:57:04.418115Z`: `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`.
pub fn is_wire_timestamp(value: &Value) -> bool {
    const SHAPE: &str = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    value.as_str().is_some_and(|s| {
        s.len() == SHAPE.len()
            && s.chars()
                .zip(SHAPE.chars())
                .all(|(c, p)| if p == 'd' { c.is_ascii_digit() } else { c == p })
    })
}

/// Whether `value` is a UUID string.
pub fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// The sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// The owner body of a 401 without credentials.
pub fn not_authenticated() -> Value {
    json!({"detail": "Authentication credentials were not provided."})
}

/// The body of a 403.
pub fn permission_denied() -> Value {
    json!({"detail": "You do not have permission to perform this action."})
}

/// The 403 body of a visitor token whose room has been idle too long.
pub fn chat_expired() -> Value {
    json!({"detail": "This chat has expired."})
}

/// The status and the JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// The body of a 404.
pub fn not_found() -> Value {
    json!({"detail": "Not found."})
}

/// How many times each value occurs.
pub fn tally<'a>(values: impl IntoIterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for v in values {
        *counts.entry(v.to_owned()).or_insert(0) += 1;
    }
    counts
}
