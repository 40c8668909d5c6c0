//! The store's own tests: consumers in the record and beyond, a record
//! prefetched while consumers are added, names stored once.

use super::*;
use crate::store::task_fn::NoInputs;

fn node(store: &Store, name: &'static str, inputs: &[u32]) -> u32 {
    store.push::<NoInputs, _, _>(Cow::Borrowed(name), &mut InputIds::from(inputs), |_| Ok(()))
}

#[test]
fn consumers_in_the_record_and_beyond_are_listed_up_to_max() {
    let store = Store::new();
    let a = node(&store, "a", &[]);
    // Six consumers of `a`, one of them taking it twice: three in the
    // record, four edges in the list.
    let mut consumers = Vec::new();
    for i in 0..6 {
        let inputs: &[u32] = if i == 2 { &[a, a] } else { &[a] };
        let c = node(&store, "c", inputs);
        consumers.extend(std::iter::repeat_n(c, inputs.len()));
    }
    for max in a..=consumers[consumers.len() - 1] + 1 {
        let mut seen: Vec<u32> = store.consumers(a, max).collect();
        seen.sort_unstable();
        let expected: Vec<u32> = consumers.iter().copied().filter(|&c| c <= max).collect();
        assert_eq!(seen, expected, "max {max}");
    }
    assert!(store.has_consumer(a));
    assert!(!store.has_consumer(consumers[consumers.len() - 1]));
    assert_eq!(store.len_and_sinks(), (7, 6));
}

/// A compute prefetches a node's record (`RunState::prefetch`: its line,
/// from the record's address) while the thread adding tasks may be
/// storing a new consumer into it. The prefetch must make no reference
/// to bytes of the atomics: the last byte of the record is one, and a
/// `&u8` to it (as an earlier prefetch of the record's last line made)
/// asserted that nobody writes it. Miri (`scripts/sanitizers.sh`) checks
/// this run.
#[test]
fn a_record_is_prefetched_while_its_consumers_are_added() {
    use std::sync::atomic::AtomicBool;
    let last = size_of::<Node>() - 1;
    let second = std::mem::offset_of!(Node, second);
    assert!(
        (second..second + 4).contains(&last),
        "the record's last byte is one of its atomic consumer fields"
    );
    let store = Store::new();
    let a = node(&store, "a", &[]);
    let done = AtomicBool::new(false);
    let adds = if cfg!(miri) { 60 } else { 2_000 };
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..adds {
                node(&store, "c", &[a]);
            }
            // Release pairs with the Acquire below (ends the loop only).
            done.store(true, Ordering::Release);
        });
        while !done.load(Ordering::Acquire) {
            crate::store::prefetch(store.node(a));
        }
    });
    assert_eq!(store.consumers(a, u32::MAX).count(), adds);
}

#[test]
fn a_borrowed_name_used_many_times_is_stored_once() {
    let store = Store::new();
    for _ in 0..100 {
        node(&store, "inc", &[]);
        node(&store, "double", &[]);
    }
    store.push::<NoInputs, _, _>(
        Cow::Owned(String::from("owned")),
        &mut InputIds::from(&[][..]),
        |_| Ok(()),
    );
    assert_eq!(store.names.len(), 3);
    assert_eq!(store.name(0), "inc");
    assert_eq!(store.name(199), "double");
    assert_eq!(store.name(200), "owned");
}
