# SPDX-License-Identifier: GPL-2.0
# The foundation: the README scenario, exact counts, data, offsets, bad tables, unload.

# The original README, step by step.
test_readme_scenario() {
	dmsetup targets | grep -q '^dmp ' || fail "dmsetup targets does not list dmp"
	local size=$((1 << 21))
	dmsetup create zero1 --table "0 $size zero"
	dmsetup create dmp1 --table "0 $size dmp /dev/mapper/zero1"
	# Earlier tests counted too: start from zero.
	echo 1 >/sys/kernel/dmp/reset
	local r0=0 w0=0
	dd if=/dev/random of=/dev/mapper/dmp1 bs=4k count=1 oflag=direct status=none
	dd of=/dev/null if=/dev/mapper/dmp1 bs=4k count=1 iflag=direct status=none
	local f
	for f in read_reqs write_reqs total_reqs avg_read_size avg_write_size avg_size; do
		[ -f "/sys/kernel/dmp/$f" ] || fail "/sys/kernel/dmp/$f is missing"
		expect_eq "$(stat -c %a "/sys/kernel/dmp/$f")" 444 "mode of $f"
		grep -qx '[0-9][0-9]*' "/sys/kernel/dmp/$f" || fail "$f is not a decimal integer"
	done
	expect_eq "$(($(dmp_stat read_reqs) - r0))" 1 "reads"
	expect_eq "$(($(dmp_stat write_reqs) - w0))" 1 "writes"
	expect_eq "$(dmp_stat total_reqs)" "$(($(dmp_stat read_reqs) + $(dmp_stat write_reqs)))" "total_reqs"
	expect_eq "$(dmp_stat avg_read_size)" 4096 avg_read_size
	expect_eq "$(dmp_stat avg_write_size)" 4096 avg_write_size
	expect_eq "$(dmp_stat avg_size)" 4096 avg_size
}

# Known O_DIRECT reads and writes of several sizes, against dmp's counters and against
# the block layer's own count in /sys/block/dm-N/stat.
test_exact_counts() {
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram0"
	echo 1 >/sys/kernel/dmp/reset
	local dr dw
	dr=$(dm_stat d1 1) dw=$(dm_stat d1 5)
	local rbytes=0 wbytes=0 reads=0 writes=0 bs n
	for bs in 512 4096 8192 65536 131072; do
		n=3
		dio_write /dev/mapper/d1 "$bs" "$n"
		dio_read /dev/mapper/d1 "$bs" "$n"
		reads=$((reads + n)) writes=$((writes + n))
		rbytes=$((rbytes + n * bs)) wbytes=$((wbytes + n * bs))
	done
	expect_eq "$(dmp_stat read_reqs)" "$reads" "read_reqs"
	expect_eq "$(dmp_stat write_reqs)" "$writes" "write_reqs"
	expect_eq "$(dmp_stat total_reqs)" "$((reads + writes))" "total_reqs"
	expect_eq "$(dmp_stat avg_read_size)" "$((rbytes / reads))" "avg_read_size"
	expect_eq "$(dmp_stat avg_write_size)" "$((wbytes / writes))" "avg_write_size"
	expect_eq "$(dmp_stat avg_size)" "$(((rbytes + wbytes) / (reads + writes)))" "avg_size"
	# The independent oracle.
	expect_eq "$(($(dm_stat d1 1) - dr))" "$reads" "reads in /sys/block/dm-N/stat"
	expect_eq "$(($(dm_stat d1 5) - dw))" "$writes" "writes in /sys/block/dm-N/stat"
}

# Averages are 0, not an error, with no requests.
test_averages_without_requests() {
	echo 1 >/sys/kernel/dmp/reset
	local f
	for f in read_reqs write_reqs total_reqs avg_read_size avg_write_size avg_size; do
		expect_eq "$(dmp_stat "$f")" 0 "$f after reset"
	done
}

# What is written through dmp is on the underlying device, and the other way round.
test_data_round_trip() {
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	head -c 1M /dev/urandom >/tmp/a
	dd if=/tmp/a of=/dev/mapper/d1 bs=64k oflag=direct status=none
	dd if=/dev/ram1 of=/tmp/b bs=64k count=16 iflag=direct status=none
	cmp /tmp/a /tmp/b || fail "data written through dmp differs on /dev/ram1"
	head -c 1M /dev/urandom >/tmp/a
	dd if=/tmp/a of=/dev/ram1 bs=64k seek=100 oflag=direct status=none
	dd if=/dev/mapper/d1 of=/tmp/b bs=64k skip=100 count=16 iflag=direct status=none
	cmp /tmp/a /tmp/b || fail "data written to /dev/ram1 differs through dmp"
}

