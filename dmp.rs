// SPDX-License-Identifier: GPL-2.0

//! dmp: a device-mapper proxy target that forwards every bio to an underlying device
//! and keeps I/O statistics in `/sys/kernel/dmp`.

mod device_mapper;
mod dmp_stats;
mod dmp_sysfs;
mod dmp_target;
mod sysfs;

use device_mapper::{features, Registration};
use dmp_target::{DmpTarget, Shared};
use kernel::prelude::*;

module! {
    type: DmpModule,
    name: "dmp",
    authors: ["dmp developers"],
    description: "Device-mapper proxy target with I/O statistics",
    license: "GPL",
}

#[pin_data]
struct DmpModule {
    #[pin]
    target: Registration<DmpTarget>,
}

impl kernel::InPlaceModule for DmpModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            target <- Registration::new(
                c"dmp",
                [1, 0, 0],
                features::NOWAIT
                    | features::PASSES_INTEGRITY
                    | features::PASSES_CRYPTO
                    | features::ATOMIC_WRITES,
                module,
                Shared::new(),
            ),
        })
    }
}
