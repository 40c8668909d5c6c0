//! `deserialize_error`: the message of the error a value's `Deserialize`
//! returns on the rank that receives it. postcard, which decodes values
//! from other ranks (`codec.rs`), keeps none
//! (`postcard::Error::SerdeDeCustom`, "Serde Deserialization Error"), and
//! that message is what says what was wrong: the user's own words, or
//! serde's for a derived implementation ("invalid value: integer `7`,
//! expected variant index 0 <= i < 2", when two ranks run builds of a
//! program whose enum differs). So when postcard reports one, the bytes are
//! read again by `Reader`, a deserializer of postcard's format whose error
//! keeps the message. Only then: a value that decodes never comes here.
//!
//! `Reader` reads what postcard 1's deserializer reads, as it reads it
//! (`postcard::de::deserializer`): integers above a byte as varints,
//! signed ones zigzagged; floats as little-endian bytes; strings, bytes and
//! chars behind their length; an option's or a bool's byte; a sequence's or
//! map's length, then its items; a variant's index as a varint; structs and
//! tuples as their fields in order. What it does not read (postcard's
//! `WontImplement` cases, malformed bytes) gives no message.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// The message of the error `T`'s `Deserialize` returns on `bytes`, if it
/// returns one (one that fails only sometimes may not fail again).
pub(crate) fn deserialize_error<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    match T::deserialize(&mut Reader { bytes }) {
        Err(Failure::Custom(message)) => Some(message),
        Ok(_) | Err(Failure::Format) => None,
    }
}

/// Why `Reader` stopped.
#[derive(Debug)]
enum Failure {
    /// The value's `Deserialize` made an error, with this message.
    Custom(String),
    /// The bytes are not what postcard writes for the value.
    Format,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Custom(message) => f.write_str(message),
            Failure::Format => f.write_str("not postcard's encoding"),
        }
    }
}

impl std::error::Error for Failure {}

impl de::Error for Failure {
    fn custom<M: fmt::Display>(message: M) -> Failure {
        Failure::Custom(message.to_string())
    }
}

/// The bytes not read yet.
struct Reader<'de> {
    bytes: &'de [u8],
}

impl<'de> Reader<'de> {
    fn take(&mut self, n: usize) -> Result<&'de [u8], Failure> {
        if n > self.bytes.len() {
            return Err(Failure::Format);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Failure> {
        Ok(self.take(1)?[0])
    }

    /// A varint of an unsigned integer of `bits` bits: 7 bits a byte, low
    /// first, the high bit set on every byte but the last; at most as many
    /// bytes as `bits` needs, the last holding no bit beyond them.
    fn varint(&mut self, bits: u32) -> Result<u128, Failure> {
        let most = bits.div_ceil(7);
        let last_bits = bits - 7 * (most - 1);
        let mut value = 0u128;
        for i in 0..most {
            let byte = self.byte()?;
            value |= u128::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i == most - 1 && u32::from(byte) >= 1 << last_bits {
                    return Err(Failure::Format);
                }
                return Ok(value);
            }
        }
        Err(Failure::Format)
    }

    /// A length (postcard's `usize`, a 64-bit varint).
    fn len(&mut self) -> Result<usize, Failure> {
        usize::try_from(self.varint(64)?).map_err(|_| Failure::Format)
    }

    /// A zigzagged varint of a signed integer of `bits` bits.
    fn zigzag(&mut self, bits: u32) -> Result<i128, Failure> {
        let n = self.varint(bits)?;
        Ok((n >> 1) as i128 ^ -((n & 1) as i128))
    }

    /// `N` bytes, for a float.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Failure> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
}

/// `deserialize_*` of integers: read, narrowed (a varint holds no more
/// than the type's bits), visited.
macro_rules! integers {
    ($($method:ident $visit:ident $ty:ty = $read:ident($bits:expr)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
            let value = self.$read($bits)?;
            visitor.$visit(<$ty>::try_from(value).map_err(|_| Failure::Format)?)
        })*
    };
}

/// `deserialize_*` that postcard does not implement: no message.
macro_rules! unread {
    ($($method:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Failure> {
            Err(Failure::Format)
        })*
    };
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Failure;

    fn is_human_readable(&self) -> bool {
        false
    }

    unread!(
        deserialize_any,
        deserialize_identifier,
        deserialize_ignored_any
    );

    integers! {
        deserialize_u16 visit_u16 u16 = varint(16),
        deserialize_u32 visit_u32 u32 = varint(32),
        deserialize_u64 visit_u64 u64 = varint(64),
        deserialize_u128 visit_u128 u128 = varint(128),
        deserialize_i16 visit_i16 i16 = zigzag(16),
        deserialize_i32 visit_i32 i32 = zigzag(32),
        deserialize_i64 visit_i64 i64 = zigzag(64),
        deserialize_i128 visit_i128 i128 = zigzag(128),
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.byte()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            _ => Err(Failure::Format),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_u8(self.byte()?)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_i8(self.byte()? as i8)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_f32(f32::from_le_bytes(self.array()?))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_f64(f64::from_le_bytes(self.array()?))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let len = self.len()?;
        if len > 4 {
            return Err(Failure::Format);
        }
        let text = std::str::from_utf8(self.take(len)?).map_err(|_| Failure::Format)?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(Failure::Format),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let len = self.len()?;
        let text = std::str::from_utf8(self.take(len)?).map_err(|_| Failure::Format)?;
        visitor.visit_borrowed_str(text)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let len = self.len()?;
        visitor.visit_borrowed_bytes(self.take(len)?)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.byte()? {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            _ => Err(Failure::Format),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let len = self.len()?;
        visitor.visit_seq(Items { reader: self, len })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_seq(Items { reader: self, len })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let len = self.len()?;
        visitor.visit_map(Items { reader: self, len })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_tuple(fields.len(), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_enum(self)
    }
}

/// The items of a sequence, a tuple or a struct, or the entries of a map:
/// `len` more.
struct Items<'r, 'de> {
    reader: &'r mut Reader<'de>,
    len: usize,
}

impl<'de> Items<'_, 'de> {
    /// The next item (a map's next key), if another follows.
    fn next<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Failure> {
        if self.len == 0 {
            return Ok(None);
        }
        self.len -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    /// The items left, if the bytes left could hold them (as postcard
    /// says: a forged length allocates nothing).
    fn hint(&self) -> Option<usize> {
        (self.len <= self.reader.bytes.len()).then_some(self.len)
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Failure;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Failure> {
        self.next(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Failure;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Failure> {
        self.next(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Failure> {
        seed.deserialize(&mut *self.reader)
    }

    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

impl<'de> de::EnumAccess<'de> for &mut Reader<'de> {
    type Error = Failure;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Failure> {
        let index = u32::try_from(self.varint(32)?).map_err(|_| Failure::Format)?;
        let variant = seed.deserialize(index.into_deserializer())?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Reader<'de> {
    type Error = Failure;

    fn unit_variant(self) -> Result<(), Failure> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Failure> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Failure> {
        de::Deserializer::deserialize_tuple(self, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        de::Deserializer::deserialize_tuple(self, fields.len(), visitor)
    }
}

#[cfg(test)]
#[path = "deserialize_error_tests.rs"]
mod tests;
