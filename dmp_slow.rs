// SPDX-License-Identifier: GPL-2.0

//! The record of slow and failed requests: what is kept of each, the per-CPU rings that
//! keep the newest, their text, and the threshold that makes a request slow (reference:
//! `slow_requests` in `docs/ABI/testing/sysfs-kernel-dmp`).
//!
//! A request is recorded when it completes if its latency is at or above the device's
//! threshold (off by default), or if it failed, whatever the threshold. It is written into
//! the ring of the CPU it completes on, by that CPU alone with interrupts off (inside
//! [`LocalCpu::with`]), so recording takes no lock and is never preempted or interrupted halfway.
//! Each slot has its own sequence count: a reader on another CPU copies a record whole or
//! waits for the one write running on it.
//!
//! Each CPU keeps its newest [`RING`] records, so a device keeps at least the newest
//! [`RING`] of all, whichever CPUs they completed on: 256, a screenful of a burst. A CPU's
//! ring, 64 bytes a record, 16 KiB, is made by its first record on the device, without
//! sleeping ([`CpuSlots::here`]); a device whose requests are never slow and never fail
//! has no ring. If no memory can be had for the ring then, that record is counted but not
//! kept, and the CPU's next record tries again. A reader merges the rings by completion
//! time.
//!
//! [`CpuSlots::here`]: crate::kernel_staging::cpu_slots::CpuSlots::here

use crate::{
    dmp_request::{IoClass, CLASSES},
    kernel_staging::{
        cpu_slots::{CpuSlots, LocalCounter, LocalCpu, LocalSeq},
        device_mapper::{OpFlags, ReqFlag},
        sysfs::OpenFile,
    },
};
use core::{
    fmt::{self, Write},
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};
use kernel::prelude::*;

/// How many records each CPU's ring keeps.
pub(crate) const RING: usize = 256;

/// The flags of a request that a record keeps, by bit, in the order of their names in
/// [`FLAG_NAMES`] (also the numbers of the trace events, `dmp_trace.h`).
const FLAGS: [ReqFlag; 10] = [
    ReqFlag::Fua,
    ReqFlag::Preflush,
    ReqFlag::Sync,
    ReqFlag::Meta,
    ReqFlag::Prio,
    ReqFlag::Rahead,
    ReqFlag::Background,
    ReqFlag::Nowait,
    ReqFlag::Idle,
    ReqFlag::Polled,
];

/// The flags' names in records, by bit.
pub(crate) const FLAG_NAMES: [&str; 10] = [
    "FUA",
    "PREFLUSH",
    "SYNC",
    "META",
    "PRIO",
    "RAHEAD",
    "BACKGROUND",
    "NOWAIT",
    "IDLE",
    "POLLED",
];

/// The flags a record keeps of a request's `opf`, as bits of [`FLAGS`].
pub(crate) fn record_flags(opf: OpFlags) -> u16 {
    FLAGS
        .iter()
        .enumerate()
        .fold(0, |bits, (i, f)| bits | (u16::from(opf.has(*f)) << i))
}

/// What is kept of a slow or failed request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Record {
    /// When it completed: wall clock, nanoseconds since the epoch.
    pub(crate) time_ns: u64,
    /// Its class.
    pub(crate) class: IoClass,
    /// Its flags, bits of [`FLAG_NAMES`].
    pub(crate) flags: u16,
    /// Its first sector on the dmp device.
    pub(crate) sector: u64,
    /// Its first sector on the underlying device.
    pub(crate) dev_sector: u64,
    /// Its size in bytes.
    pub(crate) bytes: u32,
    /// How long it took, from `map` to `end_io`, in nanoseconds.
    pub(crate) latency_ns: u64,
    /// The error it completed with, as a positive errno; 0 for success.
    pub(crate) error: u16,
    /// The device's requests in flight when it completed, itself included.
    pub(crate) in_flight: u32,
    /// The CPU it completed on (set by the ring).
    pub(crate) cpu: u32,
    /// Its number among the records of its CPU since the device's statistics were made
    /// (set by the ring).
    pub(crate) seq: u64,
}

