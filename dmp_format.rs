// SPDX-License-Identifier: GPL-2.0

//! The text formats of the statistics: the `stat` line and the histogram files of
//! `/sys/kernel/dmp`, and the INFO part of `dmsetup status`.
//!
//! The reference is `docs/ABI/testing/sysfs-kernel-dmp` and
//! `docs/admin-guide/device-mapper/dmp.rst`. Every format is written from one snapshot.

use crate::{
    dmp_buckets::{latency_bound_ns, size_bound},
    dmp_counts::Snapshot,
    dmp_request::IoClass,
};
use core::fmt::{self, Write};
use kernel::prelude::*;

/// The classes of the `stat` line before `fua_writes preflush_writes in_flight`; the
/// classes added later follow those three, so no field ever moves.
const STAT_FIRST_CLASSES: usize = 5;

/// Writes the `stat` line: for each class (read, write, flush, discard, write_zeroes)
/// `reqs bytes io_errors other_errors latency_ns`, then `fua_writes preflush_writes
/// in_flight`, then the same five fields for the zone class, then `slow_reqs`; 34 fields.
pub(crate) fn write_stat(out: &mut impl Write, s: &Snapshot<'_>) -> fmt::Result {
    let (first, added) = IoClass::ALL.split_at(STAT_FIRST_CLASSES);
    for (i, c) in first.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        write!(out, "{sep}")?;
        write_class(out, s, *c)?;
    }
    write!(out, " {} {} {}", s.fua(), s.preflush(), s.in_flight())?;
    for c in added {
        write!(out, " ")?;
        write_class(out, s, *c)?;
    }
    writeln!(out, " {}", s.slow_reqs())
}

/// Writes the five `stat` fields of `class`: `reqs bytes io_errors other_errors latency_ns`.
fn write_class(out: &mut impl Write, s: &Snapshot<'_>, c: IoClass) -> fmt::Result {
    write!(
        out,
        "{} {} {} {} {}",
        s.reqs(c),
        s.bytes(c),
        s.io_errors(c),
        s.other_errors(c),
        s.latency_ns(c)
    )
}

/// Writes one histogram line: `name count sum cumulative-buckets...`.
fn write_histogram(
    out: &mut impl Write,
    name: &str,
    count: u64,
    sum: u64,
    buckets: &[u64],
) -> fmt::Result {
    write!(out, "{name} {count} {sum}")?;
    let mut cumulative = 0u64;
    for b in buckets {
        cumulative = cumulative.wrapping_add(*b);
        write!(out, " {cumulative}")?;
    }
    writeln!(out)
}

/// Writes the bounds line of a histogram file: `name bound... +Inf`.
fn write_bounds(out: &mut impl Write, name: &str, bound: fn(usize) -> Option<u64>) -> fmt::Result {
    write!(out, "{name}")?;
    let mut i = 0;
    while let Some(b) = bound(i) {
        write!(out, " {b}")?;
        i += 1;
    }
    writeln!(out, " +Inf")
}

/// Writes `latency_histogram`: a bounds line, then for each class `class reqs latency_ns`
/// and the cumulative bucket counts (the last equals the count).
pub(crate) fn write_latency_histogram(out: &mut impl Write, s: &Snapshot<'_>) -> fmt::Result {
    write_bounds(out, "le_ns", latency_bound_ns)?;
    for c in IoClass::ALL {
        write_histogram(
            out,
            c.name(),
            s.reqs(c),
            s.latency_ns(c),
            s.latency_histogram(c),
        )?;
    }
    Ok(())
}

/// Writes `size_histogram`: a bounds line, then for reads and writes `class reqs bytes` and
/// the cumulative bucket counts (the last equals the count).
pub(crate) fn write_size_histogram(out: &mut impl Write, s: &Snapshot<'_>) -> fmt::Result {
    write_bounds(out, "le_bytes", size_bound)?;
    for c in IoClass::ALL {
        if let Some(h) = s.size_histogram(c) {
            write_histogram(out, c.name(), s.reqs(c), s.bytes(c), h)?;
        }
    }
    Ok(())
}

/// Writes the INFO status: read requests and bytes, write requests and bytes, flush
/// requests, discard requests and bytes, write-zeroes requests and bytes, zone management
/// requests.
pub(crate) fn write_info(out: &mut impl Write, s: &Snapshot<'_>) -> fmt::Result {
    write!(
        out,
        "{} {} {} {} {} {} {} {} {} {}",
        s.reqs(IoClass::Read),
        s.bytes(IoClass::Read),
        s.reqs(IoClass::Write),
        s.bytes(IoClass::Write),
        s.reqs(IoClass::Flush),
        s.reqs(IoClass::Discard),
        s.bytes(IoClass::Discard),
        s.reqs(IoClass::WriteZeroes),
        s.bytes(IoClass::WriteZeroes),
        s.reqs(IoClass::Zone),
    )
}

#[kunit_tests(dmp_format)]
mod tests {
    use super::*;
    use crate::{
        dmp_buckets::latency_bucket, dmp_counts::Counts, kernel_staging::device_mapper::Emitter,
    };

