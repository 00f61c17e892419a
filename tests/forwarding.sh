# SPDX-License-Identifier: GPL-2.0
# Forwarding as complete as dm-linear's: file systems, flushes, discards, write-zeroes,
# several segments, stacked limits, ioctls.

test_ext4_on_dmp() {
	dmsetup create fs1 --table "0 $RAMDISK_SECTORS dmp /dev/ram0"
	mkfs.ext4 -q -F /dev/mapper/fs1
	mkdir -p "$SCRATCH/mnt/fs1"
	mount /dev/mapper/fs1 "$SCRATCH/mnt/fs1"
	head -c 8M /dev/urandom >/tmp/data
	cp /tmp/data "$SCRATCH/mnt/fs1/data"
	mkdir "$SCRATCH/mnt/fs1/dir"
	local i
	for i in $(seq 1 50); do echo "$i" >"$SCRATCH/mnt/fs1/dir/f$i"; done
	sync
	umount "$SCRATCH/mnt/fs1"
	fsck.ext4 -fn /dev/mapper/fs1 >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log >&2; fail "fsck found errors"; }
	mount /dev/mapper/fs1 "$SCRATCH/mnt/fs1"
	cmp /tmp/data "$SCRATCH/mnt/fs1/data" || fail "file content changed"
	expect_eq "$(cat "$SCRATCH/mnt/fs1/dir/f50")" 50 "small file"
	umount "$SCRATCH/mnt/fs1"
	# The file system is on the ramdisk itself.
	fsck.ext4 -fn /dev/ram0 >/dev/null 2>&1 || fail "fsck of /dev/ram0 found errors"
}

# Two segments on one device get one flush per flush of the caller, as with dm-linear, and
# each caller's flush is counted once; over two devices each gets every flush.
test_flushes_once_per_device() {
	local loop loop2 n=$((32 * 2048)) t f0 i
	loop=$(loop_dev 64)
	local lstat="/sys/block/${loop#/dev/}/stat"
	for t in linear dmp; do
		printf '0 %d %s %s 0\n%d %d %s %s %d\n' "$n" "$t" "$loop" "$n" "$n" "$t" "$loop" "$n" |
			dmsetup create "f-$t"
		f0=$(awk '{ print $16 }' "$lstat")
		for i in 1 2 3 4 5; do
			dd if=/dev/zero of="/dev/mapper/f-$t" bs=4k count=1 seek=$((i * 3000)) oflag=direct conv=fsync,notrunc status=none
		done
		expect_eq "$(($(awk '{ print $16 }' "$lstat") - f0))" 5 "flushes reaching $loop through two $t segments"
	done
	expect_eq "$(dmp_stat flush_reqs f-dmp)" 5 "flushes counted over two segments"
	expect_eq "$(stat_of f-dmp 27)" 5 "preflush_writes over two segments"
	expect_eq "$(dmp_stat write_reqs f-dmp)" 5 "writes over two segments"
	dmsetup remove f-dmp
	loop2=$(loop_dev 64)
	local lstat2="/sys/block/${loop2#/dev/}/stat" g0
	printf '0 %d dmp %s 0\n%d %d dmp %s 0\n' "$n" "$loop" "$n" "$n" "$loop2" | dmsetup create f2
	f0=$(awk '{ print $16 }' "$lstat") g0=$(awk '{ print $16 }' "$lstat2")
	for i in 1 2 3; do
		dd if=/dev/zero of=/dev/mapper/f2 bs=4k count=1 oflag=direct conv=fsync,notrunc status=none
	done
	expect_eq "$(($(awk '{ print $16 }' "$lstat") - f0)) $(($(awk '{ print $16 }' "$lstat2") - g0))" \
		"3 3" "flushes reaching each of two devices"
	expect_eq "$(dmp_stat flush_reqs f2)" 3 "flushes counted over two devices"
}

