//! `Codec`: how the values of one output type cross ranks, through serde and
//! postcard, with a small header in front.
//!
//! A message is allocated once, at its final size: the value's encoded size
//! is measured first (postcard's `Size` flavour, which writes nothing), then
//! the value is encoded straight into the buffer MPI sends. The receiver
//! decodes from the buffer MPI received into. So a large value is copied
//! once on each side, beyond what MPI itself does.

use std::any::type_name;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::{Slot, Value};

/// What crosses ranks for values of one type.
pub(crate) struct Codec {
    /// Encodes the `T` in a full slot after `header`.
    encode_slot: unsafe fn(&Slot, &[u8]) -> Result<Vec<u8>, String>,
    /// Encodes the `T` in a value after `header`.
    encode_value: fn(&Value, &[u8]) -> Result<Vec<u8>, String>,
    /// Decodes a `T` from bytes (without header).
    decode: fn(&[u8]) -> Result<Value, String>,
    /// The type's name, for error messages and the graph's fingerprint.
    pub(crate) type_name: fn() -> &'static str,
}

/// Gives each output type its `Codec` as a promoted `'static` constant.
trait Codable: Serialize + DeserializeOwned + Send + Sync + 'static {
    const CODEC: Codec = Codec {
        encode_slot: encode_slot::<Self>,
        encode_value: encode_value::<Self>,
        decode: decode::<Self>,
        type_name: type_name::<Self>,
    };
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Codable for T {}

/// The codec of `T`.
pub(crate) fn codec_of<T: Serialize + DeserializeOwned + Send + Sync + 'static>() -> &'static Codec
{
    &<T as Codable>::CODEC
}

impl Codec {
    /// `header` followed by the encoded value in `slot`.
    ///
    /// # Safety
    /// `slot` is full with a value of this codec's type, and nobody writes
    /// it during the call.
    pub(crate) unsafe fn encode_slot(&self, slot: &Slot, header: &[u8]) -> Result<Vec<u8>, String> {
        // SAFETY: the caller's contract.
        unsafe { (self.encode_slot)(slot, header) }
    }

    /// `header` followed by the encoded `value`, which is of this codec's type.
    pub(crate) fn encode_value(&self, value: &Value, header: &[u8]) -> Result<Vec<u8>, String> {
        (self.encode_value)(value, header)
    }

    /// The value encoded in `bytes`.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        (self.decode)(bytes)
    }
}

/// # Safety
/// As `Codec::encode_slot`, for a `T`.
unsafe fn encode_slot<T: Codable>(slot: &Slot, header: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: the slot holds a `T`, unwritten during the call.
    encode(unsafe { slot.get::<T>() }, header)
}

fn encode_value<T: Codable>(value: &Value, header: &[u8]) -> Result<Vec<u8>, String> {
    encode(value.downcast_ref::<T>(), header)
}

/// `header` then `value`, in one allocation of the final size.
fn encode<T: Codable>(value: &T, header: &[u8]) -> Result<Vec<u8>, String> {
    let fail = |e: postcard::Error| format!("cannot encode a {}: {e}", type_name::<T>());
    let size = postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(fail)?;
    // Not `vec![0; len]`: that is glibc's `calloc`, which skips the
    // thread's cache of small blocks; 183 of the 335 instructions of
    // encoding a `u64` (callgrind, Task Bench's stencil_1d, 2 ranks).
    let mut bytes = Vec::with_capacity(header.len() + size);
    bytes.extend_from_slice(header);
    bytes.resize(header.len() + size, 0);
    postcard::to_slice(value, &mut bytes[header.len()..]).map_err(fail)?;
    Ok(bytes)
}

fn decode<T: Codable>(bytes: &[u8]) -> Result<Value, String> {
    postcard::from_bytes::<T>(bytes)
        .map(Value::new)
        .map_err(|e| format!("cannot decode a {}: {e}", type_name::<T>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_after_their_header() {
        let codec = codec_of::<Vec<String>>();
        let value = Value::new(vec![String::from("a"), String::from("bc")]);
        let bytes = codec.encode_value(&value, &[1, 2, 3]).unwrap();
        assert_eq!(&bytes[..3], &[1, 2, 3]);
        let back = codec.decode(&bytes[3..]).unwrap();
        assert_eq!(back.into_typed::<Vec<String>>(), vec!["a", "bc"]);
        assert!(codec
            .decode(&[200])
            .err()
            .is_some_and(|e| e.contains("cannot decode")));
        assert_eq!((codec.type_name)(), type_name::<Vec<String>>());
    }
}
