// SPDX-License-Identifier: GPL-2.0

//! Device-mapper targets.
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h)
//!
//! A target type is a [`Registration`] of a type implementing [`Operations`]. Device-mapper
//! calls the constructor once per table line; the value it returns becomes the target's
//! private data and is dropped by the destructor. `map` takes `&self` because it runs on
//! many CPUs at once.

use core::{fmt, marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings as k,
    error::{to_result, Error},
    prelude::*,
    str::CStrExt,
    types::Opaque,
    ThisModule,
};

/// The generated bindings for `linux/device-mapper.h` (see `Kbuild`).
#[allow(
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unknown_lints,
    unnecessary_transmutes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]
mod dm {
    use kernel::bindings::*;
    use kernel::ffi;
    use pin_init::MaybeZeroable;

    include!("dm_bindings_generated.rs");
}

/// Target features (`DM_TARGET_*`).
pub(crate) mod features {
    use super::dm;

    /// The target passes integrity data through.
    pub(crate) const PASSES_INTEGRITY: u64 = dm::DM_TARGET_PASSES_INTEGRITY as u64;
    /// The target supports `REQ_NOWAIT` bios.
    pub(crate) const NOWAIT: u64 = dm::DM_TARGET_NOWAIT as u64;
    /// The target passes inline-encryption contexts through.
    pub(crate) const PASSES_CRYPTO: u64 = dm::DM_TARGET_PASSES_CRYPTO as u64;
    /// The target supports atomic writes.
    pub(crate) const ATOMIC_WRITES: u64 = dm::DM_TARGET_ATOMIC_WRITES as u64;
}

/// A constructor failure: the message device-mapper reports (`ti->error`) and the errno.
pub(crate) struct CtrError {
    msg: &'static CStr,
    err: Error,
}

impl CtrError {
    /// A failure reported to the user as `msg`.
    pub(crate) fn new(msg: &'static CStr, err: Error) -> Self {
        Self { msg, err }
    }
}

/// A refused message: what is logged, and the errno returned to `dmsetup message`.
pub(crate) struct MessageError {
    msg: &'static CStr,
    err: Error,
}

impl MessageError {
    /// A refusal explained by `msg`.
    pub(crate) fn new(msg: &'static CStr, err: Error) -> Self {
        Self { msg, err }
    }
}

/// What `map` did with a bio (`DM_MAPIO_*`).
pub(crate) enum MapResult {
    /// The bio was remapped; device-mapper submits it.
    Remapped,
}

/// Which status `dmsetup` asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusKind {
    /// `dmsetup status`: live information.
    Info,
    /// `dmsetup table`: the constructor arguments.
    Table,
    /// The IMA measurement of the table.
    Ima,
}

/// The operations of a device-mapper target type.
#[vtable]
pub(crate) trait Operations: Sized + Send + Sync {
    /// State shared by every target of this type, owned by the [`Registration`].
    type Shared: Send + Sync;

    /// Builds a target from the arguments of one table line.
    fn ctr(
        shared: &Self::Shared,
        target: &mut Target,
        args: &Args<'_>,
    ) -> Result<KBox<Self>, CtrError>;

    /// Maps one bio. Runs concurrently on many CPUs.
    fn map(&self, target: &Target, bio: &mut Bio) -> MapResult;

