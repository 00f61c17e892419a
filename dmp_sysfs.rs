// SPDX-License-Identifier: GPL-2.0

//! The files of the `/sys/kernel/dmp` directories (reference:
//! `docs/ABI/testing/sysfs-kernel-dmp`).
//!
//! ```text
//! /sys/kernel/dmp/<file>              all dmp devices together
//! /sys/kernel/dmp/block/dm-N/<file>   one device, and its identity: name, uuid, dev, kname
//! /sys/kernel/dmp/devices/<name>      a link to the device's block/dm-N (dmp_registry.rs)
//! ```

use crate::{
    dmp_counts::{Snapshot, Source},
    dmp_format::{write_latency_histogram, write_size_histogram, write_stat},
    dmp_request::IoClass,
    dmp_slow::parse_threshold_us,
    dmp_stats::Stats,
    dmp_total::Total,
    kernel_staging::{
        device_mapper::{DevT, MappedDeviceRef},
        sysfs::{BinFile, File, OpenFile, Page},
    },
};
use core::fmt::{self, Write};
use kernel::{prelude::*, sync::Arc};

/// A directory of statistics: the module-wide one, or a device's.
pub(crate) trait StatsDir: Send + Sync + 'static {
    /// The statistics it shows.
    type Stats: Source;

    /// The statistics it shows.
    fn stats(&self) -> &Self::Stats;
}

/// Shows one number of a snapshot.
fn number<T: StatsDir>(dir: &T, out: &mut Page<'_>, value: fn(&Snapshot<'_>) -> u64) -> Result {
    let v = dir.stats().with_snapshot(value);
    writeln!(out, "{v}").map_err(|_| EINVAL)
}

/// Shows a file made from a whole snapshot.
fn text<T: StatsDir>(
    dir: &T,
    out: &mut Page<'_>,
    write: impl FnOnce(&mut Page<'_>, &Snapshot<'_>) -> fmt::Result,
) -> Result {
    dir.stats()
        .with_snapshot(|s| write(out, s))
        .map_err(|_| EINVAL)
}

/// Parses a write to `reset`: `1`, optionally followed by a newline.
pub(crate) fn parse_reset(input: &[u8]) -> Result {
    match input {
        b"1" | b"1\n" => Ok(()),
        _ => Err(EINVAL),
    }
}

fn reset<T: StatsDir>(dir: &T, input: &[u8]) -> Result {
    parse_reset(input)?;
    dir.stats().reset();
    Ok(())
}

/// The number of files every statistics directory has.
const STATS_FILES: usize = 19;

/// The files every statistics directory has: the six of the original README first, in its
/// order.
const fn stats_files<T: StatsDir>() -> [File<T>; STATS_FILES] {
    use IoClass::*;
    [
        File::show(c"read_reqs", 0o444, |d, o| number(d, o, |s| s.reqs(Read))),
        File::show(c"write_reqs", 0o444, |d, o| number(d, o, |s| s.reqs(Write))),
        File::show(c"total_reqs", 0o444, |d, o| {
            number(d, o, |s| s.total_reqs())
        }),
        File::show(c"avg_read_size", 0o444, |d, o| {
            number(d, o, |s| s.avg_read_size())
        }),
        File::show(c"avg_write_size", 0o444, |d, o| {
            number(d, o, |s| s.avg_write_size())
        }),
        File::show(c"avg_size", 0o444, |d, o| number(d, o, |s| s.avg_size())),
        File::show(c"read_bytes", 0o444, |d, o| number(d, o, |s| s.bytes(Read))),
        File::show(c"write_bytes", 0o444, |d, o| {
            number(d, o, |s| s.bytes(Write))
        }),
        File::show(c"flush_reqs", 0o444, |d, o| number(d, o, |s| s.reqs(Flush))),
        File::show(c"discard_reqs", 0o444, |d, o| {
            number(d, o, |s| s.reqs(Discard))
        }),
        File::show(c"discard_bytes", 0o444, |d, o| {
            number(d, o, |s| s.bytes(Discard))
        }),
        File::show(c"write_zeroes_reqs", 0o444, |d, o| {
            number(d, o, |s| s.reqs(WriteZeroes))
        }),
        File::show(c"write_zeroes_bytes", 0o444, |d, o| {
            number(d, o, |s| s.bytes(WriteZeroes))
        }),
        File::show(c"zone_reqs", 0o444, |d, o| number(d, o, |s| s.reqs(Zone))),
        File::show(c"slow_reqs", 0o444, |d, o| number(d, o, |s| s.slow_reqs())),
        File::show(c"stat", 0o444, |d, o| text(d, o, |o, s| write_stat(o, s))),
        File::show(c"latency_histogram", 0o444, |d, o| {
            text(d, o, |o, s| write_latency_histogram(o, s))
        }),
        File::show(c"size_histogram", 0o444, |d, o| {
            text(d, o, |o, s| write_size_histogram(o, s))
        }),
        File::store(c"reset", 0o200, reset),
    ]
}

