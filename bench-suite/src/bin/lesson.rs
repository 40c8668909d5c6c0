//! `lesson`: reproduces the timing tables of the lesson "Dask Delayed" for
//! its three programs (`delay`, `loop`, `loop_flow`): the lazy build, the
//! serial loop, and `delayed` on 1, 2 and 4 CPUs, each row in a child process
//! restricted to that many CPUs. Prints the table and writes
//! `results/lesson.md` and `results/lesson.csv`.
//!
//! ```text
//! cargo run --release -p delayed-bench --bin lesson                  # 1 s tasks, as the lesson
//! cargo run --release -p delayed-bench --bin lesson -- --unit-ms 100
//! cargo run --release -p delayed-bench --bin lesson -- --cpus all
//! cargo run --release -p delayed-bench --bin lesson -- --report --trace timeline.svg
//! ```
//!
//! `--report` adds, per program, the efficiency report and what-if table of
//! one profiled run on the most workers asked for, and the what-if
//! prediction beside each measured row; `--trace FILE` writes that run's
//! trace (`.json` Chrome trace or `.svg` timeline) to FILE with the program's
//! name added (`timeline-loop.svg`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use delayed_bench::affinity::{allowed_cpus, cpu_list};
use delayed_bench::lesson::Workload;
use delayed_bench::lesson_child::{self, workload_from_name, ChildReport, Variant};
use delayed_bench::machine::Machine;
use delayed_bench::published;
use delayed_bench::table::{cell, Table};
use delayed_bench::timing::median;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(about = "The lesson's timing tables, measured with delayed")]
struct Args {
    /// CPU counts for the delayed rows: a list, or `all` for 1, 2, 4 and
    /// every count up to this machine's.
    #[arg(long, default_value = "1,2,4")]
    cpus: String,
    /// How long each task sleeps, in milliseconds (the lesson's: 1000).
    #[arg(long, default_value_t = 1000)]
    unit_ms: u64,
    /// Computes per row, each on a fresh graph in the same process: the
    /// first is the measured one (a fresh process, as the lesson's), the
    /// median of the others is the "warm" column.
    #[arg(long, default_value_t = 2)]
    computes: usize,
    /// Folder for lesson.md and lesson.csv.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// After the table: per program, the efficiency report and what-if
    /// table of one profiled run, and the prediction beside each measured row.
    #[arg(long)]
    report: bool,
    /// Write each program's profiled run as a trace: FILE with the program's
    /// name added; .json (Chrome trace) or .svg (timeline).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Child mode (internal): the variant to run.
    #[arg(long, hide = true)]
    child_variant: Option<String>,
    /// Child mode (internal): the workload to run.
    #[arg(long, hide = true)]
    child_workload: Option<String>,
    /// Child mode (internal): the unit in microseconds.
    #[arg(long, hide = true)]
    unit_us: Option<u64>,
}

/// One planned row.
struct Row {
    workload: Workload,
    variant: Variant,
    cpus_asked: usize,
    cpus: Vec<usize>,
    workers: usize,
}

/// A row and what its child measured.
struct Measured {
    row: Row,
    report: ChildReport,
    ideal: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match (&args.child_variant, &args.child_workload) {
        (Some(variant), Some(workload)) => child(&args, variant, workload),
        _ => parent(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn child(args: &Args, variant: &str, workload: &str) -> Result<(), String> {
    let variant = Variant::from_name(variant).ok_or("unknown variant")?;
    let workload = workload_from_name(workload).ok_or("unknown workload")?;
    let unit = Duration::from_micros(args.unit_us.unwrap_or(args.unit_ms * 1000));
    let report = lesson_child::run_here(workload, variant, unit, args.computes)?;
    print!("{}", report.to_lines());
    Ok(())
}

fn cpu_counts(spec: &str, nproc: usize) -> Result<Vec<usize>, String> {
    let mut counts: Vec<usize> = if spec == "all" {
        [1, 2, 4].into_iter().chain(1..=nproc).collect()
    } else {
        (spec.split(','))
            .map(|c| {
                c.trim()
                    .parse()
                    .map_err(|_| format!("--cpus: {c:?} is not a count"))
            })
            .collect::<Result<_, _>>()?
    };
    if counts.contains(&0) {
        return Err("--cpus: 0 CPUs cannot run anything".into());
    }
    counts.sort_unstable();
    counts.dedup();
    Ok(counts)
}

fn plan(counts: &[usize], mine: &[usize]) -> Vec<Row> {
    let on = |n: usize| mine[..n.min(mine.len())].to_vec();
    let mut rows = Vec::new();
    for workload in Workload::ALL {
        for variant in [Variant::Lazy, Variant::Serial] {
            rows.push(Row {
                workload,
                variant,
                cpus_asked: 1,
                cpus: on(1),
                workers: 1,
            });
        }
        for &n in counts {
            rows.push(Row {
                workload,
                variant: Variant::Delayed,
                cpus_asked: n,
                cpus: on(n),
                workers: n,
            });
        }
    }
    rows
}

fn ideal(row: &Row, unit: Duration) -> Duration {
    match row.variant {
        Variant::Lazy => Duration::ZERO,
        Variant::Serial => row.workload.ideal(1, unit),
        // Sleeping tasks need no CPU, so the waves are as wide as the
        // workers, even where there are fewer CPUs.
        Variant::Delayed => row.workload.ideal(row.workers, unit),
    }
}

fn parent(args: &Args) -> Result<(), String> {
    let machine = Machine::describe();
    let mine = allowed_cpus();
    let counts = cpu_counts(&args.cpus, mine.len())?;
    let unit = Duration::from_millis(args.unit_ms);
    let computes = args.computes.max(1);
    let rows = plan(&counts, &mine);

    let expected_ms: Vec<u64> = rows
        .iter()
        .map(|r| (ideal(r, unit).as_millis() as u64 + 5) * computes as u64)
        .collect();
    let bar = ProgressBar::new(expected_ms.iter().sum());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent}% eta {eta} {msg}",
        )
        .map_err(|e| e.to_string())?,
    );
    let mut measured = Vec::new();
    for (row, ms) in rows.into_iter().zip(expected_ms) {
        bar.set_message(format!(
            "{} {} on {} CPU(s)",
            row.workload.name(),
            row.variant.name(),
            row.cpus_asked
        ));
        let report = lesson_child::run_in_child(
            row.workload,
            row.variant,
            &row.cpus,
            row.workers,
            unit,
            computes,
        )?;
        if let Some(r) = report.result {
            if r != row.workload.expected() {
                return Err(format!(
                    "{} computed {r}, expected {}",
                    row.workload.name(),
                    row.workload.expected()
                ));
            }
        }
        let ideal = ideal(&row, unit);
        measured.push(Measured { row, report, ideal });
        bar.inc(ms);
    }
    bar.finish_and_clear();

