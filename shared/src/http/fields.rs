//! Reading one field of a [`JsonObject`] with DRF's coercions and messages, recording failures
//! into [`FieldErrors`] so a request reports every failing field at once.

use serde_json::Value;
use uuid::Uuid;

use super::{extract::JsonObject, field_errors::FieldErrors};

/// DRF's messages, verbatim.
pub mod msg {
    /// A required field is absent.
    pub const REQUIRED: &str = "This field is required.";
    /// `null` where a value is needed.
    pub const NULL: &str = "This field may not be null.";
    /// An empty or whitespace-only string.
    pub const BLANK: &str = "This field may not be blank.";
    /// An object, list or bool where a string belongs.
    pub const NOT_A_STRING: &str = "Not a valid string.";
    /// A value that is not a UUID.
    pub const INVALID_UUID: &str = "Must be a valid UUID.";
    /// A value that is not a boolean.
    pub const INVALID_BOOLEAN: &str = "Must be a valid boolean.";
    /// A string with a NUL character (Postgres cannot store it).
    pub const NULL_CHARACTER: &str = "Null characters are not allowed.";

    /// Too long.
    pub fn max_length(max: usize) -> String {
        format!("Ensure this field has no more than {max} characters.")
    }
}

/// What reading a field produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<T> {
    /// Not sent.
    Absent,
    /// Sent and valid.
    Present(T),
    /// Sent and invalid; the message is already recorded.
    Failed,
}

impl<T> Field<T> {
    /// The value, if present and valid.
    pub fn ok(self) -> Option<T> {
        match self {
            Self::Present(v) => Some(v),
            _ => None,
        }
    }

    /// `current` when not sent (a partial update keeps what it does not name).
    pub fn or(self, current: T) -> Self {
        match self {
            Self::Absent => Self::Present(current),
            other => other,
        }
    }
}

/// Reads a string the way DRF's `CharField` does: numbers are coerced, whitespace trimmed,
/// `null` and blank refused. `Absent` when not sent.
pub fn string(body: &JsonObject, name: &str, errors: &mut FieldErrors) -> Field<String> {
    let text = match body.get(name) {
        None => return Field::Absent,
        Some(Value::Null) => {
            errors.add(name, msg::NULL);
            return Field::Failed;
        }
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            errors.add(name, msg::NOT_A_STRING);
            return Field::Failed;
        }
    };
    if text.is_empty() {
        errors.add(name, msg::BLANK);
        return Field::Failed;
    }
    if text.contains('\0') {
        errors.add(name, msg::NULL_CHARACTER);
        return Field::Failed;
    }
    Field::Present(text)
}

/// A string that may be blank or `null` (both read as ""), with a length limit, as the
/// optional profile fields are.
pub fn optional_text(
    body: &JsonObject,
    name: &str,
    max_chars: usize,
    errors: &mut FieldErrors,
) -> Field<String> {
    let text = match body.get(name) {
        None => return Field::Absent,
        Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            errors.add(name, msg::NOT_A_STRING);
            return Field::Failed;
        }
    };
    if text.chars().count() > max_chars {
        errors.add(name, msg::max_length(max_chars));
        return Field::Failed;
    }
    if text.contains('\0') {
        errors.add(name, msg::NULL_CHARACTER);
        return Field::Failed;
    }
    Field::Present(text)
}

/// A required field that must name a UUID.
pub fn required_uuid(body: &JsonObject, name: &str, errors: &mut FieldErrors) -> Option<Uuid> {
    match body.get(name) {
        None => errors.add(name, msg::REQUIRED),
        Some(Value::Null) => errors.add(name, msg::NULL),
        Some(Value::String(s)) => match Uuid::parse_str(s.trim()) {
            Ok(id) => return Some(id),
            Err(_) => errors.add(name, msg::INVALID_UUID),
        },
        Some(_) => errors.add(name, msg::INVALID_UUID),
    }
    None
}

