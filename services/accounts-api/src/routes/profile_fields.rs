//! The profile fields on the HTTP side: how each kind of
//! [`crate::domain::profile_fields`] is read from a JSON body, in DRF's coercions and wording,
//! and the request bodies that carry the profile.

use shared::http::{fields, FieldErrors, JsonObject};

use crate::domain::{profile_fields::profile_fields, PhoneNumber, ProfilePatch};

/// A `text(max_chars)` field: "" and `null` read as "", as DRF's `CharField(blank=True)` does.
fn text(
    body: &JsonObject,
    name: &str,
    max_chars: usize,
    errors: &mut FieldErrors,
) -> Option<String> {
    fields::optional_text(body, name, max_chars, errors).ok()
}

/// A `phone(max_chars)` field: "" or a number, stored in E.164 like the login phone so one
/// number typed two ways reads the same.
fn phone(
    body: &JsonObject,
    name: &str,
    max_chars: usize,
    errors: &mut FieldErrors,
) -> Option<String> {
    let raw = fields::optional_text(body, name, max_chars, errors).ok()?;
    if raw.is_empty() {
        return Some(raw);
    }
    match PhoneNumber::parse(&raw) {
        Ok(p) => Some(p.to_string()),
        Err(e) => {
            errors.add(name, e.to_string());
            None
        }
    }
}

/// A `flag()` field, as DRF's `BooleanField` reads it.
fn flag(body: &JsonObject, name: &str, errors: &mut FieldErrors) -> Option<bool> {
    fields::boolean(body, name, errors).ok()
}

/// Declares [`read_profile`] from the field list.
macro_rules! profile_reader {
    ([] $($group:ident {
        $($(#[doc = $doc:literal])* $name:ident: $ty:ty = $kind:ident($($arg:expr),*),)*
    })*) => {
        /// Reads every profile field that was sent, recording each failure in `errors`;
        /// unknown fields are ignored, as DRF does.
        pub fn read_profile(body: &JsonObject, errors: &mut FieldErrors) -> ProfilePatch {
            ProfilePatch {
                $($($name: $kind(body, stringify!($name), $($arg,)* errors),)*)*
            }
        }
    };
}

profile_fields!(profile_reader);

/// Declares a request body: the struct given (its doc, name and own fields), then every
/// profile field as optional, documented from the field list. `with_profile` builds it from
/// its own fields and [`read_profile`]'s patch; `profile` hands the profile fields back.
/// Invoked as `profile_fields!(request_with_profile, /// doc  Name { field: Type, })`.
macro_rules! request_with_profile {
    ([$(#[doc = $request_doc:literal])* $request:ident {
        $($(#[$field_attr:meta])* $field:ident: $field_ty:ty,)*
     }]
     $($group:ident {
        $($(#[doc = $doc:literal])* $name:ident: $ty:ty = $kind:ident($($arg:expr),*),)*
     })*
    ) => {
        $(#[doc = $request_doc])*
        #[derive(::utoipa::ToSchema)]
        pub struct $request {
            $($(#[$field_attr])* pub $field: $field_ty,)*
            $($($(#[doc = $doc])* pub $name: Option<$ty>,)*)*
        }

        impl $request {
            /// The body of these own fields and the profile fields that were sent.
            fn with_profile(
                $($field: $field_ty,)*
                profile: $crate::domain::ProfilePatch,
            ) -> Self {
                Self {
                    $($field,)*
                    $($($name: profile.$name,)*)*
                }
            }

            /// The profile fields that were sent.
            pub fn profile(&self) -> $crate::domain::ProfilePatch {
                $crate::domain::ProfilePatch {
                    $($($name: self.$name.clone(),)*)*
                }
            }
        }
    };
}

pub(crate) use request_with_profile;
