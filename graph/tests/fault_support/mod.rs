//! Support shared by the fault-injection tests (`fault_injection.rs`,
//! `fault_pools_and_drops.rs`): a seeded rng, quiet injected panics, pools
//! with named threads, and the checks that run after each trial (the pool
//! still works, no thread is left behind). Each test binary uses part of it.
#![allow(dead_code)]

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

use delayed::{Executor, Graph};

/// xorshift64: deterministic, no dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn per_mille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
}

/// Every injected panic starts with this; the hook keeps them off stderr
/// (thousands of them) and lets every other panic through.
pub(crate) const INJECTED: &str = "injected fault";

pub(crate) fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !message.starts_with(INJECTED) {
                default(info);
            }
        }));
    });
}

/// Threads of this process whose name starts with `prefix` (names are cut
/// to 15 bytes by the kernel: keep prefixes short and unique per test), each
/// with its state and wait channel from /proc.
pub(crate) fn threads(prefix: &str) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| {
            let path = t.ok()?.path();
            let name = std::fs::read_to_string(path.join("comm")).ok()?;
            let name = name.trim_end();
            if !name.starts_with(prefix) {
                return None;
            }
            let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().unwrap_or("").split(' ').next();
            let wchan = std::fs::read_to_string(path.join("wchan")).unwrap_or_default();
            Some(format!(
                "{name} (state {}, wchan {wchan})",
                state.unwrap_or("?")
            ))
        })
        .collect()
}

pub(crate) fn threads_named(prefix: &str) -> usize {
    threads(prefix).len()
}

/// Waits (up to 10 s) for the threads named `prefix*` to be gone: workers
/// whose last handle was dropped on one of their own exit on their own.
pub(crate) fn no_thread_left(prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads_named(prefix) > 0 {
        assert!(
            Instant::now() < deadline,
            "threads still alive after 10 s: {:?}",
            threads(prefix)
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// A pool whose threads are named `prefix<i>`. Returns once every worker
/// shows under that name in /proc (a thread names itself when it starts), so
/// that `no_thread_left` cannot pass before the threads even appeared.
pub(crate) fn pool(prefix: &'static str, workers: usize) -> Executor {
    let ex = Executor::builder()
        .workers(workers)
        .thread_name(move |i| format!("{prefix}{i}"))
        .build()
        .expect("a pool starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads(prefix).len() < workers {
        assert!(
            Instant::now() < deadline,
            "the workers of {prefix} never showed"
        );
        thread::sleep(Duration::from_millis(1));
    }
    ex
}

/// Runs `f` on another thread and fails the test if it takes longer than
/// `secs`: a hang is a failure, not a stuck test run.
pub(crate) fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(value)) => {
            handle.join().unwrap();
            value
        }
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!("{what}: no result after {secs} s (a hang)"),
    }
}

/// The pool still works: a small graph computes right on it.
pub(crate) fn still_works(ex: &Executor) {
    let g = Graph::new();
    let xs: Vec<_> = (0..64u64).map(|i| g.delayed("x", move || i)).collect();
    let sum = g.task("sum", &xs, |v| v.into_iter().sum::<u64>());
    assert_eq!(sum.compute_on(ex).unwrap(), 63 * 64 / 2);
}
