//! `Store`: a graph's nodes, appended once, read without a lock.
//!
//! A node is its name, its type-erased closure and the ids of its inputs. A
//! node can only name nodes that already exist, so ids are a topological
//! order: every input id is smaller than the id of its consumer.
//!
//! The store also keeps what a compute would otherwise rebuild each time:
//! each node's consumers (the first two in the node's own record, more in a
//! list through `edges`, newest first) and the ids of the nodes without
//! inputs (`roots`), both added with the node that creates them.
//!
//! What running a node reads (closure, input ids, consumers) is one 32-byte
//! record, [`Node`], so that a node far from the last one costs one cache
//! miss, not one per column, and a million-node graph fits in about 40 MB.
//! What many nodes share lies apart, in `kinds`: a closure type's vtable and
//! the node's name, as the pair a loop's nodes all have (`"inc"` and the
//! loop's closure type), stored once and indexed by 28 bits of the record.
//! Names, read only for errors and pictures, lie in a table of their own; a
//! `&'static str` name is stored once however many nodes use it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use super::append_vec::AppendVec;
use super::arena::Arena;
use super::args::{Args, BoxError};
use super::input_ids::{InputCount, InputIds, KindAndIds, ShortCount, MAX_KINDS};
use super::task_fn::{InputTypes, Storage, Task, TaskFn, VTable};
use super::writer_lock::{WriterGuard, WriterLock};

/// Node ids are below 2^31 - 1: a node record's second consumer field uses
/// the top bit to say that it holds a list (`TAG`), and the largest values
/// stay free as markers for runs (`run::plan`).
pub(crate) const MAX_NODES: usize = (1 << 31) - 2;

/// The end of an out-edge list, and an empty consumer field.
pub(crate) const NO_EDGE: u32 = u32::MAX;

/// In `Node::second`: the rest of the field is the index in `Store::edges`
/// of the newest out-edge of a list, not a consumer.
const TAG: u32 = 1 << 31;

/// One out-edge of a node with more than two consumers (every one but the
/// first two): `consumer` takes the node as an input; `next` is `TAG |` the
/// node's previous (older) such edge, or, for the oldest, the node's second
/// consumer itself, which ends the list.
pub(crate) struct Edge {
    pub(crate) consumer: u32,
    pub(crate) next: u32,
}

/// What running a node reads, together, in 32 bytes. `repr(C)`: the
/// consumer fields, which a writer stores to while computes prefetch the
/// record, are its last 8 bytes.
#[repr(C)]
pub(crate) struct Node {
    /// The closure's storage (`TaskFn::into_parts`); its vtable is its kind's.
    closure: Storage,
    /// The index in `Store::kinds` of the node's closure vtable and name,
    /// and the node's input ids.
    head: KindAndIds,
    /// The node's first consumer, or `NO_EDGE`. Written by the writer when
    /// a consumer is added (Release), read by computes (Acquire).
    first: AtomicU32,
    /// The node's second consumer, `NO_EDGE`, or, once it has more than
    /// two, `TAG | e` where `e` is the newest of the list in `edges` of every
    /// consumer but the first (the second ends it). Written and read as
    /// `first`; it goes from a consumer to a list (which ends with that
    /// consumer) in one store.
    second: AtomicU32,
}

/// Kinds whose vtable the store keeps at hand (`Store::hot`): a program
/// has about one per task function.
const HOT_KINDS: usize = 16;

/// What the nodes of one kind share.
struct Kind {
    /// The vtable of the kind's closure type.
    vtable: &'static VTable,
    /// The index in `names` of the kind's name.
    name: u32,
}

