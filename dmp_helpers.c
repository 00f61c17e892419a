// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the static inline functions dmp's abstractions need, which bindgen cannot
 * expose: the kernel crate's rust/helpers/ does the same for its own. Each is a plain call
 * of the C original, so it cannot drift from it.
 */

#include <linux/bio.h>
#include <linux/irqflags.h>
#include "dmp_helpers.h"

void dmp_helper_bio_set_dev(struct bio *bio, struct block_device *bdev)
{
	bio_set_dev(bio, bdev);
}

unsigned long dmp_helper_local_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void dmp_helper_local_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}
