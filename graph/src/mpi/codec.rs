//! `Codec`: how the values of one output type cross ranks, through serde and
//! postcard, with a small header in front.
//!
//! A value is encoded into its worker's buffer (`SCRATCH` in
//! `exchange.rs`), tried first in the room the buffer has (up to
//! `FIRST_TRY` bytes of it); a value that does not fit, or a buffer
//! without room, has its encoded size measured first (postcard's `Size`
//! flavour, which writes nothing), then the buffer grows once to its final
//! size. A value sent at once leaves in that buffer (a spare's takes its
//! place, `spares.rs`); one that waits for a flush is copied into the
//! batch body of each rank that reads it, and the body into the message
//! (`waiting.rs`), unless it is larger than 16 KiB: then it moves into a
//! buffer of its own, sent as it is. The receiver decodes from the buffer
//! MPI received into. So a large value is copied once on each side,
//! beyond what MPI itself does.

use std::any::type_name;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::deserialize_error::deserialize_error;
use super::serialize_error::serialize_error;
use super::spares::SPARE_BYTES;
use crate::run::error::catch_panic;
use crate::store::{Slot, Value};

/// Whether a value was encoded into the buffer given, else why not.
type Encoded = Result<(), String>;

/// What crosses ranks for values of one type.
pub(crate) struct Codec {
    /// Encodes the `T` in a full slot after `header`, into a buffer.
    encode_slot: unsafe fn(&Slot, &[u8], &mut Vec<u8>) -> Encoded,
    /// Encodes the `T` in a value after `header`.
    encode_value: fn(&Value, &[u8], &mut Vec<u8>) -> Encoded,
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
    /// Replaces what `bytes` holds with `header` followed by the encoded
    /// value in `slot`, in the room `bytes` has if it fits; a panic of its
    /// `Serialize` (user code) is an error.
    ///
    /// # Safety
    /// `slot` is full with a value of this codec's type, and nobody writes
    /// it during the call.
    pub(crate) unsafe fn encode_slot(
        &self,
        slot: &Slot,
        header: &[u8],
        bytes: &mut Vec<u8>,
    ) -> Result<(), String> {
        // SAFETY: the caller's contract.
        self.unless_panics("encoding", || unsafe {
            (self.encode_slot)(slot, header, bytes)
        })
    }

    /// `header` followed by the encoded `value`, which is of this codec's
    /// type; a panic of its `Serialize` (user code) is an error.
    pub(crate) fn encode_value(&self, value: &Value, header: &[u8]) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::new();
        self.unless_panics("encoding", || {
            (self.encode_value)(value, header, &mut bytes)
        })?;
        Ok(bytes)
    }

    /// The value encoded in `bytes`; a panic of its `Deserialize` (user
    /// code) is an error.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        self.unless_panics("decoding", || (self.decode)(bytes))
    }

    /// `f`'s result, or, if it panics, an error that says `doing` a value
    /// of this type panicked, and with what message.
    fn unless_panics<R>(
        &self,
        doing: &str,
        f: impl FnOnce() -> Result<R, String>,
    ) -> Result<R, String> {
        catch_panic(f).unwrap_or_else(|message| {
            Err(format!(
                "{doing} a {} panicked: {message}",
                (self.type_name)()
            ))
        })
    }
}

/// # Safety
/// As `Codec::encode_slot`, for a `T`.
unsafe fn encode_slot<T: Codable>(
    slot: &Slot,
    header: &[u8],
    bytes: &mut Vec<u8>,
) -> Result<(), String> {
    // SAFETY: the slot holds a `T`, unwritten during the call.
    encode(unsafe { slot.get::<T>() }, header, bytes)
}

fn encode_value<T: Codable>(
    value: &Value,
    header: &[u8],
    bytes: &mut Vec<u8>,
) -> Result<(), String> {
    encode(value.downcast_ref::<T>(), header, bytes)
}

/// How much room after the header `encode` tries before it measures the
/// value: the room of a reused buffer is filled first, so a buffer kept
/// after a larger value (`SCRATCH` in `exchange.rs`, up to 1 KiB) does not
/// cost every small value a fill of it all.
const FIRST_TRY: usize = 2 * SPARE_BYTES;

