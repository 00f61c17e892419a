# SPDX-License-Identifier: GPL-2.0
# Stress: faults. Failing devices under dmp (dm-flakey's modes, dm-error), device-mapper
# operations under I/O, churn of devices while others carry I/O, and load/unload churn
# with a leak check.

# flakey_dev NAME FEATURES...: a dm-flakey device over /dev/ram1 that is always "down"
# (up interval 0) with FEATURES, or failing every I/O without features.
flakey_dev() {
	local name=$1; shift
	local feat=""
	[ $# -eq 0 ] || feat="$# $*"
	dmsetup create "$name" --table "0 $RAMDISK_SECTORS flakey /dev/ram1 0 0 3600 $feat"
}

# n_ios KIND DEV COUNT: COUNT O_DIRECT 4 KiB reads or writes at different offsets; prints
# how many failed.
n_ios() {
	local kind=$1 dev=$2 count=$3 i failed=0
	for i in $(seq 0 $((count - 1))); do
		if [ "$kind" = read ]; then
			dio_read "$dev" 4096 1 "$((i * 7))" 2>/dev/null || failed=$((failed + 1))
		else
			dio_write "$dev" 4096 1 "$((i * 7))" 2>/dev/null || failed=$((failed + 1))
		fi
	done
	echo "$failed"
}

# Errors from below reach the caller, and dmp counts exactly the ones injected.
stress_flakey_faults() {
	local n
	n=${FAULTS_N:-$(scale 40)}
	dio_write /dev/ram1 1M 8
	dd if=/dev/ram1 of=/tmp/ram1.orig bs=1M count=8 iflag=direct status=none

	# error_reads: every read fails, every write succeeds (and lands).
	flakey_dev f1 error_reads
	dmsetup create p1 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/f1"
	expect_eq "$(n_ios read /dev/mapper/p1 "$n")" "$n" "failed reads (error_reads)"
	expect_eq "$(n_ios write /dev/mapper/p1 "$n")" 0 "failed writes (error_reads)"
	expect_eq "$(stat_of p1 1) $(stat_of p1 3) $(stat_of p1 6) $(stat_of p1 8)" \
		"$n $n $n 0" "read completed/errors, write completed/errors (error_reads)"
	dmsetup remove p1 && dmsetup remove f1
	dd if=/dev/ram1 bs=1M count=8 iflag=direct status=none | cmp -s - /tmp/ram1.orig &&
		fail "error_reads: the writes did not reach the device"
	# From here on, no mode lets a write through.
	dd if=/dev/ram1 of=/tmp/ram1.orig bs=1M count=8 iflag=direct status=none

	# error_writes: the reverse.
	flakey_dev f2 error_writes
	dmsetup create p2 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/f2"
	expect_eq "$(n_ios write /dev/mapper/p2 "$n")" "$n" "failed writes (error_writes)"
	expect_eq "$(n_ios read /dev/mapper/p2 "$n")" 0 "failed reads (error_writes)"
	expect_eq "$(stat_of p2 3) $(stat_of p2 6) $(stat_of p2 8)" "0 $n $n" \
		"read errors, write completed/errors (error_writes)"
	dmsetup remove p2 && dmsetup remove f2

	# No features: everything fails.
	flakey_dev f3
	dmsetup create p3 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/f3"
	expect_eq "$(n_ios read /dev/mapper/p3 "$n") $(n_ios write /dev/mapper/p3 "$n")" "$n $n" \
		"failed reads and writes (down)"
	expect_eq "$(stat_of p3 3) $(stat_of p3 8)" "$n $n" "read and write errors (down)"
	dmsetup remove p3 && dmsetup remove f3

	# drop_writes: writes "succeed" and vanish. dmp sees success and says so; the data
	# below is unchanged.
	flakey_dev f4 drop_writes
	dmsetup create p4 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/f4"
	expect_eq "$(n_ios write /dev/mapper/p4 "$n")" 0 "failed writes (drop_writes)"
	expect_eq "$(stat_of p4 6) $(stat_of p4 8)" "$n 0" "write completed/errors (drop_writes)"
	dmsetup remove p4 && dmsetup remove f4
	dd if=/dev/ram1 bs=1M count=8 iflag=direct status=none | cmp -s - /tmp/ram1.orig ||
		fail "drop_writes (or error_writes): data below changed"

	# corrupt_bio_byte: reads return data with byte 1 of each bio set to 0x5a, successfully.
	flakey_dev f5 corrupt_bio_byte 1 r 90 0
	dmsetup create p5 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/f5"
	local corrupted=0 i
	for i in $(seq 0 $((n - 1))); do
		dd if=/dev/mapper/p5 bs=4096 count=1 skip="$i" iflag=direct status=none | head -c 1 |
			od -An -tu1 | grep -qw 90 && corrupted=$((corrupted + 1))
	done
	expect_eq "$corrupted" "$n" "reads corrupted (corrupt_bio_byte)"
	expect_eq "$(stat_of p5 1) $(stat_of p5 3)" "$n 0" "read completed/errors (corrupt_bio_byte)"
	dmsetup remove p5 && dmsetup remove f5

	# dm-error under a mixed fio load: fio's error count is dmp's.
	dmsetup create e0 --table "0 $RAMDISK_SECTORS error"
	dmsetup create p6 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/e0"
	fio --output-format=json --output=/tmp/err.json --eta=never --filename=/dev/mapper/p6 \
		--direct=1 --ioengine=libaio --iodepth=4 --name=err --rw=randrw --bs=4k --numjobs=2 \
		--size="$RAMDISK_MB"M --io_size=$((n * 4))k --continue_on_error=all --group_reporting \
		>/dev/null 2>&1 || true
	local ferr
	ferr=$(fio_json /tmp/err.json 'j["jobs"][0]["total_err"]')
	expect_eq "$(($(stat_of p6 3) + $(stat_of p6 8)))" "$ferr" "errors: dmp vs fio (dm-error)"
	[ "$ferr" -gt 0 ] || fail "fio saw no errors from dm-error"
	echo "    injected and counted: $((3 * n)) read errors, $((2 * n)) write errors, $n dropped" \
		"writes, $n corrupted reads, $ferr fio errors on dm-error"
}

# fio_bg NAME DEV SECONDS: a verifying fio job on DEV in the background; sets FIO_PID.
fio_bg() {
	fio --output-format=json --output="/tmp/$1.json" --eta=never --filename="$2" --direct=1 \
		--ioengine=libaio --iodepth=8 --size="$RAMDISK_MB"M --time_based --runtime="$3" \
		--group_reporting \
		--name="$1" --rw=randwrite --bs=4k --verify=crc32c --verify_backlog=16 --verify_fatal=1 --verify_state_save=0 \
		--name="$1r" --rw=randread --bs=4k >"/tmp/$1.err" 2>&1 &
	FIO_PID=$!
}

# wait_open NAME: wait (up to 60 s) until something holds device NAME open.
wait_open() {
	local i
	for i in $(seq 1 600); do
		[ "$(dmsetup info -c --noheadings -o open "$1" | tr -d ' ')" -gt 0 ] && return 0
		sleep 0.1
	done
	fail "nothing opened $1"
}

# Device-mapper operations while fio runs: none loses or fails an I/O, except remove
# --force and wipe_table, whose whole point is to fail it.
stress_changes_under_io() {
	local t="0 $RAMDISK_SECTORS dmp /dev/ram2" rounds i
	rounds=${CHANGE_ROUNDS:-$(scale 5)}
	dd if=/dev/urandom of=/dev/ram2 bs=1M count="$RAMDISK_MB" oflag=direct status=none
	dmsetup create c1 --table "$t"
	# fio runs until told to stop: the rounds take as long as they take on a busy machine.
	fio_bg c1 /dev/mapper/c1 3600
	wait_open c1
	for i in $(seq 1 "$rounds"); do
		dmsetup suspend c1 && sleep 0.2 && dmsetup resume c1
		dmsetup suspend --nolockfs c1 && dmsetup resume c1
		dmsetup suspend --noflush c1 && dmsetup resume c1
		# reload with a new table (the same mapping, then dm-linear, then dmp again)
		dmsetup reload c1 --table "$t" && dmsetup resume c1
		dmsetup reload c1 --table "0 $RAMDISK_SECTORS linear /dev/ram2 0" && dmsetup resume c1
		dmsetup reload c1 --table "$t" && dmsetup resume c1
		kill -0 "$FIO_PID" 2>/dev/null || {
			cat /tmp/c1.err >&2
			fio_json /tmp/c1.json '[(x["jobname"], x["error"]) for x in j["jobs"]]' >&2 || true
			fail "fio stopped early (round $i)"
		}
		expect_fail "remove while open" dmsetup remove c1
		dmsetup rename c1 c1b && dmsetup rename c1b c1
		expect_fail "rmmod while a dmp device exists" rmmod dmp
		sleep 0.3
	done
	kill -INT "$FIO_PID"
	wait "$FIO_PID" || true
	fio_json /tmp/c1.json 'j["jobs"][0]["error"]' >/dev/null || { cat /tmp/c1.err >&2; fail "fio wrote no report"; }
	local ios
	ios=$(fio_json /tmp/c1.json 'j["jobs"][0]["read"]["total_ios"] + j["jobs"][0]["write"]["total_ios"]')
	local errs
	errs=$(fio_json /tmp/c1.json 'j["jobs"][0]["error"]')
	expect_eq "$errs" 0 "fio errors"
	[ -d /sys/kernel/dmp/devices/c1 ] || fail "c1's statistics directory is gone"

	# remove --force under I/O: the table becomes dm-error, fio fails, the device goes
	# when fio closes it; wipe_table likewise keeps the device.
	dmsetup create c2 --table "0 $RAMDISK_SECTORS dmp /dev/ram3"
	dmsetup create c3 --table "0 $RAMDISK_SECTORS dmp /dev/ram4"
	# A runtime far beyond the test's: fio must still be running when its table goes, and
	# on a sanitizer kernel under emulation one fio can take 30 s to open its device while
	# the other runs (both end at the error table anyway).
	fio_bg c2 /dev/mapper/c2 600
	local p2=$FIO_PID
	fio_bg c3 /dev/mapper/c3 600
	local p3=$FIO_PID
	# Only once fio has both open: a device removed before fio opens its node would leave
	# fio writing to a regular file of that name under /dev/mapper.
	wait_open c2 && wait_open c3
	dmsetup remove --force c2 2>/dev/null || true
	dmsetup wipe_table c3
	wait "$p2" && fail "fio on a force-removed device did not fail"
	wait "$p3" && fail "fio on a wiped device did not fail"
	dmsetup info c2 >/dev/null 2>&1 && dmsetup remove c2
	[ "$(dmsetup table c3 | awk '{ print $3 }')" = error ] || fail "wipe_table left $(dmsetup table c3)"
	[ ! -e /sys/kernel/dmp/devices/c2 ] && [ ! -e /sys/kernel/dmp/devices/c3 ] ||
		fail "statistics of replaced tables remain: $(ls /sys/kernel/dmp/devices)"
	dmsetup remove c3
	dmsetup remove c1
	rmmod dmp || fail "rmmod after the last device went"
	echo "    $rounds rounds of suspend x3, reload x3, remove (refused), rename x2, rmmod (refused)" \
		"under $ios I/Os (writes verified) with 0 errors; remove --force and wipe_table under I/O"
}

# Many dmp devices created, renamed and removed while others carry I/O and readers race
# the removals on every sysfs file.
stress_churn() {
	local n i
	n=$(scale 60)
	dmsetup create busy1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	dmsetup create busy2 --table "0 $RAMDISK_SECTORS dmp /dev/ram2"
	fio_bg busy1 /dev/mapper/busy1 3600
	local p1=$FIO_PID
	fio_bg busy2 /dev/mapper/busy2 3600
	local p2=$FIO_PID
	(
		# Readers: every file of every directory, as fast as they can, ignoring files
		# that vanish under them.
		set +e
		reads=0
		while :; do
			for f in /sys/kernel/dmp/devices/*/*; do
				[ "${f##*/}" != reset ] || continue
				cat "$f" >/dev/null 2>&1 && reads=$((reads + 1))
			done
			echo "$reads" >/tmp/churn.reads
		done
	) &
	local reader=$!
	for i in $(seq 1 "$n"); do
		dmsetup create "ch$i" --table "0 2048 dmp /dev/ram3 $((i % 64 * 2048))"
		dmsetup rename "ch$i" "chr$i"
		dio_read "/dev/mapper/chr$i" 4096 1
		[ $((i % 3)) -eq 0 ] || dmsetup remove "chr$i"
		[ $((i % 3)) -ne 0 ] || [ "$i" -le 3 ] || dmsetup remove "chr$((i - 3))"
	done
	kill -0 "$reader" || fail "the sysfs readers died"
	kill "$reader"
	wait "$reader" 2>/dev/null || true
	kill "$p1" "$p2"
	wait "$p1" "$p2" 2>/dev/null || true
	for i in $(seq 1 "$n"); do dmsetup remove "chr$i" >/dev/null 2>&1 || true; done
	local left
	left=$(ls /sys/kernel/dmp/devices | grep -v '^busy[12]$' || true)
	expect_eq "$left" "" "directories left behind"
	expect_eq "$(dmsetup ls | grep -c '^ch')" 0 "devices left behind"
	echo "    $n devices created, renamed and removed under I/O; $(cat /tmp/churn.reads) sysfs reads raced them"
}

