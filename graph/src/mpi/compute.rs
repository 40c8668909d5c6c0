//! One multi-node compute, from the targets to every rank's results: cull,
//! fingerprint, place, run this rank's part while exchanging values, then
//! agree on the outcome and broadcast the results. The steps are those of
//! `README.md` beside this file.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;

use serde::{Deserialize, Serialize};

use super::comm::{self, all_gather_bytes, broadcast_bytes};
use super::driver::{drive, Drive};
use super::exchange::{in_task, Exporter, Outbox, Routes};
use super::prepare::prepare;
use super::profile::{merge_profiles, RankTimes};
use super::run_buffers::RunBuffers;
use super::{Cluster, Graph, Placement};
use crate::inspect::diagnostics::{Diagnosis, Recorder};
use crate::run::{self, run_remote, Mode, Observer, Plan, RunState, Unobserved};
use crate::store::{Store, Value};
use crate::Profile;
use crate::{Error, Executor};

/// The watchdog's limit, in seconds, when [`ComputeOptions::timeout`] does
/// not set one.
pub const TIMEOUT_ENV: &str = "DELAYED_MPI_TIMEOUT";

/// How a multi-node compute runs: on which executor, and how long it may
/// take before the watchdog ends it with an error that says where it
/// stuck. A builder: each method returns the options changed.
///
/// ```no_run
/// use std::time::Duration;
/// use delayed::mpi::{Cluster, ComputeOptions};
///
/// let g = Cluster::init()?.graph();
/// let x = g.delayed("x", || 21);
/// let options = ComputeOptions::new().timeout(Duration::from_secs(60));
/// assert_eq!(x.compute_with(&options)?.value, 21);
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ComputeOptions {
    executor: Option<Executor>,
    timeout: Option<Duration>,
    profile: bool,
    placement: Option<Placement>,
}

impl ComputeOptions {
    /// The defaults: the default executor, and the watchdog's limit from
    /// `DELAYED_MPI_TIMEOUT` (seconds) if set, else none.
    ///
    /// ```
    /// let options = delayed::mpi::ComputeOptions::new();
    /// # drop(options);
    /// ```
    pub fn new() -> ComputeOptions {
        ComputeOptions::default()
    }

    /// Runs this rank's tasks on `executor`.
    ///
    /// ```
    /// let ex = delayed::Executor::builder().workers(1).build()?;
    /// let options = delayed::mpi::ComputeOptions::new().executor(&ex);
    /// # drop(options);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn executor(mut self, executor: &Executor) -> ComputeOptions {
        self.executor = Some(executor.clone());
        self
    }

    /// A compute still running after `limit` fails on every rank, with an
    /// error that says what each rank still waits for; a rank whose tasks
    /// do not end within 10 s of that aborts the job.
    ///
    /// ```
    /// let options = delayed::mpi::ComputeOptions::new()
    ///     .timeout(std::time::Duration::from_secs(3600));
    /// # drop(options);
    /// ```
    pub fn timeout(mut self, limit: Duration) -> ComputeOptions {
        self.timeout = Some(limit);
        self
    }

    /// `true`: records a [`Profile`] of the compute on every rank and
    /// merges them, on rank 0 and every other rank alike: every task with
    /// the rank and worker it ran on, times from the compute's start (the
    /// ranks' clocks aligned at its first collective), one Chrome trace
    /// process per rank, and the efficiency report and what-if over all
    /// the ranks' workers.
    ///
    /// ```no_run
    /// use delayed::mpi::{Cluster, ComputeOptions};
    ///
    /// let cluster = Cluster::init()?;
    /// let g = cluster.graph();
    /// let xs: Vec<_> = (0..8).map(|i| g.delayed("inc", move || i + 1)).collect();
    /// let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
    /// let out = total.compute_with(&ComputeOptions::new().profile(true))?;
    /// let profile = out.profile.expect("asked for");
    /// assert_eq!(profile.ranks(), cluster.size());
    /// if cluster.rank() == 0 {
    ///     println!("{}", profile.efficiency());
    ///     profile.write_chrome_trace("loop.json").expect("written");
    /// }
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn profile(mut self, profile: bool) -> ComputeOptions {
        self.profile = profile;
        self
    }

    /// Places the tasks as `placement` says (one learnt from an earlier
    /// run's profile), instead of the default placement; hints given with
    /// [`Graph::on`] still win, and tasks it does not know are placed by
    /// default. Every rank must pass the same placement (the fingerprint
    /// includes it): compute it from the profile every rank gets.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use delayed::mpi::{Cluster, ComputeOptions, Placement};
    ///
    /// let g = Cluster::init()?.graph();
    /// let xs: Vec<_> = (0..16u64)
    ///     .map(|i| g.delayed("work", move || { std::thread::sleep(Duration::from_millis(i)); i }))
    ///     .collect();
    /// let total = g.task("sum", &xs, |v| v.into_iter().sum::<u64>());
    /// let first = total.compute_with(&ComputeOptions::new().profile(true))?;
    /// let placement = Placement::from_profile(&first.profile.unwrap(), Duration::from_micros(5));
    /// let again = total.compute_with(&ComputeOptions::new().placement(&placement))?;
    /// assert_eq!(again.value, 120);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn placement(mut self, placement: &Placement) -> ComputeOptions {
        self.placement = Some(placement.clone());
        self
    }

    /// The executor given, if any.
    pub(crate) fn given_executor(&self) -> Option<&Executor> {
        self.executor.as_ref()
    }

    /// The watchdog's limit: given, or from `DELAYED_MPI_TIMEOUT`.
    fn limit(&self) -> Result<Option<Duration>, Error> {
        if self.timeout.is_some() {
            return Ok(self.timeout);
        }
        match std::env::var(TIMEOUT_ENV) {
            Err(_) => Ok(None),
            Ok(text) => match text.trim().parse::<f64>() {
                Ok(seconds) if seconds > 0.0 && seconds.is_finite() => {
                    Ok(Some(Duration::from_secs_f64(seconds)))
                }
                _ => Err(Error::cluster(format!(
                    "delayed::mpi: {TIMEOUT_ENV}={text:?} is not a number of seconds above zero; \
                     set it to, say, 600, or unset it"
                ))),
            },
        }
    }
}

