/* SPDX-License-Identifier: GPL-2.0 */
/* The C helpers of helpers.c (see there). */
#ifndef DMP_KERNEL_STAGING_HELPERS_H
#define DMP_KERNEL_STAGING_HELPERS_H

struct bio;
struct block_device;

void dmp_helper_bio_set_dev(struct bio *bio, struct block_device *bdev);
unsigned long dmp_helper_local_irq_save_cpu(unsigned int *cpu);
void dmp_helper_local_irq_restore(unsigned long flags);

#endif
