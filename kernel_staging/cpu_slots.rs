// SPDX-License-Identifier: GPL-2.0

//! One value per possible CPU, in ordinary memory, with interrupt-free local access.
//!
//! C header: [`include/linux/irqflags.h`](srctree/include/linux/irqflags.h)
//!
//! A [`CpuSlots<T>`] holds one `T` per possible CPU, each on its own cache lines, so that
//! CPUs updating their own values never share a cache line. [`CpuSlots::with_local`] runs a
//! closure on the current CPU's value with interrupts off, as `dm-stats` would need for
//! "strict correctness": the closure cannot be preempted, migrated or interrupted halfway,
//! so on each CPU at most one `with_local` call of a given `CpuSlots` runs at a time, from
//! task, softirq or hardirq context alike. Readers on other CPUs see the values through a
//! [`LocalSeq`] and [`LocalCounter`]s.
//!
//! This is not the kernel's per-CPU API (`alloc_percpu`, `this_cpu_*`): the slots are one
//! `KVVec` indexed by CPU id. Upstream it would be built on that API, in a per-CPU module of
//! the `kernel` crate with a `local_irq_save` guard; mainline 7.2 has no per-CPU allocation
//! abstraction and no interrupt-disabling guard (`local_irq_save` is a macro over paravirt
//! ops, hence the C helper).
//!
//! Counters and sequence counts are `core` atomics used only with relaxed loads and stores,
//! release and acquire, not `kernel::sync::atomic`: in the kernels dmp builds for, every
//! operation of the kernel crate's `Atomic` and every barrier is an out-of-line call of a C
//! helper (gcc-built kernels do not inline Rust helpers), dozens of calls per request, which
//! the benchmark showed; these compile to plain instructions, as C's per-CPU counters and
//! `seqcount_t` do.

use super::bindings as c;
use core::{
    marker::PhantomData,
    sync::atomic::{fence, AtomicU32, AtomicU64, Ordering},
};
use kernel::{
    cpu::{nr_cpu_ids, CpuId},
    prelude::*,
    processor::cpu_relax,
};

/// Interrupts disabled on the current CPU (`local_irq_save`) until drop.
///
/// # Invariants
///
/// `flags` was returned by `local_irq_save` on this CPU, and this guard restores it exactly
/// once, on the same CPU (it is neither `Send` nor `Sync`).
struct LocalIrqDisabled {
    flags: c_ulong,
    cpu: u32,
    _not_send: PhantomData<*mut ()>,
}

impl LocalIrqDisabled {
    #[inline(always)]
    fn new() -> Self {
        let mut cpu = 0;
        // SAFETY: Saving the interrupt state and disabling interrupts is always allowed;
        // the guard restores it. `cpu` is valid for a write.
        let flags = unsafe { c::dmp_helper_local_irq_save_cpu(&mut cpu) };
        // INVARIANT: `flags` is from `local_irq_save` on this CPU, where the task stays
        // until the guard, which cannot be sent elsewhere, is dropped.
        Self {
            flags,
            cpu,
            _not_send: PhantomData,
        }
    }

    /// The current CPU (`raw_smp_processor_id()` with interrupts off), which cannot change
    /// while they are off.
    #[inline(always)]
    fn cpu(&self) -> u32 {
        self.cpu
    }
}

impl Drop for LocalIrqDisabled {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: Per the invariants `flags` came from `local_irq_save` on this CPU.
        unsafe { c::dmp_helper_local_irq_restore(self.flags) };
    }
}

#[repr(C, align(64))]
struct CacheAligned<T>(T);

/// One `T` per possible CPU, each on its own cache lines.
///
/// # Invariants
///
/// `slots` has `nr_cpu_ids` elements, at least one.
pub(crate) struct CpuSlots<T> {
    slots: KVVec<CacheAligned<T>>,
}

