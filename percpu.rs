// SPDX-License-Identifier: GPL-2.0

//! Per-CPU values with interrupt-free local access.
//!
//! C header: [`include/linux/irqflags.h`](srctree/include/linux/irqflags.h)
//!
//! A [`PerCpu<T>`] holds one `T` per possible CPU, each on its own cache lines, so that
//! CPUs updating their own values never share a cache line. [`PerCpu::with_local`] runs a
//! closure on the current CPU's value with interrupts off, as `dm-stats` would need for
//! "strict correctness": the closure cannot be preempted, migrated or interrupted halfway,
//! so on each CPU at most one `with_local` call of a given `PerCpu` runs at a time, from
//! task, softirq or hardirq context alike. Readers on other CPUs see the values through
//! `T`'s own synchronisation (atomics, sequence counts).

use crate::bindings as c;
use core::marker::PhantomData;
use kernel::{
    cpu::{nr_cpu_ids, CpuId},
    prelude::*,
};

/// Interrupts disabled on the current CPU (`local_irq_save`) until drop.
///
/// # Invariants
///
/// `flags` was returned by `local_irq_save` on this CPU, and this guard restores it exactly
/// once, on the same CPU (it is neither `Send` nor `Sync`).
struct LocalIrqDisabled {
    flags: c_ulong,
    _not_send: PhantomData<*mut ()>,
}

impl LocalIrqDisabled {
    #[inline]
    fn new() -> Self {
        // SAFETY: Saving the interrupt state and disabling interrupts is always allowed;
        // the guard restores it.
        let flags = unsafe { c::dmp_helper_local_irq_save() };
        // INVARIANT: `flags` is from `local_irq_save` on this CPU, where the task stays
        // until the guard, which cannot be sent elsewhere, is dropped.
        Self {
            flags,
            _not_send: PhantomData,
        }
    }

    /// The current CPU, which cannot change while interrupts are off.
    #[inline]
    fn cpu(&self) -> CpuId {
        CpuId::current()
    }
}

impl Drop for LocalIrqDisabled {
    #[inline]
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
pub(crate) struct PerCpu<T> {
    slots: KVVec<CacheAligned<T>>,
}

impl<T> PerCpu<T> {
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
    /// of this `PerCpu` uses that value until `f` returns. Not for NMI context.
    #[inline]
    pub(crate) fn with_local<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let irq = LocalIrqDisabled::new();
        // Per the invariants there is a slot for every CPU id below `nr_cpu_ids`; the
        // `min` only keeps this free of a panic path.
        let i = (irq.cpu().as_u32() as usize).min(self.slots.len() - 1);
        let r = f(&self.slots[i].0);
        drop(irq);
        r
    }

    /// Every CPU's value.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().map(|s| &s.0)
    }
}

/// The read-read barrier of a sequence-count reader of per-CPU values (`smp_rmb()`).
///
/// Kernels from 7.3 name it `smp_mb(Read)`; `Kbuild` sets `dmp_barrier_ordering` for them.
#[cfg(dmp_barrier_ordering)]
#[inline(always)]
pub(crate) fn smp_rmb() {
    kernel::sync::barrier::smp_mb(kernel::sync::barrier::Read);
}

/// The write-write barrier of a sequence-count writer of per-CPU values (`smp_wmb()`).
///
/// Kernels from 7.3 name it `smp_mb(Write)`; `Kbuild` sets `dmp_barrier_ordering` for them.
#[cfg(dmp_barrier_ordering)]
#[inline(always)]
pub(crate) fn smp_wmb() {
    kernel::sync::barrier::smp_mb(kernel::sync::barrier::Write);
}

#[cfg(not(dmp_barrier_ordering))]
pub(crate) use kernel::sync::barrier::{smp_rmb, smp_wmb};

#[kunit_tests(dmp_percpu)]
mod tests {
    use super::*;
    use kernel::sync::atomic::{Atomic, Relaxed};

    #[test]
    fn one_value_per_cpu_on_its_own_cache_line() -> Result {
        let p = PerCpu::new(|| Atomic::<u64>::new(0))?;
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
        let p = PerCpu::new(|| Atomic::<u64>::new(0))?;
        let cpu = p.with_local(|x| {
            x.store(7, Relaxed);
            CpuId::current().as_u32() as usize
        });
        for (i, x) in p.iter().enumerate() {
            assert_eq!(x.load(Relaxed), if i == cpu { 7 } else { 0 });
        }
        Ok(())
    }
}
