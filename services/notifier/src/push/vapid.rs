//! The application server's VAPID key (RFC 8292): a P-256 key pair whose public half
//! browsers are given at subscription time (`applicationServerKey`) and whose private half
//! signs, for every push request, a short-lived ES256 JWT naming the push service's origin.

use std::path::Path;

use anyhow::Context;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::{
    elliptic_curve::sec1::ToEncodedPoint,
    pkcs8::{DecodePrivateKey, EncodePrivateKey},
    SecretKey,
};
use serde::Serialize;

/// How long a VAPID token is valid; RFC 8292 allows at most 24 hours.
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

/// The key pair, with the public key already encoded.
#[derive(Clone)]
pub struct VapidKey {
    secret: SecretKey,
    encoding: EncodingKey,
    public_key: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    sub: &'a str,
}

impl VapidKey {
    /// A fresh random key.
    pub fn generate() -> anyhow::Result<Self> {
        Self::from_secret(SecretKey::random(&mut rand::rngs::OsRng))
    }

    /// Reads `VAPID_PRIVATE_KEY`: the base64url of the 32-byte private scalar (what
    /// `web-push generate-vapid-keys` prints), PEM text, or the path of a PEM file (SEC1
    /// `EC PRIVATE KEY`, as `openssl ecparam -name prime256v1 -genkey` writes, or PKCS#8).
    pub fn from_setting(value: &str) -> anyhow::Result<Self> {
        let value = value.trim();
        if value.starts_with("-----BEGIN") {
            return Self::from_pem(value);
        }
        if value.contains(['/', '.']) || Path::new(value).is_file() {
            let pem = std::fs::read_to_string(value)
                .with_context(|| format!("reading the VAPID key file {value}"))?;
            return Self::from_pem(&pem);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .context("VAPID_PRIVATE_KEY is neither base64url nor a PEM file")?;
        let secret = SecretKey::from_slice(&bytes)
            .context("VAPID_PRIVATE_KEY must be a 32-byte P-256 private key")?;
        Self::from_secret(secret)
    }

    fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let secret = SecretKey::from_sec1_pem(pem)
            .or_else(|_| SecretKey::from_pkcs8_pem(pem))
            .map_err(|_| anyhow::anyhow!("the VAPID key is not a P-256 private key in PEM"))?;
        Self::from_secret(secret)
    }

    fn from_secret(secret: SecretKey) -> anyhow::Result<Self> {
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encoding the VAPID key: {e}"))?;
        let public_key = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false));
        Ok(Self {
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            secret,
            public_key,
        })
    }

    /// The base64url (no padding) of the uncompressed public key, 65 bytes: what browsers
    /// pass as `applicationServerKey`, and the `k` of every request.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The private scalar as base64url: the form `VAPID_PRIVATE_KEY` takes.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.to_bytes())
    }

    /// `Authorization: vapid t=<JWT>, k=<public key>` for a request to `audience` (the push
    /// endpoint's origin), valid for [`TOKEN_LIFETIME_SECS`] from `now`.
    pub fn authorization(
        &self,
        audience: &str,
        subject: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            aud: audience,
            exp: now.timestamp() + TOKEN_LIFETIME_SECS,
            sub: subject,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.encoding)
            .context("signing the VAPID token")?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_through_its_setting_and_signs_verifiable_tokens() {
        let key = VapidKey::generate().unwrap();
        let again = VapidKey::from_setting(&key.to_base64url()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(URL_SAFE_NO_PAD.decode(key.public_key()).unwrap().len(), 65);

        let now = chrono::Utc::now();
        let header = key
            .authorization("https://push.example", "mailto:ops@example.com", now)
            .unwrap();
        let token = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split(", k=").next())
            .unwrap();
        let point = URL_SAFE_NO_PAD.decode(key.public_key()).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..]),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://push.example"]);
        let claims: serde_json::Value = jsonwebtoken::decode(token, &decoding, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        assert_eq!(claims["exp"], now.timestamp() + TOKEN_LIFETIME_SECS);
    }

    #[test]
    fn pem_keys_are_read_from_text_and_files() {
        let key = VapidKey::generate().unwrap();
        let pem = key
            .secret
            .to_sec1_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string();
        assert_eq!(
            VapidKey::from_setting(&pem).unwrap().public_key(),
            key.public_key()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vapid.pem");
        std::fs::write(&path, &pem).unwrap();
        let from_file = VapidKey::from_setting(path.to_str().unwrap()).unwrap();
        assert_eq!(from_file.public_key(), key.public_key());
        assert!(VapidKey::from_setting("AAAA").is_err());
        assert!(VapidKey::from_setting("/no/such/file.pem").is_err());
    }
}
