//! National identifiers, parsed once at the edge ("parse, don't validate").
//!
//! * [`CreditCode`]: the 18-character unified social credit code of GB 32100-2015.
//! * [`ResidentId`]: the 18-character resident identity number of GB 11643-1999 (ISO 7064 MOD 11-2).
//! * [`RegistrationNumber`]: dipr's 16-character registration number.
//! * [`CertificateNumber`]: dipr's 17-digit certificate number.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Characters allowed in a credit code, in the order that gives each its value (GB 32100-2015, table 1).
const CREDIT_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights 3^i mod 31 for the first 17 positions.
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn credit_value(c: u8) -> Option<u32> {
    CREDIT_CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// Check character of the first 17 characters of a credit code.
pub fn credit_code_check(body: &[u8]) -> Option<u8> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body.iter().zip(CREDIT_WEIGHTS) {
        sum += credit_value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(CREDIT_CHARSET[check as usize])
}

/// ISO 7064 MOD 11-2 check character over decimal digits (`0`–`9` or `X`).
pub fn mod11_2_check(digits: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        sum = (sum + u32::from(c - b'0')) * 2 % 11;
    }
    let check = (12 - sum % 11) % 11;
    Some(if check == 10 { b'X' } else { b'0' + check as u8 })
}

/// ISO 7064 MOD 11,10 check digit over decimal digits (always a digit).
pub fn mod11_10_check(digits: &[u8]) -> Option<u8> {
    let mut p = 10u32;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let mut s = (p + u32::from(c - b'0')) % 10;
        if s == 0 {
            s = 10;
        }
        p = (2 * s) % 11;
    }
    Some(b'0' + ((11 - p) % 10) as u8)
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
        impl std::str::FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }
    };
}

/// Unified social credit code (统一社会信用代码), GB 32100-2015.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);
string_newtype!(CreditCode);

impl CreditCode {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim().to_ascii_uppercase();
        let invalid = |why: &str| DomainError::InvalidCreditCode(format!("{input:?}: {why}"));
        if s.len() != 18 {
            return Err(invalid("must be 18 characters"));
        }
        let b = s.as_bytes();
        if let Some(bad) = b.iter().find(|c| credit_value(**c).is_none()) {
            return Err(invalid(&format!("character {:?} is not allowed", *bad as char)));
        }
        let expected = credit_code_check(&b[..17]).expect("charset checked above");
        if b[17] != expected {
            return Err(invalid("check character does not match"));
        }
        Ok(Self(s))
    }
}

/// Resident identity number (公民身份号码), GB 11643-1999.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);
string_newtype!(ResidentId);

impl ResidentId {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim().to_ascii_uppercase();
        let invalid = |why: &str| DomainError::InvalidResidentId(why.to_string());
        if s.len() != 18 {
            return Err(invalid("must be 18 characters"));
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(invalid("the first 17 characters must be digits"));
        }
        let birth = &s[6..14];
        if NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
            return Err(invalid("the birth date (characters 7-14) is not a real date"));
        }
        if Some(b[17]) != mod11_2_check(&b[..17]) {
            return Err(invalid("check character does not match"));
        }
        Ok(Self(s))
    }

    /// The number with the middle hidden, for anything shown outside the owner's own view.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }
}

/// Registration number (登记号), 16 characters:
/// application year (4) · data-source code (1) · registrant-type code (1) · sequence (9) · check (1, MOD 11-2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrationNumber(String);
string_newtype!(RegistrationNumber);

impl RegistrationNumber {
    pub fn new(year: i32, source_code: u8, registrant_code: u8, sequence: u64) -> Result<Self, DomainError> {
        if !(2000..=9999).contains(&year) || source_code > 9 || registrant_code > 9 || sequence > 999_999_999 {
            return Err(DomainError::Invariant("registration number component out of range".into()));
        }
        let body = format!("{year:04}{source_code}{registrant_code}{sequence:09}");
        let check = mod11_2_check(body.as_bytes()).expect("digits");
        Ok(Self(format!("{body}{}", check as char)))
    }

    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let ok = b.len() == 16 && b[..15].iter().all(u8::is_ascii_digit) && Some(b[15]) == mod11_2_check(&b[..15]);
        if ok {
            Ok(Self(s))
        } else {
            Err(DomainError::InvalidRegistrationNumber(input.to_string()))
        }
    }
}

/// Certificate number (证书号), 17 digits:
/// year (4) · month (2) · registrar code (4) · serial (6) · check digit (1, MOD 11,10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateNumber(String);
string_newtype!(CertificateNumber);