    /// Writes the target's status line.
    fn status(&self, _target: &Target, _kind: StatusKind, _out: &mut Emitter<'_>) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Handles `dmsetup message`.
    fn message(&self, _target: &Target, _args: &Args<'_>) -> Result<(), MessageError> {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Calls `visit` for each underlying device area, stopping at a non-zero result.
    fn iterate_devices(&self, _target: &Target, _visit: &mut DeviceVisitor<'_>) -> i32 {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The device ioctls go to, and whether the target covers all of it (only then are
    /// they passed through without checks).
    fn prepare_ioctl(&self, _target: &Target) -> (&Device, bool) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The arguments of a table line or a message.
pub(crate) struct Args<'a> {
    argv: &'a [*mut c_char],
}

impl<'a> Args<'a> {
    /// # Safety
    ///
    /// `argv` points to `argc` valid NUL-terminated strings that live for `'a`, or `argc`
    /// is 0.
    unsafe fn from_raw(argc: c_uint, argv: *mut *mut c_char) -> Self {
        let argv = if argc == 0 || argv.is_null() {
            &[][..]
        } else {
            // SAFETY: Per the function's contract `argv` has `argc` valid elements.
            unsafe { core::slice::from_raw_parts(argv, argc as usize) }
        };
        Self { argv }
    }

    /// The arguments, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a CStr> + '_ {
        self.argv.iter().map(|&p| {
            // SAFETY: Per the invariant of `from_raw` every element is a valid
            // NUL-terminated string that lives for `'a`.
            unsafe { CStr::from_char_ptr(p) }
        })
    }
}

/// A target: one line of a device-mapper table (`struct dm_target`).
#[repr(transparent)]
pub(crate) struct Target(Opaque<dm::dm_target>);

impl Target {
    /// # Safety
    ///
    /// `ptr` points to a live `dm_target` for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut dm::dm_target) -> &'a Self {
        // SAFETY: `Target` is a transparent wrapper of `dm_target`, alive per the contract.
        unsafe { &*ptr.cast() }
    }

    /// # Safety
    ///
    /// `ptr` points to a live `dm_target` for `'a` that nothing else accesses meanwhile.
    unsafe fn from_raw_mut<'a>(ptr: *mut dm::dm_target) -> &'a mut Self {
        // SAFETY: As for `from_raw`, and access is exclusive per the contract.
        unsafe { &mut *ptr.cast() }
    }

    fn raw(&self) -> *mut dm::dm_target {
        self.0.get()
    }

    /// The first sector of the mapped device this target covers.
    pub(crate) fn begin(&self) -> u64 {
        // SAFETY: `begin` is set before the constructor runs and never changes.
        unsafe { (*self.raw()).begin }
    }

    /// The number of sectors this target covers.
    pub(crate) fn len(&self) -> u64 {
        // SAFETY: `len` is set before the constructor runs and never changes.
        unsafe { (*self.raw()).len }
    }

    /// `sector` of the mapped device, relative to this target (`dm_target_offset`).
    pub(crate) fn offset_of(&self, sector: u64) -> u64 {
        sector.wrapping_sub(self.begin())
    }

    /// Sets how many copies of flush, discard, secure erase and write-zeroes bios the
    /// target receives (0 means it does not support them).
    pub(crate) fn set_num_bios(
        &mut self,
        flush: u32,
        discard: u32,
        secure_erase: u32,
        zeroes: u32,
    ) {
        let ti = self.raw();
        // SAFETY: `&mut self` means the constructor is running, with exclusive access.
        unsafe {
            (*ti).num_flush_bios = flush;
            (*ti).num_discard_bios = discard;
            (*ti).num_secure_erase_bios = secure_erase;
            (*ti).num_write_zeroes_bios = zeroes;
        }
    }

    /// Opens `path` (a device path or `major:minor`) with the table's mode.
    pub(crate) fn get_device(&mut self, path: &CStr) -> Result<Device> {
        let ti = self.raw();
        let mut dev = core::ptr::null_mut();
        // SAFETY: `ti` is live and its table is set before the constructor runs.
        let mode = unsafe { dm::dm_table_get_mode((*ti).table) };
        // SAFETY: `ti` is live, `path` is NUL-terminated and `dev` is a valid out pointer.
        to_result(unsafe { dm::dm_get_device(ti, path.as_char_ptr(), mode, &mut dev) })?;
        let dev = NonNull::new(dev).ok_or(EINVAL)?;
        // INVARIANT: `dm_get_device` succeeded, so `dev` is held for `ti`.
        Ok(Device { ti, dev })
    }

    /// The mapped device whose table holds this target.
    pub(crate) fn mapped_device(&self) -> MappedDevice<'_> {
        // SAFETY: The table of a live target is live.
        let md = unsafe { dm::dm_table_get_md((*self.raw()).table) };
        MappedDevice {
            md,
            _target: PhantomData,
        }
    }

