# SPDX-License-Identifier: GPL-2.0
# Flush and FUA reach the disk in order: dm-log-writes *under* dmp records every write,
# flush and FUA that dmp forwards; the log is replayed onto another disk to every FUA
# mark and to every flush mark, and the file system must be consistent at each one (as it
# would be after a power cut there). The log's entries must also match dmp's own counts,
# and the replayed end state must equal what the workload left.

REPLAY_LOG=/opt/fstests/src/log-writes/replay-log
FSSTRESS=/opt/fstests/ltp/fsstress
LW=$SCRATCH/lw
LW_SECTORS=$((32 * 2048))       # the file system: 32 MiB of /dev/ram1

# lw_check: run by replay-log at each mark. The replayed disk (/dev/ram3) is copied to
# /dev/ram4, mounted there (recovering the journal as after a crash), unmounted and
# checked with e2fsck -fn, which must find nothing.
lw_write_checker() {
	cat >"$LW/check" <<EOF
#!/bin/bash
echo x >>"$LW/marks"
dd if=/dev/ram3 of=/dev/ram4 bs=1M count=32 iflag=direct oflag=direct status=none || exit 1
mount -t ext4 /dev/ram4 "$LW/mnt" || { echo "mark \$(wc -l <"$LW/marks"): mount failed"; exit 1; }
umount "$LW/mnt" || exit 1
e2fsck -fn /dev/ram4 >"$LW/fsck.out" 2>&1 || { echo "mark \$(wc -l <"$LW/marks"): e2fsck:"; cat "$LW/fsck.out"; exit 1; }
EOF
	chmod +x "$LW/check"
}

# replay_to_marks KIND: replay the whole log onto a fresh /dev/ram3 (to the mkfs mark,
# then checking at every KIND = fua or flush entry); prints the number of marks checked.
replay_to_marks() {
	: >"$LW/marks"
	blkdiscard -f /dev/ram3 2>/dev/null
	"$REPLAY_LOG" --log "$LW/logdev" --replay /dev/ram3 --end-mark mkfs >/dev/null ||
		fail "replay to the mkfs mark"
	"$REPLAY_LOG" --log "$LW/logdev" --replay /dev/ram3 --start-mark mkfs \
		--check "$1" --fsck "$LW/check" >"$LW/replay.out" 2>&1 ||
		{ cat "$LW/replay.out" >&2; fail "the file system is inconsistent at a $1 mark"; }
	wc -l <"$LW/marks"
}

logwrites_replay() {
	local ops=$1
	[ -x "$REPLAY_LOG" ] && [ -x "$FSSTRESS" ] || {
		skip "replay-log and fsstress come with fstests, which is not built (scripts/setup-fstests)"
		return 77
	}
	modprobe dm_log_writes
	mkdir -p "$LW/mnt" "$LW/fs"
	# The log lives on a loop device over a sparse file on tmpfs: big enough for any run.
	mount -t tmpfs -o size=2G lwlog "$LW/fs"
	truncate -s 2G "$LW/fs/log"
	ln -s "$(losetup --find --show "$LW/fs/log")" "$LW/logdev"
	blkdiscard -f /dev/ram1 2>/dev/null
	dmsetup create lw --table "0 $LW_SECTORS log-writes /dev/ram1 $(readlink "$LW/logdev")"
	dmsetup create lwd --table "0 $LW_SECTORS dmp /dev/mapper/lw"
	mkfs.ext4 -q -F /dev/mapper/lwd
	dmsetup message lw 0 mark mkfs
	echo 1 >/sys/kernel/dmp/devices/lwd/reset
	mount /dev/mapper/lwd "$LW/mnt"
	"$FSSTRESS" -d "$LW/mnt/work" -n "$ops" -p 4 -s 20261126 >/dev/null 2>&1 || fail "fsstress"
	# What the workload left, to compare with the end of the replay.
	(cd "$LW/mnt" && find . -type f -print0 | sort -z | xargs -0r md5sum) >"$LW/sums"
	umount "$LW/mnt"
	dmsetup message lw 0 mark end
	local stat
	stat=$(cat /sys/kernel/dmp/devices/lwd/stat)
	dmsetup remove lwd
	dmsetup remove lw

	# dmp forwarded every write, flush and FUA it counted: the log below it saw the same.
	"$REPLAY_LOG" -v --log "$LW/logdev" --replay /dev/ram3 --start-mark mkfs --end-mark end \
		>"$LW/entries" 2>&1 || fail "reading the log"
	local logged counted
	logged=$(awk '/^replaying/ && !/MARK/ {
			w += (/size [1-9]/ && !/DISCARD/); fl += /FLUSH/; fua += /FUA/ }
		END { print w + 0, fl + 0, fua + 0 }' "$LW/entries")
	set -- $stat
	counted="$6 ${27} ${26}"
	expect_eq "$logged" "$counted" "writes, flushes and FUA writes: log-writes below dmp vs dmp"

	lw_write_checker
	local fua flush
	fua=$(replay_to_marks fua)
	flush=$(replay_to_marks flush)
	# The end state: the replayed disk holds exactly the files the workload left.
	mount -t ext4 /dev/ram3 "$LW/mnt"
	(cd "$LW/mnt" && find . -type f -print0 | sort -z | xargs -0r md5sum) >"$LW/sums.replayed"
	umount "$LW/mnt"
	cmp -s "$LW/sums" "$LW/sums.replayed" || fail "the replayed file system differs from the written one"
	[ "$fua" -gt 0 ] && [ "$flush" -gt 0 ] || fail "no FUA ($fua) or flush ($flush) marks to check"
	set -- $logged
	echo "    $ops fsstress ops through dmp: $1 writes, $2 flushes, $3 FUA writes logged = dmp's counts;" \
		"consistent at all $fua FUA and $flush flush marks; $(wc -l <"$LW/sums") files identical at the end"
	losetup -d "$(readlink "$LW/logdev")"
}

test_logwrites_replay() {
	logwrites_replay 150
}

stress_logwrites_replay() {
	logwrites_replay "$(scale 1000)"
}
