//! The lesson's published timings (`data/lesson-published.csv`, copied from
//! the lesson "Dask Delayed"; see `data/README.md` for its source).

/// The CSV, compiled in.
pub const CSV: &str = include_str!("../data/lesson-published.csv");

/// One timing the lesson prints.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    /// `delay`, `loop` or `loop_flow`.
    pub workload: String,
    /// `lazy`, `serial` or `delayed`.
    pub variant: String,
    /// The `--cpus-per-task` it ran with.
    pub cpus: usize,
    /// The computed value, where the lesson prints one.
    pub result: Option<i64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Every row of the published CSV.
pub fn all() -> Vec<Published> {
    CSV.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1) // header
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 5, "published row {line:?}");
            Published {
                workload: f[0].to_string(),
                variant: f[1].to_string(),
                cpus: f[2].parse().expect("published cpus"),
                result: f[3].parse().ok(),
                seconds: f[4].parse().expect("published seconds"),
            }
        })
        .collect()
}

/// The published seconds for one row, if the lesson prints it.
pub fn seconds(workload: &str, variant: &str, cpus: usize) -> Option<f64> {
    all()
        .into_iter()
        .find(|p| p.workload == workload && p.variant == variant && p.cpus == cpus)
        .map(|p| p.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lesson_rows() {
        assert_eq!(all().len(), 7);
        assert_eq!(seconds("loop", "delayed", 4), Some(2.005645990371704));
        assert_eq!(seconds("loop_flow", "delayed", 1), None);
        assert_eq!(all()[1].result, Some(5));
    }
}
