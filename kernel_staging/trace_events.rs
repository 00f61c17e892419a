// SPDX-License-Identifier: GPL-2.0

//! The Rust side of dmp's trace events (`dmp_trace.h`).
//!
//! C header: [`include/linux/tracepoint.h`](srctree/include/linux/tracepoint.h)
//!
//! As `kernel::tracepoint::declare_trace!` does, each function tests its event's static
//! key inline (`static_branch_unlikely`: a no-op jump patched in when the event is
//! enabled) and calls the event's C function `rust_do_trace_<event>()` only then. That
//! macro names `kernel::bindings`, which cannot hold a module's own events, so the same
//! code is written here against this module's bindings; upstream, `declare_trace!` would
//! take the bindings' path and this file would be a use of it, like rust_binder's
//! `trace.rs`. Unlike those, these functions are safe: every field is a number, except the
//! device's name, a `CStr` that outlives the call. Each takes a closure that makes the
//! fields, called only when the event is enabled, so that a disabled event costs the
//! patched jump alone.

use crate::kernel_staging::bindings as c;
use kernel::{bindings as k, prelude::*};

/// Whether the event of the tracepoint `$tp` is enabled: its static key, tested inline.
macro_rules! enabled {
    ($tp:ident) => {{
        // SAFETY: `$tp` is a tracepoint defined in C (dmp_trace.c), whose `key` field is a
        // static key: querying it is always allowed.
        unsafe { kernel::static_branch_unlikely!(c::$tp, k::tracepoint, key) }
    }};
}

/// The fields of `dmp:dmp_request_complete`: a request of `device` completed. `op` and
/// `flags` are the record's numbers (`dmp_slow.rs`); `error` is 0 or a negative errno.
pub(crate) struct RequestComplete<'a> {
    pub(crate) device: &'a CStr,
    pub(crate) op: u32,
    pub(crate) flags: u32,
    pub(crate) sector: u64,
    pub(crate) bytes: u32,
    pub(crate) latency_ns: u64,
    pub(crate) error: i32,
}

/// Emits `dmp:dmp_request_complete` if it is enabled, with the fields `event` makes: only
/// then is it called.
#[inline(always)]
pub(crate) fn request_complete<'a>(event: impl FnOnce() -> RequestComplete<'a>) {
    if enabled!(__tracepoint_dmp_request_complete) {
        let e = event();
        // SAFETY: `device` is NUL-terminated and lives during the call; the event copies it.
        // The other arguments are plain numbers.
        unsafe {
            c::rust_do_trace_dmp_request_complete(
                e.device.as_char_ptr(),
                e.op,
                e.flags,
                e.sector,
                e.bytes,
                e.latency_ns,
                e.error,
            )
        }
    }
}

/// The fields of `dmp:dmp_slow_request`: a request of `device` was recorded as slow or
/// failed; as [`RequestComplete`], and its sector on the underlying device and the
/// requests in flight.
pub(crate) struct SlowRequest<'a> {
    pub(crate) device: &'a CStr,
    pub(crate) op: u32,
    pub(crate) flags: u32,
    pub(crate) sector: u64,
    pub(crate) dev_sector: u64,
    pub(crate) bytes: u32,
    pub(crate) latency_ns: u64,
    pub(crate) error: i32,
    pub(crate) in_flight: u32,
}

/// Emits `dmp:dmp_slow_request` if it is enabled, with the fields `event` makes.
#[inline(always)]
pub(crate) fn slow_request<'a>(event: impl FnOnce() -> SlowRequest<'a>) {
    if enabled!(__tracepoint_dmp_slow_request) {
        let e = event();
        // SAFETY: As in `request_complete`.
        unsafe {
            c::rust_do_trace_dmp_slow_request(
                e.device.as_char_ptr(),
                e.op,
                e.flags,
                e.sector,
                e.dev_sector,
                e.bytes,
                e.latency_ns,
                e.error,
                e.in_flight,
            )
        }
    }
}
