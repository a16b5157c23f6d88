//! The login throttle (OWASP: slow down password guessing per account and per source, without
//! handing attackers a way to lock the owner out).
//!
//! Every attempt takes its tokens *before* its password is checked, so concurrent guesses can
//! never verify more than the allowance; a successful login gives them back. Three budgets:
//! - per client and phone (`LOGIN_FAILURES_PER_PHONE`, 5 per window): what one address may
//!   try against one account. Refusals here are for that address only, so failures from one
//!   address never lock the owner out elsewhere.
//! - per client (`LOGIN_FAILURES_PER_ADDRESS`, 100 per window): one address across accounts.
//! - per phone from all clients together (`LOGIN_FAILURES_PER_PHONE_TOTAL`, 50 per window):
//!   bounds a distributed guess; reaching it takes at least ten addresses.
//!
//! A phone number that does not parse cannot belong to an account and gets no bucket of its
//! own; the attempt still counts against its client.

use std::time::Duration;

use shared::{
    http::{ApiError, ClientKey},
    rate_limit::{retry_after_secs, KeyedLimiter, Quota},
};

use crate::{config::Config, domain::PhoneNumber};

/// The three budgets.
pub struct LoginThrottle {
    by_client_and_phone: KeyedLimiter<(ClientKey, PhoneNumber)>,
    by_client: KeyedLimiter<ClientKey>,
    by_phone: KeyedLimiter<PhoneNumber>,
}

/// The tokens one attempt holds; [`Admission::refund`] gives them back.
pub struct Admission<'a> {
    throttle: &'a LoginThrottle,
    client: ClientKey,
    phone: Option<PhoneNumber>,
}

impl LoginThrottle {
    /// The throttle `config` describes.
    pub fn new(config: &Config) -> Self {
        fn limiter<K: std::hash::Hash>(config: &Config, count: u32) -> KeyedLimiter<K> {
            KeyedLimiter::bounded(
                Quota::per_window(count, Duration::from_secs(config.login_failure_window_secs)),
                config.common.rate_limits.enabled(),
                config.common.throttle_max_keys,
            )
        }
        Self {
            by_client_and_phone: limiter(config, config.login_failures_per_phone),
            by_client: limiter(config, config.login_failures_per_address),
            by_phone: limiter(config, config.login_failures_per_phone_total),
        }
    }

    /// Takes one attempt's tokens, or refuses it with 429 and nothing taken.
    pub fn admit(
        &self,
        client: ClientKey,
        phone: Option<&PhoneNumber>,
    ) -> Result<Admission<'_>, ApiError> {
        let throttled = |wait| ApiError::Throttled {
            wait_secs: retry_after_secs(wait),
        };
        // The client's own budget first: a client over it adds no key to the other tables.
        self.by_client.check(&client).map_err(throttled)?;
        if let Some(phone) = phone {
            let pair = (client, phone.clone());
            if let Err(wait) = self.by_client_and_phone.check(&pair) {
                self.by_client.refund(&client);
                return Err(throttled(wait));
            }
            if let Err(wait) = self.by_phone.check(phone) {
                self.by_client_and_phone.refund(&pair);
                self.by_client.refund(&client);
                return Err(throttled(wait));
            }
        }
        Ok(Admission {
            throttle: self,
            client,
            phone: phone.cloned(),
        })
    }
}

impl Admission<'_> {
    /// The password was right, or was never checked: the attempt does not count.
    pub fn refund(self) {
        let throttle = self.throttle;
        throttle.by_client.refund(&self.client);
        if let Some(phone) = self.phone {
            throttle.by_phone.refund(&phone);
            throttle.by_client_and_phone.reset(&(self.client, phone));
        }
    }
}
