//! METG(50 %): Task Bench's minimum effective task granularity.
//!
//! A sweep runs the same graph with smaller and smaller kernels. Each point
//! has an efficiency (useful work over wall time x cores, see
//! [`Sample::efficiency_of`](super::sample::Sample::efficiency_of)); the
//! peak is the sweep's highest efficiency (usually its largest kernel).
//! Going down from the peak, METG(50 %) is the kernel time at which the
//! efficiency first falls below half the peak, interpolated between the
//! two sweep points around the crossing: linear in efficiency against the
//! logarithm of the kernel time.
//!
//! The task granularity here is the kernel's own time (the mean task
//! duration, as the issue defines it). Task Bench's paper plots wall time x
//! cores / tasks instead, which at the crossing is the kernel time over the
//! efficiency: about twice ours when the peak is near 1.

/// One point of a sweep: kernel time and efficiency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// One kernel's time alone, in ns.
    pub kernel_ns: f64,
    /// Useful work over wall time x cores.
    pub efficiency: f64,
}

/// The METG of one sweep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metg {
    /// The crossing, interpolated, in ns of kernel time.
    Crossing {
        /// METG(50 %) in ns.
        ns: f64,
        /// The sweep's peak efficiency.
        peak: f64,
    },
    /// The sweep never fell below half the peak: METG is at most its
    /// smallest kernel.
    AtMost {
        /// The smallest kernel swept, in ns.
        ns: f64,
        /// The sweep's peak efficiency.
        peak: f64,
    },
}

impl Metg {
    /// The value in ns (an upper bound for [`Metg::AtMost`]).
    pub fn ns(&self) -> f64 {
        match *self {
            Metg::Crossing { ns, .. } | Metg::AtMost { ns, .. } => ns,
        }
    }

    /// The sweep's peak efficiency.
    pub fn peak(&self) -> f64 {
        match *self {
            Metg::Crossing { peak, .. } | Metg::AtMost { peak, .. } => peak,
        }
    }

    /// The value in µs, for a table: `12.3`, or `≤ 0.05`.
    ///
    /// ```
    /// use delayed_bench::taskbench::metg::Metg;
    /// assert_eq!(Metg::Crossing { ns: 12_345.0, peak: 1.0 }.micros(), "12.3");
    /// assert_eq!(Metg::AtMost { ns: 50.0, peak: 1.0 }.micros(), "≤ 0.050");
    /// ```
    pub fn micros(&self) -> String {
        let us = self.ns() / 1e3;
        let text = if us >= 100.0 {
            format!("{us:.0}")
        } else if us >= 1.0 {
            format!("{us:.1}")
        } else {
            format!("{us:.3}")
        };
        match self {
            Metg::Crossing { .. } => text,
            Metg::AtMost { .. } => format!("≤ {text}"),
        }
    }
}

/// METG(`fraction` x peak) of a sweep, in any order; `None` if it is empty.
///
/// ```
/// use delayed_bench::taskbench::metg::{metg, Metg, Point};
/// let sweep = [(1000.0, 0.9), (100.0, 0.6), (10.0, 0.3)]
///     .map(|(kernel_ns, efficiency)| Point { kernel_ns, efficiency });
/// let Some(Metg::Crossing { ns, peak }) = metg(&sweep, 0.5) else { panic!() };
/// assert_eq!(peak, 0.9);
/// // 0.45 lies halfway from 0.6 to 0.3: halfway from 100 to 10 in log.
/// assert!((ns - 100.0 / 10f64.sqrt()).abs() < 1e-6);
/// ```
pub fn metg(sweep: &[Point], fraction: f64) -> Option<Metg> {
    let mut points = sweep.to_vec();
    points.sort_by(|a, b| b.kernel_ns.total_cmp(&a.kernel_ns));
    let (top, peak) = points
        .iter()
        .enumerate()
        .map(|(k, p)| (k, p.efficiency))
        .fold(None, |best: Option<(usize, f64)>, (k, e)| match best {
            Some((_, b)) if b >= e => best,
            _ => Some((k, e)),
        })?;
    let threshold = fraction * peak;
    for k in top + 1..points.len() {
        let (above, below) = (points[k - 1], points[k]);
        if below.efficiency < threshold {
            let share = (above.efficiency - threshold) / (above.efficiency - below.efficiency);
            let log = above.kernel_ns.ln() + share * (below.kernel_ns.ln() - above.kernel_ns.ln());
            return Some(Metg::Crossing {
                ns: log.exp(),
                peak,
            });
        }
    }
    Some(Metg::AtMost {
        ns: points.last()?.kernel_ns,
        peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(points: &[(f64, f64)]) -> Vec<Point> {
        points
            .iter()
            .map(|&(kernel_ns, efficiency)| Point {
                kernel_ns,
                efficiency,
            })
            .collect()
    }

    #[test]
    fn no_crossing_is_an_upper_bound() {
        let m = metg(&sweep(&[(100.0, 0.9), (10.0, 0.8)]), 0.5).unwrap();
        assert_eq!(
            m,
            Metg::AtMost {
                ns: 10.0,
                peak: 0.9
            }
        );
    }

    #[test]
    fn the_peak_may_be_below_the_largest_kernel() {
        let m = metg(&sweep(&[(100.0, 0.5), (10.0, 0.9), (1.0, 0.3)]), 0.5).unwrap();
        let Metg::Crossing { ns, peak } = m else {
            panic!("{m:?}")
        };
        assert_eq!(peak, 0.9);
        // 0.45 is three quarters of the way from 0.9 to 0.3.
        assert!((ns - 10f64.powf(0.25)).abs() < 1e-9);
    }

    #[test]
    fn empty_sweep() {
        assert_eq!(metg(&[], 0.5), None);
    }
}
