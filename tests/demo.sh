#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The original README's scenario (run in the VM by `make demo`).
set -e
cd "$(dirname "$0")/.."
run() { echo "# $*"; "$@"; }
run insmod dmp.ko
size=$((1 << 21))
run dmsetup create zero1 --table "0 $size zero"
run dmsetup create dmp1 --table "0 $size dmp /dev/mapper/zero1"
run ls -l /dev/mapper/
run dd if=/dev/random of=/dev/mapper/dmp1 bs=4k count=1
run dd of=/dev/null if=/dev/mapper/dmp1 bs=4k count=1
# The six files of the original README, each with its name.
cd /sys/kernel/dmp
run grep -H . read_reqs write_reqs total_reqs avg_read_size avg_write_size avg_size
