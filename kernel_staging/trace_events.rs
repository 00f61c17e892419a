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
//! `trace.rs`. Unlike those, these functions are safe: every argument is a number, except
//! the device's name, which is a `CStr` that outlives the call.

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

/// Emits `dmp:dmp_request_complete` if it is enabled: a request of `device` completed.
/// `op` and `flags` are the record's numbers (`dmp_slow.rs`); `error` is 0 or a negative
/// errno.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn request_complete(
    device: &CStr,
    op: u32,
    flags: u32,
    sector: u64,
    bytes: u32,
    latency_ns: u64,
    error: i32,
) {
    if enabled!(__tracepoint_dmp_request_complete) {
        // SAFETY: `device` is NUL-terminated and lives during the call; the event copies it.
        // The other arguments are plain numbers.
        unsafe {
            c::rust_do_trace_dmp_request_complete(
                device.as_char_ptr(),
                op,
                flags,
                sector,
                bytes,
                latency_ns,
                error,
            )
        }
    }
}

/// Emits `dmp:dmp_slow_request` if it is enabled: a request of `device` was recorded as
/// slow or failed.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn slow_request(
    device: &CStr,
    op: u32,
    flags: u32,
    sector: u64,
    dev_sector: u64,
    bytes: u32,
    latency_ns: u64,
    error: i32,
    in_flight: u32,
) {
    if enabled!(__tracepoint_dmp_slow_request) {
        // SAFETY: As in `request_complete`.
        unsafe {
            c::rust_do_trace_dmp_slow_request(
                device.as_char_ptr(),
                op,
                flags,
                sector,
                dev_sector,
                bytes,
                latency_ns,
                error,
                in_flight,
            )
        }
    }
}
