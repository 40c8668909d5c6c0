//! How a push finds its node's kind (the pair of closure vtable and name
//! that many nodes share, `Store::kinds`): the last kinds a loop used
//! first, without a hash, then the hash maps of `Writer`; a new pair is
//! appended.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use super::{Kind, KindKey, Store, Writer, MAX_KINDS};
use crate::store::task_fn::VTable;

impl Writer {
    /// The index of kind `key` if it is one of the recent kinds but the
    /// newest, which `kind_index` looked at already. The order stays:
    /// moving a hit to the front (a `rotate`) cost a random DAG's build,
    /// whose loop alternates between four kinds, 3 ns per node.
    #[inline(never)]
    fn recent_hit(&self, key: KindKey) -> Option<u32> {
        (self.recent[1..].iter().flatten())
            .find(|seen| seen.0 == key)
            .map(|&(_, index)| index)
    }
}

/// The `KindKey` of a closure vtable and a borrowed name.
#[inline(always)]
fn kind_key(vtable: &'static VTable, name: &'static str) -> KindKey {
    (
        std::ptr::from_ref(vtable) as usize,
        name.as_ptr() as usize,
        name.len(),
    )
}

impl Store {
    /// The index in `kinds` of the pair `vtable`, `name`, added if it is new
    /// (or the name is owned); `None` if it is new and `kinds` is full
    /// (`MAX_KINDS`), and then nothing is added.
    ///
    /// Inline, the case of a loop's nodes: the kind of the last node added
    /// with a borrowed name. Then a small call for the other recent kinds
    /// (a random DAG's loop alternates between one per input count), and
    /// another for the hash lookups, so that a push's own frame stays
    /// small (it spilled registers around the lookups' code: a chain's
    /// build took 0.5-1 ns per node more).
    ///
    /// # Safety
    /// The caller holds `writer`, whose guarded state is `writer`.
    #[inline(always)]
    pub(super) unsafe fn kind_index(
        &self,
        vtable: &'static VTable,
        name: Cow<'static, str>,
        writer: &mut Writer,
    ) -> Option<u32> {
        if let Cow::Borrowed(text) = &name {
            let key = kind_key(vtable, text);
            if let Some((_, index)) = writer.recent[0].filter(|newest| newest.0 == key) {
                return Some(index);
            }
            if let Some(index) = writer.recent_hit(key) {
                return Some(index);
            }
        }
        // SAFETY: the caller's contract.
        unsafe { self.kind_index_slow(vtable, name, writer) }
    }

    /// `kind_index` of a kind not among the recent ones.
    ///
    /// # Safety
    /// The caller holds `writer`, whose guarded state is `writer`.
    #[inline(never)]
    unsafe fn kind_index_slow(
        &self,
        vtable: &'static VTable,
        name: Cow<'static, str>,
        writer: &mut Writer,
    ) -> Option<u32> {
        let full = self.kinds.len() >= MAX_KINDS;
        let key = match &name {
            Cow::Borrowed(text) => kind_key(vtable, text),
            // Owned names are most often all different (`format!`): no lookup.
            Cow::Owned(_) if full => return None,
            Cow::Owned(_) => {
                // SAFETY: the caller holds `writer`: no other push on `names`
                // or `kinds`.
                return Some(unsafe {
                    let name = self.names.push(name) as u32;
                    self.push_kind(Kind { vtable, name })
                });
            }
        };
        let index = match writer.kinds.get(&key) {
            Some(&index) => index,
            None if full => return None,
            None => {
                let name = *writer
                    .static_names
                    .entry((key.1, key.2))
                    // SAFETY: the caller holds `writer`: no other push on `names`.
                    .or_insert_with(|| (unsafe { self.names.push(name) }) as u32);
                // SAFETY: the caller holds `writer`: no other push on `kinds`.
                let index = unsafe { self.push_kind(Kind { vtable, name }) };
                writer.kinds.insert(key, index);
                index
            }
        };
        writer.recent.rotate_right(1);
        writer.recent[0] = Some((key, index));
        Some(index)
    }

    /// Appends `kind` and returns its index (below `MAX_KINDS`: the caller
    /// checked).
    ///
    /// # Safety
    /// The caller holds `writer`.
    unsafe fn push_kind(&self, kind: Kind) -> u32 {
        let vtable = kind.vtable;
        // SAFETY: the caller holds `writer`: no other push on `kinds`.
        let index = unsafe { self.kinds.push(kind) };
        if let Some(hot) = self.hot.get(index) {
            // Relaxed: a reader finds the index in a node record, published
            // after this by `nodes`' Release (its Acquire in `get`).
            hot.store(std::ptr::from_ref(vtable).cast_mut(), Ordering::Relaxed);
        }
        index as u32
    }
}
