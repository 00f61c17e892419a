// SPDX-License-Identifier: GPL-2.0

//! Values per CPU, each made when its CPU first needs it, with interrupt-free local access.
//!
//! C header: [`include/linux/irqflags.h`](srctree/include/linux/irqflags.h)
//!
//! A [`CpuSlots<T>`] holds at most one `T` per possible CPU, each on its own cache lines, so
//! that CPUs updating their own values never share a cache line. A CPU's value is made,
//! zeroed, the first time that CPU asks for it ([`CpuSlots::here`]), without sleeping
//! (`GFP_NOWAIT`); until then the CPU costs the set a pointer and a 16-bit id. So memory
//! follows use: a set used by two CPUs of 256 possible holds two values. If the allocation
//! fails, the caller gets `None` and the CPU asks again next time.
//!
//! [`LocalCpu::with`] runs code on the current CPU with interrupts off, as `dm-stats` would
//! need for "strict correctness": it cannot be preempted, migrated or interrupted halfway,
//! so on each CPU at most one such section uses the CPU's values at a time, from task,
//! softirq or hardirq context alike (sections nest, as closures do). Readers on other CPUs see the values through a
//! [`LocalSeq`] and [`LocalCounter`]s; [`CpuSlots::iter`] visits the values made so far, in
//! time proportional to their number, not to the possible CPUs.
//!
//! This is not the kernel's per-CPU API (`alloc_percpu`, `this_cpu_*`), which gives every
//! allocation a copy for every possible CPU: here the values are separate allocations found
//! through a table indexed by CPU id. Upstream it would sit beside a per-CPU module of the
//! `kernel` crate with a `local_irq_save` guard; mainline 7.2 has no per-CPU allocation
//! abstraction and no interrupt-disabling guard (`local_irq_save` is a macro over paravirt
//! ops, hence the C helper).
//!
//! Counters and sequence counts are `core` atomics (relaxed loads and stores, release and
//! acquire, and for [`AnyCpuCounter`] and the list of values made relaxed or acquire-release
//! additions), not `kernel::sync::atomic`: in the kernels dmp builds for, every
//! operation of the kernel crate's `Atomic` and every barrier is an out-of-line call of a C
//! helper (gcc-built kernels do not inline Rust helpers), dozens of calls per request, which
//! the benchmark showed; these compile to plain instructions, as C's per-CPU counters and
//! `seqcount_t` do.

use super::bindings as c;
use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{fence, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, Ordering},
};
use kernel::{
    alloc::flags::GFP_NOWAIT,
    cpu::{nr_cpu_ids, CpuId},
    prelude::*,
    processor::cpu_relax,
};
use pin_init::init_zeroed;

/// Interrupts disabled on the current CPU (`local_irq_save`): the proof that
/// [`CpuSlots::here`] asks for. Only [`LocalCpu::with`] makes one and lends it out, so its
/// holders nest and none outlives the section.
///
/// # Invariants
///
/// `flags` was returned by `local_irq_save` on CPU `cpu`, and this guard restores it exactly
/// once, on the same CPU (it is neither `Send` nor `Sync`).
pub(crate) struct LocalCpu {
    flags: c_ulong,
    cpu: u32,
    _not_send: PhantomData<*mut ()>,
}

impl LocalCpu {
    /// Runs `f` on the current CPU with interrupts off: it cannot be preempted, migrated or
    /// interrupted halfway. Not for NMI context.
    #[inline(always)]
    pub(crate) fn with<R>(f: impl FnOnce(&LocalCpu) -> R) -> R {
        let mut cpu = 0;
        // SAFETY: Saving the interrupt state and disabling interrupts is always allowed;
        // the guard restores it. `cpu` is valid for a write.
        let flags = unsafe { c::dmp_helper_local_irq_save_cpu(&mut cpu) };
        // INVARIANT: `flags` is from `local_irq_save` on this CPU, where the task stays
        // until the guard, which only `f` borrows, is dropped at the end of this call.
        let guard = Self {
            flags,
            cpu,
            _not_send: PhantomData,
        };
        f(&guard)
    }

    /// The current CPU's id (`raw_smp_processor_id()` with interrupts off), which cannot
    /// change while the guard lives.
    #[inline(always)]
    pub(crate) fn id(&self) -> usize {
        self.cpu as usize
    }
}

impl Drop for LocalCpu {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: Per the invariants `flags` came from `local_irq_save` on this CPU.
        unsafe { c::dmp_helper_local_irq_restore(self.flags) };
    }
}

