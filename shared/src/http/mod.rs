//! The HTTP surface both services share: the one error type, the extractors whose rejections
//! are that error, request spans, and serving with graceful shutdown.

pub mod connections;
pub mod error;
pub mod extract;
pub mod field_errors;
pub mod fields;
pub mod ops;
pub mod params;
pub mod request_span;
pub mod serve;

pub use connections::HttpLimits;
pub use error::{ApiError, DetailBody, ServerErrorCause};
pub use extract::{client_address, ClientKey, JsonObject, PeerAddr};
pub use field_errors::FieldErrors;
pub use params::{Path, Query};
