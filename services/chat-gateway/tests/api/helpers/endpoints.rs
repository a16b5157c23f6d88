//! One `TestApp` method per endpoint of the gateway, HTTP and WebSocket, plus the few
//! compositions tests repeat (start a chat and read its credentials, chat a few lines).

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use serde_json::{json, Value};

use super::{Auth, StartedChat, TestApp, TestOwner, WsClient};

impl TestApp {
    /// A request to `path`, for cases the endpoint methods do not cover.
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

    /// `POST /api/chat/start/` with a JSON body.
    pub async fn start_chat(&self, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/api/chat/start/")
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/chat/start/` with `owner`, as an ingress forwarding for `forwarded_for`.
    pub async fn start_chat_forwarded_for(
        &self,
        owner: &TestOwner,
        forwarded_for: &str,
    ) -> reqwest::Response {
        self.start_chat_from(owner, None, forwarded_for).await
    }

    /// `POST /api/chat/start/` with `owner` from a browser with `visitor_key` (if any), as an
    /// ingress forwarding for `forwarded_for`.
    pub async fn start_chat_from(
        &self,
        owner: &TestOwner,
        visitor_key: Option<&str>,
        forwarded_for: &str,
    ) -> reqwest::Response {
        let mut body = json!({"user_id": owner.id.to_string()});
        if let Some(key) = visitor_key {
            body["visitor_key"] = json!(key);
        }
        self.request(reqwest::Method::POST, "/api/chat/start/")
            .header("x-forwarded-for", forwarded_for)
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// `<method> /api/chat/rooms/<room>/<action>/` as `auth` (`close`, `reopen`, `block`).
    pub async fn control_room(
        &self,
        method: reqwest::Method,
        room: &str,
        action: &str,
        auth: &Auth,
    ) -> reqwest::Response {
        let mut request = self.request(method, &format!("/api/chat/rooms/{room}/{action}/"));
        if let Auth::Owner(token) = auth {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// `<method> /api/chat/settings/` as `owner`, with `body` unless `GET`.
    pub async fn settings(
        &self,
        method: reqwest::Method,
        owner: &TestOwner,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self
            .request(method, "/api/chat/settings/")
            .bearer_auth(&owner.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    /// Starts a chat with `owner` and checks it worked.
    pub async fn start_chat_with(&self, owner: &TestOwner) -> StartedChat {
        let response = self
            .start_chat(&json!({"user_id": owner.id.to_string()}))
            .await;
        assert_eq!(response.status(), 201, "chat starts");
        let body: Value = response.json().await.expect("JSON body");
        StartedChat {
            room_id: body["room_id"].as_str().expect("room_id").to_owned(),
            visitor_token: body["visitor_token"]
                .as_str()
                .expect("visitor_token")
                .to_owned(),
        }
    }

    /// `GET /api/chat/rooms/` as `auth`.
    pub async fn list_rooms(&self, auth: &Auth) -> reqwest::Response {
        self.list_rooms_if_none_match(auth, None).await
    }

    /// `GET /api/chat/rooms/` with `If-None-Match`.
    pub async fn list_rooms_if_none_match(
        &self,
        auth: &Auth,
        etag: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.request(reqwest::Method::GET, "/api/chat/rooms/");
        if let Auth::Owner(token) = auth {
            request = request.bearer_auth(token);
        }
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        request.send().await.expect("request sent")
    }

    /// The owner's rooms as JSON, checking the call worked.
    pub async fn rooms_of(&self, owner: &TestOwner) -> Vec<Value> {
        let response = self.list_rooms(&owner.auth()).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("JSON list")
    }

    /// `GET /api/chat/rooms/<room>/messages/` as `auth`, with extra query pairs.
    pub async fn list_messages(
        &self,
        room: &str,
        auth: &Auth,
        query: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.request(
            reqwest::Method::GET,
            &format!("/api/chat/rooms/{room}/messages/"),
        );
        match auth {
            Auth::None => {}
            Auth::Owner(token) => request = request.bearer_auth(token),
            Auth::Visitor(token) => request = request.query(&[("visitor", token)]),
        }
        request.query(query).send().await.expect("request sent")
    }

    /// A room's history as JSON, checking the call worked.
    pub async fn history(&self, room: &str, auth: &Auth) -> Vec<Value> {
        let response = self.list_messages(room, auth, &[]).await;
        assert_eq!(response.status(), 200, "history readable");
        response.json().await.expect("JSON list")
    }

    /// The socket URL of `room` for `auth`, under `/ws/` or `/back/ws/`.
    pub fn ws_url(&self, base_path: &str, room: &str, auth: &Auth) -> String {
        let query = match auth {
            Auth::None => String::new(),
            Auth::Owner(token) => format!("?token={token}"),
            Auth::Visitor(token) => format!("?visitor={token}"),
        };
        format!("{}{base_path}{room}/{query}", self.ws_address)
    }

    /// Opens `/ws/chat/<room>/` as `auth`; panics when refused.
    pub async fn open_ws(&self, room: &str, auth: &Auth) -> WsClient {
        WsClient::connect(&self.ws_url("/ws/chat/", room, auth), None)
            .await
            .unwrap_or_else(|status| panic!("handshake refused with {status}"))
    }

    /// Opens `/ws/chat/<room>/` as `auth` with `carinfo.v2`, `?after=` when given; panics
    /// when refused.
    pub async fn open_v2(&self, room: &str, auth: &Auth, after: Option<&str>) -> WsClient {
        WsClient::connect_v2(&self.resume_url(room, auth, after))
            .await
            .unwrap_or_else(|status| panic!("handshake refused with {status}"))
    }

    /// The room socket's URL with `?after=` when given.
    pub fn resume_url(&self, room: &str, auth: &Auth, after: Option<&str>) -> String {
        let url = self.ws_url("/ws/chat/", room, auth);
        let glue = if url.contains('?') { '&' } else { '?' };
        match after {
            Some(after) => format!("{url}{glue}after={after}"),
            None => url,
        }
    }

    /// The owner channel's URL for `token`.
    pub fn owner_channel_url(&self, base_path: &str, token: &str) -> String {
        format!("{}{base_path}?token={token}", self.ws_address)
    }

    /// Opens `/ws/owner/` as `owner`; panics when refused.
    pub async fn open_owner_channel(&self, owner: &TestOwner) -> WsClient {
        WsClient::connect(&self.owner_channel_url("/ws/owner/", &owner.token), None)
            .await
            .unwrap_or_else(|status| panic!("handshake refused with {status}"))
    }

    /// The HTTP status a handshake to `url` gets: 101 when upgraded.
    pub async fn handshake_status(&self, url: &str) -> u16 {
        match WsClient::connect(url, None).await {
            Ok(_) => 101,
            Err(status) => status,
        }
    }

    /// Sends `texts` on a fresh socket, one after another, and returns the broadcast frames.
    pub async fn chat(&self, room: &str, auth: &Auth, texts: &[&str]) -> Vec<Value> {
        let mut socket = self.open_ws(room, auth).await;
        let mut frames = Vec::with_capacity(texts.len());
        for text in texts {
            socket.send_message(text).await;
            let frame = socket.next_json().await;
            assert_eq!(
                frame["message"], *text,
                "the echo of what was sent: {frame}"
            );
            frames.push(frame);
        }
        socket.close().await;
        frames
    }
}
