//! The property test: random DAGs give the same results across ranks as on
//! one node. Every rank draws the same graphs (a seeded generator, as SPMD
//! programs do); each is built twice, on a `delayed::mpi::Graph` and on a
//! `delayed::Graph`, computed with random targets, hints and worker counts,
//! and compared, then grown and computed again. `rebuilt_dags` builds each
//! graph twice, the second time with other values in its closures: the
//! second compute runs on the plan the process kept from the first
//! (`src/mpi/reuse.rs`).

use delayed::mpi::{Cluster, Graph};
use delayed::{Delayed, Executor};

/// SplitMix64: the same numbers on every rank for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One graph built on both sides: numbers and strings.
struct Twin {
    /// Added to every value the closures capture.
    salt: u64,
    mpi: Graph,
    one: delayed::Graph,
    numbers: Vec<(delayed::mpi::Delayed<u64>, Delayed<u64>)>,
    texts: Vec<(delayed::mpi::Delayed<String>, Delayed<String>)>,
}

impl Twin {
    /// Adds `count` random nodes.
    fn grow(&mut self, rng: &mut Rng, count: usize, ranks: usize) {
        for _ in 0..count {
            let k = rng.next() % 1000 + self.salt;
            let hint = (rng.below(5) == 0).then(|| rng.below(ranks));
            let on = hint.map(|r| self.mpi.on(r));
            match (rng.below(4), self.numbers.is_empty(), self.texts.is_empty()) {
                (0, _, _) | (_, true, _) => {
                    let m = match on {
                        Some(p) => p.delayed("leaf", move || k),
                        None => self.mpi.delayed("leaf", move || k),
                    };
                    self.numbers.push((m, self.one.delayed("leaf", move || k)));
                }
                (1, false, _) | (2, false, true) => {
                    let picks: Vec<usize> = (0..1 + rng.below(4))
                        .map(|_| rng.below(self.numbers.len()))
                        .collect();
                    let ms: Vec<_> = picks.iter().map(|&i| self.numbers[i].0.clone()).collect();
                    let os: Vec<_> = picks.iter().map(|&i| self.numbers[i].1.clone()).collect();
                    let f = move |v: delayed::Values<'_, u64>| {
                        v.into_iter()
                            .fold(k, |a, x| a.wrapping_mul(31).wrapping_add(*x))
                    };
                    let m = match on {
                        Some(p) => p.task("mix", &ms, f),
                        None => self.mpi.task("mix", &ms, f),
                    };
                    self.numbers.push((m, self.one.task("mix", &os, f)));
                }
                (2, false, false) | (3, false, true) => {
                    let i = rng.below(self.numbers.len());
                    let f = move |n: &u64| format!("{k}:{n}");
                    let m = match on {
                        Some(p) => p.task("text", &self.numbers[i].0, f),
                        None => self.mpi.task("text", &self.numbers[i].0, f),
                    };
                    self.texts
                        .push((m, self.one.task("text", &self.numbers[i].1, f)));
                }
                _ => {
                    let (i, j) = (rng.below(self.numbers.len()), rng.below(self.texts.len()));
                    let f = move |(n, t): (&u64, &String)| n + t.len() as u64 + k;
                    let m = match on {
                        Some(p) => p.task("len", (&self.numbers[i].0, &self.texts[j].0), f),
                        None => self
                            .mpi
                            .task("len", (&self.numbers[i].0, &self.texts[j].0), f),
                    };
                    let o = self
                        .one
                        .task("len", (&self.numbers[i].1, &self.texts[j].1), f);
                    self.numbers.push((m, o));
                }
            }
        }
    }

    /// An empty twin whose closures capture values raised by `salt`.
    fn new(cluster: &Cluster, salt: u64) -> Twin {
        Twin {
            salt,
            mpi: cluster.graph(),
            one: delayed::Graph::new(),
            numbers: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// Random picks among the numbers, increasing, without repeats.
    fn picks(&self, rng: &mut Rng) -> Vec<usize> {
        let mut picks: Vec<usize> = (0..1 + rng.below(6))
            .map(|_| rng.below(self.numbers.len()))
            .collect();
        picks.sort_unstable();
        picks.dedup();
        picks
    }

    /// Computes the numbers `picks` on both sides and compares.
    fn check_numbers(&self, picks: &[usize], executor: &Executor) -> Result<(), String> {
        let ms: Vec<_> = picks.iter().map(|&i| self.numbers[i].0.clone()).collect();
        let os: Vec<_> = picks.iter().map(|&i| self.numbers[i].1.clone()).collect();
        let got = delayed::mpi::compute_on(&ms, executor).map_err(|e| e.to_string())?;
        let want = delayed::compute_sync(&os).map_err(|e| e.to_string())?;
        if got != want {
            return Err(format!("numbers {picks:?}: {got:?} against {want:?}"));
        }
        Ok(())
    }

    /// Computes random targets on both sides and compares.
    fn check(&self, rng: &mut Rng, executor: &Executor) -> Result<(), String> {
        let picks = self.picks(rng);
        self.check_numbers(&picks, executor)?;
        if let Some((m, o)) = &self.texts.last() {
            let got = m.compute_on(executor).map_err(|e| e.to_string())?;
            let want = o.compute_sync().map_err(|e| e.to_string())?;
            if got != want {
                return Err(format!("text: {got:?} against {want:?}"));
            }
        }
        Ok(())
    }
}

/// An executor of 1 and one of 2 workers.
fn executors() -> Result<[Executor; 2], String> {
    Ok([
        Executor::builder()
            .workers(1)
            .pin(false)
            .build()
            .map_err(|e| e.to_string())?,
        Executor::builder()
            .workers(2)
            .pin(false)
            .build()
            .map_err(|e| e.to_string())?,
    ])
}

pub(crate) fn random_dags(cluster: &Cluster) -> Result<(), String> {
    let executors = executors()?;
    let mut rng = Rng(0x5eed);
    for round in 0..40 {
        let mut twin = Twin::new(cluster, 0);
        let size = 1 + rng.below(if round % 8 == 0 { 400 } else { 40 });
        twin.grow(&mut rng, size, cluster.size());
        let executor = &executors[rng.below(2)];
        twin.check(&mut rng, executor)
            .map_err(|e| format!("round {round}: {e}"))?;
        // Grown after a compute, then computed again.
        let more = 1 + rng.below(20);
        twin.grow(&mut rng, more, cluster.size());
        twin.check(&mut rng, executor)
            .map_err(|e| format!("round {round}, grown: {e}"))?;
    }
    Ok(())
}

/// Each random graph built twice, the second time with other values
/// captured: the same shape, so the second compute takes the first one's
/// placement, plan and routes, and must still get the second graph's
/// results. A third build adds one more task, a target if it is a number
/// (then the compute has another shape, planned afresh).
pub(crate) fn rebuilt_dags(cluster: &Cluster) -> Result<(), String> {
    let executors = executors()?;
    let mut rng = Rng(0xb0b);
    for round in 0..30 {
        let shape = rng.next();
        let size = 1 + rng.below(if round % 6 == 0 { 300 } else { 40 });
        let executor = &executors[rng.below(2)];
        let mut picks = None;
        for salt in [0, 7, 1000] {
            let mut twin = Twin::new(cluster, salt);
            let mut building = Rng(shape);
            twin.grow(&mut building, size, cluster.size());
            let mut picks = picks.get_or_insert_with(|| twin.picks(&mut rng)).clone();
            if salt == 1000 {
                // One more task, a target if it is a number: another shape.
                let before = twin.numbers.len();
                twin.grow(&mut building, 1, cluster.size());
                if twin.numbers.len() > before {
                    picks.push(before);
                }
            }
            twin.check_numbers(&picks, executor)
                .map_err(|e| format!("round {round}, salt {salt}: {e}"))?;
        }
    }
    Ok(())
}
