// SPDX-License-Identifier: GPL-2.0

//! Zone reports of targets that serve zoned devices (`struct dm_report_zones_args`).
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h)
//!
//! Only in kernels with `CONFIG_BLK_DEV_ZONED`, as in C.

use super::Device;
use crate::kernel_staging::bindings as c;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::prelude::*;

/// A zone report in progress, as device-mapper hands it to one target: it asks each target
/// of the table in turn for the zones from [`ZoneReport::next_sector`] on, and the target
/// reports them from its device with [`ZoneReport::report`].
///
/// # Invariants
///
/// `args` is the report device-mapper passed to the `report_zones` callback of a live
/// target, valid and the callback's alone for `'a`; `nr_zones` is how many zones it may
/// still report.
pub(crate) struct ZoneReport<'a> {
    args: NonNull<c::dm_report_zones_args>,
    nr_zones: c_uint,
    _report: PhantomData<&'a mut c::dm_report_zones_args>,
}

impl ZoneReport<'_> {
    /// # Safety
    ///
    /// `args` is the report device-mapper passed to a `report_zones` callback with
    /// `nr_zones`, and the callback does not use it while the result is alive.
    pub(super) unsafe fn from_raw<'a>(
        args: NonNull<c::dm_report_zones_args>,
        nr_zones: c_uint,
    ) -> ZoneReport<'a> {
        // INVARIANT: Per the function's contract.
        ZoneReport {
            args,
            nr_zones,
            _report: PhantomData,
        }
    }

    /// The sector of the mapped device the report continues from, within this target.
    pub(crate) fn next_sector(&self) -> u64 {
        // SAFETY: Per the invariants `args` is valid.
        unsafe { (*self.args.as_ptr()).next_sector }
    }

    /// Reports the zones of `dev` from its sector `sector` on, for a target whose first
    /// sector lies at sector `start` of `dev` (`dm_report_zones`). Device-mapper moves each
    /// zone's start and write pointer by the target's position in the mapped device and
    /// leaves out zones past the target's end. Returns the number of zones `dev` reported.
    pub(crate) fn report(&mut self, dev: &Device, start: u64, sector: u64) -> Result<u32> {
        // SAFETY: Per the invariants `args` is a live report that is ours; `dev` is held by
        // the target, so its block device is live.
        let ret = unsafe {
            c::dm_report_zones(dev.bdev(), start, sector, self.args.as_ptr(), self.nr_zones)
        };
        kernel::error::to_result(ret)?;
        // `to_result` let only 0 and positive counts through.
        Ok(ret.unsigned_abs())
    }
}
