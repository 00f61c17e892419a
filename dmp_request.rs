// SPDX-License-Identifier: GPL-2.0

//! What a request counts as: its class, what is kept of it from `map` to `end_io`, and how
//! it ended.
//!
//! A request is one bio as device-mapper hands it to `map`. Its class comes from an exact
//! match on its operation, never from a bit test; operations dmp does not know are forwarded
//! and counted nowhere.

use crate::kernel_staging::device_mapper::{BioOp, OpFlags};
use kernel::prelude::*;

/// What a bio counts as.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IoClass {
    /// A read.
    Read = 0,
    /// A write with data (including FUA writes and zone appends).
    Write = 1,
    /// A flush with no data (an empty `REQ_PREFLUSH` write).
    Flush = 2,
    /// A discard or a secure erase.
    Discard = 3,
    /// A write-zeroes request.
    WriteZeroes = 4,
    /// Zone management of a zoned device: a zone reset (of one zone or all), open, close
    /// or finish. No data.
    Zone = 5,
}

/// The number of classes.
pub(crate) const CLASSES: usize = 6;

impl IoClass {
    /// Every class, in field order.
    pub(crate) const ALL: [IoClass; CLASSES] = [
        IoClass::Read,
        IoClass::Write,
        IoClass::Flush,
        IoClass::Discard,
        IoClass::WriteZeroes,
        IoClass::Zone,
    ];

    /// The class's name in files and tools.
    pub(crate) fn name(self) -> &'static str {
        match self {
            IoClass::Read => "read",
            IoClass::Write => "write",
            IoClass::Flush => "flush",
            IoClass::Discard => "discard",
            IoClass::WriteZeroes => "write_zeroes",
            IoClass::Zone => "zone",
        }
    }
}

/// What a bio of operation `op` and `bytes` bytes counts as, or `None` for operations dmp
/// forwards without counting.
pub(crate) fn classify(op: BioOp, bytes: u32) -> Option<IoClass> {
    match op {
        BioOp::Read => Some(IoClass::Read),
        BioOp::Write if bytes == 0 => Some(IoClass::Flush),
        BioOp::Write | BioOp::ZoneAppend => Some(IoClass::Write),
        BioOp::Discard | BioOp::SecureErase => Some(IoClass::Discard),
        BioOp::WriteZeroes => Some(IoClass::WriteZeroes),
        BioOp::ZoneReset
        | BioOp::ZoneResetAll
        | BioOp::ZoneOpen
        | BioOp::ZoneClose
        | BioOp::ZoneFinish => Some(IoClass::Zone),
        BioOp::Other => None,
    }
}

/// What is kept of a request from `map` to `end_io`, as it was when it was mapped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Request {
    /// Its class.
    pub(crate) class: IoClass,
    /// Its size in bytes.
    pub(crate) bytes: u32,
    /// Whether it had `REQ_FUA`.
    pub(crate) fua: bool,
    /// Whether it had `REQ_PREFLUSH`.
    pub(crate) preflush: bool,
    /// Whether it had `REQ_POLLED`: device-mapper retries such a request itself when it meets
    /// `EAGAIN` (see [`Outcome::Retried`]).
    pub(crate) polled: bool,
    /// Its operation and flags, for the record of slow requests.
    pub(crate) opf: OpFlags,
    /// Its first sector on the dmp device.
    pub(crate) sector: u64,
}

impl Request {
    /// A request of `class` and `bytes` with no flags (for tests).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const fn plain(class: IoClass, bytes: u32) -> Self {
        Self {
            class,
            bytes,
            fua: false,
            preflush: false,
            polled: false,
            opf: OpFlags::NONE,
            sector: 0,
        }
    }
}

/// How a request ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Outcome {
    /// Success.
    Ok,
    /// An I/O error (`BLK_STS_IOERR`, `-EIO`).
    IoError,
    /// Any other error (`-ENOSPC`, `-EOPNOTSUPP`, `-ETIMEDOUT`, ...).
    OtherError,
    /// Not ended: a polled request that met `EAGAIN`, which device-mapper maps again instead
    /// of completing it. Its caller sees only the retry, which is counted when it completes.
    Retried,
}

impl Outcome {
    /// How a request that completed with `error` (`None` for success) ended.
    pub(crate) fn of(req: &Request, error: Option<kernel::error::Error>) -> Self {
        use kernel::error::code::{EAGAIN, EIO};
        match error {
            None => Outcome::Ok,
            Some(e) if e == EIO => Outcome::IoError,
            Some(e) if e == EAGAIN && req.polled => Outcome::Retried,
            Some(_) => Outcome::OtherError,
        }
    }
}

#[kunit_tests(dmp_request)]
mod tests {
    use super::*;
    use kernel::error::code::{EAGAIN, EIO, ENOSPC};

    #[test]
    fn classification_is_exact() {
        assert_eq!(classify(BioOp::Read, 4096), Some(IoClass::Read));
        assert_eq!(classify(BioOp::Read, 0), Some(IoClass::Read));
        assert_eq!(classify(BioOp::Write, 512), Some(IoClass::Write));
        assert_eq!(classify(BioOp::Write, 0), Some(IoClass::Flush));
        assert_eq!(classify(BioOp::Discard, 1 << 20), Some(IoClass::Discard));
        assert_eq!(classify(BioOp::SecureErase, 4096), Some(IoClass::Discard));
        assert_eq!(
            classify(BioOp::WriteZeroes, 4096),
            Some(IoClass::WriteZeroes)
        );
        // A zone append is a write, whatever its size; zone management is never one.
        assert_eq!(classify(BioOp::ZoneAppend, 4096), Some(IoClass::Write));
        for op in [
            BioOp::ZoneReset,
            BioOp::ZoneResetAll,
            BioOp::ZoneOpen,
            BioOp::ZoneClose,
            BioOp::ZoneFinish,
        ] {
            assert_eq!(classify(op, 0), Some(IoClass::Zone));
        }
        assert_eq!(classify(BioOp::Other, 4096), None);
    }

    #[test]
    fn outcomes() {
        let mut req = Request::plain(IoClass::Read, 4096);
        assert_eq!(Outcome::of(&req, None), Outcome::Ok);
        assert_eq!(Outcome::of(&req, Some(EIO)), Outcome::IoError);
        assert_eq!(Outcome::of(&req, Some(ENOSPC)), Outcome::OtherError);
        // Only a polled request is retried by device-mapper on EAGAIN.
        assert_eq!(Outcome::of(&req, Some(EAGAIN)), Outcome::OtherError);
        req.polled = true;
        assert_eq!(Outcome::of(&req, Some(EAGAIN)), Outcome::Retried);
        assert_eq!(Outcome::of(&req, Some(EIO)), Outcome::IoError);
        assert_eq!(Outcome::of(&req, None), Outcome::Ok);
    }
}
