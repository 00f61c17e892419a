// SPDX-License-Identifier: GPL-2.0

//! The operations of a target type, and the C callbacks that call them.
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h)

#[cfg(CONFIG_FS_DAX)]
use super::dax;
#[cfg(CONFIG_BLK_DEV_ZONED)]
use super::ZoneReport;
use super::{
    device::Devices, registration::Registration, Args, Bio, BlkStatus, Device, DeviceName, Emitter,
    Features, NewTarget, StatusKind, Target, TargetError,
};
use crate::kernel_staging::bindings as c;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings as k,
    error::{from_result, Error, VTABLE_DEFAULT_ERROR},
    prelude::*,
    str::CStrExt,
    types::ForeignOwnable,
};

/// What `map` did with a bio (`DM_MAPIO_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MapResult {
    /// The bio was remapped; device-mapper submits it (`DM_MAPIO_REMAPPED`).
    Remapped,
    /// The bio is failed with an I/O error (`DM_MAPIO_KILL`).
    Kill,
}

impl MapResult {
    fn to_raw(self) -> c_int {
        (match self {
            Self::Remapped => c::DM_MAPIO_REMAPPED,
            Self::Kill => c::DM_MAPIO_KILL,
        }) as c_int
    }
}

/// How device-mapper may pass an ioctl to the device [`Operations::prepare_ioctl`] names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IoctlAccess {
    /// The target maps the whole device: ioctls pass as they would to the device.
    WholeDevice,
    /// The target maps part of the device: device-mapper passes ioctls only for callers
    /// with `CAP_SYS_RAWIO`.
    PartOfDevice,
}

