// SPDX-License-Identifier: GPL-2.0

//! I/O statistics: lock-free counters on the I/O path, consistent snapshots and resets.
//!
//! Units: requests (bios as dmp maps them) and bytes. A reset never zeroes the counters;
//! it records a baseline under a lock that readers also take, so a reader sees either
//! everything before the reset or everything after it, never a count from one side and
//! a byte total from the other.

use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
};

/// What a bio counts as.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IoClass {
    /// A read with data.
    Read = 0,
    /// A write with data (including FUA writes and writes that carried a flush).
    Write = 1,
    /// A flush with no data (an empty `REQ_PREFLUSH` write).
    Flush = 2,
    /// A discard or a secure erase.
    Discard = 3,
    /// A write-zeroes request.
    WriteZeroes = 4,
}

const CLASSES: usize = 5;

/// Monotonic request and byte counters, one pair per class.
///
/// The storage is private so that it can become per-CPU without changing users.
struct Counters {
    reqs: [Atomic<u64>; CLASSES],
    bytes: [Atomic<u64>; CLASSES],
}

impl Counters {
    const fn new() -> Self {
        Self {
            reqs: [const { Atomic::new(0) }; CLASSES],
            bytes: [const { Atomic::new(0) }; CLASSES],
        }
    }

    #[inline]
    fn add(&self, class: IoClass, bytes: u64) {
        let i = class as usize;
        self.bytes[i].add(bytes, Relaxed);
        self.reqs[i].add(1, Relaxed);
    }

    fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::ZERO;
        for i in 0..CLASSES {
            s.reqs[i] = self.reqs[i].load(Relaxed);
            s.bytes[i] = self.bytes[i].load(Relaxed);
        }
        s
    }
}

/// The counters at one moment, or the difference between two moments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Snapshot {
    reqs: [u64; CLASSES],
    bytes: [u64; CLASSES],
}

impl Snapshot {
    /// No requests.
    pub(crate) const ZERO: Self = Self {
        reqs: [0; CLASSES],
        bytes: [0; CLASSES],
    };

    /// What happened since `base`, an earlier snapshot of the same counters.
    pub(crate) fn since(&self, base: &Snapshot) -> Snapshot {
        let mut d = Snapshot::ZERO;
        for i in 0..CLASSES {
            d.reqs[i] = self.reqs[i].saturating_sub(base.reqs[i]);
            d.bytes[i] = self.bytes[i].saturating_sub(base.bytes[i]);
        }
        d
    }

    /// Requests of `class`.
    pub(crate) fn reqs(&self, class: IoClass) -> u64 {
        self.reqs[class as usize]
    }

    /// Bytes of `class`.
    pub(crate) fn bytes(&self, class: IoClass) -> u64 {
        self.bytes[class as usize]
    }

    /// Reads plus writes.
    pub(crate) fn total_reqs(&self) -> u64 {
        self.reqs(IoClass::Read)
            .wrapping_add(self.reqs(IoClass::Write))
    }

    /// Read plus write bytes.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.bytes(IoClass::Read)
            .wrapping_add(self.bytes(IoClass::Write))
    }

    /// The average read size in bytes, 0 with no reads.
    pub(crate) fn avg_read_size(&self) -> u64 {
        average(self.bytes(IoClass::Read), self.reqs(IoClass::Read))
    }

    /// The average write size in bytes, 0 with no writes.
    pub(crate) fn avg_write_size(&self) -> u64 {
        average(self.bytes(IoClass::Write), self.reqs(IoClass::Write))
    }

    /// The average size of reads and writes in bytes, 0 with neither.
    pub(crate) fn avg_size(&self) -> u64 {
        average(self.total_bytes(), self.total_reqs())
    }
}

/// `bytes / reqs` rounded down, 0 when `reqs` is 0.
pub(crate) fn average(bytes: u64, reqs: u64) -> u64 {
    bytes.checked_div(reqs).unwrap_or(0)
}

/// The statistics of one device, or of the whole module.
#[pin_data]
pub(crate) struct Stats {
    counters: Counters,
    #[pin]
    base: Mutex<Snapshot>,
}

impl Stats {
    /// Zeroed statistics.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                counters: Counters::new(),
                base <- new_mutex!(Snapshot::ZERO),
            }),
            GFP_KERNEL,
        )
    }

    /// Counts one request. Lock-free; called on the I/O path.
    #[inline]
    pub(crate) fn account(&self, class: IoClass, bytes: u64) {
        self.counters.add(class, bytes);
    }

    /// The statistics since the last reset.
    pub(crate) fn read(&self) -> Snapshot {
        let base = self.base.lock();
        self.counters.snapshot().since(&base)
    }

    /// Zeroes the statistics as seen by [`Stats::read`].
    pub(crate) fn reset(&self) {
        let mut base = self.base.lock();
        *base = self.counters.snapshot();
    }
}
