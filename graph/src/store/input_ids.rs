//! `InputIds`: the ids of a node's inputs, inline when there are few.
//!
//! Most nodes have one to three inputs (chains, trees, wavefronts, the
//! lesson's `add`); keeping those inline saves an allocation per node while
//! the graph is built. Longer lists (a `sum` over many results) are boxed.

/// Inputs kept without an allocation.
const INLINE: usize = 3;

/// Opaque outside the crate: it appears in `Inputs`, a public trait.
#[doc(hidden)]
pub struct InputIds(Repr);

enum Repr {
    Inline { len: u8, ids: [u32; INLINE] },
    Heap(Box<[u32]>),
}

impl InputIds {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u32] {
        match &self.0 {
            Repr::Inline { len, ids } => &ids[..usize::from(*len)],
            Repr::Heap(ids) => ids,
        }
    }
}

impl From<&[u32]> for InputIds {
    fn from(ids: &[u32]) -> Self {
        ids.iter().copied().collect()
    }
}

impl FromIterator<u32> for InputIds {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let mut inline = [0; INLINE];
        for (len, slot) in inline.iter_mut().enumerate() {
            match iter.next() {
                Some(id) => *slot = id,
                None => {
                    return InputIds(Repr::Inline {
                        len: len as u8,
                        ids: inline,
                    })
                }
            }
        }
        match iter.next() {
            None => InputIds(Repr::Inline {
                len: INLINE as u8,
                ids: inline,
            }),
            Some(next) => {
                let rest = iter.size_hint().0;
                let mut ids = Vec::with_capacity(INLINE + 1 + rest);
                ids.extend_from_slice(&inline);
                ids.push(next);
                ids.extend(iter);
                InputIds(Repr::Heap(ids.into_boxed_slice()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_stay_inline_and_long_ones_are_boxed() {
        for n in 0..10u32 {
            let ids: Vec<u32> = (0..n).map(|i| i * 7).collect();
            let stored = InputIds::from(&ids[..]);
            assert_eq!(stored.as_slice(), &ids[..]);
            assert_eq!(
                matches!(stored.0, Repr::Inline { .. }),
                n as usize <= INLINE
            );
        }
    }
}
