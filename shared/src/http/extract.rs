//! Request extractors whose rejections are [`ApiError`] in the guide's conventions, never
//! axum's plain-text bodies.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    body::Body,
    extract::{ConnectInfo, FromRequest, Request},
    http::{header, HeaderMap},
};
use serde_json::{Map, Value};

use super::{error::ApiError, field_errors::FieldErrors};

/// Upper bound on a JSON request body; every body in the guide is far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body that is a JSON object (or a form, as DRF also parses), ready for field-level
/// validation with [`super::fields`].
#[derive(Debug, Default)]
pub struct JsonObject(pub Map<String, Value>);

impl JsonObject {
    /// The raw value of one field, if sent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl JsonObject {
    /// Parses a body the way DRF's JSON and form parsers do.
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Self, ApiError> {
        let media = content_type.map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        match media.as_deref() {
            Some("application/x-www-form-urlencoded") => {
                let map = form_urlencoded_pairs(bytes)
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                return Ok(Self(map));
            }
            Some(m) if !(m == "application/json" || m.ends_with("+json") || m.is_empty()) => {
                return Err(ApiError::UnsupportedMediaType(m.to_owned()));
            }
            _ => {}
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::BadRequest(format!("JSON parse error - {e}")))?;
        match value {
            Value::Object(map) => Ok(Self(map)),
            other => Err(ApiError::Validation(FieldErrors::single(
                super::field_errors::NON_FIELD_ERRORS,
                format!(
                    "Invalid data. Expected a dictionary, but got {}.",
                    python_type_name(&other)
                ),
            ))),
        }
    }
}

fn form_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let s = s.replace('+', " ");
        let mut out = Vec::with_capacity(s.len());
        let raw = s.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' && i + 2 < raw.len() {
                if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(raw[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        Self::parse(content_type.as_deref(), &bytes)
    }
}

/// The TCP peer of the request, when the server recorded it.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}

/// The client's address: the peer, or the first `X-Forwarded-For` hop when the service runs
/// behind a trusted ingress (`TRUST_FORWARDED_FOR`).
pub fn client_address(headers: &HeaderMap, peer: PeerAddr, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.0
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_body_is_a_non_field_error() {
        let err = JsonObject::parse(Some("application/json"), b"[1]").unwrap_err();
        match err {
            ApiError::Validation(e) => assert_eq!(
                e.get("non_field_errors").unwrap()[0],
                "Invalid data. Expected a dictionary, but got list."
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_a_parse_error() {
        let err = JsonObject::parse(Some("application/json"), b"{").unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(d) if d.starts_with("JSON parse error - ")));
    }

    #[test]
    fn forms_are_parsed_and_other_media_refused() {
        let body = JsonObject::parse(
            Some("application/x-www-form-urlencoded"),
            b"phone_number=%2B998901234567&password=a+b",
        )
        .unwrap();
        assert_eq!(body.get("phone_number").unwrap(), "+998901234567");
        assert_eq!(body.get("password").unwrap(), "a b");
        assert!(matches!(
            JsonObject::parse(Some("text/plain"), b"x"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
    }
}