/// The files of `/sys/kernel/dmp`: all dmp devices together.
pub(crate) struct TotalFiles {
    total: Arc<Total>,
}

impl TotalFiles {
    /// Files showing `total`.
    pub(crate) fn new(total: Arc<Total>) -> Self {
        Self { total }
    }
}

impl StatsDir for TotalFiles {
    type Stats = Total;

    fn stats(&self) -> &Total {
        &self.total
    }
}

const TOTAL_STATS: [File<TotalFiles>; STATS_FILES] = stats_files();

crate::sysfs_dir_type!(TotalFiles: TOTAL_STATS);

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

    /// The device's current name (device-mapper tells targets nothing of renames).
    fn name(&self, out: &mut Page<'_>) -> Result {
        let name = MappedDeviceRef::get(self.dev).ok_or(ENODEV)?.name()?;
        out.write_bytes(name.as_c_str().to_bytes())?;
        out.write_bytes(b"\n")
    }

    /// The device's uuid, read like the name (empty, as a bare newline, if it has none).
    fn uuid(&self, out: &mut Page<'_>) -> Result {
        let uuid = MappedDeviceRef::get(self.dev).ok_or(ENODEV)?.uuid()?;
        out.write_bytes(uuid.as_c_str().to_bytes())?;
        out.write_bytes(b"\n")
    }

    fn dev(&self, out: &mut Page<'_>) -> Result {
        let DevT { major, minor } = self.dev;
        writeln!(out, "{major}:{minor}").map_err(|_| EINVAL)
    }

    fn kname(&self, out: &mut Page<'_>) -> Result {
        writeln!(out, "dm-{}", self.dev.minor).map_err(|_| EINVAL)
    }

    fn slow_threshold(&self, out: &mut Page<'_>) -> Result {
        let us = self.stats.threshold().get() / 1000;
        writeln!(out, "{us}").map_err(|_| EINVAL)
    }

    fn set_slow_threshold(&self, input: &[u8]) -> Result {
        self.stats.threshold().set(parse_threshold_us(input)?);
        Ok(())
    }

    fn slow_requests(&self, file: OpenFile, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.stats.read_slow(file, offset, buf)
    }
}

impl StatsDir for DeviceFiles {
    type Stats = Stats;

    fn stats(&self) -> &Stats {
        &self.stats
    }
}

const DEVICE_STATS: [File<DeviceFiles>; STATS_FILES] = stats_files();

/// What identifies a device's directory, to join it with `/sys/block/dm-N` and `dmsetup`.
const DEVICE_IDENTITY: [File<DeviceFiles>; 4] = [
    File::show(c"name", 0o444, DeviceFiles::name),
    File::show(c"uuid", 0o444, DeviceFiles::uuid),
    File::show(c"dev", 0o444, DeviceFiles::dev),
    File::show(c"kname", 0o444, DeviceFiles::kname),
];

/// The device's record of slow and failed requests (`dmp_slow`). The record is root's only:
/// its sectors tell what other users read and write.
const DEVICE_SLOW: [File<DeviceFiles>; 1] = [File::show_store(
    c"slow_threshold_us",
    0o644,
    DeviceFiles::slow_threshold,
    DeviceFiles::set_slow_threshold,
)];

const DEVICE_SLOW_RECORD: [BinFile<DeviceFiles>; 1] = [BinFile::read(
    c"slow_requests",
    0o400,
    DeviceFiles::slow_requests,
)];

