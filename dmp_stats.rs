// SPDX-License-Identifier: GPL-2.0

//! A device's statistics: per-CPU counters updated on the I/O path, made when a CPU first
//! uses the device, consistent snapshots and resets.
//!
//! A request is counted when it completes, as `/proc/diskstats` and dm-stats count: its
//! class, bytes, size bucket, FUA and preflush, outcome, latency and latency bucket go into
//! the current CPU's shard in one update, under that shard's sequence count, with
//! interrupts off ([`LocalCpu`]): it is never preempted or interrupted halfway and never
//! waits, and a reader's snapshot holds each update whole. So in a snapshot every counted
//! request has its bytes, its size and its latency counted: a count and its byte total,
//! and a histogram, its count and its sum, always agree.
//!
//! When a request is mapped, one atomic addition to the current CPU's `mapped` counter
//! records it for the requests in flight (mapped minus completed), outside any write
//! section: it is correct from whichever CPU it lands on. So a request costs one atomic
//! addition when it is mapped and one write section when it completes.
//!
//! A CPU's shard is made the first time the CPU maps or completes a request of the device
//! ([`CpuSlots::here`]: zeroed, without sleeping), so a device's memory follows the CPUs
//! that use it, not the possible CPUs, and reading costs time in proportion to the shards
//! made. If no memory can be had for the shard then, the request is counted in the device's
//! fallback shard, whose writers take a spinlock (with interrupts off), exactly as a shard
//! counts it; the CPU's next request tries again. Only then do CPUs share a counter.
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
    dmp_slow::{record_flags, Reader, Record, Rings, Threshold},
    kernel_staging::{
        clock::wall_clock_ns,
        cpu_slots::{AnyCpuCounter, CpuSlots, LocalCounter as Counter, LocalCpu, LocalSeq},
        sysfs::OpenFile,
    },
};
use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    sync::{Arc, Mutex, SpinLock},
};

/// One CPU's counters. `seq` is odd while the CPU updates them. `mapped` is outside the
/// write sections: the requests mapped on this CPU, an atomic addition each (less those
/// device-mapper retried, see [`Stats::retried`]).
#[derive(Zeroable)]
struct Shard {
    seq: LocalSeq,
    mapped: AnyCpuCounter,
    reqs: [Counter; CLASSES],
    bytes: [Counter; CLASSES],
    fua: Counter,
    preflush: Counter,
    io_errors: [Counter; CLASSES],
    other_errors: [Counter; CLASSES],
    latency_ns: [Counter; CLASSES],
    latency: [[Counter; LAT_BUCKETS]; CLASSES],
    sizes: [[Counter; SIZE_BUCKETS]; 2],
    /// The requests this CPU recorded as slow or failed: the next record's number.
    slow: Counter,
    /// The number of the first of this CPU's records shown, set by resets.
    shown_from: AnyCpuCounter,
}

impl Shard {
    /// Counts `req` (in size bucket `size`), completed after `latency_ns` (in latency bucket
    /// `latency`) with `outcome`, and as recorded if `slow`, as one write section. Returns
    /// the number of the CPU's next record. The caller is the shard's only writer (its CPU,
    /// with interrupts off, or the holder of the fallback's lock).
    #[inline(always)]
    fn count(
        &self,
        req: Request,
        size: usize,
        latency_ns: u64,
        latency: usize,
        outcome: Outcome,
        slow: bool,
    ) -> u64 {
        let c = req.class as usize;
        let next = self.slow.get();
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
            if slow {
                self.slow.add(1);
            }
        });
        next
    }

    /// The requests completed on this CPU (no consistency needed, as for `mapped`).
    fn completed(&self) -> u64 {
        self.reqs.iter().fold(0u64, |s, r| s.wrapping_add(r.get()))
    }

    /// Adds a copy of the counters to `sum`. Waits only while the shard's writer is inside
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
        self.mapped.get()
    }
}

/// Where a request is counted: the current CPU's shard, or the fallback.
enum Place<'a> {
    Shard(&'a Shard),
    Fallback,
}

/// The statistics of one device, and its record of slow and failed requests.
#[pin_data]
pub(crate) struct Stats {
    shards: CpuSlots<Shard>,
    /// Counts what CPUs without a shard mapped, took back and completed; the writers of its
    /// write sections hold `fallback_lock`. Out of
    /// line, so that the rest fits a small allocation (kmalloc-512, not kmalloc-4k).
    fallback: KBox<Shard>,
    #[pin]
    fallback_lock: SpinLock<()>,
    #[pin]
    baseline: Mutex<Baseline>,
    threshold: Threshold,
    rings: Rings,
    #[pin]
    reader: Mutex<Reader>,
}

