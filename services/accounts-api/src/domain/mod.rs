//! Accounts' domain values, each parsed once at the edge into a type that cannot be invalid.

pub mod password;
pub mod password_hasher;
pub mod phone_number;
pub mod profile;
pub mod profile_fields;
pub mod refresh_token;
pub mod sticker;
pub mod user;

pub use password::Password;
pub use password_hasher::PasswordHasher;
pub use phone_number::PhoneNumber;
pub use profile::{Profile, ProfilePatch, ProfileUpdate, Registration};
pub use refresh_token::RefreshToken;
pub use sticker::RegistrationConflict;
pub use user::User;
