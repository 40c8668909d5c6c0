//! The lesson's programs: `delayed_bench::lesson` and the example binaries,
//! their lines, `--report`/`--trace`, and the progress bar staying off when
//! standard error is not a terminal.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::Parser as _;
use delayed_bench::lesson::{Cli, Workload};

mod support;
use support::example;

#[test]
fn every_workload_computes_the_lessons_result_in_each_mode() {
    for workload in Workload::ALL {
        for extra in [&[][..], &["--serial"][..], &["--workers", "3"][..]] {
            let args = ["prog", "--unit-ms", "1"].iter().chain(extra);
            let report = Cli::try_parse_from(args).unwrap().run(workload).unwrap();
            assert_eq!(
                report.result,
                Some(workload.expected()),
                "{workload:?} {extra:?}"
            );
            assert_eq!(report.label, workload.label());
            assert!(!report.cpus.is_empty());
        }
        let lazy = Cli::try_parse_from(["prog", "--lazy"])
            .unwrap()
            .run(workload)
            .unwrap();
        assert_eq!(lazy.result, None);
        assert!(lazy.wall < Duration::from_millis(500), "lazy builds only");
    }
}

#[test]
fn the_report_prints_the_agreed_lines() {
    let cli = Cli::try_parse_from(["prog", "--unit-ms", "0", "--workers", "2"]).unwrap();
    let text = cli.run(Workload::Loop).unwrap().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("workers=2 cpus="), "{text}");
    let cpus = lines[0].trim_start_matches("workers=2 cpus=");
    assert!(
        cpus.split(',').all(|c| c.parse::<usize>().is_ok()),
        "{text}"
    );
    assert_eq!(lines[1], "total=44");
    let seconds = lines[2]
        .strip_prefix("wall clock time:")
        .and_then(|s| s.strip_suffix('s'))
        .unwrap();
    assert!(seconds.parse::<f64>().unwrap() >= 0.0);

    let serial = Cli::try_parse_from(["prog", "--serial", "--unit-ms", "0"]).unwrap();
    let text = serial.run(Workload::Delay).unwrap().to_string();
    assert!(text.starts_with("workers=1 cpus="), "{text}");
    assert!(text.contains("\nresult=5\n"), "{text}");
}

#[test]
fn tasks_run_in_parallel_waves() {
    // 8 tasks of 50 ms on 4 workers: two waves, far from the 8 of a serial run.
    let cli = Cli::try_parse_from(["prog", "--unit-ms", "50", "--workers", "4"]).unwrap();
    let report = cli.run(Workload::Loop).unwrap();
    let serial = Workload::Loop.ideal(1, Duration::from_millis(50));
    assert!(report.wall >= Workload::Loop.ideal(4, Duration::from_millis(50)));
    assert!(
        report.wall < serial,
        "{:?} is not below the serial {serial:?}",
        report.wall
    );
}

#[test]
fn flags_conflict_and_default_as_documented() {
    assert!(Cli::try_parse_from(["prog", "--serial", "--lazy"]).is_err());
    let cli = Cli::try_parse_from(["prog", "--visualize"]).unwrap();
    assert_eq!(cli.visualize, Some(PathBuf::from("mydask.png")));
    assert_eq!(cli.unit(), delayed_bench::lesson::UNIT);
    let cli = Cli::try_parse_from(["prog", "--visualize", "x.dot"]).unwrap();
    assert_eq!(cli.visualize, Some(PathBuf::from("x.dot")));
}

#[test]
fn visualize_writes_the_picture_after_the_timing() {
    let path = std::env::temp_dir().join(format!("delayed-lesson-{}.dot", std::process::id()));
    let args = ["prog", "--lazy", "--visualize", path.to_str().unwrap()];
    Cli::try_parse_from(args)
        .unwrap()
        .run(Workload::LoopFlow)
        .unwrap();
    let dot = std::fs::read_to_string(&path).unwrap();
    assert_eq!(dot.matches("label=\"double\"").count(), 5);
    assert_eq!(dot.matches("label=\"inc\"").count(), 5);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_example_programs_print_the_lessons_lines() {
    let cases = [
        ("dask_delay", "result=5"),
        ("dask_loop", "total=44"),
        ("dask_loop_flow", "total=90"),
    ];
    for (name, line) in cases {
        let Some(program) = example(name) else {
            eprintln!("{name} is not built (run the whole `cargo test -p delayed-bench`); skipped");
            continue;
        };
        let output = Command::new(&program)
            .args(["--unit-ms", "1"])
            .env("DELAYED_NUM_WORKERS", "2")
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(lines[0].starts_with("workers=2 cpus="), "{name}: {stdout}");
        assert_eq!(lines[1], line, "{name}");
        assert!(lines[2].starts_with("wall clock time:"), "{name}: {stdout}");

        let bad = Command::new(&program)
            .arg("--workers")
            .arg("0")
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).starts_with("error: "));
    }
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("delayed-lesson-{}-{name}", std::process::id()))
}

#[test]
fn the_progress_bar_is_off_when_stderr_is_not_a_terminal() {
    let Some(program) = example("dask_loop") else {
        eprintln!("dask_loop is not built (run the whole `cargo test -p delayed-bench`); skipped");
        return;
    };
    // Asked for by the environment and on by default in the lesson programs,
    // but standard error is a pipe here: nothing is drawn.
    let output = Command::new(&program)
        .args(["--unit-ms", "20", "--workers", "2"])
        .env("DELAYED_PROGRESS", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .contains("total=44"));
}

#[test]
fn the_lesson_programs_report_and_trace() {
    let Some(program) = example("dask_loop") else {
        eprintln!("dask_loop is not built (run the whole `cargo test -p delayed-bench`); skipped");
        return;
    };
    let svg = temp("lesson.svg");
    let output = Command::new(&program)
        .args(["--unit-ms", "20", "--workers", "4", "--report", "--trace"])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("workers=4 cpus="), "{stdout}");
    assert_eq!(lines[1], "total=44", "the lesson's lines come first");
    assert!(lines[2].starts_with("wall clock time:"), "{stdout}");
    assert!(
        stdout.contains("efficiency of 9 tasks on 4 worker(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("what if"), "{stdout}");
    assert!(stdout.contains("(measured: "), "{stdout}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(drawn.matches("<rect class=\"task\"").count(), 9);
    std::fs::remove_file(&svg).unwrap();

    let json = temp("lesson.json");
    let output = Command::new(&program)
        .args(["--unit-ms", "1", "--trace"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    assert_eq!(events.iter().filter(|e| e["ph"] == "X").count(), 9);
    std::fs::remove_file(&json).unwrap();

    let bad = Command::new(&program)
        .args(["--unit-ms", "1", "--trace", "trace.txt"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".json"));
}
