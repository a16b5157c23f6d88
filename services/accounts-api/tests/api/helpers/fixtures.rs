//! Who takes part in a test: owners with a registered sticker and a real login, the phone
//! numbers and registration bodies they use, and the owner object the wire conventions
//! expect for them.

use rand::Rng;
use serde_json::{json, Value};
use shared::ids::UserId;

use super::{body_json, TestApp};

/// The password every fixture owner uses.
pub const PASSWORD: &str = "secret123";

/// A phone number no other test uses: `+99890` and seven random digits.
pub fn unique_phone() -> String {
    format!("+99890{:07}", rand::thread_rng().gen_range(0..10_000_000))
}

/// The same number written the way owners type it: `+998 90 123-45-67`.
pub fn spaced(phone: &str) -> String {
    let d = phone.trim_start_matches('+');
    format!(
        "+{} {} {}-{}-{}",
        &d[0..3],
        &d[3..5],
        &d[5..8],
        &d[8..10],
        &d[10..12]
    )
}

/// The smallest valid registration body.
pub fn registration(user_id: UserId, phone_number: &str) -> Value {
    json!({
        "user_id": user_id.to_string(),
        "phone_number": phone_number,
        "password": PASSWORD,
    })
}

/// The owner object of the wire conventions for a user who filled in nothing optional.
pub fn bare_owner(id: UserId, phone_number: &str) -> Value {
    json!({
        "id": id.to_string(),
        "phone_number": phone_number,
        "full_name": "",
        "phone_number_2": "",
        "car_model": "",
        "car_plate_number": "",
        "instagram": "",
        "telegram": "",
        "whatsapp": "",
        "is_profile_public": true,
    })
}
/// A registered owner with tokens from a real login.
pub struct TestOwner {
    /// Sticker / user id.
    pub id: UserId,
    /// E.164 login phone.
    pub phone: String,
    /// Login password.
    pub password: String,
    /// Access token from login.
    pub access: String,
    /// Refresh token from login.
    pub refresh: String,
}

impl TestOwner {
    /// Issues a sticker, registers it with a unique phone and logs in.
    pub async fn registered(app: &TestApp) -> Self {
        Self::registered_with(app, json!({})).await
    }

    /// Like [`Self::registered`], with extra registration fields.
    pub async fn registered_with(app: &TestApp, extra: Value) -> Self {
        let id = app.sticker().await;
        let phone = unique_phone();
        let mut body = registration(id, &phone);
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let response = app.register(&body).await;
        assert_eq!(response.status().as_u16(), 201, "fixture registration");
        let login = body_json(app.login(&phone, PASSWORD).await).await;
        Self {
            id,
            phone,
            password: PASSWORD.to_owned(),
            access: login["tokens"]["access"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh: login["tokens"]["refresh"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        }
    }
}
