# SPDX-License-Identifier: GPL-2.0
# The completion side: latency and size histograms, errors, in-flight, the snapshot files.

# hist_of DEV FILE CLASS K: cumulative bucket K (0-based) of CLASS in a histogram file;
# K = -1 is the count, -2 the sum.
hist_of() {
	awk -v c="$3" -v k="$4" '$1 == c { print (k == -1 ? $2 : k == -2 ? $3 : $(k + 4)) }' \
		"/sys/kernel/dmp/devices/$1/$2"
}

# Reads delayed by 50 ms land above the bucket that holds 32.8 ms, and in the one that
# holds 65.5 ms (bucket 16) unless the machine is slow, as does their mean; undelayed
# writes land far below.
test_latency_histogram() {
	dmsetup create slow --table "0 $RAMDISK_SECTORS delay /dev/ram0 0 50 /dev/ram0 0 0"
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/slow"
	dmsetup message d1 0 reset
	dio_read /dev/mapper/d1 4096 5
	dio_write /dev/mapper/d1 4096 5
	expect_eq "$(hist_of d1 latency_histogram read -1)" 5 "read count in the histogram"
	expect_eq "$(hist_of d1 latency_histogram read 15)" 0 "reads at or below 32.8 ms"
	# A sanitizer kernel on a busy machine can take tens of milliseconds more: 262 ms at most.
	expect_eq "$(hist_of d1 latency_histogram read 18)" 5 "reads at or below 262 ms"
	local mean=$(($(stat_of d1 5) / $(stat_of d1 1)))
	[ "$mean" -gt 32768000 ] && [ "$mean" -le 262144000 ] || fail "mean read latency $mean ns"
	expect_eq "$(hist_of d1 latency_histogram write 15)" 5 "writes at or below 32.8 ms"
	expect_eq "$(hist_of d1 latency_histogram read -2)" "$(stat_of d1 5)" "histogram sum = stat"
	grep -q '^le_ns 1000 2000 4000 ' /sys/kernel/dmp/devices/d1/latency_histogram ||
		fail "no bounds line"
	echo "    mean read latency $((mean / 1000)) us over dm-delay 50 ms"
}

# Failed requests are counted by class, and the caller still sees the error.
test_errors_counted() {
	dmsetup create bad --table "0 2048 error"
	dmsetup create d1 --table "0 2048 dmp /dev/mapper/bad"
	dmsetup message d1 0 reset
	local i
	for i in 1 2 3; do
		expect_fail "read from dm-error" dio_read /dev/mapper/d1 4096 1 "$i"
	done
	for i in 1 2; do
		expect_fail "write to dm-error" dio_write /dev/mapper/d1 4096 1 "$i"
	done
	expect_eq "$(stat_of d1 1)" 3 "reads completed"
	expect_eq "$(stat_of d1 3)" 3 "read I/O errors"
	expect_eq "$(stat_of d1 8)" 2 "write I/O errors"
	expect_eq "$(stat_of d1 4) $(stat_of d1 9)" "0 0" "other errors"
	# Over a healthy device: no errors.
	dmsetup create d2 --table "0 2048 dmp /dev/ram1"
	dio_read /dev/mapper/d2 4096 2
	expect_eq "$(stat_of d2 3) $(stat_of d2 4)" "0 0" "errors on a healthy device"
}

# O_DIRECT I/O of known sizes lands in the right size buckets, exactly.
test_size_buckets() {
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	dmsetup message d1 0 reset
	dio_read /dev/mapper/d1 512 3
	dio_read /dev/mapper/d1 4096 2
	dio_read /dev/mapper/d1 8192 1
	dio_read /dev/mapper/d1 65536 4
	dio_write /dev/mapper/d1 1024 2
	local got
	got=$(awk '$1 == "read" { print $4, $5, $6, $7, $8, $9, $10, $11, $18 }' \
		/sys/kernel/dmp/devices/d1/size_histogram)
	# Cumulative, bounds 512 1K 2K 4K 8K 16K 32K 64K ... +Inf.
	expect_eq "$got" "3 3 3 5 6 6 6 10 10" "read size buckets"
	expect_eq "$(hist_of d1 size_histogram read -1)" 10 "read count"
	expect_eq "$(hist_of d1 size_histogram read -2)" $((3 * 512 + 2 * 4096 + 8192 + 4 * 65536)) "read bytes"
	expect_eq "$(hist_of d1 size_histogram write 0) $(hist_of d1 size_histogram write 1)" "0 2" "write size buckets"
}

