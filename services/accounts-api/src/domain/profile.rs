//! The owner's profile, a partial change of it, and the two intents that carry one
//! (registration and profile update), as values the request parsers produce. The fields come
//! from [`super::profile_fields`].

use shared::ids::UserId;

use super::{password::Password, phone_number::PhoneNumber, profile_fields::profile_fields};

/// Declares [`Profile`] and [`ProfilePatch`] from the field list.
macro_rules! define_profile {
    ([] $($group:ident {
        $($(#[doc = $doc:literal])* $name:ident: $ty:ty = $kind:ident($($arg:expr),*),)*
    })*) => {
        /// The profile fields an owner fills in, all optional ("" when not given).
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Profile {
            $($($(#[doc = $doc])* pub $name: $ty,)*)*
        }

        /// A partial profile change: `None` leaves a field as it is.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct ProfilePatch {
            $($($(#[doc = $doc])* pub $name: Option<$ty>,)*)*
        }

        impl ProfilePatch {
            /// The profile after applying this patch to `profile`.
            pub fn applied_to(&self, profile: &Profile) -> Profile {
                Profile {
                    $($($name: self.$name.clone().unwrap_or_else(|| profile.$name.clone()),)*)*
                }
            }
        }
    };
}

profile_fields!(define_profile);

impl Profile {
    /// A new owner's profile before they fill anything in: empty and public, because a sticker
    /// exists to be scanned.
    pub fn for_new_owner() -> Self {
        Self {
            is_profile_public: true,
            ..Self::default()
        }
    }
}

/// An owner's change to their account: the login phone and any profile fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// New login phone number.
    pub phone_number: Option<PhoneNumber>,
    /// The profile fields that change.
    pub profile: ProfilePatch,
}

/// A sticker activation.
#[derive(Debug)]
pub struct Registration {
    /// The sticker being activated.
    pub user_id: UserId,
    /// The owner's login phone.
    pub phone_number: PhoneNumber,
    /// The chosen password.
    pub password: Password,
    /// The initial profile.
    pub profile: Profile,
}
