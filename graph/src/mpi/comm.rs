//! The MPI calls of a multi-node compute: non-blocking sends of owned
//! buffers, probing receives of messages of any size, and the collectives
//! at a compute's start and end. Everything here runs on the computing
//! thread, one compute at a time per process (`Cluster::exclusive`).

use std::collections::VecDeque;
use std::sync::Arc;

use mpi::collective::CommunicatorCollectives;
use mpi::datatype::PartitionMut;
use mpi::ffi;
use mpi::point_to_point::{Message, Source, Status};
use mpi::raw::{AsRaw, AsRawMut};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{Equivalence, Root};

use super::backoff::Backoff;
use super::spares::Spares;
use crate::Error;

/// Tag of a message carrying a task's output: the node id (4 bytes,
/// little-endian), then the value (`Codec`).
pub(crate) const VALUE: i32 = 1;
/// Tag of a message saying that a task failed on its sender: cancel.
pub(crate) const FAIL: i32 = 2;
/// Tag of a message carrying the small outputs that waited for one rank
/// (one or more): each as a `VALUE`'s bytes behind its length (4 bytes,
/// little-endian).
pub(crate) const BATCH: i32 = 3;
/// Tag of a message announcing a value larger than `SMALL_MAX`: its size
/// (8 bytes, little-endian). The value's bytes, as a `VALUE`'s, follow
/// from the same rank on the payload communicator (`Cluster::payloads`),
/// tag `VALUE`, where a receive is posted for them (`inbox.rs`).
pub(crate) const LARGE: i32 = 4;

/// The largest message on a run's communicator: the size of the receive
/// each rank keeps posted there for any rank's next message (`inbox.rs`).
/// A larger value is announced (`LARGE`) and sent on the payload
/// communicator; batches stay below it (`wire.rs`).
pub(crate) const SMALL_MAX: usize = 64 << 10;

/// A received message (its bytes: in the buffer it was received into).
pub(crate) struct Incoming {
    pub(crate) source: usize,
    pub(crate) tag: i32,
}

/// The next message from `source` on `comm`, waiting for it, received into
/// `bytes`; after a `LARGE` announcement, the value it announces, from the
/// payload communicator `payloads` (then `bytes` holds the value, and the
/// tag is `LARGE`). Used only after a failed run, to drain what was sent
/// and not read.
pub(crate) fn receive_from(
    comm: &SimpleCommunicator,
    payloads: &SimpleCommunicator,
    source: usize,
    bytes: &mut Vec<u8>,
) -> Incoming {
    let (message, status) = comm.process_at_rank(source as i32).matched_probe();
    let incoming = receive(message, status, bytes);
    if incoming.tag == LARGE {
        let (message, status) = payloads.process_at_rank(source as i32).matched_probe();
        receive(message, status, bytes);
    }
    incoming
}

/// Receives a probed message into `bytes`, resized to its exact size
/// (MPI writes the bytes, nothing zeroes them first).
fn receive(mut message: Message, status: Status, bytes: &mut Vec<u8>) -> Incoming {
    let count = status.count(u8::equivalent_datatype()) as usize;
    bytes.clear();
    bytes.reserve(count);
    // SAFETY: the buffer has room for `count` bytes, the message's size;
    // `message` was matched by the probe and is received once, which resets
    // it to `MPI_MESSAGE_NULL` as its `Drop` expects.
    unsafe {
        ffi::MPI_Mrecv(
            bytes.as_mut_ptr().cast(),
            count as i32,
            u8::equivalent_datatype().as_raw(),
            message.as_raw_mut(),
            ffi::RSMPI_STATUS_IGNORE,
        );
        // MPI wrote all `count` bytes.
        bytes.set_len(count);
    }
    Incoming {
        source: status.source_rank() as usize,
        tag: status.tag(),
    }
}

/// The sends of one compute not known to be complete, oldest first, each
/// with the buffer it reads (shared by the sends of one value to several
/// ranks), how many messages went to each rank, and the buffers of
/// completed sends kept for the next messages (`spares.rs`).
pub(crate) struct Sends {
    pending: VecDeque<(ffi::MPI_Request, Arc<Vec<u8>>)>,
    sent: Vec<u64>,
    pub(crate) spares: Spares,
}

// SAFETY: an `MPI_Request` is a handle. During a run it is used by the one
// thread that holds the driver's mutex (a worker's idle poll or the
// computing thread, `driver.rs`), afterwards by the computing thread; MPI
// is initialised with at least `MPI_THREAD_SERIALIZED`.
unsafe impl Send for Sends {}

impl Sends {
    /// No sends yet, for a job of `ranks` ranks, with `spares` (an
    /// earlier compute's, `Spares::take_all`).
    pub(crate) fn new(ranks: usize, spares: Vec<Arc<Vec<u8>>>) -> Sends {
        Sends {
            pending: VecDeque::new(),
            sent: vec![0; ranks],
            spares: Spares::new(spares),
        }
    }

    /// Starts sending `bytes` to `dest` with `tag` on `comm`; bytes larger
    /// than `SMALL_MAX` as a `LARGE` announcement there and the bytes on
    /// `payloads` (tag `VALUE`). Counted as one message, on `comm`.
    pub(crate) fn send(
        &mut self,
        (comm, payloads): (&SimpleCommunicator, &SimpleCommunicator),
        dest: usize,
        tag: i32,
        bytes: Arc<Vec<u8>>,
    ) -> Result<(), Error> {
        i32::try_from(bytes.len()).map_err(|_| {
            Error::cluster(format!(
                "delayed::mpi: a value of {} bytes is too large to send (MPI counts are 32-bit: \
                 at most 2 GiB per value); split it into several tasks",
                bytes.len()
            ))
        })?;
        if bytes.len() > SMALL_MAX {
            debug_assert_eq!(tag, VALUE, "only single values grow that large");
            let size = Arc::new((bytes.len() as u64).to_le_bytes().to_vec());
            self.start(comm, dest, LARGE, size);
            self.start(payloads, dest, VALUE, bytes);
        } else {
            self.start(comm, dest, tag, bytes);
        }
        self.sent[dest] += 1;
        Ok(())
    }

