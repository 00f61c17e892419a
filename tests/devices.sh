# SPDX-License-Identifier: GPL-2.0
# Per-device statistics, dmsetup status/table/message, IMA, resets.

STAT_FILES="read_reqs write_reqs total_reqs avg_read_size avg_write_size avg_size
read_bytes write_bytes flush_reqs discard_reqs discard_bytes write_zeroes_reqs
write_zeroes_bytes"

# Two devices over the same ramdisk count apart; the global files are their sum.
test_per_device_stats() {
	dmsetup create p1 --table "0 2048 dmp /dev/ram0"
	dmsetup create p2 --table "0 2048 dmp /dev/ram0 4096"
	echo 1 >/sys/kernel/dmp/reset
	dio_write /dev/mapper/p1 4096 3
	dio_read /dev/mapper/p1 8192 2
	dio_write /dev/mapper/p2 512 5
	local f
	for f in $STAT_FILES; do
		[ -f "/sys/kernel/dmp/devices/p1/$f" ] || fail "devices/p1/$f is missing"
		expect_eq "$(stat -c %a "/sys/kernel/dmp/devices/p1/$f")" 444 "mode of devices/p1/$f"
	done
	expect_eq "$(stat -c %a /sys/kernel/dmp/devices/p1/reset)" 200 "mode of devices/p1/reset"
	expect_eq "$(dmp_stat write_reqs p1)" 3 "p1 writes"
	expect_eq "$(dmp_stat read_reqs p1)" 2 "p1 reads"
	expect_eq "$(dmp_stat avg_read_size p1)" 8192 "p1 avg_read_size"
	expect_eq "$(dmp_stat avg_size p1)" $(((3 * 4096 + 2 * 8192) / 5)) "p1 avg_size"
	expect_eq "$(dmp_stat write_reqs p2)" 5 "p2 writes"
	expect_eq "$(dmp_stat read_reqs p2)" 0 "p2 reads"
	expect_eq "$(dmp_stat avg_write_size p2)" 512 "p2 avg_write_size"
	expect_eq "$(dmp_stat avg_read_size p2)" 0 "p2 avg_read_size"
	expect_eq "$(dmp_stat write_reqs)" 8 "global writes"
	expect_eq "$(dmp_stat write_bytes)" $((3 * 4096 + 5 * 512)) "global write_bytes"
	expect_eq "$(dmp_stat total_reqs)" 10 "global total_reqs"
	# Against the block layer's own count.
	expect_eq "$(dmp_stat write_reqs p1)" "$(dm_stat p1 5)" "p1 writes in /sys/block/dm-N/stat"
	expect_eq "$(dmp_stat write_reqs p2)" "$(dm_stat p2 5)" "p2 writes in /sys/block/dm-N/stat"
	dmsetup remove p1
	[ ! -e /sys/kernel/dmp/devices/p1 ] || fail "devices/p1 outlived dmsetup remove"
	[ -d /sys/kernel/dmp/devices/p2 ] || fail "devices/p2 went with p1"
	expect_eq "$(dmp_stat write_reqs)" 8 "global writes after a remove"
}

# A device named like a global file does not collide with it.
test_device_named_reset() {
	dmsetup create reset --table "0 2048 dmp /dev/ram0"
	dio_read /dev/mapper/reset 4096 1
	expect_eq "$(dmp_stat read_reqs reset)" 1 "devices/reset/read_reqs"
	expect_eq "$(stat -c %a /sys/kernel/dmp/reset)" 200 "global reset is untouched"
}

# Statistics belong to the mapped device: they survive suspend/resume and a reload.
test_stats_survive_reload() {
	dmsetup create r1 --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/r1 4096 4
	dmsetup suspend r1
	dmsetup resume r1
	expect_eq "$(dmp_stat write_reqs r1)" 4 "writes after suspend/resume"
	# A new table (another device, an offset) on the same mapped device.
	dmsetup reload r1 --table "0 4096 dmp /dev/ram2 2048"
	expect_eq "$(dmp_stat write_reqs r1)" 4 "writes with an inactive table loaded"
	dmsetup resume r1
	expect_eq "$(dmsetup table r1)" "0 4096 dmp 1:2 2048" "the new table is live"
	expect_eq "$(dmp_stat write_reqs r1)" 4 "writes after reload"
	dio_write /dev/mapper/r1 4096 1
	expect_eq "$(dmp_stat write_reqs r1)" 5 "writes keep counting"
	expect_eq "$(status_field r1 3)" 5 "status after reload"
	# A reload that fails changes nothing.
	expect_fail "bad reload" dmsetup reload r1 --table "0 4096 dmp /dev/ram2 x"
	expect_eq "$(dmp_stat write_reqs r1)" 5 "writes after a failed reload"
	# Replacing dmp by another target removes the directory; dmp again starts afresh.
	dmsetup reload r1 --table "0 4096 linear /dev/ram2 0"
	dmsetup resume r1
	[ ! -e /sys/kernel/dmp/devices/r1 ] || fail "devices/r1 outlived its last dmp table"
	dmsetup reload r1 --table "0 4096 dmp /dev/ram2"
	dmsetup resume r1
	expect_eq "$(dmp_stat write_reqs r1)" 0 "a new dmp table on a linear device"
}

