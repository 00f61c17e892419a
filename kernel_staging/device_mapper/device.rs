// SPDX-License-Identifier: GPL-2.0

//! Underlying devices of a target (`struct dm_dev`) and mapped devices
//! (`struct mapped_device`).
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h)

use crate::kernel_staging::bindings as c;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{bindings as k, error::to_result, prelude::*, str::CStrExt, types::Opaque};

/// An underlying device opened by a target's constructor (`struct dm_dev`).
///
/// Only ever seen by reference, borrowed from the [`Target`](super::Target) that opened it.
///
/// # Invariants
///
/// The wrapped `dm_dev` is held by a live target (between its `dm_get_device` and
/// `dm_put_device`) for as long as the reference is alive.
#[repr(transparent)]
pub(crate) struct Device(Opaque<c::dm_dev>);

impl Device {
    /// # Safety
    ///
    /// `ptr` is held by a live target for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: NonNull<c::dm_dev>) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `dm_dev`.
        // INVARIANT: Held for `'a` per the function's contract.
        unsafe { ptr.cast().as_ref() }
    }

    pub(super) fn raw(&self) -> *mut c::dm_dev {
        self.0.get()
    }

    pub(super) fn bdev(&self) -> *mut k::block_device {
        // SAFETY: Per the invariants the device is held, and `bdev` is set while it is.
        unsafe { (*self.raw()).bdev }
    }

    /// The device's DAX device (NULL if it has none), as device-mapper found it when it
    /// opened the device.
    #[cfg(CONFIG_FS_DAX)]
    pub(super) fn dax_dev(&self) -> *mut c::dax_device {
        // SAFETY: Per the invariants the device is held; `dax_dev` is set when it is opened
        // and never changes while it is.
        unsafe { (*self.raw()).dax_dev }
    }

    /// The first sector of the device in its disk: a partition's offset, else 0
    /// (`get_start_sect`).
    #[cfg(CONFIG_FS_DAX)]
    pub(super) fn start_sect(&self) -> u64 {
        // SAFETY: Per the invariants the device is held, so its block device is live;
        // `bd_start_sect` never changes while it is open.
        unsafe { (*self.bdev()).bd_start_sect }
    }

    /// The device's `major:minor` name, as device-mapper prints it in tables.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: Per the invariants the device is held; `name` is a NUL-terminated array
        // that never changes while it is.
        unsafe { CStr::from_char_ptr((*self.raw()).name.as_ptr()) }
    }

    /// The device's number.
    pub(crate) fn dev(&self) -> DevT {
        // SAFETY: Per the invariants the device is held, so its block device is live; `bd_dev`
        // never changes.
        DevT::from_raw(unsafe { (*self.bdev()).bd_dev })
    }

    /// The size of the device in sectors (`bdev_nr_sectors`).
    pub(crate) fn nr_sectors(&self) -> u64 {
        // SAFETY: The block device is live while held; its size may change concurrently
        // (resize), so it is read once, as `READ_ONCE` would.
        unsafe { core::ptr::read_volatile(&raw const (*self.bdev()).bd_nr_sectors) }
    }
}

/// Which of its target's devices a constructor opened, in order: the handle a target keeps
/// to find the device again through [`Target::device`](super::Target::device).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct DeviceId(pub(super) usize);

/// The devices one target holds, released on drop.
///
/// # Invariants
///
/// Each element of `devs` was obtained by `dm_get_device(ti, ..)` and is held until drop;
/// `ti` is live until then. It is dropped only in the target's constructor or destructor,
/// where device-mapper allows `dm_put_device` (the table's device list has no lock).
pub(super) struct Devices {
    ti: NonNull<c::dm_target>,
    devs: KVec<NonNull<c::dm_dev>>,
}

// SAFETY: The devices are only read through shared references, which is allowed from any
// CPU while they are held; they are released only by the owner, in ctr or dtr.
unsafe impl Send for Devices {}
// SAFETY: As above.
unsafe impl Sync for Devices {}

impl Devices {
    /// No devices yet, for the target `ti`.
    pub(super) fn new(ti: NonNull<c::dm_target>) -> Self {
        Self {
            ti,
            devs: KVec::new(),
        }
    }

    /// Opens `path` (a device path or `major:minor`) with the table's mode.
    ///
    /// # Safety
    ///
    /// The caller is `ti`'s constructor.
    pub(super) unsafe fn get(&mut self, path: &CStr) -> Result<DeviceId> {
        self.devs.reserve(1, GFP_KERNEL)?;
        let ti = self.ti.as_ptr();
        let mut dev = core::ptr::null_mut();
        // SAFETY: `ti` is live and its table is set before the constructor runs.
        let mode = unsafe { c::dm_table_get_mode((*ti).table) };
        // SAFETY: Per the function's contract we are in `ti`'s constructor; `path` is
        // NUL-terminated and `dev` is a valid out pointer.
        to_result(unsafe { c::dm_get_device(ti, path.as_char_ptr(), mode, &mut dev) })?;
        let dev = NonNull::new(dev).ok_or(EINVAL)?;
        let id = DeviceId(self.devs.len());
        // INVARIANT: `dm_get_device` succeeded, so `dev` is held for `ti`. Room was
        // reserved above, so the push cannot fail and leak the device.
        self.devs.push(dev, GFP_NOWAIT)?;
        Ok(id)
    }

