//! A browser's push subscription: its endpoint and the keys a payload is encrypted to
//! (RFC 8291): the user agent's P-256 public key and its 16-byte authentication secret.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use shared::ids::UserId;

use super::PushEndpoint;

/// The user agent's ECDH public key: a point on P-256, uncompressed (65 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P256dh(p256::PublicKey);

/// The user agent's authentication secret (16 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthSecret([u8; AuthSecret::LEN]);

/// Why a key is refused; the message is the client's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not base64url.
    #[error("Enter a valid base64url value.")]
    NotBase64Url,
    /// Not 65 bytes starting with 0x04.
    #[error("Must be an uncompressed P-256 public key (65 bytes).")]
    NotUncompressedPoint,
    /// 65 bytes, but no point of the curve.
    #[error("Is not a point on the P-256 curve.")]
    NotOnCurve,
    /// Not 16 bytes.
    #[error("Must be 16 bytes.")]
    AuthLength,
}

/// Decodes base64url, with or without padding (browsers send it without).
fn decode(text: &str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| KeyError::NotBase64Url)
}

impl P256dh {
    /// Length of an uncompressed SEC1 point.
    pub const LEN: usize = 65;

    /// From the subscription's `keys.p256dh`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode(text)?)
    }

    /// From the stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != Self::LEN || bytes[0] != 0x04 {
            return Err(KeyError::NotUncompressedPoint);
        }
        p256::PublicKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::NotOnCurve)
    }

    /// The key.
    pub fn key(&self) -> &p256::PublicKey {
        &self.0
    }

    /// The uncompressed point, as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        p256::EncodedPoint::from(self.0).as_bytes().to_vec()
    }
}

impl AuthSecret {
    /// Its length.
    pub const LEN: usize = 16;

    /// From the subscription's `keys.auth`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode(text)?)
    }

    /// From the stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; Self::LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| KeyError::AuthLength)
    }

    /// The secret.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl std::fmt::Debug for AuthSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthSecret(<redacted>)")
    }
}

/// What encrypting a payload for one subscription needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    /// `keys.p256dh`.
    pub p256dh: P256dh,
    /// `keys.auth`.
    pub auth: AuthSecret,
}

/// A subscription to store for an owner.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// The owner whose token posted it.
    pub owner_id: UserId,
    /// Where notifications go.
    pub endpoint: PushEndpoint,
    /// How they are encrypted.
    pub keys: SubscriptionKeys,
}

#[cfg(test)]
mod tests {
    use super::*;

    // A browser's subscription keys (RFC 8291, appendix A).
    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    #[test]
    fn the_rfc_example_keys_parse_and_round_trip() {
        let p256dh = P256dh::parse(P256DH).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(p256dh.to_bytes()), P256DH);
        assert_eq!(P256dh::from_bytes(&p256dh.to_bytes()).unwrap(), p256dh);
        let auth = AuthSecret::parse(AUTH).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(auth.as_bytes()), AUTH);
        assert!(
            AuthSecret::parse(&format!("{AUTH}==")).is_ok(),
            "padding is accepted"
        );
    }

    #[test]
    fn keys_of_the_wrong_shape_are_refused_with_their_reason() {
        assert_eq!(P256dh::parse("not base64!"), Err(KeyError::NotBase64Url));
        assert_eq!(P256dh::parse("AAAA"), Err(KeyError::NotUncompressedPoint));
        let mut off_curve = P256dh::parse(P256DH).unwrap().to_bytes();
        off_curve[64] ^= 1;
        assert_eq!(
            P256dh::parse(&URL_SAFE_NO_PAD.encode(&off_curve)),
            Err(KeyError::NotOnCurve)
        );
        let mut compressed = vec![0x02];
        compressed.extend_from_slice(&off_curve[1..33]);
        assert_eq!(
            P256dh::parse(&URL_SAFE_NO_PAD.encode(&compressed)),
            Err(KeyError::NotUncompressedPoint)
        );
        assert_eq!(AuthSecret::parse("AAAA"), Err(KeyError::AuthLength));
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_parsers_panic(text in "\\PC*") {
            let _ = P256dh::parse(&text);
            let _ = AuthSecret::parse(&text);
        }
    }
}
