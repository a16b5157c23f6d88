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