/// A boolean as DRF's `BooleanField` reads it (`true`, `"true"`, `1`, `"on"`, ...).
pub fn boolean(body: &JsonObject, name: &str, errors: &mut FieldErrors) -> Field<bool> {
    let parsed = match body.get(name) {
        None => return Field::Absent,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Some(Value::String(s)) => match s.trim() {
            "true" | "True" | "TRUE" | "on" | "On" | "ON" | "yes" | "Yes" | "YES" | "1" | "y"
            | "Y" | "t" | "T" => Some(true),
            "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "no" | "No" | "NO" | "0"
            | "n" | "N" | "f" | "F" => Some(false),
            _ => None,
        },
        Some(Value::Null) => {
            errors.add(name, msg::NULL);
            return Field::Failed;
        }
        Some(_) => None,
    };
    match parsed {
        Some(b) => Field::Present(b),
        None => {
            errors.add(name, msg::INVALID_BOOLEAN);
            Field::Failed
        }
    }
}

/// Records "required" when a field that must be sent was not.
pub fn require<T>(field: Field<T>, name: &str, errors: &mut FieldErrors) -> Option<T> {
    match field {
        Field::Present(v) => Some(v),
        Field::Absent => {
            errors.add(name, msg::REQUIRED);
            None
        }
        Field::Failed => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> JsonObject {
        match v {
            Value::Object(m) => JsonObject(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn strings_are_coerced_trimmed_and_checked() {
        let b = body(json!({"a": " x ", "n": 12, "blank": "  ", "obj": {}, "null": null}));
        let mut e = FieldErrors::default();
        assert_eq!(string(&b, "a", &mut e), Field::Present("x".into()));
        assert_eq!(string(&b, "n", &mut e), Field::Present("12".into()));
        assert_eq!(string(&b, "blank", &mut e), Field::Failed);
        assert_eq!(string(&b, "obj", &mut e), Field::Failed);
        assert_eq!(string(&b, "null", &mut e), Field::Failed);
        assert_eq!(string(&b, "missing", &mut e), Field::Absent);
        assert_eq!(e.get("blank").unwrap(), [msg::BLANK]);
        assert_eq!(e.get("obj").unwrap(), [msg::NOT_A_STRING]);
        assert_eq!(e.get("null").unwrap(), [msg::NULL]);
    }

    #[test]
    fn booleans_follow_drf() {
        let b = body(json!({"t": "true", "f": 0, "bad": "maybe"}));
        let mut e = FieldErrors::default();
        assert_eq!(boolean(&b, "t", &mut e), Field::Present(true));
        assert_eq!(boolean(&b, "f", &mut e), Field::Present(false));
        assert_eq!(boolean(&b, "bad", &mut e), Field::Failed);
        assert_eq!(e.get("bad").unwrap(), [msg::INVALID_BOOLEAN]);
    }

    #[test]
    fn optional_text_allows_blank_and_limits_length() {
        let b = body(json!({"a": "", "b": null, "c": "toolong"}));
        let mut e = FieldErrors::default();
        assert_eq!(
            optional_text(&b, "a", 3, &mut e),
            Field::Present(String::new())
        );
        assert_eq!(
            optional_text(&b, "b", 3, &mut e),
            Field::Present(String::new())
        );
        assert_eq!(optional_text(&b, "c", 3, &mut e), Field::Failed);
        assert_eq!(e.get("c").unwrap(), [msg::max_length(3)]);
        let nul = body(json!({"a": "x\u{0}y"}));
        assert_eq!(optional_text(&nul, "a", 10, &mut e), Field::Failed);
        assert_eq!(string(&nul, "a", &mut e), Field::Failed);
        assert_eq!(
            e.get("a").unwrap(),
            [msg::NULL_CHARACTER, msg::NULL_CHARACTER]
        );
    }

    #[test]
    fn uuids_are_checked() {
        let b =
            body(json!({"ok": "7f0c0b8e-8a3e-4c55-9d4b-0f5a3c1d2e3f", "bad": "nope", "num": 5}));
        let mut e = FieldErrors::default();
        assert!(required_uuid(&b, "ok", &mut e).is_some());
        assert!(required_uuid(&b, "bad", &mut e).is_none());
        assert!(required_uuid(&b, "num", &mut e).is_none());
        assert!(required_uuid(&b, "missing", &mut e).is_none());
        assert_eq!(e.get("bad").unwrap(), [msg::INVALID_UUID]);
        assert_eq!(e.get("missing").unwrap(), [msg::REQUIRED]);
    }
}
