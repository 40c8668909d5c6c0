//! The hooks of the multi-node layer, without MPI: a run of a partial plan
//! whose external nodes are delivered (or given up) by the computing
//! thread, and the export of outputs read elsewhere.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::observer::Observer;
use super::parallel::run_remote;
use super::plan::Plan;
use super::state::RunState;
use crate::store::{BoxError, Slot, Value};
use crate::{Executor, Graph};

/// Counts exports, and says which exported outputs are read here too.
struct Exports {
    count: AtomicUsize,
    read_here: Vec<u32>,
}

impl Exports {
    fn new(read_here: Vec<u32>) -> Exports {
        Exports {
            count: AtomicUsize::new(0),
            read_here,
        }
    }
}

impl Observer for Exports {
    const EXPORTS: bool = true;

    fn export(&self, k: u32, _output: &Slot) -> Result<bool, BoxError> {
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(self.read_here.contains(&k))
    }
}

#[test]
fn delivered_values_feed_local_tasks_and_exports_are_dropped_once() {
    let marker = Arc::new(());
    let g = Graph::new();
    let a = g.delayed("a, elsewhere", || -> String { unreachable!("external") });
    let m = Arc::clone(&marker);
    let b = g.task("b", &a, move |s| (s.len() as u64, Arc::clone(&m)));
    let c = g.task("c", &b, |(n, _)| n * 2);
    let store = g.store();
    for workers in [1, 2] {
        let executor = Executor::builder()
            .workers(workers)
            .pin(false)
            .build()
            .unwrap();
        // `b` is read here (by `c`) and elsewhere: exported, kept; so is
        // the target `c`.
        let plan = Plan::partial(store, &[b.id(), c.id()], &[a.id()], &[c.id()]);
        let cancelled = AtomicBool::new(false);
        let state = RunState::new(store, &plan, &cancelled);
        let keep = [b.id(), c.id()].map(|id| plan.local_index(id).unwrap());
        let exports = Exports::new(keep.to_vec());
        run_remote(&state, &executor, &exports, 1, |remote| {
            let k = plan.local_index(a.id()).unwrap();
            // SAFETY: `a` is the plan's one external node, delivered once,
            // with a `String` as its task returns.
            unsafe { remote.deliver(k, Value::new(String::from("four"))) };
            while !remote.is_done() {
                std::thread::yield_now();
            }
        });
        let out = state.finish().unwrap();
        assert_eq!(out.into_iter().next().unwrap().into_typed::<u64>(), 8);
        assert_eq!(exports.count.load(Ordering::Relaxed), 2, "b and c");
        assert_eq!(Arc::strong_count(&marker), 2, "b's output was dropped once");
        // Only `b`, read nowhere here: dropped right after its export.
        let plan = Plan::partial(store, &[b.id()], &[a.id()], &[]);
        let state = RunState::new(store, &plan, &cancelled);
        run_remote(&state, &executor, &Exports::new(Vec::new()), 1, |remote| {
            let k = plan.local_index(a.id()).unwrap();
            // SAFETY: as above.
            unsafe { remote.deliver(k, Value::new(String::from("four"))) };
            while !remote.is_done() {
                std::thread::yield_now();
            }
        });
        assert!(state.finish().unwrap().is_empty());
        assert_eq!(Arc::strong_count(&marker), 2, "b's output was dropped once");
    }
}

#[test]
fn given_up_values_end_a_cancelled_run() {
    let g = Graph::new();
    let a = g.delayed("a", || 1u64);
    let b = g.task("b", &a, |v| v + 1);
    let executor = Executor::builder().workers(2).pin(false).build().unwrap();
    let store = g.store();
    let plan = Plan::partial(store, &[b.id()], &[a.id()], &[b.id()]);
    let cancelled = AtomicBool::new(false);
    let state = RunState::new(store, &plan, &cancelled);
    run_remote(&state, &executor, &Exports::new(Vec::new()), 1, |remote| {
        remote.state().cancel();
        remote.abandon();
        while !remote.is_done() {
            std::thread::yield_now();
        }
    });
    assert!(state.finish().err().is_some_and(|e| e.is_cancelled()));
}

#[test]
fn a_rank_with_no_task_of_its_own_ends_at_once() {
    let g = Graph::new();
    let a = g.delayed("a", || 1u64);
    let executor = Executor::builder().workers(1).pin(false).build().unwrap();
    let plan = Plan::partial(g.store(), &[], &[], &[]);
    let cancelled = AtomicBool::new(false);
    let state = RunState::new(g.store(), &plan, &cancelled);
    run_remote(&state, &executor, &Exports::new(Vec::new()), 0, |remote| {
        while !remote.is_done() {
            std::thread::yield_now();
        }
    });
    assert!(state.finish().unwrap().is_empty());
    drop(a);
}
