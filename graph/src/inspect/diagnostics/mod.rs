//! Diagnostics of a compute: a progress bar, a per-task profile, its Chrome
//! trace and SVG timeline, the efficiency report against the critical-path
//! bound, what-if simulation for other worker counts, and coloured pictures.
//!
//! Files: `recorder.rs` and `clock.rs` (what the runner calls, per node;
//! the progress bar is in the API layer, `../../api/progress.rs`),
//! `compute_with.rs` (the public entry), `profile.rs` (the data),
//! `efficiency.rs`, `what_if.rs`, `chrome_trace.rs`, `timeline_svg.rs`,
//! `colour.rs` (what is made of a profile).
//!
//! ```
//! use delayed::{ComputeOptions, Executor, Graph, WHAT_IF_WORKERS};
//!
//! let ex = Executor::builder().workers(4).build()?;
//! let g = Graph::new();
//! let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || i + 1)).collect();
//! let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
//! let out = total.compute_with(&ComputeOptions::new().executor(&ex).progress(true).profile(true))?;
//! let profile = out.profile.unwrap();
//! println!("{}", profile.efficiency());           // work, span, bound, efficiency
//! println!("{}", profile.what_if(&WHAT_IF_WORKERS)); // predicted times on 1..64 workers
//! let path = std::env::temp_dir().join(format!("delayed-doc-{}.svg", std::process::id()));
//! profile.write_trace(&path)?;                     // .svg timeline or .json Chrome trace
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chrome_trace;
mod clock;
mod colour;
mod compute_with;
mod efficiency;
mod profile;
mod recorder;
mod timeline_svg;
mod what_if;

use std::time::Duration;

pub use colour::{Color, VisualizeOptions};
#[cfg(feature = "mpi")]
pub(crate) use compute_with::Diagnosis;
pub use compute_with::{compute_with, ComputeOptions, Computed};
pub use efficiency::EfficiencyReport;
pub use profile::{Profile, Task};
#[cfg(feature = "mpi")]
pub(crate) use recorder::Recorder;
pub use what_if::{WhatIf, WhatIfRow, WHAT_IF_WORKERS};

/// A duration for people: seconds, milliseconds, microseconds or
/// nanoseconds, three decimals.
pub(crate) fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 1_000_000_000 {
        format!("{:.3} s", d.as_secs_f64())
    } else if ns >= 1_000_000 {
        format!("{:.3} ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.3} µs", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::human;
    use std::time::Duration;

    #[test]
    fn durations_for_people() {
        assert_eq!(human(Duration::from_millis(2004)), "2.004 s");
        assert_eq!(human(Duration::from_micros(3100)), "3.100 ms");
        assert_eq!(human(Duration::from_nanos(1500)), "1.500 µs");
        assert_eq!(human(Duration::from_nanos(7)), "7 ns");
    }
}
