//! Reading a subscription body, the browser's `PushSubscription.toJSON()`:
//! `{"endpoint": "https://…", "expirationTime": null, "keys": {"p256dh": "…", "auth": "…"}}`.
//! Every failing field is reported at once; the keys' errors nest under `keys`, as DRF's
//! nested serializers put them.

use serde_json::Value;
use shared::http::{
    field_errors::NON_FIELD_ERRORS,
    fields::{self, msg},
    FieldErrors, JsonObject,
};

use crate::domain::{AuthSecret, P256dh, PushEndpoint, SubscriptionKeys};

/// Reads the endpoint (`allow_http` for private endpoints) and the keys, recording every
/// failing field. `endpoint` is `Some` when it parsed, so its host can still be checked and
/// a refusal reported with the other fields'.
pub fn parse(
    body: &JsonObject,
    allow_http: bool,
) -> (Option<PushEndpoint>, Option<SubscriptionKeys>, FieldErrors) {
    let mut errors = FieldErrors::default();
    let endpoint = endpoint(body, allow_http, &mut errors);
    match body.get("expirationTime") {
        None | Some(Value::Null | Value::Number(_)) => {}
        Some(_) => errors.add("expirationTime", "A valid integer is required."),
    }
    let keys = keys(body, &mut errors);
    (endpoint, keys, errors)
}

/// The `endpoint` field, parsed.
pub fn endpoint(
    body: &JsonObject,
    allow_http: bool,
    errors: &mut FieldErrors,
) -> Option<PushEndpoint> {
    let raw = fields::require(fields::string(body, "endpoint", errors), "endpoint", errors)?;
    match PushEndpoint::parse(&raw, allow_http) {
        Ok(endpoint) => Some(endpoint),
        Err(e) => {
            errors.add("endpoint", e.to_string());
            None
        }
    }
}

fn keys(body: &JsonObject, errors: &mut FieldErrors) -> Option<SubscriptionKeys> {
    let map = match body.get("keys") {
        None => {
            errors.add("keys", msg::REQUIRED);
            return None;
        }
        Some(Value::Null) => {
            errors.add("keys", msg::NULL);
            return None;
        }
        Some(Value::Object(map)) => JsonObject(map.clone()),
        Some(_) => {
            errors.add_nested(
                "keys",
                FieldErrors::single(NON_FIELD_ERRORS, "Invalid data. Expected a dictionary."),
            );
            return None;
        }
    };
    let mut nested = FieldErrors::default();
    let p256dh = fields::require(
        fields::string(&map, "p256dh", &mut nested),
        "p256dh",
        &mut nested,
    )
    .and_then(|raw| {
        P256dh::parse(&raw)
            .map_err(|e| nested.add("p256dh", e.to_string()))
            .ok()
    });
    let auth = fields::require(
        fields::string(&map, "auth", &mut nested),
        "auth",
        &mut nested,
    )
    .and_then(|raw| {
        AuthSecret::parse(&raw)
            .map_err(|e| nested.add("auth", e.to_string()))
            .ok()
    });
    errors.add_nested("keys", nested);
    match (p256dh, auth) {
        (Some(p256dh), Some(auth)) => Some(SubscriptionKeys { p256dh, auth }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> JsonObject {
        match value {
            Value::Object(map) => JsonObject(map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_failing_field_is_reported_with_the_keys_nested() {
        let (endpoint, keys, errors) = parse(
            &body(
                json!({"endpoint": "http://push.example/x", "expirationTime": "soon",
                         "keys": {"p256dh": "AAAA"}}),
            ),
            false,
        );
        assert!(endpoint.is_none() && keys.is_none());
        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            json!({
                "endpoint": ["Push endpoints must use https."],
                "expirationTime": ["A valid integer is required."],
                "keys": {
                    "auth": ["This field is required."],
                    "p256dh": ["Must be an uncompressed P-256 public key (65 bytes)."],
                },
            })
        );
    }

    #[test]
    fn keys_that_are_not_an_object_are_a_nested_non_field_error() {
        let (_, _, errors) = parse(&body(json!({"keys": "x"})), false);
        assert_eq!(errors.get("endpoint").unwrap(), ["This field is required."]);
        assert_eq!(
            errors
                .nested("keys")
                .unwrap()
                .get(NON_FIELD_ERRORS)
                .unwrap(),
            ["Invalid data. Expected a dictionary."]
        );
    }
}