/// What appending needs to know, guarded by the writer lock.
struct Writer {
    /// The number of nodes without consumers (*sinks*), which grows and
    /// shrinks as nodes are added.
    sinks: usize,
    /// The index in `kinds` of each pair of closure vtable and borrowed name
    /// seen, by addresses and name length.
    kinds: HashMap<KindKey, u32>,
    /// The index in `names` of each borrowed name seen, by address and length.
    static_names: HashMap<(usize, usize), u32>,
    /// The last `RECENT` kinds with a borrowed name looked up in `kinds`
    /// and their indices, the newest first: a loop adds many nodes of a few
    /// kinds (a random DAG's loop one closure type per input count), which
    /// then cost no hash lookup (SipHash was a twentieth of such a build).
    recent: [Option<(KindKey, u32)>; RECENT],
    /// The closures larger than a word (`TaskFn::new_in`) and the input
    /// lists longer than three ids (`KindAndIds::new`): the records point
    /// into it, and `Store::drop` drops the closures before it goes.
    arena: Arena,
}

/// A closure vtable's address, a borrowed name's address and length.
type KindKey = (usize, usize, usize);

/// Kinds `Writer::recent` remembers.
const RECENT: usize = 4;

impl Node {
    /// The node's input ids, in the order given to `Graph::task`.
    #[inline]
    pub(crate) fn inputs(&self) -> &[u32] {
        self.head.as_slice()
    }

    /// Whether an input's value may have something to drop
    /// (`InputIds::has_values_to_drop`).
    #[inline]
    pub(crate) fn inputs_to_drop(&self) -> bool {
        self.head.has_values_to_drop()
    }
}

/// The nodes, and beside them their kinds and names, their further
/// out-edges and the roots.
pub(crate) struct Store {
    /// Distinct names: each borrowed name once, each owned name as given.
    names: AppendVec<Cow<'static, str>>,
    /// Distinct pairs of closure vtable and name (each owned name makes
    /// one of its own).
    kinds: AppendVec<Kind>,
    /// The vtables of the first `HOT_KINDS` kinds again, in the store
    /// itself: running a node looks its vtable up here, one load from a
    /// line every task reads, where `kinds` would be a chain of them
    /// (length, segment, entry) behind the record's load.
    hot: [AtomicPtr<VTable>; HOT_KINDS],
    /// Per node: its number of inputs in a byte (`ShortCount`): all that a
    /// run's first pass reads.
    counts: AppendVec<ShortCount>,
    /// The out-edges of the nodes with more than two consumers (but their
    /// first two), in the order they were added.
    edges: AppendVec<Edge>,
    /// Ids of the nodes without inputs, increasing.
    roots: AppendVec<u32>,
    /// Appended last: its length is the number of complete nodes.
    nodes: AppendVec<Node>,
    /// Serializes appends: the columns grow together. Last, so that it
    /// drops last: the records point into its arena.
    writer: WriterLock<Writer>,
}

impl Store {
    pub(crate) fn new() -> Store {
        Store {
            writer: WriterLock::new(Writer {
                sinks: 0,
                kinds: HashMap::new(),
                static_names: HashMap::new(),
                recent: [None; RECENT],
                arena: Arena::new(),
            }),
            names: AppendVec::new(),
            kinds: AppendVec::new(),
            hot: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            counts: AppendVec::new(),
            edges: AppendVec::new(),
            roots: AppendVec::new(),
            nodes: AppendVec::new(),
        }
    }