/// A failure as it crosses ranks at the end of a compute.
#[derive(Serialize, Deserialize)]
enum Failure {
    Task {
        name: String,
        key: u64,
        panicked: bool,
        message: String,
    },
    Other(String),
}

impl Failure {
    fn of(error: &Error) -> Failure {
        match (error.task_name(), error.task_key()) {
            (Some(name), Some(key)) => Failure::Task {
                name: name.to_owned(),
                key: key as u64,
                panicked: error.panic_message().is_some(),
                message: match error.panic_message() {
                    Some(message) => message.to_owned(),
                    None => std::error::Error::source(error)
                        .map(ToString::to_string)
                        .unwrap_or_else(|| error.to_string()),
                },
            },
            _ => Failure::Other(error.to_string()),
        }
    }

    fn into_error(self, rank: usize) -> Error {
        match self {
            Failure::Task {
                name,
                key,
                panicked,
                message,
            } => Error::remote(&name, key as usize, rank, panicked, message),
            Failure::Other(message) => Error::cluster(format!("{message} (on rank {rank})")),
        }
    }
}

/// Computes `targets` (ids of `graph`, not empty) across the job's ranks;
/// every rank gets every target's value, in order.
///
/// `executor` is the executor to run on, or why there is none: a rank that
/// cannot compute still takes part in the first collective, so that every
/// rank returns the error instead of waiting for it.
pub(crate) fn compute_targets(
    graph: &Graph,
    targets: &[u32],
    executor: Result<&Executor, Error>,
    options: &ComputeOptions,
) -> Result<(Vec<Value>, Option<Profile>), Error> {
    let store = graph.local().store();
    if in_task() {
        // A compute nested in a task runs on this rank alone.
        return Ok((run::run(store, targets, Mode::Parallel(executor?))?, None));
    }
    let ready = executor.and_then(|executor| {
        if executor.current_worker_index().is_some() {
            return Err(Error::cluster(
                "delayed::mpi: a multi-node compute was called from a worker thread of the \
                 executor it runs on (outside a task); call it from another thread"
                    .into(),
            ));
        }
        Ok((executor, options.limit()?))
    });
    let cluster = graph.cluster();
    let mut exclusive = cluster.exclusive();
    let (comm, me, ranks) = (cluster.comm(), cluster.rank(), cluster.size());

    // Steps 1 to 4: cull, check that every rank has the same graph and
    // the same hints (given with `Graph::on`, else from a placement), place
    // the tasks, plan this rank's part; or what the last compute of the
    // same targets prepared.
    let prepared = prepare(
        graph,
        comm,
        ready.as_ref().err(),
        targets,
        options.placement.as_ref(),
        (me, ranks),
        &mut exclusive,
    )?;
    let (executor, limit) = ready.expect("an error was returned by the check");
    // The ranks left that collective together: the profile's time zero.
    let epoch = Instant::now();
    let (plan, routes, needed) = (&prepared.plan, &prepared.routes, &prepared.needed);

    // Steps 5 to 8: run this rank's tasks, exchanging values.
    let rank = Rank {
        comm,
        cluster,
        store,
        plan,
        routes,
        executor,
        limit,
    };
    let recorder = options.profile.then(|| Recorder::new(plan.len()));
    let recorder_start = epoch.elapsed();
    let buffers = std::mem::take(&mut exclusive.buffers);
    let (mut driven, outcome) = match &recorder {
        Some(recorder) => rank.run(
            &Diagnosis {
                recorder: Some(recorder),
                progress: None,
                executor: Some(executor),
            },
            buffers,
        ),
        None => rank.run(&Unobserved, buffers),
    };
    let wall = epoch.elapsed();
    exclusive.buffers = std::mem::take(&mut driven.buffers);

    // Step 9: agree on the outcome.
    let mine = match &outcome {
        Err(error) if !error.is_cancelled() => Some(Failure::of(error)),
        _ => None,
    };
    // No bytes for no failure: then the all-gather is one of 8 bytes.
    let encoded = match &mine {
        Some(failure) => postcard::to_allocvec(failure).expect("a failure encodes"),
        None => Vec::new(),
    };
    let failures = all_gather_bytes(comm, &encoded);
    let first = failures.iter().enumerate().find_map(|(rank, bytes)| {
        (!bytes.is_empty())
            .then(|| postcard::from_bytes::<Failure>(bytes).ok())
            .flatten()
            .map(|failure| (rank, failure))
    });
    if let Some((rank, failure)) = first {
        // Step 10 after a failure: receive what was sent and not read, so
        // that every send completes and the next compute starts clean.
        let sent_to_me = comm::sent_to_me(comm, driven.sends.sent());
        let mut bytes = Vec::new();
        for (source, &count) in sent_to_me.iter().enumerate() {
            for _ in driven.received[source]..count {
                comm::receive_from(comm, cluster.payloads(), source, &mut bytes);
            }
        }
        driven.sends.wait_all();
        exclusive.buffers.spares = driven.sends.spares.take_all();
        return Err(match outcome {
            Err(error) if rank == me && error.is_task() => error.with_rank(me),
            _ => failure.into_error(rank),
        });
    }
    driven.sends.wait_all();
    debug_assert!(!driven.sends.in_flight());
    exclusive.buffers.spares = driven.sends.spares.take_all();
    let profile = match recorder {
        Some(recorder) => {
            let local = recorder.finish(plan.len(), |k| ("", plan.node_id(k) as usize, &[]), 1);
            let times = RankTimes::of(&local, routes, recorder_start, wall, executor.workers());
            Some(merge_profiles(comm, store, needed, &times))
        }
        None => None,
    };

    // Step 10: every rank gets every result, from its owner.
    let mut mine = outcome?.into_iter();
    let mut results = Vec::with_capacity(targets.len());
    let mut failed = None;
    for (&id, &(owner, codec)) in targets.iter().zip(&prepared.owners) {
        let owner = owner as usize;
        if owner == me {
            let value = mine.next().expect("a result per local target");
            let message = match codec.encode_value(&value, &[0]) {
                Ok(bytes) => bytes,
                Err(text) => {
                    let mut bytes = vec![1];
                    bytes.extend_from_slice(text.as_bytes());
                    bytes
                }
            };
            let message = broadcast_bytes(comm, owner, message);
            if message[0] != 0 {
                failed.get_or_insert_with(|| encode_failure(store, id, owner, &message[1..]));
            }
            results.push(value);
        } else {
            let message = broadcast_bytes(comm, owner, Vec::new());
            if message[0] != 0 {
                failed.get_or_insert_with(|| encode_failure(store, id, owner, &message[1..]));
                continue;
            }
            match codec.decode(&message[1..]) {
                Ok(value) => results.push(value),
                Err(text) => {
                    failed.get_or_insert_with(|| {
                        Error::cluster(format!(
                            "delayed::mpi: the result of task '{}' (key {id}) from rank {owner}: \
                             {text}",
                            store.name(id)
                        ))
                    });
                }
            }
        }
    }
    match failed {
        Some(error) => Err(error),
        None => Ok((results, profile)),
    }
}

