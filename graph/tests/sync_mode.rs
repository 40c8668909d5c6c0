//! The sync runner: every task in the calling thread, in a topological order.

use std::sync::{Arc, Mutex};
use std::thread;

use delayed::Graph;

#[test]
fn every_task_runs_in_the_calling_thread_after_its_inputs() {
    let log: Arc<Mutex<Vec<(usize, thread::ThreadId)>>> = Arc::default();
    let g = Graph::new();
    let record = |key: usize| {
        let log = Arc::clone(&log);
        move || log.lock().unwrap().push((key, thread::current().id()))
    };
    let a = g.delayed("a", record(0));
    let b = g.delayed("b", record(1));
    let rec = record(2);
    let c = g.task("c", (&a, &b), move |_| rec());
    let rec = record(3);
    let d = g.task("d", (&c, &a), move |_| rec());
    let rec = record(4);
    let e = g.task("e", &[b.clone(), d.clone()], move |_| rec());
    e.compute_sync().unwrap();

    let log = log.lock().unwrap();
    assert_eq!(log.len(), 5);
    let here = thread::current().id();
    assert!(log.iter().all(|(_, id)| *id == here));
    let position = |key| log.iter().position(|(k, _)| *k == key).unwrap();
    for (consumer, inputs) in [(2, vec![0, 1]), (3, vec![2, 0]), (4, vec![1, 3])] {
        for input in inputs {
            assert!(position(input) < position(consumer));
        }
    }
}

#[test]
fn sync_results_match_the_parallel_runner() {
    let g = Graph::new();
    let xs: Vec<_> = (0..50i64).map(|i| g.delayed("x", move || i * i)).collect();
    let ys: Vec<_> = xs
        .windows(2)
        .map(|w| g.task("d", (&w[0], &w[1]), |(a, b)| b - a))
        .collect();
    let total = g.task("sum", &ys, |v| v.into_iter().sum::<i64>());
    assert_eq!(total.compute_sync().unwrap(), total.compute().unwrap());
    assert_eq!(
        delayed::compute_sync(&ys).unwrap(),
        delayed::compute(&ys).unwrap()
    );
}

#[test]
fn a_panic_in_sync_mode_is_an_error_with_its_message() {
    let g = Graph::new();
    let x = g.delayed("x", || 1);
    let y = g.task("y", &x, |v| -> i32 { panic!("sync boom {v}") });
    let err = y.compute_sync().unwrap_err();
    assert_eq!(err.to_string(), "task 'y' (key 1) panicked: sync boom 1");
}
