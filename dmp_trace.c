// SPDX-License-Identifier: GPL-2.0
/*
 * Defines dmp's trace events (dmp_trace.h), and for each the function Rust calls to emit
 * it, rust_do_trace_<event>(), as rust_binder_events.c does.
 */

#define CREATE_TRACE_POINTS
#define CREATE_RUST_TRACE_POINTS
#include "dmp_trace.h"