/// The operations of a device-mapper target type.
///
/// Optional methods that are not implemented are left out of the C callback table;
/// calling their default is a build error.
#[vtable]
pub(crate) trait Operations: Sized + Send + Sync + 'static {
    /// The target type's name, as tables name it.
    const NAME: &'static CStr;
    /// The target type's version (`dmsetup targets`).
    const VERSION: [u32; 3];
    /// The target type's features.
    const FEATURES: Features;

    /// State shared by every target of this type, owned by the registration.
    type Shared: Send + Sync;

    /// What the target keeps for one bio from `map` to `end_io` (device-mapper's per-bio
    /// data). `map` gets it freshly defaulted. It is `Copy` (nothing to drop), because a
    /// bio that `map` kills never completes through `end_io`.
    type PerIo: Default + Copy + Send;

    /// Makes the shared state, when the type is registered.
    fn shared() -> impl PinInit<Self::Shared, Error>;

    /// Builds a target from the arguments of one table line. Runs in process context,
    /// while the table is loaded.
    fn ctr(
        shared: &Self::Shared,
        target: &mut NewTarget<'_>,
        args: &Args<'_>,
    ) -> Result<Self, TargetError>;

    /// Maps one bio. Runs concurrently on many CPUs, in process context (possibly with
    /// `REQ_NOWAIT` bios that must not sleep).
    fn map(&self, target: &Target<'_>, bio: &mut Bio, io: &mut Self::PerIo) -> MapResult;

    /// Sees a remapped bio complete with `status`, which reaches the caller unchanged. Runs
    /// concurrently on many CPUs, in any context (often hard or soft interrupt): it must not
    /// sleep.
    ///
    /// One exception to "reaches the caller": if the bio was polled ([`Bio::is_polled`] when
    /// it was mapped) and `status` is `EAGAIN`, device-mapper does not complete the original
    /// bio but resubmits it, unpolled (`dm_handle_requeue`), so it is mapped again and its
    /// caller sees only that second completion.
    fn end_io(&self, _target: &Target<'_>, _bio: &Bio, _io: &mut Self::PerIo, _status: BlkStatus) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes the target's status text.
    fn status(&self, _target: &Target<'_>, _kind: StatusKind, _out: &mut Emitter<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles `dmsetup message`.
    fn message(&self, _target: &Target<'_>, _args: &Args<'_>) -> Result<(), TargetError> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Calls `visit` for each underlying device area, stopping at a non-zero result, which
    /// it returns.
    fn iterate_devices(&self, _target: &Target<'_>, _visit: &mut DeviceVisitor<'_>) -> i32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The device that ioctls to the mapped device go to, and how; `None` refuses them.
    fn prepare_ioctl<'a>(&self, _target: &Target<'a>) -> Option<(&'a Device, IoctlAccess)> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports the zones of the target's part of the mapped device, from
    /// [`ZoneReport::next_sector`] on, with [`ZoneReport::report`]; returns how many zones
    /// were reported. A target of a type with [`Feature::ZonedHm`](super::Feature::ZonedHm)
    /// implements it. Runs in process context; it may sleep.
    #[cfg(CONFIG_BLK_DEV_ZONED)]
    fn report_zones(&self, _target: &Target<'_>, _report: &mut ZoneReport<'_>) -> Result<u32> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Where DAX finds `sector` of the mapped device (the first sector of a page, within
    /// this target): the device and the sector on it, or `None` if no device holds it.
    ///
    /// A target that implements it supports DAX when its devices do: device-mapper's
    /// `direct_access`, `dax_zero_page_range` and `dax_recovery_write` (the loads, stores
    /// and zeroing of a file system mounted `-o dax`) go to that device's DAX device at that
    /// page, as dm-linear's do. They are not bios: `map` never sees them. Called in any
    /// context a file system accesses DAX pages in; it must not sleep.
    fn dax_map<'a>(&self, _target: &Target<'a>, _sector: u64) -> Option<(&'a Device, u64)> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The callout `iterate_devices` hands each underlying device area to.
///
/// # Invariants
///
/// `func` and `data` are the callout device-mapper passed to `iterate_devices` of the live
/// target `ti`, valid for `'a`.
pub(crate) struct DeviceVisitor<'a> {
    ti: *mut c::dm_target,
    func: unsafe extern "C" fn(
        *mut c::dm_target,
        *mut c::dm_dev,
        k::sector_t,
        k::sector_t,
        *mut c_void,
    ) -> c_int,
    data: *mut c_void,
    _callout: PhantomData<&'a ()>,
}

impl DeviceVisitor<'_> {
    /// Reports `len` sectors of `dev` starting at `start`.
    pub(crate) fn visit(&mut self, dev: &Device, start: u64, len: u64) -> i32 {
        // SAFETY: Per the invariants the callout is valid for this target; `dev` is held.
        unsafe { (self.func)(self.ti, dev.raw(), start, len, self.data) }
    }
}

/// A target's private data (`ti->private`): the value its constructor returned, and the
/// devices it opened, released after it.
struct TargetData<T> {
    data: T,
    devices: Devices,
}

/// The C callback table of `T` and its callbacks.
pub(super) struct OperationsVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OperationsVTable<T> {
    /// The callback table; `module` is set when the type is registered.
    pub(super) const VTABLE: c::target_type = c::target_type {
        features: {
            // Device-mapper asks every target of a zoned table for its zones.
            #[cfg(CONFIG_BLK_DEV_ZONED)]
            assert!(
                T::FEATURES.bits() & (super::Feature::ZonedHm as u64) == 0 || T::HAS_REPORT_ZONES,
                "a target type with Feature::ZonedHm implements report_zones"
            );
            T::FEATURES.bits()
        },
        name: kernel::str::as_char_ptr_in_const_context(T::NAME),
        module: core::ptr::null_mut(),
        version: T::VERSION,
        ctr: Some(Self::ctr_callback),
        dtr: Some(Self::dtr_callback),
        map: Some(Self::map_callback),
        clone_and_map_rq: None,
        release_clone_rq: None,
        end_io: if T::HAS_END_IO {
            Some(Self::end_io_callback)
        } else {
            None
        },
        rq_end_io: None,
        presuspend: None,
        presuspend_undo: None,
        postsuspend: None,
        preresume: None,
        resume: None,
        status: if T::HAS_STATUS {
            Some(Self::status_callback)
        } else {
            None
        },
        message: if T::HAS_MESSAGE {
            Some(Self::message_callback)
        } else {
            None
        },
        prepare_ioctl: if T::HAS_PREPARE_IOCTL {
            Some(Self::prepare_ioctl_callback)
        } else {
            None
        },
        #[cfg(CONFIG_BLK_DEV_ZONED)]
        report_zones: if T::HAS_REPORT_ZONES {
            Some(Self::report_zones_callback)
        } else {
            None
        },
        #[cfg(not(CONFIG_BLK_DEV_ZONED))]
        report_zones: None,
        busy: None,
        iterate_devices: if T::HAS_ITERATE_DEVICES {
            Some(Self::iterate_devices_callback)
        } else {
            None
        },
        io_hints: None,
        #[cfg(CONFIG_FS_DAX)]
        direct_access: if T::HAS_DAX_MAP {
            Some(Self::direct_access_callback)
        } else {
            None
        },
        #[cfg(CONFIG_FS_DAX)]
        dax_zero_page_range: if T::HAS_DAX_MAP {
            Some(Self::dax_zero_page_range_callback)
        } else {
            None
        },
        #[cfg(CONFIG_FS_DAX)]
        dax_recovery_write: if T::HAS_DAX_MAP {
            Some(Self::dax_recovery_write_callback)
        } else {
            None
        },
        #[cfg(not(CONFIG_FS_DAX))]
        direct_access: None,
        #[cfg(not(CONFIG_FS_DAX))]
        dax_zero_page_range: None,
        #[cfg(not(CONFIG_FS_DAX))]
        dax_recovery_write: None,
        list: pin_init::zeroed(),
    };

    /// # Safety
    ///
    /// `ti` is a live target of this type whose constructor succeeded, for `'a`.
    unsafe fn data<'a>(ti: *mut c::dm_target) -> &'a TargetData<T> {
        // SAFETY: Per the function's contract `private` holds what `ctr_callback` made with
        // `into_foreign`; only `dtr_callback`, which no other callback overlaps, takes it
        // back.
        unsafe { <KBox<TargetData<T>> as ForeignOwnable>::borrow((*ti).private) }
    }

    /// # Safety
    ///
    /// `ti` is a live target of this type whose constructor succeeded, for `'a`.
    unsafe fn target<'a>(ti: *mut c::dm_target) -> (&'a T, Target<'a>) {
        // SAFETY: Per the function's contract.
        let data = unsafe { Self::data(ti) };
        // SAFETY: `ti` is live and not NULL, and `devices` are the ones its constructor
        // opened.
        let target = unsafe { Target::new(NonNull::new_unchecked(ti), &data.devices) };
        (&data.data, target)
    }

    /// The per-bio data of `bio`, a clone of a target of this type.
    ///
    /// # Safety
    ///
    /// `bio` is a live clone of a target of this type, whose constructor set
    /// `per_io_data_size` to the size of `T::PerIo`.
    unsafe fn per_io(bio: *mut k::bio) -> *mut T::PerIo {
        const {
            // Device-mapper aligns per-bio data as its `dm_target_io`, to a pointer.
            assert!(core::mem::align_of::<T::PerIo>() <= core::mem::align_of::<*const u8>());
        }
        // SAFETY: Per the function's contract the bio has `size_of::<T::PerIo>()` bytes of
        // per-bio data in front of it.
        unsafe { c::dm_per_bio_data(bio, core::mem::size_of::<T::PerIo>()).cast() }
    }

    /// # Safety
    ///
    /// Called by device-mapper (`dm_table_add_target`, in process context, while a table
    /// is loaded) on a new target `ti` of a type registered by a `Registration<T>`, with
    /// `argc` valid argument strings; nothing else uses `ti` until it returns.
    unsafe extern "C" fn ctr_callback(
        ti: *mut c::dm_target,
        argc: c_uint,
        argv: *mut *mut c_char,
    ) -> c_int {
        let Some(ti) = NonNull::new(ti) else {
            return EINVAL.to_errno();
        };
        // SAFETY: Per the function's contract `ti` is of a type registered by a
        // `Registration<T>`, its arguments are valid for this call, and the constructor
        // has `ti` to itself.
        let (shared, args, mut new) = unsafe {
            (
                Registration::<T>::shared(ti),
                Args::from_raw(argc, argv),
                NewTarget::new(ti),
            )
        };
        // On failure `new` and the value are dropped here, in the constructor, which
        // releases the devices it opened.
        let result = T::ctr(shared, &mut new, &args).and_then(|data| {
            KBox::new(
                TargetData {
                    data,
                    devices: new.into_devices(),
                },
                GFP_KERNEL,
            )
            .map_err(|_| TargetError::new(c"Cannot allocate memory", ENOMEM))
        });
        match result {
            Ok(data) => {
                // SAFETY: The constructor has `ti` to itself; `dtr_callback` takes the data
                // back. Device-mapper reserves `per_io_data_size` bytes in front of each of
                // the target's bios (a `u32`; `PerIo` is a small `Copy` type).
                unsafe {
                    (*ti.as_ptr()).private = data.into_foreign();
                    (*ti.as_ptr()).per_io_data_size = core::mem::size_of::<T::PerIo>() as u32;
                }
                0
            }
            Err(e) => {
                // SAFETY: As above; `error` takes a static string.
                unsafe { (*ti.as_ptr()).error = e.msg.as_char_ptr().cast_mut() };
                e.err.to_errno()
            }
        }
    }

    /// # Safety
    ///
    /// Called once by device-mapper when the table holding `ti` is destroyed, after `ctr`
    /// succeeded for it and when no other callback of `ti` runs or can start.
    unsafe extern "C" fn dtr_callback(ti: *mut c::dm_target) {
        // SAFETY: Per the function's contract `private` holds what `ctr_callback` made, and
        // nothing borrows it any more. Dropping it drops the target's value, then releases
        // its devices, inside the destructor.
        drop(unsafe { <KBox<TargetData<T>> as ForeignOwnable>::from_foreign((*ti).private) });
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target, possibly on many CPUs at
    /// once; `bio` is a clone that this call alone may use until it returns.
    unsafe extern "C" fn map_callback(ti: *mut c::dm_target, bio: *mut k::bio) -> c_int {
        // SAFETY: Per the function's contract `bio` is a clone of this constructed target.
        let io = unsafe { Self::per_io(bio) };
        // SAFETY: The per-bio data is this call's alone until the bio is submitted; it is
        // initialised here before it is borrowed.
        let io = unsafe {
            io.write(T::PerIo::default());
            &mut *io
        };
        // SAFETY: Per the function's contract.
        let ((this, target), bio) = unsafe { (Self::target(ti), Bio::from_raw_mut(bio)) };
        this.map(&target, bio, io).to_raw()
    }

    /// # Safety
    ///
    /// Called by device-mapper (`clone_endio`, in any context) once for each bio that
    /// `map_callback` remapped, after it completed, on a live, constructed target; this call
    /// alone uses `bio` and its per-bio data until it returns; `error` is valid for reads
    /// and writes.
    unsafe extern "C" fn end_io_callback(
        ti: *mut c::dm_target,
        bio: *mut k::bio,
        error: *mut k::blk_status_t,
    ) -> c_int {
        // SAFETY: Per the function's contract; `map_callback` initialised the per-bio data.
        let (io, status) = unsafe { (&mut *Self::per_io(bio), BlkStatus::from_raw(*error)) };
        // SAFETY: Per the function's contract.
        let ((this, target), bio) = unsafe { (Self::target(ti), Bio::from_raw_mut(bio)) };
        this.end_io(&target, bio, io, status);
        c::DM_ENDIO_DONE as c_int
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target, with `result` valid for
    /// writes of `maxlen` bytes; dm-ioctl reads `result` as a C string afterwards.
    unsafe extern "C" fn status_callback(
        ti: *mut c::dm_target,
        kind: c::status_type_t,
        _flags: c_uint,
        result: *mut c_char,
        maxlen: c_uint,
    ) {
        // The emitter writes the NUL first, so the buffer is a C string whatever follows.
        // SAFETY: Per the function's contract.
        let Some(mut out) = (unsafe { Emitter::from_raw(result, maxlen) }) else {
            return;
        };
        let kind = match kind {
            c::status_type_t_STATUSTYPE_INFO => StatusKind::Info,
            c::status_type_t_STATUSTYPE_TABLE => StatusKind::Table,
            c::status_type_t_STATUSTYPE_IMA => StatusKind::Ima,
            _ => return,
        };
        // SAFETY: Per the function's contract.
        let (this, target) = unsafe { Self::target(ti) };
        this.status(&target, kind, &mut out);
    }

    /// # Safety
    ///
    /// Called by device-mapper (dm-ioctl, process context) on a live, constructed target,
    /// with `argc` valid argument strings.
    unsafe extern "C" fn message_callback(
        ti: *mut c::dm_target,
        argc: c_uint,
        argv: *mut *mut c_char,
        _result: *mut c_char,
        _maxlen: c_uint,
    ) -> c_int {
        // SAFETY: Per the function's contract.
        let ((this, target), args) = unsafe { (Self::target(ti), Args::from_raw(argc, argv)) };
        from_result(|| {
            this.message(&target, &args).map_err(|e| {
                let name = target.mapped_device().name();
                let name = name.as_ref().map_or(c"?", DeviceName::as_c_str);
                pr_warn!(
                    "{}: {}\n",
                    name.to_str().unwrap_or("?"),
                    e.msg.to_str().unwrap_or("?")
                );
                e.err
            })?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target; `func` and `data` form a
    /// callout that may be called with the target's devices until this returns.
    unsafe extern "C" fn iterate_devices_callback(
        ti: *mut c::dm_target,
        func: c::iterate_devices_callout_fn,
        data: *mut c_void,
    ) -> c_int {
        let Some(func) = func else { return 0 };
        // SAFETY: Per the function's contract.
        let (this, target) = unsafe { Self::target(ti) };
        // INVARIANT: Per the function's contract.
        let mut visitor = DeviceVisitor {
            ti,
            func,
            data,
            _callout: PhantomData,
        };
        this.iterate_devices(&target, &mut visitor)
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target that is alone in its table,
    /// with `bdev` valid for a write.
    unsafe extern "C" fn prepare_ioctl_callback(
        ti: *mut c::dm_target,
        bdev: *mut *mut k::block_device,
        _cmd: c_uint,
        _arg: c_ulong,
        _forward: *mut bool,
    ) -> c_int {
        // SAFETY: Per the function's contract.
        let (this, target) = unsafe { Self::target(ti) };
        let Some((dev, access)) = this.prepare_ioctl(&target) else {
            return ENOTTY.to_errno();
        };
        // SAFETY: Per the function's contract `bdev` is valid for a write; the device is
        // held by the target, which device-mapper keeps live while it uses `bdev`.
        unsafe { *bdev = dev.bdev() };
        // 0: pass the ioctl on; 1: pass it on only for callers with `CAP_SYS_RAWIO`.
        match access {
            IoctlAccess::WholeDevice => 0,
            IoctlAccess::PartOfDevice => 1,
        }
    }

    /// # Safety
    ///
    /// Called by device-mapper (`dm_blk_do_report_zones`, process context) on a live,
    /// constructed target, with `args` a zone report that this call alone uses until it
    /// returns.
    #[cfg(CONFIG_BLK_DEV_ZONED)]
    unsafe extern "C" fn report_zones_callback(
        ti: *mut c::dm_target,
        args: *mut c::dm_report_zones_args,
        nr_zones: c_uint,
    ) -> c_int {
        let Some(args) = NonNull::new(args) else {
            return EINVAL.to_errno();
        };
        // SAFETY: Per the function's contract.
        let ((this, target), mut report) =
            unsafe { (Self::target(ti), ZoneReport::from_raw(args, nr_zones)) };
        match this.report_zones(&target, &mut report) {
            Ok(n) => c_int::try_from(n).unwrap_or(c_int::MAX),
            Err(e) => e.to_errno(),
        }
    }

    /// The DAX device and page that page `pgoff` of the mapped device lies on, or `None`.
    #[cfg(CONFIG_FS_DAX)]
    fn dax_page(
        this: &T,
        target: &Target<'_>,
        pgoff: c_ulong,
    ) -> Option<(*mut c::dax_device, c_ulong)> {
        let (dev, sector) =
            this.dax_map(target, dax::page_to_sector(u64::try_from(pgoff).ok()?))?;
        let dax_dev = dev.dax_dev();
        if dax_dev.is_null() {
            return None;
        }
        let pgoff = dax::sector_to_page(dev.start_sect(), sector);
        Some((dax_dev, c_ulong::try_from(pgoff).ok()?))
    }

    /// # Safety
    ///
    /// Called by device-mapper (`dm_dax_direct_access`, inside a DAX read lock) on a live,
    /// constructed target, with `kaddr` and `pfn` as `dax_direct_access` takes them.
    #[cfg(CONFIG_FS_DAX)]
    unsafe extern "C" fn direct_access_callback(
        ti: *mut c::dm_target,
        pgoff: c_ulong,
        nr_pages: c_long,
        mode: c::dax_access_mode,
        kaddr: *mut *mut c_void,
        pfn: *mut c_ulong,
    ) -> c_long {
        // SAFETY: Per the function's contract.
        let (this, target) = unsafe { Self::target(ti) };
        let Some((dax_dev, pgoff)) = Self::dax_page(this, &target, pgoff) else {
            return dax::NO_DAX as c_long;
        };
        // SAFETY: `dax_dev` is the DAX device of a device the target holds, which
        // device-mapper keeps while the table is live; the other arguments are the caller's.
        unsafe { c::dax_direct_access(dax_dev, pgoff, nr_pages, mode, kaddr, pfn) }
    }

    /// # Safety
    ///
    /// Called by device-mapper (`dm_dax_zero_page_range`, inside a DAX read lock) on a live,
    /// constructed target.
    #[cfg(CONFIG_FS_DAX)]
    unsafe extern "C" fn dax_zero_page_range_callback(
        ti: *mut c::dm_target,
        pgoff: c_ulong,
        nr_pages: usize,
    ) -> c_int {
        // SAFETY: Per the function's contract.
        let (this, target) = unsafe { Self::target(ti) };
        let Some((dax_dev, pgoff)) = Self::dax_page(this, &target, pgoff) else {
            return dax::NO_DAX;
        };
        // SAFETY: As in `direct_access_callback`.
        unsafe { c::dax_zero_page_range(dax_dev, pgoff, nr_pages) }
    }

    /// # Safety
    ///
    /// Called by device-mapper (`dm_dax_recovery_write`, inside a DAX read lock) on a live,
    /// constructed target, with `addr` and `i` as `dax_recovery_write` takes them.
    #[cfg(CONFIG_FS_DAX)]
    unsafe extern "C" fn dax_recovery_write_callback(
        ti: *mut c::dm_target,
        pgoff: c_ulong,
        addr: *mut c_void,
        bytes: usize,
        i: *mut k::iov_iter,
    ) -> usize {
        // SAFETY: Per the function's contract.
        let (this, target) = unsafe { Self::target(ti) };
        let Some((dax_dev, pgoff)) = Self::dax_page(this, &target, pgoff) else {
            return 0;
        };
        // SAFETY: As in `direct_access_callback`; `addr` and `i` are the caller's.
        unsafe { c::dax_recovery_write(dax_dev, pgoff, addr, bytes, i) }
    }
}
