/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API that dmp's kernel_staging abstractions wrap, for bindgen (see Kbuild). Upstream
 * these includes would go into rust/bindings/bindings_helper.h.
 */
#include <linux/dax.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include "helpers.h"
#include "../dmp_trace.h"
