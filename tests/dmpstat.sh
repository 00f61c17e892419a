# SPDX-License-Identifier: GPL-2.0
# dmpstat, the viewer: its unit tests, and its reports against known I/O.

# wait_for_report FILE N: until dmpstat has written N reports to FILE (at most 30 s).
wait_for_report() {
	local i
	for i in $(seq 150); do
		[ "$(grep -c '^device ' "$1" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.2
	done
	fail "no dmpstat report in $1"
}

test_dmpstat_unit_tests() {
	python3 -m unittest discover -s tools -p 'test_*.py' 2>&1 | tail -n 3 | sed 's/^/    /'
	python3 -m unittest discover -s tools -p 'test_*.py' >/dev/null 2>&1
}

# dmpstat against known I/O: exact request counts over an interval, rates, labels, a
# device removed while it runs, and Prometheus output.
test_dmpstat() {
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram3"
	dmsetup create d2 --table "0 2048 dmp /dev/ram4"
	local minor
	minor=$(dm_minor d1)
	tools/dmpstat d1 10 2 >/tmp/dmpstat.out &
	local pid=$!
	# After dmpstat's first report (its first sample), within its 10 s interval (long
	# enough for 100 reads on the sanitizer kernel on a busy machine).
	wait_for_report /tmp/dmpstat.out 1
	dio_read /dev/mapper/d1 4096 100
	wait "$pid" || fail "dmpstat failed"
	sed 's/^/    /' /tmp/dmpstat.out
	local row
	row=$(awk '$1 == "d1" && $3 == "read"' /tmp/dmpstat.out | tail -n 1)
	set -- $row
	expect_eq "$1 $2 $3" "d1 dm-$minor read" "labels"
	expect_eq "${13}" 100 "reads in the interval"
	expect_eq "$6" 4.0 "average KiB"
	# 100 reads in 10 s, plus the time dmpstat takes to sample (longer on the sanitizer kernel).
	awk -v r="$4" 'BEGIN { exit !(r >= 7.5 && r <= 10.05) }' || fail "read rate $4/s for 100 reads in 10 s"
	grep -q '^d2 ' /tmp/dmpstat.out && fail "d2 was not asked for"
	# A device removed while dmpstat runs.
	tools/dmpstat 2 3 >/tmp/dmpstat.out 2>&1 &
	pid=$!
	wait_for_report /tmp/dmpstat.out 1
	dmsetup remove d2
	wait "$pid" || { cat /tmp/dmpstat.out; fail "dmpstat failed when a device went"; }
	# d2 is in the first report and not in the last (how many reports it made before the
	# remove completed depends on the machine's speed); d1 is in all three.
	expect_eq "$(awk -v RS= 'NR == 1' /tmp/dmpstat.out | grep -c '^d2 ')" 2 "d2 rows (read, write) in the first report"
	expect_eq "$(awk -v RS= 'END { print }' /tmp/dmpstat.out | grep -c '^d2 ')" 0 "d2 rows in the last report"
	expect_eq "$(grep -c '^d1 .* read ' /tmp/dmpstat.out)" 3 "d1 in every report"
	# Prometheus.
	tools/dmpstat --prometheus >/tmp/prom.txt
	expect_eq "$(prom_value /tmp/prom.txt dmp_requests_total device=d1 dm=dm-$minor op=read)" \
		"$(dmp_stat read_reqs d1)" "read counter for d1"
	expect_eq "$(prom_value /tmp/prom.txt dmp_latency_seconds_count device=d1 op=read)" \
		"$(stat_of d1 1)" "latency count for d1"
	expect_eq "$(prom_value /tmp/prom.txt dmp_latency_seconds_bucket device=d1 op=read le=+Inf)" \
		"$(stat_of d1 1)" "+Inf bucket for d1"
	grep -q '^# TYPE dmp_request_size_bytes histogram$' /tmp/prom.txt || fail "no size histogram"
	! grep -q 'device="d2"' /tmp/prom.txt || fail "a removed device in the metrics"
}
