//! Task Bench's dependence patterns, written from their published
//! definitions (the SC'20 paper and `core/core.cc` of
//! StanfordLegion/task-bench).
//!
//! A task graph is a grid of `width` points by `steps` timesteps. Point
//! `(t, i)` reads the outputs of some points of step `t - 1`
//! ([`Pattern::deps`]); step 0 reads nothing. Every pattern but `tree` has
//! all `width` points active at every step.

use std::fmt;
use std::str::FromStr;

/// The radix of `nearest` and `spread` (the issue asks for radix 5).
pub const RADIX: usize = 5;

/// One of the six patterns measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    /// `i - 1, i, i + 1`, within bounds.
    Stencil1d,
    /// The [`RADIX`] points centred on `i`: `i - r/2 ..= i + (r-1)/2`,
    /// within bounds.
    Nearest,
    /// Step `t` has `min(width, 2^t)` active points; `(t, i)` reads `i / 2`.
    Tree,
    /// A butterfly: `i` and `i XOR 2^((t - 1) mod log2(width))`.
    Fft,
    /// [`RADIX`] points spread over the width: `i + k * width / r (+ d for
    /// k > 0) mod width`, `k` in `0..r`, where `d = (t - 1) mod
    /// max(1, width / r)` shifts the spread step by step; `r` is clamped to
    /// the width and repeated points are read once.
    Spread,
    /// Every point of step `t - 1`.
    AllToAll,
}

impl Pattern {
    /// The six, in the order of the tables.
    pub const ALL: [Pattern; 6] = [
        Pattern::Stencil1d,
        Pattern::Nearest,
        Pattern::Tree,
        Pattern::Fft,
        Pattern::Spread,
        Pattern::AllToAll,
    ];

