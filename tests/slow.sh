# SPDX-License-Identifier: GPL-2.0
# The record of slow and failed requests (slow_threshold_us, slow_requests, slow_reqs, the
# slow_threshold message), the trace events, and `dmpstat slow`.

# slow_lines DEV: the records of devices/DEV/slow_requests, one line each
slow_lines() { cat "/sys/kernel/dmp/devices/$1/slow_requests"; }

# check_records DEV EXPR: every record of DEV satisfies the Python expression EXPR over
# its fields (time op flags sector dev_sector bytes latency_ns error in_flight cpu seq, the
# numbers as ints, flags as a list), and prints how many there are.
check_records() {
	slow_lines "$1" | python3 -c '
import sys
expr = sys.argv[1]
n = 0
for ln in sys.stdin:
    f = ln.split()
    if len(f) != 11:
        sys.exit(f"a record with {len(f)} fields: {ln!r}")
    time, op, flags = f[0], f[1], [] if f[2] == "-" else f[2].split(",")
    sector, dev_sector, bytes, latency_ns, error, in_flight, cpu, seq = map(int, f[3:])
    if not eval(expr):
        sys.exit(f"a record is not {expr}: {ln!r}")
    n += 1
print(n)' "$2"
}

# A dm-delay device over /dev/ram1 whose reads take 50 ms and whose writes take none.
delay_dev() {
	dmsetup create "$1" --table "0 $RAMDISK_SECTORS delay /dev/ram1 0 50 /dev/ram1 0 0"
}

# A threshold between dm-delay's slow reads and its fast writes records exactly the
# reads, with their sectors on both devices and their sizes; set by message and by sysfs,
# and bad values refused without a change.
test_slow_reads_recorded_exactly() {
	delay_dev dl
	local off=2048 d=/sys/kernel/dmp/devices/p
	dmsetup create p --table "0 $((RAMDISK_SECTORS - off)) dmp /dev/mapper/dl $off"
	expect_eq "$(cat $d/slow_threshold_us)" 0 "threshold at first"
	# Off: nothing is slow.
	dio_read /dev/mapper/p 4096 2
	expect_eq "$(slow_lines p | wc -l) $(dmp_stat slow_reqs p)" "0 0" "records with the threshold off"
	dmsetup message p 0 slow_threshold 20000
	expect_eq "$(cat $d/slow_threshold_us)" 20000 "threshold set by message"
	local i
	for i in 0 1 2 3 4; do dio_read /dev/mapper/p 4096 1 $((i * 7)); done
	dio_read /dev/mapper/p 65536 1 3
	for i in 0 1 2 3 4 5 6 7 8 9; do dio_write /dev/mapper/p 4096 1 $((100 + i)); done
	expect_eq "$(check_records p 'op == "read" and error == 0 and latency_ns >= 20_000_000 and dev_sector == sector + 2048')" 6 "delayed reads recorded"
	expect_eq "$(slow_lines p | awk '{ printf "%s:%s ", $4, $6 }')" \
		"0:4096 56:4096 112:4096 168:4096 224:4096 384:65536 " "sectors and sizes, oldest first"
	expect_eq "$(dmp_stat slow_reqs p) $(stat_of p 34)" "6 6" "slow_reqs and stat field 34"
	expect_eq "$(stat_of p 1) $(stat_of p 6)" "8 10" "reads and writes counted"
	# Set through sysfs; refused values change nothing.
	echo 0 >$d/slow_threshold_us
	dio_read /dev/mapper/p 4096 1
	expect_eq "$(slow_lines p | wc -l)" 6 "records after the threshold was turned off"
	echo 30000 >$d/slow_threshold_us
	local bad
	dmesg_mark
	# "--": dmsetup's own options end, so that "-1" reaches the target.
	for bad in -1 abc 1x 1.5 99999999999999999999 18446744073709552; do
		expect_fail "threshold '$bad' by sysfs" sh -c "printf '%s' '$bad' >$d/slow_threshold_us"
		expect_fail "threshold '$bad' by message" dmsetup message -- p 0 slow_threshold "$bad"
	done
	expect_eq "$(dmesg_since | grep -c 'p: slow_threshold takes microseconds')" 6 \
		"the kernel's reasons for bad thresholds"
	expect_fail "slow_threshold without a value" dmsetup message p 0 slow_threshold
	expect_fail "slow_threshold with two values" dmsetup message p 0 slow_threshold 1 2
	expect_eq "$(dmesg_since | grep -c 'p: the slow_threshold message takes one argument')" 2 \
		"the kernel's reasons for a wrong number of values"
	expect_eq "$(cat $d/slow_threshold_us)" 30000 "threshold after refused values"
	# The threshold survives a table reload; a reset clears the record, not the threshold.
	dmsetup reload p --table "0 $((RAMDISK_SECTORS - off)) dmp /dev/mapper/dl $off"
	dmsetup resume p
	expect_eq "$(cat $d/slow_threshold_us) $(slow_lines p | wc -l)" "30000 6" "after a reload"
	dmsetup message p 0 reset
	expect_eq "$(slow_lines p | wc -l) $(dmp_stat slow_reqs p)" "0 0" "after a reset"
	expect_eq "$(cat $d/slow_threshold_us)" 30000 "threshold after a reset"
	dio_read /dev/mapper/p 4096 1 9
	expect_eq "$(check_records p 'sector == 72')" 1 "a record after the reset"
	# Root's only.
	expect_eq "$(stat -c %a $d/slow_requests)" 400 "slow_requests mode"
	expect_fail "slow_requests read by nobody" setpriv --reuid=65534 --regid=65534 --clear-groups cat $d/slow_requests
}