crate::sysfs_dir_type!(DeviceFiles: DEVICE_STATS, DEVICE_IDENTITY, DEVICE_SLOW; bin DEVICE_SLOW_RECORD);

/// A directory with no files of its own (`block` and `devices`).
pub(crate) struct NoFiles;

crate::sysfs_dir_type!(NoFiles:);

#[kunit_tests(dmp_sysfs)]
mod tests {
    use super::*;
    use crate::dmp_request::Request;

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
    fn the_original_six_files_come_first() {
        let six = [
            c"read_reqs",
            c"write_reqs",
            c"total_reqs",
            c"avg_read_size",
            c"avg_write_size",
            c"avg_size",
        ];
        for (f, name) in TOTAL_STATS.iter().zip(six) {
            assert_eq!(f.name(), name);
        }
        for (t, d) in TOTAL_STATS.iter().zip(&DEVICE_STATS) {
            assert_eq!((t.name(), t.mode()), (d.name(), d.mode()));
            let writable = t.name() == c"reset";
            assert_eq!(t.mode(), if writable { 0o200 } else { 0o444 });
        }
    }

    /// Shows file `name` of `files`' directory.
    fn show(files: &DeviceFiles, name: &CStr, buf: &mut [u8]) -> Result<usize> {
        for file in Iterator::chain(DEVICE_STATS.iter(), &DEVICE_IDENTITY) {
            if file.name() == name {
                let mut page = Page::new(buf);
                file.show_into(files, &mut page)?;
                return Ok(page.as_bytes().len());
            }
        }
        Err(ENOENT)
    }

    #[test]
    fn device_files() -> Result {
        // The highest minor number: no device-mapper device has it.
        let minor = (1 << 20) - 1;
        let stats = Stats::new()?;
        stats.count_one(Request::plain(IoClass::Write, 4096));
        let files = DeviceFiles::new(stats, DevT { major: 254, minor });
        let mut buf = [0u8; 4096];
        let n = show(&files, c"dev", &mut buf)?;
        assert_eq!(&buf[..n], b"254:1048575\n");
        let n = show(&files, c"kname", &mut buf)?;
        assert_eq!(&buf[..n], b"dm-1048575\n");
        let n = show(&files, c"avg_write_size", &mut buf)?;
        assert_eq!(&buf[..n], b"4096\n");
        let n = show(&files, c"stat", &mut buf)?;
        assert!(buf[..n].starts_with(b"0 0 0 0 0 1 4096 0 0 0 "));
        // No such device-mapper device.
        assert_eq!(show(&files, c"name", &mut buf), Err(ENODEV));
        assert_eq!(show(&files, c"uuid", &mut buf), Err(ENODEV));
        // `reset` can only be written.
        assert_eq!(show(&files, c"reset", &mut buf), Err(EACCES));
        Ok(())
    }

    #[test]
    fn the_slow_request_files() -> Result {
        let files = DeviceFiles::new(
            Stats::new()?,
            DevT {
                major: 254,
                minor: 0,
            },
        );
        let [threshold] = &DEVICE_SLOW;
        let [record] = &DEVICE_SLOW_RECORD;
        assert_eq!((threshold.mode(), record.mode()), (0o644, 0o400));
        assert_eq!(record.name(), c"slow_requests");
        let mut buf = [0u8; 64];
        let mut shown = |files: &DeviceFiles| -> Result<KVec<u8>> {
            let mut page = Page::new(&mut buf);
            threshold.show_into(files, &mut page)?;
            let mut v = KVec::new();
            v.extend_from_slice(page.as_bytes(), GFP_KERNEL)?;
            Ok(v)
        };
        assert_eq!(&shown(&files)?[..], b"0\n");
        threshold.store_from(&files, b"20000\n")?;
        assert_eq!(&shown(&files)?[..], b"20000\n");
        // Refused input changes nothing.
        for bad in [&b"-1"[..], b"x", b"1 2", b"99999999999999999999"] {
            assert_eq!(threshold.store_from(&files, bad), Err(EINVAL));
        }
        assert_eq!(&shown(&files)?[..], b"20000\n");
        let mut page = [0u8; 4096];
        let n = record.read_into(&files, OpenFile::for_test(1), 0, &mut page)?;
        assert_eq!(n, 0);
        Ok(())
    }
}
