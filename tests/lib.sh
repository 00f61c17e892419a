# SPDX-License-Identifier: GPL-2.0
# What every suite shares (tests/run and its topic files, tests/debug-run, tests/deb-run):
# the reporter, the kernel checks, and the helpers of the tests. Sourced inside the VM.

# The reporter: one line per result,
#   ok      NAME (1.2s)
#   FAILED  NAME (1.2s)
#   skipped NAME: REASON
# and the summary, always the last line: "N passed, N failed", after "N skipped" if any
# were. A test or check that exits with 77 is skipped; `skip REASON` in it says why.
PASSED=0 FAILED=0 SKIPPED=0
SKIP_FILE=/tmp/dmp-skip.$$

# Every helper that runs after each test avoids starting processes where bash can do the
# work: on a sanitizer kernel under emulation each one costs about half a second.
now() { echo "$EPOCHREALTIME"; }
# elapsed START: seconds since START (from now), to a tenth
elapsed() {
	local d=$(((${EPOCHREALTIME/./} - ${1/./}) / 100000))
	echo "$((d / 10)).$((d % 10))"
}

# skip REASON...: record why the test or check is skipped, and return 77: under `set -e`
# (as tests/run runs tests) that ends it; elsewhere follow it with `return 77`.
skip() {
	printf '%s\n' "$*" >"$SKIP_FILE"
	return 77
}

# report_pass NAME [SECONDS], report_fail NAME [SECONDS], report_skip NAME REASON
report_pass() { PASSED=$((PASSED + 1)); echo "ok      $1${2:+ ($2s)}"; }
report_fail() { FAILED=$((FAILED + 1)); echo "FAILED  $1${2:+ ($2s)}"; }
report_skip() { SKIPPED=$((SKIPPED + 1)); echo "skipped $1: ${2:-no reason given}"; }

# report NAME STATUS [SECONDS]: a result by its exit status: 0 passed, 77 skipped (for the
# reason `skip` recorded), anything else failed.
report() {
	case $2 in
	0) report_pass "$1" "${3:-}" ;;
	77) report_skip "$1" "$(head -n 1 "$SKIP_FILE" 2>/dev/null)" ;;
	*) report_fail "$1" "${3:-}" ;;
	esac
	rm -f "$SKIP_FILE"
}

# check NAME COMMAND...: run COMMAND as one checked step and report it; what it printed is
# shown, indented, unless it passed.
check() {
	local name=$1 start out rc
	shift
	rm -f "$SKIP_FILE"
	start=$(now)
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" = 0 ] || [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
	report "$name" "$rc" "$(elapsed "$start")"
}