impl Record {
    /// Packs the record into a slot's words; `seq` is stored plus one (0 is an empty slot).
    fn to_words(self) -> [u64; WORDS] {
        [
            self.time_ns,
            self.seq.wrapping_add(1),
            self.sector,
            self.dev_sector,
            self.latency_ns,
            u64::from(self.bytes) | (u64::from(self.in_flight) << 32),
            u64::from(self.error) | ((self.class as u64) << 16) | (u64::from(self.flags) << 24),
        ]
    }

    /// The record a slot of CPU `cpu` holds, or `None` if it is empty.
    fn from_words(w: [u64; WORDS], cpu: u32) -> Option<Self> {
        let seq = w[1].checked_sub(1)?;
        let class = *IoClass::ALL.get(((w[6] >> 16) & 0xff) as usize)?;
        Some(Self {
            time_ns: w[0],
            class,
            flags: (w[6] >> 24) as u16,
            sector: w[2],
            dev_sector: w[3],
            bytes: w[5] as u32,
            latency_ns: w[4],
            error: w[6] as u16,
            in_flight: (w[5] >> 32) as u32,
            cpu,
            seq,
        })
    }
}

/// The words of a slot.
const WORDS: usize = 7;

/// One record's place in a ring: a cache line.
#[repr(C, align(64))]
#[derive(Zeroable)]
struct Slot {
    seq: LocalSeq,
    words: [LocalCounter; WORDS],
}

const _: () = assert!(core::mem::size_of::<Slot>() == 64 && CLASSES <= 256);

/// One CPU's ring: its record `seq` in slot `seq % RING`.
#[derive(Zeroable)]
struct Ring {
    slots: [Slot; RING],
}

impl Ring {
    /// Writes `rec` as record `seq` of CPU `cpu`, over the oldest one. Only CPU `cpu`
    /// calls it, inside [`LocalCpu::with`], numbering its records 0, 1, 2, ...; so a write is
    /// never interrupted by another or preempted halfway.
    #[inline]
    fn write(&self, seq: u64, rec: &Record) {
        let Some(slot) = self.slots.get((seq % RING as u64) as usize) else {
            return;
        };
        let words = Record { seq, ..*rec }.to_words();
        slot.seq.write(|| {
            for (w, v) in slot.words.iter().zip(words) {
                w.set(v);
            }
        });
    }

    /// The record in slot `i`, of CPU `cpu`, copied whole, if the slot holds one.
    fn read_slot(&self, cpu: usize, i: usize) -> Option<Record> {
        let slot = self.slots.get(i)?;
        let words = slot
            .seq
            .read(|| slot.words.each_ref().map(LocalCounter::get));
        Record::from_words(words, cpu as u32)
    }
}

/// The rings of one device: one per CPU that recorded a request, made (16 KiB) by its
/// first record.
pub(crate) struct Rings {
    rings: CpuSlots<Ring>,
}

