//! `GET /api/push/vapid-key/`: the application server key browsers subscribe with.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::Value;
use shared::config::Backend;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_vapid_key_is_the_uncompressed_p256_public_key_in_base64url_without_padding() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;

    // Act
    let response = app.vapid_key().await;

    // Assert
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let key = body["public_key"].as_str().unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    assert!(!key.contains('='), "no padding: {key}");
    let point = URL_SAFE_NO_PAD.decode(key).unwrap();
    assert_eq!(point.len(), 65);
    assert_eq!(point[0], 0x04, "uncompressed");
    assert!(
        p256::PublicKey::from_sec1_bytes(&point).is_ok(),
        "on the curve"
    );
    assert_eq!(key, app.placement.vapid.public_key());
}