/// What one rank runs in a compute (steps 5 to 8).
struct Rank<'r> {
    comm: &'r SimpleCommunicator,
    cluster: &'r Cluster,
    store: &'r Store,
    plan: &'r Plan,
    routes: &'r Routes,
    executor: &'r Executor,
    limit: Option<Duration>,
}

impl Rank<'_> {
    /// Runs this rank's plan with `inner` observing (diagnostics), driving
    /// the exchange from this thread with `buffers` (an earlier compute's);
    /// what the exchange knows (and the buffers, for the next compute) and
    /// the local outcome (the local targets' values, or the failure).
    fn run<O: Observer>(
        &self,
        inner: &O,
        mut buffers: RunBuffers,
    ) -> (Drive, Result<Vec<Value>, Error>) {
        let cancelled = AtomicBool::new(false);
        let state = RunState::new(self.store, self.plan, &cancelled);
        let outbox = Outbox::new(
            self.comm,
            self.cluster.payloads(),
            self.cluster.size(),
            &mut buffers,
        );
        let exporter = Exporter {
            inner,
            plan: self.plan,
            routes: self.routes,
            outbox: &outbox,
        };
        let mut driven = None;
        run_remote(
            &state,
            self.executor,
            &exporter,
            self.routes.externals,
            |remote| {
                driven = Some(drive(
                    remote,
                    self.store,
                    self.plan,
                    self.routes,
                    &outbox,
                    self.cluster,
                    self.executor,
                    self.limit,
                    std::mem::take(&mut buffers),
                ));
            },
        );
        let mut driven = driven.expect("run_remote calls drive");
        outbox.give_back(&mut driven.buffers);
        (driven, state.finish())
    }
}

/// The error of a result its owner could not encode.
fn encode_failure(store: &Store, id: u32, owner: usize, text: &[u8]) -> Error {
    Error::cluster(format!(
        "delayed::mpi: the result of task '{}' (key {id}) cannot leave rank {owner}: {}",
        store.name(id),
        String::from_utf8_lossy(text)
    ))
}
