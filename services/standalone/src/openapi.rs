//! The one OpenAPI document for the whole API: every service's route definitions merged.
//! `carinfo print-openapi` writes it; `docs/openapi.json` is the committed copy that the
//! services serve, and a test fails when the two differ.

/// The merged document.
pub fn merged() -> utoipa::openapi::OpenApi {
    let mut doc = accounts_api::openapi();
    doc.merge(chat_gateway::openapi());
    doc.merge(notifier::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The merged document as pretty JSON, with a trailing newline.
pub fn merged_json() -> anyhow::Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(&merged())?))
}