    let (md_table, csv_table) = tables(&measured, unit);
    let mut md = String::new();
    let _ = writeln!(md, "# The lesson's tables, measured with `delayed`\n");
    md.push_str(&machine.markdown());
    let _ = writeln!(
        md,
        "- task unit: {} ms (the lesson's: 1000 ms); computes per row: {computes} (first = measured, the rest = warm)\n",
        args.unit_ms
    );
    md.push_str(&md_table.markdown());
    md.push_str(NOTES);
    let _ = writeln!(md, "{}", summary(&measured));
    if args.report || args.trace.is_some() {
        md.push_str(&diagnose(args, &measured, &counts, unit)?);
    }
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    std::fs::write(args.out.join("lesson.md"), &md).map_err(|e| e.to_string())?;
    let csv = machine.csv_comment() + &format!("# unit_ms: {}\n", args.unit_ms) + &csv_table.csv();
    std::fs::write(args.out.join("lesson.csv"), csv).map_err(|e| e.to_string())?;
    print!("{md}");
    eprintln!("wrote {}/lesson.md and lesson.csv", args.out.display());
    Ok(())
}

const NOTES: &str = "
- published: the lesson's time (`bench-suite/data/lesson-published.csv`, from the lesson \"Dask Delayed\", ACENET Summer School; tasks of 1 s). Comparable only when the unit is 1000 ms.
- measured: the first run in a fresh child process whose CPU affinity holds that many CPUs (`DELAYED_NUM_WORKERS` = the row's workers): graph build + compute, with the default executor starting inside the compute (the lesson's timing, and Dask's first-compute cost). Lazy: the build alone. Serial: the plain loop.
- ideal: the sleeping tasks in waves as wide as the workers, plus `add` for `delay` (`sum` does not sleep): `Workload::ideal`. Lazy: 0.
- overhead = measured - ideal (it includes the sleeps' own lateness, which the kernel adds to every `sleep`). warm: median of the later runs in the same process, each on a fresh graph.
";

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn tables(measured: &[Measured], unit: Duration) -> (Table, Table) {
    let headers = [
        "workload",
        "variant",
        "CPUs",
        "workers",
        "published s",
        "measured s",
        "ideal s",
        "overhead ms",
        "warm s",
        "warm overhead ms",
        "result",
        "note",
    ];
    let mut md = Table::new(headers);
    let mut csv = Table::new(headers);
    for m in measured {
        let first = m.report.walls[0];
        let warm = (m.report.walls.len() > 1).then(|| {
            let rest: Vec<f64> = m.report.walls[1..].iter().map(|&d| secs(d)).collect();
            median(&rest)
        });
        let published = (unit == Duration::from_secs(1))
            .then(|| {
                published::seconds(
                    m.row.workload.name(),
                    m.row.variant.name(),
                    m.row.cpus_asked,
                )
            })
            .flatten();
        let overhead_ms = (secs(first) - secs(m.ideal)) * 1e3;
        let warm_overhead_ms = warm.map(|w| (w - secs(m.ideal)) * 1e3);
        let note = if m.row.cpus.len() < m.row.cpus_asked {
            format!(
                "{} workers on {} CPUs ({}): the machine has {}",
                m.row.workers,
                m.row.cpus.len(),
                cpu_list(&m.report.cpus),
                m.row.cpus.len()
            )
        } else {
            format!("CPUs {}", cpu_list(&m.report.cpus))
        };
        let result = m.report.result.map_or("-".into(), |r| r.to_string());
        let common = |t: &mut Table, digits_s: usize, digits_ms: usize| {
            t.push([
                m.row.workload.name().to_string(),
                m.row.variant.name().to_string(),
                m.row.cpus_asked.to_string(),
                m.report.workers.to_string(),
                cell(published, digits_s),
                cell(Some(secs(first)), digits_s),
                cell(Some(secs(m.ideal)), digits_s),
                cell(Some(overhead_ms), digits_ms),
                cell(warm, digits_s),
                cell(warm_overhead_ms, digits_ms),
                result.clone(),
                note.clone(),
            ])
        };
        common(&mut md, 6, 3);
        common(&mut csv, 9, 6);
    }
    (md, csv)
}

/// The target check: overhead under 1 ms per compute, first and warm.
fn summary(measured: &[Measured]) -> String {
    let delayed: Vec<&Measured> = measured
        .iter()
        .filter(|m| m.row.variant == Variant::Delayed)
        .collect();
    let worst = |f: &dyn Fn(&Measured) -> Option<f64>| {
        delayed
            .iter()
            .filter_map(|m| f(m).map(|v| (v, m)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(v, m)| {
                format!(
                    "{v:.3} ms ({} on {} CPUs)",
                    m.row.workload.name(),
                    m.row.cpus_asked
                )
            })
            .unwrap_or_else(|| "-".into())
    };
    let first = worst(&|m| Some((secs(m.report.walls[0]) - secs(m.ideal)) * 1e3));
    let warm = worst(&|m| {
        let rest: Vec<f64> = m.report.walls.get(1..)?.iter().map(|&d| secs(d)).collect();
        (!rest.is_empty()).then(|| (median(&rest) - secs(m.ideal)) * 1e3)
    });
    let serial = measured
        .iter()
        .filter(|m| m.row.variant == Variant::Serial)
        .map(|m| {
            format!(
                "{} {:.3} ms",
                m.row.workload.name(),
                (secs(m.report.walls[0]) - secs(m.ideal)) * 1e3
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "Largest delayed overhead: first compute {first}; warm {warm}. Target: under 1 ms per compute.\n\n\
         For scale, the serial loop's own lateness over its ideal (sleeps waking late, no scheduler at all): {serial}.\n"
    )
}

/// `--report` and `--trace`: one profiled run of each program, in this
/// process, on the most workers asked for; its efficiency report, its what-if
/// table for the counts asked for, and the prediction beside each measured
/// row.
fn diagnose(
    args: &Args,
    measured: &[Measured],
    counts: &[usize],
    unit: Duration,
) -> Result<String, String> {
    let workers = counts.iter().copied().max().unwrap_or(1);
    let executor = delayed::Executor::builder()
        .workers(workers)
        .build()
        .map_err(|e| e.to_string())?;
    let options = delayed::ComputeOptions::new()
        .executor(&executor)
        .profile(true);
    let mut md = format!(
        "\n## Diagnostics: one profiled run per program on {workers} workers\n\n\
         predicted: the profiled run's task times list-scheduled on the row's workers \
         (`Profile::what_if`); diff = (measured - predicted) / measured.\n"
    );
    for workload in Workload::ALL {
        let g = delayed::Graph::new();
        let out = workload
            .build(&g, unit)
            .compute_with(&options)
            .map_err(|e| e.to_string())?;
        let profile = out.profile.ok_or("no profile")?;
        if let Some(path) = &args.trace {
            let path = with_name(path, workload.name());
            profile.write_trace(&path).map_err(|e| e.to_string())?;
            eprintln!("wrote {}", path.display());
        }
        let what_if = profile.what_if(counts);
        let _ = write!(
            md,
            "\n### {}\n\n```text\n{}\n\n{what_if}\n```\n\n",
            workload.name(),
            profile.efficiency()
        );
        let mut table = Table::new(["workers", "measured s", "predicted s", "diff %"]);
        for m in measured
            .iter()
            .filter(|m| m.row.workload == workload && m.row.variant == Variant::Delayed)
        {
            let first = secs(m.report.walls[0]);
            let predicted = what_if.predicted(m.row.workers).map(secs);
            table.push([
                m.row.workers.to_string(),
                cell(Some(first), 6),
                cell(predicted, 6),
                cell(predicted.map(|p| (first - p) / first * 100.0), 3),
            ]);
        }
        md.push_str(&table.markdown());
    }
    Ok(md)
}

/// `dir/stem.ext` as `dir/stem-name.ext`.
fn with_name(path: &std::path::Path, name: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or("trace".into(), |s| s.to_string_lossy());
    let file = match path.extension() {
        Some(ext) => format!("{stem}-{name}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{name}"),
    };
    path.with_file_name(file)
}
