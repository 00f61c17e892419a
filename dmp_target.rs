// SPDX-License-Identifier: GPL-2.0

//! The `dmp` target: forwards every bio to one underlying device, as dm-linear does,
//! and counts it.
//!
//! Table line: `<start> <len> dmp <dev_path> [<offset>]`, where `offset` is the first
//! sector used on the underlying device (default 0). `dmsetup table` prints the canonical
//! form, `<major:minor> <offset>`, as dm-linear does.

use crate::{
    device_mapper::{
        Args, Bio, BioOp, CtrError, DevT, Device, DeviceId, DeviceVisitor, Emitter, Features,
        IoctlAccess, MapResult, MappedDevice, MessageError, NewTarget, Operations, StatusKind,
        Target,
    },
    dmp_stats::{IoClass, Request, Snapshot, Stats, Total},
    dmp_sysfs::{DeviceFiles, NoFiles, TotalFiles},
    sysfs::{Dir, Parent},
};
use core::fmt::Write;
use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::{Arc, Mutex},
};
#[cfg(not(dmp_no_completion))]
use {
    crate::{device_mapper::BlkStatus, dmp_stats::Outcome},
    kernel::time::Instant,
};

/// The parsed table arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TableArgs<'a> {
    /// The underlying device, as given.
    pub(crate) path: &'a CStr,
    /// The first sector used on the underlying device.
    pub(crate) offset: u64,
}

/// Parses `<dev_path> [<offset>]`.
pub(crate) fn parse_table<'a>(
    args: impl Iterator<Item = &'a CStr>,
) -> Result<TableArgs<'a>, &'static CStr> {
    let mut args = args;
    let path = args
        .next()
        .ok_or(c"Missing device path: the table is <dev_path> [<offset>]")?;
    let offset = match args.next() {
        None => 0,
        Some(s) => parse_sector(s.to_bytes())
            .ok_or(c"Invalid device offset: expected a sector number (decimal, fits in 64 bits)")?,
    };
    if args.next().is_some() {
        return Err(c"Too many arguments: the table is <dev_path> [<offset>]");
    }
    Ok(TableArgs { path, offset })
}

