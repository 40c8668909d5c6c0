//! Fault injection, part 2: pools whose threads cannot be created, and
//! values whose drop panics (an intermediate, and values left in their
//! slots by a failure). After each: the compute returns its `Err` (never a
//! panic or an abort), the pool still works, and no thread is left behind.
//! The run's steps are cited as in `fault_injection.rs` (RUN-n, RUN-inv:
//! `graph/src/run/README.md`).

use std::panic::{self, AssertUnwindSafe};
use std::thread;

use delayed::{Executor, Graph};

mod fault_support;
use fault_support::*;

/// An impossible stack size is an `Err`, not a panic, and leaves no thread;
/// other pools keep working.
#[test]
fn a_pool_whose_threads_cannot_start_is_an_error() {
    let ex = pool("fi-ok-", 2);
    let err = Executor::builder()
        .workers(3)
        .thread_name(|i| format!("fi-bad-{i}"))
        .stack_size(usize::MAX / 2)
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("could not start worker thread 0"),
        "{err}"
    );
    assert_eq!(threads_named("fi-bad-"), 0);
    still_works(&ex);
    drop(ex);
    no_thread_left("fi-ok-");
}

/// A pool whose *second* thread cannot start: the first one, already
/// running, is stopped and joined before `build` returns the error
/// ("Nothing is left running on error"). The second spawn is made to fail
/// by lowering the address-space limit just before it (from the
/// `thread_name` callback, which runs before each spawn), so the check runs
/// alone in a child process.
#[test]
fn a_pool_whose_second_thread_cannot_start_stops_the_first() {
    const CHILD: &str = "DELAYED_FAULT_CHILD";
    const TEST: &str = "a_pool_whose_second_thread_cannot_start_stops_the_first";
    if std::env::var_os(CHILD).is_some() {
        child_second_thread_fails();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[repr(C)]
struct Rlimit {
    cur: u64,
    max: u64,
}

extern "C" {
    fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
    fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
}

/// `RLIMIT_AS` on Linux.
const RLIMIT_AS: i32 = 9;

fn vm_size_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

fn child_second_thread_fails() {
    let mut old = Rlimit { cur: 0, max: 0 };
    // SAFETY: `old` is a valid out-pointer for the call.
    assert_eq!(unsafe { getrlimit(RLIMIT_AS, &mut old) }, 0);
    let stack: usize = 256 << 20;
    let hard = old.max;
    let result = Executor::builder()
        .workers(2)
        .stack_size(stack)
        .thread_name(move |i| {
            if i == 1 {
                // Worker 0 has set up its own thread (std maps its signal
                // stack before the thread names itself) before the limit
                // drops.
                while threads("fi-two-").is_empty() {
                    thread::yield_now();
                }
                // Room for small allocations, not for a second stack.
                let limit = Rlimit {
                    cur: vm_size_bytes() + (stack as u64) / 4,
                    max: hard,
                };
                // SAFETY: a valid pointer; lowering the soft limit is allowed.
                assert_eq!(unsafe { setrlimit(RLIMIT_AS, &limit) }, 0);
            }
            format!("fi-two-{i}")
        })
        .build();
    // SAFETY: a valid pointer; the soft limit goes back to what it was.
    assert_eq!(unsafe { setrlimit(RLIMIT_AS, &old) }, 0);
    let err = result.unwrap_err();
    assert!(
        err.to_string().contains("could not start worker thread 1"),
        "{err}"
    );
    // Worker 0 was started, then stopped and joined inside `build`.
    no_thread_left("fi-two-");
    let ex = pool("fi-after-", 2);
    still_works(&ex);
    drop(ex);
    no_thread_left("fi-after-");
}

/// A value whose drop panics.
struct Grenade;

impl Drop for Grenade {
    fn drop(&mut self) {
        panic!("{INJECTED}: a drop");
    }
}

/// An intermediate value whose drop panics is dropped by its last consumer
/// inside `catch_unwind` (RUN-6: a panicking drop is a failure of the
/// producer): the compute returns that `Err`, and the pool stays usable.
#[test]
fn a_panicking_drop_of_an_intermediate_is_an_error() {
    quiet_injected_panics();
    let ex = pool("fi-gren-", 2);
    for _ in 0..20 {
        let g = Graph::new();
        let grenade = g.delayed("grenade", || Grenade);
        let after = g.task("after", &grenade, |_| 1);
        let err = after.compute_on(&ex).unwrap_err();
        assert_eq!(err.task_name(), Some("grenade"));
    }
    still_works(&ex);
    drop(ex);
    no_thread_left("fi-gren-");
}

/// Found by this suite, fixed in `RunState::finish`: a value whose drop
/// panics, left in its slot because a consumer failed, is dropped on the
/// computing thread at step 8 ("values left by a failure") inside
/// `catch_unwind`, as RUN-inv asks ("User code (closures, drops of values)
/// runs inside `catch_unwind`"), so the compute returns its `Err`.
#[test]
fn a_panicking_drop_of_a_value_left_by_a_failure_is_not_a_panic() {
    quiet_injected_panics();
    let ex = pool("fi-left-", 2);
    let g = Graph::new();
    let grenade = g.delayed("grenade", || Grenade);
    let fine = g.delayed("fine", || 1u8);
    // `bad` runs after both inputs are stored, fails, and releases neither.
    let bad = g.task("bad", (&grenade, &fine), |_| -> u8 {
        panic!("{INJECTED}: bad")
    });
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| bad.compute_on(&ex)));
    match outcome {
        Ok(Err(err)) => assert_eq!(err.task_name(), Some("bad"), "{err}"),
        Ok(Ok(_)) => panic!("a failed task's compute returned Ok"),
        Err(_) => panic!("compute_on panicked: a value's panicking drop escaped the run"),
    }
    still_works(&ex);
    drop(ex);
    no_thread_left("fi-left-");
}

/// The worse form of the one above, also fixed: *two* such values left by
/// a failure used to abort the process ("panic in a destructor during
/// cleanup"). Checked in a child process, which must exit normally.
#[test]
fn two_panicking_drops_left_by_a_failure_do_not_abort() {
    const CHILD: &str = "DELAYED_GRENADES_CHILD";
    const TEST: &str = "two_panicking_drops_left_by_a_failure_do_not_abort";
    if std::env::var_os(CHILD).is_some() {
        quiet_injected_panics();
        let ex = pool("fi-two-g-", 2);
        let g = Graph::new();
        let g1 = g.delayed("grenade1", || Grenade);
        let g2 = g.delayed("grenade2", || Grenade);
        let bad = g.task("bad", (&g1, &g2), |_| -> u8 { panic!("{INJECTED}: bad") });
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| bad.compute_on(&ex)));
        assert!(matches!(outcome, Ok(Err(_))), "not an Err");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--include-ignored"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