# Every failed request is recorded with its error, the threshold off: dm-error refuses
# everything, dm-flakey's error_writes only writes.
test_failed_requests_recorded() {
	dmsetup create e --table "0 8192 error"
	dmsetup create pe --table "0 8192 dmp /dev/mapper/e"
	local i
	for i in 0 1 2; do dio_read /dev/mapper/pe 4096 1 "$i" 2>/dev/null && fail "a read of dm-error succeeded"; done
	for i in 0 1; do dio_write /dev/mapper/pe 512 1 "$i" 2>/dev/null && fail "a write of dm-error succeeded"; done
	expect_eq "$(check_records pe 'error == 5')" 5 "dm-error: records with EIO"
	expect_eq "$(slow_lines pe | awk '{ printf "%s:%s:%s ", $2, $4, $6 }')" \
		"read:0:4096 read:8:4096 read:16:4096 write:0:512 write:1:512 " "dm-error: the failed requests"
	flakey_dev f error_writes
	dmsetup create pf --table "0 $RAMDISK_SECTORS dmp /dev/mapper/f"
	dio_read /dev/mapper/pf 4096 4
	for i in 0 1 2; do dio_write /dev/mapper/pf 4096 1 "$i" 2>/dev/null && fail "a write of dm-flakey succeeded"; done
	expect_eq "$(check_records pf 'op == "write" and error == 5 and bytes == 4096')" 3 "dm-flakey: failed writes"
	expect_eq "$(dmp_stat slow_reqs pf) $(stat_of pf 8)" "3 3" "dm-flakey: slow_reqs and write errors"
}

