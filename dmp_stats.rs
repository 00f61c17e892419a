// SPDX-License-Identifier: GPL-2.0

//! I/O statistics: per-CPU counters on the I/O path, consistent snapshots and resets.
//!
//! Units: requests (bios as dmp maps them), bytes and nanoseconds.
//!
//! A request is counted when it completes, as `/proc/diskstats` and dm-stats count: its
//! class, bytes, size bucket, FUA and preflush, outcome, latency and latency bucket go into
//! the current CPU's shard in one update, under that shard's sequence count, with
//! interrupts off ([`PerCpu::with_local`]): it is never preempted or interrupted halfway
//! and never waits, and a reader's snapshot holds each update whole. So in a snapshot every
//! counted request has its bytes, its size and its latency counted: a count and its byte
//! total, and a histogram, its count and its sum, always agree.
//!
//! When a request is mapped, one atomic addition to the current CPU's `mapped` counter
//! records it for the requests in flight (mapped minus completed), outside any write
//! section: it is correct from whichever CPU it lands on. So a request costs one atomic
//! addition when it is mapped and one write section when it completes.
//!
//! A reset does not zero the counters; it records a snapshot as the baseline, under a lock
//! that readers also take, so a reader sees all of a reset or none of it. The counters
//! wrap modulo 2^64, and so does the difference. Requests in flight are computed from the
//! counters themselves, not from the baseline, so a reset leaves them alone.
//!
//! The I/O path updates only its device's [`Stats`]: the module-wide [`Total`] is the sum of
//! the live devices' counters and of those of removed devices, made when it is read.
//!
//! Two benchmark-only builds (`Kbuild`: `DMP_COUNTERS=atomic`, `DMP_ACCOUNTING=map`) show
//! what the design buys: `dmp_shared_atomics` keeps one atomic per counter shared by all
//! CPUs (no sequence count, so a reader may see a count and its byte total disagree), and
//! `dmp_no_completion` counts a request when it is mapped, with no `end_io`, no clock reads
//! and no latency (see `dmp_target.rs`).

#[cfg(not(dmp_shared_atomics))]
use crate::percpu::{LocalCounter as Counter, LocalSeq, PerCpu};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
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

/// The number of classes.
pub(crate) const CLASSES: usize = 5;

impl IoClass {
    /// Every class, in field order.
    pub(crate) const ALL: [IoClass; CLASSES] = [
        IoClass::Read,
        IoClass::Write,
        IoClass::Flush,
        IoClass::Discard,
        IoClass::WriteZeroes,
    ];

    /// The class's name in files and tools.
    pub(crate) fn name(self) -> &'static str {
        match self {
            IoClass::Read => "read",
            IoClass::Write => "write",
            IoClass::Flush => "flush",
            IoClass::Discard => "discard",
            IoClass::WriteZeroes => "write_zeroes",
        }
    }
}

/// How a request completed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Outcome {
    /// Success.
    Ok,
    /// An I/O error (`BLK_STS_IOERR`, `-EIO`).
    IoError,
    /// Any other error (`-ENOSPC`, `-EOPNOTSUPP`, `-ETIMEDOUT`, ...).
    OtherError,
}

/// What is counted of a request when it completes, as it was when it was mapped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Request {
    /// Its class.
    pub(crate) class: IoClass,
    /// Its size in bytes.
    pub(crate) bytes: u32,
    /// Whether it had `REQ_FUA`.
    pub(crate) fua: bool,
    /// Whether it had `REQ_PREFLUSH`.
    pub(crate) preflush: bool,
}

/// Latency buckets: bucket `i < LAT_BUCKETS - 1` counts latencies of at most 2^i µs
/// (1 µs, 2 µs, ..., 2^25 µs = 33.55 s), the last one everything longer.
pub(crate) const LAT_BUCKETS: usize = 27;

/// Size buckets (reads and writes): bucket `i < SIZE_BUCKETS - 1` counts requests of at most
/// 512 × 2^i bytes (512 B, 1 KiB, ..., 4 MiB), the last one everything larger.
pub(crate) const SIZE_BUCKETS: usize = 15;

