// SPDX-License-Identifier: GPL-2.0

//! Targets (`struct dm_target`): one segment of a device-mapper table each.

use super::{
    device::{Devices, MappedDevice},
    Device, DeviceId,
};
use crate::kernel_staging::bindings as c;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{error::Error, prelude::*, str::CStrExt};

kernel::impl_flags!(
    /// A target type's features (`DM_TARGET_*`).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(crate) struct Features(u64);

    /// One target type feature.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(crate) enum Feature {
        /// The target passes integrity data through (`DM_TARGET_PASSES_INTEGRITY`).
        PassesIntegrity = c::DM_TARGET_PASSES_INTEGRITY as u64,
        /// The target supports `REQ_NOWAIT` bios (`DM_TARGET_NOWAIT`).
        Nowait = c::DM_TARGET_NOWAIT as u64,
        /// The target passes inline-encryption contexts through (`DM_TARGET_PASSES_CRYPTO`).
        PassesCrypto = c::DM_TARGET_PASSES_CRYPTO as u64,
        /// The target supports atomic writes (`DM_TARGET_ATOMIC_WRITES`).
        AtomicWrites = c::DM_TARGET_ATOMIC_WRITES as u64,
        /// The target also serves host-managed zoned devices, all of one zoned model
        /// (`DM_TARGET_ZONED_HM`; 0, so no feature, in a kernel without
        /// `CONFIG_BLK_DEV_ZONED`). Such a target implements
        /// [`Operations::report_zones`](super::Operations::report_zones).
        ZonedHm = c::DM_TARGET_ZONED_HM as u64,
    }
);

impl Features {
    /// The features in `features`, for a `const` (the operators `impl_flags!` gives are not
    /// `const`).
    pub(crate) const fn of(features: &[Feature]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < features.len() {
            bits |= features[i] as u64;
            i += 1;
        }
        Self(bits)
    }

    pub(super) const fn bits(self) -> u64 {
        self.0
    }
}

/// A refused constructor or message: a short sentence saying what is wrong, for the user,
/// and the errno. A constructor's goes to `ti->error` (device-mapper logs it with the
/// table); a message's is logged with the device's name.
pub(crate) struct TargetError {
    pub(super) msg: &'static CStr,
    pub(super) err: Error,
}

impl TargetError {
    /// A refusal explained by `msg`.
    pub(crate) fn new(msg: &'static CStr, err: Error) -> Self {
        Self { msg, err }
    }
}

/// Which table a target belongs to, as an identity: equal for the targets of one table while
/// it exists (a later table may reuse the value once this one is destroyed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TableId(usize);

/// The arguments of a table line or a message.
///
/// # Invariants
///
/// Every element of `argv` is a valid NUL-terminated string that lives for `'a`.
pub(crate) struct Args<'a> {
    argv: &'a [*mut c_char],
}

impl<'a> Args<'a> {
    /// # Safety
    ///
    /// `argv` points to `argc` valid NUL-terminated strings that live for `'a`, or `argc`
    /// is 0.
    pub(super) unsafe fn from_raw(argc: c_uint, argv: *mut *mut c_char) -> Self {
        let argv = if argc == 0 || argv.is_null() {
            &[][..]
        } else {
            // SAFETY: Per the function's contract `argv` has `argc` valid elements.
            unsafe { core::slice::from_raw_parts(argv, argc as usize) }
        };
        // INVARIANT: Per the function's contract.
        Self { argv }
    }

    /// The arguments, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a CStr> + '_ {
        self.argv.iter().map(|&p| {
            // SAFETY: Per the invariants every element is a valid NUL-terminated string that
            // lives for `'a`.
            unsafe { CStr::from_char_ptr(p) }
        })
    }
}

/// Reads the fields every target has.
///
/// # Safety
///
/// `ti` is live.
unsafe fn begin_len(ti: NonNull<c::dm_target>) -> (u64, u64) {
    // SAFETY: Per the function's contract; `begin` and `len` are set before the constructor
    // runs and never change.
    unsafe { ((*ti.as_ptr()).begin, (*ti.as_ptr()).len) }
}

/// A constructed target, as its callbacks see it.
///
/// # Invariants
///
/// `ti` is a live target for `'a` whose constructor succeeded, and `devices` are the
/// devices that constructor opened.
pub(crate) struct Target<'a> {
    ti: NonNull<c::dm_target>,
    devices: &'a Devices,
}

impl<'a> Target<'a> {
    /// # Safety
    ///
    /// `ti` is a live target for `'a` whose constructor opened `devices`.
    pub(super) unsafe fn new(ti: NonNull<c::dm_target>, devices: &'a Devices) -> Self {
        // INVARIANT: Per the function's contract.
        Self { ti, devices }
    }

    /// The first sector of the mapped device this target covers.
    pub(crate) fn begin(&self) -> u64 {
        // SAFETY: Per the invariants `ti` is live.
        unsafe { begin_len(self.ti) }.0
    }

