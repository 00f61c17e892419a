# SPDX-License-Identifier: GPL-2.0
# Stress: hostile input. Every generated table, message and sysfs write either works
# correctly or fails with a clear error, and changes nothing.

# STRESS_TABLES: how many generated tables (default 1000).

# Prints generated table arguments (after "0 <len> dmp"), one set per line: random and
# adversarial argument counts, numbers, paths and lengths.
gen_tables() {
	python3 - "$1" "$RAMDISK_SECTORS" <<'PY'
import random, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
random.seed(20261126)
paths = ["/dev/ram1", "1:1", "/dev/mapper/fzbase", "/dev/mapper/fzdmp", "/dev/nonexistent",
         "/dev/null", "/dev/zero", "/dev", "/tmp", "/dev/mapper/fz", "1:", ":1", ":",
         "1:1:1", "999:999", "-1:1", "0x1:0x1", "1: 1", "/dev/ram1/", "//dev//ram1",
         "/dev/../dev/ram1", "/dev/ram\\1", "a\\\\b", "%s%n", "\\x41", "é", "x" * 300]
nums = ["0", "1", "8", "2047", str(size - 1), str(size), str(size + 1), "-1", "-0", "+1",
        "0x10", "010", "1e3", "1.5", "", "18446744073709551615", "18446744073709551616",
        "99999999999999999999999", "9223372036854775808", " 1", "1 ", "1\\t", "abc", "0b1"]
lens = [1, 8, 2048, size - 8, size, size + 1, 2**32, 2**40]
for i in range(n):
    k = random.choice([0, 1, 1, 2, 2, 2, 3, 4, 6])
    args = []
    for j in range(k):
        if j == 0 or random.random() < 0.2:
            args.append(random.choice(paths))
        else:
            args.append(random.choice(nums))
    length = random.choice(lens)
    # dmsetup splits on white space: quote nothing, just join (empty tokens vanish).
    print(length, " ".join(a.replace("\n", " ") for a in args))
PY
}

stress_bad_tables() {
	local n=${STRESS_TABLES:-1000}
	dmsetup create fzbase --table "0 $RAMDISK_SECTORS linear /dev/ram1 0"
	dmsetup create fzdmp --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	local ok=0 refused=0 len args msg
	: >/tmp/fz-errors
	dmesg_mark
	while read -r len args; do
		if dmsetup create fz --table "0 $len dmp $args" >/dev/null 2>&1; then
			ok=$((ok + 1))
			# It works: a read, the canonical table, and it goes away cleanly.
			dio_read /dev/mapper/fz 512 1 || fail "'$args' ($len): created but not readable"
			dmsetup table fz | grep -qE "^0 $len dmp [0-9]+:[0-9]+ [0-9]+\$" ||
				fail "'$args': table $(dmsetup table fz)"
			dmsetup remove fz || fail "'$args': cannot remove"
		else
			refused=$((refused + 1))
			! dmsetup info fz >/dev/null 2>&1 || fail "'$args' ($len): refused but left a device"
			[ ! -e /sys/kernel/dmp/devices/fz ] || fail "'$args': refused but left a directory"
		fi
	done < <(gen_tables "$n")
	# Reloading a device over itself is refused too.
	expect_fail "dmp over itself" dmsetup reload fzdmp --table "0 2048 dmp /dev/mapper/fzdmp"
	dmsetup clear fzdmp
	# The distinct reasons given, without the device numbers.
	dmesg_since | grep -oE '(dmp|table): [^:]*: [A-Z][^.]*|dmp: .*|device-mapper: table: [0-9:]+: [a-z].*' |
		sed -E 's/^device-mapper: table: [0-9]+:[0-9]+: //; s/[0-9]+:[0-9]+/M:m/g; s/[0-9]+/N/g' |
		sort | uniq -c | sort -rn >/tmp/fz-errors
	echo "    $n tables: $ok created and checked, $refused refused; distinct reasons:"
	sed 's/^/      /' /tmp/fz-errors | head -n 30
	expect_eq "$((ok + refused))" "$n" "tables tried"
	[ "$ok" -gt 0 ] && [ "$refused" -gt 0 ] || fail "the generator produced only one kind"
	# Each refusal said why.
	! dmesg_since | grep -q 'dmp: Unknown error' || fail "a refusal without a reason"
	# The module is intact: a good table still works.
	dmsetup create good --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	dio_read /dev/mapper/good 4096 1
}

stress_bad_messages_and_writes() {
	dmsetup create m1 --table "0 2048 dmp /dev/ram1"
	dio_read /dev/mapper/m1 4096 2
	local before msg n=0
	before=$(cat /sys/kernel/dmp/devices/m1/stat)
	for msg in "" "resett" "RESET" "reset now" "reset 1" "1" "-1" "reset reset" \
		"$(head -c 300 /dev/zero | tr '\0' x)" "%s%s%n" "\\x00" "é" "stats" "@cancel_nothing"; do
		n=$((n + 1))
		if [ -z "$msg" ]; then
			expect_fail "empty message" dmsetup message m1 0
		else
			# shellcheck disable=SC2086
			expect_fail "message '$msg'" dmsetup message m1 0 $msg
		fi
	done
	expect_eq "$(cat /sys/kernel/dmp/devices/m1/stat)" "$before" "statistics after bad messages"
	# Writes to reset: only "1" (with an optional newline) is accepted, whatever else comes.
	local f=/sys/kernel/dmp/devices/m1/reset w
	for w in "\n" "0" "2" "11" "1 " " 1" "1\n\n" "yes" "\x00" "\xff\xfe"; do
		n=$((n + 1))
		expect_fail "write '$w' to reset" sh -c "printf '$w' >$f"
	done
	n=$((n + 1))
	expect_fail "a 64 KiB write to reset" sh -c "head -c 65536 /dev/urandom >$f"
	expect_eq "$(cat /sys/kernel/dmp/devices/m1/stat)" "$before" "statistics after bad writes"
	n=$((n + 1))
	# A partial write: "1\n" one byte at a time is two writes; "1" resets, "\n" is refused.
	if printf '1\n' | dd of="$f" bs=1 status=none 2>/dev/null; then
		fail "a lone newline was accepted"
	fi
	expect_eq "$(awk '{ print $1 }' /sys/kernel/dmp/devices/m1/stat)" 0 "the one-byte write 1 reset"
	# Writes to read-only files are refused, even for root.
	local ro
	for ro in read_reqs stat latency_histogram name dev kname; do
		n=$((n + 1))
		expect_fail "write to $ro" sh -c "echo 1 >/sys/kernel/dmp/devices/m1/$ro"
	done
	echo "    $n bad messages and writes refused"
	dio_read /dev/mapper/m1 4096 1
}
