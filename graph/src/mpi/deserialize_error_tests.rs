//! `Reader` reads what postcard writes, as postcard reads it, and finds
//! the message of a `Deserialize` that fails, which postcard loses.

use std::collections::BTreeMap;
use std::fmt::Debug;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;

/// `value` written by postcard and read back by `Reader`.
fn read_back<T: Serialize + DeserializeOwned>(value: &T) -> Result<T, Failure> {
    let bytes = postcard::to_allocvec(value).expect("postcard writes it");
    T::deserialize(&mut Reader { bytes: &bytes })
}

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T) {
    match read_back(&value) {
        Ok(back) => assert_eq!(back, value),
        Err(failure) => panic!("{value:?} read back as {failure:?}"),
    }
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
enum Shape {
    Empty,
    Circle(f64),
    Pair(i32, char),
    Named {
        label: String,
        points: Vec<(u16, i64)>,
    },
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Record {
    id: u128,
    delta: i128,
    flag: bool,
    small: (u8, i8),
    ratio: f32,
    tag: Option<String>,
    nothing: Option<u32>,
    unit: (),
    bytes: Vec<u8>,
    shapes: Vec<Shape>,
    index: BTreeMap<String, u64>,
    wrapped: Wrapped,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Wrapped(u32);

#[test]
fn every_kind_of_value_reads_back() {
    round_trips(Record {
        id: u128::MAX,
        delta: i128::MIN,
        flag: true,
        small: (255, -128),
        ratio: -0.5,
        tag: Some("é and ✓".into()),
        nothing: None,
        unit: (),
        bytes: vec![0, 1, 0x80, 0xff],
        shapes: vec![
            Shape::Empty,
            Shape::Circle(1e300),
            Shape::Pair(-1, '✓'),
            Shape::Named {
                label: String::new(),
                points: vec![(u16::MAX, i64::MIN), (0, i64::MAX)],
            },
        ],
        index: [("a".to_string(), 1), ("b".to_string(), u64::MAX)].into(),
        wrapped: Wrapped(7),
    });
}

proptest! {
    /// Every integer width at every value, varints of all lengths.
    #[test]
    fn integers_read_back(
        a in any::<u16>(), b in any::<u32>(), c in any::<u64>(), d in any::<u128>(),
        e in any::<i16>(), f in any::<i32>(), g in any::<i64>(), h in any::<i128>(),
    ) {
        round_trips((a, b, c, d, e, f, g, h));
    }
}

/// A value whose `Deserialize` checks it: postcard reports "Serde
/// Deserialization Error", with no message.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(try_from = "u32")]
struct Even(u32);

impl TryFrom<u32> for Even {
    type Error = String;

    fn try_from(n: u32) -> Result<Even, String> {
        if n % 2 == 0 {
            Ok(Even(n))
        } else {
            Err(format!("{n} is odd"))
        }
    }
}

#[test]
fn a_deserialize_error_deep_in_a_value_is_found() {
    // An odd number where an `Even` is read, inside a map inside a vector
    // of tuples: written as a `(String, BTreeMap<u8, u32>)` list.
    let written: Vec<(String, BTreeMap<u8, u32>)> = vec![
        ("ok".into(), [(1, 2)].into()),
        ("bad".into(), [(3, 4), (5, 7)].into()),
    ];
    let bytes = postcard::to_allocvec(&written).unwrap();
    type Read = Vec<(String, BTreeMap<u8, Even>)>;
    assert!(matches!(
        postcard::from_bytes::<Read>(&bytes),
        Err(postcard::Error::SerdeDeCustom)
    ));
    assert_eq!(
        deserialize_error::<Read>(&bytes).as_deref(),
        Some("7 is odd")
    );
}

#[test]
fn serdes_own_message_for_a_variant_this_build_lacks() {
    // What a rank built from another version of the enum writes.
    #[derive(Serialize)]
    enum Newer {
        _A,
        _B,
        C(u8),
    }
    #[derive(Deserialize, Debug)]
    enum Older {
        _A,
        _B,
    }
    let bytes = postcard::to_allocvec(&Newer::C(1)).unwrap();
    assert!(matches!(
        postcard::from_bytes::<Older>(&bytes),
        Err(postcard::Error::SerdeDeCustom)
    ));
    let message = deserialize_error::<Older>(&bytes).expect("a message");
    assert!(message.contains("variant index"), "{message}");
}

#[test]
fn no_message_for_what_decodes_or_is_not_postcard() {
    let bytes = postcard::to_allocvec(&(4u32, "four")).unwrap();
    assert_eq!(deserialize_error::<(Even, String)>(&bytes), None);
    // Cut short, and a bool that is neither 0 nor 1: postcard's own
    // errors, no value's.
    assert_eq!(deserialize_error::<(Even, String)>(&bytes[..2]), None);
    assert_eq!(deserialize_error::<bool>(&[2]), None);
}

#[test]
fn varints_are_checked_as_postcard_checks_them() {
    // The largest u16 (3 bytes, the last holding 2 bits), then one bit more.
    let max = [0xff, 0xff, 0x03];
    let over = [0xff, 0xff, 0x04];
    assert_eq!(postcard::from_bytes::<u16>(&max).unwrap(), u16::MAX);
    assert!(postcard::from_bytes::<u16>(&over).is_err());
    assert!(matches!(
        u16::deserialize(&mut Reader { bytes: &max }),
        Ok(u16::MAX)
    ));
    assert!(matches!(
        u16::deserialize(&mut Reader { bytes: &over }),
        Err(Failure::Format)
    ));
    // A varint that never ends within a u64's 10 bytes.
    assert!(matches!(
        u64::deserialize(&mut Reader { bytes: &[0x80; 11] }),
        Err(Failure::Format)
    ));
}

#[test]
fn a_forged_length_reads_nothing_and_allocates_nothing() {
    // A vector said to hold 2^60 items, in 9 bytes.
    let mut bytes = Vec::new();
    let mut n = 1u64 << 60;
    while n >= 0x80 {
        bytes.push((n as u8) | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
    assert!(matches!(
        Vec::<u64>::deserialize(&mut Reader { bytes: &bytes }),
        Err(Failure::Format)
    ));
}
