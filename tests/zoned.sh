# SPDX-License-Identifier: GPL-2.0
# Zoned devices: dmp over a host-managed zoned null_blk (conventional zones first, then
# sequential-write-required ones), against the device itself and against dm-linear over
# the same device: zone reports, the write pointer, zone management, zone append (native
# and emulated), fio's zbd mode, btrfs and f2fs, table refusals, and blktests' zbd group.

NULLB=/sys/kernel/config/nullb

# zoned_null NAME SIZE_MB ZONE_MB CONV [APPEND_MAX_SECTORS]: a memory-backed host-managed
# zoned null_blk device /dev/NAME with 4 KiB blocks and CONV conventional zones first;
# APPEND_MAX_SECTORS 0 leaves zone append to the block layer's emulation.
zoned_null() {
	module_loaded null_blk || modprobe null_blk nr_devices=0
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	local d=$NULLB/$1
	mkdir "$d"
	echo 4096 >"$d/blocksize"
	echo 1 >"$d/memory_backed"
	echo "$2" >"$d/size"
	echo 1 >"$d/zoned"
	echo "$3" >"$d/zone_size"
	echo "$4" >"$d/zone_nr_conv"
	[ -z "${5:-}" ] || echo "$5" >"$d/zone_append_max_sectors"
	echo 1 >"$d/power"
	local i
	for i in $(seq 50); do [ -b "/dev/$1" ] && return 0; sleep 0.1; done
	fail "null_blk $1 did not appear"
}