impl Rings {
    /// No ring yet.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            rings: CpuSlots::new()?,
        })
    }

    /// Writes `rec` as record `seq` of the current CPU, over its oldest one; the CPU
    /// numbers its records 0, 1, 2, ... If the CPU has no ring and no memory can be had for
    /// one now without sleeping, the record is not kept.
    #[inline]
    pub(crate) fn push(&self, cpu: &LocalCpu, seq: u64, rec: &Record) {
        if let Some(ring) = self.rings.here(cpu) {
            ring.write(seq, rec);
        }
    }

    /// Writes `rec` as record `seq` of CPU `cpu`, as if that CPU had (for tests).
    #[cfg(CONFIG_KUNIT)]
    fn push_for_test(&self, cpu: usize, seq: u64, rec: &Record) {
        if let Some(ring) = self.rings.here_for_test(cpu) {
            ring.write(seq, rec);
        }
    }

    /// How many CPUs have a ring.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn count(&self) -> usize {
        self.rings.count()
    }

    /// Appends to `out` every record kept and not hidden by a reset, each copied whole, each
    /// CPU's as one run of consecutive numbers, then sorts them oldest first (by completion
    /// time, then CPU and number). `shown_from(cpu)` is the number of the first record of
    /// CPU `cpu` shown: those before were hidden by a reset.
    ///
    /// A CPU may write while its ring is read: a slot read before the writer reached it then
    /// holds a record older by [`RING`] or more than the newest one read, which the writer
    /// has overwritten since. Such slots are read again until every record read is within
    /// [`RING`] of the newest (the writer would have to lap the reader once more for a
    /// further pass to be needed); what is still older after a few passes is left out.
    pub(crate) fn collect(
        &self,
        shown_from: impl Fn(usize) -> u64,
        out: &mut KVVec<Record>,
    ) -> Result {
        const PASSES: usize = 4;
        for (cpu, ring) in self.rings.iter() {
            let from = shown_from(cpu);
            let start = out.len();
            for i in 0..RING {
                if let Some(r) = ring.read_slot(cpu, i) {
                    out.push(r, GFP_KERNEL)?;
                }
            }
            let run = &mut out[start..];
            let newest = |run: &[Record]| run.iter().map(|r| r.seq).max().unwrap_or(0);
            let stale = |r: &Record, top: u64| r.seq.saturating_add(RING as u64) <= top;
            for _ in 0..PASSES {
                let top = newest(run);
                let mut again = false;
                for r in run.iter_mut().filter(|r| stale(r, top)) {
                    again = true;
                    if let Some(fresh) = ring.read_slot(cpu, (r.seq % RING as u64) as usize) {
                        *r = fresh;
                    }
                }
                if !again {
                    break;
                }
            }
            // Keep what is consecutive and not hidden: move it to the front of the run.
            let top = newest(run);
            let mut kept = 0;
            for k in 0..run.len() {
                if run[k].seq >= from && !stale(&run[k], top) {
                    run.swap(kept, k);
                    kept += 1;
                }
            }
            out.truncate(start + kept);
        }
        sort_oldest_first(out);
        Ok(())
    }
}

/// Sorts `recs` by completion time, then CPU and number, in place (a heapsort: no
/// allocation, and no use of `core`'s sorts, whose code objtool cannot follow).
fn sort_oldest_first(recs: &mut [Record]) {
    fn key(r: &Record) -> (u64, u32, u64) {
        (r.time_ns, r.cpu, r.seq)
    }
    fn sift_down(v: &mut [Record], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && key(&v[child]) < key(&v[child + 1]) {
                child += 1;
            }
            if key(&v[root]) >= key(&v[child]) {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = recs.len();
    for start in (0..n / 2).rev() {
        sift_down(recs, start, n);
    }
    for end in (1..n).rev() {
        recs.swap(0, end);
        sift_down(recs, 0, end);
    }
}

/// Writes one record's line of `slow_requests`:
///
/// ```text
/// <time> <op> <flags> <sector> <dev_sector> <bytes> <latency_ns> <error> <in_flight> <cpu> <seq>
/// ```
///
/// `time` is seconds since the epoch with nine decimals; `flags` the names of the flags
/// joined by commas, or `-` if none.
pub(crate) fn write_record(out: &mut impl Write, r: &Record) -> fmt::Result {
    let (s, ns) = (r.time_ns / 1_000_000_000, r.time_ns % 1_000_000_000);
    write!(out, "{s}.{ns:09} {} ", r.class.name())?;
    if r.flags == 0 {
        out.write_str("-")?;
    }
    let mut sep = "";
    for (i, name) in FLAG_NAMES.iter().enumerate() {
        if r.flags & (1 << i) != 0 {
            write!(out, "{sep}{name}")?;
            sep = ",";
        }
    }
    writeln!(
        out,
        " {} {} {} {} {} {} {} {}",
        r.sector, r.dev_sector, r.bytes, r.latency_ns, r.error, r.in_flight, r.cpu, r.seq
    )
}

/// Parses a threshold in microseconds (`slow_threshold_us`, `slow_threshold` message):
/// decimal digits, no sign, optionally one trailing newline, no more than fits in 64 bits
/// as nanoseconds. Returns it in nanoseconds; 0 means off.
pub(crate) fn parse_threshold_us(input: &[u8]) -> Result<u64> {
    let digits = input.strip_suffix(b"\n").unwrap_or(input);
    if digits.is_empty() {
        return Err(EINVAL);
    }
    let us = digits.iter().try_fold(0u64, |acc, &c| {
        let d = (c as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    });
    us.and_then(|us| us.checked_mul(1000)).ok_or(EINVAL)
}

/// A device's threshold: requests at least this slow are recorded.
pub(crate) struct Threshold(AtomicU64);

impl Threshold {
    /// Off.
    pub(crate) const fn off() -> Self {
        Self(AtomicU64::new(u64::MAX))
    }

    /// Sets it to `ns` nanoseconds, or off for 0.
    pub(crate) fn set(&self, ns: u64) {
        self.0.store(if ns == 0 { u64::MAX } else { ns }, Relaxed);
    }

    /// The threshold in nanoseconds, 0 if off.
    pub(crate) fn get(&self) -> u64 {
        match self.0.load(Relaxed) {
            u64::MAX => 0,
            ns => ns,
        }
    }

    /// Whether a request of `latency_ns` is slow: one load and one comparison (off is
    /// `u64::MAX`, which no latency reaches).
    #[inline(always)]
    pub(crate) fn is_slow(&self, latency_ns: u64) -> bool {
        latency_ns >= self.0.load(Relaxed)
    }
}

/// The snapshots of a device's record that open files are reading (`slow_requests`).
pub(crate) struct Reader {
    /// At most [`READERS`], the least recently started replaced first.
    snapshots: KVec<Snapshot>,
    /// How many snapshots were started: their order.
    started: u64,
}

/// How many readers of one device's record can read at the same time without one's
/// snapshot replacing another's.
const READERS: usize = 4;

/// The text of the record as one open file's read from offset 0 made it; `None` once it
/// was read to the end.
struct Snapshot {
    file: OpenFile,
    started: u64,
    text: Option<KVVec<u8>>,
}

/// A `fmt::Write` into a growing vector (for the text of `slow_requests`).
struct VecWriter<'a>(&'a mut KVVec<u8>);

impl Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| fmt::Error)
    }
}

