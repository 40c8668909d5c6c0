//! One row of the `lesson` table, run in a child process whose CPU affinity
//! is restricted to the row's CPUs (as `srun --cpus-per-task=N` would), so
//! that every measured compute is the first of a fresh process, like the
//! lesson's `python` runs.
//!
//! The parent re-runs its own executable with `--child-variant`; the child
//! prints [`ChildReport`] as `key=value` lines on stdout, the first one
//! `workers=<n> cpus=<list>` as the lesson's programs print it.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::lesson::Workload;
use delayed::{Executor, Graph};

use crate::affinity::{self, cpu_list};

/// What a row runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Build the graph, compute nothing (the lesson's "lazy").
    Lazy,
    /// The plain loop, no graph (the lesson's "serial").
    Serial,
    /// Build the graph and compute it on the default executor.
    Delayed,
}

impl Variant {
    /// The name in the tables and in the published CSV.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Lazy => "lazy",
            Variant::Serial => "serial",
            Variant::Delayed => "delayed",
        }
    }

    /// The variant called `name`.
    pub fn from_name(name: &str) -> Option<Variant> {
        [Variant::Lazy, Variant::Serial, Variant::Delayed]
            .into_iter()
            .find(|v| v.name() == name)
    }
}

/// The workload called `name` (`delay`, `loop`, `loop_flow`).
pub fn workload_from_name(name: &str) -> Option<Workload> {
    Workload::ALL.into_iter().find(|w| w.name() == name)
}

/// What the child measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildReport {
    /// Workers of the executor that ran the graph (1 for lazy and serial).
    pub workers: usize,
    /// The CPUs the workers may use (the child's affinity mask).
    pub cpus: Vec<usize>,
    /// The result (none for lazy).
    pub result: Option<i64>,
    /// Wall time of each run, the first one first: graph build and compute,
    /// the build alone (lazy), or the loop (serial).
    pub walls: Vec<Duration>,
}

impl ChildReport {
    /// The lines the child prints.
    pub fn to_lines(&self) -> String {
        let mut out = format!("workers={} cpus={}\n", self.workers, cpu_list(&self.cpus));
        if let Some(r) = self.result {
            out.push_str(&format!("result={r}\n"));
        }
        for w in &self.walls {
            out.push_str(&format!("wall_ns={}\n", w.as_nanos()));
        }
        out
    }

    /// Reads what [`ChildReport::to_lines`] printed.
    pub fn parse(text: &str) -> Result<ChildReport, String> {
        let mut report = ChildReport {
            workers: 0,
            cpus: Vec::new(),
            result: None,
            walls: Vec::new(),
        };
        let bad = |what: &str| format!("child output: bad {what} in {text:?}");
        for word in text.split_whitespace() {
            let (key, value) = word.split_once('=').ok_or_else(|| bad("word"))?;
            match key {
                "workers" => report.workers = value.parse().map_err(|_| bad("workers"))?,
                "cpus" => {
                    report.cpus = (value.split(',').filter(|c| !c.is_empty()))
                        .map(|c| c.parse().map_err(|_| bad("cpus")))
                        .collect::<Result<_, _>>()?
                }
                "result" => report.result = Some(value.parse().map_err(|_| bad("result"))?),
                "wall_ns" => report.walls.push(Duration::from_nanos(
                    value.parse().map_err(|_| bad("wall_ns"))?,
                )),
                _ => return Err(bad("key")),
            }
        }
        if report.workers == 0 || report.walls.is_empty() {
            return Err(bad("report (no workers or no times)"));
        }
        Ok(report)
    }
}

/// The child's side: runs `variant` of `workload` `runs` times in this
/// process, each on a fresh graph. The delayed variant computes on the
/// default executor (`DELAYED_NUM_WORKERS`, set by the parent), which starts
/// inside the first compute, as Dask's threaded scheduler does.
pub fn run_here(
    workload: Workload,
    variant: Variant,
    unit: Duration,
    runs: usize,
) -> Result<ChildReport, String> {
    let mut walls = Vec::with_capacity(runs);
    let mut result = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        match variant {
            Variant::Lazy => {
                let g = Graph::new();
                std::hint::black_box(workload.build(&g, unit));
            }
            Variant::Serial => result = Some(workload.serial(unit)),
            Variant::Delayed => {
                let g = Graph::new();
                let out = workload.build(&g, unit);
                result = Some(out.compute().map_err(|e| e.to_string())?);
            }
        }
        walls.push(start.elapsed());
    }
    let (workers, cpus) = match variant {
        Variant::Delayed => {
            let ex = Executor::global().map_err(|e| e.to_string())?;
            (ex.workers(), affinity::allowed_cpus())
        }
        _ => (1, affinity::allowed_cpus()),
    };
    Ok(ChildReport {
        workers,
        cpus,
        result,
        walls,
    })
}

/// The parent's side: runs one row in a child process (this executable,
/// with `--child-variant` and friends) restricted to `cpus`, with
/// `DELAYED_NUM_WORKERS=workers`.
pub fn run_in_child(
    workload: Workload,
    variant: Variant,
    cpus: &[usize],
    workers: usize,
    unit: Duration,
    runs: usize,
) -> Result<ChildReport, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "--child-variant",
        variant.name(),
        "--child-workload",
        workload.name(),
    ])
    .args([
        "--unit-us",
        &unit.as_micros().to_string(),
        "--computes",
        &runs.to_string(),
    ])
    .env(delayed_executor::NUM_WORKERS_VAR, workers.to_string());
    affinity::restrict(&mut cmd, cpus);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start the child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "child for {} {} on {} CPUs failed ({}): {}",
            workload.name(),
            variant.name(),
            cpus.len(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    ChildReport::parse(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_round_trip() {
        let r = ChildReport {
            workers: 4,
            cpus: vec![0, 1],
            result: Some(44),
            walls: vec![
                Duration::from_nanos(2_000_123_456),
                Duration::from_nanos(2_000_000_001),
            ],
        };
        assert!(r.to_lines().starts_with("workers=4 cpus=0,1\n"));
        assert_eq!(ChildReport::parse(&r.to_lines()), Ok(r));
        assert!(ChildReport::parse("workers=1").is_err());
    }

    #[test]
    fn runs_each_variant_here() {
        let unit = Duration::ZERO;
        let lazy = run_here(Workload::Delay, Variant::Lazy, unit, 2).unwrap();
        assert_eq!((lazy.result, lazy.walls.len()), (None, 2));
        let serial = run_here(Workload::Loop, Variant::Serial, unit, 1).unwrap();
        assert_eq!(serial.result, Some(44));
        let delayed = run_here(Workload::LoopFlow, Variant::Delayed, unit, 1).unwrap();
        assert_eq!(delayed.result, Some(90));
    }
}