/// `header` then `value` in `bytes` (what it held is dropped): in the room
/// it has (up to `FIRST_TRY` of it) if the value fits, else grown once to
/// the final size.
fn encode<T: Codable>(value: &T, header: &[u8], bytes: &mut Vec<u8>) -> Result<(), String> {
    let fail = |e: postcard::Error| match e {
        // postcard keeps no message of the value's own error: found again.
        postcard::Error::SerdeSerCustom => match serialize_error(value) {
            Some(message) => format!(
                "cannot encode a {}: its `Serialize` implementation returned an error: {message}",
                type_name::<T>()
            ),
            None => format!(
                "cannot encode a {}: its `Serialize` implementation returned an error (once: \
                 serialized again, it did not)",
                type_name::<T>()
            ),
        },
        e => format!("cannot encode a {}: {e}", type_name::<T>()),
    };
    bytes.clear();
    bytes.extend_from_slice(header);
    if bytes.capacity() > header.len() {
        // Not `vec![0; len]` (here, or for a new buffer below): that is
        // glibc's `calloc`, which skips the thread's cache of small blocks;
        // 183 of the 335 instructions of encoding a `u64` (callgrind, Task
        // Bench's stencil_1d, 2 ranks).
        bytes.resize(bytes.capacity().min(header.len() + FIRST_TRY), 0);
        match postcard::to_slice(value, &mut bytes[header.len()..]) {
            Ok(encoded) => {
                let len = header.len() + encoded.len();
                bytes.truncate(len);
                return Ok(());
            }
            Err(postcard::Error::SerializeBufferFull) => bytes.truncate(header.len()),
            Err(error) => return Err(fail(error)),
        }
    }
    let size = postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(fail)?;
    let len = header.len() + size;
    // Room for a spare (`spares.rs`) if the value is small: its buffer is
    // kept for a later export once sent.
    bytes.reserve_exact(len.max(SPARE_BYTES) - header.len());
    bytes.resize(len, 0);
    postcard::to_slice(value, &mut bytes[header.len()..]).map_err(fail)?;
    Ok(())
}

fn decode<T: Codable>(bytes: &[u8]) -> Result<Value, String> {
    postcard::from_bytes::<T>(bytes)
        .map(Value::new)
        .map_err(|e| {
            // postcard keeps no message of the value's own error: read again.
            let message = match e {
                postcard::Error::SerdeDeCustom => deserialize_error::<T>(bytes),
                _ => None,
            };
            match message {
                Some(message) => format!(
                    "cannot decode a {}: its `Deserialize` implementation returned an error: \
                 {message}",
                    type_name::<T>()
                ),
                None => format!("cannot decode a {}: {e}", type_name::<T>()),
            }
        })
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

    #[test]
    fn a_value_is_encoded_in_the_room_a_buffer_has_or_grows_it_once() {
        let codec = codec_of::<Vec<u64>>();
        let mut bytes = Vec::with_capacity(SPARE_BYTES);
        bytes.extend_from_slice(&[9; 20]);
        let at = bytes.as_ptr();
        let small = Value::new(vec![7u64, 300]);
        (codec.encode_value)(&small, &[1, 2], &mut bytes).unwrap();
        assert_eq!(bytes.as_ptr(), at, "fits: not reallocated");
        assert_eq!(bytes.capacity(), SPARE_BYTES);
        assert_eq!(&bytes[..2], &[1, 2], "what it held is gone");
        let back = codec.decode(&bytes[2..]).unwrap();
        assert_eq!(back.into_typed::<Vec<u64>>(), vec![7, 300]);
        let large = Value::new((0..100u64).map(|i| i << 40).collect::<Vec<u64>>());
        (codec.encode_value)(&large, &[3], &mut bytes).unwrap();
        let back = codec.decode(&bytes[1..]).unwrap();
        assert_eq!(
            back.into_typed::<Vec<u64>>(),
            (0..100u64).map(|i| i << 40).collect::<Vec<u64>>()
        );
        assert_eq!(
            bytes.capacity(),
            bytes.len(),
            "grown once, to the final size"
        );
        let mut fresh = Vec::new();
        (codec.encode_value)(&small, &[], &mut fresh).unwrap();
        assert_eq!(
            fresh.capacity(),
            SPARE_BYTES,
            "a small value's new buffer can be a spare"
        );
    }

    /// Reads a `u8` back only if it is below 10, and panics on 99.
    #[derive(Serialize, serde::Deserialize, Debug)]
    #[serde(try_from = "u8")]
    struct Digit(u8);

    impl TryFrom<u8> for Digit {
        type Error = String;

        fn try_from(n: u8) -> Result<Digit, String> {
            assert!(n != 99, "no digit at all");
            (n < 10)
                .then_some(Digit(n))
                .ok_or(format!("{n} is no digit"))
        }
    }

    #[test]
    fn a_values_own_deserialize_error_or_panic_is_the_message() {
        let codec = codec_of::<Digit>();
        let error = |n: u8| codec.decode(&[n]).err().expect("not a digit");
        assert!(error(12).ends_with(
            "codec::tests::Digit: its `Deserialize` implementation returned an error: 12 is no \
             digit"
        ));
        assert!(error(99).ends_with("codec::tests::Digit panicked: no digit at all"));
        let panics = Value::new(Digit(99));
        assert!(codec.encode_value(&panics, &[]).is_ok(), "it serializes");
    }
}
