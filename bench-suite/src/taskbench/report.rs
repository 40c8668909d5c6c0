//! From raw sweep rows to `metg.md`, `metg.csv` and `metg.svg`: METG(50 %)
//! per pattern x system x configuration, and the issue's three targets
//! checked against the measured values (so that every number in the README
//! is one this printed).

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::metg::{metg, Metg, Point};
use super::pattern::Pattern;
use super::plot::{metg_svg, Bar};
use super::sample::{config_name, Sample};

/// A system in one configuration: a column of the table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    system: String,
    ranks: usize,
    workers: usize,
    cores: usize,
}

impl Column {
    fn label(&self) -> String {
        if self.system == "dask" {
            // Dask's "ranks" are worker processes, one thread each.
            let over = if self.ranks > self.cores {
                ", oversub."
            } else {
                ""
            };
            return format!("dask {} procs x 1 thread{over}", self.ranks);
        }
        let config = config_name(self.ranks, self.workers, self.cores)
            .replace(" ranks", "r")
            .replace(" rank", "r")
            .replace(" workers", "w")
            .replace(" worker", "w")
            .replace(" (oversubscribed)", ", oversub.");
        format!("{} {}", self.system, config)
    }
}

/// The METG of every (column, pattern) swept.
struct Table {
    columns: Vec<Column>,
    cells: BTreeMap<(Column, String), (Metg, bool, usize)>,
}

impl Table {
    fn new(samples: &[Sample]) -> Table {
        let mut sweeps: BTreeMap<(Column, String), Vec<&Sample>> = BTreeMap::new();
        let mut columns: Vec<Column> = Vec::new();
        for s in samples {
            let column = Column {
                system: s.system.clone(),
                ranks: s.ranks,
                workers: s.workers,
                cores: s.cores,
            };
            if !columns.contains(&column) {
                columns.push(column.clone());
            }
            sweeps
                .entry((column, s.pattern.clone()))
                .or_default()
                .push(s);
        }
        let cells = sweeps
            .into_iter()
            .filter_map(|(key, sweep)| {
                let points: Vec<Point> = sweep
                    .iter()
                    .map(|s| Point {
                        kernel_ns: s.kernel_ns,
                        efficiency: s.efficiency,
                    })
                    .collect();
                let checked = sweep.iter().all(|s| s.checked);
                metg(&points, 0.5).map(|m| (key, (m, checked, points.len())))
            })
            .collect();
        Table { columns, cells }
    }

    fn get(&self, system: &str, ranks: usize, workers: usize, pattern: &str) -> Option<Metg> {
        self.cells
            .iter()
            .find(|((c, p), _)| {
                c.system == system && c.ranks == ranks && c.workers == workers && p == pattern
            })
            .map(|(_, &(m, _, _))| m)
    }

    fn patterns(&self) -> Vec<String> {
        let mut names: Vec<String> = Pattern::ALL.iter().map(|p| p.name().to_string()).collect();
        names.retain(|n| self.cells.keys().any(|(_, p)| p == n));
        names
    }
}

/// Reads `csv` files of sweep rows and writes `metg.md`, `metg.csv` and
/// `metg.svg` into `out`; quotes `dask_noop` (Dask's no-op throughput CSV)
/// in `metg.md`.
///
/// # Errors
/// If a file cannot be read or written, or the plot fails.
pub fn write(csv: &[PathBuf], dask_noop: Option<&Path>, out: &Path) -> Result<(), Box<dyn Error>> {
    let mut samples = Vec::new();
    for path in csv {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        samples.extend(text.lines().filter_map(Sample::parse));
    }
    let table = Table::new(&samples);
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("metg.csv"), metg_csv(&table))?;
    let mut md = String::new();
    let _ = writeln!(md, "# METG(50 %) per pattern, system and configuration\n");
    let _ = writeln!(
        md,
        "Written by `taskbench report` from {}. METG in µs of kernel time (the mean task \
         duration), interpolated between the two sweep points around the 50 % crossing; \
         `≤ x`: the sweep never fell below 50 % of its peak, down to its smallest kernel x. \
         `*`: some run's outputs did not match the sequential reference.\n",
        csv.iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    md.push_str(&markdown_table(&table));
    md.push_str(&targets(&table));
    if let Some(path) = dask_noop {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let _ = writeln!(md, "\n## Dask no-op throughput (`{}`)\n", path.display());
        let _ = writeln!(md, "```\n{}```", text);
    }
    std::fs::write(out.join("metg.md"), md)?;
    let bars: Vec<Bar> = table
        .cells
        .iter()
        .map(|((c, p), (m, _, _))| Bar {
            pattern: p.clone(),
            system: c.label(),
            micros: m.ns() / 1e3,
        })
        .collect();
    let order: Vec<String> = table.columns.iter().map(Column::label).collect();
    metg_svg(
        &out.join("metg.svg"),
        &bars,
        &table.patterns(),
        &order,
        "METG(50%) per pattern and system (µs of kernel time, log scale; lower is better)",
    )?;
    Ok(())
}