    fn type_name_version(&self) -> (&CStr, [u32; 3]) {
        // SAFETY: A live target's type is registered, so it and its name are live.
        unsafe {
            let tt = (*self.raw()).type_;
            (CStr::from_char_ptr((*tt).name), (*tt).version)
        }
    }
}

/// The mapped device (`struct mapped_device`) a target belongs to.
pub(crate) struct MappedDevice<'a> {
    md: *mut dm::mapped_device,
    _target: PhantomData<&'a Target>,
}

impl MappedDevice<'_> {
    /// An identity that stays the same across table reloads, until the device is removed.
    pub(crate) fn id(&self) -> usize {
        self.md as usize
    }

    /// The device's current name, as `dmsetup ls` shows it.
    pub(crate) fn name(&self) -> Result<DeviceName> {
        let mut name = DeviceName([0; dm::DM_NAME_LEN as usize]);
        // SAFETY: `md` is live while the target is; `name` has room for `DM_NAME_LEN`
        // bytes, the longest name device-mapper accepts, with its NUL.
        to_result(unsafe {
            dm::dm_copy_name_and_uuid(self.md, name.0.as_mut_ptr().cast(), core::ptr::null_mut())
        })?;
        Ok(name)
    }
}

/// The name of a mapped device.
pub(crate) struct DeviceName([u8; dm::DM_NAME_LEN as usize]);

impl DeviceName {
    /// The name as a C string.
    pub(crate) fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }
}

/// An underlying device opened by a target (`struct dm_dev`), released on drop.
///
/// # Invariants
///
/// `dev` was obtained by `dm_get_device(ti, ..)` and is held until drop; `ti` outlives
/// it because only the target's private data, dropped by the destructor, owns it.
pub(crate) struct Device {
    ti: *mut dm::dm_target,
    dev: NonNull<dm::dm_dev>,
}

// SAFETY: A held `dm_dev` may be used and released from any thread.
unsafe impl Send for Device {}
// SAFETY: Shared access only reads the device's block device and name.
unsafe impl Sync for Device {}

impl Device {
    fn bdev(&self) -> *mut k::block_device {
        // SAFETY: Per the invariants `dev` is held, and `bdev` is set while it is.
        unsafe { (*self.dev.as_ptr()).bdev }
    }

    /// The device's `major:minor` name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: Per the invariants `dev` is held; `name` is a NUL-terminated array.
        unsafe { CStr::from_char_ptr((*self.dev.as_ptr()).name.as_ptr()) }
    }

    /// The size of the device in sectors (`bdev_nr_sectors`).
    pub(crate) fn nr_sectors(&self) -> u64 {
        // SAFETY: The block device is live while held; the size may change concurrently
        // (resize), so it is read once, as `READ_ONCE` would.
        unsafe { core::ptr::read_volatile(&raw const (*self.bdev()).bd_nr_sectors) }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: Per the invariants `dev` is held for the live target `ti`.
        unsafe { dm::dm_put_device(self.ti, self.dev.as_ptr()) };
    }
}

/// The operation of a bio, compared exactly (`bio_op`), never by bit tests.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum BioOp {
    /// `REQ_OP_READ`.
    Read,
    /// `REQ_OP_WRITE`, including empty flushes (`REQ_PREFLUSH` with no data).
    Write,
    /// `REQ_OP_DISCARD`.
    Discard,
    /// `REQ_OP_SECURE_ERASE`.
    SecureErase,
    /// `REQ_OP_WRITE_ZEROES`.
    WriteZeroes,
    /// Anything else (zone management, driver-private operations).
    Other,
}

