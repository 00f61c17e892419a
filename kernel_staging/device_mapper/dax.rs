// SPDX-License-Identifier: GPL-2.0

//! DAX (direct access to persistent memory) through a target: the page arithmetic of
//! device-mapper's `direct_access`, `dax_zero_page_range` and `dax_recovery_write`.
//!
//! C header: [`include/linux/dax.h`](srctree/include/linux/dax.h)
//!
//! A DAX page offset (`pgoff_t`) counts pages of `PAGE_SIZE` from the start of a device.
//! Device-mapper hands a target the page offset in the mapped device; the target says which
//! of its devices holds that page and at which sector
//! ([`Operations::dax_map`](super::Operations::dax_map)), and the page offset on that
//! device's DAX device is that sector plus the device's own start (a partition's offset in
//! its disk), in pages, as dm-linear computes it (`linear_dax_pgoff`).

use kernel::{bindings as k, ffi::c_int, prelude::*};

/// What a DAX operation returns for a page no DAX device holds: `-EOPNOTSUPP`, as
/// `dax_direct_access` does for a device without one.
pub(super) const NO_DAX: c_int = -(k::EOPNOTSUPP as c_int);

/// Sectors per page, as a shift: `PAGE_SECTORS_SHIFT`.
const PAGE_SECTORS_SHIFT: usize = kernel::page::PAGE_SHIFT - 9;

/// The first sector of page `pgoff`.
pub(super) fn page_to_sector(pgoff: u64) -> u64 {
    pgoff << PAGE_SECTORS_SHIFT
}

/// The page of the DAX device that holds `sector` of a device that starts at sector
/// `device_start` of it.
pub(super) fn sector_to_page(device_start: u64, sector: u64) -> u64 {
    device_start.wrapping_add(sector) >> PAGE_SECTORS_SHIFT
}

#[kunit_tests(dmp_device_mapper_dax)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_sectors() {
        let per_page = 1u64 << PAGE_SECTORS_SHIFT;
        assert_eq!(page_to_sector(0), 0);
        assert_eq!(page_to_sector(3), 3 * per_page);
        assert_eq!(sector_to_page(0, page_to_sector(7)), 7);
        // A target 2 pages into its device, on a partition 1 page into its disk.
        assert_eq!(
            sector_to_page(per_page, 2 * per_page + page_to_sector(5)),
            8
        );
    }
}
