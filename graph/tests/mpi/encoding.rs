//! The `unencodable` case: a value read on another rank whose `Serialize`
//! fails, or panics, while values before it crossed ranks in spare buffers
//! (`graph/src/mpi/spares.rs`). Every rank gets the task's failure, and the
//! job and its buffers stay usable.
//!
//! The `undecodable` case: values whose `Deserialize` fails, or panics, on
//! the rank that reads them, and a result whose `Serialize` panics on the
//! rank that owns it. Each is an error with the value's own message, never
//! a panic or a hang, and the job goes on.

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

/// Read back only if even (written as the number it holds); reading
/// `PANICS` panics.
#[derive(Serialize, Deserialize)]
#[serde(try_from = "u32")]
struct Even(u32);

const PANICS: u32 = 13;

impl TryFrom<u32> for Even {
    type Error = String;

    fn try_from(n: u32) -> Result<Even, String> {
        if n == PANICS {
            panic!("cannot read {n}");
        }
        if n % 2 == 1 {
            return Err(format!("{n} is odd"));
        }
        Ok(Even(n))
    }
}

pub(crate) fn undecodable(cluster: &Cluster, g: &Graph) -> Outcome {
    let (me, last) = (cluster.rank(), cluster.size() - 1);
    let even = "mpi::encoding::Even";
    // Read by a task on another rank: every rank gets the reader's error.
    for (n, why) in [
        (7, format!("cannot decode a {even}: its `Deserialize` implementation returned an error: 7 is odd")),
        (PANICS, format!("decoding a {even} panicked: cannot read {PANICS}")),
    ] {
        let odd = g.on(0).delayed("odd", move || Even(n));
        let read = g.on(last).task("read", &odd, |e| e.0 + 1);
        let text = read.compute().err().ok_or("the compute succeeded")?.to_string();
        let expected = format!(
            "the output of task 'odd' (key {}) from rank 0: {why}",
            odd.key()
        );
        ensure(text.contains(&expected), || format!("rank {me}: {text}"))?;
    }
    // A result that its owner cannot send: every rank gets the error.
    let bad = g.on(0).delayed("bad", || Unencodable { panics: true });
    let text = bad
        .compute()
        .err()
        .ok_or("the compute succeeded")?
        .to_string();
    ensure(
        text.contains(&format!(
            "the result of task 'bad' (key {}) cannot leave rank 0: encoding a \
             mpi::encoding::Unencodable panicked: no bytes for this value",
            bad.key()
        )),
        || format!("rank {me}: {text}"),
    )?;
    // A result the other ranks cannot read: they get the error, its owner
    // the value.
    let odd = g.on(0).delayed("odd", || Even(PANICS));
    match (me, odd.compute()) {
        (0, Ok(Even(n))) if n == PANICS => {}
        (0, other) => return Err(format!("rank 0: {:?}", other.map(|e| e.0))),
        (_, Ok(_)) => return Err(format!("rank {me} read the result")),
        (_, Err(e)) => ensure(
            e.to_string().contains(&format!(
                "the result of task 'odd' (key {}) from rank 0: decoding a {even} panicked: \
                 cannot read {PANICS}",
                odd.key()
            )),
            || format!("rank {me}: {e}"),
        )?,
    }
    // The job goes on.
    let x = g.on(last).delayed("x", || Even(2));
    let y = g.on(0).task("y", &x, |e| e.0 * 21);
    let got = y.compute().map_err(|e| e.to_string())?;
    ensure(got == 42, || format!("rank {me}: got {got}"))
}
