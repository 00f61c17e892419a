// SPDX-License-Identifier: GPL-2.0

//! A monotonic clock whose reads are inlined into the caller, and the wall clock.
//!
//! C header: [`include/linux/timekeeping.h`](srctree/include/linux/timekeeping.h)
//!
//! Upstream this file would not exist: it is a workaround for one missing `#[inline]`.
//! [`kernel::time::Monotonic`]'s `ClockSource::ktime_get` in `rust/kernel/time.rs` is not
//! `#[inline]`, so in a module each [`Instant::now`](kernel::time::Instant::now) is a call
//! of the kernel crate's function, which calls `ktime_get()`. [`InlineMonotonic`] is the same
//! clock, `CLOCK_MONOTONIC` read by `ktime_get()`, called directly: one call less per clock
//! read on the I/O path. With `#[inline]` on `Monotonic::ktime_get` upstream, dmp would use
//! `Monotonic` and drop this file.

use kernel::{bindings, prelude::*, time::ClockSource};

/// `CLOCK_MONOTONIC`, read by `ktime_get()` (as [`kernel::time::Monotonic`]).
pub(crate) struct InlineMonotonic;

// SAFETY: `ktime_get()` returns the monotonic time since boot in nanoseconds, which is in
// `0..=KTIME_MAX`.
unsafe impl ClockSource for InlineMonotonic {
    const ID: bindings::clockid_t = bindings::CLOCK_MONOTONIC as bindings::clockid_t;

    #[inline(always)]
    fn ktime_get() -> bindings::ktime_t {
        // SAFETY: As for `Monotonic`: `ktime_get()` may be called in any context but NMI.
        unsafe { bindings::ktime_get() }
    }
}

/// The wall-clock time (`CLOCK_REALTIME`, `ktime_get_real()`) in nanoseconds since the
/// epoch: for timestamps people read, not for intervals (it jumps when the clock is set).
/// Any context but NMI.
pub(crate) fn wall_clock_ns() -> u64 {
    // SAFETY: `ktime_get_real()` may be called in any context but NMI.
    let t = unsafe { bindings::ktime_get_real() };
    u64::try_from(t).unwrap_or(0)
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

    #[test]
    fn the_wall_clock_is_after_2025() {
        // 2025-01-01T00:00:00Z.
        assert!(wall_clock_ns() > 1_735_689_600_000_000_000);
    }
}