/// The upper bound of latency bucket `i` in nanoseconds, `None` for the last (infinite).
pub(crate) fn latency_bound_ns(i: usize) -> Option<u64> {
    (i < LAT_BUCKETS - 1).then(|| 1000u64 << i)
}

/// The upper bound of size bucket `i` in bytes, `None` for the last (infinite).
pub(crate) fn size_bound(i: usize) -> Option<u64> {
    (i < SIZE_BUCKETS - 1).then(|| 512u64 << i)
}

/// ⌈log2(x)⌉, 0 for 0 and 1.
fn ceil_log2(x: u64) -> usize {
    if x <= 1 {
        0
    } else {
        (64 - (x - 1).leading_zeros()) as usize
    }
}

/// The latency bucket of `ns` nanoseconds: the first whose bound is at least `ns`.
#[inline]
pub(crate) fn latency_bucket(ns: u64) -> usize {
    ceil_log2(ns.div_ceil(1000)).min(LAT_BUCKETS - 1)
}

/// The size bucket of a request of `bytes`: the first whose bound is at least `bytes`.
#[inline]
pub(crate) fn size_bucket(bytes: u64) -> usize {
    ceil_log2(bytes.div_ceil(512)).min(SIZE_BUCKETS - 1)
}

/// A plain copy of the counters, or the difference between two copies.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Counts {
    reqs: [u64; CLASSES],
    bytes: [u64; CLASSES],
    fua: u64,
    preflush: u64,
    io_errors: [u64; CLASSES],
    other_errors: [u64; CLASSES],
    latency_ns: [u64; CLASSES],
    latency: [[u64; LAT_BUCKETS]; CLASSES],
    sizes: [[u64; SIZE_BUCKETS]; 2],
}

/// Applies `$f` to every counter of `$a` and `$b` (the same shape), in field order.
macro_rules! zip_counts {
    ($a:expr, $b:expr, $f:expr) => {{
        let (a, b) = ($a, $b);
        let f = $f;
        for c in 0..CLASSES {
            f(&mut a.reqs[c], &b.reqs[c]);
            f(&mut a.bytes[c], &b.bytes[c]);
            f(&mut a.io_errors[c], &b.io_errors[c]);
            f(&mut a.other_errors[c], &b.other_errors[c]);
            f(&mut a.latency_ns[c], &b.latency_ns[c]);
            for i in 0..LAT_BUCKETS {
                f(&mut a.latency[c][i], &b.latency[c][i]);
            }
        }
        for c in 0..2 {
            for i in 0..SIZE_BUCKETS {
                f(&mut a.sizes[c][i], &b.sizes[c][i]);
            }
        }
        f(&mut a.fua, &b.fua);
        f(&mut a.preflush, &b.preflush);
    }};
}

impl Counts {
    /// No requests.
    pub(crate) const ZERO: Self = Self {
        reqs: [0; CLASSES],
        bytes: [0; CLASSES],
        fua: 0,
        preflush: 0,
        io_errors: [0; CLASSES],
        other_errors: [0; CLASSES],
        latency_ns: [0; CLASSES],
        latency: [[0; LAT_BUCKETS]; CLASSES],
        sizes: [[0; SIZE_BUCKETS]; 2],
    };

    fn add(&mut self, other: &Counts) {
        zip_counts!(self, other, |a: &mut u64, b: &u64| *a = a.wrapping_add(*b));
    }

    /// Makes this the difference from `base`, an earlier copy of the same counters.
    fn subtract(&mut self, base: &Counts) {
        zip_counts!(self, base, |a: &mut u64, b: &u64| *a = a.wrapping_sub(*b));
    }
}

/// One counter shared by all CPUs (the `dmp_shared_atomics` benchmark build): an atomic
/// addition each time.
#[cfg(dmp_shared_atomics)]
struct Counter(core::sync::atomic::AtomicU64);

