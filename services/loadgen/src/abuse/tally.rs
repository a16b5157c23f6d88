//! Outcomes counted by HTTP status, with failures to get any response in their own bucket
//! (and the first such error kept, since one example usually explains them all).

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Bucket name for requests that got no HTTP status.
const NO_RESPONSE: &str = "no_response";

/// Counts per status.
#[derive(Default)]
pub struct Tally {
    by_status: BTreeMap<String, u64>,
    first_error: Option<String>,
}

impl Tally {
    /// Counts one outcome: a status, or why there was none.
    pub fn add(&mut self, outcome: Result<u16, String>) {
        let key = match outcome {
            Ok(status) => status.to_string(),
            Err(e) => {
                self.first_error.get_or_insert(e);
                NO_RESPONSE.to_owned()
            }
        };
        *self.by_status.entry(key).or_default() += 1;
    }

    /// How many got `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.by_status
            .get(&status.to_string())
            .copied()
            .unwrap_or_default()
    }

    /// `{"by_status": {"401": n, ...}, "first_error": ...}`.
    pub fn to_json(&self) -> Value {
        json!({ "by_status": self.by_status, "first_error": self.first_error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_statuses_and_keeps_the_first_error() {
        let mut tally = Tally::default();
        tally.add(Ok(401));
        tally.add(Ok(401));
        tally.add(Err("first".into()));
        tally.add(Err("second".into()));
        assert_eq!(tally.count(401), 2);
        assert_eq!(tally.count(429), 0);
        assert_eq!(
            tally.to_json(),
            json!({"by_status": {"401": 2, "no_response": 2}, "first_error": "first"})
        );
    }
}