/// A bio being mapped (`struct bio`).
#[repr(transparent)]
pub(crate) struct Bio(Opaque<k::bio>);

impl Bio {
    /// # Safety
    ///
    /// `ptr` points to a live bio that the caller may modify exclusively for `'a`.
    unsafe fn from_raw_mut<'a>(ptr: *mut k::bio) -> &'a mut Self {
        // SAFETY: `Bio` is a transparent wrapper of `bio`; exclusive per the contract.
        unsafe { &mut *ptr.cast() }
    }

    fn raw(&self) -> *mut k::bio {
        self.0.get()
    }

    /// The operation.
    pub(crate) fn op(&self) -> BioOp {
        // SAFETY: The bio is live and ours while mapping.
        let opf = unsafe { (*self.raw()).bi_opf };
        match opf & ((1 << k::REQ_OP_BITS) - 1) {
            k::req_op_REQ_OP_READ => BioOp::Read,
            k::req_op_REQ_OP_WRITE => BioOp::Write,
            k::req_op_REQ_OP_DISCARD => BioOp::Discard,
            k::req_op_REQ_OP_SECURE_ERASE => BioOp::SecureErase,
            k::req_op_REQ_OP_WRITE_ZEROES => BioOp::WriteZeroes,
            _ => BioOp::Other,
        }
    }

    /// The number of bytes the bio covers (`bi_iter.bi_size`).
    pub(crate) fn size(&self) -> u32 {
        // SAFETY: The bio is live and ours while mapping.
        unsafe { (*self.raw()).bi_iter.bi_size }
    }

    /// The first sector.
    pub(crate) fn sector(&self) -> u64 {
        // SAFETY: The bio is live and ours while mapping.
        unsafe { (*self.raw()).bi_iter.bi_sector }
    }

    /// Sets the first sector.
    pub(crate) fn set_sector(&mut self, sector: u64) {
        // SAFETY: The bio is live and exclusively ours while mapping.
        unsafe { (*self.raw()).bi_iter.bi_sector = sector };
    }

    /// Points the bio at `dev` (`bio_set_dev`).
    pub(crate) fn set_dev(&mut self, dev: &Device) {
        let bio = self.raw();
        let bdev = dev.bdev();
        let bit = |b: u32| !(1u16 << b);
        // SAFETY: The bio is live and exclusively ours while mapping; `bdev` is held. This
        // is `bio_set_dev()`, a static inline function bindgen cannot expose.
        unsafe {
            (*bio).bi_flags &= bit(k::BIO_REMAPPED);
            if (*bio).bi_bdev != bdev {
                (*bio).bi_flags &= bit(k::BIO_BPS_THROTTLED);
            }
            (*bio).bi_bdev = bdev;
            k::bio_associate_blkg(bio);
        }
    }
}

/// Writes status text into device-mapper's buffer, always NUL-terminated, truncating
/// like `DMEMIT` (device-mapper retries with a larger buffer when it fills up).
pub(crate) struct Emitter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Emitter<'a> {
    /// # Safety
    ///
    /// `result` is valid for writes of `maxlen` bytes for `'a`.
    unsafe fn from_raw(result: *mut c_char, maxlen: c_uint) -> Option<Self> {
        if result.is_null() {
            return None;
        }
        // SAFETY: Per the function's contract.
        Self::new(unsafe { core::slice::from_raw_parts_mut(result.cast::<u8>(), maxlen as usize) })
    }

    /// An emitter writing into `buf`, which it empties; `None` if `buf` has no room even
    /// for the NUL.
    pub(crate) fn new(buf: &'a mut [u8]) -> Option<Self> {
        *buf.first_mut()? = 0;
        Some(Self { buf, len: 0 })
    }

    /// The text written so far, without the NUL.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Appends raw bytes.
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) {
        let room = self.buf.len() - 1 - self.len;
        let n = bytes.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        self.buf[self.len] = 0;
    }

    /// Appends `target_name=<name>,target_version=<x.y.z>` (`DMEMIT_TARGET_NAME_VERSION`).
    pub(crate) fn target_name_version(&mut self, target: &Target) {
        let (name, [a, b, c]) = target.type_name_version();
        self.write_bytes(b"target_name=");
        self.write_bytes(name.to_bytes());
        let _ = fmt::Write::write_fmt(self, format_args!(",target_version={a}.{b}.{c}"));
    }
}

