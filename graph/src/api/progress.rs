//! The progress bar of a compute (Dask's `ProgressBar`): tasks done / total,
//! elapsed time, rate and ETA, on standard error.
//!
//! The runner's cost is one `Relaxed` increment per task; a background
//! thread reads the count and redraws the bar about ten times a second. The
//! bar is drawn only when standard error is a terminal, so redirected output
//! (logs, Slurm's output files, pipes) never gets one.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::{self, Mode, Observer, Plan};
use crate::store::{Store, Value};
use crate::Error;

/// The environment variable that turns the bar on for every compute that
/// does not say otherwise (`1`, `true`, `yes`, `on`; `0`, `false`, `no`,
/// `off` turn it off). Read once, at the first compute of the process, by
/// [`compute`](crate::compute); at each call by
/// [`compute_with`](crate::compute_with) when its options do not say.
///
/// ```
/// assert_eq!(delayed::PROGRESS_ENV, "DELAYED_PROGRESS");
/// ```
pub const PROGRESS_ENV: &str = "DELAYED_PROGRESS";

/// How often the bar is redrawn.
const REDRAW: Duration = Duration::from_millis(100);

/// Reads a yes/no value of [`PROGRESS_ENV`]; `None` if unset or unknown.
pub(crate) fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// [`PROGRESS_ENV`] now.
pub(crate) fn env_switch() -> Option<bool> {
    std::env::var(PROGRESS_ENV)
        .ok()
        .and_then(|v| parse_switch(&v))
}

/// [`PROGRESS_ENV`] as it was at the first compute of the process: what plain
/// `compute()` reads, for the cost of one load.
pub(crate) fn env_switch_cached() -> bool {
    static SWITCH: OnceLock<bool> = OnceLock::new();
    *SWITCH.get_or_init(|| env_switch().unwrap_or(false))
}

/// Whether a bar is drawn: when asked for (else when the environment says
/// so), and only on a terminal.
pub(crate) fn shows(asked: Option<bool>, env: Option<bool>, terminal: bool) -> bool {
    asked.or(env).unwrap_or(false) && terminal
}

/// The progress bar of one run (see the module's documentation).
pub(crate) struct ProgressTicker {
    done: Arc<AtomicU64>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressTicker {
    /// A bar for `total` tasks, or `None` if standard error is not a
    /// terminal.
    pub(crate) fn new(total: usize) -> Option<ProgressTicker> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        Some(Self::drawing_to(total, ProgressDrawTarget::stderr()))
    }

    /// A bar for `total` tasks drawn to `target` (tests use a hidden one).
    pub(crate) fn drawing_to(total: usize, target: ProgressDrawTarget) -> ProgressTicker {
        let done = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = mpsc::channel();
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        let style = ProgressStyle::with_template(
            "[{elapsed_precise}] {wide_bar} {pos}/{len} tasks, {per_sec}, eta {eta}",
        )
        .expect("the template is valid");
        bar.set_style(style);
        let count = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("delayed-progress".into())
            .spawn(move || {
                loop {
                    bar.set_position(count.load(Ordering::Relaxed));
                    match stopped.recv_timeout(REDRAW) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        // Stopped, or the ticker is gone.
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                bar.set_position(count.load(Ordering::Relaxed));
                bar.finish();
                if !bar.is_hidden() {
                    // Leave the finished bar on its own line, as Dask does.
                    eprintln!();
                }
            })
            .ok();
        ProgressTicker {
            done,
            stop: Some(stop),
            thread,
        }
    }

    /// One more task is done.
    #[inline]
    pub(crate) fn task_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// Tasks done so far.
    #[cfg(test)]
    pub(crate) fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Draws the bar a last time, leaves it on the screen and stops the
    /// drawing thread (dropping the ticker does the same).
    pub(crate) fn finish(self) {
        drop(self);
    }
}

/// A run with a bar and nothing else to report: one tick per task that
/// ended, returned or failed.
impl Observer for ProgressTicker {
    #[inline]
    fn end(&self, _k: u32, _ok: bool) {
        self.task_done();
    }
}

/// Runs `targets` of `store` (not empty) in `mode`, with a bar when
/// standard error is a terminal: plain [`compute`](crate::compute) when
/// [`PROGRESS_ENV`] says so, and [`compute_with`](crate::compute_with)
/// asked for a bar and no profile.
pub(crate) fn run_with_progress(
    store: &Store,
    targets: &[u32],
    mode: Mode<'_>,
) -> Result<Vec<Value>, Error> {
    // A bar needs the number of tasks first: the runner's plan (planning is
    // deterministic, and nodes added meanwhile come after every target, so
    // its size is the runner's).
    let ticker = std::io::stderr()
        .is_terminal()
        .then(|| Plan::new(store, targets))
        .and_then(|plan| ProgressTicker::new(plan.len()));
    let values = match &ticker {
        Some(ticker) => run::run_observed(store, targets, mode, ticker),
        None => run::run(store, targets, mode),
    };
    if let Some(ticker) = ticker {
        ticker.finish();
    }
    values
}

impl Drop for ProgressTicker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_is_off_unless_asked_and_on_a_terminal() {
        assert!(!shows(None, None, true), "off by default");
        assert!(shows(Some(true), None, true));
        assert!(shows(None, Some(true), true), "on by the environment");
        assert!(!shows(Some(false), Some(true), true), "the option wins");
        assert!(
            !shows(Some(true), Some(true), false),
            "never off a terminal"
        );
        assert!(!shows(None, Some(true), false));
    }

    #[test]
    fn switch_values() {
        for on in ["1", "true", "YES", " on "] {
            assert_eq!(parse_switch(on), Some(true), "{on}");
        }
        for off in ["0", "false", "No", "off", ""] {
            assert_eq!(parse_switch(off), Some(false), "{off}");
        }
        assert_eq!(parse_switch("maybe"), None);
    }

    #[test]
    fn counts_tasks_and_stops_its_thread() {
        let ticker = ProgressTicker::drawing_to(3, ProgressDrawTarget::hidden());
        ticker.task_done();
        ticker.task_done();
        assert_eq!(ticker.done(), 2);
        ticker.finish();
    }

    #[test]
    fn no_bar_when_stderr_is_not_a_terminal() {
        // Test harnesses usually capture standard error; where it is a
        // terminal this says nothing.
        if !std::io::stderr().is_terminal() {
            assert!(ProgressTicker::new(10).is_none());
        }
    }
}