    /// The device `id`, if this target opened it.
    pub(super) fn device(&self, id: DeviceId) -> Option<&Device> {
        let dev = *self.devs.get(id.0)?;
        // SAFETY: Per the invariants `dev` is held while `self` is alive.
        Some(unsafe { Device::from_raw(dev) })
    }
}

impl Drop for Devices {
    fn drop(&mut self) {
        while let Some(dev) = self.devs.pop() {
            // SAFETY: Per the invariants `dev` is held for `ti`, and we are in its
            // constructor or destructor.
            unsafe { c::dm_put_device(self.ti.as_ptr(), dev.as_ptr()) };
        }
    }
}

/// A block device number (`dev_t`), as `major:minor`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct DevT {
    /// The major number.
    pub(crate) major: u32,
    /// The minor number.
    pub(crate) minor: u32,
}

impl DevT {
    fn raw(self) -> k::dev_t {
        (self.major << k::MINORBITS) | self.minor
    }

    fn from_raw(dev: k::dev_t) -> Self {
        Self {
            major: dev >> k::MINORBITS,
            minor: dev & ((1 << k::MINORBITS) - 1),
        }
    }
}

/// The mapped device (`struct mapped_device`) a target belongs to.
///
/// # Invariants
///
/// `md` is live for `'a`: a mapped device outlives the targets of its tables.
pub(crate) struct MappedDevice<'a> {
    md: NonNull<c::mapped_device>,
    _target: PhantomData<&'a ()>,
}

impl MappedDevice<'_> {
    /// # Safety
    ///
    /// `md` is live for `'a`.
    pub(super) unsafe fn from_raw<'a>(md: NonNull<c::mapped_device>) -> MappedDevice<'a> {
        // INVARIANT: Per the function's contract.
        MappedDevice {
            md,
            _target: PhantomData,
        }
    }

    /// The device number, stable for the device's life (`/sys/block/dm-N/dev`).
    pub(crate) fn dev(&self) -> DevT {
        // SAFETY: Per the invariants `md` is live; its disk is set up before any table.
        let disk = unsafe { &*c::dm_disk(self.md.as_ptr()) };
        DevT {
            major: disk.major as u32,
            minor: disk.first_minor as u32,
        }
    }

    /// The device's current name, as `dmsetup ls` shows it.
    pub(crate) fn name(&self) -> Result<DeviceName> {
        name_of(self.md)
    }
}

/// The current name of `md`, and its uuid if `uuid` is given. Takes `dm_hash_cells_mutex`
/// and nothing else, and device-mapper never holds that mutex (or `_hash_lock`) across
/// `dm_table_destroy` (7.2: `dev_remove`, `table_clear`, `do_resume` and `table_load` drop
/// both first), so a caller may hold a lock that a target's destructor takes, or keep a
/// sysfs file's removal waiting.
fn names_of(md: NonNull<c::mapped_device>, uuid: Option<&mut DeviceUuid>) -> Result<DeviceName> {
    let mut name = DeviceName([0; c::DM_NAME_LEN as usize]);
    let uuid = uuid.map_or(core::ptr::null_mut(), |u| u.0.as_mut_ptr().cast());
    // SAFETY: The callers hold `md` live; `name` has room for `DM_NAME_LEN` bytes, the
    // longest name device-mapper accepts, with its NUL; `uuid` is NULL (not wanted) or has
    // room for `DM_UUID_LEN` bytes, the longest uuid with its NUL.
    to_result(unsafe { c::dm_copy_name_and_uuid(md.as_ptr(), name.0.as_mut_ptr().cast(), uuid) })?;
    Ok(name)
}

fn name_of(md: NonNull<c::mapped_device>) -> Result<DeviceName> {
    names_of(md, None)
}

/// A reference to a mapped device (`dm_get_md`), put on drop (`dm_put`).
///
/// Hold it only briefly: device-mapper waits for such references before it removes the
/// device.
///
/// # Invariants
///
/// This handle owns one reference to `md`.
pub(crate) struct MappedDeviceRef {
    md: NonNull<c::mapped_device>,
}

impl MappedDeviceRef {
    /// The mapped device numbered `dev`, if it exists and is not being removed.
    pub(crate) fn get(dev: DevT) -> Option<Self> {
        // SAFETY: `dm_get_md` may be called with any number; it returns a reference or
        // NULL.
        let md = NonNull::new(unsafe { c::dm_get_md(dev.raw()) })?;
        // INVARIANT: `dm_get_md` took a reference.
        Some(Self { md })
    }

    /// The device's current name.
    pub(crate) fn name(&self) -> Result<DeviceName> {
        name_of(self.md)
    }

    /// The device's uuid (empty if it was created without one; set at most once, by
    /// `dmsetup rename --setuuid`).
    pub(crate) fn uuid(&self) -> Result<DeviceUuid> {
        let mut uuid = DeviceUuid([0; c::DM_UUID_LEN as usize]);
        names_of(self.md, Some(&mut uuid))?;
        Ok(uuid)
    }
}

impl Drop for MappedDeviceRef {
    fn drop(&mut self) {
        // SAFETY: Per the invariants we own a reference.
        unsafe { c::dm_put(self.md.as_ptr()) };
    }
}

/// The name of a mapped device.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct DeviceName([u8; c::DM_NAME_LEN as usize]);

impl DeviceName {
    /// The name as a C string.
    pub(crate) fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }
}

/// The uuid of a mapped device.
pub(crate) struct DeviceUuid([u8; c::DM_UUID_LEN as usize]);

impl DeviceUuid {
    /// The uuid as a C string.
    pub(crate) fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }
}
