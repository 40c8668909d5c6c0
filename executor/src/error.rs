//! Why an executor could not be built.

use std::fmt;
use std::sync::Arc;

/// The largest worker count an executor accepts. Far above any machine's
/// CPU count; a larger request is almost certainly a typo.
pub const MAX_WORKERS: usize = 4096;

/// Why [`ExecutorBuilder::build`](crate::ExecutorBuilder::build) (or
/// [`Executor::global`](crate::Executor::global)) failed. Its `Display`
/// says what was wrong and what to do.
///
/// # Examples
///
/// ```
/// use delayed_executor::{BuildErrorKind, Executor};
///
/// let err = Executor::builder().workers(0).build().unwrap_err();
/// assert_eq!(err.kind(), &BuildErrorKind::ZeroWorkers);
/// assert!(err.to_string().contains("at least 1"));
/// ```
#[derive(Clone, Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

/// The cause of a [`BuildError`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// `workers(0)` was asked for.
    ZeroWorkers,
    /// More workers than [`MAX_WORKERS`] were asked for.
    TooManyWorkers {
        /// The count asked for.
        requested: usize,
        /// Where it came from (`"workers()"` or an environment variable).
        source: String,
    },
    /// An environment variable that sets the worker count is malformed or zero.
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// The operating system refused to start a worker thread.
    Spawn {
        /// The index of the worker that could not start.
        worker: usize,
        /// The OS error.
        error: Arc<std::io::Error>,
    },
}

impl PartialEq for BuildErrorKind {
    fn eq(&self, other: &Self) -> bool {
        use BuildErrorKind::*;
        match (self, other) {
            (ZeroWorkers, ZeroWorkers) => true,
            (
                TooManyWorkers {
                    requested: a,
                    source: s,
                },
                TooManyWorkers {
                    requested: b,
                    source: t,
                },
            ) => a == b && s == t,
            (InvalidEnv { var: a, value: v }, InvalidEnv { var: b, value: w }) => a == b && v == w,
            (
                Spawn {
                    worker: a,
                    error: e,
                },
                Spawn {
                    worker: b,
                    error: f,
                },
            ) => a == b && e.kind() == f.kind(),
            _ => false,
        }
    }
}

impl BuildError {
    pub(crate) fn new(kind: BuildErrorKind) -> Self {
        BuildError { kind }
    }

    /// What went wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use delayed_executor::{BuildErrorKind, Executor};
    ///
    /// let err = Executor::builder().workers(1_000_000).build().unwrap_err();
    /// assert!(matches!(err.kind(), BuildErrorKind::TooManyWorkers { requested: 1_000_000, .. }));
    /// ```
    pub fn kind(&self) -> &BuildErrorKind {
        &self.kind
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::ZeroWorkers => write!(
                f,
                "an executor needs at least 1 worker, but 0 were asked for; \
                 pass workers(n) with n >= 1, or leave it unset to use one per CPU"
            ),
            BuildErrorKind::TooManyWorkers { requested, source } => write!(
                f,
                "{requested} workers asked for by {source} is more than the limit of \
                 {MAX_WORKERS}; use about one worker per CPU"
            ),
            BuildErrorKind::InvalidEnv { var, value } => write!(
                f,
                "environment variable {var}={value:?} is not a positive whole number of CPUs; \
                 set it to a number such as 4, or unset it to use the CPUs this process may run on"
            ),
            BuildErrorKind::Spawn { worker, error } => write!(
                f,
                "could not start worker thread {worker}: {error}; \
                 check the stack size and the process's thread limit (ulimit -u)"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Spawn { error, .. } => Some(&**error),
            _ => None,
        }
    }
}
