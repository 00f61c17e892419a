// SPDX-License-Identifier: GPL-2.0

//! The snapshot model: plain copies of the counters, their arithmetic, and what a reader
//! sees of them.
//!
//! Units: requests (bios as dmp maps them), bytes and nanoseconds. Counters wrap modulo
//! 2^64, and so do sums and differences, so a difference between two copies is exact as long
//! as fewer than 2^64 units were counted in between.

use crate::{
    dmp_buckets::{LAT_BUCKETS, SIZE_BUCKETS},
    dmp_request::{IoClass, CLASSES},
};
use kernel::prelude::*;

/// A plain copy of the counters, or the difference between two copies.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Counts {
    pub(crate) reqs: [u64; CLASSES],
    pub(crate) bytes: [u64; CLASSES],
    pub(crate) fua: u64,
    pub(crate) preflush: u64,
    pub(crate) io_errors: [u64; CLASSES],
    pub(crate) other_errors: [u64; CLASSES],
    pub(crate) latency_ns: [u64; CLASSES],
    pub(crate) latency: [[u64; LAT_BUCKETS]; CLASSES],
    /// Reads' and writes' sizes.
    pub(crate) sizes: [[u64; SIZE_BUCKETS]; 2],
    /// Requests recorded as slow or failed (`dmp_slow`).
    pub(crate) slow: u64,
}

/// Applies `$f` to every counter of `$a` and `$b`, which have the same shape (a [`Counts`],
/// or the counters it copies), in field order.
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
        f(&mut a.slow, &b.slow);
    }};
}
pub(crate) use zip_counts;

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
        slow: 0,
    };

    /// Zeroes every counter, in place.
    pub(crate) fn clear(&mut self) {
        zip_counts!(self, &Self::ZERO, |a: &mut u64, _: &u64| *a = 0);
    }

    /// Adds `other` to this.
    pub(crate) fn add(&mut self, other: &Counts) {
        zip_counts!(self, other, |a: &mut u64, b: &u64| *a = a.wrapping_add(*b));
    }

    /// Makes this the difference from `base`, an earlier copy of the same counters.
    pub(crate) fn subtract(&mut self, base: &Counts) {
        zip_counts!(self, base, |a: &mut u64, b: &u64| *a = a.wrapping_sub(*b));
    }

    /// All requests counted, of every class.
    pub(crate) fn all_reqs(&self) -> u64 {
        self.reqs.iter().fold(0, |s, x| s.wrapping_add(*x))
    }
}

/// The statistics at one moment, since the last reset, and the requests in flight.
pub(crate) struct Snapshot<'a> {
    counts: &'a Counts,
    in_flight: u64,
}

impl<'a> Snapshot<'a> {
    /// The statistics `counts` since the last reset, with `in_flight` requests in flight.
    pub(crate) fn new(counts: &'a Counts, in_flight: u64) -> Self {
        Self { counts, in_flight }
    }

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

    /// Requests recorded as slow or failed, kept or overwritten since.
    pub(crate) fn slow_reqs(&self) -> u64 {
        self.counts.slow
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

/// A reset's baseline, and room for a reader's or a reset's copy of the counters: two
/// copies allocated once, so that reading and resetting allocate nothing.
pub(crate) struct Baseline {
    base: KBox<Counts>,
    scratch: KBox<Counts>,
}

impl Baseline {
    /// No reset yet.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            base: KBox::new(Counts::ZERO, GFP_KERNEL)?,
            scratch: KBox::new(Counts::ZERO, GFP_KERNEL)?,
        })
    }

    /// Runs `f` on the counters that `absolute` adds up (returning the requests in flight),
    /// less the baseline.
    pub(crate) fn snapshot<R>(
        &mut self,
        absolute: impl FnOnce(&mut Counts) -> u64,
        f: impl FnOnce(&Snapshot<'_>) -> R,
    ) -> R {
        self.scratch.clear();
        let in_flight = absolute(&mut self.scratch);
        self.scratch.subtract(&self.base);
        f(&Snapshot::new(&self.scratch, in_flight))
    }

    /// Makes the counters that `absolute` adds up the new baseline.
    pub(crate) fn reset(&mut self, absolute: impl FnOnce(&mut Counts) -> u64) {
        self.scratch.clear();
        absolute(&mut self.scratch);
        core::mem::swap(&mut self.base, &mut self.scratch);
    }
}

/// Statistics that can be read and reset: a device's, or the module-wide total.
pub(crate) trait Source {
    /// Runs `f` on the statistics since the last reset, from one consistent snapshot. Takes
    /// a mutex and allocates nothing, so it may run on a suspended device.
    fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot<'_>) -> R) -> R;

    /// Zeroes the statistics as [`Source::with_snapshot`] sees them, except the requests
    /// in flight; readers see all of it or none. Takes a mutex and allocates nothing.
    fn reset(&self);
}

#[kunit_tests(dmp_counts)]
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
        now.clear();
        assert_eq!(now, Counts::ZERO);
    }

    #[test]
    fn snapshot_views() {
        let mut c = Counts::ZERO;
        c.reqs = [2, 3, 1, 1, 1, 7];
        c.bytes = [8192, 1536, 0, 4096, 512, 0];
        let s = Snapshot::new(&c, 4);
        // Zone management, like flushes, discards and write-zeroes, is no read or write.
        assert_eq!((s.total_reqs(), s.total_bytes()), (5, 9728));
        assert_eq!((s.avg_read_size(), s.avg_write_size()), (4096, 512));
        assert_eq!(s.avg_size(), 9728 / 5);
        assert_eq!((s.in_flight(), c.all_reqs()), (4, 15));
        assert_eq!(s.reqs(IoClass::Zone), 7);
        assert!(s.size_histogram(IoClass::Flush).is_none());
        assert!(s.size_histogram(IoClass::Zone).is_none());
        assert!(s.size_histogram(IoClass::Write).is_some());
    }
}