/// Parses a decimal sector number: digits only, no sign, no overflow.
pub(crate) fn parse_sector(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        let digit = (c as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// What a bio counts as, or `None` for operations dmp forwards without counting.
pub(crate) fn classify(op: BioOp, bytes: u32) -> Option<IoClass> {
    match op {
        BioOp::Read => Some(IoClass::Read),
        BioOp::Write if bytes == 0 => Some(IoClass::Flush),
        BioOp::Write => Some(IoClass::Write),
        BioOp::Discard | BioOp::SecureErase => Some(IoClass::Discard),
        BioOp::WriteZeroes => Some(IoClass::WriteZeroes),
        BioOp::Other => None,
    }
}

/// Writes the INFO status: nine counters in a fixed order (see README.md).
pub(crate) fn write_info(out: &mut impl Write, s: &Snapshot) -> core::fmt::Result {
    write!(
        out,
        "{} {} {} {} {} {} {} {} {}",
        s.reqs(IoClass::Read),
        s.bytes(IoClass::Read),
        s.reqs(IoClass::Write),
        s.bytes(IoClass::Write),
        s.reqs(IoClass::Flush),
        s.reqs(IoClass::Discard),
        s.bytes(IoClass::Discard),
        s.reqs(IoClass::WriteZeroes),
        s.bytes(IoClass::WriteZeroes),
    )
}

/// State shared by all dmp targets: the devices and their statistics.
pub(crate) struct Shared {
    registry: Arc<Registry>,
    // Dropped last: the directories above live inside it.
    _root: Dir<TotalFiles>,
}

impl Shared {
    /// Creates `/sys/kernel/dmp` and `/sys/kernel/dmp/devices`.
    fn new() -> Result<Self> {
        let total = Total::new()?;
        let root = Dir::new(c"dmp", Parent::kernel(), TotalFiles::new(total.clone()))?;
        let devices_dir = Dir::new(c"devices", root.as_parent(), NoFiles)?;
        let registry = Arc::pin_init(
            pin_init!(Registry {
                devices <- new_mutex!(KVec::new()),
                total,
                dir: devices_dir,
            }),
            GFP_KERNEL,
        )?;
        Ok(Self {
            registry,
            _root: root,
        })
    }
}

/// The statistics of each mapped device with a dmp target, kept across table reloads.
///
/// A device's directory is named after the device. Device-mapper tells no target about
/// `dmsetup rename`, so a directory can hold a stale name: the next table load of its
/// device renames it, and a device that takes over the name moves a stale holder aside
/// (to its `dm-N` name) first. Presentation never fails a table load.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    devices: Mutex<KVec<Entry>>,
    /// The module-wide statistics: every entry's, and those of entries gone.
    total: Arc<Total>,
    dir: Dir<NoFiles>,
}

struct Entry {
    dev: DevT,
    /// How many live dmp targets (in any table of the device) use it.
    users: usize,
    stats: Arc<Stats>,
    /// The device's directory, if sysfs could make one.
    dir: Option<Dir<DeviceFiles>>,
}

impl Entry {
    fn dir_name(&self) -> Option<&CStr> {
        self.dir.as_ref().map(Dir::name)
    }
}

impl Registry {
    /// Takes a reference to the statistics of `md`, creating them on first use, and shows
    /// them under the device's current name.
    fn attach(self: &Arc<Self>, md: &MappedDevice<'_>) -> Result<DeviceStats, CtrError> {
        let dev = md.dev();
        // Read before taking the lock: device-mapper may call `detach` with its name lock
        // held.
        let name = md.name();
        let mut devices = self.devices.lock();
        let i = match devices.iter().position(|e| e.dev == dev) {
            Some(i) => i,
            None => {
                let nomem = |e| CtrError::new(c"Cannot allocate memory", e);
                let stats = Stats::new().map_err(nomem)?;
                devices.reserve(1, GFP_KERNEL).map_err(|_| nomem(ENOMEM))?;
                self.total.add(&stats).map_err(nomem)?;
                let entry = Entry {
                    dev,
                    users: 0,
                    stats,
                    dir: None,
                };
                // Cannot fail: there is room for it.
                devices.push(entry, GFP_KERNEL).map_err(|_| nomem(ENOMEM))?;
                devices.len() - 1
            }
        };
        devices[i].users += 1;
        if let Ok(name) = &name {
            self.present(&mut devices, i, name.as_c_str());
        }
        if devices[i].dir.is_none() {
            // No name, or sysfs refused it: the stable `dm-N` name instead.
            self.present_aside(&mut devices, i);
        }
        Ok(DeviceStats {
            registry: self.clone(),
            dev,
            stats: devices[i].stats.clone(),
        })
    }

    /// Shows entry `i` as `name`, moving a stale holder of the name aside.
    fn present(&self, devices: &mut [Entry], i: usize, name: &CStr) {
        if devices[i].dir_name() == Some(name) {
            return;
        }
        // Names are unique among live devices: another holder of `name` is stale.
        if let Some(j) = devices.iter().position(|e| e.dir_name() == Some(name)) {
            self.present_aside(devices, j);
        }
        let entry = &mut devices[i];
        match &mut entry.dir {
            // On failure the directory keeps its old name.
            Some(dir) => {
                let _ = dir.rename(name);
            }
            None => {
                let files = DeviceFiles::new(entry.stats.clone(), entry.dev);
                entry.dir = Dir::new(name, self.dir.as_parent(), files).ok();
            }
        }
    }

    /// Shows entry `i` under a name no device can claim from it: `dm-N`, or `dm-N~K` if a
    /// device is named `dm-N`.
    fn present_aside(&self, devices: &mut [Entry], i: usize) {
        let minor = devices[i].dev.minor;
        for k in 0..devices.len() + 1 {
            let name = if k == 0 {
                CString::try_from_fmt(fmt!("dm-{minor}"))
            } else {
                CString::try_from_fmt(fmt!("dm-{minor}~{k}"))
            };
            let Ok(name) = name else { return };
            let taken = devices
                .iter()
                .enumerate()
                .any(|(j, e)| j != i && e.dir_name() == Some(&name));
            if taken {
                continue;
            }
            let entry = &mut devices[i];
            match &mut entry.dir {
                Some(dir) if dir.name() == &*name => {}
                Some(dir) => {
                    let _ = dir.rename(&name);
                }
                None => {
                    let files = DeviceFiles::new(entry.stats.clone(), entry.dev);
                    entry.dir = Dir::new(&name, self.dir.as_parent(), files).ok();
                }
            }
            return;
        }
    }

    fn detach(&self, dev: DevT) {
        let mut devices = self.devices.lock();
        if let Some(i) = devices.iter().position(|e| e.dev == dev) {
            devices[i].users -= 1;
            if devices[i].users == 0 {
                // The device's last target is gone: its statistics can change no more.
                self.total.retire(&devices[i].stats);
                // Removes the directory; waits for readers of its files.
                drop(devices.remove(i));
            }
        }
    }
}

/// One target's reference to its device's statistics.
struct DeviceStats {
    registry: Arc<Registry>,
    dev: DevT,
    stats: Arc<Stats>,
}

impl Drop for DeviceStats {
    fn drop(&mut self) {
        self.registry.detach(self.dev);
    }
}

/// The clock that times requests: `CLOCK_MONOTONIC` (or, in the benchmark's `dmp-noclock`
/// and `dmp-hook` builds, none).
#[cfg(not(dmp_no_clock))]
type Clock = crate::clock::InlineMonotonic;
#[cfg(dmp_no_clock)]
type Clock = crate::clock::FrozenClock;

/// What dmp keeps for a bio from `map` to `end_io`: the request to count and when it was
/// mapped, if it is counted.
#[derive(Clone, Copy, Default)]
pub(crate) struct PerIo(#[cfg(not(dmp_no_completion))] Option<(Request, Instant<Clock>)>);

/// One dmp target.
pub(crate) struct DmpTarget {
    dev: DeviceId,
    offset: u64,
    device: DeviceStats,
}

#[vtable]
impl Operations for DmpTarget {
    const NAME: &'static CStr = c"dmp";
    const VERSION: [u32; 3] = [1, 2, 0];
    const FEATURES: Features = Features::NOWAIT
        .with(Features::PASSES_INTEGRITY)
        .with(Features::PASSES_CRYPTO)
        .with(Features::ATOMIC_WRITES);

    type Shared = Shared;
    type PerIo = PerIo;

    fn shared() -> impl PinInit<Shared, Error> {
        Shared::new()
    }

    fn ctr(shared: &Shared, target: &mut NewTarget<'_>, args: &Args<'_>) -> Result<Self, CtrError> {
        let parsed = parse_table(args.iter()).map_err(|msg| CtrError::new(msg, EINVAL))?;
        let dev = target
            .get_device(parsed.path)
            .map_err(|e| CtrError::new(c"Device lookup failed", e))?;
        let device = shared.registry.attach(&target.mapped_device())?;
        // Flushes, discards, secure erases and write-zeroes all go through `map`, where
        // they are counted and forwarded (flushes do not bypass the target).
        target.set_num_bios(1, 1, 1, 1);
        Ok(Self {
            dev,
            offset: parsed.offset,
            device,
        })
    }

    #[inline]
    fn map(&self, target: &Target<'_>, bio: &mut Bio, io: &mut PerIo) -> MapResult {
        let Some(dev) = target.device(self.dev) else {
            return MapResult::Kill;
        };
        #[cfg(not(dmp_no_accounting))]
        if let Some(class) = classify(bio.op(), bio.size()) {
            let req = Request {
                class,
                bytes: bio.size(),
                fua: bio.is_fua(),
                preflush: bio.is_preflush(),
            };
            // Counted when it completes (`end_io`); until then it is in flight.
            #[cfg(not(dmp_no_completion))]
            {
                #[cfg(not(dmp_hook_only))]
                self.device.stats.started();
                *io = PerIo(Some((req, Instant::now())));
            }
            #[cfg(dmp_no_completion)]
            self.device.stats.mapped_only(req);
        }
        #[cfg(dmp_no_completion)]
        let _ = io;
        bio.set_dev(dev);
        bio.set_sector(self.offset.wrapping_add(target.offset_of(bio.sector())));
        MapResult::Remapped
    }

    #[cfg(not(dmp_no_completion))]
    #[inline]
    fn end_io(&self, _target: &Target<'_>, _bio: &Bio, io: &mut PerIo, status: BlkStatus) {
        let Some((req, start)) = io.0 else {
            return;
        };
        let latency_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);
        let outcome = match status.to_error() {
            None => Outcome::Ok,
            Some(e) if e == EIO => Outcome::IoError,
            Some(_) => Outcome::OtherError,
        };
        #[cfg(not(dmp_hook_only))]
        self.device.stats.completed(req, latency_ns, outcome);
        #[cfg(dmp_hook_only)]
        let _ = (req, latency_ns, outcome);
    }

    fn status(&self, target: &Target<'_>, kind: StatusKind, out: &mut Emitter<'_>) {
        let Some(dev) = target.device(self.dev) else {
            return;
        };
        match kind {
            StatusKind::Info => {
                if let Ok(s) = self.device.stats.read() {
                    let _ = write_info(out, &s);
                }
            }
            StatusKind::Table => {
                out.write_bytes(dev.name().to_bytes());
                let _ = write!(out, " {}", self.offset);
            }
            StatusKind::Ima => {
                out.target_name_version(target);
                out.write_bytes(b",device_name=");
                out.write_bytes(dev.name().to_bytes());
                let _ = write!(out, ",start={};", self.offset);
            }
        }
    }

    fn message(&self, _target: &Target<'_>, args: &Args<'_>) -> Result<(), MessageError> {
        let mut it = args.iter();
        match (it.next().map(CStr::to_bytes), it.next()) {
            (Some(b"reset"), None) => self
                .device
                .stats
                .reset()
                .map_err(|e| MessageError::new(c"cannot allocate memory for the reset", e)),
            (Some(b"reset"), Some(_)) => Err(MessageError::new(
                c"the reset message takes no arguments",
                EINVAL,
            )),
            _ => Err(MessageError::new(
                c"unknown message; the only message is \"reset\"",
                EINVAL,
            )),
        }
    }

    fn iterate_devices(&self, target: &Target<'_>, visit: &mut DeviceVisitor<'_>) -> i32 {
        match target.device(self.dev) {
            Some(dev) => visit.visit(dev, self.offset, target.len()),
            None => 0,
        }
    }

    fn prepare_ioctl<'a>(&self, target: &Target<'a>) -> Option<(&'a Device, IoctlAccess)> {
        let dev = target.device(self.dev)?;
        let access = if self.offset == 0 && target.len() == dev.nr_sectors() {
            IoctlAccess::WholeDevice
        } else {
            IoctlAccess::PartOfDevice
        };
        Some((dev, access))
    }
}