impl Reader {
    /// No snapshot yet.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            snapshots: KVec::with_capacity(READERS, GFP_KERNEL)?,
            started: 0,
        })
    }

    /// A read of `slow_requests` by `file` at `offset` into `buf`. A read at offset 0 takes
    /// a snapshot of `rings` (without the records before `shown_from`, see
    /// [`Rings::collect`]) and makes its text; reads at later offsets continue that text,
    /// so a reader that reads the file through from the start sees one set of records. A
    /// read past offset 0 by a file whose snapshot was replaced (by [`READERS`] newer ones)
    /// or that never read offset 0 fails with `EAGAIN`, and the reader starts again. At the
    /// end the text is freed; reading on returns 0.
    pub(crate) fn read(
        &mut self,
        rings: &Rings,
        shown_from: impl Fn(usize) -> u64,
        file: OpenFile,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        if offset == 0 {
            let mut recs = KVVec::new();
            rings.collect(shown_from, &mut recs)?;
            let mut text = KVVec::new();
            let mut w = VecWriter(&mut text);
            for r in recs.iter() {
                write_record(&mut w, r).map_err(|_| ENOMEM)?;
            }
            self.started = self.started.wrapping_add(1);
            let snap = Snapshot {
                file,
                started: self.started,
                text: Some(text),
            };
            let own = self.snapshots.iter().position(|s| s.file == file);
            let oldest = (0..self.snapshots.len()).min_by_key(|&i| self.snapshots[i].started);
            match (own, oldest) {
                (Some(i), _) => self.snapshots[i] = snap,
                (None, _) if self.snapshots.len() < READERS => {
                    self.snapshots.push(snap, GFP_KERNEL)?
                }
                (None, Some(i)) => self.snapshots[i] = snap,
                (None, None) => return Err(EAGAIN),
            }
        }
        let snap = self
            .snapshots
            .iter_mut()
            .find(|s| s.file == file)
            .ok_or(EAGAIN)?;
        let Some(text) = &snap.text else {
            return Ok(0);
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        let n = buf.len().min(text.len() - start);
        buf[..n].copy_from_slice(&text[start..start + n]);
        if n == 0 {
            snap.text = None;
        }
        Ok(n)
    }
}

#[kunit_tests(dmp_slow)]
mod tests {
    use super::*;

