// SPDX-License-Identifier: GPL-2.0

//! A device's statistics: per-CPU counters updated on the I/O path, consistent snapshots
//! and resets.
//!
//! A request is counted when it completes, as `/proc/diskstats` and dm-stats count: its
//! class, bytes, size bucket, FUA and preflush, outcome, latency and latency bucket go into
//! the current CPU's shard in one update, under that shard's sequence count, with
//! interrupts off ([`CpuSlots::with_local`]): it is never preempted or interrupted halfway
//! and never waits, and a reader's snapshot holds each update whole. So in a snapshot every
//! counted request has its bytes, its size and its latency counted: a count and its byte
//! total, and a histogram, its count and its sum, always agree.
//!
//! When a request is mapped, one atomic addition to the current CPU's `mapped` counter
//! records it for the requests in flight (mapped minus completed), outside any write
//! section: it is correct from whichever CPU it lands on. (It is a `core` atomic rather than
//! `kernel::sync::atomic`, for the reason `cpu_slots` gives: those are out-of-line calls.) So a request costs one atomic
//! addition when it is mapped and one write section when it completes.
//!
//! A reset does not zero the counters; it records a snapshot as the baseline, under a mutex
//! that readers also take, so a reader sees all of a reset or none of it. Readers and resets
//! work in two buffers allocated with the statistics, so neither allocates: both may run on
//! a suspended device (`dmsetup status`, `dmsetup message`). Requests in flight are computed
//! from the counters themselves, not from the baseline, so a reset leaves them alone.

use crate::{
    dmp_buckets::{latency_bucket, size_bucket, LAT_BUCKETS, SIZE_BUCKETS},
    dmp_counts::{zip_counts, Baseline, Counts, Snapshot, Source},
    dmp_request::{Outcome, Request, CLASSES},
    kernel_staging::cpu_slots::{CpuSlots, LocalCounter as Counter, LocalSeq},
};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

/// One CPU's counters. `seq` is odd while the CPU updates them. `mapped` is outside the
/// write sections: the requests mapped on this CPU, an atomic addition each (less those
/// device-mapper retried, see [`Stats::retried`]).
struct Shard {
    seq: LocalSeq,
    mapped: AtomicU64,
    reqs: [Counter; CLASSES],
    bytes: [Counter; CLASSES],
    fua: Counter,
    preflush: Counter,
    io_errors: [Counter; CLASSES],
    other_errors: [Counter; CLASSES],
    latency_ns: [Counter; CLASSES],
    latency: [[Counter; LAT_BUCKETS]; CLASSES],
    sizes: [[Counter; SIZE_BUCKETS]; 2],
}

impl Shard {
    const fn new() -> Self {
        Self {
            seq: LocalSeq::new(),
            mapped: AtomicU64::new(0),
            reqs: [const { Counter::new() }; CLASSES],
            bytes: [const { Counter::new() }; CLASSES],
            fua: Counter::new(),
            preflush: Counter::new(),
            io_errors: [const { Counter::new() }; CLASSES],
            other_errors: [const { Counter::new() }; CLASSES],
            latency_ns: [const { Counter::new() }; CLASSES],
            latency: [const { [const { Counter::new() }; LAT_BUCKETS] }; CLASSES],
            sizes: [const { [const { Counter::new() }; SIZE_BUCKETS] }; 2],
        }
    }

    /// Counts `req` (in size bucket `size`), completed after `latency_ns` (in latency bucket
    /// `latency`) with `outcome`, as one write section. The caller is the shard's only writer
    /// (its CPU, with interrupts off).
    #[inline(always)]
    fn count(&self, req: Request, size: usize, latency_ns: u64, latency: usize, outcome: Outcome) {
        let c = req.class as usize;
        self.seq.write(|| {
            self.reqs[c].add(1);
            self.bytes[c].add(u64::from(req.bytes));
            if let Some(sizes) = self.sizes.get(c) {
                sizes[size].add(1);
            }
            self.fua.add(u64::from(req.fua));
            self.preflush.add(u64::from(req.preflush));
            self.latency_ns[c].add(latency_ns);
            self.latency[c][latency].add(1);
            match outcome {
                Outcome::Ok | Outcome::Retried => {}
                Outcome::IoError => self.io_errors[c].add(1),
                Outcome::OtherError => self.other_errors[c].add(1),
            }
        });
    }

