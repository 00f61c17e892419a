/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmp's trace events, in tracefs under events/dmp/ (reference:
 * docs/admin-guide/device-mapper/dmp.rst, "Trace events").
 *
 * dmp_request_complete: every request dmp counts, when it completes.
 * dmp_slow_request: every request dmp records in a device's slow_requests, when it does.
 *
 * Rust calls them through kernel_staging/trace_events.rs, which tests each event's static
 * key inline and calls rust_do_trace_<event>() only while the event is enabled. The op and
 * flag numbers are dmp_slow.rs's (IoClass and RecordFlags).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM dmp
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dmp_trace
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .

#if !defined(_DMP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DMP_TRACE_H

#include <linux/tracepoint.h>

#define dmp_show_op(op)						\
	__print_symbolic(op,					\
		{ 0, "read" }, { 1, "write" }, { 2, "flush" },	\
		{ 3, "discard" }, { 4, "write_zeroes" }, { 5, "zone" })

#define dmp_show_flags(flags)					\
	__print_flags(flags, ",",				\
		{ 0x001, "FUA" }, { 0x002, "PREFLUSH" },	\
		{ 0x004, "SYNC" }, { 0x008, "META" },		\
		{ 0x010, "PRIO" }, { 0x020, "RAHEAD" },		\
		{ 0x040, "BACKGROUND" }, { 0x080, "NOWAIT" },	\
		{ 0x100, "IDLE" }, { 0x200, "POLLED" })

TRACE_EVENT(dmp_request_complete,
	TP_PROTO(const char *device, unsigned int op, unsigned int flags, u64 sector,
		 unsigned int bytes, u64 latency_ns, int error),
	TP_ARGS(device, op, flags, sector, bytes, latency_ns, error),

	TP_STRUCT__entry(
		__string(device, device)
		__field(unsigned int, op)
		__field(unsigned int, flags)
		__field(u64, sector)
		__field(unsigned int, bytes)
		__field(u64, latency_ns)
		__field(int, error)
	),
	TP_fast_assign(
		__assign_str(device);
		__entry->op = op;
		__entry->flags = flags;
		__entry->sector = sector;
		__entry->bytes = bytes;
		__entry->latency_ns = latency_ns;
		__entry->error = error;
	),
	TP_printk("device=%s op=%s flags=%s sector=%llu bytes=%u latency_ns=%llu error=%d",
		  __get_str(device), dmp_show_op(__entry->op), dmp_show_flags(__entry->flags),
		  __entry->sector, __entry->bytes, __entry->latency_ns, __entry->error)
);

TRACE_EVENT(dmp_slow_request,
	TP_PROTO(const char *device, unsigned int op, unsigned int flags, u64 sector,
		 u64 dev_sector, unsigned int bytes, u64 latency_ns, int error,
		 unsigned int in_flight),
	TP_ARGS(device, op, flags, sector, dev_sector, bytes, latency_ns, error, in_flight),

	TP_STRUCT__entry(
		__string(device, device)
		__field(unsigned int, op)
		__field(unsigned int, flags)
		__field(u64, sector)
		__field(u64, dev_sector)
		__field(unsigned int, bytes)
		__field(u64, latency_ns)
		__field(int, error)
		__field(unsigned int, in_flight)
	),
	TP_fast_assign(
		__assign_str(device);
		__entry->op = op;
		__entry->flags = flags;
		__entry->sector = sector;
		__entry->dev_sector = dev_sector;
		__entry->bytes = bytes;
		__entry->latency_ns = latency_ns;
		__entry->error = error;
		__entry->in_flight = in_flight;
	),
	TP_printk("device=%s op=%s flags=%s sector=%llu dev_sector=%llu bytes=%u latency_ns=%llu error=%d in_flight=%u",
		  __get_str(device), dmp_show_op(__entry->op), dmp_show_flags(__entry->flags),
		  __entry->sector, __entry->dev_sector, __entry->bytes, __entry->latency_ns,
		  __entry->error, __entry->in_flight)
);

#endif /* _DMP_TRACE_H */

/* This part must be outside the include guard. */
#include <trace/define_trace.h>