# dmsetup rename: the directory follows on the next table load; its name file at once.
test_rename() {
	dmsetup create old --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/old 4096 2
	local minor
	minor=$(dm_minor old)
	dmsetup rename old new
	[ -d /sys/kernel/dmp/devices/old ] || fail "the directory moved before a table load"
	expect_eq "$(cat /sys/kernel/dmp/devices/old/name)" new "name file before the next load"
	dmsetup reload new --table "0 2048 dmp /dev/ram1"
	dmsetup resume new
	[ ! -e /sys/kernel/dmp/devices/old ] || fail "devices/old is still there"
	expect_eq "$(dmp_stat write_reqs new)" 2 "writes after rename and reload"
	expect_eq "$(cat /sys/kernel/dmp/devices/new/name)" new "name file"
	expect_eq "$(cat /sys/kernel/dmp/devices/new/dev)" "$(cat "/sys/block/dm-$minor/dev")" "dev file"
	expect_eq "$(cat /sys/kernel/dmp/devices/new/kname)" "dm-$minor" "kname file"
	expect_eq "$(stat -c %a /sys/kernel/dmp/devices/new/name)" 444 "mode of name"
}

# Each directory's name file names its device; every directory is its device's.
check_dirs() {
	local d n
	for d in /sys/kernel/dmp/devices/*/; do
		[ -e "$d/name" ] || continue
		n=$(cat "$d/name")
		expect_eq "$(cat "$d/dev")" "$(dmsetup info -c --noheadings -o major,minor --separator : "$n" | tr -d ' ')" "dev of $d ($n)"
	done
}

# Administrators' rename sequences that used to fail a later create or reload.
test_rename_sequences() {
	dmesg_mark
	# create A; rename A B; create A.
	dmsetup create ra --table "0 2048 dmp /dev/ram1"
	dmsetup rename ra rb
	dmsetup create ra --table "0 2048 dmp /dev/ram2"
	dio_write /dev/mapper/ra 4096 3
	expect_eq "$(dmp_stat write_reqs ra)" 3 "the new ra has its own directory"
	expect_eq "$(cat /sys/kernel/dmp/devices/ra/name)" ra "devices/ra is the new ra"
	check_dirs
	# With A and B: rename A C; rename B A; reload A.
	dmsetup remove rb
	dmsetup create rb --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/rb 4096 1
	dmsetup rename ra rc
	dmsetup rename rb ra
	dmsetup reload ra --table "0 2048 dmp /dev/ram1"
	dmsetup resume ra
	expect_eq "$(dmp_stat write_reqs ra)" 1 "ra (the old rb) kept its statistics"
	check_dirs
	dmsetup reload rc --table "0 2048 dmp /dev/ram2"
	dmsetup resume rc
	expect_eq "$(dmp_stat write_reqs rc)" 3 "rc (the old ra) kept its statistics"
	# Swap two names through a temporary one, then reload both (as lvextend would).
	dmsetup rename ra tmp
	dmsetup rename rc ra
	dmsetup rename tmp rc
	dmsetup reload ra --table "0 2048 dmp /dev/ram2"
	dmsetup resume ra
	dmsetup reload rc --table "0 2048 dmp /dev/ram1"
	dmsetup resume rc
	expect_eq "$(dmp_stat write_reqs ra)" 3 "ra after the swap"
	expect_eq "$(dmp_stat write_reqs rc)" 1 "rc after the swap"
	check_dirs
	# A device named like another's stable name.
	dmsetup create "dm-$(dm_minor ra)" --table "0 2048 dmp /dev/ram3"
	dmsetup rename ra other
	dmsetup create ra --table "0 2048 dmp /dev/ram3"
	check_dirs
	local n
	n=$(ls /sys/kernel/dmp/devices | wc -l)
	expect_eq "$n" "$(dmsetup ls --target dmp | wc -l)" "one directory per dmp device"
	# Nothing complained.
	if dmesg_since | grep -E 'sysfs: cannot create duplicate|WARNING|Call Trace'; then
		fail "kernel warnings during renames"
	fi
}

# Many creates, renames, reloads and removes: no failure, no kernel warning.
test_rename_churn() {
	dmesg_mark
	local i a b
	for i in $(seq 1 30); do
		a=c$((i % 4)) b=c$(((i + 1) % 4))
		dmsetup info "$a" >/dev/null 2>&1 || dmsetup create "$a" --table "0 2048 dmp /dev/ram$((i % 3))"
		if dmsetup info "$b" >/dev/null 2>&1; then
			dmsetup remove "$b"
		fi
		dmsetup rename "$a" "$b"
		dmsetup reload "$b" --table "0 2048 dmp /dev/ram$((i % 3))"
		dmsetup resume "$b"
		cat /sys/kernel/dmp/devices/*/name >/dev/null
	done
	check_dirs
	if dmesg_since | grep -E 'sysfs: cannot create duplicate|WARNING|Call Trace'; then
		fail "kernel warnings during churn"
	fi
}

