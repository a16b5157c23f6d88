//! Which side of a room wrote a message.

use serde::Serialize;

/// The visitor or the owner; serialised as the guide spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    /// The anonymous visitor.
    Visitor,
    /// The car owner.
    Owner,
}

impl SenderType {
    /// As the guide spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Owner => "owner",
        }
    }

    /// The other side of the room.
    pub fn other(self) -> Self {
        match self {
            Self::Visitor => Self::Owner,
            Self::Owner => Self::Visitor,
        }
    }

    /// The guide's spelling back; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "visitor" => Some(Self::Visitor),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }
}
