//! One `TestApp` method per endpoint of accounts-api, a few raw requests for the odd cases,
//! and reading a response's JSON body.

use serde_json::{json, Value};

use super::{TestApp, TestOwner};

impl TestApp {
    /// A request to `path` on the app, for the odd cases the endpoint methods do not cover.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with any bytes and content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        bytes: impl Into<Vec<u8>>,
    ) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes.into())
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/user/register/`.
    pub async fn register(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/user/register/", body).await
    }

    /// `POST /api/login/`.
    pub async fn login(&self, phone_number: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/login/",
            &json!({"phone_number": phone_number, "password": password}),
        )
        .await
    }

    /// `POST /api/login/` from another address on this host (all of 127.0.0.0/8 is loopback),
    /// as a client elsewhere would.
    pub async fn login_from(
        &self,
        source: [u8; 4],
        phone_number: &str,
        password: &str,
    ) -> reqwest::Response {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(source))
            .build()
            .expect("a client")
            .post(format!("{}/api/login/", self.address))
            .json(&json!({"phone_number": phone_number, "password": password}))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/token/refresh/`.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/token/refresh/", &json!({"refresh": refresh_token}))
            .await
    }

    /// `POST /api/token/blacklist/` (logout).
    pub async fn blacklist(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/token/blacklist/", &json!({"refresh": refresh_token}))
            .await
    }

    /// `POST /api/login/` for `owner` again: a second login, with tokens of its own.
    pub async fn login_again(&self, owner: &TestOwner) -> (String, String) {
        let body = body_json(self.login(&owner.phone, &owner.password).await).await;
        let token = |kind: &str| {
            body["tokens"][kind]
                .as_str()
                .expect("a token from login")
                .to_owned()
        };
        (token("access"), token("refresh"))
    }

    /// `GET /api/profile/` with `Authorization: Bearer <token>`.
    pub async fn get_profile(&self, access_token: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, "/api/profile/")
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    /// `PUT /api/profile/`.
    pub async fn put_profile(&self, access_token: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::PUT, "/api/profile/")
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `PATCH /api/profile/`.
    pub async fn patch_profile(&self, access_token: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::PATCH, "/api/profile/")
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `GET /api/users/`.
    pub async fn list_users(&self) -> reqwest::Response {
        self.get("/api/users/").await
    }

    /// `GET /user/<id>/`.
    pub async fn get_public_user(&self, id: &str) -> reqwest::Response {
        self.get(&format!("/user/{id}/")).await
    }

    /// The value of one series on `/metrics` (`name{labels}` exactly as rendered), if present.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self
            .get("/metrics")
            .await
            .text()
            .await
            .expect("metrics read");
        text.lines()
            .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .find_map(|value| value.trim().parse().ok())
    }

    /// `GET /api/stickers/<id>/`.
    pub async fn get_sticker(&self, id: &str) -> reqwest::Response {
        self.get(&format!("/api/stickers/{id}/")).await
    }
}

/// The response body as JSON (every body of this API is JSON).
pub async fn body_json(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("body read");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The status and the JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, body_json(response).await)
}
