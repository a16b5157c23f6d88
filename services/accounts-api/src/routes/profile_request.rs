//! The bodies of registration and profile changes, parsed field by field with every field's
//! errors collected at once, in DRF's wording.

use shared::{
    http::{
        fields::{self, msg, Field},
        FieldErrors, JsonObject,
    },
    ids::UserId,
};

use crate::domain::{user::Profile, Password, PhoneNumber, ProfilePatch, Registration};

/// Longest value of each free-text profile field.
const TEXT_FIELDS: [(&str, usize); 6] = [
    ("full_name", 255),
    ("car_model", 100),
    ("car_plate_number", 20),
    ("instagram", 255),
    ("telegram", 255),
    ("whatsapp", 255),
];

fn phone(body: &JsonObject, name: &str, errors: &mut FieldErrors) -> Field<PhoneNumber> {
    match fields::string(body, name, errors) {
        Field::Present(raw) => match PhoneNumber::parse(&raw) {
            Ok(p) => Field::Present(p),
            Err(e) => {
                errors.add(name, e.to_string());
                Field::Failed
            }
        },
        Field::Absent => Field::Absent,
        Field::Failed => Field::Failed,
    }
}

fn second_phone(body: &JsonObject, errors: &mut FieldErrors) -> Option<String> {
    let raw = fields::optional_text(body, "phone_number_2", 32, errors).ok()?;
    if raw.is_empty() {
        return Some(raw);
    }
    match PhoneNumber::parse(&raw) {
        Ok(p) => Some(p.to_string()),
        Err(e) => {
            errors.add("phone_number_2", e.to_string());
            None
        }
    }
}

/// Reads every profile field that was sent; unknown fields are ignored, as DRF does.
fn profile_fields(body: &JsonObject, errors: &mut FieldErrors) -> ProfilePatch {
    let mut text = |name: &str| {
        let max = TEXT_FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(255, |(_, max)| *max);
        fields::optional_text(body, name, max, errors).ok()
    };
    let full_name = text("full_name");
    let car_model = text("car_model");
    let car_plate_number = text("car_plate_number");
    let instagram = text("instagram");
    let telegram = text("telegram");
    let whatsapp = text("whatsapp");
    ProfilePatch {
        phone_number: None,
        full_name,
        car_model,
        car_plate_number,
        instagram,
        telegram,
        whatsapp,
        phone_number_2: second_phone(body, errors),
        is_profile_public: fields::boolean(body, "is_profile_public", errors).ok(),
    }
}

/// PUT/PATCH `/api/profile/`: any subset of the profile and the login phone.
pub fn parse_patch(body: &JsonObject) -> Result<ProfilePatch, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut patch = profile_fields(body, &mut errors);
    patch.phone_number = phone(body, "phone_number", &mut errors).ok();
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(errors)
    }
}

/// POST `/api/user/register/`.
pub fn parse_registration(body: &JsonObject) -> Result<Registration, FieldErrors> {
    let mut errors = FieldErrors::default();
    let user_id = fields::required_uuid(body, "user_id", &mut errors);
    let phone_number = fields::require(
        phone(body, "phone_number", &mut errors),
        "phone_number",
        &mut errors,
    );
    let password = match body.get("password") {
        Some(serde_json::Value::String(raw)) if !raw.is_empty() => {
            match Password::parse(raw.clone()) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.add("password", e.to_string());
                    None
                }
            }
        }
        Some(serde_json::Value::String(_)) => {
            errors.add("password", msg::BLANK);
            None
        }
        Some(serde_json::Value::Null) => {
            errors.add("password", msg::NULL);
            None
        }
        Some(_) => {
            errors.add("password", msg::NOT_A_STRING);
            None
        }
        None => {
            errors.add("password", msg::REQUIRED);
            None
        }
    };
    let patch = profile_fields(body, &mut errors);
    let defaults = Profile {
        is_profile_public: true,
        ..Profile::default()
    };
    match (user_id, phone_number, password) {
        (Some(user_id), Some(phone_number), Some(password)) if errors.is_empty() => {
            Ok(Registration {
                user_id: UserId::from(user_id),
                phone_number,
                password,
                profile: patch.applied_to(&defaults),
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> JsonObject {
        match v {
            serde_json::Value::Object(m) => JsonObject(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn registration_reports_every_missing_field_at_once() {
        let errors = parse_registration(&body(json!({}))).unwrap_err();
        for field in ["user_id", "phone_number", "password"] {
            assert_eq!(errors.get(field).unwrap(), [msg::REQUIRED], "{field}");
        }
    }

    #[test]
    fn registration_defaults_to_a_public_profile() {
        let reg = parse_registration(&body(json!({
            "user_id": uuid::Uuid::new_v4().to_string(),
            "phone_number": "+998 90 123 45 67",
            "password": "secret123",
            "car_model": "Cobalt",
        })))
        .unwrap();
        assert!(reg.profile.is_profile_public);
        assert_eq!(reg.profile.car_model, "Cobalt");
        assert_eq!(reg.phone_number.as_ref(), "+998901234567");
    }

    #[test]
    fn patch_validates_types_and_lengths() {
        let errors = parse_patch(&body(json!({
            "is_profile_public": "maybe",
            "car_plate_number": "x".repeat(21),
            "phone_number": "nope",
            "full_name": ["list"],
        })))
        .unwrap_err();
        assert_eq!(
            errors.get("is_profile_public").unwrap(),
            [msg::INVALID_BOOLEAN]
        );
        assert_eq!(
            errors.get("car_plate_number").unwrap(),
            [msg::max_length(20)]
        );
        assert_eq!(
            errors.get("phone_number").unwrap(),
            ["Enter a valid phone number."]
        );
        assert_eq!(errors.get("full_name").unwrap(), [msg::NOT_A_STRING]);
    }

    #[test]
    fn patch_applies_only_what_was_sent() {
        let old = Profile {
            full_name: "Old".into(),
            car_model: "Nexia".into(),
            is_profile_public: true,
            ..Profile::default()
        };
        let patch = parse_patch(&body(
            json!({"full_name": "New", "is_profile_public": false}),
        ))
        .unwrap();
        let new = patch.applied_to(&old);
        assert_eq!(new.full_name, "New");
        assert_eq!(new.car_model, "Nexia");
        assert!(!new.is_profile_public);
    }
}
