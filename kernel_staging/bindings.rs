// SPDX-License-Identifier: GPL-2.0

//! The C API the `kernel` crate does not bind: device-mapper, and the C helpers of
//! `helpers.c`.
//!
//! Upstream: `rust/bindings/bindings_helper.h` would include `<linux/device-mapper.h>` and
//! `rust/helpers/` would hold the helpers; mainline's bindings have neither. Until then
//! bindgen runs at build time over `bindings_helper.h` with the kernel's own flags (see
//! `Kbuild`), and everything the items refer to (`bio`, `block_device`, ...) is the `kernel`
//! crate's own type. Only the modules of `kernel_staging` use these.

#![allow(
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

use kernel::bindings::*;
use kernel::ffi;
use pin_init::MaybeZeroable;

include!("bindings_generated.rs");
