# SPDX-License-Identifier: GPL-2.0
# Stress: load. Data integrity under verification, exact counters under concurrency, CPUs
# going away. STRESS_SCALE multiplies sizes and times (default 1).

# Data written through dmp reads back intact: fio's crc32c verification, while writing
# (verify_backlog) and in a final read-back pass, random and sequential, 4 KiB to 1 MiB,
# with more jobs than vCPUs, mixed with readers; on a ramdisk and on a loop device.
verify_on() {
	local dev=$1 what=$2 size_mb=$3
	local per=$((size_mb / 4))
	fio --output-format=json --output=/tmp/verify.json --eta=never \
		--filename="$dev" --direct=1 --ioengine=libaio --verify=crc32c --verify_fatal=1 --verify_state_save=0 \
		--verify_backlog=32 --do_verify=1 \
		--name=rand --rw=randwrite --bsrange=4k-1m --blockalign=4k --iodepth=8 --numjobs=2 \
		--size="${per}M" --offset_increment="${per}M" \
		--name=seq --rw=write --bs=128k --iodepth=4 --numjobs=2 \
		--size="${per}M" --offset=$((2 * per))M --offset_increment="${per}M" \
		--name=readers --rw=randread --bs=4k --iodepth=16 --numjobs=2 --verify=0 \
		--size="$((size_mb))M" --time_based --runtime="$(scale 6)" >/dev/null ||
		{ fio_json /tmp/verify.json 'j.get("jobs")' >&2; fail "fio verification failed on $what"; }
	local writes errs
	writes=$(fio_json /tmp/verify.json 'sum(x["write"]["total_ios"] for x in j["jobs"])')
	errs=$(fio_json /tmp/verify.json 'sum(x["error"] for x in j["jobs"])')
	expect_eq "$errs" 0 "fio errors on $what"
	echo "    $what: $writes writes verified (crc32c, backlog and read-back), 0 mismatches"
}

stress_fio_verify() {
	dmsetup create v1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	verify_on /dev/mapper/v1 "dmp on brd" "$RAMDISK_MB"
	local loop
	loop=$(loop_dev 48)
	dmsetup create v2 --table "0 $((48 * 2048)) dmp $loop"
	verify_on /dev/mapper/v2 "dmp on loop" 48
}

# poll_stats DEV SECONDS MIN MAX: read DEV's stat snapshot repeatedly; counters never go
# backwards, in-flight stays sane, averages stay within [MIN, MAX]. Prints the number of
# snapshots read.
poll_stats() {
	python3 - "/sys/kernel/dmp/devices/$1/stat" "$2" "$3" "$4" <<'PY'
import sys, time
path, secs, lo, hi = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
prev, n, end = None, 0, time.monotonic() + secs
while time.monotonic() < end:
    v = [int(x) for x in open(path).read().split()]
    n += 1
    if prev:
        for i in range(27):
            assert v[i] >= prev[i], f"field {i + 1} went backwards: {prev[i]} -> {v[i]}"
    assert len(v) == 28 and v[27] < 1 << 20, f"in_flight {v[27]}"
    for c in (0, 1):
        reqs, nbytes = v[5 * c], v[5 * c + 1]
        if reqs:
            assert lo <= nbytes // reqs <= hi, f"average {nbytes // reqs} outside [{lo}, {hi}]"
    prev = v
print(n)
PY
}

# After fio runs a known number of O_DIRECT I/Os, every counter equals fio's counts and
# the block layer's; while it runs, a reader never sees the snapshot go wrong.
stress_counters_exact() {
	dmsetup create e1 --table "0 $RAMDISK_SECTORS dmp /dev/ram2"
	echo 1 >/sys/kernel/dmp/devices/e1/reset
	local r0 w0
	r0=$(dm_stat e1 1) w0=$(dm_stat e1 5)
	fio --output-format=json --output=/tmp/exact.json --eta=never --filename=/dev/mapper/e1 \
		--direct=1 --ioengine=libaio --iodepth=8 --name=mix --rw=randrw --rwmixread=60 \
		--bsrange=4k-64k --blockalign=4k --numjobs=4 --size="$RAMDISK_MB"M \
		--io_size="$(scale 48)M" --group_reporting &
	local pid=$! polls
	polls=$(poll_stats e1 4 4096 65536) || fail "the snapshot went wrong while fio ran"
	wait "$pid" || fail "fio failed"
	local reads writes rbytes wbytes
	reads=$(fio_json /tmp/exact.json 'j["jobs"][0]["read"]["total_ios"]')
	writes=$(fio_json /tmp/exact.json 'j["jobs"][0]["write"]["total_ios"]')
	rbytes=$(fio_json /tmp/exact.json 'j["jobs"][0]["read"]["io_bytes"]')
	wbytes=$(fio_json /tmp/exact.json 'j["jobs"][0]["write"]["io_bytes"]')
	set -- $(cat /sys/kernel/dmp/devices/e1/stat)
	expect_eq "$1 $2" "$reads $rbytes" "reads: requests, bytes"
	expect_eq "$6 $7" "$writes $wbytes" "writes: requests, bytes"
	expect_eq "$3 $4 $8 $9 ${28}" "0 0 0 0 0" "errors and in-flight"
	expect_eq "$(awk '$1 == "read" { print $2, $NF }' /sys/kernel/dmp/devices/e1/latency_histogram)" \
		"$reads $reads" "read latency histogram"
	expect_eq "$(awk '$1 == "write" { print $2, $3, $NF }' /sys/kernel/dmp/devices/e1/size_histogram)" \
		"$writes $wbytes $writes" "write size histogram"
	expect_eq "$(($(dm_stat e1 1) - r0)) $(($(dm_stat e1 5) - w0))" "$reads $writes" "/sys/block/dm-N/stat"
	echo "    $reads reads and $writes writes exact; $polls snapshots checked while fio ran"
}

# vCPUs go offline and online while I/O runs: no I/O lost, counters exact afterwards.
stress_cpu_hotplug() {
	local cpu=/sys/devices/system/cpu/cpu1/online
	[ -w "$cpu" ] || { skip "no hot-pluggable vCPU 1"; return 77; }
	dmsetup create h1 --table "0 $RAMDISK_SECTORS dmp /dev/ram3"
	fio --output-format=json --output=/tmp/hotplug.json --eta=never --filename=/dev/mapper/h1 \
		--direct=1 --ioengine=libaio --iodepth=8 --name=hp --rw=randrw --bs=4k --numjobs=3 \
		--size="$RAMDISK_MB"M --io_size="$(scale 32)M" --group_reporting &
	local pid=$! i flips=0
	while kill -0 "$pid" 2>/dev/null; do
		echo 0 >"$cpu" && flips=$((flips + 1))
		sleep 0.3
		echo 1 >"$cpu"
		sleep 0.3
	done
	echo 1 >"$cpu"
	wait "$pid" || fail "fio failed across CPU hotplug"
	local reads writes
	reads=$(fio_json /tmp/hotplug.json 'j["jobs"][0]["read"]["total_ios"]')
	writes=$(fio_json /tmp/hotplug.json 'j["jobs"][0]["write"]["total_ios"]')
	set -- $(cat /sys/kernel/dmp/devices/h1/stat)
	expect_eq "$1 $6 ${28}" "$reads $writes 0" "counters after hotplug"
	[ "$flips" -ge 2 ] || fail "vCPU 1 went offline only $flips times"
	echo "    vCPU 1 offline $flips times during $reads reads and $writes writes"
}
