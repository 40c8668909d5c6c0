//! `Store`: a graph's nodes, appended once, read without a lock.
//!
//! A node is its name, its type-erased closure and the ids of its inputs. A
//! node can only name nodes that already exist, so ids are a topological
//! order: every input id is smaller than the id of its consumer.
//!
//! The store also keeps what a compute would otherwise rebuild each time:
//! each node's consumers (the first three in the node's own record, the rest
//! in a list through `edges`, newest first) and the ids of the nodes without
//! inputs (`roots`), both added with the node that creates them.
//!
//! What running a node reads (closure, input ids, consumers) is one record,
//! [`Node`], so that a node far from the last one costs one cache miss, not
//! one per column. Names, read only for errors and pictures, lie apart in a
//! table; the record holds an index into it, and a `&'static str` name used
//! by many nodes (a loop's `"inc"`) is stored once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::append_vec::AppendVec;
use super::input_ids::{InputCount, InputIds};
use super::task_fn::TaskFn;

/// Node ids are `u32`; the two largest values stay free as markers for runs
/// (`run::plan`).
pub(crate) const MAX_NODES: usize = (u32::MAX - 1) as usize;

/// The end of an out-edge list.
pub(crate) const NO_EDGE: u32 = u32::MAX;

/// Consumers kept in a node's own record; more go to `Store::edges`. Three:
/// a random DAG's nodes have two on average, and a third in the record
/// instead of the list saved a cache miss on a third of them.
const FIRST: usize = 3;

/// One out-edge beyond a node's first `FIRST`: `consumer` takes the node as an
/// input; `next` is the node's previous (older) such edge.
pub(crate) struct Edge {
    pub(crate) consumer: u32,
    pub(crate) next: u32,
}

/// What running a node reads, together.
pub(crate) struct Node {
    task: TaskFn,
    inputs: InputIds,
    /// The node's first `FIRST` consumers, oldest first, `NO_EDGE` where
    /// there is none yet. Written by the writer when a consumer is added
    /// (Release), read by computes (Acquire).
    first: [AtomicU32; FIRST],
    /// The newest of the node's further out-edges (in `edges`), or
    /// `NO_EDGE`. Written and read as `first`.
    more: AtomicU32,
}

/// What appending needs to know, guarded by the writer lock.
struct Writer {
    /// The number of nodes without consumers (*sinks*), which grows and
    /// shrinks as nodes are added.
    sinks: usize,
    /// The index in `names` of each borrowed name seen, by address and length.
    static_names: HashMap<(usize, usize), u32>,
    /// The last borrowed name and its index: a loop adds many nodes with the
    /// same name, which then costs no hash lookup.
    last_name: Option<((usize, usize), u32)>,
}

impl Node {
    /// The node's closure.
    #[inline]
    pub(crate) fn task(&self) -> &TaskFn {
        &self.task
    }

    /// The node's input ids, in the order given to `Graph::task`.
    #[inline]
    pub(crate) fn inputs(&self) -> &[u32] {
        self.inputs.as_slice()
    }

    /// Whether an input's value may have something to drop
    /// (`InputIds::has_values_to_drop`).
    #[inline]
    pub(crate) fn inputs_to_drop(&self) -> bool {
        self.inputs.has_values_to_drop()
    }
}

/// The nodes, and beside them their names, their further out-edges and the
/// roots.
pub(crate) struct Store {
    /// Serializes appends: the columns grow together.
    writer: Mutex<Writer>,
    /// Distinct names: each borrowed name once, each owned name as given.
    names: AppendVec<Cow<'static, str>>,
    /// Per node: its name, an index into `names`. Apart from `nodes`,
    /// which running reads, because only errors and pictures read names.
    name_of: AppendVec<u32>,
    /// Per node: its number of inputs, as its record has it: all that a
    /// run's first pass reads (`InputCount`).
    counts: AppendVec<InputCount>,
    /// Out-edges of all nodes beyond their first `FIRST`, in the order they
    /// were added.
    edges: AppendVec<Edge>,
    /// Ids of the nodes without inputs, increasing.
    roots: AppendVec<u32>,
    /// Appended last: its length is the number of complete nodes.
    nodes: AppendVec<Node>,
}

impl Store {
    pub(crate) fn new() -> Store {
        Store {
            writer: Mutex::new(Writer {
                sinks: 0,
                static_names: HashMap::new(),
                last_name: None,
            }),
            names: AppendVec::new(),
            name_of: AppendVec::new(),
            counts: AppendVec::new(),
            edges: AppendVec::new(),
            roots: AppendVec::new(),
            nodes: AppendVec::new(),
        }
    }