impl<T> CpuSlots<T> {
    /// A value made by `init` for each possible CPU.
    pub(crate) fn new(init: impl Fn() -> T) -> Result<Self> {
        let n = (nr_cpu_ids() as usize).max(1);
        let mut slots = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(CacheAligned(init()), GFP_KERNEL)?;
        }
        // INVARIANT: `n` is `nr_cpu_ids`, at least one.
        Ok(Self { slots })
    }

    /// Runs `f` on the current CPU's value with interrupts off. No other `with_local` call
    /// of this `CpuSlots` uses that value until `f` returns. Not for NMI context.
    /// `f` also gets the value's index, the CPU id, by which state kept beside the slots can
    /// be indexed the same way.
    #[inline(always)]
    pub(crate) fn with_local<R>(&self, f: impl FnOnce(usize, &T) -> R) -> R {
        let irq = LocalIrqDisabled::new();
        // Per the invariants there is a slot for every CPU id below `nr_cpu_ids`; the
        // `min` only keeps this free of a panic path.
        let i = (irq.cpu() as usize).min(self.slots.len().saturating_sub(1));
        let r = f(i, &self.slots[i].0);
        drop(irq);
        r
    }

    /// The value of the CPU the task runs on now, for updates that are correct on any
    /// CPU's value, such as atomic additions: nothing keeps the task there, so by the time
    /// it uses the value it may run elsewhere (then that one update shares a cache line with
    /// another CPU). Cheaper than [`CpuSlots::with_local`], which switches interrupts off and on.
    #[inline(always)]
    pub(crate) fn local_unpinned(&self) -> &T {
        let cpu = CpuId::current().as_u32() as usize;
        // Per the invariants there is a slot for every CPU id below `nr_cpu_ids`; the `min`
        // only keeps this free of a panic path.
        &self.slots[cpu.min(self.slots.len().saturating_sub(1))].0
    }

    /// Every CPU's value.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().map(|s| &s.0)
    }
}

/// A counter in one CPU's value of a [`CpuSlots`]: only that CPU adds to it, inside
/// [`CpuSlots::with_local`] (so never two at once); any CPU reads it.
#[repr(transparent)]
pub(crate) struct LocalCounter(AtomicU64);

impl LocalCounter {
    /// Zero.
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Adds `n`, modulo 2^64. Only the counter's CPU calls it, inside
    /// [`CpuSlots::with_local`]: it is a load and a store (`WRITE_ONCE`), not an atomic
    /// read-modify-write, which a concurrent writer would break.
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

/// The sequence count of one CPU's value of a [`CpuSlots`] (as `seqcount_t`): odd while that
/// CPU updates the value, so that readers on other CPUs can take a consistent copy.
pub(crate) struct LocalSeq(AtomicU32);

impl LocalSeq {
    /// No update yet.
    pub(crate) const fn new() -> Self {
        Self(AtomicU32::new(0))
    }

    /// Runs `update` as one write section. Only the value's CPU calls it, inside
    /// [`CpuSlots::with_local`], which cannot be preempted or interrupted: so readers wait for
    /// a write section only while it runs.
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
    use kernel::sync::atomic::{Atomic, Relaxed};

    #[test]
    fn one_value_per_cpu_on_its_own_cache_line() -> Result {
        let p = CpuSlots::new(|| Atomic::<u64>::new(0))?;
        assert_eq!(p.iter().count(), nr_cpu_ids() as usize);
        let addrs: KVec<usize> = {
            let mut v = KVec::new();
            for x in p.iter() {
                v.push(core::ptr::from_ref(x) as usize, GFP_KERNEL)?;
            }
            v
        };
        for w in addrs.windows(2) {
            assert!(w[1] - w[0] >= 64);
            assert_eq!(w[0] % 64, 0);
        }
        Ok(())
    }

    #[test]
    fn local_is_the_current_cpu() -> Result {
        let p = CpuSlots::new(|| Atomic::<u64>::new(0))?;
        let cpu = p.with_local(|i, x| {
            x.store(7, Relaxed);
            let cpu = CpuId::current().as_u32() as usize;
            assert_eq!(i, cpu);
            cpu
        });
        for (i, x) in p.iter().enumerate() {
            assert_eq!(x.load(Relaxed), if i == cpu { 7 } else { 0 });
        }
        // Unpinned, the value is the current CPU's when it is taken (here migration is
        // kept off by the irq-off section around it).
        let same = p.with_local(|_, x| core::ptr::eq(x, p.local_unpinned()));
        assert!(same);
        Ok(())
    }

    #[test]
    fn counters_and_sequence_counts() -> Result {
        let p = CpuSlots::new(|| (LocalSeq::new(), LocalCounter::new(), LocalCounter::new()))?;
        for _ in 0..3 {
            p.with_local(|_, (seq, a, b)| {
                seq.write(|| {
                    a.add(1);
                    b.add(4096);
                })
            });
        }
        let (mut n, mut bytes) = (0u64, 0u64);
        for (seq, a, b) in p.iter() {
            let (x, y) = seq.read(|| (a.get(), b.get()));
            assert!(seq.is_idle());
            n += x;
            bytes += y;
        }
        assert_eq!((n, bytes), (3, 3 * 4096));
        let c = LocalCounter::new();
        c.add(u64::MAX);
        c.add(2);
        assert_eq!(c.get(), 1);
        Ok(())
    }
}
