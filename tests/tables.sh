# SPDX-License-Identifier: GPL-2.0
# Bad tables: each is refused with its reason logged, and leaves nothing behind.

# bad_table NAME TABLE MESSAGE: creation fails, MESSAGE is logged, nothing is left.
bad_table() {
	local name=$1 table=$2 msg=$3
	dmesg_mark
	expect_fail "table '$table'" dmsetup create "$name" --table "$table"
	dmesg_since | grep -qF -- "$msg" || { dmesg_since >&2; fail "'$table': no '$msg' in dmesg"; }
	expect_fail "$name is left behind" dmsetup info "$name"
	[ ! -e "/sys/kernel/dmp/devices/$name" ] || fail "/sys/kernel/dmp/devices/$name is left behind"
}

test_bad_tables() {
	local n=$RAMDISK_SECTORS
	bad_table b1 "0 $n dmp" "dmp: Missing device path: the table is <dev_path> [<offset>]"
	bad_table b2 "0 $n dmp /dev/nonexistent" "dmp: Device lookup failed"
	bad_table b3 "0 $n dmp /dev/ram3 abc" "dmp: Invalid device offset"
	bad_table b4 "0 $n dmp /dev/ram3 -1" "dmp: Invalid device offset"
	bad_table b5 "0 $n dmp /dev/ram3 99999999999999999999999" "dmp: Invalid device offset"
	bad_table b6 "0 $n dmp /dev/ram3 0 extra" "dmp: Too many arguments"
	# Sizes are checked by device-mapper core through iterate_devices.
	bad_table b7 "0 $((n + 1)) dmp /dev/ram3" "too small for target"
	bad_table b8 "0 $n dmp /dev/ram3 1" "too small for target"
	bad_table b9 "0 8 dmp /dev/ram3 $n" "too small for target"
	# The bad tables changed nothing: a good one still works.
	dmsetup create good --table "0 $n dmp /dev/ram3"
	dio_read /dev/mapper/good 4096 1
}
