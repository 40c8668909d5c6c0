//! Invariant I4 of `src/sleep/README.md`: an idle pool sleeps. Alone in its
//! own test binary so that no other test's work is counted.

use std::time::Duration;

use delayed_executor::Executor;

/// CPU time (user + system) used by this whole process so far.
fn process_cpu_time() -> Duration {
    // SAFETY: `getrusage` fills the zeroed struct we pass it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn an_idle_pool_of_two_workers_uses_under_50ms_of_cpu_in_2s() {
    let ex = Executor::builder().workers(2).build().unwrap();
    // Give the workers some work, so they have run, searched and gone to
    // sleep at least once, as after a real compute.
    ex.scope(|s| {
        for _ in 0..1000 {
            s.spawn(|_| {});
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    let before = process_cpu_time();
    std::thread::sleep(Duration::from_secs(2));
    let used = process_cpu_time() - before;
    assert!(
        used < Duration::from_millis(50),
        "idle pool used {used:?} of CPU in 2 s"
    );
    // And it still works after the nap.
    assert_eq!(ex.join(|| 1, || 2), (1, 2));
}
