//! `Value`: a task's output with its type erased, stored without a heap
//! allocation when it is small.
//!
//! Every node's output sits in one slot array per run, so outputs of different
//! types share one representation. `Box<dyn Any>` would cost an allocation per
//! task even for an `i64`; a `Value` keeps anything of at most one word (and
//! at most word alignment: numbers, `Box`, `Arc`, references) inline and
//! boxes larger types. The type is checked on every access against the
//! `TypeId` the value was made with.
//!
//! One word, not two: a run keeps a slot per node, and on the overhead
//! benchmarks' million-node graphs (where the run is bound by memory
//! traffic) the 8 bytes saved per slot cut compute time by 5 to 30%.
//! Values of two or three words (`String`, `Vec`) are boxed either way.

use std::any::{type_name, TypeId};
use std::cell::UnsafeCell;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::ptr;

/// Inline storage: one word, word-aligned.
type Storage = MaybeUninit<[usize; 1]>;

/// What a `Value` knows about the type it holds.
struct VTable {
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
    /// Whether the value lives in the storage itself (else the storage holds a `Box<T>`).
    inline: bool,
    /// Drops the value in the storage, inline or boxed; `None` for an
    /// inline type without drop glue (numbers, `()`), which needs nothing.
    drop: Option<unsafe fn(*mut Storage)>,
}

/// Gives each output type its `VTable` as a promoted `'static` constant.
trait Erase: Sized + Send + Sync + 'static {
    const INLINE: bool =
        size_of::<Self>() <= size_of::<Storage>() && align_of::<Self>() <= align_of::<Storage>();
    const VTABLE: VTable = VTable {
        type_id: TypeId::of::<Self>,
        type_name: type_name::<Self>,
        inline: Self::INLINE,
        drop: if Self::INLINE && !mem::needs_drop::<Self>() {
            None
        } else {
            Some(drop_value::<Self>)
        },
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

/// Whether a `Value` holding a `T` has something to drop: a boxed value, or
/// a type with drop glue. Fixed by the type, so a task's input types say it
/// for all its inputs when it is built (`InputIds::to_drop`).
pub(crate) const fn has_drop<T: Send + Sync + 'static>() -> bool {
    <T as Erase>::VTABLE.drop.is_some()
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
            // SAFETY: a pointer fits in a word, which is word-aligned.
            unsafe { storage.as_mut_ptr().cast::<*mut T>().write(boxed) };
        }
        Value {
            vtable: &<T as Erase>::VTABLE,
            storage,
        }
    }

    /// Moves the value out, which must be a `T`.
    ///
    /// # Panics
    /// If the value is not a `T` (an internal error: `Delayed<T>` handles fix
    /// every node's type when the node is built).
    #[inline]
    pub(crate) fn take<T: Send + Sync + 'static>(self) -> T {
        check_type::<T>(self.vtable);
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

/// One node's output during a run: a `Value` or nothing. All-zero bytes are
/// an empty slot (`Option<&T>` is null when `None`), so a run's slots come
/// from zeroed memory without an initializing pass.
pub(crate) struct Slot(UnsafeCell<RawSlot>);

#[repr(C)]
struct RawSlot {
    vtable: Option<&'static VTable>,
    storage: Storage,
}

// SAFETY: the run protocol (`run/README.md`) orders every access: one write
// before the producer publishes it, shared reads by consumers made ready
// after that, one removal after the last read or after every job ended.
// The value inside is `Send + Sync` (`Value::new`).
unsafe impl Sync for Slot {}
// SAFETY: as for `Sync`; a slot owns its value like a `Box`.
unsafe impl Send for Slot {}

// SAFETY: all-zero bytes are a `RawSlot` whose `vtable` is `None` (the
// null-pointer layout of `Option<&T>` is guaranteed) and whose storage,
// `MaybeUninit`, may hold any bytes: an empty slot.
unsafe impl crate::run::Zeroable for Slot {}

impl Slot {
    /// Stores `value`, dropping what the slot held before.
    ///
    /// # Safety
    /// No other thread accesses this slot during the call.
    #[inline]
    pub(crate) unsafe fn put(&self, value: Value) {
        // SAFETY: exclusive access, by the caller's contract.
        drop(unsafe { self.take() });
        let value = ManuallyDrop::new(value);
        // SAFETY: exclusive access; the value's ownership moves into the slot.
        unsafe {
            *self.0.get() = RawSlot {
                vtable: Some(value.vtable),
                storage: value.storage,
            }
        };
    }

