//! The committed AsyncAPI document (`docs/asyncapi.yaml`) as the drift tests read it: which
//! channel an address or subject belongs to, which messages an operation sends or receives
//! there, and whether a real payload fits a message's schemas.
//!
//! The schema check understands the keywords the document uses and refuses any other, so a
//! schema it cannot read never passes by accident. It is stricter than JSON Schema in one
//! way: an object may hold only the properties its schema names, because the document must
//! name every field the code writes (consumers, for their part, ignore fields they do not
//! know; see `docs/events.md`).

use regex::Regex;
use serde_json::Value;

/// The committed document, the text `/api/asyncapi/` serves.
pub const ASYNCAPI_YAML: &str = include_str!("../../../docs/asyncapi.yaml");

/// Whether the described application sends or receives a message (AsyncAPI `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The application writes it: a frame to a socket, an event to NATS.
    Send,
    /// The application reads it.
    Receive,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Receive => "receive",
        }
    }
}

/// A parsed AsyncAPI document.
pub struct AsyncApi {
    document: Value,
}

impl AsyncApi {
    /// `docs/asyncapi.yaml`, as committed.
    pub fn committed() -> Self {
        Self::parse(ASYNCAPI_YAML).unwrap_or_else(|e| panic!("docs/asyncapi.yaml: {e}"))
    }

