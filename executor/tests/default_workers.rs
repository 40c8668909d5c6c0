//! The default worker count follows the process's CPU affinity mask,
//! `SLURM_CPUS_PER_TASK` and `DELAYED_NUM_WORKERS`. Each case runs this test
//! binary again as a child process (`--exact report_default_workers`), under
//! `taskset` or with the variable set, and reads what it printed.

use std::process::Command;

use delayed_executor::Executor;

const CHILD: &str = "DELAYED_TEST_CHILD";

/// In a child: print the default worker count (or the error). In the
/// parent run of the suite it does nothing.
#[test]
fn report_default_workers() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    match Executor::builder().build() {
        Ok(ex) => println!("\n@@workers={} cpus={:?}", ex.workers(), ex.cpus()),
        Err(e) => println!("\n@@error={e}"),
    }
}

/// Runs the child with `env` (and under `taskset -c <cpus>` if given).
fn child(taskset: Option<&str>, env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match taskset {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args([
        "--exact",
        "report_default_workers",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1")
    .env_remove("DELAYED_NUM_WORKERS")
    .env_remove("SLURM_CPUS_PER_TASK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the test binary as a child");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("@@"))
        .unwrap_or_else(|| panic!("no report in {stdout:?}"))
        .to_string()
}

#[test]
fn taskset_to_one_cpu_gives_one_worker() {
    let first = Executor::builder().build().unwrap().cpus()[0].to_string();
    assert_eq!(
        child(Some(&first), &[]),
        format!("workers=1 cpus=[{first}]")
    );
}

#[test]
fn slurm_cpus_per_task_caps_the_count() {
    assert!(child(None, &[("SLURM_CPUS_PER_TASK", "1")]).starts_with("workers=1 "));
}

#[test]
fn delayed_num_workers_sets_the_count_outright() {
    assert!(child(
        None,
        &[("DELAYED_NUM_WORKERS", "3"), ("SLURM_CPUS_PER_TASK", "1")]
    )
    .starts_with("workers=3 "));
}

#[test]
fn malformed_or_zero_variables_are_errors_that_name_the_variable() {
    for (var, value) in [
        ("DELAYED_NUM_WORKERS", "0"),
        ("DELAYED_NUM_WORKERS", "two"),
        ("SLURM_CPUS_PER_TASK", ""),
        ("DELAYED_NUM_WORKERS", "99999999"),
    ] {
        let report = child(None, &[(var, value)]);
        assert!(report.starts_with("error="), "{var}={value}: {report}");
        assert!(report.contains(var), "{var}={value}: {report}");
    }
}
