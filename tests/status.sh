# SPDX-License-Identifier: GPL-2.0
# dmsetup status and table, IMA measurement, dmsetup message.

# dmsetup status: ten positional counters; dmsetup table: the canonical major:minor and
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
	expect_eq "$#" 13 "status field count: $st"
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
	expect_eq "${10}" 0 "status 10 (zone management requests, none on a loop device)"
	[ "$1" -ge 3 ] && [ "$5" -ge 1 ] && [ "$6" -ge 1 ] && [ "$8" -ge 1 ] || fail "counts too small: $st"
}

# IMA measures the table as dm-linear's: device_name is major:minor, start the offset.
test_ima_measurement() {
	local m=/sys/kernel/security/ima/ascii_runtime_measurements
	[ -r "$m" ] || { skip "no IMA measurements list"; return 77; }
	dmsetup create ima1 --table "0 2048 dmp /dev/ram1 16"
	local want="target_name=dmp,target_version=2.3.0,device_name=1:1,start=16;"
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
	dmesg_since | grep -qF 'm1: unknown message; the messages are "reset" and "slow_threshold <us>"' || fail "no reason logged"
	dmesg_mark
	expect_fail "reset with an argument" dmsetup message m1 0 reset now
	dmesg_since | grep -qF "m1: the reset message takes no arguments" || fail "no reason logged"
	expect_eq "$(dmp_stat write_reqs m1)" 2 "bad messages changed nothing"
}

# dmsetup status and message on a suspended device, with I/O queued: they answer at once,
# and the I/O is counted after the resume.
test_status_and_message_while_suspended() {
	dmsetup create s1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	dio_write /dev/mapper/s1 4096 2
	dmsetup suspend s1
	dio_read /dev/mapper/s1 4096 1 &
	local pid=$!
	sleep 1
	kill -0 "$pid" 2>/dev/null || fail "I/O to a suspended device completed"
	expect_eq "$(timeout 10 dmsetup status s1 | cut -d' ' -f4-)" "0 0 2 8192 0 0 0 0 0 0" "status while suspended"
	timeout 10 dmsetup message s1 0 reset || fail "message while suspended"
	expect_eq "$(timeout 10 dmsetup status s1 | cut -d' ' -f4-)" "0 0 0 0 0 0 0 0 0 0" "status after the reset"
	timeout 10 cat /sys/kernel/dmp/devices/s1/stat >/dev/null || fail "stat while suspended"
	dmsetup resume s1
	wait "$pid" || fail "the queued read failed"
	expect_eq "$(dmp_stat read_reqs s1) $(dmp_stat write_reqs s1)" "1 0" "counted after the resume"
}

