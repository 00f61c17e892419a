// SPDX-License-Identifier: GPL-2.0

//! Status text: `dmsetup status`, `dmsetup table` and the IMA measurement.

use super::Target;
use core::fmt;
use kernel::prelude::*;

/// Which status device-mapper asks for (`status_type_t`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StatusKind {
    /// `dmsetup status`: live information.
    Info,
    /// `dmsetup table`: the table line, in the canonical form that reloads the same table.
    Table,
    /// The IMA measurement of the table.
    Ima,
}

/// Writes status text into device-mapper's buffer, always NUL-terminated, truncating like
/// `DMEMIT` (device-mapper retries with a larger buffer when it fills up).
///
/// # Invariants
///
/// `len < buf.len()`, and `buf[len]` is 0.
pub(crate) struct Emitter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Emitter<'a> {
    /// # Safety
    ///
    /// `result` is NULL or valid for writes of `maxlen` bytes for `'a`.
    pub(super) unsafe fn from_raw(result: *mut c_char, maxlen: c_uint) -> Option<Self> {
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
        // INVARIANT: `buf` is not empty and starts with a NUL.
        Some(Self { buf, len: 0 })
    }

    /// The text written so far, without the NUL.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Appends raw bytes, as many as fit.
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) {
        let room = self.buf.len() - 1 - self.len;
        let n = bytes.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        // INVARIANT: `len` grew by at most the room left before the last byte.
        self.buf[self.len] = 0;
    }

    /// Appends `target_name=<name>,target_version=<x.y.z>` (`DMEMIT_TARGET_NAME_VERSION`).
    pub(crate) fn target_name_version(&mut self, target: &Target<'_>) {
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
