//! Registration and profile changes, as values the request parsers produce.

use shared::ids::UserId;

use super::{password::Password, phone_number::PhoneNumber, user::Profile};

/// A partial profile change: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    /// New login phone number.
    pub phone_number: Option<PhoneNumber>,
    /// New display name.
    pub full_name: Option<String>,
    /// New second phone ("" clears it).
    pub phone_number_2: Option<String>,
    /// New car model.
    pub car_model: Option<String>,
    /// New plate.
    pub car_plate_number: Option<String>,
    /// New Instagram.
    pub instagram: Option<String>,
    /// New Telegram.
    pub telegram: Option<String>,
    /// New WhatsApp.
    pub whatsapp: Option<String>,
    /// New visibility.
    pub is_profile_public: Option<bool>,
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

impl ProfilePatch {
    /// The profile after applying this patch to `profile`.
    pub fn applied_to(&self, profile: &Profile) -> Profile {
        let pick = |new: &Option<String>, old: &String| new.clone().unwrap_or_else(|| old.clone());
        Profile {
            full_name: pick(&self.full_name, &profile.full_name),
            phone_number_2: pick(&self.phone_number_2, &profile.phone_number_2),
            car_model: pick(&self.car_model, &profile.car_model),
            car_plate_number: pick(&self.car_plate_number, &profile.car_plate_number),
            instagram: pick(&self.instagram, &profile.instagram),
            telegram: pick(&self.telegram, &profile.telegram),
            whatsapp: pick(&self.whatsapp, &profile.whatsapp),
            is_profile_public: self.is_profile_public.unwrap_or(profile.is_profile_public),
        }
    }
}
