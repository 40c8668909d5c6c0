//! `Inbox`: the receives a rank keeps posted during a run, so that a
//! message arriving finds a receive waiting for it.
//!
//! One receive of up to `SMALL_MAX` bytes, from any rank and with any tag,
//! waits on the run's communicator for the next message. When it
//! completes, the next is posted at once, into a second buffer (the two
//! take turns: one holds the message being read, the other waits for the
//! next). A poll then tests one request (`MPI_Test`), and MPI's progress
//! engine copies an arriving message straight into the buffer. Probing for
//! it instead (`MPI_Improbe`, then `MPI_Mrecv`), as the exchange did
//! before, set up a request for every probe, queued the arrived message as
//! unexpected, and copied it a second time: on 2 ranks x 1 worker, Task
//! Bench's stencil_1d spent about 1.2 µs per step between sending its
//! value and finding the other rank's, and 0.8 µs with the posted receive
//! (a scratch trace, 3 alternated pairs).
//!
//! A value larger than `SMALL_MAX` is announced by a `LARGE` message (its
//! size); the inbox then posts a receive of that size from the announcing
//! rank on the payload communicator, where the value follows, and hands it
//! out when it completes. Receives from one rank with one tag match its
//! sends in order, so each announced value lands in the receive posted for
//! it.
//!
//! Every message on the run's communicator is counted per source (a large
//! value with its announcement, once), as the sends are (`Sends::sent`):
//! after a failure, the ranks compare the counts and drain what was not
//! read (`compute.rs`).

use std::collections::VecDeque;
use std::mem::MaybeUninit;

use mpi::ffi;
use mpi::point_to_point::Status;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::Equivalence;

use super::comm::{Incoming, LARGE, SMALL_MAX, VALUE};
use super::run_buffers::RunBuffers;

/// The posted receives of one run, and what the last one received.
pub(crate) struct Inbox {
    /// The receive waiting on the run's communicator, and its buffer (of
    /// capacity `SMALL_MAX`); `None` before the first poll and after
    /// `close`.
    posted: Option<(ffi::MPI_Request, Vec<u8>)>,
    /// The last message handed out (`bytes`).
    current: Vec<u8>,
    /// Receives of announced large values, oldest first: their source,
    /// request and buffer.
    large: VecDeque<(usize, ffi::MPI_Request, Vec<u8>)>,
    /// Messages received on the run's communicator, per source rank.
    received: Vec<u64>,
    /// Where receive buffers come from and go back to (`run_buffers.rs`).
    buffers: RunBuffers,
}

// SAFETY: an `MPI_Request` is a handle. During a run the inbox is used by
// the one thread that holds the driver's mutex and the wire (a worker's
// idle poll or the computing thread, `driver.rs`), afterwards by the
// computing thread; MPI is initialised with at least
// `MPI_THREAD_SERIALIZED`.
unsafe impl Send for Inbox {}

impl Inbox {
    /// An inbox for a job of `ranks` ranks, whose receive buffers come
    /// from `buffers` (an earlier compute's, `RunBuffers`); nothing is
    /// posted until the first `try_next`.
    pub(crate) fn new(ranks: usize, mut buffers: RunBuffers) -> Inbox {
        Inbox {
            posted: None,
            current: buffers.receive(),
            large: VecDeque::new(),
            received: vec![0; ranks],
            buffers,
        }
    }

