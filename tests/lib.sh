# SPDX-License-Identifier: GPL-2.0
# Helpers for dmp's tests. Sourced by tests/run inside the VM.

RAMDISK_MB=64          # each /dev/ramN
RAMDISK_SECTORS=$((RAMDISK_MB * 2048))

fail() { echo "    FAIL: $*" >&2; return 1; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_fail WHAT CMD...: CMD must fail.
expect_fail() {
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then fail "$what: '$*' succeeded"; fi
}

# The single-value statistics files, in /sys/kernel/dmp and in each device's directory.
STAT_FILES="read_reqs write_reqs total_reqs avg_read_size avg_write_size avg_size
read_bytes write_bytes flush_reqs discard_reqs discard_bytes write_zeroes_reqs
write_zeroes_bytes"

# A statistics file of the module (dmp_stat NAME) or of a device (dmp_stat NAME DEV).
dmp_stat() {
	if [ $# -eq 2 ]; then cat "/sys/kernel/dmp/devices/$2/$1"; else cat "/sys/kernel/dmp/$1"; fi
}

# stat_of DEV FIELD: a field of devices/DEV/stat (1-based; class c = 0..4 of read, write,
# flush, discard, write_zeroes has reqs 6c+1, bytes 6c+2, completed 6c+3, io_errors 6c+4,
# other_errors 6c+5, latency_ns 6c+6; then 31 fua, 32 preflush, 33 in_flight).
stat_of() { awk -v f="$2" '{ print $f }' "/sys/kernel/dmp/devices/$1/stat"; }

# dm_stat DEV FIELD: a field of /sys/block/dm-N/stat (1 reads, 3 read sectors, 5 writes,
# 7 write sectors, 12 discards, 14 discard sectors, 16 flushes).
dm_stat() { awk -v f="$2" '{ print $f }' "/sys/block/dm-$(dm_minor "$1")/stat"; }

dm_node() { echo "/dev/mapper/$1"; }

# dm_minor NAME: the N of dm-N, the kernel's name of a device-mapper device
dm_minor() { dmsetup info -c --noheadings -o minor "$1" | tr -d ' '; }

# status_field NAME POS: field POS of the INFO part of `dmsetup status NAME` (first line)
status_field() { dmsetup status "$1" | head -n1 | awk -v p="$2" '{ print $(3 + p) }'; }

# O_DIRECT I/O of COUNT blocks of BS bytes: dio_read DEV BS COUNT [SKIP_BLOCKS]
dio_read() { dd if="$1" of=/dev/null bs="$2" count="$3" skip="${4:-0}" iflag=direct status=none; }
dio_write() { dd if=/dev/urandom of="$1" bs="$2" count="$3" seek="${4:-0}" oflag=direct status=none conv=notrunc; }

load_dmp() {
	grep -q '^dmp ' /proc/modules || insmod "$TOP/dmp.ko"
}

# Remove every device-mapper device the tests made.
remove_all_devices() {
	local n
	for n in $(dmsetup ls 2>/dev/null | awk '$1 != "No" { print $1 }'); do
		dmsetup remove --retry "$n" >/dev/null 2>&1 || true
	done
	# Stacked devices: a second pass for what the first could not remove.
	for n in $(dmsetup ls 2>/dev/null | awk '$1 != "No" { print $1 }'); do
		dmsetup remove --retry "$n" >/dev/null 2>&1 || true
	done
}

# Kernel messages since the mark: dmesg_mark; ...; dmesg_since
dmesg_mark() { DMESG_MARK=$(dmesg | wc -l); }
dmesg_since() { dmesg | tail -n +"$((DMESG_MARK + 1))"; }

# Scratch mounts and loop devices live under /tmp/t; cleanup undoes them in order.
SCRATCH=/tmp/t

# A loop device backed by a file on ext4 (on /dev/ram5), which supports flushes,
# discards and write-zeroes: loop_dev SIZE_MB [SECTOR_SIZE]
loop_dev() {
	if ! mountpoint -q "$SCRATCH/backing"; then
		mkdir -p "$SCRATCH/backing"
		mkfs.ext4 -q -F /dev/ram5 >/dev/null
		mount /dev/ram5 "$SCRATCH/backing"
	fi
	local f
	f=$(mktemp "$SCRATCH/backing/loop.XXXXXX")
	truncate -s "$1M" "$f"
	losetup --find --show --sector-size "${2:-512}" "$f"
}

cleanup() {
	# A failed test may leave I/O running in the background.
	pkill -9 -x fio 2>/dev/null && sleep 0.5
	pkill -9 -x fsstress 2>/dev/null && sleep 0.5
	# ... or udevd, which only the fstests run uses.
	pkill -x systemd-udevd 2>/dev/null && sleep 0.5
	# Its control socket outlives it, and libdevmapper would take udev for running.
	rm -rf /run/udev
	local m
	# File systems on devices first (innermost first), then the devices, then what backs them.
	for m in $(awk -v d="$SCRATCH/" 'index($2, d) == 1 && $1 ~ /^\/dev\/(mapper|dm-)/ { print $2 }' /proc/mounts | sort -r); do
		umount "$m" || true
	done
	remove_all_devices
	for m in $(awk -v d="$SCRATCH/" 'index($2, d) == 1 && $1 !~ /^\/dev\/(mapper|dm-)/ { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	losetup -D
	for m in $(awk -v d="$SCRATCH/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" || true
	done
	rm -rf "$SCRATCH"
}

# scale N: N times STRESS_SCALE (default 1), for the stress suite's sizes, rounds and times
scale() { echo $(($1 * ${STRESS_SCALE:-1})); }

# fio_json FILE EXPR: evaluate a Python expression over fio's JSON output (as `j`); fio may
# write warnings before the JSON.
fio_json() {
	python3 -c "import json, sys; t = open(sys.argv[1]).read(); j = json.loads(t[t.index('{'):]); print($2)" "$1"
}