# <dev_path> <offset>: sector S of the dmp device is sector offset+S underneath.
test_offset() {
	local off=2048 len=$((RAMDISK_SECTORS - 2048))
	dmsetup create d1 --table "0 $len dmp /dev/ram2 $off"
	expect_eq "$(blockdev --getsz /dev/mapper/d1)" "$len" "device size"
	head -c 64k /dev/urandom >/tmp/a
	dd if=/tmp/a of=/dev/mapper/d1 bs=64k seek=3 oflag=direct status=none
	dd if=/dev/ram2 of=/tmp/b bs=512 skip=$((off + 3 * 128)) count=128 iflag=direct status=none
	cmp /tmp/a /tmp/b || fail "data is not at the offset on /dev/ram2"
	# The last sector of the dmp device is the last sector of the ramdisk.
	head -c 512 /dev/urandom >/tmp/a
	dd if=/tmp/a of=/dev/mapper/d1 bs=512 seek=$((len - 1)) oflag=direct status=none
	dd if=/dev/ram2 of=/tmp/b bs=512 skip=$((RAMDISK_SECTORS - 1)) iflag=direct status=none
	cmp /tmp/a /tmp/b || fail "the last sector is misplaced"
	# Writing past the end fails.
	expect_fail "write past the end" dd if=/tmp/a of=/dev/mapper/d1 bs=512 seek="$len" count=1 oflag=direct
}

# bad_table NAME TABLE MESSAGE: creation fails, MESSAGE is logged, nothing is left.
bad_table() {
	local name=$1 table=$2 msg=$3
	dmesg_mark
	expect_fail "table '$table'" dmsetup create "$name" --table "$table"
	dmesg_since | grep -qF -- "$msg" || { dmesg_since >&2; fail "'$table': no '$msg' in dmesg"; }
	expect_fail "$name is left behind" dmsetup info "$name"
	[ ! -e "/sys/kernel/dmp/devices/$name" ] || fail "/sys/kernel/dmp/devices/$name is left behind"
}

test_bad_tables() {
	local n=$RAMDISK_SECTORS
	bad_table b1 "0 $n dmp" "dmp: Missing device path: the table is <dev_path> [<offset>]"
	bad_table b2 "0 $n dmp /dev/nonexistent" "dmp: Device lookup failed"
	bad_table b3 "0 $n dmp /dev/ram3 abc" "dmp: Invalid device offset"
	bad_table b4 "0 $n dmp /dev/ram3 -1" "dmp: Invalid device offset"
	bad_table b5 "0 $n dmp /dev/ram3 99999999999999999999999" "dmp: Invalid device offset"
	bad_table b6 "0 $n dmp /dev/ram3 0 extra" "dmp: Too many arguments"
	# Sizes are checked by device-mapper core through iterate_devices.
	bad_table b7 "0 $((n + 1)) dmp /dev/ram3" "too small for target"
	bad_table b8 "0 $n dmp /dev/ram3 1" "too small for target"
	bad_table b9 "0 8 dmp /dev/ram3 $n" "too small for target"
	# The bad tables changed nothing: a good one still works.
	dmsetup create good --table "0 $n dmp /dev/ram3"
	dio_read /dev/mapper/good 4096 1
}

# rmmod is refused while a dmp device exists, and then cleans up /sys/kernel/dmp.
test_zz_unload() {
	dmsetup create zero1 --table "0 1024 zero"
	dmsetup create d1 --table "0 1024 dmp /dev/mapper/zero1"
	expect_fail "rmmod with a device" rmmod dmp
	[ -d /sys/kernel/dmp/devices/d1 ] || fail "rmmod removed the statistics of a live device"
	dio_read /dev/mapper/d1 4096 1
	dmsetup remove d1
	rmmod dmp || fail "rmmod after removing the device"
	[ ! -e /sys/kernel/dmp ] || fail "/sys/kernel/dmp is still there"
	# And it loads again.
	insmod "$TOP/dmp.ko"
	[ -f /sys/kernel/dmp/read_reqs ] || fail "no statistics after reloading"
	expect_eq "$(dmp_stat read_reqs)" 0 "read_reqs after reloading"
}
