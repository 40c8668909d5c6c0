//! The `unencodable` case: a value read on another rank whose `Serialize`
//! fails, or panics, while values before it crossed ranks in spare buffers
//! (`graph/src/mpi/spares.rs`). Every rank gets the task's failure, and the
//! job and its buffers stay usable.

use delayed::mpi::{Cluster, Graph};
use serde::ser::Error as _;
use serde::{Deserialize, Serialize, Serializer};

use crate::cases::{ensure, Outcome};

/// A value that cannot be encoded: its `Serialize` returns an error, or
/// panics.
#[derive(Deserialize)]
struct Unencodable {
    panics: bool,
}

impl Serialize for Unencodable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        if self.panics {
            panic!("no bytes for this value");
        }
        Err(S::Error::custom("no bytes for this value"))
    }
}

pub(crate) fn unencodable(cluster: &Cluster, g: &Graph) -> Outcome {
    let last = cluster.size() - 1;
    for panics in [false, true] {
        // Small values first, sent from rank 0 before the bad one: their
        // buffers become spares, which the bad value's encoding then uses.
        let small: Vec<_> = (0..64u64)
            .map(|i| g.on(0).delayed("small", move || i))
            .collect();
        let sum = g
            .on(last)
            .task("sum", &small, |v| v.into_iter().sum::<u64>());
        let bad = g
            .on(0)
            .task("bad", &small[0], move |_| Unencodable { panics });
        let read = g
            .on(last)
            .task("read", (&bad, &sum), |(u, s)| u.panics as u64 + s);
        let err = read.compute().err().ok_or("the compute succeeded")?;
        let text = err.to_string();
        ensure(
            err.task_name() == Some("bad") && err.rank() == Some(0),
            || format!("panics: {panics}, error: {text}"),
        )?;
        let expected = if panics {
            "encoding a mpi::encoding::Unencodable panicked: no bytes for this value"
        } else {
            "cannot encode a mpi::encoding::Unencodable: its `Serialize` implementation returned \
             an error: no bytes for this value"
        };
        ensure(
            text.contains(&format!(
                "cannot send its output to rank {last}: {expected}"
            )),
            || format!("panics: {panics}, message: {text}"),
        )?;
    }
    // The job, and the spares of its next compute, work as before.
    let xs: Vec<_> = (0..64u64)
        .map(|i| g.on(0).delayed("x", move || i * 3))
        .collect();
    let total = g
        .on(last)
        .task("total", &xs, |v| v.into_iter().sum::<u64>());
    let got = total.compute().map_err(|e| e.to_string())?;
    ensure(got == 3 * 63 * 64 / 2, || format!("total {got}"))
}
