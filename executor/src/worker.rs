//! A worker thread: its deque, its main loop, finding work (own deque,
//! injector, stealing) and waiting for a latch while running other jobs.

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_deque::{Steal, Worker};
use crossbeam_utils::Backoff;

use crate::job::JobRef;
use crate::latch::Probe;
use crate::registry::Registry;
use crate::stats::Counter;
use crate::unwind::AbortOnUnwind;

/// Every this many jobs taken from its own deque, a worker looks at the
/// injector first, so that work submitted from outside is never starved by a
/// worker that keeps feeding itself. 61 is tokio's `global_queue_interval`:
/// prime, so it does not fall into step with regular workloads.
const INJECTOR_INTERVAL: u32 = 61;

/// Rounds of stealing (over every other deque and the injector) an idle
/// worker makes, with a spin-then-yield backoff between rounds, before it
/// goes to sleep. Spinning a little hides the cost of a futex wake-up for
/// fine-grained graphs; 16 rounds are tens of microseconds, nothing for an
/// idle pool's CPU use.
const SEARCH_ROUNDS: u32 = 16;

/// While idle polls are listed (`Executor::with_idle_poll`), how long an
/// idle worker keeps polling, yielding its CPU between polls, after it began
/// to search or a poll last made progress, before it may sleep. Events that
/// follow each other closely (a value every few microseconds) are then seen
/// by a thread that is awake; a longer lull costs at most this much CPU.
const IDLE_POLL_LINGER: Duration = Duration::from_millis(1);

/// While lingering, a worker spins this many pause instructions between two
/// polls, and yields its CPU instead every `LINGER_YIELD_EVERY` polls: a
/// `sched_yield` costs about a microsecond, more than the poll itself, but
/// a thread that shares the CPU (another rank, oversubscribed) must run.
const LINGER_SPIN: u32 = 4;
const LINGER_YIELD_EVERY: u32 = 16;

thread_local! {
    static CURRENT: Cell<*const WorkerThread> = const { Cell::new(ptr::null()) };
}

/// The per-thread state of a worker. Lives on its thread's stack for the
/// thread's whole life; `CURRENT` points to it.
pub(crate) struct WorkerThread {
    deque: Worker<JobRef>,
    index: usize,
    registry: Arc<Registry>,
    rng: Cell<u64>,
    since_injector: Cell<u32>,
}

