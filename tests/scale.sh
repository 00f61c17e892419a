# SPDX-License-Identifier: GPL-2.0
# Many devices: what dmp's statistics cost in kernel memory, measured against dm-linear
# devices of the same tables, and what reading them costs. The bound is the one the README
# gives: at most 64 KiB a device (64 MB for 1,000) with I/O from the two online CPUs,
# whatever the possible CPUs (the VM of make test and make stress has 255 possible, 2
# online: QEMU -smp 255 with the kernel's maxcpus=2).
#
# SCALE_DEVICES: how many devices (test_: 50; stress_ and the sanitizer lane: 1000).
# SCALE_DMPSTAT=1: also time dmpstat --prometheus (stress_ does). SCALE_BASELINE=0: no
# dm-linear devices and no bound (the sanitizer lane, for kmemleak's check of 1,000).

# The kernel's memory for per-CPU areas, slab and vmalloc, in KiB (/proc/meminfo), after
# dropping what the kernel can drop.
kernel_kib() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	local f
	for f in /sys/kernel/slab/*/shrink; do echo 1 >"$f"; done 2>/dev/null
	awk '/^(Percpu|Slab|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo
}

# meminfo_line: the fields of /proc/meminfo the README's table shows, in KiB
meminfo_line() {
	awk '/^(MemFree|Percpu|Slab|SUnreclaim|VmallocUsed):/ { printf "%s %s  ", $1, $2 }' /proc/meminfo
}

# create_many TARGET N: devices sc0 .. sc(N-1), 8 sectors each of TARGET over sczero, made
# by one dmsetup call
create_many() {
	local i tables=""
	for ((i = 0; i < $2; i++)); do tables+="sc$i,,,,0 8 $1 /dev/mapper/sczero 0;"; done
	dmsetup create --concise "${tables%;}"
}

# remove_many N: removes sc0 .. sc(N-1), in one dmsetup call
remove_many() {
	local i names=()
	for ((i = 0; i < $1; i++)); do names+=("sc$i"); done
	dmsetup remove "${names[@]}"
}

# read_each CPU N: one 4 KiB O_DIRECT read of each of sc0 .. sc(N-1), from CPU CPU
read_each() {
	python3 - "$1" "$2" <<'PY'
import mmap, os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
buf = mmap.mmap(-1, 4096)
for i in range(int(sys.argv[2])):
    fd = os.open(f"/dev/mapper/sc{i}", os.O_RDONLY | os.O_DIRECT)
    try:
        if os.preadv(fd, [buf], 0) != 4096:
            sys.exit(f"short read from sc{i}")
    finally:
        os.close(fd)
PY
}

# ms COMMAND...: runs COMMAND (output discarded) and prints how long it took, in ms
ms() {
	local t0=$EPOCHREALTIME
	"$@" >/dev/null
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

# read_ms FILE: how long one read of FILE takes, in ms: the mean of 20 reads by one
# process (whose start is not counted)
read_ms() {
	python3 -c '
import sys, time
t = time.perf_counter()
for _ in range(20):
    with open(sys.argv[1], "rb", buffering=0) as f:
        f.read(4096)
print(f"{(time.perf_counter() - t) * 1000 / 20:.2f}")' "$1"
}

memory_follows_use() {
	local n=$1 possible online
	possible=$(cat /sys/devices/system/cpu/possible) online=$(cat /sys/devices/system/cpu/online)
	[ "$online" = 0-1 ] || skip "needs CPUs 0 and 1 online (online: $online)"
	echo "    $n devices; possible CPUs $possible, online $online"
	dmsetup create sczero --table "0 8 zero"
	load_dmp
	kernel_kib >/dev/null
	echo "    before:                     ($(meminfo_line))"

	local k0 lin=0
	if [ "${SCALE_BASELINE:-1}" = 1 ]; then
		# Warm up: the first devices leave device-mapper's caches and per-CPU pool grown.
		create_many linear "$n"
		remove_many "$n"
		# dm-linear: the same tables, the same I/O.
		k0=$(kernel_kib)
		create_many linear "$n"
		read_each 0 "$n"
		read_each 1 "$n"
		lin=$(($(kernel_kib) - k0))
		echo "    dm-linear, I/O from 2 CPUs: +$lin KiB  ($(meminfo_line))"
		remove_many "$n"
	fi

	# dmp: nothing made before the first I/O, then one shard per CPU that did I/O.
	local k1 idle one two
	echo 1 >/sys/kernel/dmp/reset
	k1=$(kernel_kib)
	create_many dmp "$n"
	idle=$(($(kernel_kib) - k1))
	echo "    dmp, no I/O:                +$idle KiB"
	local t_total1 t_total t_prom1 t_prom
	read_each 0 "$n"
	one=$(($(kernel_kib) - k1))
	echo "    dmp, I/O from 1 CPU:        +$one KiB"
	read_each 1 "$n"
	two=$(($(kernel_kib) - k1))
	echo "    dmp, I/O from 2 CPUs:       +$two KiB  ($(meminfo_line))"
	expect_eq "$(dmp_stat read_reqs)" "$((2 * n))" "module-wide read_reqs"
	expect_eq "$(stat_of sc0 1)" 2 "sc0's reads"
	expect_eq "$(stat_of "sc$((n - 1))" 1)" 2 "the last device's reads"

	# Reading: the module-wide total sums every device's shards; dmpstat reads every device.
	# (dmpstat's time is mostly prometheus_client's formatting, 237 lines a device: only
	# with SCALE_DMPSTAT=1, as make stress sets.)
	t_total=$(read_ms /sys/kernel/dmp/read_reqs)
	[ "${SCALE_DMPSTAT:-0}" = 0 ] || t_prom=$(ms tools/dmpstat --prometheus)
	echo "    read time, $n devices: total_reqs $t_total ms${t_prom:+, dmpstat --prometheus $t_prom ms}"
	remove_many "$n"

	# One device with I/O, for the read times.
	create_many dmp 1
	read_each 0 1
	t_total1=$(read_ms /sys/kernel/dmp/read_reqs)
	[ "${SCALE_DMPSTAT:-0}" = 0 ] || t_prom1=$(ms tools/dmpstat --prometheus)
	echo "    read time, 1 device: total_reqs $t_total1 ms${t_prom1:+, dmpstat --prometheus $t_prom1 ms}"
	remove_many 1
	dmsetup remove sczero

	local per_cpu=$(((two - one) * 1024 / n))
	if [ "${SCALE_BASELINE:-1}" = 0 ]; then
		echo "    (no dm-linear baseline: no bound checked; a CPU's shard $per_cpu bytes)"
		return 0
	fi
	local per_dev=$(((two - lin) * 1024 / n)) fixed=$(((idle - lin) * 1024 / n))
	echo "    dmp less dm-linear: $((two - lin)) KiB, $per_dev bytes a device" \
		"(fixed part and no-I/O difference $fixed bytes, a CPU's shard $per_cpu bytes)"
	if [ -e /proc/lockdep_stats ]; then
		echo "    (sanitizer kernel: its redzones and metadata inflate slab; no bound checked)"
		return 0
	fi
	# The bound: 64 KiB a device, 64 MB for 1,000.
	[ "$((two - lin))" -le "$((64 * n))" ] ||
		fail "dmp's devices cost $((two - lin)) KiB more than dm-linear's, over $((64 * n)) KiB"
	# Memory follows use: the second CPU's shards cost about a shard each (2 KiB in
	# kmalloc-2k), far from a possible CPU's share of anything. The measurement has a
	# granularity that does not shrink with n: CPU 1's first allocations fill slabs of its
	# own (kmalloc-2k's are 32 KiB) in every cache it touches, and drop_caches and shrink
	# leave a little behind. make test's 50 devices once measured 5,160 bytes (252 KiB,
	# where 50 shards are 100); 1,000 devices measured 2,199. So: 4 KiB a device plus
	# 256 KiB over all n (9.1 KiB a device at 50, 4.3 at 1,000).
	local per_cpu_bound=$((4096 + 256 * 1024 / n))
	[ "$per_cpu" -le "$per_cpu_bound" ] ||
		fail "a second CPU's I/O cost $per_cpu bytes a device, over $per_cpu_bound"
	# Reading scales with the shards made: the total of $n devices of 2 shards each in
	# under 0.2 ms a device (about 0.02 here; shards for all 255 possible CPUs took 0.85).
	awk -v t="$t_total" -v n="$n" 'BEGIN { exit !(t < 0.2 * n) }' ||
		fail "reading total_reqs over $n devices took $t_total ms"
}

test_memory_follows_use() {
	memory_follows_use "${SCALE_DEVICES:-50}"
}

stress_memory_follows_use() {
	SCALE_DMPSTAT=${SCALE_DMPSTAT:-1} memory_follows_use "${SCALE_DEVICES:-1000}"
}

# A CPU brought online for the first time (present, never up since boot) makes its shard
# with its first request; taken offline again, it keeps what it counted.
test_first_use_by_a_new_cpu() {
	local f=/sys/devices/system/cpu/cpu2/online
	[ -w "$f" ] && [ "$(cat "$f")" = 0 ] || skip "no present, offline CPU 2 (possible: $(cat /sys/devices/system/cpu/possible))"
	dmsetup create c1 --table "0 $RAMDISK_SECTORS dmp /dev/ram3"
	local r0 w0
	r0=$(dm_stat c1 1) w0=$(dm_stat c1 5)
	echo 1 >"$f"
	taskset -c 2 dd if=/dev/mapper/c1 of=/dev/null bs=4k count=100 iflag=direct status=none
	taskset -c 2 dd if=/dev/zero of=/dev/mapper/c1 bs=4k count=50 oflag=direct status=none
	echo 0 >"$f"
	expect_eq "$(stat_of c1 1) $(stat_of c1 6) $(stat_of c1 28)" "100 50 0" "reads, writes, in flight"
	expect_eq "$(($(dm_stat c1 1) - r0)) $(($(dm_stat c1 5) - w0))" "100 50" "/sys/block/dm-N/stat"
	taskset -c 0 dd if=/dev/mapper/c1 of=/dev/null bs=4k count=10 iflag=direct status=none
	expect_eq "$(stat_of c1 1)" 110 "reads after CPU 2 went"
}