/// One CPU's value, on its own cache lines.
#[repr(C, align(64))]
struct CacheAligned<T>(T);

// SAFETY: `T` is `Zeroable`, and the wrapper adds only padding.
unsafe impl<T: Zeroable> Zeroable for CacheAligned<T> {}

/// At most one `T` per possible CPU, each made when its CPU first asks for it, each on its
/// own cache lines.
///
/// # Invariants
///
/// - `table` has `nr_cpu_ids` elements, at least one and fewer than `u16::MAX`. A non-null
///   `table[i]` points to CPU `i`'s value, made by [`KBox::into_raw`], never changed again
///   and freed only by drop.
/// - `listed` counts the places of `made` taken, one per value made (so never more than
///   `nr_cpu_ids`); each place taken holds its CPU's id plus one, or 0 until the CPU has
///   written it, after setting its `table` entry.
pub(crate) struct CpuSlots<T> {
    table: KVVec<AtomicPtr<CacheAligned<T>>>,
    made: KVVec<AtomicU16>,
    listed: AtomicU32,
    /// The values are owned (and not `Send` or `Sync` by themselves: see below).
    _owns: PhantomData<*mut T>,
}

// SAFETY: Sending the set sends its values, which are owned (`T: Send`).
unsafe impl<T: Send> Send for CpuSlots<T> {}

// SAFETY: A shared set gives shared references to its values on any CPU (`T: Sync`), and
// makes values through `&self` that the owner drops on another thread later (`T: Send`).
unsafe impl<T: Send + Sync> Sync for CpuSlots<T> {}

impl<T> CpuSlots<T> {
    /// No value yet: a pointer and a 16-bit CPU id per possible CPU.
    pub(crate) fn new() -> Result<Self> {
        let n = (nr_cpu_ids() as usize).max(1);
        if n >= usize::from(u16::MAX) {
            return Err(EOVERFLOW);
        }
        let mut table = KVVec::with_capacity(n, GFP_KERNEL)?;
        let mut made = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            table.push(AtomicPtr::new(ptr::null_mut()), GFP_KERNEL)?;
            made.push(AtomicU16::new(0), GFP_KERNEL)?;
        }
        // INVARIANT: `n` is `nr_cpu_ids`, at least one, below `u16::MAX`; nothing made.
        Ok(Self {
            table,
            made,
            listed: AtomicU32::new(0),
            _owns: PhantomData,
        })
    }

    /// CPU `cpu`'s value, if it has one.
    #[inline(always)]
    pub(crate) fn get(&self, cpu: usize) -> Option<&T> {
        let p = self.table.get(cpu)?.load(Ordering::Acquire);
        // SAFETY: Per the invariants a non-null entry points to a value that lives until
        // `self` is dropped; the acquire load sees its initialisation.
        unsafe { p.as_ref() }.map(|v| &v.0)
    }

    /// The value of the CPU the task runs on now, if it has one, for updates that are
    /// correct on any CPU's value, such as atomic additions: nothing keeps the task there,
    /// so by the time it uses the value it may run elsewhere (then that one update shares a
    /// cache line with another CPU). Cheaper than [`CpuSlots::here`], which needs
    /// interrupts off.
    #[inline(always)]
    pub(crate) fn local_unpinned(&self) -> Option<&T> {
        self.get(CpuId::current().as_u32() as usize)
    }

    /// Every value made so far, with its CPU's id, in the order they were listed. Takes no
    /// lock and visits only the values made: a value being made while the iteration runs
    /// may or may not be visited; once visited, it is visited by every later iteration.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        let listed = self.listed.load(Ordering::Acquire) as usize;
        self.made[..listed.min(self.made.len())]
            .iter()
            .filter_map(|place| {
                let cpu = usize::from(place.load(Ordering::Acquire)).checked_sub(1)?;
                Some((cpu, self.get(cpu)?))
            })
    }

    /// How many values were made.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn count(&self) -> usize {
        self.iter().count()
    }
}

