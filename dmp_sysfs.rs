// SPDX-License-Identifier: GPL-2.0

//! The `/sys/kernel/dmp` presentation of the statistics.
//!
//! ```text
//! /sys/kernel/dmp/<file>                 all dmp devices since the module was loaded
//! /sys/kernel/dmp/reset                  write 1 to zero the above
//! /sys/kernel/dmp/devices/<dm name>/...  the same files for one device, and its identity:
//!                                        name, dev (major:minor), kname (dm-N)
//! ```

use crate::{
    device_mapper::{DevT, MappedDeviceRef},
    dmp_stats::{latency_bound_ns, size_bound, IoClass, Snapshot, Source, Stats, Total},
    sysfs::{File, Files, Page},
};
use core::fmt::{self, Write};
use kernel::{prelude::*, sync::Arc};

/// A statistics file and how its value is computed.
type StatFile = (File, fn(&Snapshot) -> u64);

const fn stat(name: &'static CStr, value: fn(&Snapshot) -> u64) -> StatFile {
    (File { name, mode: 0o444 }, value)
}

/// Every statistics file, in file order.
const STATS: &[StatFile] = &[
    stat(c"read_reqs", |s| s.reqs(IoClass::Read)),
    stat(c"write_reqs", |s| s.reqs(IoClass::Write)),
    stat(c"total_reqs", Snapshot::total_reqs),
    stat(c"avg_read_size", Snapshot::avg_read_size),
    stat(c"avg_write_size", Snapshot::avg_write_size),
    stat(c"avg_size", Snapshot::avg_size),
    stat(c"read_bytes", |s| s.bytes(IoClass::Read)),
    stat(c"write_bytes", |s| s.bytes(IoClass::Write)),
    stat(c"flush_reqs", |s| s.reqs(IoClass::Flush)),
    stat(c"discard_reqs", |s| s.reqs(IoClass::Discard)),
    stat(c"discard_bytes", |s| s.bytes(IoClass::Discard)),
    stat(c"write_zeroes_reqs", |s| s.reqs(IoClass::WriteZeroes)),
    stat(c"write_zeroes_bytes", |s| s.bytes(IoClass::WriteZeroes)),
];

/// File indices after the single statistics.
const STAT: usize = STATS.len();
const LATENCY: usize = STAT + 1;
const SIZES: usize = STAT + 2;
const RESET: usize = STAT + 3;
const NAME: usize = RESET + 1;
const DEV: usize = RESET + 2;
const KNAME: usize = RESET + 3;

/// The statistics files followed by `more` and `extra`; `N` is the sum of their lengths.
const fn files<const N: usize>(more: &[File], extra: &[File]) -> [File; N] {
    let mut out = [const { readable(c"") }; N];
    let mut i = 0;
    while i < N {
        let f = if i < STATS.len() {
            &STATS[i].0
        } else if i < STATS.len() + more.len() {
            &more[i - STATS.len()]
        } else {
            &extra[i - STATS.len() - more.len()]
        };
        out[i] = File {
            name: f.name,
            mode: f.mode,
        };
        i += 1;
    }
    out
}

const fn readable(name: &'static CStr) -> File {
    File { name, mode: 0o444 }
}

/// The snapshot files and `reset`, after the single statistics in every directory.
const COMMON: [File; 4] = [
    readable(c"stat"),
    readable(c"latency_histogram"),
    readable(c"size_histogram"),
    File {
        name: c"reset",
        mode: 0o200,
    },
];

/// `/sys/kernel/dmp`: the statistics, the snapshots, then `reset`.
const TOTAL_FILES: [File; RESET + 1] = files(&COMMON, &[]);

/// A device's directory: the same, then the device's identity.
const DEVICE_FILES: [File; KNAME + 1] = files(
    &COMMON,
    &[readable(c"name"), readable(c"dev"), readable(c"kname")],
);

/// Parses a write to `reset`: `1`, optionally followed by a newline.
pub(crate) fn parse_reset(input: &[u8]) -> Result {
    match input {
        b"1" | b"1\n" => Ok(()),
        _ => Err(EINVAL),
    }
}