    /// Appends a node and returns its id. `inputs` is taken by reference
    /// (its ids stay, a list kept in the heap moves into the store) from
    /// the task builder to the record's write: moved by value, the 56-byte
    /// `InputIds` was copied into each callee's argument with a 16-byte
    /// load that overlapped two of the stores that had just made it (the
    /// compiler zeroed it in two overlapping 16-byte stores), so the load
    /// could not be forwarded and waited for both to reach the cache: a
    /// quarter to a third of the samples of the builder's inlined loop
    /// (`perf annotate`). By reference, a chain's build went from 16.7-17.0
    /// to 15.1-15.9 ns per node (`profile_dag build chain 10`, 6 alternated
    /// rounds, this VM's fast state).
    ///
    /// # Panics
    /// When the graph already holds `MAX_NODES` nodes, or its nodes more
    /// than `MAX_NODES` consumers beyond their first, or the node would be
    /// of a new kind beyond `MAX_KINDS`.
    pub(crate) fn push<S, T, F>(&self, name: Cow<'static, str>, inputs: &mut InputIds, f: F) -> u32
    where
        S: InputTypes,
        T: Send + Sync + 'static,
        F: Fn(Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        let mut writer = self.writer.lock();
        // SAFETY: the arena is the store's, dropped after every closure of
        // its nodes (`Store::drop`); a task not pushed drops here.
        let task = unsafe { TaskFn::new_in::<S, T, F>(f, &mut writer.arena) };
        self.push_locked(writer, name, inputs, task)
    }

    /// `push` of the erased closure `task`, holding `writer`; drops the
    /// lock before a panic (and `task` after it).
    ///
    /// Always inlined into each task builder's `push`: a chain's build
    /// 14.8 -> 12.2-12.3 ns per node, a wavefront's 16.8-16.9 -> 14.7-15.0,
    /// with `KindAndIds::new` inlined too (`profile_dag build SHAPE 10`, 4
    /// alternated rounds). Tried before the stalls that `push` describes
    /// were gone, inlining was slower (27.0-29.8).
    #[inline(always)]
    fn push_locked(
        &self,
        mut writer: WriterGuard<'_, Writer>,
        name: Cow<'static, str>,
        inputs: &mut InputIds,
        task: TaskFn,
    ) -> u32 {
        let id = self.nodes.len();
        // Once: the compiler did not merge the three `as_slice` calls this
        // function made (each a `match` on where the ids are and a bounds
        // check, 12 instructions of a chain's 253 per node).
        let ids = inputs.as_slice();
        // At most an edge per input.
        let edges = self.edges.len() + ids.len();
        if id >= MAX_NODES || edges >= MAX_NODES {
            drop(writer);
            panic!("delayed: a graph holds at most {MAX_NODES} nodes and as many edges");
        }
        let id = id as u32;
        // SAFETY: we hold `writer`, so no other push runs on any column.
        let Some(kind) = (unsafe { self.kind_index(task.vtable(), name, &mut writer) }) else {
            drop(writer);
            panic!(
                "delayed: a graph holds at most {MAX_KINDS} kinds of task (pairs of closure type \
                 and name), and each task named with an owned String makes one: name the tasks \
                 of a loop with one &'static str"
            );
        };
        let (_, closure) = task.into_parts();
        // SAFETY: we hold `writer`, so no other push runs on any column.
        unsafe {
            self.counts.push(inputs.count().short());
            for &input in ids {
                let producer = self
                    .nodes
                    .get_as_writer(input as usize)
                    .expect("inputs exist");
                self.add_out_edge(producer, id, &mut writer.sinks);
            }
            if ids.is_empty() {
                self.roots.push(id);
            }
            // The new node has no consumer yet.
            writer.sinks += 1;
            let head = KindAndIds::new(kind, inputs, &mut writer.arena);
            self.nodes.push(Node {
                closure,
                head,
                first: AtomicU32::new(NO_EDGE),
                second: AtomicU32::new(NO_EDGE),
            });
        }
        id
    }

    /// Records `consumer` as a consumer of `producer`.
    ///
    /// # Safety
    /// The caller holds `writer` (whose guarded count is `sinks`).
    unsafe fn add_out_edge(&self, producer: &Node, consumer: u32, sinks: &mut usize) {
        // Relaxed loads: only writers (serialized by `writer`) store these.
        // Release stores pair with the Acquire loads in `Consumers`: the
        // edges pushed before them (their vector's own Release) come along.
        if producer.first.load(Ordering::Relaxed) == NO_EDGE {
            // The producer gets its first consumer: no longer a sink.
            *sinks -= 1;
            producer.first.store(consumer, Ordering::Release);
            return;
        }
        let second = producer.second.load(Ordering::Relaxed);
        if second == NO_EDGE {
            producer.second.store(consumer, Ordering::Release);
            return;
        }
        // A third consumer or later: a new edge at the head of the list,
        // whose tail is the field's old value (the second consumer itself
        // ends the list), replacing it in one store.
        // SAFETY: the caller holds `writer`: no other push on `edges`.
        let edge = unsafe {
            self.edges.push(Edge {
                consumer,
                next: second,
            })
        } as u32;
        producer.second.store(TAG | edge, Ordering::Release);
    }

    /// The number of complete nodes and how many of them have no consumer,
    /// read together.
    pub(crate) fn len_and_sinks(&self) -> (usize, usize) {
        let writer = self.writer.lock();
        (self.nodes.len(), writer.sinks)
    }

    /// Whether node `id` has at least one consumer.
    #[inline]
    pub(crate) fn has_consumer(&self, id: u32) -> bool {
        // Acquire pairs with the Release in `add_out_edge`, as in `consumers`.
        self.node(id).first.load(Ordering::Acquire) != NO_EDGE
    }

    /// Number of complete nodes.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        let kind = self.kind(self.node(id));
        expect_node(self.names.get(kind.name as usize)).as_ref()
    }

