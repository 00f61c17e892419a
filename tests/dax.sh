# SPDX-License-Identifier: GPL-2.0
# DAX: dmp over the legacy persistent-memory device the VM's kernel command line makes
# (memmap=, see scripts/vm), ext4 mounted -o dax on it, files written through mmap and
# read back after a remount; the same on dm-linear. Loads and stores to mapped pages are
# not bios: what dmp counts on a DAX mount is the block I/O that remains (metadata, the
# journal), exactly what the block layer counts.

# pmem_dev: /dev/pmem0, or skip when the VM has no persistent memory
pmem_dev() {
	grep -q 'memmap=[^ ]*!' /proc/cmdline || skip "no memmap= persistent memory on the kernel command line"
	modprobe nd_e820 && modprobe nd_pmem || skip "no nd_e820/nd_pmem modules"
	local i
	for i in $(seq 50); do [ -b /dev/pmem0 ] && break; sleep 0.1; done
	[ -b /dev/pmem0 ] || fail "no /dev/pmem0"
	expect_eq "$(cat /sys/block/pmem0/queue/dax)" 1 "pmem0 supports DAX"
}

# mmap_file write|check FILE MB: write MB MiB of a fixed pseudo-random pattern through a
# shared mapping (and msync it), or check that the file holds it, read through a mapping
mmap_file() {
	python3 - "$@" <<'EOF'
import mmap, os, random, sys
mode, path, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
size = mb << 20
data = random.Random(20261202).randbytes(size)
if mode == "write":
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, size)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[:] = data
    m.flush()
    m.close()
    os.close(fd)
else:
    fd = os.open(path, os.O_RDONLY)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    ok = m[:] == data
    m.close()
    os.close(fd)
    sys.exit(0 if ok else 1)
EOF
}

# is_dax FILE: statx reports STATX_ATTR_DAX (0x200000) for FILE
is_dax() {
	local a
	a=$(xfs_io -c 'statx -r' "$1" | sed -n 's/^stat.attributes = //p')
	[ $((a & 0x200000)) != 0 ]
}

# dax_run TARGET MB: ext4 -o dax on TARGET over /dev/pmem0 at an offset of 2 MiB; MB MiB
# written through mmap into a new file, then overwritten through mmap, remounted and read
# back through mmap. The block writes (requests and bytes) of the first write and of the
# overwrite go to /tmp/dax.TARGET; dmp's counts are checked against the block layer's.
dax_run() {
	local t=$1 mb=$2 name=dax$1 size off=4096
	size=$(blockdev --getsz /dev/pmem0)
	local args="/dev/pmem0 $off"
	dmsetup create "$name" --table "0 $((size - off)) $t $args"
	local dev=/dev/mapper/$name
	expect_eq "$(cat "/sys/block/dm-$(dm_minor "$name")/queue/dax")" 1 "$t device supports DAX"
	# No lazy initialisation: ext4lazyinit's background inode-table writes would land
	# in the middle of the measured overwrite.
	mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
	local mnt=$SCRATCH/$name
	mkdir -p "$mnt"
	mount -o dax,noinit_itable "$dev" "$mnt"
	grep -q " $mnt ext4 .*dax" /proc/mounts || fail "$mnt is not mounted -o dax: $(grep " $mnt " /proc/mounts)"
	local w0 wb0
	sync
	w0=$(dm_stat "$name" 5) wb0=$(dm_stat "$name" 7)
	mmap_file write "$mnt/f" "$mb"
	is_dax "$mnt/f" || fail "$mnt/f has no DAX attribute"
	sync
	# ext4 zeroes the blocks it allocates for DAX with block writes (persistent memory has
	# no write-zeroes): the first write shows as writes of about the file's size.
	local first="$(($(dm_stat "$name" 5) - w0)) $((($(dm_stat "$name" 7) - wb0) * 512))"
	w0=$(dm_stat "$name" 5) wb0=$(dm_stat "$name" 7)
	mmap_file write "$mnt/f" "$mb"
	sync
	local again="$(($(dm_stat "$name" 5) - w0)) $((($(dm_stat "$name" 7) - wb0) * 512))"
	# Stores to mapped pages of allocated blocks are not bios: at most the metadata is.
	[ "${again#* }" -lt $((1 << 20)) ] ||
		fail "$t: ${again#* } bytes of block writes for $mb MiB overwritten through DAX"
	umount "$mnt"
	mount -o dax "$dev" "$mnt"
	mmap_file check "$mnt/f" "$mb" || fail "$t: the file read back through mmap differs"
	is_dax "$mnt/f" || fail "$mnt/f has no DAX attribute after the remount"
	umount "$mnt"
	if [ "$t" = dmp ]; then
		expect_eq "$(dmp_stat read_reqs "$name")" "$(dm_stat "$name" 1)" "reads vs /sys/block/dm-N/stat"
		# The block layer counts a bio-based device's empty flushes as writes; dmp apart.
		expect_eq "$(($(dmp_stat write_reqs "$name") + $(dmp_stat flush_reqs "$name")))" \
			"$(dm_stat "$name" 5)" "writes and flushes vs /sys/block/dm-N/stat"
		expect_eq "$(($(dmp_stat write_bytes "$name") / 512))" "$(dm_stat "$name" 7)" "written sectors vs /sys/block/dm-N/stat"
	fi
	echo "first write $first, overwrite $again" >"/tmp/dax.$t"
	dmsetup remove "$name"
}

# ext4 -o dax on dmp and on dm-linear over persistent memory: mmap writes survive a
# remount, the files have the DAX attribute, and dmp counts only the block I/O, as the
# block layer does.
# DAX_TARGETS=dmp (the default sanitizer lane's) leaves dm-linear's run out.
test_dax_mount() {
	pmem_dev
	dax_run dmp 16
	[ "${DAX_TARGETS:-dmp linear}" = dmp ] && return
	dax_run linear 16
	echo "    block writes (requests bytes) for 16 MiB through DAX: dmp: $(cat /tmp/dax.dmp);" \
		"dm-linear: $(cat /tmp/dax.linear)"
}

# The same with 128 MiB x STRESS_SCALE.
stress_dax_mount() {
	pmem_dev
	dax_run dmp "$(scale 128)"
	dax_run linear "$(scale 128)"
	echo "    block writes (requests bytes) for $(scale 128) MiB through DAX: dmp: $(cat /tmp/dax.dmp);" \
		"dm-linear: $(cat /tmp/dax.linear)"
}
