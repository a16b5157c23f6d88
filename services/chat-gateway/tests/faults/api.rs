//! The REST calls the drills make, as the web page and the owner's app make them.

use std::{collections::HashSet, time::Duration};

use serde_json::{json, Value};
use shared::ids::UserId;

use crate::deployment::Owner;

/// A room a visitor has opened.
pub struct Chat {
    /// The room id.
    pub room_id: String,
    /// The visitor's credential.
    pub visitor_token: String,
}

/// A status and, when the body was JSON, the body.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body, if it was JSON.
    pub body: Option<Value>,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"))
}

/// `POST /api/chat/start/` for `owner`; the raw answer.
pub async fn try_start_chat(base: &str, owner: UserId) -> Answer {
    let response = client()
        .post(format!("{base}/api/chat/start/"))
        .json(&json!({ "user_id": owner.to_string() }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat start sent: {e}"));
    answer(response).await
}

/// Opens a room with `owner`, checking it worked.
pub async fn start_chat(base: &str, owner: UserId) -> Chat {
    let answer = try_start_chat(base, owner).await;
    assert_eq!(answer.status, 201, "chat starts: {:?}", answer.body);
    let body = answer.body.unwrap_or_default();
    let field = |name: &str| {
        body[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {body}"))
            .to_owned()
    };
    Chat {
        room_id: field("room_id"),
        visitor_token: field("visitor_token"),
    }
}

/// `GET /api/chat/rooms/<room>/messages/` as the owner; the raw answer.
pub async fn try_history(base: &str, room: &str, owner: &Owner) -> Answer {
    let response = client()
        .get(format!("{base}/api/chat/rooms/{room}/messages/"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("history request sent: {e}"));
    answer(response).await
}

/// The ids of every message in the room's history, checking the call worked.
pub async fn history_ids(base: &str, room: &str, owner: &Owner) -> HashSet<String> {
    let answer = try_history(base, room, owner).await;
    assert_eq!(answer.status, 200, "history readable: {:?}", answer.body);
    answer
        .body
        .and_then(|body| body.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect()
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let body = response.json().await.ok();
    Answer { status, body }
}