impl WorkerThread {
    /// The worker running on this thread, if it is one (of any executor).
    #[inline]
    pub(crate) fn current() -> Option<&'static WorkerThread> {
        let ptr = CURRENT.with(Cell::get);
        // SAFETY: `CURRENT` is non-null only while `run` is on the stack, and
        // the `WorkerThread` it points to lives in that frame; a reference
        // obtained on this thread cannot outlive it (it is not Send).
        unsafe { ptr.as_ref() }
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn registry_arc(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The body of worker thread `index`: pin, register, loop, unregister.
    pub(crate) fn run(
        deque: Worker<JobRef>,
        index: usize,
        registry: Arc<Registry>,
        cpu: Option<usize>,
    ) {
        if let Some(cpu) = cpu {
            if crate::affinity::pin_current_thread(cpu) {
                registry.record_pin(index, cpu);
            }
        }
        let worker = WorkerThread {
            deque,
            index,
            registry,
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) << 17)),
            since_injector: Cell::new(0),
        };
        CURRENT.with(|c| c.set(&worker));
        let guard = AbortOnUnwind;
        worker.main_loop();
        guard.disarm();
        CURRENT.with(|c| c.set(ptr::null()));
    }

    fn main_loop(&self) {
        loop {
            if let Some(job) = self.find_work() {
                self.execute(job);
            } else if self.registry.is_terminating() {
                return;
            } else if let Some(job) = self.search_then_sleep(|| self.registry.is_terminating()) {
                self.execute(job);
            }
        }
    }

    /// Runs other jobs until `latch` is set, sleeping when there are none.
    /// This is what makes nested waits (a join, a scope, a nested compute)
    /// deadlock-free on any number of workers.
    pub(crate) fn wait_until(&self, latch: &impl Probe) {
        while !latch.probe() {
            if let Some(job) = self.find_work() {
                self.execute(job);
            } else if let Some(job) = self.search_then_sleep(|| latch.probe()) {
                self.execute(job);
            }
        }
    }

    /// Pushes `job` onto this worker's deque; if the deque was empty, wakes
    /// a sleeper when nobody searches (N0, N1 of `sleep/README.md`).
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        let was_empty = self.deque.is_empty();
        self.deque.push(job);
        if was_empty {
            self.registry.sleep.notify();
        }
    }

    /// Pops the most recently pushed job of this worker's own deque.
    #[inline]
    pub(crate) fn pop(&self) -> Option<JobRef> {
        self.deque.pop()
    }

    /// Runs one job.
    #[inline]
    pub(crate) fn execute(&self, job: JobRef) {
        self.registry.counters[self.index].bump(Counter::Jobs);
        let guard = AbortOnUnwind;
        // SAFETY: every job in the queues was scheduled once and is taken
        // out of them once, so it is executed exactly once.
        unsafe { job.execute() };
        guard.disarm();
    }

    /// Own deque, with a look at the injector first every
    /// `INJECTOR_INTERVAL` jobs; then the injector; then the other deques.
    #[inline]
    fn find_work(&self) -> Option<JobRef> {
        let n = self.since_injector.get() + 1;
        if n >= INJECTOR_INTERVAL {
            self.since_injector.set(0);
            if let Some(job) = self.steal_injector() {
                return Some(job);
            }
        } else {
            self.since_injector.set(n);
        }
        self.deque
            .pop()
            .or_else(|| self.steal_injector())
            .or_else(|| self.steal_others())
    }

    /// S1..S4 of `sleep/README.md`: search for a bounded number of rounds,
    /// then sleep until woken; repeat until a job turns up or `done`.
    ///
    /// While idle polls are listed (I2 of `idle_poll/README.md`), each round
    /// also polls them, and the worker keeps searching and polling, yielding
    /// its CPU between rounds, until `IDLE_POLL_LINGER` has passed since the
    /// search began or a poll last made progress; only then may it sleep.
    #[cold]
    fn search_then_sleep(&self, done: impl Fn() -> bool) -> Option<JobRef> {
        let sleep = &self.registry.sleep;
        let idle = &self.registry.idle;
        sleep.start_searching();
        loop {
            let backoff = Backoff::new();
            let mut rounds = 0;
            let mut last_progress: Option<Instant> = None;
            let mut lingered = 0u32;
            let mut lingering = true;
            while rounds < SEARCH_ROUNDS {
                if let Some(job) = self.steal_injector().or_else(|| self.steal_others()) {
                    sleep.stop_searching(|| self.registry.has_work());
                    return Some(job);
                }
                if done() {
                    sleep.stop_searching(|| self.registry.has_work());
                    return None;
                }
                if idle.any() {
                    if idle.poll() {
                        // What the poll made ready is on this worker's own
                        // deque: run it here, at once.
                        if let Some(job) = self.deque.pop() {
                            sleep.stop_searching(|| self.registry.has_work());
                            return Some(job);
                        }
                        // The linger starts again at the next poll that
                        // finds nothing.
                        last_progress = None;
                        lingering = true;
                        continue;
                    }
                    if lingering {
                        let since = *last_progress.get_or_insert_with(Instant::now);
                        lingered = lingered.wrapping_add(1);
                        if lingered % LINGER_YIELD_EVERY != 0 {
                            for _ in 0..LINGER_SPIN {
                                std::hint::spin_loop();
                            }
                            continue;
                        }
                        // The clock is read only here, once every
                        // `LINGER_YIELD_EVERY` polls: read at every poll,
                        // it took 4.7 % of a rank's time on a chain whose
                        // tasks alternate between two ranks (`perf`), and
                        // each read delayed the poll that found the value.
                        if since.elapsed() < IDLE_POLL_LINGER {
                            std::thread::yield_now();
                            continue;
                        }
                        lingering = false;
                    }
                }
                rounds += 1;
                backoff.snooze();
            }
            self.registry.counters[self.index].bump(Counter::Sleeps);
            sleep.sleep(self.index, || done() || self.registry.has_work());
        }
    }

    fn steal_injector(&self) -> Option<JobRef> {
        loop {
            match self.registry.injector.steal_batch_and_pop(&self.deque) {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Steals half of some other worker's deque, starting at a random
    /// victim. `Retry` means "lost a race, try again", not "empty".
    fn steal_others(&self) -> Option<JobRef> {
        let stealers = &self.registry.stealers;
        let n = stealers.len();
        if n <= 1 {
            return None;
        }
        let counters = &self.registry.counters[self.index];
        let start = self.next_random() as usize % n;
        loop {
            let mut retry = false;
            for k in 0..n {
                let victim = (start + k) % n;
                if victim == self.index {
                    continue;
                }
                match stealers[victim].steal_batch_and_pop(&self.deque) {
                    Steal::Success(job) => {
                        counters.bump(Counter::Steals);
                        return Some(job);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                counters.bump(Counter::FailedSteals);
                return None;
            }
        }
    }

    /// xorshift64*: a victim order that differs between workers and rounds.
    fn next_random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32
    }
}
