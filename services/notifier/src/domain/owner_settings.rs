//! An owner's chat settings as the notifier knows them: a projection of
//! `chat.owners.<id>.settings`, applied only when newer than what is held.

use chrono::{DateTime, Utc};
use shared::ids::UserId;

use super::Silence;

/// Whether an owner wants to hear from visitors now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerSettings {
    /// The owner.
    pub owner_id: UserId,
    /// `false` while the sticker is paused.
    pub accepting_messages: bool,
    /// No notifications before this time.
    pub quiet_until: Option<DateTime<Utc>>,
    /// The settings' version; only a greater one replaces them.
    pub version: i64,
}

impl OwnerSettings {
    /// Why the owner must not be notified at `now`, if they must not. An owner the notifier
    /// has no settings for is notified.
    pub fn silence(settings: Option<&Self>, now: DateTime<Utc>) -> Option<Silence> {
        let settings = settings?;
        if !settings.accepting_messages {
            Some(Silence::Paused)
        } else if settings.quiet_until.is_some_and(|until| now < until) {
            Some(Silence::Quiet)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_or_quiet_owners_are_silent_until_their_quiet_time_ends() {
        let now = shared::time::now();
        let settings = |accepting_messages, quiet_until| OwnerSettings {
            owner_id: UserId::new_random(),
            accepting_messages,
            quiet_until,
            version: 1,
        };
        let hour = chrono::Duration::hours(1);
        assert_eq!(OwnerSettings::silence(None, now), None);
        assert_eq!(
            OwnerSettings::silence(Some(&settings(true, None)), now),
            None
        );
        assert_eq!(
            OwnerSettings::silence(Some(&settings(false, None)), now),
            Some(Silence::Paused)
        );
        assert_eq!(
            OwnerSettings::silence(Some(&settings(true, Some(now + hour))), now),
            Some(Silence::Quiet)
        );
        assert_eq!(
            OwnerSettings::silence(Some(&settings(true, Some(now - hour))), now),
            None
        );
    }
}
