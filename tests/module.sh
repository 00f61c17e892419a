# SPDX-License-Identifier: GPL-2.0
# The module itself: unload and reload. Last in tests/run's list, because it unloads dmp.

# Readers of every file, the name files most, while devices go and the module is unloaded
# and loaded again: removal waits for them, so nothing runs in freed code (KASAN in the
# sanitizer lane).
test_unload_while_reading() {
	local i end reader
	for i in $(seq 1 10); do
		load_dmp
		dmsetup create "u$i" --table "0 2048 dmp /dev/ram1"
		end=$((SECONDS + 1))
		(
			while [ "$SECONDS" -le "$end" ]; do
				cat /sys/kernel/dmp/block/*/name /sys/kernel/dmp/devices/*/* >/dev/null 2>&1 || true
			done
		) &
		reader=$!
		sleep 0.$((RANDOM % 5))
		dmsetup remove "u$i"
		rmmod dmp || fail "rmmod with readers"
		wait "$reader"
	done
	load_dmp
	[ -d /sys/kernel/dmp/block ] || fail "no /sys/kernel/dmp after loading again"
}

# rmmod is refused while a dmp device exists, and then cleans up /sys/kernel/dmp.
test_unload() {
	dmsetup create zero1 --table "0 1024 zero"
	dmsetup create d1 --table "0 1024 dmp /dev/mapper/zero1"
	expect_fail "rmmod with a device" rmmod dmp
	[ -d /sys/kernel/dmp/devices/d1 ] || fail "rmmod removed the statistics of a live device"
	dio_read /dev/mapper/d1 4096 1
	dmsetup remove d1
	rmmod dmp || fail "rmmod after removing the device"
	[ ! -e /sys/kernel/dmp ] || fail "/sys/kernel/dmp is still there"
	# And it loads again.
	insmod "$TOP/dmp.ko"
	[ -f /sys/kernel/dmp/read_reqs ] || fail "no statistics after reloading"
	expect_eq "$(dmp_stat read_reqs)" 0 "read_reqs after reloading"
}
