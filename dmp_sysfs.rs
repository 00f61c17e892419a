// SPDX-License-Identifier: GPL-2.0

//! The `/sys/kernel/dmp` presentation of the statistics.
//!
//! ```text
//! /sys/kernel/dmp/<file>                 all dmp devices since the module was loaded
//! /sys/kernel/dmp/reset                  write 1 to zero the above
//! /sys/kernel/dmp/devices/<dm name>/...  the same files for one device
//! ```

use crate::{
    dmp_stats::{IoClass, Snapshot, Stats},
    sysfs::{File, Files, Page},
};
use core::fmt::Write;
use kernel::{prelude::*, sync::Arc};

/// The statistics files of a directory.
pub(crate) struct StatsFiles {
    stats: Arc<Stats>,
}

impl StatsFiles {
    /// Files showing `stats`.
    pub(crate) fn new(stats: Arc<Stats>) -> Self {
        Self { stats }
    }

    /// The statistics shown.
    pub(crate) fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }
}

/// A statistics file and how its value is computed.
type StatFile = (File, fn(&Snapshot) -> u64);

const fn stat(name: &'static CStr, value: fn(&Snapshot) -> u64) -> StatFile {
    (File { name, mode: 0o444 }, value)
}

/// Every statistics file; the index is the file's identity.
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

const RESET: usize = STATS.len();

/// The files of a statistics directory: the statistics, then `reset`.
const FILES: [File; RESET + 1] = {
    let mut out = [const {
        File {
            name: c"reset",
            mode: 0o200,
        }
    }; RESET + 1];
    let mut i = 0;
    while i < RESET {
        out[i] = File {
            name: STATS[i].0.name,
            mode: STATS[i].0.mode,
        };
        i += 1;
    }
    out
};

crate::sysfs_files!(StatsFiles, FILES);

/// Parses a write to `reset`: `1`, optionally followed by a newline.
pub(crate) fn parse_reset(input: &[u8]) -> Result {
    match input {
        b"1" | b"1\n" => Ok(()),
        _ => Err(EINVAL),
    }
}

impl Files for StatsFiles {
    fn show(&self, index: usize, out: &mut Page<'_>) -> Result {
        // `reset` is write-only.
        let (_, value) = STATS.get(index).ok_or(EACCES)?;
        writeln!(out, "{}", value(&self.stats.read())).map_err(|_| EINVAL)
    }

    fn store(&self, index: usize, input: &[u8]) -> Result {
        if index != RESET {
            return Err(EACCES);
        }
        parse_reset(input)?;
        self.stats.reset();
        Ok(())
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
    fn file_table_matches_the_statistics() {
        let files = &FILES;
        assert_eq!(files.len(), STATS.len() + 1);
        for (f, (s, _)) in files.iter().zip(STATS) {
            assert_eq!(f.name, s.name);
            assert_eq!(f.mode, 0o444);
        }
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
}
