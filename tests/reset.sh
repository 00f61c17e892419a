# SPDX-License-Identifier: GPL-2.0
# Resets: the sysfs reset files, consistent averages under resets, a preempted writer.

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