    /// Task Bench's name of the pattern.
    ///
    /// ```
    /// use delayed_bench::taskbench::pattern::Pattern;
    /// assert_eq!(Pattern::AllToAll.name(), "all_to_all");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Stencil1d => "stencil_1d",
            Pattern::Nearest => "nearest",
            Pattern::Tree => "tree",
            Pattern::Fft => "fft",
            Pattern::Spread => "spread",
            Pattern::AllToAll => "all_to_all",
        }
    }

    /// The points active at step `t`: `0..active(t, width)`.
    ///
    /// ```
    /// use delayed_bench::taskbench::pattern::Pattern;
    /// assert_eq!(Pattern::Tree.active(0, 4), 1);
    /// assert_eq!(Pattern::Tree.active(1, 4), 2);
    /// assert_eq!(Pattern::Tree.active(5, 4), 4);
    /// assert_eq!(Pattern::Fft.active(0, 4), 4);
    /// ```
    pub fn active(self, t: usize, width: usize) -> usize {
        match self {
            Pattern::Tree => width.min(1usize << t.min(62)),
            _ => width,
        }
    }

    /// The points of step `t - 1` that point `(t, i)` reads, ascending and
    /// without repeats; empty at `t = 0`.
    ///
    /// ```
    /// use delayed_bench::taskbench::pattern::Pattern;
    /// assert_eq!(Pattern::Stencil1d.deps(3, 0, 4), vec![0, 1]);
    /// assert_eq!(Pattern::Nearest.deps(3, 3, 8), vec![1, 2, 3, 4, 5]);
    /// assert_eq!(Pattern::Fft.deps(2, 1, 4), vec![1, 3]);
    /// assert_eq!(Pattern::Tree.deps(2, 3, 4), vec![1]);
    /// assert!(Pattern::AllToAll.deps(0, 1, 4).is_empty());
    /// ```
    pub fn deps(self, t: usize, i: usize, width: usize) -> Vec<usize> {
        let mut deps = Vec::new();
        self.deps_into(t, i, width, &mut deps);
        deps
    }

    /// [`deps`](Self::deps) written into `deps` (cleared first), so that a
    /// loop over every point allocates nothing per point.
    ///
    /// ```
    /// use delayed_bench::taskbench::pattern::Pattern;
    /// let mut deps = vec![7];
    /// Pattern::Stencil1d.deps_into(3, 2, 4, &mut deps);
    /// assert_eq!(deps, [1, 2, 3]);
    /// ```
    pub fn deps_into(self, t: usize, i: usize, width: usize, deps: &mut Vec<usize>) {
        deps.clear();
        if t == 0 {
            return;
        }
        // Each pattern writes its points ascending and without repeats
        // where that is free (a sort and a retain for every point were a
        // quarter of the instructions of a multi-rank build, whose every
        // rank adds every point: `callgrind`).
        match self {
            Pattern::Stencil1d => deps.extend(i.saturating_sub(1)..=(i + 1).min(width - 1)),
            Pattern::Nearest => {
                deps.extend(i.saturating_sub(RADIX / 2)..=(i + (RADIX - 1) / 2).min(width - 1))
            }
            Pattern::Tree => {
                // Point i of step t is active, so i / 2 of step t - 1 is too.
                debug_assert!(i / 2 < self.active(t - 1, width));
                deps.push(i / 2);
            }
            Pattern::Fft => {
                let sets = width.trailing_zeros().max(1) as usize;
                let partner = i ^ (1 << ((t - 1) % sets));
                match partner {
                    p if p >= width => deps.push(i),
                    p if p < i => deps.extend([p, i]),
                    p => deps.extend([i, p]),
                }
            }
            Pattern::Spread => {
                let r = RADIX.min(width);
                let shift = (t - 1) % (width / r).max(1);
                deps.extend(
                    (0..r).map(|k| (i + k * width / r + if k > 0 { shift } else { 0 }) % width),
                );
                deps.sort_unstable();
                deps.dedup();
            }
            Pattern::AllToAll => deps.extend(0..width),
        }
    }

    /// Tasks in a graph of `width` by `steps`.
    ///
    /// ```
    /// use delayed_bench::taskbench::pattern::Pattern;
    /// assert_eq!(Pattern::Stencil1d.tasks(4, 10), 40);
    /// assert_eq!(Pattern::Tree.tasks(4, 4), 1 + 2 + 4 + 4);
    /// ```
    pub fn tasks(self, width: usize, steps: usize) -> usize {
        (0..steps).map(|t| self.active(t, width)).sum()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Pattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Pattern, String> {
        Pattern::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "no pattern {s:?}: one of stencil_1d, nearest, tree, fft, spread, all_to_all"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dependency_is_a_point_of_the_step_before() {
        for p in Pattern::ALL {
            for width in [1, 2, 3, 4, 8, 16] {
                for t in 1..12 {
                    for i in 0..p.active(t, width) {
                        let deps = p.deps(t, i, width);
                        assert!(!deps.is_empty(), "{p} {width} {t} {i}");
                        assert!(deps.iter().all(|&j| j < p.active(t - 1, width)));
                        assert!(deps.windows(2).all(|w| w[0] < w[1]));
                    }
                }
            }
        }
    }

    #[test]
    fn spread_and_fft_at_larger_widths() {
        assert_eq!(Pattern::Spread.deps(1, 0, 10), vec![0, 2, 4, 6, 8]);
        assert_eq!(Pattern::Spread.deps(2, 0, 10), vec![0, 3, 5, 7, 9]);
        assert_eq!(Pattern::Fft.deps(1, 5, 8), vec![4, 5]);
        assert_eq!(Pattern::Fft.deps(3, 5, 8), vec![1, 5]);
        assert_eq!(Pattern::Fft.deps(4, 5, 8), vec![4, 5]);
    }

    #[test]
    fn names_round_trip() {
        for p in Pattern::ALL {
            assert_eq!(p.name().parse::<Pattern>(), Ok(p));
        }
    }
}