fn metg_csv(table: &Table) -> String {
    let mut s = String::from(
        "system,ranks,workers,cores,pattern,metg_ns,bound,peak_efficiency,sweep_points,checked\n",
    );
    for ((c, p), (m, checked, n)) in &table.cells {
        let bound = match m {
            Metg::Crossing { .. } => "crossing",
            Metg::AtMost { .. } => "at_most",
        };
        let _ = writeln!(
            s,
            "{},{},{},{},{p},{:.1},{bound},{:.4},{n},{checked}",
            c.system,
            c.ranks,
            c.workers,
            c.cores,
            m.ns(),
            m.peak()
        );
    }
    s
}

fn markdown_table(table: &Table) -> String {
    let mut s = String::from("| pattern |");
    for c in &table.columns {
        let _ = write!(s, " {} |", c.label());
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(table.columns.len()));
    s.push('\n');
    for p in table.patterns() {
        let _ = write!(s, "| {p} |");
        for c in &table.columns {
            match table.cells.get(&(c.clone(), p.clone())) {
                Some((m, checked, _)) => {
                    let _ = write!(s, " {}{} |", m.micros(), if *checked { "" } else { "*" });
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s.push_str("\nPeak efficiency of each sweep (useful work / (wall × cores)):\n\n| pattern |");
    for c in &table.columns {
        let _ = write!(s, " {} |", c.label());
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(table.columns.len()));
    s.push('\n');
    for p in table.patterns() {
        let _ = write!(s, "| {p} |");
        for c in &table.columns {
            match table.cells.get(&(c.clone(), p.clone())) {
                Some((m, _, _)) => {
                    let _ = write!(s, " {:.2} |", m.peak());
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s
}

/// The issue's three targets, each as a table of measured ratios.
fn targets(table: &Table) -> String {
    let mut s = String::from("\n## Targets\n\n");
    let fmt_ratio = |a: Metg, b: Metg| {
        let bound = matches!(a, Metg::AtMost { .. }) || matches!(b, Metg::AtMost { .. });
        format!(
            "{:.2}{}",
            a.ns() / b.ns(),
            if bound { " (a bound is involved)" } else { "" }
        )
    };
    s.push_str(
        "1. `delayed-mpi` METG over the hand-written MPI floor's, same ranks (target: ≤ 2):\n\n\
         | pattern | ranks | delayed-mpi µs | mpi µs | ratio | met |\n|---|---:|---:|---:|---:|---|\n",
    );
    for p in table.patterns() {
        for ranks in [2, 4] {
            if let (Some(d), Some(m)) = (
                table.get("delayed-mpi", ranks, 1, &p),
                table.get("mpi", ranks, 1, &p),
            ) {
                let met = d.ns() <= 2.0 * m.ns();
                let _ = writeln!(
                    s,
                    "| {p} | {ranks} | {} | {} | {} | {} |",
                    d.micros(),
                    m.micros(),
                    fmt_ratio(d, m),
                    if met { "yes" } else { "no" }
                );
            }
        }
    }
    s.push_str(
        "\n2. Dask's stencil_1d METG over `delayed-mpi`'s, same worker count (target: ≥ 100):\n\n\
         | Dask workers | delayed-mpi config | dask µs | delayed-mpi µs | ratio | met |\n\
         |---:|---|---:|---:|---:|---|\n",
    );
    for (n, ranks, workers) in [(2, 2, 1), (2, 1, 2), (4, 4, 1)] {
        if let (Some(k), Some(d)) = (
            table.get("dask", n, 1, "stencil_1d"),
            table.get("delayed-mpi", ranks, workers, "stencil_1d"),
        ) {
            let _ = writeln!(
                s,
                "| {n} | {}r x {}w | {} | {} | {} | {} |",
                ranks,
                workers,
                k.micros(),
                d.micros(),
                fmt_ratio(k, d),
                if k.ns() >= 100.0 * d.ns() {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    s.push_str(
        "\n3. On one node, `delayed-mpi` against the single-node executor (`delayed`, 1 rank x \
         2 workers) plus the cross-rank cost, taken as the MPI floor's METG on 2 ranks \
         (target: delayed-mpi ≤ delayed + mpi):\n\n\
         | pattern | delayed-mpi config | delayed-mpi µs | delayed µs | mpi 2r µs | sum µs | met |\n\
         |---|---|---:|---:|---:|---:|---|\n",
    );
    for p in table.patterns() {
        for (ranks, workers) in [(1, 2), (2, 1)] {
            if let (Some(d), Some(l), Some(m)) = (
                table.get("delayed-mpi", ranks, workers, &p),
                table.get("delayed", 1, 2, &p),
                table.get("mpi", 2, 1, &p),
            ) {
                let sum = l.ns() + m.ns();
                let _ = writeln!(
                    s,
                    "| {p} | {ranks}r x {workers}w | {} | {} | {} | {:.1} | {} |",
                    d.micros(),
                    l.micros(),
                    m.micros(),
                    sum / 1e3,
                    if d.ns() <= sum { "yes" } else { "no" }
                );
            }
        }
    }
    s
}
