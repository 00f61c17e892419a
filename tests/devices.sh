# SPDX-License-Identifier: GPL-2.0
# Per-device statistics: their directories, renames, reloads, removal while read.

# Two devices over the same ramdisk count apart; the global files are their sum.
test_per_device_stats() {
	dmsetup create p1 --table "0 2048 dmp /dev/ram0"
	dmsetup create p2 --table "0 2048 dmp /dev/ram0 4096"
	echo 1 >/sys/kernel/dmp/reset
	dio_write /dev/mapper/p1 4096 3
	dio_read /dev/mapper/p1 8192 2
	dio_write /dev/mapper/p2 512 5
	local f
	for f in $STAT_FILES; do
		[ -f "/sys/kernel/dmp/devices/p1/$f" ] || fail "devices/p1/$f is missing"
		expect_eq "$(stat -c %a "/sys/kernel/dmp/devices/p1/$f")" 444 "mode of devices/p1/$f"
	done
	expect_eq "$(stat -c %a /sys/kernel/dmp/devices/p1/reset)" 200 "mode of devices/p1/reset"
	expect_eq "$(dmp_stat write_reqs p1)" 3 "p1 writes"
	expect_eq "$(dmp_stat read_reqs p1)" 2 "p1 reads"
	expect_eq "$(dmp_stat avg_read_size p1)" 8192 "p1 avg_read_size"
	expect_eq "$(dmp_stat avg_size p1)" $(((3 * 4096 + 2 * 8192) / 5)) "p1 avg_size"
	expect_eq "$(dmp_stat write_reqs p2)" 5 "p2 writes"
	expect_eq "$(dmp_stat read_reqs p2)" 0 "p2 reads"
	expect_eq "$(dmp_stat avg_write_size p2)" 512 "p2 avg_write_size"
	expect_eq "$(dmp_stat avg_read_size p2)" 0 "p2 avg_read_size"
	expect_eq "$(dmp_stat write_reqs)" 8 "global writes"
	expect_eq "$(dmp_stat write_bytes)" $((3 * 4096 + 5 * 512)) "global write_bytes"
	expect_eq "$(dmp_stat total_reqs)" 10 "global total_reqs"
	# Against the block layer's own count.
	expect_eq "$(dmp_stat write_reqs p1)" "$(dm_stat p1 5)" "p1 writes in /sys/block/dm-N/stat"
	expect_eq "$(dmp_stat write_reqs p2)" "$(dm_stat p2 5)" "p2 writes in /sys/block/dm-N/stat"
	dmsetup remove p1
	[ ! -e /sys/kernel/dmp/devices/p1 ] || fail "devices/p1 outlived dmsetup remove"
	[ -d /sys/kernel/dmp/devices/p2 ] || fail "devices/p2 went with p1"
	expect_eq "$(dmp_stat write_reqs)" 8 "global writes after a remove"
}

# A device named like a global file does not collide with it.
test_device_named_reset() {
	dmsetup create reset --table "0 2048 dmp /dev/ram0"
	dio_read /dev/mapper/reset 4096 1
	expect_eq "$(dmp_stat read_reqs reset)" 1 "devices/reset/read_reqs"
	expect_eq "$(stat -c %a /sys/kernel/dmp/reset)" 200 "global reset is untouched"
}

# Statistics belong to the mapped device: they survive suspend/resume and a reload.
test_stats_survive_reload() {
	dmsetup create r1 --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/r1 4096 4
	dmsetup suspend r1
	dmsetup resume r1
	expect_eq "$(dmp_stat write_reqs r1)" 4 "writes after suspend/resume"
	# A new table (another device, an offset) on the same mapped device.
	dmsetup reload r1 --table "0 4096 dmp /dev/ram2 2048"
	expect_eq "$(dmp_stat write_reqs r1)" 4 "writes with an inactive table loaded"
	dmsetup resume r1
	expect_eq "$(dmsetup table r1)" "0 4096 dmp 1:2 2048" "the new table is live"
	expect_eq "$(dmp_stat write_reqs r1)" 4 "writes after reload"
	dio_write /dev/mapper/r1 4096 1
	expect_eq "$(dmp_stat write_reqs r1)" 5 "writes keep counting"
	expect_eq "$(status_field r1 3)" 5 "status after reload"
	# A reload that fails changes nothing.
	expect_fail "bad reload" dmsetup reload r1 --table "0 4096 dmp /dev/ram2 x"
	expect_eq "$(dmp_stat write_reqs r1)" 5 "writes after a failed reload"
	# Replacing dmp by another target removes the directory; dmp again starts afresh.
	dmsetup reload r1 --table "0 4096 linear /dev/ram2 0"
	dmsetup resume r1
	[ ! -e /sys/kernel/dmp/devices/r1 ] || fail "devices/r1 outlived its last dmp table"
	dmsetup reload r1 --table "0 4096 dmp /dev/ram2"
	dmsetup resume r1
	expect_eq "$(dmp_stat write_reqs r1)" 0 "a new dmp table on a linear device"
}

