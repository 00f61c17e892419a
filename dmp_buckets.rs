// SPDX-License-Identifier: GPL-2.0

//! The buckets of the latency and size histograms: log2 bounds, and which bucket a value
//! falls into.
//!
//! A bucket counts values at most its bound and above the previous bucket's bound; the last
//! bucket has no bound (`+Inf`).

use kernel::prelude::*;

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

#[kunit_tests(dmp_buckets)]
mod tests {
    use super::*;

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
}
