// SPDX-License-Identifier: GPL-2.0

//! The statistics of all dmp devices together, for `/sys/kernel/dmp`.
//!
//! The I/O path updates only its device's [`Stats`]: the total is the sum of the live
//! devices' counters and of what removed devices counted, made when it is read, so it costs
//! the I/O path nothing.

use crate::{
    dmp_counts::{Baseline, Counts, Snapshot, Source},
    dmp_stats::Stats,
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

/// The statistics of all devices together.
#[pin_data]
pub(crate) struct Total {
    #[pin]
    inner: Mutex<TotalInner>,
}

struct TotalInner {
    live: KVec<Arc<Stats>>,
    /// What the removed devices counted, from their creation to their removal.
    retired: KBox<Counts>,
    baseline: Baseline,
}

impl TotalInner {
    /// Adds the counters since the module was loaded (no reset applied) to `sum`; returns
    /// the requests in flight.
    fn absolute_into(live: &[Arc<Stats>], retired: &Counts, sum: &mut Counts) -> u64 {
        sum.add(retired);
        live.iter()
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
                    baseline: Baseline::new()?,
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
            if let Ok(gone) = inner.live.remove(i) {
                gone.absolute_into(&mut inner.retired);
            }
        }
    }
}

impl Source for Total {
    fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot<'_>) -> R) -> R {
        let mut inner = self.inner.lock();
        let TotalInner {
            live,
            retired,
            baseline,
        } = &mut *inner;
        baseline.snapshot(|sum| TotalInner::absolute_into(live, retired, sum), f)
    }

    fn reset(&self) {
        let mut inner = self.inner.lock();
        let TotalInner {
            live,
            retired,
            baseline,
        } = &mut *inner;
        baseline.reset(|sum| TotalInner::absolute_into(live, retired, sum));
    }
}

#[kunit_tests(dmp_total)]
mod tests {
    use super::*;
    use crate::dmp_request::{IoClass, Outcome, Request};

    fn req(class: IoClass, bytes: u32) -> Request {
        Request::plain(class, bytes)
    }

    #[test]
    fn total_sums_live_and_removed_devices() -> Result {
        let total = Total::new()?;
        let (a, b) = (Stats::new()?, Stats::new()?);
        total.add(&a)?;
        total.add(&b)?;
        a.started();
        b.started();
        b.completed(req(IoClass::Read, 512), 2000, Outcome::Ok, 0, |x| x);
        total.with_snapshot(|r| {
            assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (1, 512));
            assert_eq!(r.in_flight(), 1);
        });
        // A device's reset leaves the total alone; a removed device's counts stay in it.
        a.reset();
        a.completed(req(IoClass::Read, 4096), 3000, Outcome::Ok, 0, |x| x);
        total.retire(&a);
        total.with_snapshot(|r| {
            assert_eq!((r.reqs(IoClass::Read), r.bytes(IoClass::Read)), (2, 4608));
            assert_eq!((r.latency_ns(IoClass::Read), r.in_flight()), (5000, 0));
        });
        total.reset();
        b.started();
        let fua = Request {
            fua: true,
            ..req(IoClass::Write, 8192)
        };
        b.completed(fua, 1000, Outcome::Ok, 0, |x| x);
        total.with_snapshot(|r| {
            assert_eq!((r.reqs(IoClass::Read), r.reqs(IoClass::Write)), (0, 1));
            assert_eq!(
                (r.bytes(IoClass::Write), r.fua(), r.in_flight()),
                (8192, 1, 0)
            );
        });
        Ok(())
    }
}
