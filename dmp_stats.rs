// SPDX-License-Identifier: GPL-2.0

//! I/O statistics: per-CPU counters on the I/O path, consistent snapshots and resets.
//!
//! Units: requests (bios as dmp maps them) and bytes.
//!
//! Each request's count and bytes go into the current CPU's shard under that shard's
//! sequence count, with interrupts off ([`PerCpu::with_local`]): the update is never
//! preempted or interrupted halfway and never waits, and a reader's snapshot holds every
//! request whole, its count and its bytes, or neither. Averages computed from a snapshot
//! are therefore exact. A reset does not zero the counters; it records a snapshot as the
//! baseline, under a lock that readers also take, so a reader sees all of a reset or none
//! of it.

use crate::percpu::PerCpu;
use kernel::{
    new_mutex,
    prelude::*,
    processor::cpu_relax,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        barrier::{smp_rmb, smp_wmb},
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

/// One CPU's counters. `seq` is odd while the CPU updates them.
struct Shard {
    seq: Atomic<u32>,
    reqs: [Atomic<u64>; CLASSES],
    bytes: [Atomic<u64>; CLASSES],
}

impl Shard {
    const fn new() -> Self {
        Self {
            seq: Atomic::new(0),
            reqs: [const { Atomic::new(0) }; CLASSES],
            bytes: [const { Atomic::new(0) }; CLASSES],
        }
    }

    /// Adds one request. The caller is the shard's only writer (its CPU, with interrupts
    /// off).
    #[inline]
    fn add(&self, class: IoClass, bytes: u64) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        // Orders the odd `seq` before the counter updates.
        smp_wmb();
        let i = class as usize;
        let (r, b) = (&self.reqs[i], &self.bytes[i]);
        r.store(r.load(Relaxed).wrapping_add(1), Relaxed);
        b.store(b.load(Relaxed).wrapping_add(bytes), Relaxed);
        self.seq.store(s.wrapping_add(2), Release);
    }

    /// A consistent copy of the counters. Waits only while the shard's CPU is inside
    /// [`Shard::add`], which runs with interrupts off and so is never preempted.
    fn read(&self) -> Snapshot {
        loop {
            let s = self.seq.load(Acquire);
            if s & 1 != 0 {
                cpu_relax();
                continue;
            }
            let mut snap = Snapshot::ZERO;
            for i in 0..CLASSES {
                snap.reqs[i] = self.reqs[i].load(Relaxed);
                snap.bytes[i] = self.bytes[i].load(Relaxed);
            }
            smp_rmb();
            if self.seq.load(Relaxed) == s {
                return snap;
            }
        }
    }
}

/// Monotonic request and byte counters, one pair per class, one shard per CPU.
struct Counters {
    shards: PerCpu<Shard>,
}

impl Counters {
    fn new() -> Result<Self> {
        Ok(Self {
            shards: PerCpu::new(Shard::new)?,
        })
    }

    #[inline]
    fn add(&self, class: IoClass, bytes: u64) {
        self.shards.with_local(|shard| shard.add(class, bytes));
    }

