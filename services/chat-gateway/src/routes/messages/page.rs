//! The history's paging parameters, parsed once with every field's error at once.

use serde::Deserialize;
use shared::http::{fields::msg, FieldErrors};
use uuid::Uuid;

use crate::domain::{MessageId, RoomId};

/// Largest page.
pub const MAX_PAGE: i64 = 500;

/// `?after=&limit=` as sent (the credentials in the same query are read elsewhere).
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// Where a page starts and how long it is; no limit means the whole history.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Only messages after this one.
    pub after: Option<MessageId>,
    /// At most this many, 1 to [`MAX_PAGE`].
    pub limit: Option<i64>,
}

impl TryFrom<PageQuery> for Page {
    type Error = FieldErrors;

    fn try_from(query: PageQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let after =
            query
                .after
                .filter(|v| !v.is_empty())
                .and_then(|raw| match Uuid::parse_str(&raw) {
                    Ok(id) => Some(MessageId(id)),
                    Err(_) => {
                        errors.add("after", msg::INVALID_UUID);
                        None
                    }
                });
        let limit =
            query
                .limit
                .filter(|v| !v.is_empty())
                .and_then(|raw| match raw.parse::<i64>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => Some(n),
                    Ok(_) => {
                        errors.add(
                            "limit",
                            format!("Ensure this value is between 1 and {MAX_PAGE}."),
                        );
                        None
                    }
                    Err(_) => {
                        errors.add("limit", "A valid integer is required.");
                        None
                    }
                });
        if errors.is_empty() {
            Ok(Self { after, limit })
        } else {
            Err(errors)
        }
    }
}

/// The `Link` to the page after one that ended with `last` and was full. Credentials never
/// go into a link: the client adds its own `visitor` or header.
pub fn next_link(room: RoomId, last: MessageId, limit: i64) -> String {
    format!("</api/chat/rooms/{room}/messages/?after={last}&limit={limit}>; rel=\"next\"")
}
