//! DRF's validation body: every failing field at once, `{"<field>": ["..."]}`, with body-level
//! problems under `non_field_errors`, and a nested serializer's errors as an object under its
//! field, `{"keys": {"p256dh": ["..."]}}`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Field name → messages (or a nested object's errors), in DRF's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, FieldError>);

/// What one field failed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
enum FieldError {
    /// `["...", "..."]`.
    Messages(Vec<String>),
    /// A nested object's own field errors.
    Nested(FieldErrors),
}

/// The key DRF uses for errors that belong to no single field.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

impl FieldErrors {
    /// A single error on one field.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    /// Records one more message for `field`. On a field that holds a nested object's errors,
    /// the message goes to that object's `non_field_errors`, as DRF puts it.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        match self
            .0
            .entry(field.to_owned())
            .or_insert_with(|| FieldError::Messages(Vec::new()))
        {
            FieldError::Messages(messages) => messages.push(message.into()),
            FieldError::Nested(nested) => nested.add(NON_FIELD_ERRORS, message),
        }
    }

    /// Records a nested object's errors under `field`; nothing when `nested` is empty.
    pub fn add_nested(&mut self, field: &str, nested: FieldErrors) {
        if !nested.is_empty() {
            self.0.insert(field.to_owned(), FieldError::Nested(nested));
        }
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages for one field, for tests and logs.
    pub fn get(&self, field: &str) -> Option<&[String]> {
        match self.0.get(field) {
            Some(FieldError::Messages(messages)) => Some(messages.as_slice()),
            _ => None,
        }
    }

    /// The errors of a nested object's fields.
    pub fn nested(&self, field: &str) -> Option<&FieldErrors> {
        match self.0.get(field) {
            Some(FieldError::Nested(nested)) => Some(nested),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_errors_render_as_an_object_under_their_field() {
        let mut keys = FieldErrors::single("p256dh", "bad key");
        keys.add("auth", "bad secret");
        let mut errors = FieldErrors::single("endpoint", "bad url");
        errors.add_nested("keys", keys);
        errors.add_nested("empty", FieldErrors::default());
        errors.add("keys", "and this");

        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            serde_json::json!({
                "endpoint": ["bad url"],
                "keys": {"auth": ["bad secret"], "non_field_errors": ["and this"], "p256dh": ["bad key"]},
            })
        );
        assert_eq!(
            errors.nested("keys").unwrap().get("auth").unwrap(),
            ["bad secret"]
        );
        assert!(errors.get("keys").is_none());
    }
}