# sys_block DEV: the kernel's name of block device DEV (/dev/mapper/NAME gives dm-N)
sys_block() {
	case $1 in
	/dev/mapper/*) echo "dm-$(dm_minor "${1#/dev/mapper/}")" ;;
	*) basename "$(readlink -f "$1")" ;;
	esac
}

# zone_sectors DEV: the zone size in sectors
zone_sectors() { cat "/sys/block/$(sys_block "$1")/queue/chunk_sectors"; }

# zones DEV [SHIFT]: the zone report of DEV, one zone per line as "start len cap wp
# cond type" (decimal sectors, the write pointer absolute, as BLKREPORTZONE gives it),
# with SHIFT subtracted from the starts and write pointers
zones() {
	blkzone report "$1" | python3 -c '
import re, sys
shift = int(sys.argv[1])
for line in sys.stdin:
    m = re.search(r"start: (0x[0-9a-f]+), len (0x[0-9a-f]+), cap (0x[0-9a-f]+), wptr (\S+) .*zcond: *(\d+).*type: *(\d+)", line)
    start, length, cap = (int(m.group(i), 16) for i in (1, 2, 3))
    wp = m.group(4)
    wp = "-" if wp == "N/A" else start + int(wp, 16) - shift
    print(start - shift, length, cap, wp, m.group(5), m.group(6))
' "${2:-0}"
}

# zone_wp DEV ZONE: the write pointer of zone number ZONE of DEV, relative to its start
zone_wp() {
	local zs
	zs=$(zone_sectors "$1")
	zones "$1" | awk -v s=$(($2 * zs)) '$1 == s { print $4 - s }'
}

# zone_cond DEV ZONE: the condition of zone number ZONE of DEV (1 empty, 3 explicitly
# open, 4 closed, 14 full)
zone_cond() {
	local zs
	zs=$(zone_sectors "$1")
	zones "$1" | awk -v s=$(($2 * zs)) '$1 == s { print $5 }'
}

# The zone attributes device-mapper stacks, as "name=value" lines.
zone_limits() {
	local q f
	q=/sys/block/$(sys_block "$1")/queue
	for f in zoned chunk_sectors nr_zones max_open_zones max_active_zones \
		zone_append_max_bytes zone_write_granularity; do
		echo "$f=$(cat "$q/$f")"
	done
}

# A zoned device's report through dmp is the device's (from zone k with an offset of k
# zones), and dm-linear's; its zone limits are dm-linear's; misaligned tables are refused
# as dm-linear's are, and leave no device behind.
test_zoned_report() {
	zoned_null zn0 512 16 4
	local zs size k=6
	zs=$(zone_sectors /dev/zn0) size=$(blockdev --getsz /dev/zn0)
	expect_eq "$zs" 32768 "zone size of the null_blk device"
	# Some zones not empty, so write pointers are compared too.
	dio_write /dev/zn0 4096 3 $((5 * zs / 8))
	dio_write /dev/zn0 4096 5 $((8 * zs / 8))
	blkzone finish -o $((9 * zs)) -c 1 /dev/zn0

	dmsetup create z1 --table "0 $size dmp /dev/zn0"
	dmsetup create l1 --table "0 $size linear /dev/zn0 0"
	expect_eq "$(cat "/sys/block/dm-$(dm_minor z1)/queue/zoned")" host-managed "zoned model"
	expect_eq "$(zones /dev/mapper/z1)" "$(zones /dev/zn0)" "zone report through dmp"
	expect_eq "$(zones /dev/mapper/z1)" "$(zones /dev/mapper/l1)" "dmp's report vs dm-linear's"
	expect_eq "$(zone_limits /dev/mapper/z1)" "$(zone_limits /dev/mapper/l1)" "zone limits vs dm-linear"
	[ "$(zones /dev/mapper/z1 | wc -l)" = 32 ] || fail "expected 32 zones"

	local len=$((size - k * zs - 2 * zs))
	dmsetup create z2 --table "0 $len dmp /dev/zn0 $((k * zs))"
	dmsetup create l2 --table "0 $len linear /dev/zn0 $((k * zs))"
	local want
	want=$(zones /dev/zn0 $((k * zs)) | awk '$1 >= 0' | head -n $((len / zs)))
	expect_eq "$(zones /dev/mapper/z2)" "$want" "report with an offset of $k zones"
	expect_eq "$(zones /dev/mapper/z2)" "$(zones /dev/mapper/l2)" "offset report vs dm-linear"
	expect_eq "$(zone_limits /dev/mapper/z2)" "$(zone_limits /dev/mapper/l2)" "offset zone limits vs dm-linear"

	# Misaligned start or length: refused, with device-mapper's message, as for dm-linear.
	local t bad
	for bad in "0 $zs %s /dev/zn0 100" "0 $((zs + 8)) %s /dev/zn0 0"; do
		for t in dmp linear; do
			dmesg_mark
			# shellcheck disable=SC2059
			expect_fail "misaligned $t table" dmsetup create bad --table "$(printf "$bad" "$t")"
			dmesg_since | grep -q "not aligned to h/w zone size" ||
				fail "no alignment message for a misaligned $t table"
			not dmsetup info bad >/dev/null 2>&1 || fail "a refused $t table left a device"
		done
	done
	# Nothing of the above changed the device.
	expect_eq "$(zones /dev/zn0 | md5sum)" "$(zones /dev/mapper/l1 | md5sum)" "device after refusals"
}

# Writes at the write pointer succeed and move it, a write behind it fails with the error
# reaching the caller, zone management works and counts as zone, never as read or write,
# and the data is on the device at the same sector; counts exact against the block layer.
test_zoned_writes_and_zone_ops() {
	zoned_null zn0 512 16 4
	local zs size off
	zs=$(zone_sectors /dev/zn0) size=$(blockdev --getsz /dev/zn0)
	off=$((2 * zs))
	dmsetup create z1 --table "0 $((size - off)) dmp /dev/zn0 $off"
	local z=6 dr dw
	dr=$(dm_stat z1 1) dw=$(dm_stat z1 5)

	dio_write /dev/mapper/z1 4096 4 $((z * zs / 8))
	expect_eq "$(zone_wp /dev/mapper/z1 $z)" 32 "write pointer after 4 blocks"
	expect_eq "$(zone_wp /dev/zn0 $((z + 2)))" 32 "the device's write pointer"
	cmp <(dd if=/dev/mapper/z1 bs=4096 count=4 skip=$((z * zs / 8)) iflag=direct status=none) \
		<(dd if=/dev/zn0 bs=4096 count=4 skip=$(((z + 2) * zs / 8)) iflag=direct status=none) ||
		fail "the data is not at the same sector of the device"
	# Behind the write pointer: an unaligned write error, which reaches dd.
	expect_fail "a write behind the write pointer" dio_write /dev/mapper/z1 4096 1 $((z * zs / 8))
	expect_eq "$(zone_wp /dev/mapper/z1 $z)" 32 "write pointer after the refused write"
	expect_eq "$(stat_of z1 6)" 5 "write reqs (field 6)"
	expect_eq "$(stat_of z1 8)" 1 "write io_errors (field 8)"
	# A conventional zone takes writes anywhere.
	dio_write /dev/mapper/z1 4096 2 $((zs / 8 + 10))
	dio_read /dev/mapper/z1 4096 4 $((z * zs / 8))

	# Zone management: open, close, finish, reset of one zone each, then a reset of all.
	blkzone open -o $(((z + 1) * zs)) -c 1 /dev/mapper/z1
	expect_eq "$(zone_cond /dev/zn0 $((z + 3)))" 3 "explicitly open on the device"
	blkzone close -o $(((z + 1) * zs)) -c 1 /dev/mapper/z1
	blkzone finish -o $(((z + 2) * zs)) -c 1 /dev/mapper/z1
	expect_eq "$(zone_cond /dev/mapper/z1 $((z + 2)))" 14 "a finished zone is full"
	blkzone reset -o $((z * zs)) -c 1 /dev/mapper/z1
	expect_eq "$(zone_wp /dev/zn0 $((z + 2)))" 0 "the device's write pointer after a reset"
	expect_eq "$(dmp_stat zone_reqs z1)" 4 "zone_reqs after open, close, finish, reset"
	blkzone reset /dev/mapper/z1
	expect_eq "$(zones /dev/mapper/z1 | awk '$4 != "-" && $4 != $1' | wc -l)" 0 "all zones reset"
	local zr
	zr=$(dmp_stat zone_reqs z1)
	[ "$zr" -ge 5 ] || fail "zone_reqs after a reset of all zones: $zr"
	expect_eq "$(stat_of z1 29)" "$zr" "zone reqs (stat field 29)"
	expect_eq "$(stat_of z1 30)" 0 "zone bytes (stat field 30)"
	expect_eq "$(stat_of z1 31)$(stat_of z1 32)" 00 "zone errors (stat fields 31, 32)"
	[ "$(stat_of z1 33)" -gt 0 ] || fail "no zone latency"
	expect_eq "$(awk '$1 == "zone" { print $2 }' /sys/kernel/dmp/devices/z1/latency_histogram)" \
		"$zr" "zone line of latency_histogram"
	expect_eq "$(status_field z1 10)" "$zr" "zone reqs in dmsetup status"
	# Zone management is never a read or a write.
	expect_eq "$(dmp_stat read_reqs z1)" 8 "read_reqs (4 compared, 4 read)"
	expect_eq "$(dmp_stat write_reqs z1)" 7 "write_reqs (4 + 1 refused + 2)"
	expect_eq "$(($(dm_stat z1 1) - dr))" 8 "reads in /sys/block/dm-N/stat"
	# The block layer counts zone management as writes; dmp keeps it apart.
	expect_eq "$(($(dm_stat z1 5) - dw))" $((7 + zr)) "writes in /sys/block/dm-N/stat (with zone management)"
	expect_eq "$(dmp_stat zone_reqs)" "$zr" "zone_reqs of the module"
	tools/dmpstat --prometheus >/tmp/prom.txt
	expect_eq "$(prom_value /tmp/prom.txt dmp_requests_total device=z1 dm=dm-$(dm_minor z1) op=zone)" \
		"$zr" "dmpstat --prometheus: the zone class's count"
}

# fio's zbd mode with verification over several zones: fio's own counts are dmp's and the
# block layer's.
test_zoned_fio() {
	zoned_null zn0 512 16 4
	local zs size
	zs=$(zone_sectors /dev/zn0) size=$(blockdev --getsz /dev/zn0)
	dmsetup create z1 --table "0 $((size - 4 * zs)) dmp /dev/zn0 $((4 * zs))"
	local dr dw
	dr=$(dm_stat z1 1) dw=$(dm_stat z1 5)
	fio --output-format=json --output=/tmp/zbd.json --eta=never --name=zbd \
		--filename=/dev/mapper/z1 --direct=1 --zonemode=zbd --rw=write --bs=64k \
		--offset=$((4 * zs * 512)) --size=$((6 * zs * 512)) --verify=crc32c \
		--verify_state_save=0 --do_verify=1 --ioengine=psync >/dev/null ||
		{ cat /tmp/zbd.json; fail "fio --zonemode=zbd failed"; }
	local fw fr
	fw=$(fio_json /tmp/zbd.json 'j["jobs"][0]["write"]["total_ios"]')
	fr=$(fio_json /tmp/zbd.json 'j["jobs"][0]["read"]["total_ios"]')
	[ "$fw" -ge $((6 * zs / 128)) ] || fail "fio wrote only $fw blocks"
	expect_eq "$(dmp_stat write_reqs z1)" "$fw" "write_reqs vs fio"
	expect_eq "$(dmp_stat read_reqs z1)" "$fr" "read_reqs vs fio (verification)"
	expect_eq "$(($(dm_stat z1 5) - dw))" "$((fw + $(dmp_stat zone_reqs z1)))" \
		"writes and zone management in /sys/block/dm-N/stat"
	expect_eq "$(($(dm_stat z1 1) - dr))" "$fr" "reads in /sys/block/dm-N/stat"
	expect_eq "$(stat_of z1 8)$(stat_of z1 3)" 00 "no I/O errors"
}

# btrfs_zoned DEV MNT MB: a zoned btrfs on DEV, MB MiB of files written, remounted, read
# back and checked with btrfs check
btrfs_zoned() {
	local dev=$1 mnt=$2 mb=$3
	mkfs.btrfs -q -f -O zoned -d single -m single "$dev" >/dev/null ||
		fail "mkfs.btrfs -O zoned on $dev"
	mkdir -p "$mnt"
	mount -t btrfs "$dev" "$mnt"
	local i
	for i in 1 2 3 4; do
		dd if=/dev/urandom of="$mnt/f$i" bs=1M count=$((mb / 4)) status=none
	done
	sync
	(cd "$mnt" && sha256sum f1 f2 f3 f4) >/tmp/btrfs.sum
	umount "$mnt"
	mount -t btrfs "$dev" "$mnt"
	(cd "$mnt" && sha256sum -c --quiet /tmp/btrfs.sum) || fail "files changed after a remount"
	umount "$mnt"
	btrfs check "$dev" >/tmp/btrfs.check 2>&1 || { cat /tmp/btrfs.check; fail "btrfs check $dev"; }
}

# zone_append_run MODE MB: btrfs on dmp over a zoned null_blk whose zone append is MODE
# (native or emulated); counts exact against the block layer, and written data counted as
# writes. (/sys/block/dm-N/stat counts zone management as writes, and dmp apart.)
zone_append_run() {
	local mode=$1 mb=$2 amax=
	[ "$mode" = emulated ] && amax=0
	zoned_null zn0 1024 16 4 $amax
	local size
	size=$(blockdev --getsz /dev/zn0)
	dmesg_mark
	dmsetup create z1 --table "0 $size dmp /dev/zn0"
	local dm=dm-$(dm_minor z1)
	dmesg_since | grep -q "$dm using $mode zone append" ||
		fail "$dm does not use $mode zone append: $(dmesg_since | grep 'zone append')"
	btrfs_zoned /dev/mapper/z1 "$SCRATCH/btrfs" "$mb"
	expect_eq "$(dmp_stat read_reqs z1)" "$(dm_stat z1 1)" "reads vs /sys/block/$dm/stat"
	# The block layer counts zone management (btrfs resets zones) as writes too.
	expect_eq "$(($(dmp_stat write_reqs z1) + $(dmp_stat zone_reqs z1)))" "$(dm_stat z1 5)" \
		"writes and zone management vs /sys/block/$dm/stat"
	expect_eq "$(($(dmp_stat write_bytes z1) / 512))" "$(dm_stat z1 7)" "written sectors vs /sys/block/$dm/stat"
	[ "$(dmp_stat write_bytes z1)" -ge $((mb << 20)) ] || fail "less written than the files hold"
	[ "$(dmp_stat zone_reqs z1)" -gt 0 ] || fail "btrfs reset no zone"
	expect_eq "$(stat_of z1 8)$(stat_of z1 9)" 00 "no write errors"
}

test_zone_append_native() { zone_append_run native 32; }
test_zone_append_emulated() { zone_append_run emulated 32; }

# refusal_run TARGET: reloads of a live TARGET device over a zoned null_blk with emulated
# zone append that device-mapper refuses; what it logged goes to /tmp/refusals.TARGET;
# the device still serves I/O with its old table.
refusal_run() {
	local t=$1 size
	size=$(blockdev --getsz /dev/ze0)
	local args="/dev/ze0" args2="/dev/zb0" args3="/dev/zn1"
	[ "$t" = linear ] && args="/dev/ze0 0" args2="/dev/zb0 0" args3="/dev/zn1 0"
	dmsetup create "r$t" --table "0 $size $t $args"
	local old
	old=$(dmsetup table "r$t")
	# A table over a device with another zone size, or with native zone append.
	local other
	for other in "$args2" "$args3"; do
		dmsetup reload "r$t" --table "0 $size $t $other"
		dmesg_mark
		expect_fail "resume of r$t with $other" dmsetup resume "r$t"
		dmesg_since | grep -o 'Cannot change zone size\|New table must emulate zone append' \
			>>"/tmp/refusals.$t" || fail "r$t: no refusal logged for $other"
		dmsetup clear "r$t"
		dmsetup resume "r$t"
		expect_eq "$(dmsetup table "r$t")" "$old" "r$t's table after a refused reload"
	done
	# The first sequential zone (zone 4) still takes writes at its write pointer.
	blkzone reset -o $((4 * 32768)) -c 1 "/dev/mapper/r$t"
	dio_write "/dev/mapper/r$t" 4096 2 $((4 * 32768 / 8)) || fail "r$t: write after the refusals"
	dio_read "/dev/mapper/r$t" 4096 2 $((4 * 32768 / 8)) || fail "r$t: read after the refusals"
	dmsetup remove "r$t"
}

# Reloads that device-mapper refuses for dm-linear, for a live zoned device with zone
# append emulation (another zone size; native zone append), are refused for dmp too, with
# the same messages, and leave the device serving I/O with its old table.
test_zoned_reload_refusals() {
	zoned_null ze0 256 16 4 0
	zoned_null zb0 256 32 2 0
	zoned_null zn1 256 16 4
	rm -f /tmp/refusals.*
	refusal_run dmp
	refusal_run linear
	expect_eq "$(cat /tmp/refusals.dmp)" "$(printf 'Cannot change zone size\nNew table must emulate zone append')" "dmp's refusals"
	expect_eq "$(cat /tmp/refusals.dmp)" "$(cat /tmp/refusals.linear)" "dmp's refusals vs dm-linear's"
}

# The stress suite's zoned runs.

# fio's zbd mode with random 64 KiB writes (8 zones open at a time) until a zoned device
# of 1 GiB is full, then verification of all of it: fio's counts are dmp's
# and the block layer's.
stress_zoned_fio() {
	zoned_null zn0 1024 16 4
	local size
	size=$(blockdev --getsz /dev/zn0)
	dmsetup create z1 --table "0 $size dmp /dev/zn0"
	fio --output-format=json --output=/tmp/zbd.json --eta=never --name=zbd \
		--filename=/dev/mapper/z1 --direct=1 --zonemode=zbd --rw=randwrite \
		--max_open_zones=8 --bs=64k --ioengine=libaio --iodepth=8 \
		--verify=crc32c --verify_state_save=0 --do_verify=1 >/dev/null ||
		{ cat /tmp/zbd.json; fail "fio --zonemode=zbd failed"; }
	local fw fr
	fw=$(fio_json /tmp/zbd.json 'j["jobs"][0]["write"]["total_ios"]')
	fr=$(fio_json /tmp/zbd.json 'j["jobs"][0]["read"]["total_ios"]')
	[ "$fw" -gt 1000 ] && [ "$fr" -gt 1000 ] || fail "fio wrote only $fw blocks and verified $fr"
	expect_eq "$(dmp_stat write_reqs z1)" "$fw" "write_reqs vs fio"
	expect_eq "$(dmp_stat read_reqs z1)" "$fr" "read_reqs vs fio"
	expect_eq "$(($(dmp_stat write_reqs z1) + $(dmp_stat zone_reqs z1)))" "$(dm_stat z1 5)" \
		"writes and zone management vs /sys/block/dm-N/stat"
	expect_eq "$(dmp_stat read_reqs z1)" "$(dm_stat z1 1)" "reads vs /sys/block/dm-N/stat"
	echo "    fio zbd: $fw writes, $fr verifying reads, $(dmp_stat zone_reqs z1) zone resets"
}

# btrfs with 256 MiB x STRESS_SCALE of files, over native and over emulated zone append.
stress_zone_append_native() { zone_append_run native "$(scale 256)"; }
stress_zone_append_emulated() { zone_append_run emulated "$(scale 256)"; }

# f2fs on dmp over a zoned null_blk (its metadata in the conventional zones): files
# written, remounted, read back, checked with fsck.f2fs; counts against the block layer.
stress_zoned_f2fs() {
	zoned_null zn0 1024 16 8
	local size mnt=$SCRATCH/f2fs
	size=$(blockdev --getsz /dev/zn0)
	dmsetup create z1 --table "0 $size dmp /dev/zn0"
	mkfs.f2fs -q -f -m /dev/mapper/z1 >/dev/null || fail "mkfs.f2fs -m on dmp"
	mkdir -p "$mnt"
	mount -t f2fs /dev/mapper/z1 "$mnt"
	local i
	for i in 1 2 3 4; do
		dd if=/dev/urandom of="$mnt/f$i" bs=1M count="$(scale 32)" status=none
	done
	sync
	(cd "$mnt" && sha256sum f1 f2 f3 f4) >/tmp/f2fs.sum
	umount "$mnt"
	mount -t f2fs /dev/mapper/z1 "$mnt"
	(cd "$mnt" && sha256sum -c --quiet /tmp/f2fs.sum) || fail "files changed after a remount"
	umount "$mnt"
	fsck.f2fs /dev/mapper/z1 >/tmp/f2fs.fsck 2>&1 || { cat /tmp/f2fs.fsck; fail "fsck.f2fs"; }
	expect_eq "$(dmp_stat read_reqs z1)" "$(dm_stat z1 1)" "reads vs /sys/block/dm-N/stat"
	expect_eq "$(($(dmp_stat write_reqs z1) + $(dmp_stat zone_reqs z1)))" "$(dm_stat z1 5)" \
		"writes and zone management vs /sys/block/dm-N/stat"
	[ "$(dmp_stat write_bytes z1)" -ge $((4 * $(scale 32) << 20)) ] || fail "less written than the files hold"
}

BLKTESTS_SRC=/opt/blktests
# The tests of blktests' zbd group that run on TEST_DEV. The others (zbd/008 to 012) make
# their own devices (scsi_debug, a null_blk of their own, their own dm-linear) and never
# use TEST_DEV, so they say nothing of dmp; here they would also fail to reload a null_blk
# that this run's device holds.
BLKTESTS_ZBD="zbd/001 zbd/002 zbd/003 zbd/004 zbd/005 zbd/006 zbd/007"

# blktests_run KIND: blktests' zbd tests on a KIND (dmp or linear) device over a zoned
# null_blk with only sequential zones (blktests of this version cannot parse blkzone's
# "wptr N/A" of conventional zones); "test status" lines go to /tmp/blktests.KIND and each
# "not run" or failed test's reason or output to /tmp/blktests.KIND.why. Copies of the
# results are left in out/blktests-KIND/ of the repository.
blktests_run() {
	local kind=$1 size
	[ -e /tmp/blktests/.copied ] || { cp -a "$BLKTESTS_SRC" /tmp/blktests && touch /tmp/blktests/.copied; }
	zoned_null zn0 1024 16 0
	size=$(blockdev --getsz /dev/zn0)
	local args=/dev/zn0
	[ "$kind" = linear ] && args="/dev/zn0 0"
	dmsetup create "zbd$kind" --table "0 $size $kind $args"
	echo "TEST_DEVS=(/dev/mapper/zbd$kind)" >/tmp/blktests/config
	# blktests of this version reads every write pointer of `blkzone report` as a number,
	# and util-linux 2.42 prints "wptr N/A" for a zone without one (here, with only
	# sequential zones, a full zone). A wrapper first in blktests' PATH passes the real
	# blkzone through and prints such a write pointer as util-linux did before: the
	# zone's length, the offset of its end.
	local real
	real=$(command -v blkzone)
	mkdir -p /tmp/blktests-bin
	cat >/tmp/blktests-bin/blkzone <<EOS
#!/bin/bash
set -o pipefail
[ "\$1" = report ] || exec $real "\$@"
$real "\$@" | sed -E 's/(len (0x[0-9a-f]+), cap 0x[0-9a-f]+), wptr N\/A/\1, wptr \2/'
EOS
	chmod +x /tmp/blktests-bin/blkzone
	local res=/tmp/blktests-results-$kind
	rm -rf "$res"
	# shellcheck disable=SC2086
	(cd /tmp/blktests && PATH=/tmp/blktests-bin:$PATH ./check -o "$res" $BLKTESTS_ZBD) \
		>"/tmp/blktests.$kind.log" 2>&1 || true
	local t f st
	: >"/tmp/blktests.$kind.why"
	for t in $BLKTESTS_ZBD; do
		f=$res/zbd$kind/$t
		st=$(awk -F'\t' '$1 == "status" { print $2 }' "$f" 2>/dev/null || true)
		case $st in
		pass) echo "$t passed" ;;
		fail) echo "$t failed"; { echo "$t:"; cat "$f.out.bad" "$f.full" 2>/dev/null | head -n 20; } >>"/tmp/blktests.$kind.why" ;;
		"not run") echo "$t not-run"; echo "$t: $(awk -F'\t' '$1 == "reason" { print $2 }' "$f")" >>"/tmp/blktests.$kind.why" ;;
		*) echo "$t no-result"; { echo "$t: no result:"; cat "$res/zbd$kind/$t.out" 2>/dev/null | head -n 10; } >>"/tmp/blktests.$kind.why" ;;
		esac
	done >"/tmp/blktests.$kind"
	mkdir -p "$TOP/out"
	rm -rf "$TOP/out/blktests-$kind"
	cp -a "$res" "$TOP/out/blktests-$kind"
	cp "/tmp/blktests.$kind.log" "$TOP/out/blktests-$kind/console.log"
	dmsetup remove "zbd$kind"
	remove_null_blk
}

# blktests' zbd tests on dmp and on dm-linear over the same kind of zoned null_blk: every
# test that passes on dm-linear passes on dmp; both tables and the reasons of tests that
# did not pass are printed.
stress_blktests_zbd() {
	[ -x "$BLKTESTS_SRC/check" ] ||
		skip "blktests is not built into the build root (scripts/setup-blktests; is" \
			"../shared/third_party/ present?)"
	blktests_run linear
	blktests_run dmp
	echo "    blktests (test, dm-linear, dmp):"
	join -a1 -a2 -e - -o 0,1.2,2.2 /tmp/blktests.linear /tmp/blktests.dmp | sed 's/^/      /'
	local k
	for k in linear dmp; do
		[ ! -s "/tmp/blktests.$k.why" ] || { echo "    why, on $k:"; sed 's/^/      /' "/tmp/blktests.$k.why"; }
	done
	grep -q passed /tmp/blktests.linear || { cat /tmp/blktests.linear.log; fail "nothing passed on dm-linear"; }
	local t s
	while read -r t s; do
		[ "$s" = passed ] || continue
		grep -qx "$t passed" /tmp/blktests.dmp && continue
		# zbd/007 moves write pointers on the container device, which it finds by parsing
		# the table, and it knows only linear, flakey and crypt tables (dmp's has
		# linear's form); test_zoned_report checks the same mapping, with an offset. On
		# another table its helper prints "dm mapping test other than linear/flakey/crypt
		# is not implemented", which the test reads as the container and its sector.
		if [ "$t" = zbd/007 ] &&
			grep -q "failed to parse zone offset: 'mapping'" "/tmp/blktests.dmp.why"; then
			echo "    zbd/007 on dmp: blktests finds container sectors only in linear, flakey" \
				"and crypt tables (\"dm mapping test other than linear/flakey/crypt is not" \
				"implemented\"); test_zoned_report checks that mapping"
			continue
		fi
		fail "$t passes on dm-linear but not on dmp"
	done </tmp/blktests.linear
}
