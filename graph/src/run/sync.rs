//! The sync runner: every task in the calling thread, in local index order
//! (a topological order), like Dask's `scheduler="sync"`.
//!
//! The numbered steps referred to here are those of `README.md`.

use super::observer::Observer;
use super::state::RunState;

/// Steps 4 to 6 for each node in turn; stops at the first failure.
pub(crate) fn run<O: Observer>(state: &RunState<'_>, observer: &O) {
    let plan = state.plan();
    for k in 0..plan.len() as u32 {
        observer.ready(k);
        observer.start(k);
        let view = state.view(k);
        // SAFETY: local indices are topological, so every input of `k` ran
        // (in this thread) before it, and has not released its output: `k`
        // itself is one of its consumers, not yet done.
        let ok = unsafe { state.run_task(k, view.id, view.task, view.inputs) };
        observer.end(k, ok);
        if !ok || (O::EXPORTS && !state.export(k, view.task, observer)) {
            return;
        }
        // The input counters are not needed in this order; the consumer
        // counts still free each output after its last consumer.
        state.release_inputs(view.task, view.inputs, view.inputs_to_drop);
    }
}