# mem_kb FIELD: a /proc/meminfo field, after dropping what can be dropped
mem_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo
}

# Load, use and unload the module many times: nothing leaks and nothing is left behind.
stress_clean_churn() {
	local n i d
	n=$(scale 30)
	churn_once() {
		insmod "$TOP/dmp.ko"
		for d in 1 2 3 4; do
			dmsetup create "cc$d" --table "0 2048 dmp /dev/ram$d"
			dio_write "/dev/mapper/cc$d" 4096 4
			dio_read "/dev/mapper/cc$d" 4096 4
			cat "/sys/kernel/dmp/devices/cc$d/stat" >/dev/null
		done
		dmsetup rename cc1 cc1x
		for d in cc1x cc2 cc3 cc4; do dmsetup remove "$d"; done
		rmmod dmp
	}
	rmmod dmp
	# Warm up the caches the first cycles fill.
	churn_once
	churn_once
	local s0 p0 s1 p1
	s0=$(mem_kb SUnreclaim) p0=$(mem_kb Percpu)
	for i in $(seq 1 "$n"); do churn_once; done
	s1=$(mem_kb SUnreclaim) p1=$(mem_kb Percpu)
	[ ! -e /sys/kernel/dmp ] || fail "/sys/kernel/dmp is left after rmmod"
	[ ! -e /sys/module/dmp ] || fail "/sys/module/dmp is left after rmmod"
	expect_eq "$(dmsetup ls | grep -c '^cc')" 0 "devices left"
	# Each cycle makes 4 devices with their directories and per-CPU shards. A leak of one
	# small object per device would show as 120 objects; allow 256 KiB of slab noise.
	echo "    $n load/create/use/remove/unload cycles: unreclaimable slab ${s0} -> ${s1} KiB," \
		"per-CPU ${p0} -> ${p1} KiB"
	[ $((s1 - s0)) -lt 256 ] || fail "unreclaimable slab grew by $((s1 - s0)) KiB"
	[ $((p1 - p0)) -lt 64 ] || fail "per-CPU memory grew by $((p1 - p0)) KiB"
	insmod "$TOP/dmp.ko"
}

# The quick subset of the above, in `make test` and `make test-debug`.
test_faults_quick() {
	FAULTS_N=6 stress_flakey_faults
}

test_changes_under_io_quick() {
	CHANGE_ROUNDS=1 stress_changes_under_io
}