    /// The number of sectors this target covers.
    pub(crate) fn len(&self) -> u64 {
        // SAFETY: Per the invariants `ti` is live.
        unsafe { begin_len(self.ti) }.1
    }

    /// `sector` of the mapped device, relative to this target (`dm_target_offset`).
    #[inline]
    pub(crate) fn offset_of(&self, sector: u64) -> u64 {
        sector.wrapping_sub(self.begin())
    }

    /// The device `id` that this target's constructor opened, or `None` if it opened no such
    /// device.
    #[inline]
    pub(crate) fn device(&self, id: DeviceId) -> Option<&'a Device> {
        self.devices.device(id)
    }

    /// The mapped device whose table holds this target.
    pub(crate) fn mapped_device(&self) -> MappedDevice<'a> {
        // SAFETY: Per the invariants `ti` is live, and so are its table and mapped device.
        unsafe { mapped_device_of(self.ti) }
    }

    pub(super) fn type_name_version(&self) -> (&'a CStr, [u32; 3]) {
        // SAFETY: Per the invariants `ti` is live, so its type is registered and its name
        // static.
        unsafe {
            let tt = (*self.ti.as_ptr()).type_;
            (CStr::from_char_ptr((*tt).name), (*tt).version)
        }
    }
}

/// # Safety
///
/// `ti` is live for `'a`.
unsafe fn mapped_device_of<'a>(ti: NonNull<c::dm_target>) -> MappedDevice<'a> {
    // SAFETY: Per the function's contract `ti` and its table are live; a table's mapped
    // device is set when the table is created.
    unsafe {
        let md = c::dm_table_get_md((*ti.as_ptr()).table);
        MappedDevice::from_raw(NonNull::new_unchecked(md))
    }
}

/// A target being constructed: what a constructor may set up.
///
/// # Invariants
///
/// `ti` is a live target whose constructor is running, with exclusive access to it; the
/// devices opened so far are in `devices`.
pub(crate) struct NewTarget<'a> {
    ti: NonNull<c::dm_target>,
    devices: Devices,
    _ctr: PhantomData<&'a mut c::dm_target>,
}

impl<'a> NewTarget<'a> {
    /// # Safety
    ///
    /// `ti` is a live target whose constructor is running, exclusively, for `'a`.
    pub(super) unsafe fn new(ti: NonNull<c::dm_target>) -> Self {
        // INVARIANT: Per the function's contract; no device is open yet.
        Self {
            ti,
            devices: Devices::new(ti),
            _ctr: PhantomData,
        }
    }

    /// The devices opened, for the constructed target (or to be released on failure).
    pub(super) fn into_devices(self) -> Devices {
        self.devices
    }

    /// Opens `path` (a device path or `major:minor`) with the table's mode. The device is
    /// the target's until its destructor, which releases it.
    pub(crate) fn get_device(&mut self, path: &CStr) -> Result<DeviceId> {
        // SAFETY: Per the invariants we are in `ti`'s constructor.
        unsafe { self.devices.get(path) }
    }

    /// The device `id` that this constructor opened, or `None` if it opened no such device.
    pub(crate) fn device(&self, id: DeviceId) -> Option<&Device> {
        self.devices.device(id)
    }

    /// Sets how many copies of flush, discard, secure erase and write-zeroes bios the
    /// target receives (0: it does not support them).
    pub(crate) fn set_num_bios(
        &mut self,
        flush: u32,
        discard: u32,
        secure_erase: u32,
        zeroes: u32,
    ) {
        let ti = self.ti.as_ptr();
        // SAFETY: Per the invariants the constructor has exclusive access to `ti`.
        unsafe {
            (*ti).num_flush_bios = flush;
            (*ti).num_discard_bios = discard;
            (*ti).num_secure_erase_bios = secure_erase;
            (*ti).num_write_zeroes_bios = zeroes;
        }
    }

    /// The table this target is being added to.
    pub(crate) fn table(&self) -> TableId {
        // SAFETY: Per the invariants `ti` is live; its table is set before the constructor
        // runs and never changes.
        TableId(unsafe { (*self.ti.as_ptr()).table }.addr())
    }

    /// The mapped device whose table will hold this target.
    pub(crate) fn mapped_device(&self) -> MappedDevice<'_> {
        // SAFETY: Per the invariants `ti` is live while `self` is borrowed.
        unsafe { mapped_device_of(self.ti) }
    }
}

#[kunit_tests(dmp_device_mapper_target)]
mod tests {
    use super::*;

    #[test]
    fn features_are_the_c_bits() {
        let f = Features::of(&[Feature::Nowait, Feature::AtomicWrites]);
        let bits = u64::from(c::DM_TARGET_NOWAIT | c::DM_TARGET_ATOMIC_WRITES);
        assert_eq!(f.bits(), bits);
        assert!(f.contains(Feature::Nowait) && !f.contains(Feature::PassesCrypto));
        assert_eq!(Features::of(&[]).bits(), 0);
    }
}