    /// Adds a copy of the counters to `sum`. Waits only while the shard's CPU is inside
    /// [`Shard::count`], which runs with interrupts off and so is never preempted.
    fn read_into(&self, sum: &mut Counts) {
        let mut c = Counts::ZERO;
        self.seq
            .read(|| zip_counts!(&mut c, self, |a: &mut u64, b: &Counter| *a = b.get()));
        sum.add(&c);
    }

    /// The requests mapped on this CPU so far, less those retried here (no consistency
    /// needed: only the sum over all CPUs means anything).
    fn mapped(&self) -> u64 {
        self.mapped.load(Relaxed)
    }
}

/// The statistics of one device.
#[pin_data]
pub(crate) struct Stats {
    shards: CpuSlots<Shard>,
    #[pin]
    baseline: Mutex<Baseline>,
}

impl Stats {
    /// Zeroed statistics.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                shards: CpuSlots::new(Shard::new)?,
                baseline <- new_mutex!(Baseline::new()?),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Records a request mapped, for the requests in flight. Lock-free; called on the I/O
    /// path.
    #[inline(always)]
    pub(crate) fn started(&self) {
        self.shards.local_unpinned().mapped.fetch_add(1, Relaxed);
    }

    /// Counts a request, mapped with [`Stats::started`], completed after `latency_ns`.
    /// Lock-free; called on the I/O path, in any context.
    #[inline(always)]
    pub(crate) fn completed(&self, req: Request, latency_ns: u64, outcome: Outcome) {
        let size = size_bucket(u64::from(req.bytes));
        let latency = latency_bucket(latency_ns);
        self.shards
            .with_local(|shard| shard.count(req, size, latency_ns, latency, outcome));
    }

    /// Takes back a request mapped with [`Stats::started`] that device-mapper maps again
    /// instead of completing it ([`Outcome::Retried`]): it is no longer in flight, and the
    /// retry counts when it completes. Lock-free, in any context.
    pub(crate) fn retried(&self) {
        self.shards.local_unpinned().mapped.fetch_sub(1, Relaxed);
    }

    /// Counts a request mapped and completed at once, successfully in no time (for tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn count_one(&self, req: Request) {
        self.started();
        self.completed(req, 0, Outcome::Ok);
    }

    /// Adds the counters since they were made (no reset applied) to `sum`, and returns the
    /// requests in flight.
    pub(crate) fn absolute_into(&self, sum: &mut Counts) -> u64 {
        let before = sum.all_reqs();
        for shard in self.shards.iter() {
            shard.read_into(sum);
        }
        // Requests mapped, read after the completions: every completion counted above was
        // mapped before, so this is never below them.
        let mapped = self
            .shards
            .iter()
            .fold(0u64, |s, shard| s.wrapping_add(shard.mapped()));
        mapped.saturating_sub(sum.all_reqs().wrapping_sub(before))
    }
}

impl Source for Stats {
    fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot<'_>) -> R) -> R {
        self.baseline
            .lock()
            .snapshot(|sum| self.absolute_into(sum), f)
    }

    fn reset(&self) {
        self.baseline.lock().reset(|sum| self.absolute_into(sum));
    }
}

#[kunit_tests(dmp_stats)]
mod tests {
    use super::*;
    use crate::dmp_request::IoClass;

    fn req(class: IoClass, bytes: u32) -> Request {
        Request::plain(class, bytes)
    }

    /// `(reqs, bytes)` of `class` and the requests in flight, from one snapshot.
    fn counts(s: &Stats, class: IoClass) -> (u64, u64, u64) {
        s.with_snapshot(|r| (r.reqs(class), r.bytes(class), r.in_flight()))
    }

