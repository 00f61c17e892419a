/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API that dmp's abstractions wrap. Kbuild runs bindgen over this file with the
 * kernel's own bindgen flags; see Kbuild.
 */
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include "dmp_helpers.h"