    fn rec(time_ns: u64, class: IoClass) -> Record {
        Record {
            time_ns,
            class,
            flags: 0,
            sector: 8,
            dev_sector: 2056,
            bytes: 4096,
            latency_ns: 20_000_000,
            error: 0,
            in_flight: 3,
            cpu: 0,
            seq: 0,
        }
    }

    fn line(r: &Record) -> Result<KVVec<u8>> {
        let mut v = KVVec::new();
        write_record(&mut VecWriter(&mut v), r).map_err(|_| ENOMEM)?;
        Ok(v)
    }

    #[test]
    fn a_record_line() -> Result {
        let r = Record {
            flags: 0b101,
            error: 5,
            cpu: 1,
            seq: 7,
            ..rec(1_764_745_600_012_345_678, IoClass::Write)
        };
        assert_eq!(
            &line(&r)?[..],
            b"1764745600.012345678 write FUA,SYNC 8 2056 4096 20000000 5 3 1 7\n"
        );
        let r = rec(999, IoClass::WriteZeroes);
        assert_eq!(
            &line(&r)?[..],
            b"0.000000999 write_zeroes - 8 2056 4096 20000000 0 3 0 0\n"
        );
        Ok(())
    }

    #[test]
    fn flags_by_bit() {
        let opf = OpFlags::NONE.with(ReqFlag::Meta).with(ReqFlag::Fua);
        assert_eq!(record_flags(opf), 0b1001);
        assert_eq!(record_flags(OpFlags::NONE), 0);
        assert_eq!(FLAGS.len(), FLAG_NAMES.len());
    }

    #[test]
    fn words_round_trip() {
        let r = Record {
            flags: 0x3ff,
            error: 125,
            in_flight: u32::MAX,
            bytes: u32::MAX,
            sector: u64::MAX,
            cpu: 3,
            seq: 1 << 40,
            ..rec(u64::MAX, IoClass::Zone)
        };
        assert_eq!(Record::from_words(r.to_words(), 3), Some(r));
        assert_eq!(Record::from_words([0; WORDS], 0), None);
    }