    /// The kind of a node.
    #[inline]
    fn kind(&self, node: &Node) -> &Kind {
        expect_node(self.kinds.get(node.head.kind() as usize))
    }

    /// The closure of a node record at hand.
    #[inline]
    pub(crate) fn task<'s>(&'s self, node: &'s Node) -> Task<'s> {
        let vtable = match self.hot.get(node.head.kind() as usize) {
            // Relaxed: see `push_kind`. Set before any node of the kind was
            // published.
            // SAFETY: a `&'static VTable` was stored there (`push_kind`).
            Some(hot) => unsafe { &*hot.load(Ordering::Relaxed) },
            None => self.kind(node).vtable,
        };
        // SAFETY: the record holds a live closure of its kind's vtable
        // (`push`), dropped only by `Store`'s `Drop`, which needs `&mut`.
        unsafe { Task::new(vtable, &node.closure) }
    }

    /// Input ids of node `id`, in the order given to `Graph::task`.
    #[inline]
    pub(crate) fn inputs(&self, id: u32) -> &[u32] {
        self.node(id).inputs()
    }

    /// The input counts of nodes `0..len`, in order, in a byte each, as
    /// the slices of the column's segments, each with the id of its first
    /// node: pass each byte to `whole_count` with its node id.
    pub(crate) fn counts_of_first(
        &self,
        len: usize,
    ) -> impl DoubleEndedIterator<Item = (u32, &[ShortCount])> + Clone + '_ {
        (self.counts.prefix(len)).map(|(start, counts)| (start as u32, counts))
    }

    /// The input count of node `id`, whose byte in the column is `short`.
    #[inline]
    pub(crate) fn whole_count(&self, id: u32, short: ShortCount) -> InputCount {
        match short.whole() {
            Some(count) => count,
            // 127 inputs or more: the record has the count.
            None => self.node(id).head.count(),
        }
    }

    /// The input count of node `id`.
    #[inline]
    pub(crate) fn count(&self, id: u32) -> InputCount {
        self.whole_count(id, *expect_node(self.counts.get(id as usize)))
    }

    /// The consumers of node `id` that are at most `max`, once per edge:
    /// the first, then the others newest first.
    #[inline]
    pub(crate) fn consumers(&self, id: u32, max: u32) -> Consumers<'_> {
        self.consumers_of(self.node(id), max)
    }

    /// `consumers` of a node record already at hand.
    #[inline]
    pub(crate) fn consumers_of<'s>(&'s self, node: &'s Node, max: u32) -> Consumers<'s> {
        // Acquire pairs with the Release in `add_out_edge`: a list's edges
        // are visible. `first` is read before `second`, so a second
        // consumer (or list) seen comes after the first seen.
        let first = node.first.load(Ordering::Acquire);
        let (first, second) = if first == NO_EDGE || first > max {
            // A consumer id only ever replaces `NO_EDGE`, and ids grow, so
            // an absent first consumer or one above `max` means that no
            // later one is in range.
            (NO_EDGE, NO_EDGE)
        } else {
            (first, node.second.load(Ordering::Acquire))
        };
        Consumers {
            store: self,
            first,
            second,
            max,
        }
    }

    /// Node `id`'s record: what running it reads.
    #[inline]
    pub(crate) fn node(&self, id: u32) -> &Node {
        expect_node(self.nodes.get(id as usize))
    }

    /// `node`, for a node known to exist: without the look at the number
    /// of nodes (a run looks up every node of its plan, all published).
    ///
    /// # Safety
    /// This thread has seen node `id` published: it is below a number of
    /// nodes this thread read (`len`, `len_and_sinks`, a handle's node
    /// made by this thread), or one that such a thread passed on with a
    /// happens-before edge (a job pushed to the executor).
    #[inline]
    pub(crate) unsafe fn published_node(&self, id: u32) -> &Node {
        // SAFETY: the caller's contract.
        unsafe { self.nodes.get_published(id as usize) }
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

impl Drop for Store {
    /// Drops the nodes' closures, whose vtables only `kinds` knows; the
    /// columns then free themselves (and the records their boxed input
    /// lists). If a closure's drop panics, the others are still dropped
    /// while the panic unwinds, as a `Vec`'s elements are. A graph whose
    /// closures have nothing to drop (they capture plain data: the common
    /// loop) skips the pass over its records, a cache miss per record.
    fn drop(&mut self) {
        let any_to_drop =
            (0..self.kinds.len()).any(|k| expect_node(self.kinds.get(k)).vtable.needs_drop());
        if any_to_drop {
            drop_closures(self, 0);
        }
    }
}

/// Drops the closures of nodes `from..`: on a panic, a guard drops the rest.
fn drop_closures(store: &mut Store, from: usize) {
    /// Drops the closures after the one whose drop is unwinding.
    struct Rest<'a> {
        store: &'a mut Store,
        next: usize,
    }
    impl Drop for Rest<'_> {
        fn drop(&mut self) {
            drop_closures(self.store, self.next);
        }
    }
    let len = store.nodes.len();
    for i in from..len {
        let vtable = {
            let node = expect_node(store.nodes.get(i));
            expect_node(store.kinds.get(node.head.kind() as usize)).vtable
        };
        if !vtable.needs_drop() {
            continue;
        }
        let closure = &raw mut expect_node(store.nodes.get_mut(i)).closure;
        let rest = Rest {
            store: &mut *store,
            next: i + 1,
        };
        // SAFETY: the record holds a live closure of its kind's vtable,
        // dropped here once (`&mut Store`: nobody reads it any more; a
        // panic goes on at `i + 1`).
        unsafe { vtable.drop_closure(closure) };
        std::mem::forget(rest);
    }
}

