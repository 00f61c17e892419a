// SPDX-License-Identifier: GPL-2.0

//! A monotonic clock whose reads are inlined into the caller.
//!
//! C header: [`include/linux/timekeeping.h`](srctree/include/linux/timekeeping.h)
//!
//! [`kernel::time::Monotonic`] reads `ktime_get()` from a function of the kernel crate that is
//! not `#[inline]`, so in a module each [`Instant::now`](kernel::time::Instant::now) is a
//! call into a call. [`InlineMonotonic`] is the same clock, `CLOCK_MONOTONIC` read by
//! `ktime_get()`, called directly: one call less per clock read on the I/O path.

use kernel::{bindings, prelude::*, time::ClockSource};

/// `CLOCK_MONOTONIC`, read by `ktime_get()` (as [`kernel::time::Monotonic`]).
pub(crate) struct InlineMonotonic;

// SAFETY: `ktime_get()` returns the monotonic time since boot in nanoseconds, which is in
// `0..=KTIME_MAX`.
unsafe impl ClockSource for InlineMonotonic {
    const ID: bindings::clockid_t = bindings::CLOCK_MONOTONIC as bindings::clockid_t;

    #[inline(always)]
    fn ktime_get() -> bindings::ktime_t {
        // SAFETY: `ktime_get()` may be called in any context but NMI; device-mapper never
        // maps or completes a bio in NMI context, and nothing else in dmp reads the clock.
        unsafe { bindings::ktime_get() }
    }
}

/// A clock that is never read: always 0, so every latency is 0 (the benchmark's
/// `dmp-noclock` build, which measures what the two clock reads per request cost).
#[cfg(dmp_no_clock)]
pub(crate) struct FrozenClock;

// SAFETY: 0 is in `0..=KTIME_MAX`.
#[cfg(dmp_no_clock)]
unsafe impl ClockSource for FrozenClock {
    const ID: bindings::clockid_t = bindings::CLOCK_MONOTONIC as bindings::clockid_t;

    #[inline(always)]
    fn ktime_get() -> bindings::ktime_t {
        0
    }
}

#[kunit_tests(dmp_clock)]
mod tests {
    use super::*;
    use kernel::time::{Instant, Monotonic};

    #[test]
    fn the_same_clock_as_monotonic() {
        assert_eq!(InlineMonotonic::ID, Monotonic::ID);
        // `a` is read first and its age last, so on one clock it is at least `b`'s age.
        let a = Instant::<Monotonic>::now();
        let b = Instant::<InlineMonotonic>::now();
        let age_b = b.elapsed().as_nanos();
        let age_a = a.elapsed().as_nanos();
        assert!(0 <= age_b && age_b <= age_a);
        // The reverse, across a sleep-free busy interval.
        let b = Instant::<InlineMonotonic>::now();
        let a = Instant::<Monotonic>::now();
        let age_a = a.elapsed().as_nanos();
        let age_b = b.elapsed().as_nanos();
        assert!(0 <= age_a && age_a <= age_b);
    }
}
