// SPDX-License-Identifier: GPL-2.0

//! Device-mapper targets.
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h)
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

mod bio;
mod device;
mod operations;
mod registration;
mod status;
mod target;

pub(crate) use bio::{Bio, BioOp, BlkStatus};
pub(crate) use device::{DevT, Device, DeviceId, DeviceName, MappedDevice, MappedDeviceRef};
pub(crate) use operations::{DeviceVisitor, IoctlAccess, MapResult, MessageError, Operations};
pub(crate) use registration::Module;
pub(crate) use status::{Emitter, StatusKind};
pub(crate) use target::{Args, CtrError, Features, NewTarget, Target};
