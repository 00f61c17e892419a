// SPDX-License-Identifier: GPL-2.0

//! The mapped devices that have dmp targets: their statistics, kept across table reloads,
//! their directories and name links, and which of their targets forward and count flushes.
//!
//! A device's statistics live from its first dmp target's construction to its last one's
//! destruction, whatever tables come and go meanwhile. They are shown in
//! `/sys/kernel/dmp/block/dm-N`, named by the device's stable kernel name, and reached by
//! name through the link `/sys/kernel/dmp/devices/<name>`. Device-mapper tells no target
//! about `dmsetup rename`, so every construction and destruction of a dmp target brings all
//! links up to date: a link whose device has another name now goes, and every device gets
//! its current name. Names are unique among live devices, so that is all it takes.
//! A device is counted only with its directory: a target whose device's directory sysfs
//! refuses (out of memory) fails to construct, and the table load with it. Links are kept
//! up to date as they can be: one that could not be made is tried again at the next
//! construction or destruction.

use crate::{
    dmp_stats::Stats,
    dmp_sysfs::{DeviceFiles, NoFiles},
    dmp_total::Total,
    kernel_staging::{
        device_mapper::{DevT, DeviceName, MappedDeviceRef, TableId, TargetError},
        sysfs::{Dir, Parent},
    },
};
use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::{Arc, Mutex},
};

/// The statistics of each mapped device with a dmp target.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    entries: Mutex<KVec<Entry>>,
    /// The module-wide statistics: every entry's, and those of entries gone.
    total: Arc<Total>,
    /// `devices/`: a link per device name. Dropped before `block`, whose directories the
    /// links point to.
    devices: Dir<NoFiles>,
    /// `block/`: a directory per device.
    block: Dir<NoFiles>,
}

/// A table's target that forwards flushes to one underlying device: the first dmp target of
/// the table on that device.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Forwarder {
    table: TableId,
    under: DevT,
}

struct Entry {
    dev: DevT,
    /// How many live dmp targets, in any table of the device, use the entry.
    users: usize,
    stats: Arc<Stats>,
    /// `block/dm-N`.
    dir: Dir<DeviceFiles>,
    /// The device's name when the links were last brought up to date.
    name: Option<DeviceName>,
    /// The name of the device's link in `devices/`, if it has one.
    link: Option<DeviceName>,
    forwarders: KVec<Forwarder>,
}

impl Registry {
    /// Creates `block` and `devices` under `parent`.
    pub(crate) fn new(total: Arc<Total>, parent: Parent<'_>) -> Result<Arc<Self>> {
        let block = Dir::new(c"block", parent, NoFiles)?;
        let devices = Dir::new(c"devices", parent, NoFiles)?;
        Arc::pin_init(
            pin_init!(Registry {
                entries <- new_mutex!(KVec::new()),
                total,
                devices,
                block,
            }),
            GFP_KERNEL,
        )
    }

    /// Takes a reference to the statistics of the mapped device `dev`, creating them on first
    /// use, for a target of `table` on the underlying device `under`. Changes nothing if it
    /// fails.
    pub(crate) fn attach(
        self: &Arc<Self>,
        dev: DevT,
        table: TableId,
        under: DevT,
    ) -> Result<Attachment, TargetError> {
        let nomem = || TargetError::new(c"Cannot allocate memory", ENOMEM);
        let mut entries = self.entries.lock();
        let i = match entries.iter().position(|e| e.dev == dev) {
            Some(i) => i,
            None => {
                entries.reserve(1, GFP_KERNEL).map_err(|_| nomem())?;
                let entry = self.new_entry(dev).map_err(|_| nomem())?;
                entries.push_within_capacity(entry).map_err(|_| nomem())?;
                entries.len() - 1
            }
        };
        let entry = &mut entries[i];
        // The table's first dmp target counts flushes, and the first on each underlying
        // device forwards them.
        let counts_flushes = !entry.forwarders.iter().any(|f| f.table == table);
        let forwards = !entry.forwarders.contains(&Forwarder { table, under });
        if forwards {
            if entry
                .forwarders
                .push(Forwarder { table, under }, GFP_KERNEL)
                .is_err()
            {
                self.release(&mut entries, i);
                return Err(nomem());
            }
        }
        entry.users += 1;
        let stats = entry.stats.clone();
        self.refresh_links(&mut entries);
        Ok(Attachment {
            registry: self.clone(),
            dev,
            table,
            stats,
            forwards_flushes: forwards,
            counts_flushes,
        })
    }