impl<T: Zeroable> CpuSlots<T> {
    /// The current CPU's value, made zeroed if the CPU has none yet. Making it allocates
    /// without sleeping or warning (`GFP_NOWAIT`, with interrupts off: not for PREEMPT_RT,
    /// which the module's build refuses) and lists it with one atomic addition to
    /// a counter of the set, the only write to memory shared by the set's CPUs, once per
    /// CPU; `None` if the allocation failed (the next call tries again).
    ///
    /// `cpu` keeps interrupts off: no other holder on this CPU uses the value meanwhile.
    #[inline(always)]
    pub(crate) fn here<'a>(&'a self, cpu: &LocalCpu) -> Option<&'a T> {
        match self.get(cpu.id()) {
            Some(v) => Some(v),
            None => self.make(cpu.id()),
        }
    }

    /// Makes CPU `cpu`'s value, which it does not have. Only CPU `cpu` calls it, with
    /// interrupts off (or a test, as the only user of the set).
    #[cold]
    #[inline(never)]
    fn make(&self, cpu: usize) -> Option<&T> {
        let entry = self.table.get(cpu)?;
        let value = KBox::init(init_zeroed::<CacheAligned<T>>(), GFP_NOWAIT | __GFP_NOWARN).ok()?;
        let raw = KBox::into_raw(value);
        // INVARIANT: CPU `cpu` had no value and only it (with interrupts off) makes one, so
        // the entry goes from null to this value once; then the value is listed, in a
        // place of its own (one per value made, so within `made`), as its CPU's id plus one
        // (below `u16::MAX` per the invariants).
        entry.store(raw, Ordering::Release);
        let i = self.listed.fetch_add(1, Ordering::AcqRel) as usize;
        if let Some(place) = self.made.get(i) {
            place.store(cpu as u16 + 1, Ordering::Release);
        }
        // SAFETY: `raw` lives until `self` is dropped (per the invariants).
        Some(unsafe { &(*raw).0 })
    }

    /// CPU `cpu`'s value, made if it has none, as if that CPU had asked: for tests, which
    /// play several CPUs from one. The set must have no other user meanwhile.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn here_for_test(&self, cpu: usize) -> Option<&T> {
        match self.get(cpu) {
            Some(v) => Some(v),
            None => self.make(cpu),
        }
    }
}

impl<T> Drop for CpuSlots<T> {
    fn drop(&mut self) {
        for entry in self.table.iter_mut() {
            let p = *entry.get_mut();
            if !p.is_null() {
                // SAFETY: Per the invariants a non-null entry came from `KBox::into_raw` and
                // is freed only here; nothing else can use it now (`&mut self`).
                drop(unsafe { KBox::from_raw(p) });
            }
        }
    }
}

/// A counter in one CPU's value of a [`CpuSlots`]: only that CPU adds to it, holding a
/// [`LocalCpu`] (so never two at once); any CPU reads it.
#[repr(transparent)]
pub(crate) struct LocalCounter(AtomicU64);

// SAFETY: An `AtomicU64` has the representation of a `u64`, for which zero is valid.
unsafe impl Zeroable for LocalCounter {}

impl LocalCounter {
    /// Adds `n`, modulo 2^64. Only the counter's CPU calls it, holding a [`LocalCpu`]:
    /// it is a load and a store (`WRITE_ONCE`), not an atomic read-modify-write, which a
    /// concurrent writer would break.
    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// Sets it to `n` (`WRITE_ONCE`). Only the counter's CPU calls it, as for
    /// [`LocalCounter::add`].
    #[inline(always)]
    pub(crate) fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// The value (`READ_ONCE`); consistent with other counters only through a [`LocalSeq`].
    #[inline(always)]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A counter that any CPU changes with an atomic addition (`atomic64_add`, relaxed): for
/// counts whose per-CPU parts mean nothing alone, only their sum, such as requests mapped on
/// one CPU and completed on another.
#[repr(transparent)]
pub(crate) struct AnyCpuCounter(AtomicU64);

// SAFETY: An `AtomicU64` has the representation of a `u64`, for which zero is valid.
unsafe impl Zeroable for AnyCpuCounter {}

impl AnyCpuCounter {
    /// Adds `n`, modulo 2^64, from any CPU and context.
    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Subtracts `n`, modulo 2^64, from any CPU and context.
    #[inline(always)]
    pub(crate) fn sub(&self, n: u64) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }

    /// Sets it to `n`.
    pub(crate) fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// The value.
    #[inline(always)]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The sequence count of one CPU's value of a [`CpuSlots`] (as `seqcount_t`): odd while that
/// CPU updates the value, so that readers on other CPUs can take a consistent copy.
pub(crate) struct LocalSeq(AtomicU32);

// SAFETY: An `AtomicU32` has the representation of a `u32`, for which zero is valid.
unsafe impl Zeroable for LocalSeq {}

impl LocalSeq {
    /// Runs `update` as one write section. Only one writer at a time calls it: the value's
    /// CPU holding a [`LocalCpu`], which cannot be preempted or interrupted (or a writer
    /// holding a spinlock with interrupts off): so readers wait for a write section only
    /// while it runs.
    #[inline(always)]
    pub(crate) fn write<R>(&self, update: impl FnOnce() -> R) -> R {
        let s = self.0.load(Ordering::Relaxed);
        self.0.store(s.wrapping_add(1), Ordering::Relaxed);
        // The odd count before the updates (`smp_wmb()`).
        fence(Ordering::Release);
        let r = update();
        // The updates before the even count.
        self.0.store(s.wrapping_add(2), Ordering::Release);
        r
    }