    /// The next message that has arrived, if one has: its bytes are
    /// `bytes()` until the next call. A large value comes with its source
    /// and the tag `VALUE`; its announcement is handled here (counted, and
    /// a receive posted for the value), never handed out.
    ///
    /// Call it only while holding the wire (only its holder calls MPI).
    pub(crate) fn try_next(
        &mut self,
        comm: &SimpleCommunicator,
        payloads: &SimpleCommunicator,
    ) -> Option<Incoming> {
        if let Some(source) = self.large_done() {
            return Some(Incoming { source, tag: VALUE });
        }
        loop {
            let request = match &mut self.posted {
                Some((request, _)) => request,
                None => {
                    let buffer = self.buffers.receive();
                    &mut self.posted.insert(post_small(comm, buffer)).0
                }
            };
            let status = test(request)?;
            let (_, filled) = self.posted.take().expect("tested above");
            // SAFETY: the buffer's receive completed with `status`.
            let filled = unsafe { received(filled, &status) };
            // The buffer the caller read the last message from waits for
            // the next one (the first time, a kept or new one:
            // `RunBuffers`; after a large value, that value's buffer,
            // grown to a receive's size if it is smaller).
            let mut spare = std::mem::replace(&mut self.current, filled);
            spare.clear();
            spare.reserve(SMALL_MAX);
            self.posted = Some(post_small(comm, spare));
            let source = status.source_rank() as usize;
            self.received[source] += 1;
            if status.tag() != LARGE {
                return Some(Incoming {
                    source,
                    tag: status.tag(),
                });
            }
            self.expect_large(payloads, source);
        }
    }

    /// The bytes of the message `try_next` returned last, taken out so
    /// that the caller can read them while it uses what holds the inbox;
    /// `put_back` returns the buffer, which the next message but one is
    /// received into (without it, that receive allocates a new one).
    pub(crate) fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.current)
    }

    /// Returns the buffer `take_bytes` took.
    pub(crate) fn put_back(&mut self, bytes: Vec<u8>) {
        self.current = bytes;
    }

    /// Ends the inbox's receives once the run is over: the posted one is
    /// cancelled (or, if a message completed it first, that message is
    /// counted and dropped: nothing reads it any more), the announced
    /// values are waited for. Returns the messages received from each rank.
    /// Gives back the receive buffers too, for the next compute's inbox.
    pub(crate) fn close(mut self, payloads: &SimpleCommunicator) -> (Vec<u64>, RunBuffers) {
        self.finish(Some(payloads));
        let current = std::mem::take(&mut self.current);
        self.buffers.keep_receive(current);
        let buffers = std::mem::take(&mut self.buffers);
        (std::mem::take(&mut self.received), buffers)
    }

    /// `close`; without `payloads` (a drop without `close`, which only a
    /// panic inside the driver makes), a value announced to the cancelled
    /// receive is not received (its buffer is not ours to wait for).
    fn finish(&mut self, payloads: Option<&SimpleCommunicator>) {
        if let Some((mut request, mut buffer)) = self.posted.take() {
            let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
            let mut cancelled = 0;
            // SAFETY: our active receive; once `MPI_Wait` returns, MPI is
            // done with the request and the buffer, and the status is
            // written.
            unsafe {
                ffi::MPI_Cancel(&mut request);
                ffi::MPI_Wait(&mut request, status.as_mut_ptr());
                ffi::MPI_Test_cancelled(status.as_ptr(), &mut cancelled);
            }
            if cancelled == 0 {
                // SAFETY: the receive completed, so MPI wrote the status.
                let status = Status::from_raw(unsafe { status.assume_init() });
                let source = status.source_rank() as usize;
                self.received[source] += 1;
                if let (LARGE, Some(payloads)) = (status.tag(), payloads) {
                    // SAFETY: the buffer's receive completed with `status`.
                    let announced = unsafe { received(buffer, &status) };
                    buffer = std::mem::replace(&mut self.current, announced);
                    self.expect_large(payloads, source);
                }
            }
            // MPI is done with it: the next compute's.
            self.buffers.keep_receive(buffer);
        }
        for (_, mut request, buffer) in self.large.drain(..) {
            // SAFETY: an active receive of ours: MPI is done with the
            // buffer once the wait returns; the sender started the send
            // with the announcement, so it completes.
            unsafe { ffi::MPI_Wait(&mut request, ffi::RSMPI_STATUS_IGNORE) };
            drop(buffer);
        }
    }

    /// `current` is a `LARGE` announcement from `source`: posts the
    /// receive of the value it announces.
    fn expect_large(&mut self, payloads: &SimpleCommunicator, source: usize) {
        let size = match <[u8; 8]>::try_from(&self.current[..]) {
            Ok(size) => u64::from_le_bytes(size) as usize,
            // Not from a rank of ours: nothing can be received for it.
            Err(_) => return,
        };
        // Room for `size` bytes, below 2 GiB: the sender checked.
        let mut buffer = Vec::with_capacity(size);
        // SAFETY: `large` owns the buffer beside its request until the
        // request completes (`large_done`, `finish`).
        let request = unsafe { post(payloads, &mut buffer, source as i32, VALUE) };
        self.large.push_back((source, request, buffer));
    }

    /// The source of the oldest announced value, if its receive has
    /// completed: its bytes are `current` now.
    fn large_done(&mut self) -> Option<usize> {
        let (_, request, _) = self.large.front_mut()?;
        let status = test(request)?;
        let (source, _, filled) = self.large.pop_front().expect("the front");
        // SAFETY: the buffer's receive completed with `status`.
        self.current = unsafe { received(filled, &status) };
        Some(source)
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // A posted receive must not outlive its buffer.
        self.finish(None);
    }
}

