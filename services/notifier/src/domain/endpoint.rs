//! `PushEndpoint`: the URL of one browser's push subscription, as far as its text can tell.
//! Where its host leads is decided by `push::guard`, at subscription time and again at
//! every send.

use std::fmt;

use reqwest::Url;

/// A push endpoint URL: `https` (or `http` where private endpoints are allowed, for tests),
/// with a host, no credentials, at most [`PushEndpoint::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEndpoint(Url);

/// Why an endpoint's text is refused; the message is the client's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL at all.
    #[error("Enter a valid URL.")]
    Invalid,
    /// Too long.
    #[error(
        "Ensure this field has no more than {} characters.",
        PushEndpoint::MAX_CHARS
    )]
    TooLong,
    /// Not `https`.
    #[error("Push endpoints must use https.")]
    NotHttps,
    /// `user:password@` in the URL.
    #[error("Push endpoints must not carry credentials.")]
    Credentials,
}

impl PushEndpoint {
    /// Browsers' endpoints are a few hundred characters; this bounds what is stored.
    pub const MAX_CHARS: usize = 2048;

    /// Parses an endpoint; `allow_http` also accepts `http` (private endpoints, tests).
    pub fn parse(raw: &str, allow_http: bool) -> Result<Self, EndpointError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(EndpointError::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| EndpointError::Invalid)?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => return Err(EndpointError::NotHttps),
            _ => return Err(EndpointError::Invalid),
        }
        if url.host().is_none() {
            return Err(EndpointError::Invalid);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::Credentials);
        }
        Ok(Self(url))
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The text as stored and as the client sent it (normalised by URL parsing).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `scheme://host[:port]`: the VAPID token's audience (RFC 8292, 2).
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }
}

impl fmt::Display for PushEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_with_a_host_are_endpoints() {
        let ok = PushEndpoint::parse("https://fcm.googleapis.com/fcm/send/abc:def", false).unwrap();
        assert_eq!(ok.origin(), "https://fcm.googleapis.com");
        assert_eq!(
            PushEndpoint::parse("http://push.example/x", false),
            Err(EndpointError::NotHttps)
        );
        assert!(PushEndpoint::parse("http://127.0.0.1:9/x", true).is_ok());
        for bad in [
            "",
            "push",
            "ftp://x/y",
            "https://",
            "mailto:a@b",
            "file:///etc/passwd",
        ] {
            assert!(PushEndpoint::parse(bad, true).is_err(), "{bad}");
        }
        assert_eq!(
            PushEndpoint::parse("https://u:p@push.example/x", false),
            Err(EndpointError::Credentials)
        );
        let long = format!("https://push.example/{}", "a".repeat(2048));
        assert_eq!(
            PushEndpoint::parse(&long, false),
            Err(EndpointError::TooLong)
        );
    }

    #[test]
    fn the_audience_keeps_a_port_that_is_not_the_default() {
        let endpoint = PushEndpoint::parse("http://127.0.0.1:4321/push/1", true).unwrap();
        assert_eq!(endpoint.origin(), "http://127.0.0.1:4321");
        let endpoint = PushEndpoint::parse("https://push.example:443/p", false).unwrap();
        assert_eq!(endpoint.origin(), "https://push.example");
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(raw in "\\PC*") {
            let _ = PushEndpoint::parse(&raw, false);
        }
    }
}
