// SPDX-License-Identifier: GPL-2.0

//! dmp: a device-mapper proxy target that forwards every bio to an underlying device, as
//! dm-linear does, and keeps I/O statistics in `/sys/kernel/dmp`.
//!
//! The driver is the `dmp_*` files, safe Rust on the `kernel` crate and on
//! [`kernel_staging`], which holds the abstractions mainline lacks.

mod dmp_buckets;
mod dmp_counts;
mod dmp_format;
mod dmp_registry;
mod dmp_request;
mod dmp_slow;
mod dmp_stats;
mod dmp_sysfs;
mod dmp_target;
mod dmp_total;
mod kernel_staging;

crate::module_dm_target! {
    type: dmp_target::DmpTarget,
    name: "dmp",
    authors: ["dmp developers"],
    description: "Device-mapper proxy target with I/O statistics",
    license: "GPL",
}
