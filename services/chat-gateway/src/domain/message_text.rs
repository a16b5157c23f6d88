//! `MessageText`: what a chat message may contain: not blank, at most 4,096 characters.

/// Validated message text.
#[derive(Debug, Clone, PartialEq, Eq, derive_more::Display, derive_more::AsRef)]
#[as_ref(str)]
pub struct MessageText(String);

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageTextError {
    /// Empty or whitespace only.
    #[error("Message must not be blank.")]
    Blank,
    /// Over [`MessageText::MAX_CHARS`].
    #[error("Message is too long (at most 4096 characters).")]
    TooLong,
    /// Contains a NUL character, which the database cannot store.
    #[error("Null characters are not allowed.")]
    NullCharacter,
}

impl MessageText {
    /// Upper bound in characters (not bytes).
    pub const MAX_CHARS: usize = 4096;

    /// Validates `raw`; the text is kept as sent (leading/trailing spaces may be intended).
    pub fn parse(raw: &str) -> Result<Self, MessageTextError> {
        if raw.trim().is_empty() {
            return Err(MessageTextError::Blank);
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(MessageTextError::TooLong);
        }
        if raw.contains('\0') {
            return Err(MessageTextError::NullCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text, for storage.
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blank_and_oversized_messages_are_refused() {
        assert_eq!(MessageText::parse(""), Err(MessageTextError::Blank));
        assert_eq!(MessageText::parse(" \n\t"), Err(MessageTextError::Blank));
        assert!(MessageText::parse(&"ы".repeat(4096)).is_ok());
        assert_eq!(
            MessageText::parse(&"ы".repeat(4097)),
            Err(MessageTextError::TooLong)
        );
        assert_eq!(
            MessageText::parse("a\0b"),
            Err(MessageTextError::NullCharacter)
        );
    }

    proptest! {
        #[test]
        fn accepted_text_round_trips(raw in "\\PC{1,64}") {
            if let Ok(text) = MessageText::parse(&raw) {
                prop_assert_eq!(text.as_ref(), raw.as_str());
            }
        }
    }
}
