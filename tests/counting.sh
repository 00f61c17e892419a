# SPDX-License-Identifier: GPL-2.0
# Exact counts: known O_DIRECT I/O against dmp's counters and the block layer's, averages,
# data through dmp, offsets.

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
