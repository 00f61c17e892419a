// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the static inline functions that the kernel_staging abstractions need and
 * bindgen cannot expose. Upstream they would go into rust/helpers/ (bio.c, irq.c) as
 * rust_helper_*; mainline has neither helper yet. Each is a plain call of the C original,
 * so it cannot drift from it.
 */

#include <linux/bio.h>
#include <linux/irqflags.h>
#include <linux/smp.h>
#include "helpers.h"

/*
 * dmp makes a CPU's statistics, and takes the lock of the counters it falls back on, with
 * interrupts disabled (kernel_staging/cpu_slots.rs): PREEMPT_RT allows neither.
 */
#ifdef CONFIG_PREEMPT_RT
#error "dmp does not support PREEMPT_RT kernels: it allocates with interrupts disabled"
#endif

void dmp_helper_bio_set_dev(struct bio *bio, struct block_device *bdev)
{
	bio_set_dev(bio, bdev);
}

/* local_irq_save(), and the CPU it leaves the caller on: one call on the I/O path. */
unsigned long dmp_helper_local_irq_save_cpu(unsigned int *cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	*cpu = raw_smp_processor_id();
	return flags;
}

void dmp_helper_local_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}