#[kunit_tests(dmp_target)]
mod tests {
    use super::*;

    fn parse(args: &[&'static CStr]) -> Result<TableArgs<'static>, &'static CStr> {
        parse_table(args.iter().copied())
    }

    #[test]
    fn table_accepts_a_path_and_an_optional_offset() {
        assert_eq!(
            parse(&[c"/dev/ram0"]),
            Ok(TableArgs {
                path: c"/dev/ram0",
                offset: 0
            })
        );
        assert_eq!(
            parse(&[c"254:0", c"2048"]),
            Ok(TableArgs {
                path: c"254:0",
                offset: 2048
            })
        );
        assert_eq!(
            parse(&[c"x", c"18446744073709551615"]),
            Ok(TableArgs {
                path: c"x",
                offset: u64::MAX
            })
        );
        assert_eq!(parse(&[c"x", c"007"]).map(|t| t.offset), Ok(7));
    }

    #[test]
    fn table_refuses_missing_and_extra_arguments() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[c"/dev/ram0", c"0", c"0"]).is_err());
        let missing = parse(&[]).err().map(CStr::to_bytes);
        assert!(missing.is_some_and(|m| m.starts_with(b"Missing device path")));
        let extra = parse(&[c"a", c"1", c"2"]).err().map(CStr::to_bytes);
        assert!(extra.is_some_and(|m| m.starts_with(b"Too many arguments")));
    }

    #[test]
    fn table_refuses_bad_offsets() {
        for bad in [
            c"",
            c"-1",
            c"+1",
            c"0x10",
            c"1a",
            c" 1",
            c"1 ",
            c"1.5",
            c"18446744073709551616",
            c"99999999999999999999999",
        ] {
            let err = parse(&[c"/dev/ram0", bad]).err().map(CStr::to_bytes);
            assert!(err.is_some_and(|m| m.starts_with(b"Invalid device offset")));
        }
    }

    #[test]
    fn sector_numbers() {
        assert_eq!(parse_sector(b"0"), Some(0));
        assert_eq!(parse_sector(b"4096"), Some(4096));
        assert_eq!(parse_sector(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_sector(b"18446744073709551616"), None);
        assert_eq!(parse_sector(b""), None);
        assert_eq!(parse_sector(b"\xff"), None);
    }

    #[test]
    fn classification_is_exact() {
        assert_eq!(classify(BioOp::Read, 4096), Some(IoClass::Read));
        assert_eq!(classify(BioOp::Read, 0), Some(IoClass::Read));
        assert_eq!(classify(BioOp::Write, 512), Some(IoClass::Write));
        assert_eq!(classify(BioOp::Write, 0), Some(IoClass::Flush));
        assert_eq!(classify(BioOp::Discard, 1 << 20), Some(IoClass::Discard));
        assert_eq!(classify(BioOp::SecureErase, 4096), Some(IoClass::Discard));
        assert_eq!(
            classify(BioOp::WriteZeroes, 4096),
            Some(IoClass::WriteZeroes)
        );
        assert_eq!(classify(BioOp::Other, 4096), None);
    }

    #[test]
    fn info_status_has_nine_fields_in_order() -> Result {
        let s = Stats::new()?;
        s.count_one(IoClass::Read, 4096, false, false);
        s.count_one(IoClass::Write, 512, false, false);
        s.count_one(IoClass::Write, 1024, true, false);
        s.count_one(IoClass::Flush, 0, false, true);
        s.count_one(IoClass::Discard, 8192, false, false);
        s.count_one(IoClass::WriteZeroes, 65536, false, false);
        let mut buf = [0u8; 128];
        let mut out = Emitter::new(&mut buf).ok_or(EINVAL)?;
        assert!(write_info(&mut out, &s.read()?).is_ok());
        assert_eq!(out.as_bytes(), b"1 4096 2 1536 1 1 8192 1 65536");
        Ok(())
    }

    #[test]
    fn info_status_truncates_into_a_small_buffer() -> Result {
        let s = Stats::new()?;
        s.count_one(IoClass::Read, 4096, false, false);
        let mut buf = [b'x'; 6];
        let mut out = Emitter::new(&mut buf).ok_or(EINVAL)?;
        // Truncation is not an error for the writer: device-mapper retries with more room.
        assert!(write_info(&mut out, &s.read()?).is_ok());
        assert_eq!(out.as_bytes(), b"1 409");
        assert_eq!(&buf, b"1 409\0");
        Ok(())
    }
}