# Flushes reach dmp's map (they do not bypass it) and are counted apart from writes.
test_flushes_counted() {
	local loop
	loop=$(loop_dev 64)
	dmsetup create f1 --table "0 $((64 * 2048)) dmp $loop"
	expect_eq "$(cat "/sys/block/dm-$(dm_minor f1)/queue/write_cache")" "write back" "write cache stacked"
	# Bio-based dm devices do not account flushes in their stat; the loop device does.
	local lstat="/sys/block/${loop#/dev/}/stat" f0 w0 o0 i
	f0=$(dmp_stat flush_reqs f1) w0=$(dmp_stat write_reqs f1) o0=$(awk '{ print $16 }' "$lstat")
	for i in 1 2 3 4 5; do
		dd if=/dev/zero of=/dev/mapper/f1 bs=4k count=1 seek="$i" oflag=direct conv=fsync,notrunc status=none
	done
	expect_eq "$(($(dmp_stat write_reqs f1) - w0))" 5 "writes"
	expect_eq "$(($(dmp_stat flush_reqs f1) - f0))" 5 "flushes"
	expect_eq "$(($(awk '{ print $16 }' "$lstat") - o0))" 5 "flushes in $lstat"
	expect_eq "$(dmp_stat avg_write_size f1)" 4096 "flushes do not skew the average"
	# FUA writes (O_DSYNC) are writes. Without FUA in the queue, the block layer follows
	# each with a flush.
	f0=$(dmp_stat flush_reqs f1) w0=$(dmp_stat write_reqs f1)
	dd if=/dev/zero of=/dev/mapper/f1 bs=8k count=2 oflag=direct,dsync conv=notrunc status=none
	expect_eq "$(($(dmp_stat write_reqs f1) - w0))" 2 "FUA writes"
	local fua post=2
	fua=$(cat "/sys/block/dm-$(dm_minor f1)/queue/fua")
	[ "$fua" = 0 ] || post=0
	expect_eq "$(($(dmp_stat flush_reqs f1) - f0))" "$post" "flushes after FUA writes (queue/fua $fua)"
}

test_discard() {
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	dio_write /dev/mapper/d1 1M 8
	echo 1 >/sys/kernel/dmp/reset
	dmsetup message d1 0 reset
	local o0 s0 r0
	o0=$(dm_stat d1 12) s0=$(dm_stat d1 14) r0=$(dm_stat d1 1)
	blkdiscard -o 1M -l 4M /dev/mapper/d1
	expect_eq "$(dmp_stat discard_bytes d1)" $((4 << 20)) "discard_bytes"
	expect_eq "$(dmp_stat discard_reqs d1)" "$(($(dm_stat d1 12) - o0))" "discards against /sys/block/dm-N/stat"
	expect_eq "$((($(dm_stat d1 14) - s0) * 512))" $((4 << 20)) "discarded sectors in /sys/block/dm-N/stat"
	expect_eq "$(dmp_stat discard_bytes)" $((4 << 20)) "global discard_bytes"
	# blkdiscard probes the device with a few reads of its own; no writes.
	expect_eq "$(dmp_stat write_reqs d1)" 0 "write_reqs after discards"
	expect_eq "$(dmp_stat read_reqs d1)" "$(($(dm_stat d1 1) - r0))" "read_reqs against /sys/block/dm-N/stat"
	expect_eq "$(dmp_stat total_reqs d1)" "$(dmp_stat read_reqs d1)" "total_reqs after discards"
	# brd frees discarded pages: they read back as zeros, underneath and through dmp.
	cmp -n $((4 << 20)) <(dd if=/dev/ram1 bs=1M skip=1 count=4 iflag=direct status=none) /dev/zero ||
		fail "discarded range is not zero on /dev/ram1"
}

test_write_zeroes() {
	local loop
	loop=$(loop_dev 64)
	dmsetup create z1 --table "0 $((64 * 2048)) dmp $loop"
	local q="/sys/block/dm-$(dm_minor z1)/queue"
	[ "$(cat "$q/write_zeroes_max_bytes")" -gt 0 ] || fail "write-zeroes not stacked from $loop"
	dio_write /dev/mapper/z1 1M 4
	dmsetup message z1 0 reset
	blkdiscard -z -o 1M -l 2M /dev/mapper/z1
	expect_eq "$(dmp_stat write_zeroes_bytes z1)" $((2 << 20)) "write_zeroes_bytes"
	[ "$(dmp_stat write_zeroes_reqs z1)" -ge 1 ] || fail "no write-zeroes requests"
	expect_eq "$(dmp_stat write_reqs z1)" 0 "write-zeroes are not writes"
	cmp -n $((2 << 20)) <(dd if="$loop" bs=1M skip=1 count=2 iflag=direct status=none) /dev/zero ||
		fail "zeroed range is not zero on $loop"
	# Discards go through as well.
	blkdiscard -o 0 -l 1M /dev/mapper/z1
	expect_eq "$(dmp_stat discard_bytes z1)" $((1 << 20)) "discard_bytes on loop"
}