# dmsetup status: nine positional counters; dmsetup table: the canonical major:minor and
# offset, as dm-linear prints them.
test_status_and_table() {
	local loop
	loop=$(loop_dev 16)
	dmsetup create s1 --table "0 $((16 * 2048 - 8)) dmp $loop 8"
	local mm
	mm=$(cat "/sys/block/${loop#/dev/}/dev")
	expect_eq "$(dmsetup table s1)" "0 $((16 * 2048 - 8)) dmp $mm 8" "table with an offset"
	dmsetup create s2 --table "0 2048 dmp /dev/ram1"
	expect_eq "$(dmsetup table s2)" "0 2048 dmp 1:1 0" "table without an offset"
	dmsetup create l2 --table "0 2048 linear /dev/ram1 0"
	expect_eq "$(dmsetup table s2 | cut -d' ' -f4-)" "$(dmsetup table l2 | cut -d' ' -f4-)" "the same form as dm-linear"
	# The table names the device that is open, not a path that may later name another:
	# after the underlying volume is renamed and a new one takes its name, a reload of
	# `dmsetup table` stays on the original (as dm-linear does).
	dmsetup create vol --table "0 2048 linear /dev/ram2 0"
	dmsetup create over --table "0 2048 dmp /dev/mapper/vol"
	dmsetup rename vol vol-old
	dmsetup create vol --table "0 2048 linear /dev/ram3 0"
	dmsetup reload over --table "$(dmsetup table over)"
	dmsetup resume over
	expect_eq "$(dmsetup deps -o devno over | sed 's/.*(\(.*\))/\1/' | tr -d ' ')" \
		"$(dmsetup info -c --noheadings -o major,minor --separator , vol-old | tr -d ' ')" \
		"dmp stays on the renamed volume"
	# dmsetup table | dmsetup load reproduces the table.
	dmsetup table s1 | dmsetup load s2
	dmsetup resume s2
	expect_eq "$(dmsetup table s2)" "$(dmsetup table s1)" "a reloaded table"
	local lstat="/sys/block/${loop#/dev/}/stat" fl0
	fl0=$(awk '{ print $16 }' "$lstat")
	dio_read /dev/mapper/s1 4096 3
	dio_write /dev/mapper/s1 8192 2
	dd if=/dev/zero of=/dev/mapper/s1 bs=4k count=1 oflag=direct conv=fsync,notrunc status=none
	blkdiscard -o 1M -l 1M /dev/mapper/s1
	blkdiscard -z -o 4M -l 2M /dev/mapper/s1
	local st
	st=$(dmsetup status s1)
	set -- $st
	expect_eq "$#" 12 "status field count: $st"
	expect_eq "$1 $2 $3" "0 $((16 * 2048 - 8)) dmp" "status prefix"
	shift 3
	expect_eq "$1" "$(dmp_stat read_reqs s1)" "status 1 (read requests)"
	expect_eq "$2" "$(dmp_stat read_bytes s1)" "status 2 (read bytes)"
	expect_eq "$3" 3 "status 3 (write requests)"
	expect_eq "$4" $((2 * 8192 + 4096)) "status 4 (write bytes)"
	expect_eq "$5" "$(($(awk '{ print $16 }' "$lstat") - fl0))" "status 5 (flush requests) against $lstat"
	expect_eq "$5" "$(dmp_stat flush_reqs s1)" "status 5 (flush requests)"
	expect_eq "$6" "$(dmp_stat discard_reqs s1)" "status 6 (discard requests)"
	expect_eq "$7" $((1 << 20)) "status 7 (discard bytes)"
	expect_eq "$8" "$(dmp_stat write_zeroes_reqs s1)" "status 8 (write-zeroes requests)"
	expect_eq "$9" $((2 << 20)) "status 9 (write-zeroes bytes)"
	[ "$1" -ge 3 ] && [ "$5" -ge 1 ] && [ "$6" -ge 1 ] && [ "$8" -ge 1 ] || fail "counts too small: $st"
}

