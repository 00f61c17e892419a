// SPDX-License-Identifier: GPL-2.0

//! Bios as a target's `map` sees them.
//!
//! C header: [`include/linux/blk_types.h`](srctree/include/linux/blk_types.h)

use super::Device;
use crate::kernel_staging::bindings as c;
use kernel::{bindings as k, types::Opaque};

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
    /// `REQ_OP_ZONE_APPEND`: a write at the write pointer of a zone, whose sector the
    /// device sets when it completes (device-mapper maps it back).
    ZoneAppend,
    /// `REQ_OP_ZONE_RESET`: one zone's write pointer back to its start.
    ZoneReset,
    /// `REQ_OP_ZONE_RESET_ALL`: every sequential zone's write pointer back to its start.
    ZoneResetAll,
    /// `REQ_OP_ZONE_OPEN`: a zone explicitly opened.
    ZoneOpen,
    /// `REQ_OP_ZONE_CLOSE`: a zone closed.
    ZoneClose,
    /// `REQ_OP_ZONE_FINISH`: a zone made full.
    ZoneFinish,
    /// Anything else (driver-private operations).
    Other,
}

/// A flag of a bio's operation (`enum req_flag_bits`) that says how or why it was issued.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ReqFlag {
    /// `REQ_FUA`: on stable media when it completes.
    Fua,
    /// `REQ_PREFLUSH`: the volatile cache flushed first.
    Preflush,
    /// `REQ_SYNC`: someone waits for it.
    Sync,
    /// `REQ_META`: file system metadata.
    Meta,
    /// `REQ_PRIO`: boosted priority.
    Prio,
    /// `REQ_RAHEAD`: read-ahead, may fail.
    Rahead,
    /// `REQ_BACKGROUND`: background I/O.
    Background,
    /// `REQ_NOWAIT`: the submitter does not block on resources.
    Nowait,
    /// `REQ_IDLE`: no more I/O follows soon.
    Idle,
    /// `REQ_POLLED`: its submitter polls for its completion.
    Polled,
}

impl ReqFlag {
    const fn bit(self) -> k::req_flag_bits {
        match self {
            ReqFlag::Fua => k::req_flag_bits___REQ_FUA,
            ReqFlag::Preflush => k::req_flag_bits___REQ_PREFLUSH,
            ReqFlag::Sync => k::req_flag_bits___REQ_SYNC,
            ReqFlag::Meta => k::req_flag_bits___REQ_META,
            ReqFlag::Prio => k::req_flag_bits___REQ_PRIO,
            ReqFlag::Rahead => k::req_flag_bits___REQ_RAHEAD,
            ReqFlag::Background => k::req_flag_bits___REQ_BACKGROUND,
            ReqFlag::Nowait => k::req_flag_bits___REQ_NOWAIT,
            ReqFlag::Idle => k::req_flag_bits___REQ_IDLE,
            ReqFlag::Polled => k::req_flag_bits___REQ_POLLED,
        }
    }
}

/// A copy of a bio's operation and flags (`bi_opf`), kept to be looked at later: one load
/// when it is taken, the tests only when they are made.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct OpFlags(k::blk_opf_t);

impl OpFlags {
    /// No flags (and `REQ_OP_READ`), for tests.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const NONE: Self = Self(0);

    /// Whether the bio had `flag`.
    #[inline]
    pub(crate) fn has(self, flag: ReqFlag) -> bool {
        self.0 & (1 << flag.bit()) != 0
    }

    /// These flags with `flag` too (for tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const fn with(self, flag: ReqFlag) -> Self {
        Self(self.0 | (1 << flag.bit()))
    }
}

/// A bio handed to a target (`struct bio`).
///
/// # Invariants
///
/// The wrapped bio is live, and device-mapper has handed it to the target for the duration
/// of the borrow: nothing else reads or changes it meanwhile.
#[repr(transparent)]
pub(crate) struct Bio(Opaque<k::bio>);

impl Bio {
    /// # Safety
    ///
    /// `ptr` points to a live bio that the caller may use exclusively for `'a`.
    pub(super) unsafe fn from_raw_mut<'a>(ptr: *mut k::bio) -> &'a mut Self {
        // SAFETY: `Bio` is a transparent wrapper of `bio`, exclusive for `'a` per the
        // function's contract.
        // INVARIANT: Per the function's contract.
        unsafe { &mut *ptr.cast() }
    }

    fn raw(&self) -> *mut k::bio {
        self.0.get()
    }

