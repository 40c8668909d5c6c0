//! CPU affinity through `sched_{get,set}affinity`: which CPUs this process
//! may use, and starting a child process restricted to some of them, as
//! `srun --cpus-per-task=N` or `taskset` would.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// The CPUs in the calling thread's affinity mask, ascending.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `cpu_set_t` is plain bits, valid when zeroed.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `cpu_set_t` of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        return (0..n).collect();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `set` is initialised and `cpu` is below `CPU_SETSIZE`.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Makes `command`'s process start with its affinity restricted to `cpus`
/// (set between fork and exec, so the child's first instruction already
/// runs there).
pub fn restrict(command: &mut Command, cpus: &[usize]) {
    // SAFETY: `cpu_set_t` is plain bits, valid when zeroed.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: `set` is initialised; CPU_SET ignores numbers past its size.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    let hook = move || {
        // SAFETY: `set` is a valid `cpu_set_t`; sched_setaffinity is a plain
        // system call, safe between fork and exec (no allocation, no locks).
        let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    // SAFETY: the hook only makes one async-signal-safe system call.
    unsafe { command.pre_exec(hook) };
}

/// The formatting the examples use for a CPU list: `0,1,2`.
pub fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restricted_child_sees_only_its_cpus() {
        let mine = allowed_cpus();
        assert!(!mine.is_empty());
        let first = [mine[0]];
        let mut cmd = Command::new("grep");
        cmd.args(["Cpus_allowed_list", "/proc/self/status"]);
        restrict(&mut cmd, &first);
        let out = cmd.output().expect("grep runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.split(':').nth(1).map(str::trim),
            Some(mine[0].to_string().as_str())
        );
    }
}