    /// Parses YAML (or JSON) text.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_yaml_ng::from_str(text)
            .map(|document| Self { document })
            .map_err(|e| format!("not YAML: {e}"))
    }

    /// The whole document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Follows `$ref`s (local ones, `#/...`) until a value that is not a reference.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok(value);
            };
            value = self.target(reference)?;
        }
        Err("a $ref chain longer than 16".to_owned())
    }

    /// What a local reference (`#/components/...`) points at.
    fn target(&self, reference: &str) -> Result<&Value, String> {
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("{reference}: only local references are supported"))?;
        self.document
            .pointer(pointer)
            .ok_or_else(|| format!("{reference} does not exist"))
    }

    /// The names of the channels whose address matches `address` (a WebSocket path or a NATS
    /// subject), where a `{parameter}` stands for one path segment or subject token.
    pub fn channels_matching(&self, address: &str) -> Vec<String> {
        let Some(channels) = self.document["channels"].as_object() else {
            return Vec::new();
        };
        channels
            .iter()
            .filter(|(_, channel)| {
                channel["address"]
                    .as_str()
                    .is_some_and(|template| address_pattern(template).is_match(address))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The messages that operations with `action` carry on channel `channel`, by their key in
    /// the channel, resolved.
    pub fn messages(&self, channel: &str, action: Action) -> Result<Vec<(String, &Value)>, String> {
        let channel_ref = format!("#/channels/{channel}");
        let mut found = Vec::new();
        let operations = self.document["operations"]
            .as_object()
            .ok_or("no operations")?;
        for operation in operations.values() {
            if operation["action"] != action.as_str() || operation["channel"]["$ref"] != channel_ref
            {
                continue;
            }
            for message in operation["messages"].as_array().ok_or("no messages")? {
                let reference = message["$ref"].as_str().unwrap_or_default();
                let key = reference
                    .strip_prefix(&format!("{channel_ref}/messages/"))
                    .ok_or_else(|| format!("{reference} is not a message of {channel}"))?;
                found.push((key.to_owned(), self.resolve(message)?));
            }
        }
        Ok(found)
    }

    /// Which message of the channel matching `address` that the application may `action`
    /// there fits `payload` and `headers`; the error says why none does.
    pub fn check_message(
        &self,
        address: &str,
        action: Action,
        headers: Option<&Value>,
        payload: &Value,
    ) -> Result<String, String> {
        let channels = self.channels_matching(address);
        let [channel] = channels.as_slice() else {
            return Err(format!("{address}: matches channels {channels:?}, not one"));
        };
        let mut misfits = Vec::new();
        for (key, message) in self.messages(channel, action)? {
            let fits = self.check(payload, &message["payload"]).and_then(|()| {
                match (headers, message.get("headers")) {
                    (Some(headers), Some(schema)) => self.check(headers, schema),
                    (Some(_), None) => Err("headers sent, none documented".to_owned()),
                    (None, _) => Ok(()),
                }
            });
            match fits {
                Ok(()) => return Ok(key),
                Err(e) => misfits.push(format!("{key}: {e}")),
            }
        }
        Err(format!(
            "{address} ({channel}, {}): no message fits {payload}: {misfits:?}",
            action.as_str()
        ))
    }

    /// Whether `value` fits `schema` (see the module documentation for what is checked).
    pub fn check(&self, value: &Value, schema: &Value) -> Result<(), String> {
        self.check_at(value, schema, "$")
    }

    fn check_at(&self, value: &Value, schema: &Value, at: &str) -> Result<(), String> {
        let schema = schema
            .as_object()
            .ok_or_else(|| format!("{at}: the schema is not an object"))?;
        if let Some(reference) = schema.get("$ref") {
            // Siblings of `$ref` are annotations only.
            if let Some(other) = schema
                .keys()
                .find(|k| !matches!(k.as_str(), "$ref" | "description" | "title" | "examples"))
            {
                return Err(format!("{at}: `{other}` beside `$ref`"));
            }
            let reference = reference
                .as_str()
                .ok_or_else(|| format!("{at}: `$ref` is not a string"))?;
            let target = self.resolve(self.target(reference)?)?;
            return self.check_at(value, target, at);
        }
        for (keyword, expected) in schema {
            check_keyword(self, value, keyword, expected, at)?;
        }
        Ok(())
    }
}

fn check_keyword(
    api: &AsyncApi,
    value: &Value,
    keyword: &str,
    expected: &Value,
    at: &str,
) -> Result<(), String> {
    let fail = |why: String| Err(format!("{at}: {why}, got {value}"));
    match keyword {
        "description" | "title" | "examples" => Ok(()),
        "type" => {
            let fits = match expected.as_str() {
                Some("object") => value.is_object(),
                Some("string") => value.is_string(),
                Some("integer") => value.is_i64() || value.is_u64(),
                Some("number") => value.is_number(),
                Some("boolean") => value.is_boolean(),
                Some("null") => value.is_null(),
                _ => return Err(format!("{at}: unsupported type {expected}")),
            };
            if fits {
                Ok(())
            } else {
                fail(format!("expected type {expected}"))
            }
        }
        "const" => {
            if value == expected {
                Ok(())
            } else {
                fail(format!("expected {expected}"))
            }
        }
        "enum" => match expected.as_array() {
            Some(options) if options.contains(value) => Ok(()),
            _ => fail(format!("expected one of {expected}")),
        },
        "required" => {
            let object = value.as_object();
            for name in expected.as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                if !object.is_some_and(|o| o.contains_key(name)) {
                    return fail(format!("`{name}` is required"));
                }
            }
            Ok(())
        }
        "properties" => {
            let Some(object) = value.as_object() else {
                return Ok(());
            };
            let declared = expected
                .as_object()
                .ok_or_else(|| format!("{at}: `properties` is not an object"))?;
            for (name, field) in object {
                let field_schema = declared
                    .get(name)
                    .ok_or_else(|| format!("{at}: `{name}` is not in the document"))?;
                api.check_at(field, field_schema, &format!("{at}.{name}"))?;
            }
            Ok(())
        }
        "format" => match (expected.as_str(), value.as_str()) {
            (_, None) => Ok(()),
            (Some("uuid"), Some(text)) if uuid::Uuid::parse_str(text).is_ok() => Ok(()),
            (Some("date-time"), Some(text))
                if chrono::DateTime::parse_from_rfc3339(text).is_ok() =>
            {
                Ok(())
            }
            (Some("uuid" | "date-time"), Some(_)) => fail(format!("expected format {expected}")),
            _ => Err(format!("{at}: unsupported format {expected}")),
        },
        "pattern" => {
            let pattern = expected.as_str().unwrap_or_default();
            let regex =
                Regex::new(pattern).map_err(|e| format!("{at}: bad pattern {pattern}: {e}"))?;
            match value.as_str() {
                Some(text) if !regex.is_match(text) => fail(format!("expected /{pattern}/")),
                _ => Ok(()),
            }
        }
        "minLength" | "maxLength" => {
            let (Some(text), Some(bound)) = (value.as_str(), expected.as_u64()) else {
                return Ok(());
            };
            let length = text.chars().count() as u64;
            if (keyword == "minLength" && length < bound)
                || (keyword == "maxLength" && length > bound)
            {
                fail(format!("{keyword} {bound}"))
            } else {
                Ok(())
            }
        }
        "minimum" => match (value.as_f64(), expected.as_f64()) {
            (Some(number), Some(bound)) if number < bound => fail(format!("minimum {bound}")),
            _ => Ok(()),
        },
        other => Err(format!("{at}: unsupported keyword `{other}`")),
    }
}

/// `accounts.users.{user_id}.registered` → `^accounts\.users\.[^./]+\.registered$`.
fn address_pattern(template: &str) -> Regex {
    let mut pattern = String::from("^");
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        pattern.push_str(&regex::escape(&rest[..start]));
        pattern.push_str("[^./]+");
        rest = rest[start..].split_once('}').map_or("", |(_, after)| after);
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    Regex::new(&pattern).unwrap_or_else(|e| panic!("address {template}: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn addresses_match_one_token_per_parameter() {
        let pattern = address_pattern("chat.rooms.{room_id}.messages");
        assert!(pattern.is_match("chat.rooms.3b1f6c2e-9a47-4d0b-b5e8-6c2a91f0d7a4.messages"));
        assert!(!pattern.is_match("chat.rooms.a.b.messages"));
        assert!(!pattern.is_match("chat.rooms.a.created"));
        assert!(address_pattern("/ws/chat/{room_id}/").is_match("/ws/chat/r1/"));
        assert!(!address_pattern("/ws/chat/{room_id}/").is_match("/ws/chat/r1/x/"));
    }

    #[test]
    fn the_check_refuses_what_the_schema_does_not_name() {
        let api =
            AsyncApi::parse("components:\n  schemas:\n    Id: {type: string, format: uuid}\n")
                .unwrap();
        let schema = json!({
            "type": "object",
            "required": ["id", "n"],
            "properties": {
                "id": {"$ref": "#/components/schemas/Id"},
                "n": {"type": "integer", "minimum": 1},
                "kind": {"enum": ["a", "b"]},
            },
        });
        let id = "3b1f6c2e-9a47-4d0b-b5e8-6c2a91f0d7a4";
        assert_eq!(
            api.check(&json!({"id": id, "n": 1, "kind": "a"}), &schema),
            Ok(())
        );
        for wrong in [
            json!({"id": id}),
            json!({"id": "x", "n": 1}),
            json!({"id": id, "n": 0}),
            json!({"id": id, "n": 1.5}),
            json!({"id": id, "n": 1, "kind": "c"}),
            json!({"id": id, "n": 1, "extra": true}),
            json!([id]),
        ] {
            assert!(api.check(&wrong, &schema).is_err(), "{wrong}");
        }
        assert!(api
            .check(&json!("x"), &json!({"type": "string", "oneOf": []}))
            .is_err());
    }
}
