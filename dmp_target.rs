// SPDX-License-Identifier: GPL-2.0

//! The `dmp` target: forwards every bio to one underlying device, as dm-linear does, and
//! counts it (reference: `docs/admin-guide/device-mapper/dmp.rst`). Like dm-linear it
//! serves host-managed zoned devices (zone reports remapped by its offset) and DAX (pages
//! remapped the same way); DAX loads and stores are not bios and are not counted.

#[cfg(CONFIG_BLK_DEV_ZONED)]
use crate::kernel_staging::device_mapper::ZoneReport;
use crate::{
    dmp_counts::Source,
    dmp_format::write_info,
    dmp_registry::{Attachment, Registry},
    dmp_request::{classify, IoClass, Outcome, Request},
    dmp_slow::{parse_threshold_us, record_flags},
    dmp_sysfs::TotalFiles,
    dmp_total::Total,
    kernel_staging::{
        clock::InlineMonotonic,
        device_mapper::{
            Args, Bio, BlkStatus, Device, DeviceId, DeviceVisitor, Emitter, Feature, Features,
            IoctlAccess, MapResult, NewTarget, Operations, StatusKind, Target, TargetError,
        },
        sysfs::{Dir, Parent},
        trace_events::{self, RequestComplete, SlowRequest},
    },
};
use core::fmt::Write;
use kernel::{prelude::*, str::CString, sync::Arc, time::Instant};

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

/// State shared by all dmp targets: the devices and their statistics.
pub(crate) struct Shared {
    registry: Arc<Registry>,
    // Dropped last: the directories of the registry live inside it.
    _root: Dir<TotalFiles>,
}

impl Shared {
    /// Creates `/sys/kernel/dmp` and the directories below it.
    fn new() -> Result<Self> {
        let total = Total::new()?;
        let root = Dir::new(c"dmp", Parent::kernel(), TotalFiles::new(total.clone()))?;
        let registry = Registry::new(total, root.as_parent())?;
        Ok(Self {
            registry,
            _root: root,
        })
    }
}

/// What dmp keeps for a bio from `map` to `end_io`: the request to count and when it was
/// mapped, if it is counted.
#[derive(Clone, Copy, Default)]
pub(crate) struct PerIo(Option<(Request, Instant<InlineMonotonic>)>);

/// One dmp target.
pub(crate) struct DmpTarget {
    dev: DeviceId,
    offset: u64,
    device: Attachment,
    /// The mapped device's kernel name, `dm-N`, for the trace events.
    kname: CString,
}

impl DmpTarget {
    /// The sector of the underlying device that `sector` of the mapped device lands on.
    #[inline(always)]
    fn remap(&self, target: &Target<'_>, sector: u64) -> u64 {
        self.offset.wrapping_add(target.offset_of(sector))
    }

    /// What `bio` counts as, if it is counted here.
    #[inline(always)]
    fn request(&self, bio: &Bio) -> Option<Request> {
        let class = classify(bio.op(), bio.size())?;
        if class == IoClass::Flush && !self.device.counts_flushes() {
            return None;
        }
        Some(Request {
            class,
            bytes: bio.size(),
            fua: bio.is_fua(),
            preflush: bio.is_preflush(),
            polled: bio.is_polled(),
            opf: bio.op_flags(),
            sector: bio.sector(),
        })
    }
}

#[vtable]
impl Operations for DmpTarget {
    const NAME: &'static CStr = c"dmp";
    const VERSION: [u32; 3] = [2, 3, 0];
    const FEATURES: Features = Features::of(&[
        Feature::Nowait,
        Feature::PassesIntegrity,
        Feature::PassesCrypto,
        Feature::AtomicWrites,
        Feature::ZonedHm,
    ]);

    type Shared = Shared;
    type PerIo = PerIo;

    fn shared() -> impl PinInit<Shared, Error> {
        Shared::new()
    }

    /// Table line: `<dev_path> [<offset>]`, where `offset` is the first sector used on the
    /// underlying device (default 0).
    fn ctr(
        shared: &Shared,
        target: &mut NewTarget<'_>,
        args: &Args<'_>,
    ) -> Result<Self, TargetError> {
        let parsed = parse_table(args.iter()).map_err(|msg| TargetError::new(msg, EINVAL))?;
        let dev = target
            .get_device(parsed.path)
            .map_err(|e| TargetError::new(c"Device lookup failed", e))?;
        let under = target
            .device(dev)
            .map(Device::dev)
            .ok_or(TargetError::new(c"Device lookup failed", ENODEV))?;
        let md = target.mapped_device().dev();
        let kname = CString::try_from_fmt(fmt!("dm-{}", md.minor))
            .map_err(|e| TargetError::new(c"Out of memory", e))?;
        let device = shared.registry.attach(md, target.table(), under)?;
        // Flushes, discards, secure erases and write-zeroes all go through `map`, where they
        // are counted and forwarded; flushes do not bypass the target.
        let flushes = u32::from(device.forwards_flushes());
        target.set_num_bios(flushes, 1, 1, 1);
        Ok(Self {
            dev,
            offset: parsed.offset,
            device,
            kname,
        })
    }

