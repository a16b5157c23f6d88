//! One push request (RFC 8030): the payload encrypted to the subscription (RFC 8291,
//! `aes128gcm`), signed for with VAPID (RFC 8292), POSTed to the endpoint through the guarded
//! client, and the push service's answer sorted into what to do next.

use std::{sync::Arc, time::Duration};

use axum::http::{header, StatusCode};
use reqwest::Client;

use super::{
    guard::{refusal_in, EndpointGuard},
    vapid::VapidKey,
};
use crate::{domain::PushEndpoint, store::DueDelivery};

/// What the push service's answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (2xx): done.
    Delivered,
    /// 404 or 410: the subscription is gone; forget it.
    Gone,
    /// 429, 5xx or no answer: try again, after `after` when the service said so.
    Retry {
        /// `Retry-After`, when given.
        after: Option<Duration>,
        /// What happened, for the log.
        reason: String,
    },
    /// Refused for good (another 4xx, an endpoint the guard refuses): drop the delivery.
    Rejected(String),
}

/// Sends deliveries.
#[derive(Debug, Clone)]
pub struct PushSender {
    client: Client,
    guard: EndpointGuard,
    vapid: Arc<VapidKey>,
    subject: String,
    ttl_secs: u64,
}

impl PushSender {
    /// A sender whose every connection goes through `guard`, each request bounded by
    /// `timeout`. Redirects are not followed (a push service has no reason to redirect, and a
    /// redirect could lead anywhere) and no proxy from the environment is used.
    pub fn new(
        guard: EndpointGuard,
        vapid: Arc<VapidKey>,
        subject: String,
        ttl_secs: u64,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = Client::builder()
            .dns_resolver(Arc::new(guard))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .build()?;
        Ok(Self {
            client,
            guard,
            vapid,
            subject,
            ttl_secs,
        })
    }

    /// Sends one delivery.
    #[tracing::instrument(skip_all, fields(delivery.id = %delivery.id, room.id = %delivery.room_id))]
    pub async fn send(&self, delivery: &DueDelivery) -> Outcome {
        let endpoint = match PushEndpoint::parse(&delivery.endpoint, self.guard.allows_private()) {
            Ok(endpoint) => endpoint,
            Err(e) => return Outcome::Rejected(format!("stored endpoint refused: {e}")),
        };
        if let Err(refusal) = self.guard.admit_literal(&endpoint) {
            return Outcome::Rejected(refusal.to_string());
        }
        let auth = web_push_native::Auth::clone_from_slice(delivery.keys.auth.as_bytes());
        let body = match web_push_native::encrypt(
            delivery.payload.as_bytes().to_vec(),
            delivery.keys.p256dh.key(),
            &auth,
        ) {
            Ok(body) => body,
            Err(e) => return Outcome::Rejected(format!("encryption failed: {e}")),
        };
        let authorization =
            match self
                .vapid
                .authorization(&endpoint.origin(), &self.subject, chrono::Utc::now())
            {
                Ok(value) => value,
                Err(e) => return Outcome::Rejected(format!("{e:#}")),
            };
        let response = self
            .client
            .post(endpoint.url().clone())
            .header("TTL", self.ttl_secs)
            .header(header::CONTENT_ENCODING, "aes128gcm")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header("Urgency", "high")
            // One topic per room: a push service holding an undelivered notification of the
            // room replaces it with the newer one (and a resend after a crash with itself).
            .header("Topic", delivery.room_id.simple().to_string())
            .header(header::AUTHORIZATION, authorization)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) => classify(response.status(), retry_after(response.headers())),
            Err(e) => match refusal_in(&e) {
                Some(refusal) => Outcome::Rejected(refusal.to_string()),
                None => Outcome::Retry {
                    after: None,
                    reason: format!("no answer: {e}"),
                },
            },
        }
    }
}

/// The push service's status → what to do.
fn classify(status: StatusCode, retry_after: Option<Duration>) -> Outcome {
    match status.as_u16() {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Retry {
            after: retry_after,
            reason: format!("push service answered {status}"),
        },
        _ => Outcome::Rejected(format!("push service answered {status}")),
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_sort_into_done_gone_retry_and_rejected() {
        assert_eq!(classify(StatusCode::CREATED, None), Outcome::Delivered);
        assert_eq!(classify(StatusCode::GONE, None), Outcome::Gone);
        assert_eq!(classify(StatusCode::NOT_FOUND, None), Outcome::Gone);
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3))),
            Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, None),
            Outcome::Retry { after: None, .. }
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None),
            Outcome::Rejected(_)
        ));
        assert!(matches!(
            classify(StatusCode::PAYLOAD_TOO_LARGE, None),
            Outcome::Rejected(_)
        ));
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(60)).to_rfc2822();
        headers.insert(header::RETRY_AFTER, later.parse().unwrap());
        assert!(retry_after(&headers).is_some_and(|d| d > Duration::from_secs(50)));
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