#[cfg(dmp_shared_atomics)]
impl Counter {
    const fn new() -> Self {
        Self(core::sync::atomic::AtomicU64::new(0))
    }

    #[inline(always)]
    fn add(&self, n: u64) {
        self.0.fetch_add(n, core::sync::atomic::Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// One CPU's counters. `seq` is odd while the CPU updates them. `mapped` is outside the
/// write sections: the requests mapped on this CPU, an atomic addition each.
struct Shard {
    #[cfg(not(dmp_shared_atomics))]
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

/// Adds `n` to a counter.
#[inline(always)]
fn bump(c: &Counter, n: u64) {
    c.add(n);
}

impl Shard {
    const fn new() -> Self {
        Self {
            #[cfg(not(dmp_shared_atomics))]
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

    /// Runs `update` as one write section. The caller is the shard's only writer (its CPU,
    /// with interrupts off).
    #[cfg(not(dmp_shared_atomics))]
    #[inline(always)]
    fn write(&self, update: impl FnOnce(&Self)) {
        self.seq.write(|| update(self));
    }

    /// Runs `update` on the shared counters (the `dmp_shared_atomics` benchmark build: no
    /// write section, every counter is an atomic of its own).
    #[cfg(dmp_shared_atomics)]
    #[inline(always)]
    fn write(&self, update: impl FnOnce(&Self)) {
        update(self)
    }

    /// Counts `req` (in size bucket `size`), inside a write section.
    #[inline(always)]
    fn count(&self, size: usize, req: Request) {
        let c = req.class as usize;
        bump(&self.reqs[c], 1);
        bump(&self.bytes[c], u64::from(req.bytes));
        if let Some(sizes) = self.sizes.get(c) {
            bump(&sizes[size], 1);
        }
        bump(&self.fua, u64::from(req.fua));
        bump(&self.preflush, u64::from(req.preflush));
    }

    /// Adds a copy of the counters to `sum`. Waits only while the shard's CPU is inside
    /// [`Shard::write`], which runs with interrupts off and so is never preempted. (In the
    /// `dmp_shared_atomics` benchmark build the copy need not be consistent.)
    fn read_into(&self, sum: &mut Counts) {
        let mut c = Counts::ZERO;
        #[cfg(not(dmp_shared_atomics))]
        self.seq
            .read(|| zip_counts!(&mut c, self, |a: &mut u64, b: &Counter| *a = b.get()));
        #[cfg(dmp_shared_atomics)]
        zip_counts!(&mut c, self, |a: &mut u64, b: &Counter| *a = b.get());
        sum.add(&c);
    }

    /// The requests mapped on this CPU so far (no consistency needed: it only grows).
    fn mapped(&self) -> u64 {
        self.mapped.load(Relaxed)
    }
}

/// The statistics at one moment, since the last reset, and the requests in flight.
pub(crate) struct Snapshot {
    counts: KBox<Counts>,
    in_flight: u64,
}

impl Snapshot {
    /// Requests of `class` completed, successfully or not.
    pub(crate) fn reqs(&self, class: IoClass) -> u64 {
        self.counts.reqs[class as usize]
    }

    /// Bytes of the completed requests of `class`.
    pub(crate) fn bytes(&self, class: IoClass) -> u64 {
        self.counts.bytes[class as usize]
    }

    /// Requests of `class` that completed with an I/O error.
    pub(crate) fn io_errors(&self, class: IoClass) -> u64 {
        self.counts.io_errors[class as usize]
    }

    /// Requests of `class` that completed with another error.
    pub(crate) fn other_errors(&self, class: IoClass) -> u64 {
        self.counts.other_errors[class as usize]
    }

    /// The total latency of the completed requests of `class`, in nanoseconds.
    pub(crate) fn latency_ns(&self, class: IoClass) -> u64 {
        self.counts.latency_ns[class as usize]
    }

    /// The latency histogram of `class` (per bucket, not cumulative).
    pub(crate) fn latency_histogram(&self, class: IoClass) -> &[u64; LAT_BUCKETS] {
        &self.counts.latency[class as usize]
    }

    /// The size histogram of reads or writes (per bucket, not cumulative); `None` for other
    /// classes.
    pub(crate) fn size_histogram(&self, class: IoClass) -> Option<&[u64; SIZE_BUCKETS]> {
        match class {
            IoClass::Read | IoClass::Write => Some(&self.counts.sizes[class as usize]),
            _ => None,
        }
    }

    /// Writes with `REQ_FUA`.
    pub(crate) fn fua(&self) -> u64 {
        self.counts.fua
    }

    /// Writes (with data or empty) with `REQ_PREFLUSH`.
    pub(crate) fn preflush(&self) -> u64 {
        self.counts.preflush
    }

    /// Requests mapped and not yet completed (not affected by resets).
    pub(crate) fn in_flight(&self) -> u64 {
        self.in_flight
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

/// Where a request's counters go: the current CPU's shard, or (in the `dmp_shared_atomics`
/// benchmark build) one shard that every CPU updates with atomic additions.
#[cfg(not(dmp_shared_atomics))]
struct Shards(PerCpu<Shard>);

#[cfg(dmp_shared_atomics)]
struct Shards(KBox<Shard>);

impl Shards {
    fn new() -> Result<Self> {
        #[cfg(not(dmp_shared_atomics))]
        let shards = PerCpu::new(Shard::new)?;
        #[cfg(dmp_shared_atomics)]
        let shards = KBox::new(Shard::new(), GFP_KERNEL)?;
        Ok(Self(shards))
    }

    /// Runs `update` as one write section of the current CPU's shard.
    #[inline(always)]
    fn update(&self, update: impl FnOnce(&Shard)) {
        #[cfg(not(dmp_shared_atomics))]
        self.0.with_local(|shard| shard.write(update));
        #[cfg(dmp_shared_atomics)]
        self.0.write(update);
    }

    /// Records a request mapped: an atomic addition to the current CPU's shard (or to the
    /// shared one), correct wherever the task runs by the time it is made.
    #[inline(always)]
    fn started(&self) {
        #[cfg(not(dmp_shared_atomics))]
        let shard = self.0.local_unpinned();
        #[cfg(dmp_shared_atomics)]
        let shard = &*self.0;
        shard.mapped.fetch_add(1, Relaxed);
    }

    fn iter(&self) -> impl Iterator<Item = &Shard> {
        #[cfg(not(dmp_shared_atomics))]
        return self.0.iter();
        #[cfg(dmp_shared_atomics)]
        return core::iter::once(&*self.0);
    }
}

/// The statistics of one device.
#[pin_data]
pub(crate) struct Stats {
    shards: Shards,
    #[pin]
    base: Mutex<KBox<Counts>>,
}

impl Stats {
    /// Zeroed statistics.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                shards: Shards::new()?,
                base <- new_mutex!(KBox::new(Counts::ZERO, GFP_KERNEL)?),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Records a request mapped, for the requests in flight. Lock-free; called on the I/O
    /// path.
    #[inline(always)]
    pub(crate) fn started(&self) {
        self.shards.started();
    }

    /// Counts a request, mapped with [`Stats::started`], completed after `latency_ns`.
    /// Lock-free; called on the I/O path, in any context.
    #[inline(always)]
    pub(crate) fn completed(&self, req: Request, latency_ns: u64, outcome: Outcome) {
        let c = req.class as usize;
        let size = size_bucket(u64::from(req.bytes));
        let latency = latency_bucket(latency_ns);
        self.shards.update(|s| {
            s.count(size, req);
            bump(&s.latency_ns[c], latency_ns);
            bump(&s.latency[c][latency], 1);
            match outcome {
                Outcome::Ok => {}
                Outcome::IoError => bump(&s.io_errors[c], 1),
                Outcome::OtherError => bump(&s.other_errors[c], 1),
            }
        });
    }

    /// Counts a request mapped and completed at once, successfully in no time (for tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn count_one(&self, class: IoClass, bytes: u32, fua: bool, preflush: bool) {
        self.started();
        let req = Request {
            class,
            bytes,
            fua,
            preflush,
        };
        self.completed(req, 0, Outcome::Ok);
    }

    /// Counts a request when it is mapped, with no latency and no outcome, and not as in
    /// flight (the `dmp_no_completion` benchmark build).
    #[cfg(dmp_no_completion)]
    #[inline(always)]
    pub(crate) fn mapped_only(&self, req: Request) {
        let size = size_bucket(u64::from(req.bytes));
        self.shards.update(|s| s.count(size, req));
    }

    /// Adds the counters since they were made (no reset applied) to `sum`, and returns the
    /// requests in flight.
    fn absolute_into(&self, sum: &mut Counts) -> u64 {
        let mut mine = Counts::ZERO;
        for shard in self.shards.iter() {
            shard.read_into(&mut mine);
        }
        // Requests mapped, read after the completions: every completion counted above was
        // mapped before, so this is never below them.
        let mapped = self
            .shards
            .iter()
            .fold(0u64, |s, shard| s.wrapping_add(shard.mapped()));
        let done = mine.reqs.iter().fold(0u64, |s, x| s.wrapping_add(*x));
        sum.add(&mine);
        mapped.saturating_sub(done)
    }

    /// The statistics since the last reset.
    pub(crate) fn read(&self) -> Result<Snapshot> {
        let base = self.base.lock();
        let mut counts = KBox::new(Counts::ZERO, GFP_KERNEL)?;
        let in_flight = self.absolute_into(&mut counts);
        counts.subtract(&base);
        Ok(Snapshot { counts, in_flight })
    }

    /// Zeroes the statistics as seen by [`Stats::read`], except requests in flight.
    pub(crate) fn reset(&self) -> Result {
        let mut now = KBox::new(Counts::ZERO, GFP_KERNEL)?;
        let mut base = self.base.lock();
        self.absolute_into(&mut now);
        *base = now;
        Ok(())
    }
}

/// The statistics of all devices together: the live devices' counters and what removed
/// devices counted, summed when read, so that the I/O path never touches them.
#[pin_data]
pub(crate) struct Total {
    #[pin]
    inner: Mutex<TotalInner>,
}

struct TotalInner {
    live: KVec<Arc<Stats>>,
    /// What the removed devices counted, from their creation to their removal.
    retired: KBox<Counts>,
    /// The sum at the last reset.
    base: KBox<Counts>,
}

impl TotalInner {
    /// The sum since the module was loaded (no reset applied) into `sum`; the requests in
    /// flight.
    fn absolute_into(&self, sum: &mut Counts) -> u64 {
        sum.add(&self.retired);
        self.live
            .iter()
            .fold(0u64, |n, s| n.wrapping_add(s.absolute_into(sum)))
    }
}

impl Total {
    /// No devices, zeroed statistics.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                inner <- new_mutex!(TotalInner {
                    live: KVec::new(),
                    retired: KBox::new(Counts::ZERO, GFP_KERNEL)?,
                    base: KBox::new(Counts::ZERO, GFP_KERNEL)?,
                }),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Counts `stats`, a new device's, from now on.
    pub(crate) fn add(&self, stats: &Arc<Stats>) -> Result {
        self.inner.lock().live.push(stats.clone(), GFP_KERNEL)?;
        Ok(())
    }

    /// Keeps what `stats` counted, after its device went: it can count nothing more.
    pub(crate) fn retire(&self, stats: &Arc<Stats>) {
        let mut inner = self.inner.lock();
        if let Some(i) = inner.live.iter().position(|s| Arc::ptr_eq(s, stats)) {
            let gone = inner.live.remove(i);
            if let Ok(gone) = gone {
                let TotalInner { retired, .. } = &mut *inner;
                gone.absolute_into(retired);
            }
        }
    }

    /// The statistics since the last reset.
    pub(crate) fn read(&self) -> Result<Snapshot> {
        let mut counts = KBox::new(Counts::ZERO, GFP_KERNEL)?;
        let inner = self.inner.lock();
        let in_flight = inner.absolute_into(&mut counts);
        counts.subtract(&inner.base);
        Ok(Snapshot { counts, in_flight })
    }

    /// Zeroes the statistics as seen by [`Total::read`], except requests in flight.
    pub(crate) fn reset(&self) -> Result {
        let mut now = KBox::new(Counts::ZERO, GFP_KERNEL)?;
        let mut inner = self.inner.lock();
        inner.absolute_into(&mut now);
        inner.base = now;
        Ok(())
    }
}

/// Statistics that can be read and reset: a device's, or the total.
pub(crate) trait Source {
    /// The statistics since the last reset.
    fn read(&self) -> Result<Snapshot>;
    /// Zeroes the statistics, except requests in flight.
    fn reset(&self) -> Result;
}

impl Source for Stats {
    fn read(&self) -> Result<Snapshot> {
        Stats::read(self)
    }

    fn reset(&self) -> Result {
        Stats::reset(self)
    }
}

impl Source for Total {
    fn read(&self) -> Result<Snapshot> {
        Total::read(self)
    }

    fn reset(&self) -> Result {
        Total::reset(self)
    }
}

#[kunit_tests(dmp_stats)]
mod tests {
    use super::*;

    #[test]
    fn averages_round_down_and_never_divide_by_zero() {
        assert_eq!(average(0, 0), 0);
        assert_eq!(average(4096, 0), 0);
        assert_eq!(average(4096, 1), 4096);
        assert_eq!(average(4097, 2), 2048);
        assert_eq!(average(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn latency_buckets() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(1), 0);
        assert_eq!(latency_bucket(1000), 0);
        assert_eq!(latency_bucket(1001), 1);
        assert_eq!(latency_bucket(2000), 1);
        assert_eq!(latency_bucket(2001), 2);
        assert_eq!(latency_bucket(50_000_000), 16);
        assert_eq!(latency_bound_ns(15), Some(32_768_000));
        assert_eq!(latency_bound_ns(16), Some(65_536_000));
        assert_eq!(latency_bucket(1000 << 25), 25);
        assert_eq!(latency_bucket((1000 << 25) + 1), 26);
        assert_eq!(latency_bucket(u64::MAX), 26);
        assert_eq!(latency_bound_ns(25), Some(33_554_432_000));
        assert_eq!(latency_bound_ns(26), None);
        // Every latency is within its bucket's bounds.
        for ns in [0, 999, 1000, 1001, 123_456, 999_999_999, 40_000_000_000] {
            let i = latency_bucket(ns);
            assert!(latency_bound_ns(i).is_none_or(|b| ns <= b));
            assert!(i == 0 || latency_bound_ns(i - 1).is_some_and(|b| ns > b));
        }
    }

    #[test]
    fn size_buckets() {
        assert_eq!(size_bucket(0), 0);
        assert_eq!(size_bucket(512), 0);
        assert_eq!(size_bucket(513), 1);
        assert_eq!(size_bucket(4096), 3);
        assert_eq!(size_bucket(65536), 7);
        assert_eq!(size_bucket(4 << 20), 13);
        assert_eq!(size_bucket((4 << 20) + 1), 14);
        assert_eq!(size_bucket(u64::MAX), 14);
        assert_eq!(size_bound(3), Some(4096));
        assert_eq!(size_bound(13), Some(4 << 20));
        assert_eq!(size_bound(14), None);
    }

    #[test]
    fn differences_are_exact_across_wrap_around() {
        let mut base = Counts::ZERO;
        base.reqs[0] = u64::MAX - 1;
        base.bytes[0] = u64::MAX - 4095;
        base.latency[0][3] = u64::MAX;
        let mut more = Counts::ZERO;
        more.reqs[0] = 3;
        more.bytes[0] = 3 * 4096;
        more.latency[0][3] = 2;
        let mut now = base.clone();
        now.add(&more);
        assert_eq!(now.reqs[0], 1);
        now.subtract(&base);
        assert_eq!(now, more);
        let mut same = more.clone();
        same.subtract(&more);
        assert_eq!(same, Counts::ZERO);
    }

    const fn req(class: IoClass, bytes: u32) -> Request {
        Request {
            class,
            bytes,
            fua: false,
            preflush: false,
        }
    }

    #[test]
    fn started_completed_read_and_reset() -> Result {
        let s = Stats::new()?;
        let r = s.read()?;
        assert_eq!(*r.counts, Counts::ZERO);
        assert_eq!(r.in_flight(), 0);
        for _ in 0..4 {
            s.started();
        }
        // Mapped requests are in flight and counted only when they complete.
        let r = s.read()?;
        assert_eq!((r.in_flight(), r.reqs(IoClass::Read)), (4, 0));
        s.completed(req(IoClass::Read, 4096), 50_000_000, Outcome::Ok);
        s.completed(req(IoClass::Read, 8192), 1500, Outcome::Ok);
        let fua = Request {
            fua: true,
            ..req(IoClass::Write, 512)
        };
        s.completed(fua, 1500, Outcome::IoError);
        let r = s.read()?;
        assert_eq!(r.reqs(IoClass::Read), 2);
        assert_eq!(r.bytes(IoClass::Read), 12288);
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
        s.reset()?;
        // A reset keeps what is in flight; a later completion of an earlier request counts.
        let r = s.read()?;
        assert_eq!(r.in_flight(), 1);
        assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (0, 0));
        let flush = Request {
            preflush: true,
            ..req(IoClass::Flush, 0)
        };
        s.completed(flush, 500, Outcome::OtherError);
        let r = s.read()?;
        assert_eq!(r.in_flight(), 0);
        assert_eq!(r.reqs(IoClass::Flush), 1);
        assert!(r.size_histogram(IoClass::Flush).is_none());
        assert_eq!((r.other_errors(IoClass::Flush), r.preflush()), (1, 1));
        assert_eq!(r.latency_histogram(IoClass::Flush)[0], 1);
        assert_eq!(r.latency_histogram(IoClass::Read).iter().sum::<u64>(), 0);
        Ok(())
    }

    #[test]
    fn total_sums_live_and_removed_devices() -> Result {
        let total = Total::new()?;
        let (a, b) = (Stats::new()?, Stats::new()?);
        total.add(&a)?;
        total.add(&b)?;
        a.started();
        b.started();
        b.completed(req(IoClass::Read, 512), 2000, Outcome::Ok);
        let r = total.read()?;
        assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (1, 512));
        assert_eq!(r.in_flight(), 1);
        // A device's reset leaves the total alone; a removed device's counts stay in it.
        a.reset()?;
        a.completed(req(IoClass::Read, 4096), 3000, Outcome::Ok);
        total.retire(&a);
        let r = total.read()?;
        assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (2, 4608));
        assert_eq!((r.latency_ns(IoClass::Read), r.in_flight()), (5000, 0));
        total.reset()?;
        b.started();
        let fua = Request {
            fua: true,
            ..req(IoClass::Write, 8192)
        };
        b.completed(fua, 1000, Outcome::Ok);
        let r = total.read()?;
        assert_eq!((r.reqs(IoClass::Read), r.reqs(IoClass::Write)), (0, 1));
        assert_eq!(
            (r.bytes(IoClass::Write), r.fua(), r.in_flight()),
            (8192, 1, 0)
        );
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
            #[cfg(not(dmp_shared_atomics))]
            assert!(shard.seq.is_idle());
        }
        assert_eq!((sum.reqs[1], sum.bytes[1], sum.latency[1][4]), (1, 4096, 1));
        let mapped = s.shards.iter().map(Shard::mapped).sum::<u64>();
        assert_eq!(mapped, 1);
        Ok(())
    }
}