impl fmt::Write for Emitter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// The callout `iterate_devices` hands each underlying device area to.
pub(crate) struct DeviceVisitor<'a> {
    ti: *mut dm::dm_target,
    func: unsafe extern "C" fn(
        *mut dm::dm_target,
        *mut dm::dm_dev,
        k::sector_t,
        k::sector_t,
        *mut c_void,
    ) -> c_int,
    data: *mut c_void,
    _target: PhantomData<&'a Target>,
}

impl DeviceVisitor<'_> {
    /// Reports `len` sectors of `dev` starting at `start`.
    pub(crate) fn visit(&mut self, dev: &Device, start: u64, len: u64) -> i32 {
        // SAFETY: Device-mapper passed `func` and `data` for this target; `dev` is held.
        unsafe { (self.func)(self.ti, dev.dev.as_ptr(), start, len, self.data) }
    }
}

/// A registered target type, unregistered on drop.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Operations> {
    #[pin]
    shared: T::Shared,
    #[pin]
    tt: Opaque<dm::target_type>,
}

// SAFETY: After registration only device-mapper touches `tt`, under its own locks; the
// shared state is `Sync` by the trait's bound.
unsafe impl<T: Operations> Sync for Registration<T> {}
// SAFETY: Registration and unregistration may happen on any thread.
unsafe impl<T: Operations> Send for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Registers the target type `name`, whose targets share `shared`.
    pub(crate) fn new(
        name: &'static CStr,
        version: [u32; 3],
        features: u64,
        module: &'static ThisModule,
        shared: impl PinInit<T::Shared, Error>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            shared <- shared,
            tt <- Opaque::try_ffi_init(move |slot: *mut dm::target_type| {
                let mut tt: dm::target_type = pin_init::zeroed();
                tt.name = name.as_char_ptr();
                tt.module = module.as_ptr();
                tt.version = version;
                tt.features = features;
                tt.ctr = Some(Self::ctr_callback);
                tt.dtr = Some(Self::dtr_callback);
                tt.map = Some(Self::map_callback);
                if T::HAS_STATUS {
                    tt.status = Some(Self::status_callback);
                }
                if T::HAS_MESSAGE {
                    tt.message = Some(Self::message_callback);
                }
                if T::HAS_ITERATE_DEVICES {
                    tt.iterate_devices = Some(Self::iterate_devices_callback);
                }
                if T::HAS_PREPARE_IOCTL {
                    tt.prepare_ioctl = Some(Self::prepare_ioctl_callback);
                }
                // SAFETY: `slot` is valid for writes and pinned.
                unsafe { slot.write(tt) };
                // SAFETY: `slot` is fully initialised; `shared` is initialised before it
                // (field order above), so callbacks may use it as soon as this returns.
                to_result(unsafe { dm::dm_register_target(slot) })
            }),
        })
    }

    /// # Safety
    ///
    /// `ti` is a live target of a type registered by a `Registration<T>`.
    unsafe fn shared<'a>(ti: *mut dm::dm_target) -> &'a T::Shared {
        // SAFETY: Per the contract `ti->type` is the `tt` field of a live, pinned
        // `Registration<T>`, which outlives its targets.
        unsafe {
            let tt = (*ti).type_.cast::<Opaque<dm::target_type>>();
            let reg: *const Self = kernel::container_of!(tt, Self, tt);
            &(*reg).shared
        }
    }

    /// # Safety
    ///
    /// `ti` is a live target of this type whose constructor succeeded.
    unsafe fn private<'a>(ti: *mut dm::dm_target) -> &'a T {
        // SAFETY: Per the contract `private` holds the `KBox<T>` the constructor made.
        unsafe { &*(*ti).private.cast::<T>() }
    }

    /// # Safety
    ///
    /// Called by device-mapper (`dm_table_add_target`, under the table's load, in process
    /// context) on a new target `ti` of a type registered by a `Registration<T>`, with
    /// `argc` valid argument strings; nothing else uses `ti` until it returns.
    unsafe extern "C" fn ctr_callback(
        ti: *mut dm::dm_target,
        argc: c_uint,
        argv: *mut *mut c_char,
    ) -> c_int {
        // SAFETY: Device-mapper calls the constructor on a live target of this type, with
        // `argc` valid arguments, and nothing else touches the target meanwhile.
        let (shared, target, args) = unsafe {
            (
                Self::shared(ti),
                Target::from_raw_mut(ti),
                Args::from_raw(argc, argv),
            )
        };
        match T::ctr(shared, target, &args) {
            Ok(this) => {
                // SAFETY: As above; `dtr_callback` takes the box back.
                unsafe { (*ti).private = KBox::into_raw(this).cast() };
                0
            }
            Err(e) => {
                // SAFETY: As above; `error` takes a static string.
                unsafe { (*ti).error = e.msg.as_char_ptr().cast_mut() };
                e.err.to_errno()
            }
        }
    }

    /// # Safety
    ///
    /// Called once by device-mapper when the table holding `ti` is destroyed, after `ctr`
    /// succeeded for it and when no other callback of `ti` can run.
    unsafe extern "C" fn dtr_callback(ti: *mut dm::dm_target) {
        // SAFETY: The destructor runs once, after the constructor succeeded, when no other
        // callback can run; `private` holds the box made by `ctr_callback`.
        drop(unsafe { KBox::from_raw((*ti).private.cast::<T>()) });
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target, possibly on many CPUs at
    /// once; `bio` is a clone that this call alone may change until it returns.
    unsafe extern "C" fn map_callback(ti: *mut dm::dm_target, bio: *mut k::bio) -> c_int {
        // SAFETY: Device-mapper maps bios of live, constructed targets and hands each bio
        // to exactly one map call.
        let (this, target, bio) = unsafe {
            (
                Self::private(ti),
                Target::from_raw(ti),
                Bio::from_raw_mut(bio),
            )
        };
        match this.map(target, bio) {
            MapResult::Remapped => dm::DM_MAPIO_REMAPPED as c_int,
        }
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target, with `result` valid for
    /// writes of `maxlen` bytes.
    unsafe extern "C" fn status_callback(
        ti: *mut dm::dm_target,
        kind: dm::status_type_t,
        _flags: c_uint,
        result: *mut c_char,
        maxlen: c_uint,
    ) {
        let kind = match kind {
            dm::status_type_t_STATUSTYPE_INFO => StatusKind::Info,
            dm::status_type_t_STATUSTYPE_TABLE => StatusKind::Table,
            dm::status_type_t_STATUSTYPE_IMA => StatusKind::Ima,
            _ => return,
        };
        // SAFETY: Status is asked of live, constructed targets, with a buffer of `maxlen`
        // bytes.
        let (this, target, out) = unsafe {
            (
                Self::private(ti),
                Target::from_raw(ti),
                Emitter::from_raw(result, maxlen),
            )
        };
        if let Some(mut out) = out {
            this.status(target, kind, &mut out);
        }
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target (with the device suspended
    /// or not), with `argc` valid argument strings.
    unsafe extern "C" fn message_callback(
        ti: *mut dm::dm_target,
        argc: c_uint,
        argv: *mut *mut c_char,
        _result: *mut c_char,
        _maxlen: c_uint,
    ) -> c_int {
        // SAFETY: Messages go to live, constructed targets, with `argc` valid arguments.
        let (this, target, args) = unsafe {
            (
                Self::private(ti),
                Target::from_raw(ti),
                Args::from_raw(argc, argv),
            )
        };
        match this.message(target, &args) {
            Ok(()) => 0,
            Err(e) => {
                let name = target.mapped_device().name();
                let name = name.as_ref().map_or(c"?", DeviceName::as_c_str);
                pr_warn!(
                    "{}: {}\n",
                    name.to_str().unwrap_or("?"),
                    e.msg.to_str().unwrap_or("?")
                );
                e.err.to_errno()
            }
        }
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target; `func` and `data` form a
    /// callout that may be called with the target's devices.
    unsafe extern "C" fn iterate_devices_callback(
        ti: *mut dm::dm_target,
        func: dm::iterate_devices_callout_fn,
        data: *mut c_void,
    ) -> c_int {
        let Some(func) = func else { return 0 };
        // SAFETY: Called on live, constructed targets.
        let (this, target) = unsafe { (Self::private(ti), Target::from_raw(ti)) };
        let mut visitor = DeviceVisitor {
            ti,
            func,
            data,
            _target: PhantomData,
        };
        this.iterate_devices(target, &mut visitor)
    }

    /// # Safety
    ///
    /// Called by device-mapper on a live, constructed target, with `bdev` valid for a
    /// write.
    unsafe extern "C" fn prepare_ioctl_callback(
        ti: *mut dm::dm_target,
        bdev: *mut *mut k::block_device,
        _cmd: c_uint,
        _arg: c_ulong,
        _forward: *mut bool,
    ) -> c_int {
        // SAFETY: Called on live, constructed targets.
        let (this, target) = unsafe { (Self::private(ti), Target::from_raw(ti)) };
        let (dev, whole) = this.prepare_ioctl(target);
        // SAFETY: `bdev` is a valid out pointer; the device is held by the target.
        unsafe { *bdev = dev.bdev() };
        // 0 passes the ioctl through; 1 makes the block layer check it first.
        if whole {
            0
        } else {
            1
        }
    }
}

#[pinned_drop]
impl<T: Operations> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The type was registered by `new`; module references keep it registered
        // while any of its targets exist.
        unsafe { dm::dm_unregister_target(self.tt.get()) };
    }
}

#[kunit_tests(dmp_device_mapper)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn emitter_needs_room_for_the_nul() -> Result {
        assert!(Emitter::new(&mut []).is_none());
        let mut buf = [b'x'; 1];
        let mut out = Emitter::new(&mut buf).ok_or(EINVAL)?;
        out.write_bytes(b"abc");
        assert_eq!(out.as_bytes(), b"");
        assert_eq!(buf, [0]);
        Ok(())
    }

    #[test]
    fn emitter_truncates_and_keeps_the_nul() -> Result {
        let mut buf = [b'x'; 8];
        let mut out = Emitter::new(&mut buf).ok_or(EINVAL)?;
        assert!(write!(out, "{} {}", 12345, 678).is_ok());
        assert_eq!(out.as_bytes(), b"12345 6");
        out.write_bytes(b"more");
        assert_eq!(out.as_bytes(), b"12345 6");
        assert_eq!(&buf, b"12345 6\0");
        Ok(())
    }

    #[test]
    fn emitter_appends() -> Result {
        let mut buf = [b'x'; 16];
        let mut out = Emitter::new(&mut buf).ok_or(EINVAL)?;
        out.write_bytes(b"ab");
        out.write_bytes(b"");
        assert!(write!(out, "-{}", 7).is_ok());
        assert_eq!(out.as_bytes(), b"ab-7");
        assert_eq!(&buf[..5], b"ab-7\0");
        Ok(())
    }
}
