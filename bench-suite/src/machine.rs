//! Where and how a result was measured: CPU model, CPU count, kernel,
//! commit, date and command, printed at the head of every results file.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The facts every table and plot carries.
#[derive(Clone, Debug)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// The CPUs this process may run on (what `nproc` prints).
    pub nproc: usize,
    /// The kernel release.
    pub kernel: String,
    /// `git describe --always --dirty` of the working tree.
    pub commit: String,
    /// UTC, ISO 8601, to the second.
    pub date: String,
    /// The command line, program name without its directory.
    pub command: String,
}

impl Machine {
    /// Reads the facts of this machine and process.
    pub fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']))
            })
            .unwrap_or("unknown")
            .to_string();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let commit = Command::new("git")
            .args(["describe", "--always", "--dirty", "--abbrev=10"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mut args = std::env::args();
        let program = args.next().unwrap_or_default();
        let program = program.rsplit('/').next().unwrap_or_default().to_string();
        let command = std::iter::once(program)
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ");
        Machine {
            cpu_model,
            nproc: crate::affinity::allowed_cpus().len(),
            kernel,
            commit,
            date: utc_now(),
            command,
        }
    }

    /// The facts as a Markdown bullet list.
    pub fn markdown(&self) -> String {
        format!(
            "- machine: {} ({} CPUs in this process's affinity mask, `nproc`), Linux {}\n\
             - commit: `{}`\n- date: {}\n- command: `{}`\n",
            self.cpu_model, self.nproc, self.kernel, self.commit, self.date, self.command
        )
    }

    /// The facts as `#`-comment lines for the head of a CSV file.
    pub fn csv_comment(&self) -> String {
        format!(
            "# machine: {} (nproc {}), Linux {}\n# commit: {}\n# date: {}\n# command: {}\n",
            self.cpu_model, self.nproc, self.kernel, self.commit, self.date, self.command
        )
    }
}

/// The worker counts to measure here: 1 and 2, then 4, 8, 16... up to the
/// CPUs this process may use.
pub fn worker_counts() -> Vec<usize> {
    let nproc = crate::affinity::allowed_cpus().len();
    let mut counts = vec![1, 2];
    let mut n = 4;
    while n <= nproc {
        counts.push(n);
        n *= 2;
    }
    counts
}

/// The fraction of all CPUs' time spent idle over `window`, from
/// `/proc/stat`; `None` where it cannot be read.
pub fn idle_fraction(window: Duration) -> Option<f64> {
    fn read() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = (stat.lines().next()?.split_whitespace().skip(1))
            .filter_map(|f| f.parse().ok())
            .collect();
        let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
        Some((idle, fields.iter().take(8).sum()))
    }
    let (idle0, total0) = read()?;
    std::thread::sleep(window);
    let (idle1, total1) = read()?;
    let total = total1.saturating_sub(total0);
    (total > 0).then(|| idle1.saturating_sub(idle0) as f64 / total as f64)
}

/// Waits, up to `patience`, for a quiet moment: a 200 ms window in which the
/// machine's CPUs were at least 90% idle (other processes, such as builds on
/// a shared machine, disturb timings). Returns whether it found one.
pub fn wait_for_quiet(patience: Duration) -> bool {
    let start = Instant::now();
    loop {
        match idle_fraction(Duration::from_millis(200)) {
            None => return false,
            Some(idle) if idle >= 0.9 => return true,
            Some(_) if start.elapsed() >= patience => return false,
            Some(_) => {}
        }
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (y, m, d).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
