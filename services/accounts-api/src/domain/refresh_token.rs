//! `RefreshToken`: a verified refresh token as the blacklist sees it — its id, the family it
//! belongs to (one per login, carried through every rotation), its owner and its expiry. It
//! never holds the token itself.

use chrono::{DateTime, Duration, TimeZone, Utc};
use shared::{
    auth::{Claims, TokenError},
    ids::UserId,
};

/// A refresh token whose signature, expiry and type have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The owner.
    pub user_id: UserId,
    /// Its own id (`jti`): what the blacklist records.
    pub jti: String,
    /// The family: the `jti` of the login's refresh token.
    pub family: String,
    /// When it stops being valid anyway; its blacklist row is kept until then.
    pub expires_at: DateTime<Utc>,
}

impl RefreshToken {
    /// From verified refresh-token claims. A token without `family` (a login's own, or one
    /// issued by the old stack) is the root of its family, so its `jti` names the family.
    pub fn from_claims(claims: Claims) -> Result<Self, TokenError> {
        let user_id = claims.user_id.parse().map_err(|_| TokenError::Invalid)?;
        let expires_at = Utc
            .timestamp_opt(claims.exp, 0)
            .single()
            .ok_or(TokenError::Invalid)?;
        let family = claims.family.unwrap_or_else(|| claims.jti.clone());
        Ok(Self {
            user_id,
            jti: claims.jti,
            family,
            expires_at,
        })
    }

    /// How long a revocation of this token's family must be kept: until every token of the
    /// family has expired. A descendant is at most one refresh lifetime younger than now, so
    /// that bounds it (a longer lifetime configured earlier could outlast it; see
    /// docs/operations.md).
    pub fn family_expires_at(&self, refresh_lifetime_secs: i64) -> DateTime<Utc> {
        let descendants = Utc::now() + Duration::seconds(refresh_lifetime_secs.max(0));
        self.expires_at.max(descendants)
    }
}

#[cfg(test)]
mod tests {
    use shared::auth::TokenType;

    use super::*;

    fn claims(family: Option<&str>, user_id: &str) -> Claims {
        Claims {
            token_type: TokenType::Refresh,
            exp: Utc::now().timestamp() + 60,
            iat: Utc::now().timestamp(),
            jti: "j1".into(),
            user_id: user_id.into(),
            family: family.map(str::to_owned),
        }
    }

    #[test]
    fn a_token_without_a_family_is_the_root_of_its_own() {
        let user = UserId::new_random();
        let token = RefreshToken::from_claims(claims(None, &user.to_string())).unwrap();
        assert_eq!(token.family, "j1");
        assert_eq!(token.user_id, user);
    }

    #[test]
    fn a_rotated_token_keeps_the_family_it_carries() {
        let user = UserId::new_random();
        let token = RefreshToken::from_claims(claims(Some("f1"), &user.to_string())).unwrap();
        assert_eq!((token.jti.as_str(), token.family.as_str()), ("j1", "f1"));
    }

    #[test]
    fn a_token_naming_no_user_is_invalid() {
        assert_eq!(
            RefreshToken::from_claims(claims(None, "nobody")),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_family_is_kept_for_a_full_lifetime_or_the_tokens_own_expiry_if_later() {
        let user = UserId::new_random();
        let token = RefreshToken::from_claims(claims(None, &user.to_string())).unwrap();
        let week = 7 * 24 * 3600;
        let kept = token.family_expires_at(week) - Utc::now();
        assert!(kept > Duration::seconds(week - 5), "{kept}");
        assert_eq!(token.family_expires_at(0), token.expires_at);
    }
}