    fn snapshot(&self) -> Snapshot {
        self.shards
            .iter()
            .fold(Snapshot::ZERO, |sum, shard| sum.plus(&shard.read()))
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

    fn plus(&self, other: &Snapshot) -> Snapshot {
        let mut d = *self;
        for i in 0..CLASSES {
            d.reqs[i] = d.reqs[i].wrapping_add(other.reqs[i]);
            d.bytes[i] = d.bytes[i].wrapping_add(other.bytes[i]);
        }
        d
    }

    /// What happened since `base`, an earlier snapshot of the same counters. The counters
    /// wrap modulo 2^64, and so does the difference, which is therefore exact.
    pub(crate) fn since(&self, base: &Snapshot) -> Snapshot {
        let mut d = Snapshot::ZERO;
        for i in 0..CLASSES {
            d.reqs[i] = self.reqs[i].wrapping_sub(base.reqs[i]);
            d.bytes[i] = self.bytes[i].wrapping_sub(base.bytes[i]);
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
            try_pin_init!(Self {
                counters: Counters::new()?,
                base <- new_mutex!(Snapshot::ZERO),
            }? Error),
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

#[kunit_tests(dmp_stats)]
mod tests {
    use super::*;

    fn snap(reqs: u64, bytes: u64) -> Snapshot {
        Snapshot {
            reqs: [reqs; CLASSES],
            bytes: [bytes; CLASSES],
        }
    }

    #[test]
    fn averages_round_down_and_never_divide_by_zero() {
        assert_eq!(average(0, 0), 0);
        assert_eq!(average(4096, 0), 0);
        assert_eq!(average(4096, 1), 4096);
        assert_eq!(average(4097, 2), 2048);
        assert_eq!(average(u64::MAX, 1), u64::MAX);
        assert_eq!(Snapshot::ZERO.avg_read_size(), 0);
        assert_eq!(Snapshot::ZERO.avg_write_size(), 0);
        assert_eq!(Snapshot::ZERO.avg_size(), 0);
    }

    #[test]
    fn totals_cover_reads_and_writes_only() {
        let mut s = Snapshot::ZERO;
        s.reqs = [3, 1, 100, 100, 100];
        s.bytes = [3 * 512, 8192, 0, 1 << 30, 1 << 30];
        assert_eq!(s.total_reqs(), 4);
        assert_eq!(s.total_bytes(), 3 * 512 + 8192);
        assert_eq!(s.avg_read_size(), 512);
        assert_eq!(s.avg_write_size(), 8192);
        assert_eq!(s.avg_size(), (3 * 512 + 8192) / 4);
    }

    #[test]
    fn since_is_exact_across_wrap_around() {
        let base = snap(u64::MAX - 1, u64::MAX - 4095);
        // Three more requests of 4 KiB each: both counters wrapped past 2^64.
        let now = base.plus(&snap(3, 3 * 4096));
        assert_eq!(now.reqs(IoClass::Read), 1);
        assert_eq!(now.since(&base), snap(3, 3 * 4096));
        assert_eq!(now.since(&now), Snapshot::ZERO);
        assert_eq!(snap(7, 9).since(&Snapshot::ZERO), snap(7, 9));
    }

    #[test]
    fn plus_sums_each_class() {
        let mut a = Snapshot::ZERO;
        a.reqs = [1, 2, 3, 4, 5];
        a.bytes = [10, 20, 30, 40, 50];
        let b = a.plus(&a);
        assert_eq!(b.reqs, [2, 4, 6, 8, 10]);
        assert_eq!(b.bytes, [20, 40, 60, 80, 100]);
        assert_eq!(Snapshot::ZERO.plus(&a), a);
    }

    #[test]
    fn account_read_and_reset() -> Result {
        let s = Stats::new()?;
        assert_eq!(s.read(), Snapshot::ZERO);
        s.account(IoClass::Read, 4096);
        s.account(IoClass::Read, 8192);
        s.account(IoClass::Write, 512);
        s.account(IoClass::Flush, 0);
        let r = s.read();
        assert_eq!(r.reqs(IoClass::Read), 2);
        assert_eq!(r.bytes(IoClass::Read), 12288);
        assert_eq!(r.reqs(IoClass::Write), 1);
        assert_eq!(r.bytes(IoClass::Write), 512);
        assert_eq!(r.reqs(IoClass::Flush), 1);
        assert_eq!(r.reqs(IoClass::Discard), 0);
        assert_eq!(r.avg_read_size(), 6144);
        s.reset();
        assert_eq!(s.read(), Snapshot::ZERO);
        s.account(IoClass::Discard, 1 << 20);
        let r = s.read();
        assert_eq!(r.reqs(IoClass::Discard), 1);
        assert_eq!(r.bytes(IoClass::Discard), 1 << 20);
        assert_eq!(r.total_reqs(), 0);
        Ok(())
    }

    #[test]
    fn shards_sum_and_stay_consistent() -> Result {
        let c = Counters::new()?;
        c.add(IoClass::Write, 4096);
        c.add(IoClass::Write, 512);
        c.add(IoClass::Read, 0);
        let sum = c.snapshot();
        assert_eq!(sum.reqs(IoClass::Write), 2);
        assert_eq!(sum.bytes(IoClass::Write), 4608);
        assert_eq!(sum.reqs(IoClass::Read), 1);
        assert_eq!(sum.bytes(IoClass::Read), 0);
        // Every shard is at rest (an even sequence count) after its writer is done.
        for shard in c.shards.iter() {
            assert_eq!(shard.seq.load(Relaxed) % 2, 0);
        }
        Ok(())
    }
}