    /// Appends a node and returns its id.
    ///
    /// # Panics
    /// When the graph already holds `MAX_NODES` nodes, or `u32::MAX - 1` edges.
    pub(crate) fn push(&self, name: Cow<'static, str>, inputs: InputIds, task: TaskFn) -> u32 {
        // Appends cannot leave a column half-written, so a poisoned lock is fine.
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.nodes.len();
        let edges = self.edges.len() + inputs.as_slice().len();
        if id >= MAX_NODES || edges >= NO_EDGE as usize {
            drop(writer);
            panic!("delayed: a graph holds at most {MAX_NODES} nodes and as many edges");
        }
        let id = id as u32;
        // SAFETY: we hold `writer`, so no other push runs on any column.
        unsafe {
            let name = self.name_index(name, &mut writer);
            self.name_of.push(name);
            self.counts.push(inputs.count());
            for &input in inputs.as_slice() {
                let producer = self.nodes.get(input as usize).expect("inputs exist");
                self.add_out_edge(producer, id, &mut writer.sinks);
            }
            if inputs.as_slice().is_empty() {
                self.roots.push(id);
            }
            // The new node has no consumer yet.
            writer.sinks += 1;
            self.nodes.push(Node {
                task,
                inputs,
                first: std::array::from_fn(|_| AtomicU32::new(NO_EDGE)),
                more: AtomicU32::new(NO_EDGE),
            });
        }
        id
    }

    /// The index in `names` of `name`, added if it is new (or owned).
    ///
    /// # Safety
    /// The caller holds `writer`, whose guarded state is `writer`.
    unsafe fn name_index(&self, name: Cow<'static, str>, writer: &mut Writer) -> u32 {
        let key = match &name {
            Cow::Borrowed(text) => (text.as_ptr() as usize, text.len()),
            // Owned names are most often all different (`format!`): no lookup.
            // SAFETY: the caller holds `writer`: no other push on `names`.
            Cow::Owned(_) => return unsafe { self.names.push(name) } as u32,
        };
        if let Some((last, index)) = writer.last_name {
            if last == key {
                return index;
            }
        }
        let index = *writer.static_names.entry(key).or_insert_with(|| {
            // SAFETY: the caller holds `writer`: no other push on `names`.
            (unsafe { self.names.push(name) }) as u32
        });
        writer.last_name = Some((key, index));
        index
    }

    /// Records `consumer` as a consumer of `producer`.
    ///
    /// # Safety
    /// The caller holds `writer` (whose guarded count is `sinks`).
    unsafe fn add_out_edge(&self, producer: &Node, consumer: u32, sinks: &mut usize) {
        // Relaxed loads: only writers (serialized by `writer`) store these.
        // Release stores pair with the Acquire loads in `Consumers`.
        for (i, slot) in producer.first.iter().enumerate() {
            if slot.load(Ordering::Relaxed) == NO_EDGE {
                if i == 0 {
                    // The producer gets its first consumer: no longer a sink.
                    *sinks -= 1;
                }
                slot.store(consumer, Ordering::Release);
                return;
            }
        }
        let next = producer.more.load(Ordering::Relaxed);
        // SAFETY: the caller holds `writer`: no other push on `edges`.
        let edge = unsafe { self.edges.push(Edge { consumer, next }) } as u32;
        // The edge is published (by its vector's Release) before this.
        producer.more.store(edge, Ordering::Release);
    }

    /// The number of complete nodes and how many of them have no consumer,
    /// read together.
    pub(crate) fn len_and_sinks(&self) -> (usize, usize) {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        (self.nodes.len(), writer.sinks)
    }

    /// Whether node `id` has at least one consumer.
    #[inline]
    pub(crate) fn has_consumer(&self, id: u32) -> bool {
        // Acquire pairs with the Release in `add_out_edge`, as in `consumers`.
        self.node(id).first[0].load(Ordering::Acquire) != NO_EDGE
    }