# With every request slow, the ring keeps the newest of each CPU and slow_reqs counts all.
# dm-delay holds each write for 5 ms (at least one whole jiffy), above the 1 ms threshold.
test_slow_ring_keeps_the_newest() {
	dmsetup create dl --table "0 $RAMDISK_SECTORS delay /dev/ram1 0 0 /dev/ram1 0 5"
	dmsetup create p --table "0 $RAMDISK_SECTORS dmp /dev/mapper/dl"
	# 1024 us: a bound of the latency histogram, whose buckets tell how many are slower.
	echo 1024 >/sys/kernel/dmp/devices/p/slow_threshold_us
	dd if=/dev/zero of=/dev/mapper/p bs=4096 count=600 oflag=direct status=none
	local slower
	slower=$(awk '$1 == "le_ns" { for (i = 2; i <= NF; i++) if ($i == 1024000) b = i + 2 }
		$1 == "write" { print $2 - $b }' /sys/kernel/dmp/devices/p/latency_histogram)
	expect_eq "$(dmp_stat slow_reqs p)" "$slower" "slow_reqs: the writes above 1024 us by the histogram"
	[ "$slower" -ge 590 ] || fail "only $slower of 600 writes held 5 ms by dm-delay took 1 ms"
	slow_lines p | python3 -c '
import sys
recs = [ln.split() for ln in sys.stdin]
by_cpu = {}
for r in recs:
    by_cpu.setdefault(int(r[9]), []).append(int(r[10]))
total = 0
for cpu, seqs in by_cpu.items():
    seqs.sort()
    # Each CPU keeps its newest 256 (or all it has), numbered without a gap.
    if seqs != list(range(seqs[-1] - len(seqs) + 1, seqs[-1] + 1)) or len(seqs) > 256:
        sys.exit(f"cpu {cpu}: kept {len(seqs)} records, {seqs[0]}..{seqs[-1]}")
    if len(seqs) < 256 and seqs[0] != 0:
        sys.exit(f"cpu {cpu}: lost records without overflowing")
sectors = [int(r[3]) for r in recs]
# The newest request is kept, and the file is oldest first.
if max(sectors) != 599 * 8 or sectors[-1] != 599 * 8:
    sys.exit(f"newest sector {max(sectors)}, last {sectors[-1]}")
times = [r[0] for r in recs]
if times != sorted(times, key=lambda t: (int(t.split(".")[0]), t.split(".")[1])):
    sys.exit("not oldest first")
if not 256 <= len(recs) <= 256 * len(by_cpu):
    sys.exit(f"{len(recs)} records kept")
print(len(recs), "kept")' || fail "the ring"
	echo 1 >/sys/kernel/dmp/devices/p/reset
	expect_eq "$(slow_lines p | wc -l) $(dmp_stat slow_reqs p)" "0 0" "after a reset"
}

# Concurrent fio from every vCPU on two devices, every request slow, while readers poll:
# every record is whole and of its own device (its sectors match its device's offset).
test_slow_records_whole_under_load() {
	command -v fio >/dev/null || skip "fio is not installed"
	dmsetup create pa --table "0 65536 dmp /dev/ram1 0"
	dmsetup create pb --table "0 65536 dmp /dev/ram1 65536"
	echo 1 >/sys/kernel/dmp/devices/pa/slow_threshold_us
	echo 1 >/sys/kernel/dmp/devices/pb/slow_threshold_us
	local n
	n=$(nproc)
	fio --name=a --filename=/dev/mapper/pa --rw=randrw --bs=4k --direct=1 --numjobs="$n" \
		--time_based --runtime=4 --ioengine=psync --group_reporting >/dev/null &
	fio --name=b --filename=/dev/mapper/pb --rw=randrw --bs=512 --direct=1 --numjobs="$n" \
		--time_based --runtime=4 --ioengine=psync --group_reporting >/dev/null &
	# One reader process polls both files while fio runs.
	local reads
	reads=$(python3 - "$n" <<'EOF2'
import sys, time
ncpu = int(sys.argv[1])
def ok(dev, bs, off, ln):
    f = ln.split()
    if len(f) != 11:
        return False
    op, sector, dev_sector, size, lat, err, inf, cpu = f[1], *map(int, f[3:10])
    return (op in ("read", "write") and size == bs and dev_sector == sector + off
            and sector % (bs // 512) == 0 and sector < 65536 and err == 0 and lat > 0
            and 0 <= cpu < ncpu and inf >= 1)
reads, end = 0, time.monotonic() + 4
while time.monotonic() < end:
    for dev, bs, off in (("pa", 4096, 0), ("pb", 512, 65536)):
        with open(f"/sys/kernel/dmp/devices/{dev}/slow_requests") as f:
            lines = f.read().splitlines()
        bad = [ln for ln in lines if not ok(dev, bs, off, ln)]
        if bad:
            sys.exit(f"{dev}: a torn or foreign record: {bad[0]!r}")
    reads += 1
print(reads)
EOF2
	) || fail "the records under load"
	wait
	[ "$reads" -ge 5 ] || fail "only $reads reads of the records"
	local kept slow total
	kept=$(check_records pa 'True') slow=$(dmp_stat slow_reqs pa) total=$(dmp_stat total_reqs pa)
	[ "$kept" -ge 256 ] && [ "$slow" -ge "$kept" ] && [ "$slow" -le "$total" ] ||
		fail "pa: $kept records kept, slow_reqs $slow, total_reqs $total"
	echo "$reads consistent reads of both devices' records; pa: $kept kept, $slow of $total requests recorded"
}

# The trace events through tracefs: one dmp_request_complete per request, one
# dmp_slow_request per record, with the right fields.
test_trace_events() {
	local t=/sys/kernel/tracing
	[ -d $t/events ] || mount -t tracefs nodev $t 2>/dev/null || skip "no tracefs"
	[ -d $t/events/dmp ] || fail "no events/dmp in tracefs"
	delay_dev dl
	dmsetup create p --table "0 $RAMDISK_SECTORS dmp /dev/mapper/dl"
	dmsetup message p 0 slow_threshold 20000
	local dm
	dm=dm-$(dm_minor p)
	echo 0 >$t/tracing_on
	echo >$t/trace
	echo 1 >$t/events/dmp/dmp_request_complete/enable
	echo 1 >$t/events/dmp/dmp_slow_request/enable
	echo 1 >$t/tracing_on
	local i
	for i in 0 1 2 3; do dio_read /dev/mapper/p 4096 1 "$i"; done
	for i in 0 1 2; do dio_write /dev/mapper/p 8192 1 "$((10 + i))"; done
	echo 0 >$t/tracing_on
	echo 0 >$t/events/dmp/enable
	local trace
	trace=$(grep -v '^#' $t/trace)
	expect_eq "$(grep -c "dmp_request_complete: device=$dm " <<<"$trace")" 7 "request events"
	expect_eq "$(grep -c "dmp_request_complete: device=$dm op=read flags=[A-Z,]* sector=[0-9]* bytes=4096 latency_ns=[0-9]* error=0" <<<"$trace")" 4 "read events"
	expect_eq "$(grep -oE "dmp_request_complete: device=$dm op=write .*sector=[0-9]+ bytes=8192 .*error=0" <<<"$trace" | grep -oE ' sector=[0-9]+' | tr '\n' ' ')" \
		" sector=160  sector=176  sector=192 " "write events' sectors"
	expect_eq "$(grep -oE "dmp_slow_request: device=$dm op=read flags=[A-Z,]* sector=[0-9]+ dev_sector=[0-9]+ bytes=4096 latency_ns=[0-9]{8,} error=0 in_flight=1" <<<"$trace" | grep -oE ' sector=[0-9]+ dev_sector=[0-9]+' | tr '\n' ' ')" \
		" sector=0 dev_sector=0  sector=8 dev_sector=8  sector=16 dev_sector=16  sector=24 dev_sector=24 " "slow events"
	expect_eq "$(stat_of p 1) $(stat_of p 6) $(dmp_stat slow_reqs p)" "4 3 4" "what dmp counted"
	echo >$t/trace
}

# `dmpstat slow`: the records, as text and JSON; --follow prints each new record once.
test_dmpstat_slow() {
	delay_dev dl
	dmsetup create p --table "0 $RAMDISK_SECTORS dmp /dev/mapper/dl"
	dmsetup message p 0 slow_threshold 10000
	dio_read /dev/mapper/p 4096 1 5
	local out
	out=$(tools/dmpstat slow p)
	slow_lines p
	echo "$out"
	expect_eq "$(wc -l <<<"$out")" 2 "dmpstat slow: a header and one record"
	[[ $(tail -n 1 <<<"$out") =~ \ p\ +read\ +[A-Z,-]+\ +40\ +40\ +4096\ +([0-9]+)\.[0-9]{3}\ +0\  ]] &&
		[ "${BASH_REMATCH[1]}" -ge 50 ] || fail "dmpstat slow: the record line"
	tools/dmpstat slow --json p | python3 -c '
import json, sys
rs = [json.loads(ln) for ln in sys.stdin]
assert len(rs) == 1, rs
r = rs[0]
assert (r["device"], r["op"], r["sector"], r["dev_sector"], r["bytes"], r["error"]) == ("p", "read", 40, 40, 4096, 0), r
assert r["latency_ns"] >= 50_000_000 and r["in_flight"] >= 1 and r["cpu"] >= 0 and isinstance(r["flags"], list), r
import time; assert abs(r["time"] - time.time()) < 60, r' || fail "dmpstat slow --json"
	tools/dmpstat slow --follow --json p >/tmp/follow.json &
	local pid=$! i
	# Under emulation Python takes a while to start: wait for the first record.
	for i in $(seq 100); do [ -s /tmp/follow.json ] && break; sleep 0.2; done
	for i in 1 2 3; do dio_read /dev/mapper/p 4096 1 "$((100 + i))"; done
	for i in $(seq 100); do [ "$(wc -l </tmp/follow.json)" -ge 4 ] && break; sleep 0.2; done
	sleep 1
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	expect_eq "$(python3 -c 'import json, sys; print(" ".join(str(json.loads(l)["sector"]) for l in open(sys.argv[1])))' /tmp/follow.json)" \
		"40 808 816 824" "dmpstat slow --follow: each record once"
	setpriv --reuid=65534 --regid=65534 --clear-groups tools/dmpstat slow p 2>/tmp/err && fail "dmpstat slow as nobody succeeded"
	grep -q "root only" /tmp/err || fail "dmpstat slow as nobody: $(cat /tmp/err)"
}
