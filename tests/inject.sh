# SPDX-License-Identifier: GPL-2.0
# Fault injection, on a kernel built with it (the sanitizer kernel, scripts/debug.config):
# every operation that runs dmp code with each of its fault points failing in turn
# (tests/inject.py), and failures injected below dmp under fio.

# fault_kernel: skip unless this kernel injects faults (fail-nth, failslab and
# fail_make_request in debugfs)
fault_kernel() {
	[ -e /proc/thread-self/fail-nth ] && [ -d /sys/kernel/debug/failslab ] &&
		[ -d /sys/kernel/debug/fail_make_request ] ||
		skip "this kernel has no fault injection (the sanitizer kernel has: make test-debug)"
}

# inject_run [--once]: tests/inject.py over dmp devices on /dev/ram0, a zoned null_blk
# and an LVM volume of two segments with ext4 mounted on it (for dmpctl attach and
# detach); its last line must be "fault injection: N operations, M fault points, 0
# problems" (M is 0 with --once)
inject_run() {
	lvm_vg 160
	lv_two_segments fi 64
	local mnt=$SCRATCH/fi
	mkfs.ext4 -q "/dev/$VG/fi"
	mkdir -p "$mnt"
	mount "/dev/$VG/fi" "$mnt"
	FI_LV=$VG/fi FI_MOUNT=$mnt KERNEL_COMPLAINTS=$KERNEL_COMPLAINTS python3 "$TOP/tests/inject.py" "$@" |
		tee /tmp/inject.log
	grep -qE '^fault injection: [1-9][0-9]* operations, [0-9]+ fault points, 0 problems$' /tmp/inject.log ||
		fail "tests/inject.py found problems, or did not run"
}

# Every operation of the fault injection once, without faults, on any kernel: each
# works, and device-mapper, /sys/kernel/dmp and the module's use count agree after it.
test_every_operation_once() { inject_run --once; }

# Every operation, tried with its 1st, 2nd, 3rd, ... fault point failing until one try
# reaches none; tests/inject.py checks device-mapper, /sys/kernel/dmp and the module's
# use count after each try, that the state can be taken down and built again, and the
# kernel log. The fault points are those whose stack passes through dmp's code (and all
# of insmod's): dmp's allocations and the kernel's on dmp's behalf (its sysfs files).
test_fault_injection() {
	fault_kernel
	inject_run
	grep -qE '^fault injection: [0-9]+ operations, [1-9][0-9]* fault points' /tmp/inject.log ||
		fail "no fault point was reached"
}

# The same with every fault point of the operations' system calls, dm core's and the
# block layer's too (make stress, on the sanitizer kernel).
stress_fault_injection_everywhere() {
	fault_kernel
	FI_SCOPE=all inject_run
}

# I/O that fails below dmp: fail_make_request fails every 5th bio that reaches /dev/ram1,
# 40 times in all, under fio's random reads and writes through dmp. Each failure reaches
# fio; dmp counts each, as an I/O error of its class, exactly; records each in
# slow_requests with errno 5; and counts every request as /sys/block/dm-N/stat does.
test_io_faults_counted() {
	fault_kernel
	local f=/sys/kernel/debug/fail_make_request n=40
	dmsetup create fi_io --table "0 $((RAMDISK_MB * 2048)) dmp /dev/ram1 0"
	local kn
	kn=$(sys_block /dev/mapper/fi_io)
	echo 0 >"$f/verbose"
	echo 5 >"$f/interval"
	echo 100 >"$f/probability"
	echo "$n" >"$f/times"
	echo 1 >/sys/block/ram1/make-it-fail
	fio --name=fi --filename=/dev/mapper/fi_io --direct=1 --ioengine=libaio --iodepth=4 \
		--rw=randrw --bs=4k --io_size=8M --continue_on_error=all --output-format=json \
		--output=/tmp/fi.json >/tmp/fi.err 2>&1 || true
	echo 0 >/sys/block/ram1/make-it-fail
	echo 0 >"$f/probability"
	expect_eq "$(cat "$f/times")" 0 "failures left to inject"
	expect_eq "$(fio_json /tmp/fi.json 'j["jobs"][0]["total_err"]')" "$n" "errors fio saw"
	local s
	read -ra s <"/sys/kernel/dmp/block/$kn/stat"
	expect_eq "$((s[2] + s[7]))" "$n" "read and write io_errors"
	expect_eq "$((s[3] + s[8] + s[12] + s[13] + s[17] + s[18] + s[22] + s[23]))" 0 "other errors"
	expect_eq "${s[27]}" 0 "in_flight"
	local d
	read -ra d <"/sys/block/$kn/stat"
	expect_eq "$((s[0] + s[5]))" "$((d[0] + d[4]))" "requests, dmp and /sys/block/$kn/stat"
	expect_eq "$(awk '$8 == 5 && ($2 == "read" || $2 == "write")' "/sys/kernel/dmp/block/$kn/slow_requests" | wc -l)" \
		"$n" "failed requests recorded"
	expect_eq "$(awk '$8 != 5' "/sys/kernel/dmp/block/$kn/slow_requests" | wc -l)" 0 "other records"
}

# random_sequences SECONDS: tests/churn.py's seeded random operations from 3 processes for
# SECONDS (CHURN_SEED=S replays a run), process 0 also attaching and detaching an LVM
# volume of two segments
random_sequences() {
	lvm_vg 160
	lv_two_segments ch 64
	CHURN_LV=$VG/ch KERNEL_COMPLAINTS=$KERNEL_COMPLAINTS python3 "$TOP/tests/churn.py" \
		--seconds "$1" ${CHURN_SEED:+--seed "$CHURN_SEED"} | tee /tmp/churn.log
	grep -qE '^churn: seed [0-9]+, 3 processes, [1-9][0-9]* steps, [0-9]+ module reloads, 0 problems$' /tmp/churn.log ||
		fail "the random sequences found problems, or did not run"
}

test_random_sequences() { random_sequences "${CHURN_SECONDS:-45}"; }

stress_random_sequences() { random_sequences $((600 * ${STRESS_SCALE:-1})); }
