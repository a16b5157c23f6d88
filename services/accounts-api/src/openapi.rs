//! The OpenAPI skeleton of accounts-api: title, security scheme, tags. Paths come from the
//! handlers' `#[utoipa::path]` attributes.

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

/// The document root.
#[derive(OpenApi)]
#[openapi(
    info(title = "CarInfo API", description = "QR-sticker owner profiles and anonymous real-time chat. See docs/api-guide.md."),
    modifiers(&JwtScheme),
    tags((name = "accounts", description = "Stickers, registration, login, tokens, profiles"))
)]
pub struct ApiDoc;

struct JwtScheme;

impl Modify for JwtScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
