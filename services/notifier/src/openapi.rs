//! The OpenAPI skeleton of the notifier; paths come from the handlers.

use utoipa::OpenApi;

/// The document root.
#[derive(OpenApi)]
#[openapi(tags((name = "push", description = "Web Push subscriptions of owners' browsers: new chats and visitor messages as notifications")))]
pub struct ApiDoc;