/// Writes the `stat` line: for each class (read, write, flush, discard, write_zeroes)
/// `reqs bytes completed io_errors other_errors latency_ns`, then `fua_writes
/// preflush_writes in_flight`; 33 fields, one snapshot. Requests are counted when they
/// complete, so `completed` is `reqs` (it keeps the line's layout of version 1.1, which
/// counted `reqs` when they were mapped).
pub(crate) fn write_stat(out: &mut impl Write, s: &Snapshot) -> fmt::Result {
    for (i, c) in IoClass::ALL.into_iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        write!(
            out,
            "{sep}{} {} {} {} {} {}",
            s.reqs(c),
            s.bytes(c),
            s.reqs(c),
            s.io_errors(c),
            s.other_errors(c),
            s.latency_ns(c)
        )?;
    }
    writeln!(out, " {} {} {}", s.fua(), s.preflush(), s.in_flight())
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

/// Writes `latency_histogram`: a bounds line, then for each class `class completed
/// latency_ns` and the cumulative bucket counts (one snapshot; the last equals the count).
pub(crate) fn write_latency_histogram(out: &mut impl Write, s: &Snapshot) -> fmt::Result {
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

/// Writes `size_histogram`: a bounds line, then for reads and writes `class reqs bytes`
/// and the cumulative bucket counts (one snapshot; the last equals the count).
pub(crate) fn write_size_histogram(out: &mut impl Write, s: &Snapshot) -> fmt::Result {
    write_bounds(out, "le_bytes", size_bound)?;
    for c in IoClass::ALL {
        if let Some(h) = s.size_histogram(c) {
            write_histogram(out, c.name(), s.reqs(c), s.bytes(c), h)?;
        }
    }
    Ok(())
}

/// Shows statistics file `index` of `stats`.
fn show_stat(stats: &impl Source, index: usize, out: &mut Page<'_>) -> Result {
    let s = stats.read()?;
    let r = match index {
        STAT => write_stat(out, &s),
        LATENCY => write_latency_histogram(out, &s),
        SIZES => write_size_histogram(out, &s),
        _ => {
            let (_, value) = STATS.get(index).ok_or(EINVAL)?;
            writeln!(out, "{}", value(&s))
        }
    };
    r.map_err(|_| EINVAL)
}

/// Handles a write to file `index` of `stats`' directory: only `reset` takes one.
fn store_reset(stats: &impl Source, index: usize, input: &[u8]) -> Result {
    if index != RESET {
        return Err(EACCES);
    }
    parse_reset(input)?;
    stats.reset()
}

/// The files of `/sys/kernel/dmp`: all dmp devices together.
pub(crate) struct TotalFiles {
    stats: Arc<Total>,
}

impl TotalFiles {
    /// Files showing `stats`.
    pub(crate) fn new(stats: Arc<Total>) -> Self {
        Self { stats }
    }
}

crate::sysfs_files!(TotalFiles, TOTAL_FILES);

impl Files for TotalFiles {
    fn show(&self, index: usize, out: &mut Page<'_>) -> Result {
        show_stat(&*self.stats, index, out)
    }

    fn store(&self, index: usize, input: &[u8]) -> Result {
        store_reset(&*self.stats, index, input)
    }
}

/// The files of one device's directory.
pub(crate) struct DeviceFiles {
    stats: Arc<Stats>,
    dev: DevT,
}

impl DeviceFiles {
    /// Files showing `stats`, of the mapped device `dev`.
    pub(crate) fn new(stats: Arc<Stats>, dev: DevT) -> Self {
        Self { stats, dev }
    }
}

crate::sysfs_files!(DeviceFiles, DEVICE_FILES);

impl Files for DeviceFiles {
    fn show(&self, index: usize, out: &mut Page<'_>) -> Result {
        let DevT { major, minor } = self.dev;
        match index {
            NAME => {
                // Device-mapper may be removing a device (holding its name lock) while it
                // waits for this directory to go: do not hold that up.
                let name = out.allow_removal(|| MappedDeviceRef::get(self.dev).map(|md| md.name()));
                let name = name.ok_or(ENODEV)??;
                out.write_bytes(name.as_c_str().to_bytes())?;
                out.write_bytes(b"\n")
            }
            DEV => writeln!(out, "{major}:{minor}").map_err(|_| EINVAL),
            KNAME => writeln!(out, "dm-{minor}").map_err(|_| EINVAL),
            _ => show_stat(&*self.stats, index, out),
        }
    }

    fn store(&self, index: usize, input: &[u8]) -> Result {
        store_reset(&*self.stats, index, input)
    }
}

/// A directory with no files (`/sys/kernel/dmp/devices`).
pub(crate) struct NoFiles;

crate::sysfs_files!(NoFiles, [] as [File; 0]);

impl Files for NoFiles {
    fn show(&self, _index: usize, _out: &mut Page<'_>) -> Result {
        Err(EINVAL)
    }

    fn store(&self, _index: usize, _input: &[u8]) -> Result {
        Err(EINVAL)
    }
}

#[kunit_tests(dmp_sysfs)]
mod tests {
    use super::*;
    use crate::dmp_stats::{Outcome, Request};

    #[test]
    fn reset_takes_1_with_an_optional_newline() {
        assert!(parse_reset(b"1").is_ok());
        assert!(parse_reset(b"1\n").is_ok());
        for bad in [
            &b""[..],
            b"\n",
            b"0",
            b"2",
            b"11",
            b"1\n\n",
            b" 1",
            b"1 ",
            b"yes",
            b"\0",
        ] {
            assert_eq!(parse_reset(bad), Err(EINVAL));
        }
    }

    #[test]
    fn file_tables_match_the_statistics() {
        for files in [&TOTAL_FILES[..], &DEVICE_FILES[..]] {
            for (f, (s, _)) in files.iter().zip(STATS) {
                assert_eq!(f.name, s.name);
                assert_eq!(f.mode, 0o444);
            }
            assert_eq!(files[STAT].name, c"stat");
            assert_eq!(files[LATENCY].name, c"latency_histogram");
            assert_eq!(files[SIZES].name, c"size_histogram");
            assert_eq!(files[RESET].name, c"reset");
            assert_eq!(files[RESET].mode, 0o200);
            // The six files of the original README come first, in its order.
            let six = [
                c"read_reqs",
                c"write_reqs",
                c"total_reqs",
                c"avg_read_size",
                c"avg_write_size",
                c"avg_size",
            ];
            for (f, name) in files.iter().zip(six) {
                assert_eq!(f.name, name);
            }
        }
        assert_eq!(TOTAL_FILES.len(), RESET + 1);
        assert_eq!(DEVICE_FILES[NAME].name, c"name");
        assert_eq!(DEVICE_FILES[DEV].name, c"dev");
        assert_eq!(DEVICE_FILES[KNAME].name, c"kname");
    }

    #[test]
    fn device_identity_files() -> Result {
        // The highest minor number: no device-mapper device has it.
        let minor = (1 << 20) - 1;
        let files = DeviceFiles::new(Stats::new()?, DevT { major: 254, minor });
        let mut buf = [0u8; 64];
        let mut page = Page::new(&mut buf);
        files.show(DEV, &mut page)?;
        assert_eq!(page.as_bytes(), b"254:1048575\n");
        let mut page = Page::new(&mut buf);
        files.show(KNAME, &mut page)?;
        assert_eq!(page.as_bytes(), b"dm-1048575\n");
        // No such device-mapper device.
        let mut page = Page::new(&mut buf);
        assert_eq!(files.show(NAME, &mut page), Err(ENODEV));
        let mut page = Page::new(&mut buf);
        files.show(0, &mut page)?;
        assert_eq!(page.as_bytes(), b"0\n");
        assert_eq!(files.store(NAME, b"1"), Err(EACCES));
        assert_eq!(files.store(RESET, b"2"), Err(EINVAL));
        assert!(files.store(RESET, b"1").is_ok());
        Ok(())
    }

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

    fn read(bytes: u32) -> Request {
        Request {
            class: IoClass::Read,
            bytes,
            fua: false,
            preflush: false,
        }
    }

    fn fields(b: &[u8]) -> usize {
        b.split(|c| *c == b' ').filter(|f| !f.is_empty()).count()
    }

    #[test]
    fn stat_line_has_33_fields_from_one_snapshot() -> Result {
        let s = Stats::new()?;
        s.started();
        s.completed(read(4096), 2500, Outcome::IoError);
        s.count_one(IoClass::Write, 8192, true, false);
        s.started();
        let mut out = Buf { b: KVec::new() };
        assert!(write_stat(&mut out, &s.read()?).is_ok());
        assert_eq!(out.b.last(), Some(&b'\n'));
        assert_eq!(fields(&out.b[..out.b.len() - 1]), 33);
        assert!(out.b.starts_with(b"1 4096 1 1 0 2500 1 8192 1 0 0 0 0 0 "));
        assert!(out.b.ends_with(b" 1 0 1\n"));
        Ok(())
    }

    #[test]
    fn histograms_are_cumulative_with_bounds() -> Result {
        let s = Stats::new()?;
        for (bytes, ns) in [(512, 900), (4096, 3000), (4096, 0)] {
            s.started();
            s.completed(read(bytes), ns, Outcome::Ok);
        }
        let snap = s.read()?;
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
        assert_eq!(out.b.split(|c| *c == b'\n').count(), 1 + 5 + 1);
        Ok(())
    }
}