    /// A new entry for `dev`, shown in its directory and counted in the total. If any part
    /// fails, what was made goes again.
    fn new_entry(&self, dev: DevT) -> Result<Entry> {
        let stats = Stats::new()?;
        let name = CString::try_from_fmt(fmt!("dm-{}", dev.minor))?;
        let files = DeviceFiles::new(stats.clone(), dev);
        let dir = Dir::new(&name, self.block.as_parent(), files)?;
        // Last: nothing after it can fail, and the total never counts a device that failed.
        self.total.add(&stats)?;
        Ok(Entry {
            dev,
            users: 0,
            stats,
            dir,
            name: None,
            link: None,
            forwarders: KVec::new(),
        })
    }

    /// Drops entry `i` if no target uses it any more: its statistics can change no more.
    fn release(&self, entries: &mut KVec<Entry>, i: usize) {
        if entries[i].users > 0 {
            return;
        }
        if let Ok(entry) = entries.remove(i) {
            if let Some(link) = &entry.link {
                self.devices.unlink(link.as_c_str());
            }
            self.total.retire(&entry.stats);
            // Removes the directory; waits for readers of its files.
            drop(entry);
        }
    }

    /// Gives up one target's reference to the statistics of `dev`.
    fn detach(&self, dev: DevT, table: TableId) {
        let mut entries = self.entries.lock();
        if let Some(i) = entries.iter().position(|e| e.dev == dev) {
            let entry = &mut entries[i];
            entry.users -= 1;
            // A table's targets are destroyed together, before another table can take its
            // identity.
            entry.forwarders.retain(|f| f.table != table);
            self.release(&mut entries, i);
        }
        self.refresh_links(&mut entries);
    }

    /// Brings every link in `devices/` up to date with the devices' current names. Reading a
    /// name under the registry's mutex is safe: `dm_copy_name_and_uuid` takes a mutex that
    /// device-mapper never holds while it constructs or destroys targets.
    fn refresh_links(&self, entries: &mut KVec<Entry>) {
        // First every stale link goes, so that the names are free for their new owners.
        for e in entries.iter_mut() {
            e.name = MappedDeviceRef::get(e.dev).and_then(|md| md.name().ok());
            if e.link.is_some() && e.link != e.name {
                if let Some(old) = e.link.take() {
                    self.devices.unlink(old.as_c_str());
                }
            }
        }
        for e in entries.iter_mut() {
            if let (None, Some(name)) = (&e.link, &e.name) {
                // Fails if a device renamed meanwhile holds the name, or without memory: the
                // next refresh sorts it out.
                if self.devices.link(name.as_c_str(), &e.dir).is_ok() {
                    e.link = e.name.clone();
                }
            }
        }
    }
}

/// One target's reference to its device's statistics, and its part in the device's
/// flushes.
pub(crate) struct Attachment {
    registry: Arc<Registry>,
    dev: DevT,
    table: TableId,
    stats: Arc<Stats>,
    forwards_flushes: bool,
    counts_flushes: bool,
}

impl Attachment {
    /// The device's statistics.
    #[inline(always)]
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether the target forwards flushes to its underlying device: only the table's first
    /// dmp target on that device does, so that each device gets one flush per caller's flush,
    /// as with dm-linear (`flush_bypasses_map`, which would also bypass the counting).
    pub(crate) fn forwards_flushes(&self) -> bool {
        self.forwards_flushes
    }

    /// Whether the target counts flushes: only the table's first dmp target does, so that
    /// each caller's flush is counted once, with the latency of that target's device flush.
    #[inline(always)]
    pub(crate) fn counts_flushes(&self) -> bool {
        self.counts_flushes
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.registry.detach(self.dev, self.table);
    }
}