impl Stats {
    /// Zeroed statistics, nothing recorded, the threshold off.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                shards: CpuSlots::new()?,
                fallback: KBox::init(<Shard as Zeroable>::init_zeroed(), GFP_KERNEL)?,
                fallback_lock <- new_spinlock!(()),
                baseline <- new_mutex!(Baseline::new()?),
                threshold: Threshold::off(),
                rings: Rings::new()?,
                reader <- new_mutex!(Reader::new()?),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The threshold at or above which requests are recorded as slow.
    pub(crate) fn threshold(&self) -> &Threshold {
        &self.threshold
    }

    /// How many CPUs have a shard, and how many a ring.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn parts(&self) -> (usize, usize) {
        (self.shards.count(), self.rings.count())
    }

    /// A read of `slow_requests` (see [`Reader::read`]).
    pub(crate) fn read_slow(&self, file: OpenFile, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let shown_from = |cpu| self.shards.get(cpu).map_or(0, |s| s.shown_from.get());
        self.reader
            .lock()
            .read(&self.rings, shown_from, file, offset, buf)
    }

    /// The current CPU's shard, made if it has none; the fallback if that fails.
    #[inline(always)]
    fn place<'a>(&'a self, cpu: &LocalCpu) -> Place<'a> {
        match self.shards.here(cpu) {
            Some(shard) => Place::Shard(shard),
            None => Place::Fallback,
        }
    }

    /// Records a request mapped, for the requests in flight. Lock-free; called on the I/O
    /// path.
    #[inline(always)]
    pub(crate) fn started(&self) {
        match self.shards.local_unpinned() {
            Some(shard) => shard.mapped.add(1),
            None => self.first_on_cpu(|shard| shard.mapped.add(1)),
        }
    }

    /// Runs `f` on the current CPU's shard, made now, or on the fallback.
    #[cold]
    #[inline(never)]
    fn first_on_cpu(&self, f: impl FnOnce(&Shard)) {
        LocalCpu::with(|cpu| match self.place(cpu) {
            Place::Shard(shard) => f(shard),
            Place::Fallback => f(&self.fallback),
        })
    }

    /// Counts a request, mapped with [`Stats::started`], completed after `latency_ns` with
    /// `outcome` (`error`: its positive errno, 0 for success), and records it if it was slow
    /// or failed, on the underlying device at `dev_sector(req.sector)`; returns the record if
    /// it made one. Lock-free unless the CPU has no shard and none can be made; called on
    /// the I/O path, in any context.
    #[inline(always)]
    pub(crate) fn completed(
        &self,
        req: Request,
        latency_ns: u64,
        outcome: Outcome,
        error: u16,
        dev_sector: impl FnOnce(u64) -> u64,
    ) -> Option<Record> {
        LocalCpu::with(|cpu| {
            let place = self.place(cpu);
            self.complete_at(cpu, place, req, latency_ns, outcome, error, dev_sector)
        })
    }

    /// [`Stats::completed`] on `place`, found for `cpu`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn complete_at(
        &self,
        cpu: &LocalCpu,
        place: Place<'_>,
        req: Request,
        latency_ns: u64,
        outcome: Outcome,
        error: u16,
        dev_sector: impl FnOnce(u64) -> u64,
    ) -> Option<Record> {
        let size = size_bucket(u64::from(req.bytes));
        let latency = latency_bucket(latency_ns);
        let slow = self.threshold.is_slow(latency_ns) || outcome != Outcome::Ok;
        let (seq, kept) = match place {
            Place::Shard(shard) => (
                shard.count(req, size, latency_ns, latency, outcome, slow),
                true,
            ),
            Place::Fallback => {
                let _guard = self.fallback_lock.lock();
                let seq = self
                    .fallback
                    .count(req, size, latency_ns, latency, outcome, slow);
                (seq, false)
            }
        };
        if !slow {
            return None;
        }
        let sector = dev_sector(req.sector);
        Some(self.record(cpu, seq, kept, &req, latency_ns, error, sector))
    }

    /// Makes record `seq` of the current CPU, and keeps it in the CPU's ring if `keep`.
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        cpu: &LocalCpu,
        seq: u64,
        keep: bool,
        req: &Request,
        latency_ns: u64,
        error: u16,
        dev_sector: u64,
    ) -> Record {
        // Completions first, then the requests mapped, as in `absolute_into`: every
        // completion read was mapped before. The request itself was counted as completed:
        // add it back.
        let completed = self
            .all_shards()
            .fold(0u64, |c, shard| c.wrapping_add(shard.completed()));
        let mapped = self
            .all_shards()
            .fold(0u64, |m, shard| m.wrapping_add(shard.mapped()));
        let in_flight = mapped.saturating_sub(completed).saturating_add(1);
        let rec = Record {
            time_ns: wall_clock_ns(),
            class: req.class,
            flags: record_flags(req.opf),
            sector: req.sector,
            dev_sector,
            bytes: req.bytes,
            latency_ns,
            error,
            in_flight: u32::try_from(in_flight).unwrap_or(u32::MAX),
            cpu: cpu.id() as u32,
            seq,
        };
        if keep {
            // Not kept if no ring can be had now (counted all the same).
            self.rings.push(cpu, seq, &rec);
        }
        rec
    }

    /// The shards made so far, then the fallback.
    fn all_shards(&self) -> impl Iterator<Item = &Shard> {
        let made = self.shards.iter().map(|(_, shard)| shard);
        Iterator::chain(made, core::iter::once(&*self.fallback))
    }

    /// Takes back a request mapped with [`Stats::started`] that device-mapper maps again
    /// instead of completing it ([`Outcome::Retried`]): it is no longer in flight, and the
    /// retry counts when it completes. Lock-free, in any context.
    pub(crate) fn retried(&self) {
        match self.shards.local_unpinned() {
            Some(shard) => shard.mapped.sub(1),
            None => self.first_on_cpu(|shard| shard.mapped.sub(1)),
        }
    }

    /// Counts a request mapped and completed at once, successfully in no time (for tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn count_one(&self, req: Request) {
        self.started();
        self.completed(req, 0, Outcome::Ok, 0, |s| s);
    }

    /// Adds the counters since they were made (no reset applied) to `sum`, and returns the
    /// requests in flight.
    pub(crate) fn absolute_into(&self, sum: &mut Counts) -> u64 {
        let before = sum.all_reqs();
        for shard in self.all_shards() {
            shard.read_into(sum);
        }
        // Requests mapped, read after the completions (over the same shards and any made
        // since): every completion counted above was mapped before, so this is never below
        // them.
        let mapped = self
            .all_shards()
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
        // Hide the records so far, without the reader's lock, which a reader holds while
        // it allocates.
        for (_, shard) in self.shards.iter() {
            shard.shown_from.set(shard.slow.get());
        }
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
        s.completed(req(IoClass::Read, 4096), 50_000_000, Outcome::Ok, 0, |x| x);
        s.completed(req(IoClass::Read, 8192), 1500, Outcome::Ok, 0, |x| x);
        let fua = Request {
            fua: true,
            ..req(IoClass::Write, 512)
        };
        s.completed(fua, 1500, Outcome::IoError, 0, |x| x);
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
        s.completed(flush, 500, Outcome::OtherError, 0, |x| x);
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
        s.completed(polled, 2000, Outcome::Ok, 0, |x| x);
        assert_eq!(counts(&s, IoClass::Read), (1, 4096, 0));
        s.with_snapshot(|r| assert_eq!(r.other_errors(IoClass::Read), 0));
        Ok(())
    }

    #[test]
    fn shards_are_made_by_use_sum_and_rest_even() -> Result {
        let s = Stats::new()?;
        // Nothing is made until a request is mapped or completes.
        assert_eq!(s.parts(), (0, 0));
        s.with_snapshot(|r| assert_eq!(r.total_reqs(), 0));
        assert_eq!(s.parts(), (0, 0));
        s.started();
        s.completed(req(IoClass::Write, 4096), 10_000, Outcome::Ok, 0, |x| x);
        // One CPU or two, if the task moved between the two calls; no ring.
        let (shards, rings) = s.parts();
        assert!((1..=2).contains(&shards) && rings == 0);
        let mut sum = Counts::ZERO;
        for (_, shard) in s.shards.iter() {
            shard.read_into(&mut sum);
            assert!(shard.seq.is_idle());
        }
        assert_eq!((sum.reqs[1], sum.bytes[1], sum.latency[1][4]), (1, 4096, 1));
        let mapped = s.shards.iter().map(|(_, x)| x.mapped()).sum::<u64>();
        assert_eq!(mapped, 1);
        let mut again = Counts::ZERO;
        assert_eq!(s.absolute_into(&mut again), 0);
        assert_eq!(again, sum);
        Ok(())
    }

    #[test]
    fn without_memory_for_a_shard_the_fallback_counts_exactly() -> Result {
        let s = Stats::new()?;
        // A CPU that got no shard maps and completes two requests, one slow.
        s.threshold().set(1_000_000);
        s.fallback.mapped.add(2);
        let (none, rec) = LocalCpu::with(|cpu| {
            let read = req(IoClass::Read, 4096);
            let none = s.complete_at(cpu, Place::Fallback, read, 500, Outcome::Ok, 0, |x| x);
            let rec = s.complete_at(
                cpu,
                Place::Fallback,
                req(IoClass::Write, 8192),
                2_000_000,
                Outcome::IoError,
                5,
                |x| x + 8,
            );
            (none, rec)
        });
        assert!(none.is_none());
        // The record is made (for the trace event) but not kept: no ring, no shard.
        let rec = rec.ok_or(EINVAL)?;
        assert_eq!((rec.error, rec.in_flight, rec.dev_sector), (5, 1, 8));
        assert_eq!(s.parts(), (0, 0));
        s.with_snapshot(|r| {
            assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (1, 4096));
            assert_eq!((r.reqs(IoClass::Write), r.bytes(IoClass::Write)), (1, 8192));
            assert_eq!((r.io_errors(IoClass::Write), r.slow_reqs()), (1, 1));
            assert_eq!(
                r.latency_histogram(IoClass::Write)[latency_bucket(2_000_000)],
                1
            );
            assert_eq!(r.in_flight(), 0);
        });
        // A shard made later adds to what the fallback counted.
        s.count_one(req(IoClass::Read, 512));
        s.with_snapshot(|r| {
            assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (2, 4608));
            assert_eq!(r.in_flight(), 0);
        });
        let mut buf = [0u8; 256];
        assert_eq!(s.read_slow(OpenFile::for_test(1), 0, &mut buf)?, 0);
        Ok(())
    }

    #[test]
    fn slow_and_failed_requests_are_recorded() -> Result {
        use crate::kernel_staging::sysfs::OpenFile;
        let s = Stats::new()?;
        let at = |sector: u64| Request {
            sector,
            ..req(IoClass::Read, 4096)
        };
        // Off: only the failed one.
        s.started();
        assert!(s
            .completed(at(8), u64::MAX - 1, Outcome::Ok, 0, |x| x + 2048)
            .is_none());
        s.started();
        let rec = s.completed(at(16), 10, Outcome::IoError, 5, |x| x + 2048);
        let rec = rec.ok_or(EINVAL)?;
        assert_eq!(
            (rec.sector, rec.dev_sector, rec.error, rec.in_flight),
            (16, 2064, 5, 1)
        );
        // 1 ms: 999 us is fast, 1 ms is slow.
        s.threshold().set(1_000_000);
        s.started();
        assert!(s
            .completed(at(24), 999_999, Outcome::Ok, 0, |x| x)
            .is_none());
        s.started();
        s.started();
        let rec = s
            .completed(at(32), 1_000_000, Outcome::Ok, 0, |x| x)
            .ok_or(EINVAL)?;
        // Itself and the one still in flight.
        assert_eq!(
            (rec.sector, rec.latency_ns, rec.in_flight),
            (32, 1_000_000, 2)
        );
        s.with_snapshot(|r| assert_eq!(r.slow_reqs(), 2));
        let mut buf = [0u8; 4096];
        let file = OpenFile::for_test(1);
        let n = s.read_slow(file, 0, &mut buf)?;
        assert_eq!(buf[..n].iter().filter(|c| **c == b'\n').count(), 2);
        assert!(buf[..n].split(|c| *c == b' ').nth(3) == Some(&b"16"[..]));
        // A reset clears the count and the record, not the threshold.
        s.reset();
        s.with_snapshot(|r| assert_eq!(r.slow_reqs(), 0));
        assert_eq!(s.read_slow(file, 0, &mut buf)?, 0);
        assert_eq!(s.threshold().get(), 1_000_000);
        Ok(())
    }
}
