// SPDX-License-Identifier: GPL-2.0

//! Device-mapper targets.
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h)
//!
//! Upstream: `rust/kernel/device_mapper.rs` and `rust/kernel/device_mapper/`. Mainline 7.2
//! has no device-mapper bindings at all (`rust/bindings/bindings_helper.h` does not include
//! `linux/device-mapper.h`) and no `Bio` type; [`Bio`] here is the small part of a bio a
//! target's `map` and `end_io` need, and would be built on a block-layer `Bio` once there
//! is one.
//!
//! A target type implements [`Operations`] and is registered for the life of its module by
//! [`module_dm_target!`](crate::module_dm_target). Device-mapper calls the constructor once
//! per table line (a [`NewTarget`]); the value it returns is the target's private data,
//! dropped by the destructor. The devices a constructor opens belong to the target: the
//! abstraction releases them after the private data, in the destructor, so none can
//! outlive its target. Every other callback sees the target as a [`Target`], through
//! which it reaches those devices. `map` and `end_io` take `&self` because they run on
//! many CPUs at once; what a target keeps for one bio from `map` to `end_io` is its typed
//! per-bio data ([`Operations::PerIo`]).
//!
//! A target that forwards to its devices linearly, as dm-linear does, can also serve zoned
//! devices ([`Feature::ZonedHm`] and [`Operations::report_zones`]) and DAX
//! ([`Operations::dax_map`]); device-mapper itself checks zone alignment, stacks the zone
//! limits and refuses reloads that would change them.

mod bio;
#[cfg(CONFIG_FS_DAX)]
mod dax;
mod device;
mod operations;
mod registration;
mod status;
mod target;
#[cfg(CONFIG_BLK_DEV_ZONED)]
mod zoned;

pub(crate) use bio::{Bio, BioOp, BlkStatus, OpFlags, ReqFlag};
pub(crate) use device::{DevT, Device, DeviceId, DeviceName, MappedDeviceRef};
pub(crate) use operations::{DeviceVisitor, IoctlAccess, MapResult, Operations};
pub(crate) use registration::Module;
pub(crate) use status::{Emitter, StatusKind};
pub(crate) use target::{Args, Feature, Features, NewTarget, TableId, Target, TargetError};
#[cfg(CONFIG_BLK_DEV_ZONED)]
pub(crate) use zoned::ZoneReport;