    #[test]
    fn rings_keep_the_newest_and_merge_by_time() -> Result {
        let rings = Rings::new()?;
        assert_eq!(rings.count(), 0);
        // CPU 0 writes RING + 10 records at even times, CPU 1 three at odd times.
        for seq in 0..(RING as u64 + 10) {
            rings.push_for_test(0, seq, &rec(2 * seq, IoClass::Read));
        }
        for seq in 0..3 {
            rings.push_for_test(1, seq, &rec(2 * seq + 1, IoClass::Write));
        }
        assert_eq!(rings.count(), 2);
        let mut out = KVVec::new();
        rings.collect(|_| 0, &mut out)?;
        assert_eq!(out.len(), RING + 3);
        // The oldest ten of CPU 0 were overwritten.
        assert_eq!((out[0].cpu, out[0].seq, out[0].time_ns), (1, 0, 1));
        assert!(out.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
        let last = &out[out.len() - 1];
        assert_eq!((last.cpu, last.seq), (0, RING as u64 + 9));
        // After a reset at (RING + 8, 2), three are left.
        let mut out = KVVec::new();
        rings.collect(|cpu| [RING as u64 + 8, 2][cpu], &mut out)?;
        let kept: KVec<(u32, u64)> = {
            let mut v = KVec::new();
            for r in out.iter() {
                v.push((r.cpu, r.seq), GFP_KERNEL)?;
            }
            v
        };
        assert_eq!(
            &kept[..],
            &[(1, 2), (0, RING as u64 + 8), (0, RING as u64 + 9)]
        );
        Ok(())
    }

    /// Reads `file`'s whole snapshot from offset 0, 40 bytes at a time.
    fn read_all(reader: &mut Reader, rings: &Rings, file: OpenFile) -> Result<KVec<u8>> {
        let mut all = KVec::new();
        let mut buf = [0u8; 40];
        loop {
            let n = reader.read(rings, |_| 0, file, all.len() as u64, &mut buf)?;
            if n == 0 {
                return Ok(all);
            }
            all.extend_from_slice(&buf[..n], GFP_KERNEL)?;
        }
    }

    #[test]
    fn a_read_is_one_snapshot() -> Result {
        let rings = Rings::new()?;
        let mut reader = Reader::new()?;
        for seq in 0..3 {
            rings.push_for_test(0, seq, &rec(seq + 1, IoClass::Read));
        }
        let (a, b) = (OpenFile::for_test(1), OpenFile::for_test(2));
        let mut buf = [0u8; 40];
        assert_eq!(reader.read(&rings, |_| 0, a, 0, &mut buf)?, 40);
        // A record written meanwhile is not in a's snapshot, but is in b's, read meanwhile.
        rings.push_for_test(0, 3, &rec(4, IoClass::Read));
        let all_b = read_all(&mut reader, &rings, b)?;
        let mut all_a = KVec::new();
        all_a.extend_from_slice(&buf, GFP_KERNEL)?;
        loop {
            let n = reader.read(&rings, |_| 0, a, all_a.len() as u64, &mut buf)?;
            if n == 0 {
                break;
            }
            all_a.extend_from_slice(&buf[..n], GFP_KERNEL)?;
        }
        let lines = |t: &[u8]| t.iter().filter(|c| **c == b'\n').count();
        assert_eq!((lines(&all_a), lines(&all_b)), (3, 4));
        assert!(all_a.starts_with(b"0.000000001 read - 8 2056 4096 20000000 0 3 0 0\n"));
        // Read to the end, the file reads on as empty.
        assert_eq!(reader.read(&rings, |_| 0, a, 1000, &mut buf)?, 0);
        // Four newer snapshots replace a's: its next read past 0 fails, and a read from 0
        // starts again.
        assert_eq!(reader.read(&rings, |_| 0, a, 0, &mut buf)?, 40);
        for f in 3..7 {
            assert_eq!(
                reader.read(&rings, |_| 0, OpenFile::for_test(f), 0, &mut buf)?,
                40
            );
        }
        assert_eq!(reader.read(&rings, |_| 0, a, 40, &mut buf), Err(EAGAIN));
        assert_eq!(read_all(&mut reader, &rings, a)?.len(), all_b.len());
        // A file that never read offset 0 has nothing to continue.
        assert_eq!(
            reader.read(&rings, |_| 0, OpenFile::for_test(99), 40, &mut buf),
            Err(EAGAIN)
        );
        // A reset hides what was written before it.
        assert_eq!(reader.read(&rings, |_| 4, a, 0, &mut buf)?, 0);
        Ok(())
    }

    #[test]
    fn sorted_oldest_first() -> Result {
        let mut v = KVec::new();
        for t in [5u64, 1, 4, 1, 3, 9, 2, 6, 5, 3] {
            v.push(rec(t, IoClass::Read), GFP_KERNEL)?;
        }
        v[1].cpu = 1;
        sort_oldest_first(&mut v);
        let times: KVec<u64> = {
            let mut t = KVec::new();
            for r in v.iter() {
                t.push(r.time_ns, GFP_KERNEL)?;
            }
            t
        };
        assert_eq!(&times[..], &[1, 1, 2, 3, 3, 4, 5, 5, 6, 9]);
        // Equal times: by CPU.
        assert_eq!((v[0].cpu, v[1].cpu), (0, 1));
        sort_oldest_first(&mut []);
        Ok(())
    }

    #[test]
    fn thresholds() {
        assert_eq!(parse_threshold_us(b"0"), Ok(0));
        assert_eq!(parse_threshold_us(b"1"), Ok(1000));
        assert_eq!(parse_threshold_us(b"20000\n"), Ok(20_000_000));
        assert_eq!(
            parse_threshold_us(b"18446744073709551"),
            Ok(18_446_744_073_709_551_000)
        );
        for bad in [
            &b""[..],
            b"\n",
            b"-1",
            b"+1",
            b"1.5",
            b"1 ",
            b" 1",
            b"1\n\n",
            b"1x",
            b"0x10",
            b"18446744073709552",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_threshold_us(bad), Err(EINVAL));
        }
        let t = Threshold::off();
        assert!(!t.is_slow(u64::MAX - 1));
        assert_eq!(t.get(), 0);
        t.set(1000);
        assert!((t.is_slow(1000), t.is_slow(999)) == (true, false));
        assert_eq!(t.get(), 1000);
        t.set(0);
        assert!(!t.is_slow(u64::MAX - 1));
    }
}