# In-flight counts requests mapped and not completed; a reset while they are pending
# leaves every counter and histogram consistent. The requests wait below dmp in a
# suspended dm-linear device, however slow the machine.
test_in_flight_and_reset() {
	dmsetup create gate --table "0 $RAMDISK_SECTORS linear /dev/ram0 0"
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/mapper/gate"
	expect_eq "$(stat_of d1 28)" 0 "in flight before"
	dmsetup suspend gate
	local i pids=()
	for i in 1 2 3 4; do
		dio_read /dev/mapper/d1 4096 1 "$i" &
		pids+=($!)
	done
	for i in $(seq 100); do
		[ "$(stat_of d1 28)" = 4 ] && break
		sleep 0.1
	done
	expect_eq "$(stat_of d1 28)" 4 "in flight while held"
	echo 1 >/sys/kernel/dmp/devices/d1/reset
	expect_eq "$(stat_of d1 28)" 4 "in flight after a reset"
	expect_eq "$(stat_of d1 1) $(stat_of d1 2)" "0 0" "reads and read bytes after the reset"
	sleep 1
	dmsetup resume gate
	wait "${pids[@]}"
	expect_eq "$(stat_of d1 28)" 0 "in flight after"
	# The four completions count after the reset, with the second they waited.
	expect_eq "$(stat_of d1 1) $(stat_of d1 2)" "4 16384" "completions after the reset"
	expect_eq "$(hist_of d1 latency_histogram read -1)" 4 "histogram count"
	expect_eq "$(hist_of d1 latency_histogram read 19)" 0 "reads at or below 524 ms"
	local f
	for f in $(cat /sys/kernel/dmp/devices/d1/stat); do
		[ "${#f}" -lt 19 ] || fail "a counter went negative: $(cat /sys/kernel/dmp/devices/d1/stat)"
	done
}

# The snapshot file agrees with the single files, dmsetup status and the block layer.
test_snapshot_agrees() {
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram2"
	local r0 w0
	r0=$(dm_stat d1 1) w0=$(dm_stat d1 5)
	dio_read /dev/mapper/d1 4096 7
	dio_write /dev/mapper/d1 8192 3
	dd if=/dev/zero of=/dev/mapper/d1 bs=4k count=1 oflag=direct,sync status=none conv=notrunc
	local st
	st=$(cat /sys/kernel/dmp/devices/d1/stat)
	set -- $st
	expect_eq "$#" 34 "stat fields"
	expect_eq "$1 $2" "$(dmp_stat read_reqs d1) $(dmp_stat read_bytes d1)" "stat = read files"
	expect_eq "$6 $7" "$(dmp_stat write_reqs d1) $(dmp_stat write_bytes d1)" "stat = write files"
	expect_eq "${11}" "$(dmp_stat flush_reqs d1)" "stat = flush file"
	expect_eq "$1 $2 $6 $7" "$(status_field d1 1) $(status_field d1 2) $(status_field d1 3) $(status_field d1 4)" "stat = dmsetup status"
	expect_eq "$1" "$(($(dm_stat d1 1) - r0))" "reads = /sys/block/dm-N/stat"
	expect_eq "$6" "$(($(dm_stat d1 5) - w0))" "writes = /sys/block/dm-N/stat"
	expect_eq "${28}" 0 "in flight"
	# Readable without root.
	local f
	for f in stat latency_histogram size_histogram name dev kname; do
		expect_eq "$(stat -c %a "/sys/kernel/dmp/devices/d1/$f")" 444 "mode of $f"
	done
	expect_eq "$(awk '{ print NF }' /sys/kernel/dmp/stat)" 34 "the total stat"
	setpriv --reuid=65534 --regid=65534 --clear-groups cat /sys/kernel/dmp/devices/d1/latency_histogram >/dev/null ||
		fail "not readable by nobody"
}
