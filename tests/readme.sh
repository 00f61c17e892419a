# SPDX-License-Identifier: GPL-2.0
# The README's scenario: the six files of the original README after one write and one read.

# The original README, step by step.
test_readme_scenario() {
	dmsetup targets | grep -q '^dmp ' || fail "dmsetup targets does not list dmp"
	local size=$((1 << 21))
	dmsetup create zero1 --table "0 $size zero"
	dmsetup create dmp1 --table "0 $size dmp /dev/mapper/zero1"
	# Earlier tests counted too: start from zero.
	echo 1 >/sys/kernel/dmp/reset
	local r0=0 w0=0
	dd if=/dev/random of=/dev/mapper/dmp1 bs=4k count=1 oflag=direct status=none
	dd of=/dev/null if=/dev/mapper/dmp1 bs=4k count=1 iflag=direct status=none
	local f
	for f in read_reqs write_reqs total_reqs avg_read_size avg_write_size avg_size; do
		[ -f "/sys/kernel/dmp/$f" ] || fail "/sys/kernel/dmp/$f is missing"
		expect_eq "$(stat -c %a "/sys/kernel/dmp/$f")" 444 "mode of $f"
		grep -qx '[0-9][0-9]*' "/sys/kernel/dmp/$f" || fail "$f is not a decimal integer"
	done
	expect_eq "$(($(dmp_stat read_reqs) - r0))" 1 "reads"
	expect_eq "$(($(dmp_stat write_reqs) - w0))" 1 "writes"
	expect_eq "$(dmp_stat total_reqs)" "$(($(dmp_stat read_reqs) + $(dmp_stat write_reqs)))" "total_reqs"
	expect_eq "$(dmp_stat avg_read_size)" 4096 avg_read_size
	expect_eq "$(dmp_stat avg_write_size)" 4096 avg_write_size
	expect_eq "$(dmp_stat avg_size)" 4096 avg_size
}
