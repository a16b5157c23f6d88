//! The OpenAPI skeleton of chat-gateway; paths come from the handlers.

use utoipa::OpenApi;

/// The document root.
#[derive(OpenApi)]
#[openapi(tags((name = "chat", description = "Rooms, message history and the real-time WebSocket")))]
pub struct ApiDoc;