    /// Runs `read` until it ran entirely outside any write section, and returns what it
    /// returned then.
    pub(crate) fn read<R>(&self, mut read: impl FnMut() -> R) -> R {
        loop {
            let s = self.0.load(Ordering::Acquire);
            if s & 1 != 0 {
                cpu_relax();
                continue;
            }
            let r = read();
            // The reads before the second look at the count (`smp_rmb()`).
            fence(Ordering::Acquire);
            if self.0.load(Ordering::Relaxed) == s {
                return r;
            }
        }
    }

    /// Whether no write section is running.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn is_idle(&self) -> bool {
        self.0.load(Ordering::Relaxed) % 2 == 0
    }
}

#[kunit_tests(dmp_cpu_slots)]
mod tests {
    use super::*;

    #[derive(Zeroable)]
    struct Pair {
        seq: LocalSeq,
        n: LocalCounter,
        bytes: LocalCounter,
    }

    #[test]
    fn values_are_made_on_first_use_only() -> Result {
        let p = CpuSlots::<LocalCounter>::new()?;
        assert_eq!(p.count(), 0);
        assert!(p.local_unpinned().is_none());
        let cpu = LocalCpu::with(|here| -> Result<usize> {
            let v = p.here(here).ok_or(ENOMEM)?;
            v.add(7);
            assert_eq!(here.id(), CpuId::current().as_u32() as usize);
            // The same value the next time, and unpinned (migration is kept off here).
            assert!(p.here(here).is_some_and(|w| ptr::eq(v, w)));
            assert!(p.local_unpinned().is_some_and(|w| ptr::eq(v, w)));
            Ok(here.id())
        })?;
        assert_eq!(p.count(), 1);
        let all: KVec<(usize, u64)> = {
            let mut v = KVec::new();
            for (c, x) in p.iter() {
                v.push((c, x.get()), GFP_KERNEL)?;
            }
            v
        };
        assert_eq!(&all[..], &[(cpu, 7)]);
        for c in 0..nr_cpu_ids() as usize {
            assert_eq!(p.get(c).is_some(), c == cpu);
        }
        Ok(())
    }

    #[test]
    fn values_are_zeroed_listed_in_order_and_cache_aligned() -> Result {
        let n = (nr_cpu_ids() as usize).min(4);
        let p = CpuSlots::<Pair>::new()?;
        for c in 0..n {
            let v = p.here_for_test(c).ok_or(ENOMEM)?;
            assert_eq!((v.n.get(), v.bytes.get()), (0, 0));
            assert_eq!(core::ptr::from_ref(v) as usize % 64, 0);
            v.n.add(c as u64 + 1);
        }
        let mut want = 0;
        for (c, v) in p.iter() {
            assert_eq!((c, v.n.get()), (want, want as u64 + 1));
            want += 1;
        }
        assert_eq!((want, p.count()), (n, n));
        // Past the possible CPUs there is no value to make.
        assert!(p.here_for_test(nr_cpu_ids() as usize).is_none());
        Ok(())
    }

    #[test]
    fn counters_and_sequence_counts() -> Result {
        let p = CpuSlots::<Pair>::new()?;
        for _ in 0..3 {
            LocalCpu::with(|here| -> Result {
                let v = p.here(here).ok_or(ENOMEM)?;
                v.seq.write(|| {
                    v.n.add(1);
                    v.bytes.add(4096);
                });
                Ok(())
            })?;
        }
        let (mut n, mut bytes) = (0u64, 0u64);
        for (_, v) in p.iter() {
            let (x, y) = v.seq.read(|| (v.n.get(), v.bytes.get()));
            assert!(v.seq.is_idle());
            n += x;
            bytes += y;
        }
        assert_eq!((n, bytes), (3, 3 * 4096));
        let c: LocalCounter = pin_init::zeroed();
        c.add(u64::MAX);
        c.add(2);
        assert_eq!(c.get(), 1);
        let a: AnyCpuCounter = pin_init::zeroed();
        a.sub(1);
        a.add(3);
        assert_eq!(a.get(), 2);
        Ok(())
    }
}
