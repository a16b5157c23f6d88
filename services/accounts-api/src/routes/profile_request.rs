//! The two request bodies that carry a profile, registration and profile update: documented
//! types (their OpenAPI schemas) that are also what the parsers produce, field by field with
//! every field's errors collected at once, in DRF's wording.

use shared::{
    http::{
        fields::{self, msg, Field},
        FieldErrors, JsonObject,
    },
    ids::UserId,
};
use uuid::Uuid;

use super::profile_fields::{read_profile, request_with_profile};
use crate::domain::{
    profile_fields::profile_fields, Password, PhoneNumber, Profile, ProfileUpdate, Registration,
};

profile_fields!(request_with_profile,
    /// The registration body; the profile starts public unless `is_profile_public` is false.
    RegisterRequest {
        /// The sticker's UUID from the QR code.
        user_id: Uuid,
        /// Login phone; normalised to E.164.
        #[schema(value_type = String)]
        phone_number: PhoneNumber,
        /// At least 6 characters.
        #[schema(value_type = String)]
        password: Password,
    }
);

profile_fields!(request_with_profile,
    /// The profile update body, PUT and PATCH alike: any subset of these fields.
    UpdateProfileRequest {
        /// New login phone; normalised to E.164.
        #[schema(value_type = String, required = false)]
        phone_number: Option<PhoneNumber>,
    }
);

fn login_phone(body: &JsonObject, errors: &mut FieldErrors) -> Field<PhoneNumber> {
    let name = "phone_number";
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

fn new_password(body: &JsonObject, errors: &mut FieldErrors) -> Option<Password> {
    let message = match body.get("password") {
        Some(serde_json::Value::String(raw)) if !raw.is_empty() => {
            match Password::parse(raw.clone()) {
                Ok(p) => return Some(p),
                Err(e) => e.to_string(),
            }
        }
        Some(serde_json::Value::String(_)) => msg::BLANK.to_owned(),
        Some(serde_json::Value::Null) => msg::NULL.to_owned(),
        Some(_) => msg::NOT_A_STRING.to_owned(),
        None => msg::REQUIRED.to_owned(),
    };
    errors.add("password", message);
    None
}

impl RegisterRequest {
    /// POST `/api/user/register/`.
    pub fn parse(body: &JsonObject) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let user_id = fields::required_uuid(body, "user_id", &mut errors);
        let phone_number =
            fields::require(login_phone(body, &mut errors), "phone_number", &mut errors);
        let password = new_password(body, &mut errors);
        let profile = read_profile(body, &mut errors);
        match (user_id, phone_number, password) {
            (Some(user_id), Some(phone_number), Some(password)) if errors.is_empty() => {
                Ok(Self::with_profile(user_id, phone_number, password, profile))
            }
            _ => Err(errors),
        }
    }
}

impl From<RegisterRequest> for Registration {
    fn from(request: RegisterRequest) -> Self {
        Self {
            profile: request.profile().applied_to(&Profile::for_new_owner()),
            user_id: UserId::from(request.user_id),
            phone_number: request.phone_number,
            password: request.password,
        }
    }
}

impl UpdateProfileRequest {
    /// PUT/PATCH `/api/profile/`: both partial, as the guide says.
    pub fn parse(body: &JsonObject) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let profile = read_profile(body, &mut errors);
        let phone_number = login_phone(body, &mut errors).ok();
        if errors.is_empty() {
            Ok(Self::with_profile(phone_number, profile))
        } else {
            Err(errors)
        }
    }
}

impl From<UpdateProfileRequest> for ProfileUpdate {
    fn from(request: UpdateProfileRequest) -> Self {
        Self {
            profile: request.profile(),
            phone_number: request.phone_number,
        }
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
        let Err(errors) = RegisterRequest::parse(&body(json!({}))) else {
            panic!("an empty body registers");
        };
        for field in ["user_id", "phone_number", "password"] {
            assert_eq!(errors.get(field).unwrap(), [msg::REQUIRED], "{field}");
        }
    }

    #[test]
    fn registration_defaults_to_a_public_profile() {
        let Ok(request) = RegisterRequest::parse(&body(json!({
            "user_id": uuid::Uuid::new_v4().to_string(),
            "phone_number": "+998 90 123 45 67",
            "password": "secret123",
            "car_model": "Cobalt",
        }))) else {
            panic!("a valid body is refused");
        };
        let registration = Registration::from(request);
        assert!(registration.profile.is_profile_public);
        assert_eq!(registration.profile.car_model, "Cobalt");
        assert_eq!(registration.phone_number.as_ref(), "+998901234567");
    }

    #[test]
    fn update_validates_types_and_lengths() {
        let errors = UpdateProfileRequest::parse(&body(json!({
            "is_profile_public": "maybe",
            "car_plate_number": "x".repeat(21),
            "phone_number": "nope",
            "full_name": ["list"],
            "phone_number_2": "123",
        })))
        .err()
        .unwrap();
        assert_eq!(
            errors.get("is_profile_public").unwrap(),
            [msg::INVALID_BOOLEAN]
        );
        assert_eq!(
            errors.get("car_plate_number").unwrap(),
            [msg::max_length(20)]
        );
        for phone in ["phone_number", "phone_number_2"] {
            assert_eq!(
                errors.get(phone).unwrap(),
                ["Enter a valid phone number."],
                "{phone}"
            );
        }
        assert_eq!(errors.get("full_name").unwrap(), [msg::NOT_A_STRING]);
    }

    #[test]
    fn update_applies_only_what_was_sent() {
        let old = Profile {
            full_name: "Old".into(),
            car_model: "Nexia".into(),
            is_profile_public: true,
            ..Profile::default()
        };
        let update = ProfileUpdate::from(
            UpdateProfileRequest::parse(&body(json!({
                "full_name": "New",
                "is_profile_public": false,
                "phone_number_2": "",
            })))
            .ok()
            .unwrap(),
        );
        let new = update.profile.applied_to(&old);
        assert_eq!(update.phone_number, None);
        assert_eq!(new.full_name, "New");
        assert_eq!(new.car_model, "Nexia");
        assert_eq!(new.phone_number_2, "");
        assert!(!new.is_profile_public);
    }
}
