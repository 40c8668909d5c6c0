//! `Value`: a task's output with its type erased, stored without a heap
//! allocation when it is small.
//!
//! Every node's output sits in one slot array per run, so outputs of different
//! types share one representation. `Box<dyn Any>` would cost an allocation per
//! task even for an `i64`; a `Value` keeps anything of at most two words (and
//! at most word alignment) inline and boxes only larger types. The type is
//! checked on every access against the `TypeId` the value was made with.

use std::any::{type_name, TypeId};
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::ptr;

/// Inline storage: two words, word-aligned.
type Storage = MaybeUninit<[usize; 2]>;

/// What a `Value` knows about the type it holds.
struct VTable {
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
    /// Whether the value lives in the storage itself (else the storage holds a `Box<T>`).
    inline: bool,
    /// Drops the value in the storage, inline or boxed.
    drop: unsafe fn(*mut Storage),
}

/// Gives each output type its `VTable` as a promoted `'static` constant.
trait Erase: Sized + Send + Sync + 'static {
    const INLINE: bool =
        size_of::<Self>() <= size_of::<Storage>() && align_of::<Self>() <= align_of::<Storage>();
    const VTABLE: VTable = VTable {
        type_id: TypeId::of::<Self>,
        type_name: type_name::<Self>,
        inline: Self::INLINE,
        drop: drop_value::<Self>,
    };
}

impl<T: Send + Sync + 'static> Erase for T {}

/// # Safety
/// `storage` holds a live `T` made by `Value::new::<T>`, dropped at most once.
unsafe fn drop_value<T: Erase>(storage: *mut Storage) {
    if T::INLINE {
        // SAFETY: an inline `T` was written at the start of the storage.
        unsafe { ptr::drop_in_place(storage.cast::<T>()) }
    } else {
        // SAFETY: the storage holds the pointer of a `Box<T>` we own.
        drop(unsafe { Box::from_raw(storage.cast::<*mut T>().read()) })
    }
}

/// A value of some `Send + Sync + 'static` type, known only at run time.
pub(crate) struct Value {
    vtable: &'static VTable,
    storage: Storage,
}

// SAFETY: a `Value` is only made from `T: Send + Sync` (`Value::new`), and it
// owns that `T` exactly as a `Box<T>` would.
unsafe impl Send for Value {}
// SAFETY: as for `Send`; `&Value` only gives out `&T`.
unsafe impl Sync for Value {}

impl Value {
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> Value {
        let mut storage = Storage::uninit();
        if T::INLINE {
            // SAFETY: `INLINE` checked that `T` fits the storage's size and alignment.
            unsafe { storage.as_mut_ptr().cast::<T>().write(value) };
        } else {
            let boxed = Box::into_raw(Box::new(value));
            // SAFETY: a pointer fits in two words, which are word-aligned.
            unsafe { storage.as_mut_ptr().cast::<*mut T>().write(boxed) };
        }
        Value {
            vtable: &<T as Erase>::VTABLE,
            storage,
        }
    }

    fn is<T: 'static>(&self) -> bool {
        (self.vtable.type_id)() == TypeId::of::<T>()
    }

    fn type_mismatch<T>(&self) -> ! {
        panic!(
            "delayed: internal error: a value of type {} was read as {}",
            (self.vtable.type_name)(),
            type_name::<T>()
        )
    }

    /// A reference to the value, which must be a `T`.
    ///
    /// # Panics
    /// If the value is not a `T` (an internal error: `Delayed<T>` handles fix
    /// every node's type when the node is built).
    pub(crate) fn get<T: 'static>(&self) -> &T {
        if !self.is::<T>() {
            self.type_mismatch::<T>()
        }
        if self.vtable.inline {
            // SAFETY: the value is a `T` (checked above) stored inline.
            unsafe { &*self.storage.as_ptr().cast::<T>() }
        } else {
            // SAFETY: the value is a `T` (checked above) in a `Box<T>` we own.
            unsafe { &**self.storage.as_ptr().cast::<*const T>() }
        }
    }

    /// Moves the value out, which must be a `T`.
    ///
    /// # Panics
    /// As `get`.
    pub(crate) fn take<T: 'static>(self) -> T {
        if !self.is::<T>() {
            self.type_mismatch::<T>()
        }
        let this = ManuallyDrop::new(self);
        if this.vtable.inline {
            // SAFETY: the value is a `T` stored inline; `this` is never
            // dropped, so the `T` is moved out exactly once.
            unsafe { this.storage.as_ptr().cast::<T>().read() }
        } else {
            // SAFETY: the value is a `T` in a `Box<T>` whose ownership we take
            // over; `this` is never dropped.
            *unsafe { Box::from_raw(this.storage.as_ptr().cast::<*mut T>().read()) }
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        // SAFETY: the storage holds the live value this vtable was made for;
        // `take` skips this drop, so it runs once.
        unsafe { (self.vtable.drop)(&mut self.storage) }
    }
}

// A value is a pointer-sized vtable reference plus two words.
const _: () = assert!(mem::size_of::<Option<Value>>() == 3 * mem::size_of::<usize>());

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn small_and_large_values_round_trip() {
        assert_eq!(Value::new(5i64).take::<i64>(), 5);
        assert_eq!(*Value::new(7u8).get::<u8>(), 7);
        assert_eq!(Value::new(()).take::<()>(), ());
        let s = String::from("a string is three words");
        assert_eq!(Value::new(s.clone()).take::<String>(), s);
        assert_eq!(Value::new([1u64; 10]).get::<[u64; 10]>(), &[1; 10]);
        assert_eq!(Value::new(1u128).take::<u128>(), 1);
    }

    #[test]
    fn drops_inline_and_boxed_values_once() {
        let marker = Arc::new(());
        drop(Value::new(Arc::clone(&marker)));
        drop(Value::new((Arc::clone(&marker), [0u64; 4])));
        assert_eq!(Arc::strong_count(&marker), 1);
        let taken = Value::new(Arc::clone(&marker)).take::<Arc<()>>();
        assert_eq!(Arc::strong_count(&marker), 2);
        drop(taken);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    #[should_panic(expected = "was read as")]
    fn a_wrong_type_panics() {
        Value::new(1i32).get::<u32>();
    }
}
