//! The random faulty DAGs of the `soak` binary (issue 7): a seeded plan of
//! one graph (inputs per task, injected faults, targets) and its sequential
//! reference evaluation, which the soak checks every compute against.

/// xorshift64.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What a task does besides adding up its inputs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    None,
    PanicFirst,
    PanicAfterReading,
    Err,
    /// Computes a small graph of its own on the same executor.
    Nested,
}

impl Fault {
    pub fn fails(self) -> bool {
        matches!(
            self,
            Fault::PanicFirst | Fault::PanicAfterReading | Fault::Err
        )
    }
}

pub const INJECTED: &str = "soak: injected";

/// The plan of one graph: inputs per task (earlier tasks, so ids are a
/// topological order), faults, targets.
pub struct Spec {
    pub seed: u64,
    /// `inputs[offsets[k]..offsets[k + 1]]` are task `k`'s inputs.
    pub offsets: Vec<u32>,
    pub inputs: Vec<u32>,
    pub faults: Vec<Fault>,
    pub targets: Vec<u32>,
}

impl Spec {
    pub fn random(seed: u64, n: usize, fail: bool, nested_per_mille: u64) -> Spec {
        let mut rng = Rng::new(seed);
        let mut offsets = Vec::with_capacity(n + 1);
        let mut inputs = Vec::with_capacity(n * 2);
        let mut faults = vec![Fault::None; n];
        offsets.push(0);
        for (k, fault) in faults.iter_mut().enumerate() {
            if k > 0 && rng.below(8) != 0 {
                for _ in 0..1 + rng.below(3) {
                    let i = if rng.below(4) != 0 {
                        k - 1 - rng.below(k.min(16) as u64) as usize
                    } else {
                        rng.below(k as u64) as usize
                    };
                    inputs.push(i as u32);
                }
            }
            offsets.push(inputs.len() as u32);
            if n <= 10_000 && rng.below(1000) < nested_per_mille {
                *fault = Fault::Nested;
            }
        }
        if fail {
            for _ in 0..1 + rng.below(3) {
                let k = rng.below(n as u64) as usize;
                faults[k] = match rng.below(3) {
                    0 => Fault::PanicFirst,
                    1 => Fault::PanicAfterReading,
                    _ => Fault::Err,
                };
            }
        }
        let mut targets = vec![n as u32 - 1];
        for _ in 0..rng.below(4) {
            let t = rng.below(n as u64) as u32;
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        Spec {
            seed,
            offsets,
            inputs,
            faults,
            targets,
        }
    }

    pub fn len(&self) -> usize {
        self.faults.len()
    }

    /// Whether the graph has no task (never, for a planned graph).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn inputs(&self, k: usize) -> &[u32] {
        &self.inputs[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }

    pub fn salt(seed: u64, k: usize) -> u64 {
        (seed ^ (k as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)).rotate_left(17)
    }

    /// The sequential reference: per task, `Some(value)` or `None` (fails,
    /// or an input does); the ancestors of the targets.
    pub fn reference(&self) -> (Vec<Option<u64>>, Vec<bool>) {
        let n = self.len();
        let mut values: Vec<Option<u64>> = Vec::with_capacity(n);
        for k in 0..n {
            let mut sum = Some(Spec::salt(self.seed, k));
            for &i in self.inputs(k) {
                sum = match (sum, values[i as usize]) {
                    (Some(s), Some(v)) => Some(s.wrapping_add(v)),
                    _ => None,
                };
            }
            let value = match self.faults[k] {
                f if f.fails() => None,
                Fault::Nested => sum.map(|s| s.wrapping_add(nested_expected(self.seed, k))),
                _ => sum,
            };
            values.push(value);
        }
        let mut needed = vec![false; n];
        for &t in &self.targets {
            needed[t as usize] = true;
        }
        for k in (0..n).rev() {
            if needed[k] {
                for &i in self.inputs(k) {
                    needed[i as usize] = true;
                }
            }
        }
        (values, needed)
    }
}

/// The nested graph of task `k` of the graph of `seed`: a chain-and-fan of
/// 1 to 64 tasks without faults; its result.
pub fn nested_expected(seed: u64, k: usize) -> u64 {
    let n = nested_len(seed, k);
    let mut last = 0u64;
    let mut sum = 0u64;
    for j in 0..n {
        last = last.wrapping_add(j as u64 * 3 + 1);
        sum = sum.wrapping_add(last);
    }
    sum
}

/// The number of tasks of task `k`'s nested graph (1 to 64).
pub fn nested_len(seed: u64, k: usize) -> usize {
    1 + (Spec::salt(seed, k) % 64) as usize
}
