//! The naive thread pool: one `Mutex<VecDeque>` of boxed jobs and a
//! `Condvar`, the pool one writes from the standard library in an afternoon.
//! A graph runs on it by per-node atomic counters, each ready node submitted
//! as a boxed job.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use super::counter_graph::CounterGraph;

type Job = Box<dyn FnOnce() + Send>;

struct Shared {
    queue: Mutex<Queue>,
    available: Condvar,
}

struct Queue {
    jobs: VecDeque<Job>,
    shutting_down: bool,
}

/// A fixed set of threads taking boxed jobs from one locked queue.
pub struct NaivePool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl NaivePool {
    /// Starts `workers` threads.
    pub fn new(workers: usize) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                shutting_down: false,
            }),
            available: Condvar::new(),
        });
        let threads = (0..workers)
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || shared.work())
            })
            .collect();
        NaivePool { shared, threads }
    }

    /// Queues `job` and wakes one thread.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.shared.push(Box::new(job));
    }

    /// Runs every node of `graph` on the pool; returns when all have run.
    pub fn run_graph<F>(&self, graph: &Arc<CounterGraph>, task: &F)
    where
        F: Fn(u32) + Clone + Send + Sync + 'static,
    {
        let run = Arc::new(GraphRun {
            graph: Arc::clone(graph),
            pending: graph.pending(),
            remaining: AtomicUsize::new(graph.nodes()),
            task: task.clone(),
            pool: Arc::clone(&self.shared),
            finished: (Mutex::new(false), Condvar::new()),
        });
        for &root in graph.roots() {
            let node_run = Arc::clone(&run);
            self.execute(move || node_run.node(root));
        }
        let (lock, cvar) = &run.finished;
        let mut finished = lock.lock().unwrap();
        while !*finished {
            finished = cvar.wait(finished).unwrap();
        }
    }
}

impl Shared {
    fn push(&self, job: Job) {
        self.queue.lock().unwrap().jobs.push_back(job);
        self.available.notify_one();
    }

    fn work(&self) {
        loop {
            let job = {
                let mut queue = self.queue.lock().unwrap();
                loop {
                    if let Some(job) = queue.jobs.pop_front() {
                        break job;
                    }
                    if queue.shutting_down {
                        return;
                    }
                    queue = self.available.wait(queue).unwrap();
                }
            };
            job();
        }
    }
}

impl Drop for NaivePool {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap().shutting_down = true;
        self.shared.available.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

struct GraphRun<F> {
    graph: Arc<CounterGraph>,
    pending: Vec<AtomicU32>,
    remaining: AtomicUsize,
    task: F,
    pool: Arc<Shared>,
    finished: (Mutex<bool>, Condvar),
}

impl<F: Fn(u32) + Send + Sync + 'static> GraphRun<F> {
    fn node(self: Arc<Self>, i: u32) {
        (self.task)(i);
        for &succ in self.graph.successors(i) {
            // AcqRel: publishes this node's effects to the successor's runner
            // and, on the last decrement, acquires every other input's.
            if self.pending[succ as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                let run = Arc::clone(&self);
                self.pool.push(Box::new(move || run.node(succ)));
            }
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let (lock, cvar) = &self.finished;
            *lock.lock().unwrap() = true;
            cvar.notify_all();
        }
    }
}
