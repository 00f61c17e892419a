// SPDX-License-Identifier: GPL-2.0

//! dmp: a device-mapper proxy target that forwards every bio to an underlying device
//! and keeps I/O statistics in `/sys/kernel/dmp`.

mod bindings;
mod clock;
mod device_mapper;
mod dmp_stats;
mod dmp_sysfs;
mod dmp_target;
mod percpu;
mod sysfs;

crate::module_dm_target! {
    type: dmp_target::DmpTarget,
    name: "dmp",
    authors: ["dmp developers"],
    description: "Device-mapper proxy target with I/O statistics",
    license: "GPL",
}