    /// The operation.
    #[inline]
    pub(crate) fn op(&self) -> BioOp {
        // SAFETY: Per the invariants the bio is live and ours.
        let opf = unsafe { (*self.raw()).bi_opf };
        match opf & ((1 << k::REQ_OP_BITS) - 1) {
            k::req_op_REQ_OP_READ => BioOp::Read,
            k::req_op_REQ_OP_WRITE => BioOp::Write,
            k::req_op_REQ_OP_DISCARD => BioOp::Discard,
            k::req_op_REQ_OP_SECURE_ERASE => BioOp::SecureErase,
            k::req_op_REQ_OP_WRITE_ZEROES => BioOp::WriteZeroes,
            k::req_op_REQ_OP_ZONE_APPEND => BioOp::ZoneAppend,
            k::req_op_REQ_OP_ZONE_RESET => BioOp::ZoneReset,
            k::req_op_REQ_OP_ZONE_RESET_ALL => BioOp::ZoneResetAll,
            k::req_op_REQ_OP_ZONE_OPEN => BioOp::ZoneOpen,
            k::req_op_REQ_OP_ZONE_CLOSE => BioOp::ZoneClose,
            k::req_op_REQ_OP_ZONE_FINISH => BioOp::ZoneFinish,
            _ => BioOp::Other,
        }
    }

    fn has_flag(&self, bit: k::req_flag_bits) -> bool {
        // SAFETY: Per the invariants the bio is live and ours.
        let opf = unsafe { (*self.raw()).bi_opf };
        opf & (1 << bit) != 0
    }

    /// A copy of the operation and its flags.
    #[inline]
    pub(crate) fn op_flags(&self) -> OpFlags {
        // SAFETY: Per the invariants the bio is live and ours.
        OpFlags(unsafe { (*self.raw()).bi_opf })
    }

    /// Whether the bio has `REQ_FUA`: its data must be on stable media when it completes.
    #[inline]
    pub(crate) fn is_fua(&self) -> bool {
        self.has_flag(k::req_flag_bits___REQ_FUA)
    }

    /// Whether the bio has `REQ_PREFLUSH`: the device's volatile cache is flushed first.
    #[inline]
    pub(crate) fn is_preflush(&self) -> bool {
        self.has_flag(k::req_flag_bits___REQ_PREFLUSH)
    }

    /// Whether the bio has `REQ_POLLED`: its submitter polls for its completion. See
    /// [`Operations::end_io`](super::Operations::end_io) for what device-mapper does when a
    /// polled bio meets `EAGAIN`.
    #[inline]
    pub(crate) fn is_polled(&self) -> bool {
        self.has_flag(k::req_flag_bits___REQ_POLLED)
    }

    /// The number of bytes the bio covers (`bi_iter.bi_size`).
    #[inline]
    pub(crate) fn size(&self) -> u32 {
        // SAFETY: Per the invariants the bio is live and ours.
        unsafe { (*self.raw()).bi_iter.bi_size }
    }

    /// The first sector.
    #[inline]
    pub(crate) fn sector(&self) -> u64 {
        // SAFETY: Per the invariants the bio is live and ours.
        unsafe { (*self.raw()).bi_iter.bi_sector }
    }

    /// Sets the first sector.
    #[inline]
    pub(crate) fn set_sector(&mut self, sector: u64) {
        // SAFETY: Per the invariants the bio is live and ours to change.
        unsafe { (*self.raw()).bi_iter.bi_sector = sector };
    }

    /// Points the bio at `dev` (`bio_set_dev`).
    #[inline]
    pub(crate) fn set_dev(&mut self, dev: &Device) {
        // SAFETY: Per the invariants the bio is live and ours to change; `dev` is held, so
        // its block device is live. The helper is `bio_set_dev()` itself.
        unsafe { c::dmp_helper_bio_set_dev(self.raw(), dev.bdev()) };
    }
}

/// The completion status of a bio (`blk_status_t`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct BlkStatus(k::blk_status_t);

impl BlkStatus {
    pub(super) fn from_raw(status: k::blk_status_t) -> Self {
        Self(status)
    }

    /// The error, or `None` for success (`blk_status_to_errno`).
    pub(crate) fn to_error(self) -> Option<kernel::error::Error> {
        if self.0 == 0 {
            return None;
        }
        // SAFETY: `blk_status_to_errno` accepts any status.
        let errno = unsafe { k::blk_status_to_errno(self.0) };
        Some(kernel::error::Error::from_errno(errno))
    }
}