# report_merge FILE: add the results of another suite's output, which must end with its
# summary (a suite run inside this one: tests/debug-run runs tests/run).
report_merge() {
	local last prev
	last=$(tail -n 1 "$1") prev=$(tail -n 2 "$1" | head -n 1)
	[[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] || return 1
	PASSED=$((PASSED + BASH_REMATCH[1])) FAILED=$((FAILED + BASH_REMATCH[2]))
	if [[ $prev =~ ^([0-9]+)\ skipped$ ]]; then SKIPPED=$((SKIPPED + BASH_REMATCH[1])); fi
}

# report_summary: the summary; returns 0 if nothing failed.
report_summary() {
	[ "$SKIPPED" -eq 0 ] || echo "$SKIPPED skipped"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# What the kernel logs only when something is wrong, on the stock and on the sanitizer
# kernel: warnings, BUGs and oopses; KASAN, UBSAN, kmemleak, list-debugging and lockdep
# reports; sleeping in atomic context; Rust panics.
KERNEL_COMPLAINTS='WARNING:|BUG:|Oops|Call Trace|general protection|KASAN|UBSAN'\
'|kmemleak: [0-9]+ new suspected|list_(add|del) corruption|panicked|non-static key'\
'|possible (recursive|circular) locking|inconsistent lock state|lock held when returning'\
'|bad unlock balance|sleeping function called from invalid context|scheduling while atomic'

# kernel_log [KMSG_FILE]: the kernel log (dmesg), or the messages of a copy of /dev/kmsg,
# without the kernel's reports of the allocations that fault injection failed on purpose:
# between tests/inject.py's messages "dmp-test: fault injection on" and "... off", each
# warn_alloc report ("vmalloc error:" or "page allocation failure:" and its stack, to its
# "</TASK>"), which is the injected failure itself, not a complaint. With DMP_KCSAN_APART=1
# (tests/race-run, which sorts them itself), KCSAN's reports too: from "BUG: KCSAN:" to the
# line of '=' that ends each.
KERNEL_LOG_AWK='/dmp-test: fault injection on/ { on = 1 } /dmp-test: fault injection off/ { on = 0 }
on && /(vmalloc error|page allocation failure): / { skip = 1 }
skip { if ($0 ~ /<\/TASK>/) skip = 0; next }
ENVIRON["DMP_KCSAN_APART"] != "" && /BUG: KCSAN: / { kcsan = 1 }
kcsan { if ($0 ~ /========================================/) kcsan = 0; next }'
kernel_log() {
	if [ $# -gt 0 ]; then cut -d';' -f2- "$1"; else dmesg; fi | awk "$KERNEL_LOG_AWK"' { print }'
}

# complaint_count: how many lines of the kernel log are complaints
complaint_count() {
	dmesg | awk -v re="$KERNEL_COMPLAINTS" "$KERNEL_LOG_AWK"' $0 ~ re { n++ } END { print n + 0 }'
}

# kernel_log_clean [KMSG_FILE]: the kernel log has no complaint; if it has, they are
# printed with their context.
kernel_log_clean() {
	kernel_log "$@" | grep -qE "$KERNEL_COMPLAINTS" || return 0
	kernel_log "$@" | grep -E -B5 -A20 "$KERNEL_COMPLAINTS" | head -n 100
	return 1
}

# bad_taint: the kernel's taint flags other than O (an out-of-tree module, 4096) and E (an
# unsigned module, 8192) and, on a kernel with KUnit (the sanitizer lane), N (a KUnit test
# ran, 262144)
bad_taint() {
	local ok=$((4096 | 8192))
	[ ! -d /sys/kernel/debug/kunit ] || ok=$((ok | 262144))
	local t
	read -r t </proc/sys/kernel/tainted
	echo $((t & ~ok))
}
taint_clean() { [ "$(bad_taint)" = 0 ]; }

# check_kernel: the checks that end a suite: the kernel log has no complaint, and the
# kernel is tainted by nothing but loading modules like dmp.
check_kernel() {
	check "dmesg is clean" kernel_log_clean
	check "the kernel is tainted only by out-of-tree and unsigned modules (tainted=$(cat /proc/sys/kernel/tainted))" taint_clean
}

# The helpers of the tests.
RAMDISK_MB=64          # each /dev/ramN
RAMDISK_SECTORS=$((RAMDISK_MB * 2048))

fail() { echo "    FAIL: $*" >&2; return 1; }

# not COMMAND...: COMMAND fails
not() { ! "$@"; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_fail WHAT CMD...: CMD must fail.
expect_fail() {
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then fail "$what: '$*' succeeded"; fi
}

# The single-value statistics files, in /sys/kernel/dmp and in each device's directory.
STAT_FILES="read_reqs write_reqs total_reqs avg_read_size avg_write_size avg_size
read_bytes write_bytes flush_reqs discard_reqs discard_bytes write_zeroes_reqs
write_zeroes_bytes zone_reqs slow_reqs"

# A statistics file of the module (dmp_stat NAME) or of a device (dmp_stat NAME DEV).
dmp_stat() {
	if [ $# -eq 2 ]; then cat "/sys/kernel/dmp/devices/$2/$1"; else cat "/sys/kernel/dmp/$1"; fi
}

# stat_of DEV FIELD: a field of devices/DEV/stat (1-based; class c = 0..4 of read, write,
# flush, discard, write_zeroes has reqs 5c+1, bytes 5c+2, io_errors 5c+3, other_errors 5c+4,
# latency_ns 5c+5; then 26 fua, 27 preflush, 28 in_flight; then zone: 29 reqs, 30 bytes,
# 31 io_errors, 32 other_errors, 33 latency_ns; then 34 slow_reqs).
stat_of() { awk -v f="$2" '{ print $f }' "/sys/kernel/dmp/devices/$1/stat"; }

# dm_stat DEV FIELD: a field of /sys/block/dm-N/stat (1 reads, 3 read sectors, 5 writes,
# 7 write sectors, 12 discards, 14 discard sectors, 16 flushes).
dm_stat() { awk -v f="$2" '{ print $f }' "/sys/block/dm-$(dm_minor "$1")/stat"; }

dm_node() { echo "/dev/mapper/$1"; }

# dm_minor NAME: the N of dm-N, the kernel's name of a device-mapper device
dm_minor() { dmsetup info -c --noheadings -o minor "$1" | tr -d ' '; }

# status_field NAME POS: field POS of the INFO part of `dmsetup status NAME` (first line)
status_field() { dmsetup status "$1" | head -n1 | awk -v p="$2" '{ print $(3 + p) }'; }

# O_DIRECT I/O of COUNT blocks of BS bytes: dio_read DEV BS COUNT [SKIP_BLOCKS]
dio_read() { dd if="$1" of=/dev/null bs="$2" count="$3" skip="${4:-0}" iflag=direct status=none; }
dio_write() { dd if=/dev/urandom of="$1" bs="$2" count="$3" seek="${4:-0}" oflag=direct status=none conv=notrunc; }

# module_loaded NAME: the module NAME is loaded
module_loaded() { [ -d "/sys/module/$1" ]; }

load_dmp() {
	module_loaded dmp || insmod "$TOP/dmp.ko"
}

# Remove every device-mapper device the tests made; stacked devices take a second pass.
remove_all_devices() {
	local n _ pass left
	for pass in 1 2; do
		left=0
		while read -r n _; do
			[ "$n" = No ] || dmsetup remove --retry "$n" >/dev/null 2>&1 || left=1
		done < <(dmsetup ls 2>/dev/null)
		[ "$left" = 1 ] || break
	done
}

# Remove the null_blk devices the tests made through configfs (tests/zoned.sh).
remove_null_blk() {
	local d
	[ -d /sys/kernel/config/nullb ] || return 0
	for d in /sys/kernel/config/nullb/*/; do
		[ -d "$d" ] || continue
		echo 0 >"$d/power" 2>/dev/null || true
		rmdir "$d" || true
	done
}

# Kernel messages since the mark: dmesg_mark; ...; dmesg_since
dmesg_mark() { DMESG_MARK=$(dmesg | wc -l); }
dmesg_since() { dmesg | tail -n +"$((DMESG_MARK + 1))"; }

# Scratch mounts and loop devices live under /tmp/t; cleanup undoes them in order.
SCRATCH=/tmp/t

# A loop device backed by a file on ext4 (on /dev/ram5), which supports flushes,
# discards and write-zeroes: loop_dev SIZE_MB [SECTOR_SIZE]
loop_dev() {
	if ! mountpoint -q "$SCRATCH/backing"; then
		mkdir -p "$SCRATCH/backing"
		mkfs.ext4 -q -F /dev/ram5 >/dev/null
		mount /dev/ram5 "$SCRATCH/backing"
	fi
	local f
	f=$(mktemp "$SCRATCH/backing/loop.XXXXXX")
	truncate -s "$1M" "$f"
	losetup --find --show --sector-size "${2:-512}" "$f"
}

# scratch_mounts dm|other|all: the mount points under $SCRATCH, innermost first, of
# device-mapper devices, of anything else, or of both
scratch_mounts() {
	local dev mnt _
	while read -r dev mnt _; do
		[[ $mnt == "$SCRATCH"/* ]] || continue
		case $1:$dev in
		dm:/dev/mapper/* | dm:/dev/dm-* | all:*) echo "$mnt" ;;
		other:/dev/mapper/* | other:/dev/dm-*) ;;
		other:*) echo "$mnt" ;;
		esac
	done </proc/mounts | sort -r
}

cleanup() {
	# A failed test may leave I/O running in the background ...
	pkill -9 -x 'fio|fsstress' 2>/dev/null && sleep 0.5
	# ... or the toolbox's servers and terminal (tests/toolbox.sh).
	pkill -x 'prometheus|prometheus-node-exporter' 2>/dev/null || true
	pkill -f 'dmpstat (serve|top)' 2>/dev/null || true
	tmux kill-server 2>/dev/null || true
	# ... or udevd, which only the fstests run uses; its control socket outlives it, and
	# libdevmapper would take udev for running.
	if [ -e /run/udev ]; then
		pkill -x systemd-udevd 2>/dev/null && sleep 0.5
		rm -rf /run/udev
	fi
	# ... or a device suspended, with I/O waiting on it.
	local m attr
	while read -r m attr; do
		[[ $attr != *s* ]] || dmsetup resume "$m" || true
	done < <(dmsetup info -c --noheadings -o name,attr --separator ' ' 2>/dev/null | grep -v '^No ')
	[ -d "$SCRATCH" ] || { remove_all_devices; remove_null_blk; return 0; }
	# File systems on devices first, then the devices, then what backs them.
	for m in $(scratch_mounts dm); do umount "$m" || true; done
	# ... and LVM's volumes (tests/attach.sh), with what LVM keeps of them.
	if [ -e /run/dmp-lvm-test ]; then
		vgchange -q -an dmpt >/dev/null 2>&1 || true
		rm -rf /dev/dmpt /etc/lvm/backup /etc/lvm/archive /run/lvm /run/dmp-lvm-test
	fi
	remove_all_devices
	remove_null_blk
	for m in $(scratch_mounts other); do umount "$m" 2>/dev/null || true; done
	! compgen -G '/sys/block/loop*/loop' >/dev/null || losetup -D
	for m in $(scratch_mounts all); do umount "$m" || true; done
	rm -rf "$SCRATCH"
}

# prom_value FILE NAME LABEL=VALUE...: the value (an integer if it is one) of the one
# sample NAME of the text exposition FILE with those labels (and any others), as
# prometheus_client's parser reads it; nothing if there is none
prom_value() {
	python3 - "$@" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
path, name, want = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
found = [s.value for f in text_string_to_metric_families(open(path).read()) for s in f.samples
         if s.name == name and all(s.labels.get(k) == v for k, v in want.items())]
if len(found) > 1:
    sys.exit(f"{len(found)} samples {name} {want}")
for v in found:
    print(int(v) if float(v).is_integer() else v)
EOF
}

# scale N: N times STRESS_SCALE (default 1), for the stress suite's sizes, rounds and times
scale() { echo $(($1 * ${STRESS_SCALE:-1})); }

# fio_json FILE EXPR: evaluate a Python expression over fio's JSON output (as `j`); fio may
# write warnings before the JSON.
fio_json() {
	python3 -c "import json, sys; t = open(sys.argv[1]).read(); j = json.loads(t[t.index('{'):]); print($2)" "$1"
}