    /// A small `fmt::Write` sink for formatting tests.
    struct Buf {
        b: KVec<u8>,
    }

    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.b
                .extend_from_slice(s.as_bytes(), GFP_KERNEL)
                .map_err(|_| fmt::Error)
        }
    }

    fn fields(b: &[u8]) -> usize {
        b.split(|c| *c == b' ').filter(|f| !f.is_empty()).count()
    }

    /// Counts with `reqs` reads of `bytes` each, taking `ns` each.
    fn reads(counts: &mut Counts, n: u64, bytes: u64, ns: u64) {
        counts.reqs[0] += n;
        counts.bytes[0] += n * bytes;
        counts.latency_ns[0] += n * ns;
        counts.latency[0][latency_bucket(ns)] += n;
        counts.sizes[0][crate::dmp_buckets::size_bucket(bytes)] += n;
    }

    #[test]
    fn stat_line_has_34_fields() -> Result {
        let mut c = Counts::ZERO;
        reads(&mut c, 1, 4096, 2500);
        c.io_errors[0] = 1;
        c.reqs[1] = 1;
        c.bytes[1] = 8192;
        c.fua = 1;
        c.reqs[IoClass::Zone as usize] = 3;
        c.other_errors[IoClass::Zone as usize] = 1;
        c.latency_ns[IoClass::Zone as usize] = 7000;
        c.slow = 2;
        let mut out = Buf { b: KVec::new() };
        assert!(write_stat(&mut out, &Snapshot::new(&c, 1)).is_ok());
        assert_eq!(out.b.last(), Some(&b'\n'));
        assert_eq!(fields(&out.b[..out.b.len() - 1]), 34);
        assert!(out
            .b
            .starts_with(b"1 4096 1 0 2500 1 8192 0 0 0 0 0 0 0 0 "));
        // fua_writes preflush_writes in_flight stay fields 26-28; the zone class follows,
        // then slow_reqs.
        assert!(out.b.ends_with(b" 0 0 0 0 0 1 0 1 3 0 0 1 7000 2\n"));
        Ok(())
    }

    #[test]
    fn histograms_are_cumulative_with_bounds() -> Result {
        let mut c = Counts::ZERO;
        reads(&mut c, 1, 512, 900);
        reads(&mut c, 1, 4096, 3000);
        reads(&mut c, 1, 4096, 0);
        let snap = Snapshot::new(&c, 0);
        let mut out = Buf { b: KVec::new() };
        assert!(write_size_histogram(&mut out, &snap).is_ok());
        let mut lines = out.b.split(|c| *c == b'\n');
        let bounds = lines.next().unwrap_or(b"");
        assert!(bounds.starts_with(b"le_bytes 512 1024 2048 4096 "));
        assert!(bounds.ends_with(b" 4194304 +Inf"));
        assert_eq!(fields(bounds), 16);
        let read = lines.next().unwrap_or(b"");
        assert_eq!(read, b"read 3 8704 1 1 1 3 3 3 3 3 3 3 3 3 3 3 3");
        let write = lines.next().unwrap_or(b"");
        assert!(write.starts_with(b"write 0 0 0 "));
        let mut out = Buf { b: KVec::new() };
        assert!(write_latency_histogram(&mut out, &snap).is_ok());
        let mut lines = out.b.split(|c| *c == b'\n');
        let bounds = lines.next().unwrap_or(b"");
        assert!(bounds.starts_with(b"le_ns 1000 2000 4000 8000 "));
        assert!(bounds.ends_with(b" 33554432000 +Inf"));
        let read = lines.next().unwrap_or(b"");
        assert!(read.starts_with(b"read 3 3900 2 2 3 3 "));
        assert_eq!(fields(read), 3 + 27);
        assert!(read.ends_with(b" 3"));
        assert_eq!(out.b.split(|c| *c == b'\n').count(), 1 + 6 + 1);
        let zone = out.b.split(|c| *c == b'\n').nth(6).unwrap_or(b"");
        assert!(zone.starts_with(b"zone 0 0 0 "));
        Ok(())
    }

    fn mixed() -> Counts {
        let mut c = Counts::ZERO;
        c.reqs = [1, 2, 1, 1, 1, 4];
        c.bytes = [4096, 1536, 0, 8192, 65536, 0];
        c
    }

    #[test]
    fn info_status_has_ten_fields_in_order() -> Result {
        let c = mixed();
        let mut buf = [0u8; 128];
        let mut out = Emitter::new(&mut buf).ok_or(EINVAL)?;
        assert!(write_info(&mut out, &Snapshot::new(&c, 0)).is_ok());
        assert_eq!(out.as_bytes(), b"1 4096 2 1536 1 1 8192 1 65536 4");
        Ok(())
    }

    #[test]
    fn info_status_truncates_into_a_small_buffer() -> Result {
        let c = mixed();
        let mut buf = [b'x'; 6];
        let mut out = Emitter::new(&mut buf).ok_or(EINVAL)?;
        // Truncation is not an error for the writer: device-mapper retries with more room.
        assert!(write_info(&mut out, &Snapshot::new(&c, 0)).is_ok());
        assert_eq!(out.as_bytes(), b"1 409");
        assert_eq!(&buf, b"1 409\0");
        Ok(())
    }
}
