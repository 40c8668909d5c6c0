//! The multi-node tests (`cargo test -p delayed --features mpi --test mpi`):
//! real Open MPI jobs of 1 to 4 ranks.
//!
//! Run by cargo, this program is the launcher: it starts itself under
//! `mpirun` (as root and with more ranks than CPUs where needed) once per
//! case and rank count, and checks what each job printed and how it ended.
//! Started by `mpirun` or `srun` (`DELAYED_MPI_CASE` set), it is one rank of
//! one case. `--launcher srun` runs the jobs with `srun --mpi=pmix` instead
//! (inside a Slurm allocation or against `scripts/local-slurm.sh`).

mod cases;
mod encoding;
mod heap;
mod random;
mod stream;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The variable that names the case a rank runs.
const CASE: &str = "DELAYED_MPI_CASE";

/// What a job of a case must show to pass.
enum Expect {
    /// Every rank prints `ok <case>` and the job exits 0.
    Ok,
    /// The job ends, with a non-zero status, within this long.
    Aborts(Duration),
}

/// The cases, the rank counts each runs on, and what to expect.
fn plan() -> Vec<(&'static str, &'static [usize], Expect)> {
    vec![
        ("lesson", &[1, 2, 4], Expect::Ok),
        ("random", &[2, 3, 4], Expect::Ok),
        ("rebuilt", &[2, 3], Expect::Ok),
        ("api", &[2, 3], Expect::Ok),
        ("profile", &[1, 2, 4], Expect::Ok),
        ("placement", &[2, 3], Expect::Ok),
        ("task_error", &[2, 3], Expect::Ok),
        ("task_panic", &[2, 4], Expect::Ok),
        ("different_graphs", &[2, 3], Expect::Ok),
        ("bad_hint", &[2], Expect::Ok),
        ("unready_rank", &[2, 3], Expect::Ok),
        ("big_value", &[2], Expect::Ok),
        ("value_sizes", &[2, 3], Expect::Ok),
        ("unencodable", &[2, 3], Expect::Ok),
        ("undecodable", &[2, 3], Expect::Ok),
        ("many_tasks", &[2, 4], Expect::Ok),
        ("stream", &[2, 3], Expect::Ok),
        ("nested", &[2], Expect::Ok),
        ("watchdog", &[2], Expect::Ok),
        ("kept_heap", &[1], Expect::Ok),
        ("kept_columns", &[1], Expect::Ok),
        ("killed_rank", &[3], Expect::Aborts(Duration::from_secs(20))),
        (
            "panic_outside_task",
            &[2],
            Expect::Aborts(Duration::from_secs(20)),
        ),
    ]
}

fn main() {
    if let Ok(case) = std::env::var(CASE) {
        std::process::exit(cases::run(&case));
    }
    let args: Vec<String> = std::env::args().collect();
    let srun = args
        .windows(2)
        .any(|w| w[0] == "--launcher" && w[1] == "srun");
    let only: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-') && *a != "srun")
        .collect();
    let launcher = if srun { "srun" } else { "mpirun" };
    if Command::new(launcher).arg("--version").output().is_err() {
        println!("{launcher} is not installed: install openmpi-bin (scripts/test.sh does)");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
    let (mut passed, mut failed) = (0, 0);
    for (case, ranks, expect) in plan() {
        if !only.is_empty() && !only.iter().any(|o| o.as_str() == case) {
            continue;
        }
        for &n in ranks {
            let started = Instant::now();
            let output = launch(launcher, case, n);
            let took = started.elapsed();
            match check(case, n, &expect, &output, took) {
                Ok(()) => {
                    passed += 1;
                    println!("ok   {case} on {n} ranks ({took:.2?}, {launcher})");
                }
                Err(why) => {
                    failed += 1;
                    println!("FAIL {case} on {n} ranks ({took:.2?}, {launcher}): {why}");
                    println!("---- stdout\n{}", String::from_utf8_lossy(&output.stdout));
                    println!("---- stderr\n{}", String::from_utf8_lossy(&output.stderr));
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}

/// Runs `case` as a job of `n` ranks, bounded in time.
fn launch(launcher: &str, case: &str, n: usize) -> Output {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = Command::new("timeout");
    command.args(["--kill-after=5", "90", launcher]);
    if launcher == "srun" {
        command.args(["--mpi=pmix", "--overcommit", "-n", &n.to_string()]);
    } else {
        command.args(["--oversubscribe", "-np", &n.to_string()]);
    }
    command
        .arg(exe)
        .env(CASE, case)
        // As root (CI), Open MPI needs both to start.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        // More ranks than CPUs: waiting ranks yield their CPU.
        .env("OMPI_MCA_mpi_yield_when_idle", "1")
        .output()
        .expect("the launcher starts")
}

fn check(
    case: &str,
    n: usize,
    expect: &Expect,
    output: &Output,
    took: Duration,
) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    match expect {
        Expect::Ok => {
            if !output.status.success() {
                return Err(format!("the job ended with {}", output.status));
            }
            let oks = stdout
                .lines()
                .filter(|l| *l == format!("ok {case}"))
                .count();
            if oks != n {
                return Err(format!("{oks} of {n} ranks printed `ok {case}`"));
            }
            Ok(())
        }
        Expect::Aborts(limit) => {
            if output.status.success() {
                return Err("the job exited 0".into());
            }
            if took > *limit {
                return Err(format!("the job took {took:?} to end, more than {limit:?}"));
            }
            if stdout.contains(&format!("ok {case}")) {
                return Err("a rank finished the case".into());
            }
            Ok(())
        }
    }
}
