# SPDX-License-Identifier: GPL-2.0
# dmpctl: dmp attached to and detached from live LVM volumes (real lvm2, xfs, fio), and
# everything it must refuse, leaving the device as it was.

VG=dmpt
DMPCTL=$TOP/tools/dmpctl

# lvm_q COMMAND...: an LVM command, its chatter kept in /tmp/lvm.log unless it fails
lvm_q() {
	"$@" >>/tmp/lvm.log 2>&1 || { tail -n 20 /tmp/lvm.log >&2; fail "$*"; }
}

# lvm_vg [MB]: volume group $VG on two loop devices of MB MiB (default 320, room for xfs)
# backed by sparse files on tmpfs, as PV_A and PV_B. LVM runs without udev (there is none
# in the VM): it makes /dev/$VG/ itself.
lvm_vg() {
	command -v lvm >/dev/null || skip "no lvm2 in the VM's root (scripts/setup-lvm)"
	local mb=${1:-320}
	mkdir -p "$SCRATCH"
	touch /run/dmp-lvm-test
	cat >/etc/lvm/lvm.conf <<'EOF'
devices { obtain_device_list_from_udev = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
EOF
	truncate -s "${mb}M" "$SCRATCH/pv-a" "$SCRATCH/pv-b"
	PV_A=$(losetup --find --show "$SCRATCH/pv-a")
	PV_B=$(losetup --find --show "$SCRATCH/pv-b")
	lvm_q pvcreate -q -y "$PV_A" "$PV_B"
	lvm_q vgcreate -q "$VG" "$PV_A" "$PV_B"
}

# lv_two_segments NAME MB: an LV of two linear segments of MB/2 MiB, on PV_A and then
# (after an lvextend) on PV_B
lv_two_segments() {
	lvm_q lvcreate -q -y -n "$1" -L "$(($2 / 2))M" "$VG" "$PV_A"
	lvm_q lvextend -q -L "$2M" "$VG/$1" "$PV_B"
	expect_eq "$(dmsetup table "$VG-$1" | awk '{ print $3 }' | tr '\n' ' ')" "linear linear " "$VG/$1's segments"
}

# identity NAME: what must not change when dmp is attached or detached under a device
identity() {
	local kn
	kn=dm-$(dm_minor "$1")
	echo "$(dmsetup info -c --noheadings -o name,uuid,major,minor,open --separator ' ' "$1")" \
		"size=$(blockdev --getsz "/dev/mapper/$1") holders=$(ls "/sys/block/$kn/holders" | tr '\n' ,)" \
		"mounts=$(grep -c "^/dev/mapper/$1 " /proc/mounts)"
}

# dmpctl_rc WANT ARGS...: dmpctl ARGS exits with WANT; its output goes to /tmp/dmpctl.out
dmpctl_rc() {
	local want=$1 rc=0
	shift
	"$DMPCTL" "$@" >/tmp/dmpctl.out 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { cat /tmp/dmpctl.out >&2; fail "dmpctl $*: exit $rc, expected $want"; }
}

# fio_fs NAME FILE SECONDS: verifying fio on a file in the background; sets FIO_PID
fio_fs() {
	fio --output-format=json --output="/tmp/$1.json" --eta=never --filename="$2" --direct=1 \
		--ioengine=libaio --iodepth=8 --size=32M --time_based --runtime="$3" \
		--group_reporting --name="$1" --rw=randwrite --bs=4k --verify=crc32c \
		--verify_backlog=16 --verify_fatal=1 --verify_state_save=0 \
		--name="$1r" --rw=randread --bs=4k >"/tmp/$1.err" 2>&1 &
	FIO_PID=$!
}

# fio_done NAME: stop the background fio and check it saw no error; sets FIO_IOS to its
# I/Os (not in a subshell: it waits for fio)
fio_done() {
	kill -0 "$FIO_PID" 2>/dev/null || { cat "/tmp/$1.err" >&2; fail "fio stopped early"; }
	kill -INT "$FIO_PID"
	wait "$FIO_PID" || true
	fio_json "/tmp/$1.json" 'j["jobs"][0]["error"]' >/dev/null || { cat "/tmp/$1.err" >&2; fail "fio wrote no report"; }
	expect_eq "$(fio_json "/tmp/$1.json" 'j["jobs"][0]["error"]')" 0 "fio errors"
	FIO_IOS=$(fio_json "/tmp/$1.json" 'j["jobs"][0]["read"]["total_ios"] + j["jobs"][0]["write"]["total_ios"]')
}

# attach and detach under a mounted xfs with fio verifying through it: the device keeps
# its identity and mount, its statistics appear, fio sees no error, and the table after
# the detach is byte for byte the one before the attach.
test_attach_detach_live_lv() {
	lvm_vg
	lv_two_segments lv 320
	local name=$VG-lv mnt=$SCRATCH/lv
	mkfs.xfs -q -f "/dev/$VG/lv"
	mkdir -p "$mnt"
	mount "/dev/$VG/lv" "$mnt"
	local before id kn
	before=$(dmsetup table "$name")
	id=$(identity "$name")
	kn=dm-$(dm_minor "$name")
	dmpctl_rc 0 attach --dry-run "$VG/lv"
	expect_eq "$(grep -v '^#' /tmp/dmpctl.out)" "$(echo "$before" | sed 's/ linear / dmp /')" "--dry-run's table"
	expect_eq "$(dmsetup table "$name")" "$before" "the table after --dry-run"
	fio_fs att "$mnt/fio" 3600
	wait_open "$name"
	sleep 2
	dmpctl_rc 0 attach "$VG/lv"
	echo "    $(cat /tmp/dmpctl.out)"
	expect_eq "$(dmsetup table "$name")" "$(echo "$before" | sed 's/ linear / dmp /')" "the attached table"
	expect_eq "$(identity "$name")" "$id" "identity after attach"
	expect_eq "$(cat "/sys/kernel/dmp/block/$kn/uuid")" "$(dmsetup info -c --noheadings -o uuid "$name")" "uuid file"
	expect_eq "$(cat "/sys/kernel/dmp/block/$kn/name")" "$name" "name file"
	sleep 3
	local w
	w=$(dmp_stat write_reqs "$name")
	[ "$w" -gt 0 ] || fail "no writes counted while attached under fio"
	dmpctl_rc 3 attach "/dev/mapper/$name"
	grep -q "already attached: nothing to do" /tmp/dmpctl.out || fail "attach twice: $(cat /tmp/dmpctl.out)"
	dmpctl_rc 0 detach "/dev/$VG/lv"
	echo "    $(cat /tmp/dmpctl.out)"
	expect_eq "$(dmsetup table "$name")" "$before" "the table after detach"
	expect_eq "$(identity "$name")" "$id" "identity after detach"
	[ ! -e "/sys/kernel/dmp/block/$kn" ] || fail "block/$kn is still there after detach"
	sleep 2
	fio_done att
	local ios=$FIO_IOS
	# Attach and detach again, by other names, with fio stopped and started.
	fio_fs att2 "$mnt/fio" 3600
	sleep 2
	dmpctl_rc 0 attach "/dev/$kn"
	sleep 2
	dmpctl_rc 0 detach "$name"
	fio_done att2
	local ios2=$FIO_IOS
	expect_eq "$(dmsetup table "$name")" "$before" "the table after the second detach"
	dmpctl_rc 3 detach "$name"
	grep -q "not attached: nothing to do" /tmp/dmpctl.out || fail "detach of a detached device: $(cat /tmp/dmpctl.out)"
	umount "$mnt"
	xfs_repair -n "/dev/$VG/lv" >/dev/null 2>&1 || fail "xfs_repair -n found damage"
	echo "    fio through xfs: $ios I/Os across attach and detach (dmp counted $w writes in 3 s), $ios2 across the second pair; no error, no verify failure"
}

# counts_of NAME: reads, read sectors, writes, written sectors: dmp's, then the block
# layer's (/sys/block/dm-N/stat)
counts_of() {
	echo "$(dmp_stat read_reqs "$1") $(($(dmp_stat read_bytes "$1") / 512))" \
		"$(dmp_stat write_reqs "$1") $(($(dmp_stat write_bytes "$1") / 512))" \
		"$(dm_stat "$1" 1) $(dm_stat "$1" 3) $(dm_stat "$1" 5) $(dm_stat "$1" 7)"
}

# While attached, dmp's counts are exact against the block layer's for a known O_DIRECT
# workload on both segments; LVM's reports and an lvextend with xfs_growfs work on the
# attached volume (the lvextend puts linear back; dmpctl attaches it again).
test_attach_counts_and_lvm_commands() {
	lvm_vg
	lv_two_segments raw 64
	local name=$VG-raw
	dmpctl_rc 0 attach "$VG/raw"
	set -- $(counts_of "$name")
	local r0=$5 rs0=$6 w0=$7 ws0=$8
	# 100 reads and 64 writes of 4 KiB in each segment (32 MiB each).
	dio_read "/dev/mapper/$name" 4096 100
	dio_read "/dev/mapper/$name" 4096 100 8192
	dio_write "/dev/mapper/$name" 4096 64 100
	dio_write "/dev/mapper/$name" 4096 64 8292
	set -- $(counts_of "$name")
	expect_eq "$1 $2 $3 $4" "200 1600 128 1024" "dmp's reads, read sectors, writes, written sectors"
	expect_eq "$(($5 - r0)) $(($6 - rs0)) $(($7 - w0)) $(($8 - ws0))" "200 1600 128 1024" "/sys/block/dm-N/stat's"
	# LVM's view of an attached volume: its metadata, unchanged.
	lvm_q lvs "$VG/raw"
	expect_eq "$(lvs --noheadings --nosuffix --units m -o lv_size,seg_count "$VG/raw" 2>/dev/null | xargs)" "64.00 2" "lvs"
	lvm_q lvdisplay "$VG/raw"
	lvm_q vgcfgbackup -f "$SCRATCH/backup" "$VG"
	grep -q 'type = "striped"' "$SCRATCH/backup" || fail "vgcfgbackup: no linear segments"
	lvm_q lvremove -q -y "$VG/raw"
	# An xfs on an attached LV, grown: lvextend loads linear again (LVM's table, from its
	# metadata), dmpctl attaches again, xfs_growfs grows it.
	lv_two_segments lv 320
	name=$VG-lv
	mkfs.xfs -q -f "/dev/$VG/lv"
	mkdir -p "$SCRATCH/lv"
	mount "/dev/$VG/lv" "$SCRATCH/lv"
	dmpctl_rc 0 attach "$VG/lv"
	dd if=/dev/urandom of="$SCRATCH/lv/f" bs=1M count=8 status=none conv=fsync
	local sum
	sum=$(md5sum <"$SCRATCH/lv/f")
	lvm_q lvextend -q -L +64M "$VG/lv" "$PV_A"
	expect_eq "$(dmsetup table "$name" | awk '{ print $3 }' | sort -u)" linear "lvextend's table (LVM puts linear back)"
	expect_eq "$(blockdev --getsz "/dev/mapper/$name")" $((384 * 2048)) "size after lvextend"
	dmpctl_rc 0 status "$VG/lv"
	grep -q "attachable" /tmp/dmpctl.out || fail "status after lvextend: $(cat /tmp/dmpctl.out)"
	dmpctl_rc 0 attach "$VG/lv"
	expect_eq "$(dmsetup table "$name" | awk '{ print $3 }' | tr '\n' ' ')" "dmp dmp dmp " "three dmp segments"
	local blocks0 blocks1
	blocks0=$(stat -f -c %b "$SCRATCH/lv")
	lvm_q xfs_growfs "$SCRATCH/lv"
	blocks1=$(stat -f -c %b "$SCRATCH/lv")
	[ "$((blocks1 - blocks0))" -ge $((60 * 256)) ] ||
		fail "xfs_growfs: $blocks0 -> $blocks1 blocks of 4 KiB, expected 64 MiB more"
	echo 3 >/proc/sys/vm/drop_caches
	expect_eq "$(md5sum <"$SCRATCH/lv/f")" "$sum" "the file after lvextend, attach and xfs_growfs"
	dmpctl_rc 0 status --json
	python3 -c '
import json, sys
d = {r["name"]: r for r in json.load(open("/tmp/dmpctl.out"))["devices"]}
r = d[sys.argv[1]]
assert r["state"] == "attached" and r["vg"] == sys.argv[2] and r["lv"] == "lv", r
assert r["uuid"].startswith("LVM-") and len(r["segments"]) == 3, r
' "$name" "$VG" || fail "status --json: $(cat /tmp/dmpctl.out)"
	umount "$SCRATCH/lv"
	dmpctl_rc 0 detach "$VG/lv"
	echo "    200 reads and 128 writes exact on both segments; lvs, lvdisplay, vgcfgbackup, lvextend + xfs_growfs on attached LVs"
}

# refused NAME WHY ARGS...: dmpctl ARGS is refused (exit 1) with a message matching WHY,
# and NAME's table, suspended state and open count are unchanged
refused() {
	local name=$1 why=$2 before after
	shift 2
	before="$(dmsetup table "$name" 2>&1; dmsetup info -c --noheadings -o attr,open,tables_loaded "$name" 2>&1)"
	dmpctl_rc 1 "$@"
	grep -q -- "$why" /tmp/dmpctl.out || fail "dmpctl $*: $(cat /tmp/dmpctl.out), expected '$why'"
	after="$(dmsetup table "$name" 2>&1; dmsetup info -c --noheadings -o attr,open,tables_loaded "$name" 2>&1)"
	expect_eq "$after" "$before" "$name after dmpctl $*"
	echo "    $* -> $(cat /tmp/dmpctl.out)"
}

# What dmpctl refuses, with a sentence naming why, leaving each device as it was.
test_attach_refusals() {
	lvm_vg 64
	lvm_q lvcreate -q -y -n striped -i 2 -I 64k -L 8M "$VG"
	lvm_q lvcreate -q -y -n plain -L 8M "$VG"
	refused "$VG-striped" "segment 1 of 1 (sectors 0+16384) is striped, not linear" attach "$VG/striped"
	if lvcreate -q -y -L 16M -T "$VG/pool" >>/tmp/lvm.log 2>&1 &&
		lvcreate -q -y -V 32M -T "$VG/pool" -n thin >>/tmp/lvm.log 2>&1; then
		refused "$VG-thin" "is thin, not linear" attach "$VG/thin"
	else
		echo "    (no thin LV: $(tail -n 1 /tmp/lvm.log))"
	fi
	dmsetup suspend "$VG-plain"
	refused "$VG-plain" "is suspended" attach "$VG/plain"
	dmsetup resume "$VG-plain"
	dmsetup load "$VG-plain" --table "$(dmsetup table "$VG-plain")"
	refused "$VG-plain" "has an inactive table loaded" attach "$VG/plain"
	refused "$VG-plain" "has an inactive table loaded" detach "$VG/plain"
	dmsetup clear "$VG-plain"
	dmsetup create notable --notable
	refused notable "has no table" attach notable
	dmsetup create zero1 --table "0 2048 zero"
	refused zero1 "is zero, not linear" attach zero1
	local n
	for n in nosuch /dev/mapper/nosuch "$VG/nosuch" /dev/dm-999 /dev/ram0 /dev/null; do
		dmpctl_rc 1 attach "$n"
		echo "    attach $n -> $(cat /tmp/dmpctl.out)"
	done
	dmpctl_rc 2 attach
	dmpctl_rc 2 frobnicate
	# One refused among others: the others are done, the exit status says refused.
	dmpctl_rc 1 attach "$VG/plain" "$VG/striped"
	expect_eq "$(dmsetup table "$VG-plain" | awk '{ print $3 }')" dmp "$VG/plain attached beside a refusal"
	dmpctl_rc 0 status
	sed 's/^/    status: /' /tmp/dmpctl.out
	grep -q "^$VG-striped .*not attachable: segment 1 of 1" /tmp/dmpctl.out || fail "status of the striped LV"
	grep -q "^$VG-plain .* attached" /tmp/dmpctl.out || fail "status of the attached LV"
	dmpctl_rc 0 detach "$VG/plain"
}

# The lock: while something holds LVM's lock of the volume group (as lvextend does),
# dmpctl waits for it, and changes the table only after it is released.
test_attach_waits_for_lvm_lock() {
	lvm_vg 64
	lvm_q lvcreate -q -y -n plain -L 8M "$VG"
	mkdir -p /run/lock/lvm
	exec 9>"/run/lock/lvm/V_$VG"
	flock 9
	# (without fd 9: a copy of the locked descriptor would hold the lock for dmpctl)
	"$DMPCTL" attach "$VG/plain" >/tmp/dmpctl.out 2>&1 9>&- &
	local pid=$!
	sleep 3
	kill -0 "$pid" 2>/dev/null || fail "dmpctl did not wait for the VG lock: $(cat /tmp/dmpctl.out)"
	expect_eq "$(dmsetup table "$VG-plain" | awk '{ print $3 }')" linear "the table while the lock is held"
	exec 9>&-
	wait "$pid" || fail "dmpctl failed after the lock was released: $(cat /tmp/dmpctl.out)"
	expect_eq "$(dmsetup table "$VG-plain" | awk '{ print $3 }')" dmp "the table after the lock was released"
}

# attach.conf: dmpctl attach --config attaches every configured volume that is active, by
# VG/LV, dm name or uuid, and reports those that are not.
test_attach_config() {
	lvm_vg 64
	lvm_q lvcreate -q -y -n a -L 8M "$VG"
	lvm_q lvcreate -q -y -n b -L 8M "$VG"
	lvm_q lvcreate -q -y -n c -L 8M "$VG"
	lvm_q lvcreate -q -y -n d -L 8M "$VG"
	local conf=$SCRATCH/attach.conf
	printf '# test\n%s/a\n%s-b   # by name\nuuid=%s\n%s/absent\n' "$VG" "$VG" \
		"$(dmsetup info -c --noheadings -o uuid "$VG-c")" "$VG" >"$conf"
	DMPCTL_CONFIG=$conf dmpctl_rc 0 attach --config
	sed 's/^/    /' /tmp/dmpctl.out
	local lv
	for lv in a b c; do
		expect_eq "$(dmsetup table "$VG-$lv" | awk '{ print $3 }')" dmp "$VG/$lv attached by --config"
	done
	expect_eq "$(dmsetup table "$VG-d" | awk '{ print $3 }')" linear "$VG/d (not configured)"
	grep -q "absent: configured in .*not active" /tmp/dmpctl.out || fail "the absent volume is not reported"
	DMPCTL_CONFIG=$conf dmpctl_rc 3 attach --config
	# What the udev rule asks: only a configured volume with a linear segment.
	lvm_q lvchange --refresh "$VG/a"
	expect_eq "$(dmsetup table "$VG-a" | awk '{ print $3 }')" linear "after lvchange --refresh"
	expect_eq "$(DMPCTL_CONFIG=$conf "$DMPCTL" udev "dm-$(dm_minor "$VG-a")")" DMP_ATTACH=1 "udev: $VG/a"
	expect_eq "$(DMPCTL_CONFIG=$conf "$DMPCTL" udev "dm-$(dm_minor "$VG-b")")" "" "udev: $VG/b (attached)"
	expect_eq "$(DMPCTL_CONFIG=$conf "$DMPCTL" udev "dm-$(dm_minor "$VG-d")")" "" "udev: $VG/d (not configured)"
	printf 'a b\n' >"$conf"
	DMPCTL_CONFIG=$conf dmpctl_rc 1 attach --config
	grep -q "one volume a line" /tmp/dmpctl.out || fail "bad config: $(cat /tmp/dmpctl.out)"
}

# Attach and detach, round after round, under a mounted xfs with fio verifying through it
# (20 x STRESS_SCALE rounds): no I/O error, no verify failure, the original table at the
# end, a clean xfs_repair -n.
stress_attach_detach_rounds() {
	lvm_vg
	lv_two_segments lv 320
	local name=$VG-lv mnt=$SCRATCH/lv before i rounds
	rounds=$(scale 20)
	mkfs.xfs -q -f "/dev/$VG/lv"
	mkdir -p "$mnt"
	mount "/dev/$VG/lv" "$mnt"
	before=$(dmsetup table "$name")
	fio_fs rounds "$mnt/fio" 3600
	wait_open "$name"
	sleep 2
	for i in $(seq "$rounds"); do
		dmpctl_rc 0 attach "$VG/lv"
		sleep 0.5
		dmpctl_rc 0 detach "$VG/lv"
		sleep 0.5
	done
	fio_done rounds
	local ios=$FIO_IOS
	expect_eq "$(dmsetup table "$name")" "$before" "the table after $rounds rounds"
	umount "$mnt"
	xfs_repair -n "/dev/$VG/lv" >/dev/null 2>&1 || fail "xfs_repair -n found damage"
	echo "    $rounds attach/detach rounds under fio through xfs: $ios I/Os, no error, no verify failure"
}