    #[inline]
    fn map(&self, target: &Target<'_>, bio: &mut Bio, io: &mut PerIo) -> MapResult {
        let Some(dev) = target.device(self.dev) else {
            return MapResult::Kill;
        };
        if let Some(req) = self.request(bio) {
            // Counted when it completes; until then it is in flight.
            self.device.stats().started();
            *io = PerIo(Some((req, Instant::now())));
        }
        bio.set_dev(dev);
        bio.set_sector(self.remap(target, bio.sector()));
        MapResult::Remapped
    }

    #[inline]
    fn end_io(&self, target: &Target<'_>, _bio: &Bio, io: &mut PerIo, status: BlkStatus) {
        let Some((req, start)) = io.0 else {
            return;
        };
        let latency_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);
        let error = status.to_error();
        let outcome = Outcome::of(&req, error);
        if outcome == Outcome::Retried {
            self.device.stats().retried();
            return;
        }
        let errno = error.map_or(0, |e| e.to_errno());
        let error = u16::try_from(errno.unsigned_abs()).unwrap_or(u16::MAX);
        let stats = self.device.stats();
        let rec = stats.completed(req, latency_ns, outcome, error, |s| self.remap(target, s));
        let op = req.class as u32;
        trace_events::request_complete(|| RequestComplete {
            device: &self.kname,
            op,
            flags: u32::from(record_flags(req.opf)),
            sector: req.sector,
            bytes: req.bytes,
            latency_ns,
            error: errno,
        });
        if let Some(r) = rec {
            trace_events::slow_request(|| SlowRequest {
                device: &self.kname,
                op,
                flags: u32::from(r.flags),
                sector: r.sector,
                dev_sector: r.dev_sector,
                bytes: r.bytes,
                latency_ns: r.latency_ns,
                error: errno,
                in_flight: r.in_flight,
            });
        }
    }

    fn status(&self, target: &Target<'_>, kind: StatusKind, out: &mut Emitter<'_>) {
        let Some(dev) = target.device(self.dev) else {
            return;
        };
        match kind {
            StatusKind::Info => {
                let _ = self.device.stats().with_snapshot(|s| write_info(out, s));
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

    fn message(&self, _target: &Target<'_>, args: &Args<'_>) -> Result<(), TargetError> {
        let mut it = args.iter();
        let (cmd, arg, extra) = (it.next().map(CStr::to_bytes), it.next(), it.next());
        match (cmd, arg, extra) {
            (Some(b"reset"), None, _) => {
                self.device.stats().reset();
                Ok(())
            }
            (Some(b"reset"), Some(_), _) => Err(TargetError::new(
                c"the reset message takes no arguments",
                EINVAL,
            )),
            (Some(b"slow_threshold"), Some(us), None) => {
                let ns = parse_threshold_us(us.to_bytes()).map_err(|e| {
                    TargetError::new(
                        c"slow_threshold takes microseconds: decimal digits, 0 for off, below 2^64 ns",
                        e,
                    )
                })?;
                self.device.stats().threshold().set(ns);
                Ok(())
            }
            (Some(b"slow_threshold"), _, _) => Err(TargetError::new(
                c"the slow_threshold message takes one argument, microseconds (0 for off)",
                EINVAL,
            )),
            _ => Err(TargetError::new(
                c"unknown message; the messages are \"reset\" and \"slow_threshold <us>\"",
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

    #[cfg(CONFIG_BLK_DEV_ZONED)]
    fn report_zones(&self, target: &Target<'_>, report: &mut ZoneReport<'_>) -> Result<u32> {
        let dev = target.device(self.dev).ok_or(EIO)?;
        let sector = self.remap(target, report.next_sector());
        report.report(dev, self.offset, sector)
    }

    fn dax_map<'a>(&self, target: &Target<'a>, sector: u64) -> Option<(&'a Device, u64)> {
        Some((target.device(self.dev)?, self.remap(target, sector)))
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
}
