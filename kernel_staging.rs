// SPDX-License-Identifier: GPL-2.0

//! A staging area for code to mature until it can be moved to the `kernel` crate.
//!
//! Everything here is a safe abstraction over a C API that the `kernel` crate of 7.2 does not
//! bind, written to the review bar of `rust/kernel/block/mq/`: each file's header names where
//! upstream it would go and what mainline lacks for it. This is the only place in dmp with
//! `unsafe` code and C bindings; the driver (the `dmp_*` files at the crate root) uses these
//! modules and the `kernel` crate alone.

pub(crate) mod bindings;
pub(crate) mod clock;
pub(crate) mod cpu_slots;
pub(crate) mod device_mapper;
pub(crate) mod sysfs;
pub(crate) mod trace_events;