# IMA measures the table as dm-linear's: device_name is major:minor, start the offset.
test_ima_measurement() {
	local m=/sys/kernel/security/ima/ascii_runtime_measurements
	[ -r "$m" ] || { echo "    no IMA measurements list" >&2; return 77; }
	dmsetup create ima1 --table "0 2048 dmp /dev/ram1 16"
	local want="target_name=dmp,target_version=1.2.0,device_name=1:1,start=16;"
	python3 -c '
import sys
want = sys.argv[2]
for line in open(sys.argv[1]):
    if "dm_table_load" in line and want in bytes.fromhex(line.split()[-1]).decode(errors="replace"):
        sys.exit(0)
sys.exit(1)' "$m" "$want" || fail "no IMA measurement with '$want'"
}

test_message_reset() {
	dmsetup create m1 --table "0 2048 dmp /dev/ram1"
	dmsetup create m2 --table "0 2048 dmp /dev/ram2"
	dio_write /dev/mapper/m1 4096 2
	dio_write /dev/mapper/m2 4096 3
	local g
	g=$(dmp_stat write_reqs)
	dmsetup message m1 0 reset
	local f
	for f in $STAT_FILES; do expect_eq "$(dmp_stat "$f" m1)" 0 "m1 $f after reset"; done
	expect_eq "$(status_field m1 3)" 0 "m1 status after reset"
	expect_eq "$(dmp_stat write_reqs m2)" 3 "m2 untouched"
	expect_eq "$(dmp_stat write_reqs)" "$g" "global untouched"
	dio_read /dev/mapper/m1 4096 1
	expect_eq "$(dmp_stat read_reqs m1)" 1 "m1 counts again"
	# The per-device reset file does the same.
	echo 1 >/sys/kernel/dmp/devices/m2/reset
	expect_eq "$(dmp_stat write_reqs m2)" 0 "m2 after devices/m2/reset"
}

test_bad_messages() {
	dmsetup create m1 --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/m1 4096 2
	dmesg_mark
	expect_fail "unknown message" dmsetup message m1 0 frobnicate
	dmesg_since | grep -qF 'm1: unknown message; the only message is "reset"' || fail "no reason logged"
	dmesg_mark
	expect_fail "reset with an argument" dmsetup message m1 0 reset now
	dmesg_since | grep -qF "m1: the reset message takes no arguments" || fail "no reason logged"
	expect_eq "$(dmp_stat write_reqs m1)" 2 "bad messages changed nothing"
}

test_sysfs_reset() {
	dmsetup create g1 --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/g1 4096 2
	local bad
	for bad in 0 2 11 abc " 1" "1 "; do
		expect_fail "writing '$bad' to reset" sh -c "printf '%s' '$bad' >/sys/kernel/dmp/reset"
	done
	[ "$(dmp_stat write_reqs)" -ge 2 ] || fail "bad writes reset the statistics"
	expect_fail "reading reset" cat /sys/kernel/dmp/reset
	expect_fail "writing a statistics file" sh -c 'echo 1 >/sys/kernel/dmp/read_reqs'
	echo 1 >/sys/kernel/dmp/reset
	local f
	for f in $STAT_FILES; do expect_eq "$(dmp_stat "$f")" 0 "global $f after reset"; done
	expect_eq "$(dmp_stat write_reqs g1)" 2 "device statistics untouched"
	printf 1 >/sys/kernel/dmp/reset || fail "'1' without a newline"
	# Monitoring agents need no root.
	su -s /bin/sh nobody -c 'cat /sys/kernel/dmp/read_reqs /sys/kernel/dmp/devices/g1/avg_size' >/dev/null ||
		fail "statistics not readable by nobody"
	expect_fail "reset by nobody" su -s /bin/sh nobody -c 'echo 1 >/sys/kernel/dmp/reset'
}