# None of the test devices supports secure erase: dmp refuses it as the device does,
# and counts nothing.
test_secure_erase_unsupported() {
	dmsetup create s1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	expect_fail "secure erase on /dev/ram1" blkdiscard -s -l 1M /dev/ram1
	expect_fail "secure erase through dmp" blkdiscard -s -l 1M /dev/mapper/s1
	expect_eq "$(dmp_stat discard_reqs s1)" 0 "discard_reqs"
}

# Two dmp segments over two devices; the second with an offset.
test_two_segments() {
	local n=$((RAMDISK_SECTORS / 2)) off=4096
	printf '0 %d dmp /dev/ram2\n%d %d dmp /dev/ram3 %d\n' "$n" "$n" "$n" "$off" | dmsetup create two
	expect_eq "$(blockdev --getsz /dev/mapper/two)" $((2 * n)) "size"
	expect_eq "$(dmsetup table two | wc -l)" 2 "table lines"
	head -c 1M /dev/urandom >/tmp/a
	# 1 MiB straddling the boundary: half on each device.
	dd if=/tmp/a of=/dev/mapper/two bs=512 seek=$((n - 1024)) oflag=direct status=none
	cmp -n 512K /tmp/a <(dd if=/dev/ram2 bs=512 skip=$((n - 1024)) count=1024 iflag=direct status=none) ||
		fail "first half not on /dev/ram2"
	cmp -n 512K <(tail -c 512K /tmp/a) <(dd if=/dev/ram3 bs=512 skip=$off count=1024 iflag=direct status=none) ||
		fail "second half not at the offset on /dev/ram3"
	dd if=/dev/mapper/two of=/tmp/b bs=512 skip=$((n - 1024)) count=2048 iflag=direct status=none
	cmp /tmp/a /tmp/b || fail "read back across the boundary"
	# One device, one directory, both segments counted; both status lines show it.
	[ -d /sys/kernel/dmp/devices/two ] || fail "no statistics directory"
	expect_eq "$(dmp_stat write_bytes two)" $((1 << 20)) "write_bytes over both segments"
	expect_eq "$(dmp_stat read_bytes two)" $((1 << 20)) "read_bytes over both segments"
	expect_eq "$(dmsetup status two | awk '{ print $7 }' | sort -u)" $((1 << 20)) "write bytes in both status lines"
}

# Queue limits and capabilities stack from the underlying device.
test_queue_limits() {
	local loop
	loop=$(loop_dev 64 4096)
	dmsetup create q1 --table "0 $((64 * 2048)) dmp $loop"
	local dq="/sys/block/dm-$(dm_minor q1)/queue" lq="/sys/block/${loop#/dev/}/queue" f
	for f in logical_block_size physical_block_size minimum_io_size optimal_io_size \
		discard_granularity discard_max_bytes write_zeroes_max_bytes write_cache; do
		expect_eq "$(cat "$dq/$f")" "$(cat "$lq/$f")" "queue/$f"
	done
	expect_eq "$(cat "$dq/logical_block_size")" 4096 "logical block size"
	# A 512-byte O_DIRECT write is refused, as on the device itself.
	expect_fail "512-byte write on a 4k device" dd if=/dev/zero of=/dev/mapper/q1 bs=512 count=1 oflag=direct
	dmsetup create q2 --table "0 $RAMDISK_SECTORS dmp /dev/ram4"
	dq="/sys/block/dm-$(dm_minor q2)/queue" lq=/sys/block/ram4/queue
	for f in logical_block_size physical_block_size discard_granularity discard_max_bytes \
		write_zeroes_max_bytes write_cache rotational; do
		expect_eq "$(cat "$dq/$f")" "$(cat "$lq/$f")" "ram4 queue/$f"
	done
}

# ioctls pass through to the device when a segment covers all of it from offset 0.
test_ioctl_passthrough() {
	local loop
	loop=$(loop_dev 16)
	dmsetup create i1 --table "0 $((16 * 2048)) dmp $loop"
	# LOOP_GET_STATUS64 on the dmp device answers with the loop device's backing file.
	local name
	name=$(python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
info = bytearray(232)  # struct loop_info64; lo_file_name is at offset 56
fcntl.ioctl(fd, 0x4C05, info)
print(bytes(info[56:120]).split(b"\0")[0].decode())
' /dev/mapper/i1) || fail "LOOP_GET_STATUS64 on /dev/mapper/i1 failed"
	expect_eq "$name" "$(losetup -n -O BACK-FILE "$loop")" "backing file seen through dmp"
}
