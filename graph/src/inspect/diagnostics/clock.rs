//! The recorder's clock: the CPU's time-stamp counter where it is invariant
//! (x86-64; about 14 ns a read on the 2-CPU test machine, against about
//! 40 ns for `Instant::now`), else `Instant`. Ticks are turned into
//! nanoseconds once, after the run, by a line through two (tick, `Instant`)
//! pairs taken at its start and end.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A clock started at one moment; [`Clock::now`] gives ticks since then
/// plus one (zero is kept for "no time recorded").
pub(crate) struct Clock {
    base: Instant,
    /// The counter at `base`, when the counter is used.
    tsc: Option<u64>,
}

/// Turns ticks of a [`Clock`] into nanoseconds since its start.
pub(crate) struct Calibration {
    /// Nanoseconds per tick (1 for an `Instant` clock).
    scale: f64,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn start() -> Clock {
        let tsc = invariant_tsc().then(read_tsc);
        Clock {
            base: Instant::now(),
            tsc,
        }
    }

    /// Ticks since the start, plus one.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        match self.tsc {
            Some(start) => read_tsc().wrapping_sub(start).wrapping_add(1),
            // `as u64`: 584 years of nanoseconds.
            None => self.base.elapsed().as_nanos() as u64 + 1,
        }
    }

    /// The time since the start, and the calibration of the ticks read so far.
    pub(crate) fn stop(&self) -> (Duration, Calibration) {
        let ticks = self.now() - 1;
        let elapsed = self.base.elapsed();
        let scale = match self.tsc {
            Some(_) if ticks > 0 => elapsed.as_nanos() as f64 / ticks as f64,
            _ => 1.0,
        };
        (elapsed, Calibration { scale })
    }
}

impl Calibration {
    /// Nanoseconds since the clock's start of a [`Clock::now`] reading (0
    /// stays 0: nothing recorded).
    #[inline]
    pub(crate) fn nanos(&self, ticks: u64) -> u64 {
        if ticks == 0 {
            return 0;
        }
        ((ticks - 1) as f64 * self.scale) as u64
    }
}

/// Whether the time-stamp counter ticks at a constant rate, in step on every
/// CPU (the "invariant TSC" of x86-64, which Linux then uses as its clock).
fn invariant_tsc() -> bool {
    static INVARIANT: OnceLock<bool> = OnceLock::new();
    *INVARIANT.get_or_init(detect_invariant_tsc)
}

// Not under Miri, which runs no `cpuid` (nor `rdtsc`): the clock then
// falls back as on other CPUs.
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn detect_invariant_tsc() -> bool {
    use std::arch::x86_64::__cpuid;
    // SAFETY: every x86-64 CPU has `cpuid`; leaf 0x8000_0007 is read only
    // if the highest extended leaf says it exists.
    #[allow(unused_unsafe)]
    let (highest, power) = unsafe {
        let highest = __cpuid(0x8000_0000).eax;
        let power = if highest >= 0x8000_0007 {
            __cpuid(0x8000_0007).edx
        } else {
            0
        };
        (highest, power)
    };
    highest >= 0x8000_0007 && power & (1 << 8) != 0
}

#[cfg(any(not(target_arch = "x86_64"), miri))]
fn detect_invariant_tsc() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86-64 CPU and only reads the counter.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn read_tsc() -> u64 {
    unreachable!("the time-stamp counter is only read on x86-64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_become_nanoseconds_in_order() {
        let clock = Clock::start();
        let a = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        let b = clock.now();
        let (elapsed, calibration) = clock.stop();
        assert!(a >= 1 && b > a);
        assert_eq!(calibration.nanos(0), 0);
        let (a, b) = (calibration.nanos(a), calibration.nanos(b));
        assert!(a < 1_000_000, "read at the start: {a} ns");
        let slept = Duration::from_nanos(b - a);
        assert!(slept >= Duration::from_millis(19), "{slept:?}");
        assert!(Duration::from_nanos(b) <= elapsed + Duration::from_millis(1));
    }
}