# dmsetup rename: the name link follows at the next table load; block/dm-N and its name
# file are right at once.
test_rename() {
	dmsetup create old --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/old 4096 2
	local minor
	minor=$(dm_minor old)
	[ -L /sys/kernel/dmp/devices/old ] || fail "devices/old is not a link"
	expect_eq "$(readlink /sys/kernel/dmp/devices/old)" "../block/dm-$minor" "devices/old's target"
	dmsetup rename old new
	[ -d /sys/kernel/dmp/devices/old ] || fail "the link moved before a table load"
	expect_eq "$(cat /sys/kernel/dmp/devices/old/name)" new "name file before the next load"
	expect_eq "$(cat /sys/kernel/dmp/block/dm-$minor/write_reqs)" 2 "block/dm-$minor before the next load"
	dmsetup reload new --table "0 2048 dmp /dev/ram1"
	dmsetup resume new
	[ ! -e /sys/kernel/dmp/devices/old ] || fail "devices/old is still there"
	expect_eq "$(dmp_stat write_reqs new)" 2 "writes after rename and reload"
	expect_eq "$(cat /sys/kernel/dmp/devices/new/name)" new "name file"
	expect_eq "$(cat /sys/kernel/dmp/devices/new/dev)" "$(cat "/sys/block/dm-$minor/dev")" "dev file"
	expect_eq "$(cat /sys/kernel/dmp/devices/new/kname)" "dm-$minor" "kname file"
	expect_eq "$(stat -c %a /sys/kernel/dmp/devices/new/name)" 444 "mode of name"
}

# The uuid file: the dm uuid as dmsetup shows it, empty without one, right at once after
# `dmsetup rename --setuuid` gives it one.
test_uuid() {
	dmsetup create u1 --uuid "LVM-0123456789abcdef0123456789abcdefFEDCBA9876543210fedcba9876543210" \
		--table "0 2048 dmp /dev/ram1"
	dmsetup create u2 --table "0 2048 dmp /dev/ram2"
	expect_eq "$(cat /sys/kernel/dmp/devices/u1/uuid)" "$(dmsetup info -c --noheadings -o uuid u1)" "u1's uuid"
	expect_eq "$(cat /sys/kernel/dmp/devices/u1/uuid)" \
		"LVM-0123456789abcdef0123456789abcdefFEDCBA9876543210fedcba9876543210" "u1's uuid"
	expect_eq "$(wc -c </sys/kernel/dmp/devices/u2/uuid)" 1 "no uuid: a bare newline"
	dmsetup rename u2 --setuuid later-uuid
	expect_eq "$(cat /sys/kernel/dmp/devices/u2/uuid)" later-uuid "uuid after --setuuid"
	expect_eq "$(stat -c %a /sys/kernel/dmp/devices/u2/uuid)" 444 "mode of uuid"
}

