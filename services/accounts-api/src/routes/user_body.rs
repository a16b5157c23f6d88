//! The two user objects of the wire conventions: the owner's own (every profile field) and the
//! public one (the owner's without the owner-only fields, today `is_profile_public`). Never a
//! hash, token or internal flag. Both are declared from [`crate::domain::profile_fields`];
//! they are flat structs rather than a `#[serde(flatten)]` of a shared part so that the
//! OpenAPI components stay plain objects.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{profile_fields::profile_fields, User};

/// Declares [`OwnerUser`] and [`PublicUser`] from the field list, and the public object as the
/// owner's minus its owner-only part.
macro_rules! user_bodies {
    ([]
     public { $($(#[doc = $pdoc:literal])* $public:ident: $pty:ty = $pk:ident($($pa:expr),*),)* }
     owner { $($(#[doc = $odoc:literal])* $owner:ident: $oty:ty = $ok:ident($($oa:expr),*),)* }
    ) => {
        /// The owner's own user object.
        #[derive(Debug, Serialize, ToSchema)]
        pub struct OwnerUser {
            /// Sticker / user UUID.
            #[schema(format = Uuid)]
            pub id: String,
            /// E.164 login phone.
            pub phone_number: String,
            $($(#[doc = $pdoc])* pub $public: $pty,)*
            $($(#[doc = $odoc])* pub $owner: $oty,)*
        }

        /// The public profile: the owner object without `is_profile_public`.
        #[derive(Debug, Serialize, ToSchema)]
        pub struct PublicUser {
            /// Sticker / user UUID.
            #[schema(format = Uuid)]
            pub id: String,
            /// E.164 phone.
            pub phone_number: String,
            $($(#[doc = $pdoc])* pub $public: $pty,)*
        }

        impl From<&User> for OwnerUser {
            fn from(user: &User) -> Self {
                let profile = &user.profile;
                Self {
                    id: user.id.to_string(),
                    phone_number: user
                        .phone_number
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    $($public: profile.$public.clone(),)*
                    $($owner: profile.$owner.clone(),)*
                }
            }
        }

        impl From<OwnerUser> for PublicUser {
            fn from(owner: OwnerUser) -> Self {
                Self {
                    id: owner.id,
                    phone_number: owner.phone_number,
                    $($public: owner.$public,)*
                }
            }
        }
    };
}

profile_fields!(user_bodies);

impl From<&User> for PublicUser {
    fn from(user: &User) -> Self {
        OwnerUser::from(user).into()
    }
}

#[cfg(test)]
mod tests {
    use shared::ids::UserId;

    use super::*;
    use crate::domain::{PhoneNumber, Profile};

    // docs/api-guide.md lists the owner object's keys in this order and the bodies have always
    // been written in it; the order now follows the field list, so reordering it fails here.
    #[test]
    fn the_user_objects_keep_their_published_key_order() {
        let user = User {
            id: UserId::from(uuid::Uuid::nil()),
            phone_number: Some(PhoneNumber::from_stored("+998901234567".into())),
            password_hash: None,
            profile: Profile {
                full_name: "Ali".into(),
                ..Profile::for_new_owner()
            },
            is_registered: true,
            version: 1,
        };
        let fields = r#""id":"00000000-0000-0000-0000-000000000000","phone_number":"+998901234567","full_name":"Ali","phone_number_2":"","car_model":"","car_plate_number":"","instagram":"","telegram":"","whatsapp":"""#;

        let owner = serde_json::to_string(&OwnerUser::from(&user)).unwrap();
        let public = serde_json::to_string(&PublicUser::from(&user)).unwrap();

        assert_eq!(owner, format!(r#"{{{fields},"is_profile_public":true}}"#));
        assert_eq!(public, format!("{{{fields}}}"));
    }
}
