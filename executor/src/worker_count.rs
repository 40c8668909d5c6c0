//! How many workers an executor gets when the program does not say.
//!
//! `DELAYED_NUM_WORKERS` if set; otherwise the smallest of the CPUs in the
//! process's affinity mask, `SLURM_CPUS_PER_TASK` and the cgroup CPU quota
//! (`cpu.max`), so that `taskset`, `srun --cpus-per-task` and container
//! limits are all honoured.

use std::path::{Path, PathBuf};

use crate::affinity::process_cpus;
use crate::error::{BuildError, BuildErrorKind, MAX_WORKERS};

/// The environment variable that sets the worker count outright.
pub const NUM_WORKERS_VAR: &str = "DELAYED_NUM_WORKERS";
/// Slurm's per-task CPU count, set inside `srun --cpus-per-task=N`.
pub const SLURM_CPUS_VAR: &str = "SLURM_CPUS_PER_TASK";

/// The default worker count, or why the environment is not usable.
pub(crate) fn default_workers() -> Result<usize, BuildError> {
    if let Some(n) = env_count(NUM_WORKERS_VAR)? {
        return Ok(n);
    }
    let mut n = process_cpus().len().max(1);
    if let Some(slurm) = env_count(SLURM_CPUS_VAR)? {
        n = n.min(slurm);
    }
    if let Some(quota) = cgroup_cpu_quota() {
        n = n.min(quota);
    }
    Ok(n)
}

/// Checks a requested count against the limits.
pub(crate) fn check_count(n: usize, source: &str) -> Result<usize, BuildError> {
    match n {
        0 => Err(BuildError::new(BuildErrorKind::ZeroWorkers)),
        n if n > MAX_WORKERS => Err(BuildError::new(BuildErrorKind::TooManyWorkers {
            requested: n,
            source: source.to_string(),
        })),
        n => Ok(n),
    }
}

/// A positive count from `var`, `None` if unset, an error if malformed or 0.
fn env_count(var: &'static str) -> Result<Option<usize>, BuildError> {
    let Some(raw) = std::env::var_os(var) else {
        return Ok(None);
    };
    let value = raw.to_string_lossy().into_owned();
    let invalid = || {
        BuildError::new(BuildErrorKind::InvalidEnv {
            var,
            value: value.clone(),
        })
    };
    let n: usize = value.trim().parse().map_err(|_| invalid())?;
    if n == 0 {
        return Err(invalid());
    }
    check_count(n, var).map(Some)
}

/// The CPU quota of the process's cgroup (and its ancestors), rounded up,
/// if one is set.
fn cgroup_cpu_quota() -> Option<usize> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut best: Option<usize> = None;
    for line in membership.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let quota = if controllers.is_empty() {
            // cgroup v2: cpu.max is "<quota> <period>" or "max <period>".
            walk_up(Path::new("/sys/fs/cgroup"), path, |dir| {
                let text = std::fs::read_to_string(dir.join("cpu.max")).ok()?;
                let mut it = text.split_whitespace();
                quota_cpus(it.next()?.parse().ok()?, it.next()?.parse().ok()?)
            })
        } else if controllers.split(',').any(|c| c == "cpu") {
            // cgroup v1: cpu.cfs_quota_us is -1 when unlimited.
            walk_up(
                &Path::new("/sys/fs/cgroup").join(controllers),
                path,
                |dir| {
                    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
                    let quota: i64 = read("cpu.cfs_quota_us")?.trim().parse().ok()?;
                    let period: i64 = read("cpu.cfs_period_us")?.trim().parse().ok()?;
                    quota_cpus(u64::try_from(quota).ok()?, u64::try_from(period).ok()?)
                },
            )
        } else {
            None
        };
        best = match (best, quota) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    best
}

fn quota_cpus(quota: u64, period: u64) -> Option<usize> {
    (period > 0).then(|| quota.div_ceil(period).max(1) as usize)
}

/// The smallest quota on the path from the cgroup `path` up to `root`.
fn walk_up(root: &Path, path: &str, read: impl Fn(&Path) -> Option<usize>) -> Option<usize> {
    let mut dir: PathBuf = root.join(path.trim_start_matches('/'));
    let mut best: Option<usize> = None;
    loop {
        if let Some(q) = read(&dir) {
            best = Some(best.map_or(q, |b| b.min(q)));
        }
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            return best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_rounds_up_and_never_reaches_zero() {
        assert_eq!(quota_cpus(150_000, 100_000), Some(2));
        assert_eq!(quota_cpus(200_000, 100_000), Some(2));
        assert_eq!(quota_cpus(1_000, 100_000), Some(1));
        assert_eq!(quota_cpus(1, 0), None);
    }

    #[test]
    fn counts_are_checked() {
        assert!(check_count(0, "x").is_err());
        assert_eq!(check_count(4, "x").unwrap(), 4);
        assert!(check_count(MAX_WORKERS + 1, "x").is_err());
    }
}
