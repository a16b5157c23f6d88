//! The owner profile's fields, written once. Every layer that needs the whole list (the domain
//! types, the request parser and bodies, the response bodies, the row mapping and its SQL)
//! expands [`profile_fields!`] instead of repeating it, so a field added here reaches each of
//! them or fails to compile there. The migrations and the event catalogue are the exceptions:
//! an applied migration is never edited, and the event snapshot is a published wire format
//! that carries only some of these fields.
//!
//! This file names what each field is (its type, its kind of value, its length limit and its
//! meaning), never how a layer reads or stores it: the kinds are read by
//! `routes::profile_fields`, which is the only code that knows HTTP.

/// Calls `$then! { [$args] public { <fields> } owner { <fields> } }`, each field written as
/// `/// doc` then `name: Type = kind(args)`:
///
/// - `public`: what a visible profile shows to anyone, in the order the bodies list them;
/// - `owner`: what only the owner sees, after the public fields.
///
/// Kinds: `text(max_chars)` is free text ("" allowed), `phone(max_chars)` a phone number or
/// "", `flag()` a boolean. A field's name is also its JSON key and its column.
///
/// `$args` is handed through untouched, for consumers that need more than the list.
macro_rules! profile_fields {
    ($then:ident $(, $($args:tt)*)?) => {
        $then! {
            [$($($args)*)?]
            public {
                /// Display name ("" when not set).
                full_name: String = text(255),
                /// Second phone ("" when not set).
                phone_number_2: String = phone(32),
                /// Car model.
                car_model: String = text(100),
                /// Plate number.
                car_plate_number: String = text(20),
                /// Instagram.
                instagram: String = text(255),
                /// Telegram.
                telegram: String = text(255),
                /// WhatsApp.
                whatsapp: String = text(255),
            }
            owner {
                /// Whether visitors see the profile.
                is_profile_public: bool = flag(),
            }
        }
    };
}

pub(crate) use profile_fields;
