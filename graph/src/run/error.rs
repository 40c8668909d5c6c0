//! `Error`: why a compute or a visualize failed.
//!
//! The crate's one error type, public as `delayed::Error`. It is defined in
//! the run layer, not the API layer, because a run makes and carries it: a
//! task's panic or `Err` becomes the run's failure here (`RunState::fail`),
//! and the multi-node layer hands its own failures (a value that cannot
//! cross ranks, a watchdog) to the same run (`Observer::export`,
//! `RunState::fail`). The layers above only construct it.

use std::fmt;
use std::io;

use crate::store::BoxError;
use delayed_executor::BuildError;

/// Why a compute or a visualize failed.
///
/// A task that panics or returns `Err` ends its compute with an `Error` that
/// names the task (its name and key) and carries the panic message or the
/// task's own error, which [`source`](std::error::Error::source) returns.
///
/// ```
/// use delayed::Graph;
/// use std::error::Error as _;
///
/// let g = Graph::new();
/// let text = g.delayed("text", || String::from("300"));
/// let byte = g.try_task("parse", &text, |t| t.parse::<u8>());
/// let err = byte.compute_sync().unwrap_err();
/// assert_eq!(err.task_name(), Some("parse"));
/// assert_eq!(err.task_key(), Some(byte.key()));
/// assert!(err.to_string().starts_with("task 'parse' (key 1) failed: "));
/// assert!(err.source().unwrap().is::<std::num::ParseIntError>());
/// ```
#[derive(Debug)]
pub struct Error {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// A task panicked or returned `Err`.
    Task {
        name: String,
        key: usize,
        /// The MPI rank it ran on, in a multi-node compute.
        rank: Option<usize>,
        cause: Cause,
    },
    /// A multi-node compute could not run: the ranks built different
    /// graphs, a placement names a rank that does not exist, MPI failed,
    /// a value could not cross ranks, or the watchdog fired.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    Cluster(String),
    /// The default executor could not be built.
    Executor(BuildError),
    /// The compute was cancelled from outside before it finished (an async
    /// compute whose future was dropped).
    Cancelled,
    /// `visualize` could not write its file.
    Visualize {
        message: String,
        source: Option<io::Error>,
    },
}

#[derive(Debug)]
enum Cause {
    Panicked(String),
    Failed(BoxError),
}

impl Error {
    pub(crate) fn panicked(name: &str, key: usize, message: String) -> Error {
        Error::task(name, key, Cause::Panicked(message))
    }

    pub(crate) fn failed(name: &str, key: usize, error: BoxError) -> Error {
        Error::task(name, key, Cause::Failed(error))
    }

    fn task(name: &str, key: usize, cause: Cause) -> Error {
        Error {
            kind: Kind::Task {
                name: name.to_owned(),
                key,
                rank: None,
                cause,
            },
        }
    }

    /// A task that failed on another rank, known here by its messages.
    #[cfg(feature = "mpi")]
    pub(crate) fn remote(
        name: &str,
        key: usize,
        rank: usize,
        panicked: bool,
        message: String,
    ) -> Error {
        let cause = if panicked {
            Cause::Panicked(message)
        } else {
            Cause::Failed(Box::new(RemoteError(message)))
        };
        Error::task(name, key, cause).with_rank(rank)
    }

    /// This error, naming the rank its task ran on.
    #[cfg(feature = "mpi")]
    pub(crate) fn with_rank(mut self, on: usize) -> Error {
        if let Kind::Task { rank, .. } = &mut self.kind {
            *rank = Some(on);
        }
        self
    }

    /// Why a multi-node compute could not run.
    #[cfg(feature = "mpi")]
    pub(crate) fn cluster(message: String) -> Error {
        Error {
            kind: Kind::Cluster(message),
        }
    }

    /// Whether this is a task's failure (else the compute itself failed).
    #[cfg(feature = "mpi")]
    pub(crate) fn is_task(&self) -> bool {
        matches!(self.kind, Kind::Task { .. })
    }

    /// Whether the compute was cancelled from outside.
    #[cfg(any(test, feature = "mpi"))]
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self.kind, Kind::Cancelled)
    }

    pub(crate) fn executor(error: BuildError) -> Error {
        Error {
            kind: Kind::Executor(error),
        }
    }

    pub(crate) fn cancelled() -> Error {
        Error {
            kind: Kind::Cancelled,
        }
    }

    pub(crate) fn visualize(message: String, source: Option<io::Error>) -> Error {
        Error {
            kind: Kind::Visualize { message, source },
        }
    }

    /// The name of the task that failed, if a task failed.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("boom", || -> i32 { panic!("no") });
    /// assert_eq!(x.compute_sync().unwrap_err().task_name(), Some("boom"));
    /// ```
    pub fn task_name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Task { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The key of the task that failed (see [`Delayed::key`](crate::Delayed::key)),
    /// if a task failed.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("boom", || -> i32 { panic!("no") });
    /// assert_eq!(x.compute_sync().unwrap_err().task_key(), Some(x.key()));
    /// ```
    pub fn task_key(&self) -> Option<usize> {
        match &self.kind {
            Kind::Task { key, .. } => Some(*key),
            _ => None,
        }
    }

    /// The MPI rank the failed task ran on, in a multi-node compute
    /// (`delayed::mpi`, feature `mpi`); `None` on one node.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("boom", || -> i32 { panic!("no") });
    /// assert_eq!(x.compute_sync().unwrap_err().rank(), None);
    /// ```
    pub fn rank(&self) -> Option<usize> {
        match &self.kind {
            Kind::Task { rank, .. } => *rank,
            _ => None,
        }
    }

    /// The panic message, if a task panicked.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("boom", || -> i32 { panic!("no {}", 1) });
    /// assert_eq!(x.compute_sync().unwrap_err().panic_message(), Some("no 1"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Task {
                cause: Cause::Panicked(message),
                ..
            } => Some(message),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Task {
                name,
                key,
                rank,
                cause,
            } => {
                write!(f, "task '{name}' (key {key}) ")?;
                if let Some(rank) = rank {
                    write!(f, "on rank {rank} ")?;
                }
                match cause {
                    Cause::Panicked(message) => write!(f, "panicked: {message}"),
                    Cause::Failed(error) => write!(f, "failed: {error}"),
                }
            }
            Kind::Executor(error) => write!(f, "cannot start the default executor: {error}"),
            Kind::Cancelled => f.write_str("the compute was cancelled before it finished"),
            Kind::Cluster(message) => f.write_str(message),
            Kind::Visualize { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Task {
                cause: Cause::Failed(error),
                ..
            } => Some(&**error),
            Kind::Task { .. } => None,
            Kind::Executor(error) => Some(error),
            Kind::Cancelled | Kind::Cluster(_) => None,
            Kind::Visualize { source, .. } => source.as_ref().map(|e| e as _),
        }
    }
}

/// The error of a task that failed on another rank: its message, which is
/// what crossed ranks.
#[cfg(feature = "mpi")]
#[derive(Debug)]
struct RemoteError(String);

#[cfg(feature = "mpi")]
impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "mpi")]
impl std::error::Error for RemoteError {}

/// `f`'s result, or the message of its panic (user code: a task, a
/// value's drop, its `Serialize` or `Deserialize`), the payload dropped
/// (`drop_quietly`).
#[inline(always)]
pub(crate) fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = panic_message(&*payload);
        drop_quietly(payload);
        message
    })
}

/// Drops a panic payload, whose own drop might panic again (as std does).
pub(crate) fn drop_quietly(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}

/// The message of a panic payload (`panic!` makes a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("(a panic payload that is not a string)")
    }
}