impl CertificateNumber {
    pub fn new(year: i32, month: u32, registrar: u16, serial: u64) -> Result<Self, DomainError> {
        if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) || registrar > 9999 || serial > 999_999 {
            return Err(DomainError::Invariant("certificate number component out of range".into()));
        }
        let body = format!("{year:04}{month:02}{registrar:04}{serial:06}");
        let check = mod11_10_check(body.as_bytes()).expect("digits");
        Ok(Self(format!("{body}{}", check as char)))
    }

    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let b = s.as_bytes();
        let ok = b.len() == 17
            && b.iter().all(u8::is_ascii_digit)
            && Some(b[16]) == mod11_10_check(&b[..16])
            && (1..=12).contains(&s[4..6].parse::<u32>().unwrap_or(0));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::InvalidCertificateNumber(input.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_credit_codes_parse() {
        // Codes printed on public business licences.
        for code in ["91350100M000100Y43", "91110000100010433L"] {
            CreditCode::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        }
    }

    #[test]
    fn credit_code_errors_are_specific() {
        assert!(
            matches!(CreditCode::parse("91350100M000100Y44"), Err(DomainError::InvalidCreditCode(m)) if m.contains("check"))
        );
        assert!(
            matches!(CreditCode::parse("91350100M000100Y4"), Err(DomainError::InvalidCreditCode(m)) if m.contains("18"))
        );
        assert!(
            matches!(CreditCode::parse("9135010OM000100Y43"), Err(DomainError::InvalidCreditCode(m)) if m.contains("'O'"))
        );
    }

    #[test]
    fn resident_id_checks() {
        // The worked example of GB 11643-1999.
        ResidentId::parse("11010519491231002X").unwrap();
        assert!(ResidentId::parse("110105194912310021").is_err());
        // 31 February is no birth date, even with a correct check character.
        let body = "11010519490231002";
        let id = format!("{body}{}", mod11_2_check(body.as_bytes()).unwrap() as char);
        assert!(matches!(ResidentId::parse(&id), Err(DomainError::InvalidResidentId(m)) if m.contains("birth")));
        assert_eq!(ResidentId::parse("11010519491231002x").unwrap().masked(), "1101**********002X");
    }

    #[test]
    fn mod11_10_known_value() {
        // ISO 7064 example: 0794 → check digit 5.
        assert_eq!(mod11_10_check(b"0794"), Some(b'5'));
    }

    proptest! {
        #[test]
        fn credit_code_roundtrip_and_single_error_detection(body in "[0-9A-HJ-NP-RTUW-Y]{17}", pos in 0usize..18, sub in 0usize..31) {
            let check = credit_code_check(body.as_bytes()).unwrap() as char;
            let code = format!("{body}{check}");
            prop_assert!(CreditCode::parse(&code).is_ok());
            let mut bytes = code.clone().into_bytes();
            let replacement = CREDIT_CHARSET[sub];
            prop_assume!(bytes[pos] != replacement);
            bytes[pos] = replacement;
            prop_assert!(CreditCode::parse(std::str::from_utf8(&bytes).unwrap()).is_err());
        }

        #[test]
        fn registration_number_roundtrip(year in 2000i32..2100, src in 0u8..10, kind in 0u8..10, seq in 0u64..1_000_000_000, pos in 0usize..15, digit in 0u8..10) {
            let n = RegistrationNumber::new(year, src, kind, seq).unwrap();
            prop_assert_eq!(RegistrationNumber::parse(n.as_str()).unwrap(), n.clone());
            let mut bytes = n.as_str().as_bytes().to_vec();
            prop_assume!(bytes[pos] != b'0' + digit);
            bytes[pos] = b'0' + digit;
            prop_assert!(RegistrationNumber::parse(std::str::from_utf8(&bytes).unwrap()).is_err());
        }

        #[test]
        fn certificate_number_roundtrip(year in 2000i32..2100, month in 1u32..13, reg in 0u16..10000, serial in 0u64..1_000_000, pos in 0usize..16, digit in 0u8..10) {
            let n = CertificateNumber::new(year, month, reg, serial).unwrap();
            prop_assert_eq!(n.as_str().len(), 17);
            prop_assert_eq!(CertificateNumber::parse(n.as_str()).unwrap(), n.clone());
            let mut bytes = n.as_str().as_bytes().to_vec();
            prop_assume!(bytes[pos] != b'0' + digit);
            bytes[pos] = b'0' + digit;
            prop_assert!(CertificateNumber::parse(std::str::from_utf8(&bytes).unwrap()).is_err());
        }
    }
}