/// The status of `request`, one of our active receives, if it completed.
fn test(request: &mut ffi::MPI_Request) -> Option<Status> {
    let mut done = 0;
    let mut status = MaybeUninit::<ffi::MPI_Status>::uninit();
    // SAFETY: `request` is an active receive of ours; MPI writes the status
    // when it reports the receive complete.
    unsafe { ffi::MPI_Test(request, &mut done, status.as_mut_ptr()) };
    // SAFETY: read only when the receive completed, so MPI wrote it.
    (done != 0).then(|| Status::from_raw(unsafe { status.assume_init() }))
}

/// `buffer`, holding the message its receive got, as its length says.
///
/// # Safety
/// `buffer` is the buffer of a receive that completed with `status`: MPI
/// wrote the message's `count` bytes (at most the size of the receive, the
/// buffer's capacity) into it.
unsafe fn received(mut buffer: Vec<u8>, status: &Status) -> Vec<u8> {
    // SAFETY: the caller's contract.
    unsafe { buffer.set_len(status.count(u8::equivalent_datatype()) as usize) };
    buffer
}

/// Posts the receive of the next message from any rank, with any tag, on
/// `comm`, into `buffer` (of capacity `SMALL_MAX`, empty).
fn post_small(comm: &SimpleCommunicator, mut buffer: Vec<u8>) -> (ffi::MPI_Request, Vec<u8>) {
    debug_assert!(buffer.is_empty() && buffer.capacity() >= SMALL_MAX);
    // SAFETY: the inbox owns the buffer beside its request until the
    // request completes or is cancelled (`try_next`, `finish`).
    let request = unsafe { post(comm, &mut buffer, ffi::RSMPI_ANY_SOURCE, ffi::RSMPI_ANY_TAG) };
    (request, buffer)
}

/// Posts a receive of up to `buffer`'s capacity (below 2 GiB) from
/// `source` with `tag` on `comm`, into `buffer`.
///
/// # Safety
/// `buffer` (its heap allocation: the `Vec` may move) stays alive and
/// unread until the request completes or is cancelled and waited for.
unsafe fn post(
    comm: &SimpleCommunicator,
    buffer: &mut Vec<u8>,
    source: i32,
    tag: i32,
) -> ffi::MPI_Request {
    // SAFETY: `RSMPI_REQUEST_NULL` is a valid request value to start from.
    let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
    // SAFETY: the buffer has room for its capacity, which MPI may write;
    // the caller keeps it alive and unread until the request is over.
    unsafe {
        ffi::MPI_Irecv(
            buffer.as_mut_ptr().cast(),
            buffer.capacity() as i32,
            u8::equivalent_datatype().as_raw(),
            source,
            tag,
            comm.as_raw(),
            &mut request,
        );
    }
    request
}