# check_names [--loaded]: every block/dm-N directory is its device's (dev and name against
# /sys/block/dm-N), and every devices/NAME link of an existing device NAME is that
# device's. With --loaded (right after a dmp table was constructed or destroyed), every
# dmp device also has its link.
check_names() {
	local d n l mm
	for d in /sys/kernel/dmp/block/dm-*; do
		[ -e "$d" ] || continue
		n=${d##*/}
		expect_eq "$(cat "$d/dev")" "$(cat "/sys/block/$n/dev")" "dev of block/$n"
		expect_eq "$(cat "$d/name")" "$(cat "/sys/block/$n/dm/name")" "name of block/$n"
		expect_eq "$(cat "$d/uuid")" "$(cat "/sys/block/$n/dm/uuid")" "uuid of block/$n"
	done
	for l in /sys/kernel/dmp/devices/*; do
		[ -L "$l" ] || continue
		n=${l##*/}
		mm=$(dmsetup info -c --noheadings -o major,minor --separator : "$n" 2>/dev/null | tr -d ' ')
		[ -z "$mm" ] || expect_eq "$(cat "$l/dev")" "$mm" "devices/$n"
	done
	[ "${1:-}" = --loaded ] || return 0
	for n in $(dmsetup ls --target dmp | awk '$1 != "No" { print $1 }'); do
		[ -L "/sys/kernel/dmp/devices/$n" ] || fail "dmp device $n has no devices/$n"
	done
}

# Administrators' rename sequences that used to fail a later create or reload.
test_rename_sequences() {
	dmesg_mark
	# create A; rename A B; create A.
	dmsetup create ra --table "0 2048 dmp /dev/ram1"
	dmsetup rename ra rb
	dmsetup create ra --table "0 2048 dmp /dev/ram2"
	dio_write /dev/mapper/ra 4096 3
	expect_eq "$(dmp_stat write_reqs ra)" 3 "the new ra has its own directory"
	expect_eq "$(cat /sys/kernel/dmp/devices/ra/name)" ra "devices/ra is the new ra"
	check_names --loaded
	# With A and B: rename A C; rename B A; reload A.
	dmsetup remove rb
	dmsetup create rb --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/rb 4096 1
	dmsetup rename ra rc
	dmsetup rename rb ra
	dmsetup reload ra --table "0 2048 dmp /dev/ram1"
	dmsetup resume ra
	expect_eq "$(dmp_stat write_reqs ra)" 1 "ra (the old rb) kept its statistics"
	check_names --loaded
	dmsetup reload rc --table "0 2048 dmp /dev/ram2"
	dmsetup resume rc
	expect_eq "$(dmp_stat write_reqs rc)" 3 "rc (the old ra) kept its statistics"
	# Swap two names through a temporary one, then reload both (as lvextend would).
	dmsetup rename ra tmp
	dmsetup rename rc ra
	dmsetup rename tmp rc
	dmsetup reload ra --table "0 2048 dmp /dev/ram2"
	dmsetup resume ra
	dmsetup reload rc --table "0 2048 dmp /dev/ram1"
	dmsetup resume rc
	expect_eq "$(dmp_stat write_reqs ra)" 3 "ra after the swap"
	expect_eq "$(dmp_stat write_reqs rc)" 1 "rc after the swap"
	check_names --loaded
	# A device named like another's stable name.
	dmsetup create "dm-$(dm_minor ra)" --table "0 2048 dmp /dev/ram3"
	dmsetup rename ra other
	dmsetup create ra --table "0 2048 dmp /dev/ram3"
	check_names --loaded
	expect_eq "$(ls /sys/kernel/dmp/devices | wc -l)" "$(dmsetup ls --target dmp | wc -l)" "one link per dmp device"
	expect_eq "$(ls /sys/kernel/dmp/block | wc -l)" "$(dmsetup ls --target dmp | wc -l)" "one directory per dmp device"
	# Nothing complained.
	if dmesg_since | grep -E 'sysfs: cannot create duplicate|WARNING|Call Trace'; then
		fail "kernel warnings during renames"
	fi
}

# The review's sequence: create a; rename a b; create a; create dm-<b's minor>. Each
# devices/NAME is the device NAME's, each block/dm-N its device's, and sysfs never sees a
# duplicate name.
test_names_are_their_devices() {
	dmesg_mark
	dmsetup create a --table "0 2048 dmp /dev/ram1"
	dio_write /dev/mapper/a 4096 2
	local b
	b=$(dm_minor a)
	dmsetup rename a b
	expect_eq "$(cat /sys/kernel/dmp/block/dm-$b/name)" b "block/dm-$b/name after the rename"
	dmsetup create a --table "0 2048 dmp /dev/ram2"
	dio_write /dev/mapper/a 4096 3
	dmsetup create "dm-$b" --table "0 2048 dmp /dev/ram3"
	dio_write "/dev/mapper/dm-$b" 4096 5
	expect_eq "$(dmp_stat write_reqs a)" 3 "devices/a is the new a"
	expect_eq "$(dmp_stat write_reqs "dm-$b")" 5 "devices/dm-$b is the device named dm-$b"
	expect_eq "$(dmp_stat write_reqs b)" 2 "devices/b is the renamed a"
	expect_eq "$(cat /sys/kernel/dmp/block/dm-$b/write_reqs)" 2 "block/dm-$b is the renamed a"
	check_names --loaded
	if dmesg_since | grep -E 'sysfs: cannot create duplicate|WARNING|Call Trace'; then
		fail "kernel complaints during the sequence"
	fi
}