    /// Removes the value, if any.
    ///
    /// # Safety
    /// No other thread accesses this slot during the call, and no reference
    /// from `get` is alive.
    pub(crate) unsafe fn take(&self) -> Option<Value> {
        // SAFETY: exclusive access, by the caller's contract.
        let raw = unsafe { &mut *self.0.get() };
        raw.vtable.take().map(|vtable| Value {
            vtable,
            storage: raw.storage,
        })
    }

    /// A reference to the value, which must be a `T`.
    ///
    /// # Safety
    /// The slot is full, and nobody calls `put` or `take` while the returned
    /// reference is alive.
    ///
    /// # Panics
    /// If the slot is empty or does not hold a `T` (internal errors).
    #[inline]
    pub(crate) unsafe fn get<T: Send + Sync + 'static>(&self) -> &T {
        // SAFETY: no writer while the reference lives, by the caller's contract.
        let raw = unsafe { &*self.0.get() };
        let vtable = raw
            .vtable
            .expect("delayed: internal error: a task read an empty slot");
        check_type::<T>(vtable);
        if vtable.inline {
            // SAFETY: the slot holds a `T` (checked above) stored inline.
            unsafe { &*raw.storage.as_ptr().cast::<T>() }
        } else {
            // SAFETY: the slot holds a `T` (checked above) in a `Box<T>` it owns.
            unsafe { &**raw.storage.as_ptr().cast::<*const T>() }
        }
    }
}

impl Slot {
    /// Whether the slot holds a value whose drop runs code (a boxed value,
    /// or a type with drop glue).
    ///
    /// # Safety
    /// The slot is full, and nobody calls `put` or `take` during the call.
    #[inline]
    pub(crate) unsafe fn needs_drop(&self) -> bool {
        // SAFETY: no writer during the call, by the caller's contract.
        let raw = unsafe { &*self.0.get() };
        raw.vtable.is_some_and(|vtable| vtable.drop.is_some())
    }

    /// Whether freeing the slot without a drop loses nothing: it is empty,
    /// or its value has nothing to drop (read only when nobody writes it).
    pub(crate) fn holds_nothing_to_drop(&mut self) -> bool {
        self.0
            .get_mut()
            .vtable
            .map_or(true, |vtable| vtable.drop.is_none())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else touches the slot.
        drop(unsafe { self.take() });
    }
}

/// Panics unless `vtable` is the one of `T`.
#[inline]
fn check_type<T: Send + Sync + 'static>(vtable: &'static VTable) {
    // The same address is the same type; copies of one type's vtable in
    // several codegen units fall back to comparing `TypeId`s.
    if !std::ptr::eq(vtable, &<T as Erase>::VTABLE) && (vtable.type_id)() != TypeId::of::<T>() {
        panic!(
            "delayed: internal error: a value of type {} was read as {}",
            (vtable.type_name)(),
            type_name::<T>()
        )
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        if let Some(drop) = self.vtable.drop {
            // SAFETY: the storage holds the live value this vtable was made
            // for; `take` skips this drop, so it runs once.
            unsafe { drop(&mut self.storage) }
        }
    }
}

// A value, and a slot, is a pointer-sized vtable reference plus a word.
const _: () = assert!(mem::size_of::<Slot>() == 2 * mem::size_of::<usize>());

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn small_and_large_values_round_trip() {
        assert_eq!(Value::new(5i64).take::<i64>(), 5);
        assert_eq!(Value::new(7u8).take::<u8>(), 7);
        assert_eq!(Value::new(()).take::<()>(), ());
        let s = String::from("a string is three words");
        assert_eq!(Value::new(s.clone()).take::<String>(), s);
        assert_eq!(Value::new([1u64; 10]).take::<[u64; 10]>(), [1; 10]);
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
    fn slots_hold_one_value_at_a_time() {
        let marker = Arc::new(());
        let slot: Slot = crate::run::zeroed(1).into_vec().pop().unwrap();
        // SAFETY: this thread alone uses the slot.
        unsafe {
            assert!(slot.take().is_none());
            slot.put(Value::new(Arc::clone(&marker)));
            assert_eq!(Arc::strong_count(slot.get::<Arc<()>>()), 2);
            slot.put(Value::new(Arc::clone(&marker)));
            assert_eq!(Arc::strong_count(&marker), 2, "put dropped the old value");
        }
        drop(slot);
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "dropping a slot drops its value"
        );
    }

    #[test]
    #[should_panic(expected = "was read as")]
    fn a_wrong_type_panics() {
        Value::new(1i32).take::<u32>();
    }
}
