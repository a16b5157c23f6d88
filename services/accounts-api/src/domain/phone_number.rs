//! `PhoneNumber`: an E.164 number (`+998901234567`). Owners type numbers in many ways; they
//! are normalised once here so uniqueness and login compare like with like.

use std::fmt;

/// A phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// The input is not a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid phone number.")]
pub struct InvalidPhoneNumber;

/// Uzbekistan's country code: a bare 9-digit national number is taken to be Uzbek, as the
/// product's users write them (`90 123 45 67`).
const DEFAULT_COUNTRY_CODE: &str = "998";

impl PhoneNumber {
    /// Parses `+998 90 123-45-67`, `00998901234567`, `901234567` and the like.
    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let trimmed = input.trim();
        let mut digits = String::with_capacity(trimmed.len());
        let mut international = false;
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => international = true,
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(InvalidPhoneNumber),
            }
        }
        if !international {
            if let Some(rest) = digits.strip_prefix("00") {
                digits = rest.to_owned();
                international = true;
            }
        }
        if !international {
            if digits.len() == 9 {
                digits = format!("{DEFAULT_COUNTRY_CODE}{digits}");
            } else if digits.len() == 12 && digits.starts_with(DEFAULT_COUNTRY_CODE) {
                // `998901234567` without the plus.
            } else {
                return Err(InvalidPhoneNumber);
            }
        }
        // E.164: at most 15 digits, country codes never start with 0.
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(InvalidPhoneNumber);
        }
        if digits.starts_with(DEFAULT_COUNTRY_CODE) && digits.len() != 12 {
            return Err(InvalidPhoneNumber);
        }
        Ok(Self(format!("+{digits}")))
    }

    /// Rebuilds a number that was stored already normalised.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_spellings_normalise_to_e164() {
        for input in [
            "+998901234567",
            "+998 90 123-45-67",
            "+998 (90) 123 45 67",
            "00998901234567",
            "998901234567",
            "901234567",
            " 90 123 45 67 ",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().as_ref(),
                "+998901234567",
                "{input}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("+7 912 345 67 89").unwrap().as_ref(),
            "+79123456789"
        );
    }

    #[test]
    fn non_numbers_are_refused() {
        for input in [
            "",
            "abc",
            "+",
            "12345",
            "+99890123456",
            "+0123456789",
            "+1234567890123456",
            "90-12x",
            "++998901234567",
        ] {
            assert_eq!(
                PhoneNumber::parse(input),
                Err(InvalidPhoneNumber),
                "{input}"
            );
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_is_idempotent(input in "\\PC{0,24}") {
            if let Ok(phone) = PhoneNumber::parse(&input) {
                prop_assert_eq!(PhoneNumber::parse(phone.as_ref()), Ok(phone));
            }
        }
    }
}