# Seeded random sequences of creates, renames, reloads and removes: after every step every
# name that is shown is right, and after every table change every dmp device is shown.
test_random_name_sequences() {
	local seed=${NAME_SEED:-20261201} steps=${NAME_STEPS:-15} i op a b names=(n0 n1 n2 n3 dm-0 dm-1)
	RANDOM=$seed
	dmesg_mark
	echo "    seed $seed, $steps steps"
	for ((i = 0; i < steps; i++)); do
		a=${names[RANDOM % ${#names[@]}]} b=${names[RANDOM % ${#names[@]}]}
		op=$((RANDOM % 5))
		if ! dmsetup info "$a" >/dev/null 2>&1; then
			dmsetup create "$a" --table "0 2048 dmp /dev/ram$((RANDOM % 4))"
			check_names --loaded
			continue
		fi
		case $op in
		0) [ "$a" = "$b" ] || dmsetup info "$b" >/dev/null 2>&1 || { dmsetup rename "$a" "$b"; check_names; } ;;
		1) dmsetup reload "$a" --table "0 2048 dmp /dev/ram$((RANDOM % 4))"
		   dmsetup resume "$a"; check_names --loaded ;;
		2) dmsetup remove "$a"; check_names --loaded ;;
		3) dmsetup reload "$a" --table "0 2048 linear /dev/ram$((RANDOM % 4)) 0"
		   dmsetup resume "$a"; check_names --loaded ;;
		4) dio_write "/dev/mapper/$a" 4096 1; check_names ;;
		esac
	done
	if dmesg_since | grep -E 'sysfs: cannot create duplicate|WARNING|Call Trace'; then
		fail "kernel complaints during the sequences"
	fi
}

# The same, longer, with a seed of its own each run (printed, and NAME_SEED repeats it).
stress_random_name_sequences() {
	NAME_SEED=${NAME_SEED:-$(date +%s)} NAME_STEPS=$(scale 400) test_random_name_sequences
}

# Many creates, renames, reloads and removes: no failure, no kernel warning.
test_rename_churn() {
	dmesg_mark
	local i a b
	for i in $(seq 1 30); do
		a=c$((i % 4)) b=c$(((i + 1) % 4))
		dmsetup info "$a" >/dev/null 2>&1 || dmsetup create "$a" --table "0 2048 dmp /dev/ram$((i % 3))"
		if dmsetup info "$b" >/dev/null 2>&1; then
			dmsetup remove "$b"
		fi
		dmsetup rename "$a" "$b"
		dmsetup reload "$b" --table "0 2048 dmp /dev/ram$((i % 3))"
		dmsetup resume "$b"
		cat /sys/kernel/dmp/devices/*/name >/dev/null
	done
	check_names --loaded
	if dmesg_since | grep -E 'sysfs: cannot create duplicate|WARNING|Call Trace'; then
		fail "kernel warnings during churn"
	fi
}

# Reading statistics while devices come and go is safe.
test_read_while_removing() {
	local i end=$((SECONDS + 5))
	(
		while [ "$SECONDS" -lt "$end" ]; do
			cat /sys/kernel/dmp/devices/*/* >/dev/null 2>&1 || true
		done
	) &
	local reader=$!
	for i in $(seq 1 30); do
		dmsetup create "rm$i" --table "0 2048 dmp /dev/ram1"
		dio_read "/dev/mapper/rm$i" 4096 1
		dmsetup remove "rm$i"
	done
	wait "$reader"
	expect_eq "$(ls /sys/kernel/dmp/devices | wc -l)" 0 "directories left"
}