    /// `MPI_Isend` of `bytes` (at most `i32::MAX`: `send` checks).
    fn start(&mut self, comm: &SimpleCommunicator, dest: usize, tag: i32, bytes: Arc<Vec<u8>>) {
        // SAFETY: `RSMPI_REQUEST_NULL` is a valid request value to start from.
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: the buffer stays alive and unwritten until the request
        // completes: `pending` holds an `Arc` of it until then (`poll`,
        // `wait_all`).
        unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast(),
                bytes.len() as i32,
                u8::equivalent_datatype().as_raw(),
                dest as i32,
                tag,
                comm.as_raw(),
                &mut request,
            );
        }
        self.pending.push_back((request, bytes));
    }

    /// Frees the buffers of the oldest sends that have completed (at most
    /// `limit` looked at), or keeps them as spares; whether any had.
    pub(crate) fn poll(&mut self, limit: usize) -> bool {
        let mut any = false;
        for _ in 0..limit {
            let Some((request, _)) = self.pending.front_mut() else {
                break;
            };
            let mut done = 0;
            // SAFETY: `request` is an active request of ours.
            unsafe { ffi::MPI_Test(request, &mut done, ffi::RSMPI_STATUS_IGNORE) };
            if done == 0 {
                break;
            }
            if let Some((_, bytes)) = self.pending.pop_front() {
                self.spares.give(bytes);
            }
            any = true;
        }
        any
    }

    /// Waits for every send to complete, then frees the buffers (or keeps
    /// them as spares).
    pub(crate) fn wait_all(&mut self) {
        for (mut request, bytes) in self.pending.drain(..) {
            // SAFETY: an active request of ours; its buffer is alive.
            unsafe { ffi::MPI_Wait(&mut request, ffi::RSMPI_STATUS_IGNORE) };
            self.spares.give(bytes);
        }
    }

    /// How many messages went to each rank on the run's communicator (a
    /// large value and its announcement count once).
    pub(crate) fn sent(&self) -> &[u64] {
        &self.sent
    }

    /// How many sends may still be in flight.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether sends are still in flight.
    pub(crate) fn in_flight(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// Every rank's `bytes`, in rank order (a collective): the sizes first
/// (waiting as `all_gather_u64` does), then the bytes, unless every rank
/// has none.
pub(crate) fn all_gather_bytes(comm: &SimpleCommunicator, bytes: &[u8]) -> Vec<Vec<u8>> {
    let sizes = all_gather_u64(comm, bytes.len() as u64);
    if sizes.iter().all(|&size| size == 0) {
        return vec![Vec::new(); sizes.len()];
    }
    let counts: Vec<i32> = sizes.iter().map(|&size| size as i32).collect();
    let mut displs = Vec::with_capacity(counts.len());
    let mut total = 0i32;
    for &count in &counts {
        displs.push(total);
        total += count;
    }
    let mut all = vec![0u8; total as usize];
    {
        let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
        comm.all_gather_varcount_into(bytes, &mut partition);
    }
    counts
        .iter()
        .zip(&displs)
        .map(|(&count, &displ)| all[displ as usize..(displ + count) as usize].to_vec())
        .collect()
}

/// `bytes` of rank `root`, on every rank (a collective): `bytes` is read on
/// `root` and ignored elsewhere.
pub(crate) fn broadcast_bytes(comm: &SimpleCommunicator, root: usize, bytes: Vec<u8>) -> Vec<u8> {
    let process = comm.process_at_rank(root as i32);
    let mut len = bytes.len() as u64;
    process.broadcast_into(&mut len);
    let mut bytes = if comm.rank() as usize == root {
        bytes
    } else {
        vec![0u8; len as usize]
    };
    if len > 0 {
        process.broadcast_into(&mut bytes[..]);
    }
    bytes
}

/// How many messages each rank sent to this one, from what each sent to
/// each (a collective).
pub(crate) fn sent_to_me(comm: &SimpleCommunicator, sent: &[u64]) -> Vec<u64> {
    let mut received = vec![0u64; sent.len()];
    comm.all_to_all_into(sent, &mut received[..]);
    received
}

/// A value on every rank, gathered (a collective), waiting for the other
/// ranks as the exchange does (`Backoff`) rather than inside MPI, whose
/// blocking collectives keep a core busy however long a rank is late.
pub(crate) fn all_gather_u64(comm: &SimpleCommunicator, value: u64) -> Vec<u64> {
    let mut all = vec![0u64; comm.size() as usize];
    // SAFETY: `RSMPI_REQUEST_NULL` is a valid request value to start from.
    let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
    // SAFETY: `value` and `all` (one u64 per rank) outlive the request,
    // which is waited for below before either is read or dropped.
    unsafe {
        ffi::MPI_Iallgather(
            std::ptr::from_ref(&value).cast(),
            1,
            u64::equivalent_datatype().as_raw(),
            all.as_mut_ptr().cast(),
            1,
            u64::equivalent_datatype().as_raw(),
            comm.as_raw(),
            &mut request,
        );
    }
    let mut backoff = Backoff::spinning();
    loop {
        let mut done = 0;
        // SAFETY: an active request of ours.
        unsafe { ffi::MPI_Test(&mut request, &mut done, ffi::RSMPI_STATUS_IGNORE) };
        if done != 0 {
            return all;
        }
        backoff.idle();
    }
}