    #[test]
    fn started_completed_read_and_reset() -> Result {
        let s = Stats::new()?;
        s.with_snapshot(|r| assert_eq!(r.total_reqs() + r.in_flight(), 0));
        for _ in 0..4 {
            s.started();
        }
        // Mapped requests are in flight and counted only when they complete.
        assert_eq!(counts(&s, IoClass::Read), (0, 0, 4));
        s.completed(req(IoClass::Read, 4096), 50_000_000, Outcome::Ok);
        s.completed(req(IoClass::Read, 8192), 1500, Outcome::Ok);
        let fua = Request {
            fua: true,
            ..req(IoClass::Write, 512)
        };
        s.completed(fua, 1500, Outcome::IoError);
        s.with_snapshot(|r| {
            assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (2, 12288));
            assert_eq!(r.reqs(IoClass::Write), 1);
            assert_eq!((r.fua(), r.preflush()), (1, 0));
            assert_eq!(r.avg_read_size(), 6144);
            assert_eq!(r.in_flight(), 1);
            assert_eq!(r.size_histogram(IoClass::Read).map(|h| h[3]), Some(1));
            assert_eq!(r.size_histogram(IoClass::Read).map(|h| h[4]), Some(1));
            assert_eq!(r.size_histogram(IoClass::Write).map(|h| h[0]), Some(1));
            assert_eq!(r.io_errors(IoClass::Write), 1);
            assert_eq!(r.latency_ns(IoClass::Read), 50_001_500);
            assert_eq!(r.latency_histogram(IoClass::Read)[16], 1);
            assert_eq!(r.latency_histogram(IoClass::Read)[1], 1);
        });
        s.reset();
        // A reset keeps what is in flight; a later completion of an earlier request counts.
        assert_eq!(counts(&s, IoClass::Read), (0, 0, 1));
        let flush = Request {
            preflush: true,
            ..req(IoClass::Flush, 0)
        };
        s.completed(flush, 500, Outcome::OtherError);
        s.with_snapshot(|r| {
            assert_eq!((r.reqs(IoClass::Flush), r.in_flight()), (1, 0));
            assert!(r.size_histogram(IoClass::Flush).is_none());
            assert_eq!((r.other_errors(IoClass::Flush), r.preflush()), (1, 1));
            assert_eq!(r.latency_histogram(IoClass::Flush)[0], 1);
            assert_eq!(r.latency_histogram(IoClass::Read).iter().sum::<u64>(), 0);
        });
        Ok(())
    }

    #[test]
    fn a_retried_request_counts_once() -> Result {
        let s = Stats::new()?;
        let polled = Request {
            polled: true,
            ..req(IoClass::Read, 4096)
        };
        // Mapped, met EAGAIN and taken back; mapped again and completed.
        s.started();
        s.retried();
        assert_eq!(counts(&s, IoClass::Read), (0, 0, 0));
        s.started();
        s.completed(polled, 2000, Outcome::Ok);
        assert_eq!(counts(&s, IoClass::Read), (1, 4096, 0));
        s.with_snapshot(|r| assert_eq!(r.other_errors(IoClass::Read), 0));
        Ok(())
    }

    #[test]
    fn shards_sum_and_rest_even() -> Result {
        let s = Stats::new()?;
        s.started();
        s.completed(req(IoClass::Write, 4096), 10_000, Outcome::Ok);
        let mut sum = Counts::ZERO;
        for shard in s.shards.iter() {
            shard.read_into(&mut sum);
            assert!(shard.seq.is_idle());
        }
        assert_eq!((sum.reqs[1], sum.bytes[1], sum.latency[1][4]), (1, 4096, 1));
        let mapped = s.shards.iter().map(Shard::mapped).sum::<u64>();
        assert_eq!(mapped, 1);
        let mut again = Counts::ZERO;
        assert_eq!(s.absolute_into(&mut again), 0);
        assert_eq!(again, sum);
        Ok(())
    }
}