/// Iterator over a node's consumers up to some id, made by `Store::consumers`.
pub(crate) struct Consumers<'s> {
    store: &'s Store,
    /// The first consumer, not handed out yet, or `NO_EDGE`.
    first: u32,
    /// Then the second consumer (or `TAG |` the next edge of the list), or
    /// `NO_EDGE`.
    second: u32,
    max: u32,
}

impl Iterator for Consumers<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.first != NO_EDGE {
            return Some(std::mem::replace(&mut self.first, NO_EDGE));
        }
        while self.second != NO_EDGE {
            if self.second & TAG == 0 {
                // The second consumer, alone or at the end of a list.
                let second = std::mem::replace(&mut self.second, NO_EDGE);
                return (second <= self.max).then_some(second);
            }
            let edge = expect_node(self.store.edges.get((self.second & !TAG) as usize));
            self.second = edge.next;
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

// A node's record is its closure (8 bytes), its kind and input ids (16)
// and its consumers (8): 32 bytes, two to a cache line.
const _: () = assert!(size_of::<Node>() == 32);

// How a push finds its kind: a child module, in a file of its own, that
// sees the store's private fields.
mod kind_lookup;

// The tests see the records' private fields: a child module, in a file of
// its own.
#[cfg(test)]
#[path = "nodes_tests.rs"]
mod tests;
