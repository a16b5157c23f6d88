//! Request extractors whose rejections are [`ApiError`] in the guide's conventions, never
//! axum's plain-text bodies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// Decodes `application/x-www-form-urlencoded` the way browsers encode it. Works on bytes
/// throughout: a `%` followed by anything but two hex digits is kept as it is, and invalid
/// UTF-8 becomes U+FFFD, so no input can make it fail.
fn form_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    fn decode(raw: &[u8]) -> String {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'+' => out.push(b' '),
                b'%' => match (
                    raw.get(i + 1).and_then(|&b| hex(b)),
                    raw.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                other => out.push(other),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    bytes
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (decode(&pair[..eq]), decode(&pair[eq + 1..])),
            None => (decode(pair), String::new()),
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

/// The client's address: the TCP peer, or, behind a trusted ingress (`TRUST_FORWARDED_FOR`),
/// the last `X-Forwarded-For` hop: the one the ingress appended itself. Earlier hops are
/// whatever the client wrote and are never trusted.
pub fn client_address(headers: &HeaderMap, peer: PeerAddr, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.0
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip())
}

/// A client as limits count it: an IPv4 address, or an IPv6 /64 (one subscriber's network: a
/// single host can use all 2^64 addresses of its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ClientKey {
    /// The client of a request.
    pub fn of(headers: &HeaderMap, peer: PeerAddr, trust_forwarded_for: bool) -> Self {
        Self::from(client_address(headers, peer, trust_forwarded_for))
    }
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

    #[test]
    fn a_stray_percent_before_a_multibyte_character_is_kept() {
        let body = JsonObject::parse(
            Some("application/x-www-form-urlencoded"),
            "phone_number=1&password=%€".as_bytes(),
        )
        .unwrap();
        assert_eq!(body.get("password").unwrap(), "%€");
    }

    #[test]
    fn the_ingress_hop_is_the_client_and_ipv6_counts_by_prefix() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let peer = PeerAddr(Some("10.0.0.1:1234".parse().unwrap()));
        assert_eq!(
            client_address(&headers, peer, true).to_string(),
            "203.0.113.7"
        );
        assert_eq!(
            client_address(&headers, peer, false).to_string(),
            "10.0.0.1"
        );
        let a = ClientKey::from("2001:db8:1:2::1".parse::<IpAddr>().unwrap());
        let b = ClientKey::from("2001:db8:1:2:ffff::9".parse::<IpAddr>().unwrap());
        let c = ClientKey::from("2001:db8:1:3::1".parse::<IpAddr>().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    proptest::proptest! {
        #[test]
        fn no_body_makes_a_parser_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            media in proptest::sample::select(vec![
                "application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/problem+json; charset=utf-8",
            ]),
        ) {
            let _ = JsonObject::parse(Some(media), &bytes);
            let _ = JsonObject::parse(None, &bytes);
        }

        #[test]
        fn form_bodies_of_any_text_decode(text in "\\PC*") {
            let _ = JsonObject::parse(Some("application/x-www-form-urlencoded"), text.as_bytes());
        }
    }
}
