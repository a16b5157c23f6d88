//! Who may take part in a room, decided once for the socket handshake and the history alike.

use chrono::{DateTime, Duration, Utc};
use shared::ids::UserId;

use crate::domain::SenderType;

use super::{RoomAccess, VisitorToken};

/// Who claims a place in a room.
#[derive(Debug, Clone)]
pub enum Participant {
    /// The holder of a verified owner access token.
    Owner(UserId),
    /// The holder of a visitor token; `None` when what was sent cannot be one.
    Visitor(Option<VisitorToken>),
}

/// Why a claim is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Another owner, another room's visitor token, or no token at all.
    NotAParticipant,
    /// The room's own visitor token, after the room sat idle too long.
    VisitorTokenExpired,
}

impl RoomAccess {
    /// The side `who` takes in this room at `now`, given the visitor token's idle period. Only
    /// the holder of the room's own visitor token learns that it lapsed.
    pub fn admit(
        &self,
        who: &Participant,
        now: DateTime<Utc>,
        visitor_token_idle: Duration,
    ) -> Result<SenderType, Refusal> {
        match who {
            Participant::Owner(user) if *user == self.owner_id => Ok(SenderType::Owner),
            Participant::Visitor(Some(token)) if token.hash() == self.visitor_token_hash => {
                if self.visitor_token_expired(now, visitor_token_idle) {
                    Err(Refusal::VisitorTokenExpired)
                } else {
                    Ok(SenderType::Visitor)
                }
            }
            _ => Err(Refusal::NotAParticipant),
        }
    }
}