# Under load, resets and reads: every average a reader sees is exact. All I/O is 4 KiB,
# so each average is 0 (no requests) or 4096.
test_reset_consistency() {
	dmsetup create c1 --table "0 $RAMDISK_SECTORS dmp /dev/ram4"
	fio --name=load --filename=/dev/mapper/c1 --rw=randrw --bs=4k --direct=1 \
		--ioengine=psync --numjobs=2 --time_based --runtime=120 --group_reporting \
		--eta=never --output=/tmp/fio.log &
	local pid=$! bad=0 seen=0 exact=0 v end=$((SECONDS + 5))
	sleep 1
	# At least 5 s and 200 averages (a slow kernel takes longer), while fio runs.
	while kill -0 "$pid" 2>/dev/null && { [ "$SECONDS" -lt "$end" ] || [ "$seen" -lt 200 ]; }; do
		echo 1 >/sys/kernel/dmp/reset
		dmsetup message c1 0 reset
		for v in $(cat /sys/kernel/dmp/avg_read_size /sys/kernel/dmp/avg_write_size \
			/sys/kernel/dmp/avg_size /sys/kernel/dmp/devices/c1/avg_size); do
			seen=$((seen + 1))
			case $v in 0) ;; 4096) exact=$((exact + 1)) ;; *) bad=$((bad + 1)); echo "    average $v" >&2 ;; esac
		done
	done
	kill -0 "$pid" 2>/dev/null || fail "fio ended early"
	kill -INT "$pid"
	wait "$pid" || true
	expect_eq "$bad" 0 "inexact averages out of $seen"
	[ "$seen" -ge 200 ] || fail "only $seen averages read"
	[ "$exact" -ge 10 ] || fail "only $exact averages of 4096 seen: no I/O counted?"
}

# Reading statistics while devices come and go is safe.
test_read_while_removing() {
	local i end=$((SECONDS + 5))
	(
		while [ "$SECONDS" -lt "$end" ]; do
			cat /sys/kernel/dmp/devices/*/* >/dev/null 2>&1 || true
		done
	) &
	local reader=$!
	for i in $(seq 1 30); do
		dmsetup create "rm$i" --table "0 2048 dmp /dev/ram1"
		dio_read "/dev/mapper/rm$i" 4096 1
		dmsetup remove "rm$i"
	done
	wait "$reader"
	expect_eq "$(ls /sys/kernel/dmp/devices | wc -l)" 0 "directories left"
}

# A writer cannot be preempted halfway through a counter update: many writers on one vCPU
# while a real-time reader on that vCPU polls the statistics with short sleeps (each wake-up
# preempts whichever writer runs). A reader that waited for a preempted writer would spin
# until real-time throttling let the writer run (up to 0.95 s); every read must be quick,
# and the counts exact.
test_preempted_writer() {
	dmsetup create p1 --table "0 $RAMDISK_SECTORS dmp /dev/ram3"
	local f=/sys/kernel/dmp/devices/p1/write_reqs
	fio --name=w --filename=/dev/mapper/p1 --direct=1 --rw=randwrite --bs=4k --numjobs=6 \
		--cpus_allowed=0 --ioengine=psync --time_based --runtime=8 --group_reporting \
		--output-format=json --output=/tmp/fio.json --eta=never &
	local fio_pid=$!
	sleep 1
	python3 - "$f" <<'PY' || fail "the real-time reader was held up"
import os, sys, time
os.sched_setaffinity(0, {0})
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
worst, n, last, end = 0.0, 0, 0, time.monotonic() + 5
while time.monotonic() < end:
    t = time.monotonic()
    with open(sys.argv[1]) as f:
        v = int(f.read())
    worst = max(worst, time.monotonic() - t)
    assert v >= last, f"write_reqs went backwards: {last} -> {v}"
    last, n = v, n + 1
    time.sleep(0.0005)
print(f"    {n} real-time reads on vCPU 0, the slowest {worst * 1000:.1f} ms")
sys.exit(0 if worst < 0.25 else 1)
PY
	wait "$fio_pid" || fail "fio failed"
	local issued
	issued=$(python3 -c 'import json; print(json.load(open("/tmp/fio.json"))["jobs"][0]["write"]["total_ios"])')
	expect_eq "$(cat "$f")" "$issued" "write_reqs against fio's count"
	expect_eq "$(dmp_stat write_bytes p1)" "$((issued * 4096))" "write_bytes"
}