    /// Number of complete nodes.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        let index = *expect_node(self.name_of.get(id as usize));
        expect_node(self.names.get(index as usize)).as_ref()
    }

    /// Input ids of node `id`, in the order given to `Graph::task`.
    #[inline]
    pub(crate) fn inputs(&self, id: u32) -> &[u32] {
        self.node(id).inputs()
    }

    /// The input counts of nodes `0..len`, in order.
    pub(crate) fn counts_of_first(
        &self,
        len: usize,
    ) -> impl DoubleEndedIterator<Item = InputCount> + '_ {
        self.counts.prefix(len).copied()
    }

    /// The input count of node `id`.
    #[inline]
    pub(crate) fn count(&self, id: u32) -> InputCount {
        *expect_node(self.counts.get(id as usize))
    }

    /// Starts bringing node `id`'s record into the cache: the node is about
    /// to run, and on graphs whose consumers lie far from their producers
    /// waiting for its record was a quarter of the run.
    #[inline]
    pub(crate) fn prefetch(&self, id: u32) {
        self.nodes.prefetch(id as usize);
    }

    /// The consumers of node `id` that are at most `max`, once per edge:
    /// the oldest `FIRST`, then the others newest first.
    #[inline]
    pub(crate) fn consumers(&self, id: u32, max: u32) -> Consumers<'_> {
        self.consumers_of(self.node(id), max)
    }

    /// `consumers` of a node record already at hand.
    #[inline]
    pub(crate) fn consumers_of<'s>(&'s self, node: &'s Node, max: u32) -> Consumers<'s> {
        Consumers {
            store: self,
            node,
            taken: 0,
            next: NO_EDGE,
            max,
        }
    }

    /// Node `id`'s record: what running it reads.
    #[inline]
    pub(crate) fn node(&self, id: u32) -> &Node {
        expect_node(self.nodes.get(id as usize))
    }

    /// Number of nodes without inputs among the first `len` nodes.
    pub(crate) fn roots_below(&self, len: u32) -> usize {
        // Roots are increasing: binary search for the first one >= len.
        let (mut lo, mut hi) = (0, self.roots.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if *expect_node(self.roots.get(mid)) < len {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The `k`-th node without inputs.
    pub(crate) fn root(&self, k: usize) -> u32 {
        *expect_node(self.roots.get(k))
    }
}

/// Iterator over a node's consumers up to some id, made by `Store::consumers`.
pub(crate) struct Consumers<'s> {
    store: &'s Store,
    node: &'s Node,
    /// How many of the node's `first` were handed out (`FIRST` once they
    /// are done, also when one was absent or out of range).
    taken: usize,
    /// The next further out-edge, or `NO_EDGE`.
    next: u32,
    max: u32,
}

impl Iterator for Consumers<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.taken < FIRST {
            // Acquire pairs with the Release in `add_out_edge`: the edges
            // are visible. A consumer id only ever replaces `NO_EDGE`, and
            // ids grow, so an absent consumer or one above `max` means that
            // no later one is in range: the list is not read at all.
            let consumer = self.node.first[self.taken].load(Ordering::Acquire);
            if consumer == NO_EDGE || consumer > self.max {
                self.taken = FIRST;
                return None;
            }
            self.taken += 1;
            if self.taken == FIRST {
                self.next = self.node.more.load(Ordering::Acquire);
            }
            return Some(consumer);
        }
        while self.next != NO_EDGE {
            let edge = expect_node(self.store.edges.get(self.next as usize));
            self.next = edge.next;
            if edge.consumer <= self.max {
                return Some(edge.consumer);
            }
        }
        None
    }
}

/// Node ids come from `push`, so every id asked for exists.
fn expect_node<T>(column: Option<T>) -> T {
    column.expect("delayed: internal error: unknown node id")
}

// A node's record is its closure (16 bytes), its input ids (16) and its
// consumers (16): 48 bytes.
const _: () = assert!(size_of::<Node>() == 48);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::task_fn::NoInputs;

    fn node(store: &Store, name: &'static str, inputs: &[u32]) -> u32 {
        store.push(
            Cow::Borrowed(name),
            InputIds::from(inputs),
            TaskFn::new::<NoInputs, _, _>(|_| Ok(())),
        )
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

    /// A compute prefetches a node's whole record (`Store::prefetch`)
    /// while the thread adding tasks may be storing a new consumer into it.
    /// The prefetch must make no reference to bytes of the atomics: the
    /// last byte of the record is one, and a `&u8` to it asserted that
    /// nobody writes it. Miri (`scripts/sanitizers.sh`) checks this run.
    #[test]
    fn a_record_is_prefetched_while_its_consumers_are_added() {
        use std::sync::atomic::AtomicBool;
        let last = size_of::<Node>() - 1;
        let (first, more) = (
            std::mem::offset_of!(Node, first),
            std::mem::offset_of!(Node, more),
        );
        assert!(
            (first..first + 12).contains(&last) || (more..more + 4).contains(&last),
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
                store.prefetch(a);
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
        store.push(
            Cow::Owned(String::from("owned")),
            InputIds::from(&[][..]),
            TaskFn::new::<NoInputs, _, _>(|_| Ok(())),
        );
        assert_eq!(store.names.len(), 3);
        assert_eq!(store.name(0), "inc");
        assert_eq!(store.name(199), "double");
        assert_eq!(store.name(200), "owned");
    }
}
