//! `serialize_error`: the message of the error a value's `Serialize`
//! returns. postcard, which encodes values for other ranks (`codec.rs`),
//! keeps none (`postcard::Error::SerdeSerCustom`, "Serde Serialization
//! Error"), and that message is what says what was wrong. So when postcard
//! reports one, the value is serialized again, into nothing, by a
//! serializer whose error keeps the message.

use std::fmt;

use serde::ser::{self, Serialize};

/// The message of the error `value`'s `Serialize` returns, if it returns
/// one (a `Serialize` that fails only sometimes may not fail again).
pub(crate) fn serialize_error<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    value
        .serialize(Nothing)
        .err()
        .map(|Custom(message)| message)
}

/// An error a `Serialize` implementation made, with its message.
#[derive(Debug)]
struct Custom(String);

impl fmt::Display for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Custom {}

impl ser::Error for Custom {
    fn custom<M: fmt::Display>(message: M) -> Custom {
        Custom(message.to_string())
    }
}

/// Serializes into nothing: accepts every value, and visits every part of
/// it, so that a part's `Serialize` runs as it does for postcard.
struct Nothing;

/// `serialize_*` methods of values without parts, which accept anything.
macro_rules! accept {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Custom> {
            Ok(())
        })*
    };
}

/// `serialize_*` methods that begin a compound value, whose parts are
/// serialized into nothing too.
macro_rules! begin {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Nothing, Custom> {
            Ok(Nothing)
        })*
    };
}

impl ser::Serializer for Nothing {
    type Ok = ();
    type Error = Custom;
    type SerializeSeq = Nothing;
    type SerializeTuple = Nothing;
    type SerializeTupleStruct = Nothing;
    type SerializeTupleVariant = Nothing;
    type SerializeMap = Nothing;
    type SerializeStruct = Nothing;
    type SerializeStructVariant = Nothing;

    accept! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16),
        serialize_i32(i32), serialize_i64(i64), serialize_i128(i128),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str),
        serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Custom> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Custom> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Custom> {
        value.serialize(self)
    }

    begin! {
        serialize_seq(Option<usize>),
        serialize_tuple(usize),
        serialize_tuple_struct(&'static str, usize),
        serialize_tuple_variant(&'static str, u32, &'static str, usize),
        serialize_map(Option<usize>),
        serialize_struct(&'static str, usize),
        serialize_struct_variant(&'static str, u32, &'static str, usize),
    }

    /// As postcard: a type that serializes differently for people and for
    /// machines takes the same path as it did there.
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// The compound serializers: each part is serialized into nothing too.
macro_rules! parts {
    ($($trait:ident { $($method:ident($($key:ty)?)),* }),* $(,)?) => {
        $(impl ser::$trait for Nothing {
            type Ok = ();
            type Error = Custom;
            $(fn $method<T: Serialize + ?Sized>(
                &mut self,
                $(_: $key,)?
                value: &T,
            ) -> Result<(), Custom> {
                value.serialize(Nothing)
            })*
            fn end(self) -> Result<(), Custom> {
                Ok(())
            }
        })*
    };
}

parts! {
    SerializeSeq { serialize_element() },
    SerializeTuple { serialize_element() },
    SerializeTupleStruct { serialize_field() },
    SerializeTupleVariant { serialize_field() },
    SerializeMap { serialize_key(), serialize_value() },
    SerializeStruct { serialize_field(&'static str) },
    SerializeStructVariant { serialize_field(&'static str) },
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::ser::Error as _;
    use serde::Serializer;

    use super::*;

    /// Fails with `message` when serialized, if it has one.
    struct Fails(Option<&'static str>);

    impl Serialize for Fails {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                Some(message) => Err(S::Error::custom(message)),
                None => s.serialize_u8(1),
            }
        }
    }

    #[derive(serde::Serialize)]
    enum Shape {
        Deep { inner: (u8, Vec<Option<Fails>>) },
    }

    #[test]
    fn the_message_of_an_error_made_deep_inside_a_value_is_found() {
        let mut map = BTreeMap::new();
        map.insert("ok", vec![Fails(None)]);
        map.insert("bad", vec![Fails(None), Fails(Some("no bytes for this"))]);
        assert_eq!(serialize_error(&map).as_deref(), Some("no bytes for this"));
        let shape = Shape::Deep {
            inner: (7, vec![None, Some(Fails(Some("deep")))]),
        };
        assert_eq!(serialize_error(&shape).as_deref(), Some("deep"));
        // postcard itself keeps no message: that is why this exists.
        let lost = postcard::to_allocvec(&shape).unwrap_err();
        assert_eq!(lost, postcard::Error::SerdeSerCustom);
    }

    #[test]
    fn a_value_that_serializes_has_no_error() {
        let fine = (1u128, -2i128, "text", vec![Some(Fails(None))], [0.5f32; 3]);
        assert_eq!(serialize_error(&fine), None);
    }
}
