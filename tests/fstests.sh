# SPDX-License-Identifier: GPL-2.0
# fstests (xfstests), the file-system world's own regression suite, on dmp devices, with
# the same selection on dm-linear devices in the same run as the baseline. The suite is
# built into the build root (/opt/fstests) by scripts/setup-fstests from the unmodified
# archive in ../shared/third_party/; without it the tests here report themselves skipped.

FSTESTS_SRC=/opt/fstests

# The selection: tests that build dm-flakey (power-cut simulation: writes dropped after a
# point, then a remount must show what was fsync'ed) and dm-log-writes (the whole write
# stream logged and replayed to every FUA/flush mark) on top of SCRATCH_DEV.
# (The hard-link-heavy generic/040 and 041, the fsx tests and generic/482 (fsstress, then
# a dm-thin snapshot checked at every FUA mark) take 1-7 minutes each under emulation here
# and are left out; FSTESTS=... runs any selection.)
# generic/757 replays the log to one FUA mark after another, with a file-system check at
# each, for up to 100 marks: 15 s on ext4 but 220 s on xfs here. fstests' own knob,
# SOAK_DURATION, bounds that loop to FSTESTS_SOAK seconds (30 x STRESS_SCALE by default);
# no other test of the selection has a soak loop.
FSTESTS_FLAKEY="generic/034 generic/039 generic/056 generic/057
	generic/059 generic/065 generic/066 generic/073 generic/090 generic/101 generic/104
	generic/106 generic/107 generic/177 generic/321 generic/322 generic/325 generic/335
	generic/336 generic/341 generic/342 generic/343 generic/348 generic/376 generic/479
	generic/480 generic/481 generic/483 generic/489 generic/498 generic/502 generic/509
	generic/510 generic/512 generic/520 generic/526 generic/527 generic/534 generic/535"
FSTESTS_LOGWRITES="generic/757"
# A quick subset for `make test` and `make test-debug`.
FSTESTS_QUICK="generic/034 generic/039 generic/321 generic/336 generic/335"

fstests_available() {
	[ -x "$FSTESTS_SRC/check" ] ||
		skip "fstests is not built into the build root (scripts/setup-fstests; is" \
			"../shared/third_party/ present?)"
}

# fstests_devices KIND: TEST, SCRATCH and the log-writes log device, as KIND (dmp or
# linear) devices over loop devices backed by sparse files on a tmpfs. The loop devices
# are made once and reused; the dm devices are remade for each KIND.
FST=$SCRATCH/fst
fstests_devices() {
	local kind=$1 n
	if [ ! -e "$FST/loops" ]; then
		mkdir -p "$FST/img"
		mount -t tmpfs -o size=6G fstimg "$FST/img"
		for n in test scratch logw; do
			truncate -s 512M "$FST/img/$n"
			losetup --find --show "$FST/img/$n"
		done >"$FST/loops"
	fi
	local loops
	mapfile -t loops <"$FST/loops"
	for n in fst-test fst-scratch; do dmsetup remove --retry "$n" >/dev/null 2>&1 || true; done
	# Nothing of one contender's run may remain for the next: empty the backing files.
	for n in "${loops[@]}"; do blkdiscard "$n"; done
	local sectors=$((1 << 20))
	if [ "$kind" = dmp ]; then
		dmsetup create fst-test --table "0 $sectors dmp ${loops[0]}"
		dmsetup create fst-scratch --table "0 $sectors dmp ${loops[1]}"
	else
		dmsetup create fst-test --table "0 $sectors linear ${loops[0]} 0"
		dmsetup create fst-scratch --table "0 $sectors linear ${loops[1]} 0"
	fi
	FST_LOGW=${loops[2]}
}

# fstests_run FSTYP KIND TESTS...: run TESTS on KIND devices; writes one line per test,
# "TEST STATUS SECONDS [reason]" (STATUS pass, fail or notrun), to $FST/FSTYP-KIND.
fstests_run() (
	local fstyp=$1 kind=$2; shift 2
	# fstests waits for udev to announce the devices it makes (`udevadm wait` on
	# /dev/mapper/NAME): run udevd and let it manage device-mapper nodes, as on any Debian
	# system, for the duration of the run.
	unset DM_DISABLE_UDEV
	/usr/lib/systemd/systemd-udevd --daemon 2>/dev/null
	udevadm trigger --action=add --subsystem-match=block
	udevadm settle -t 30 || true
	trap 'umount "$FST/test" "$FST/scratch" 2>/dev/null || true
		dmsetup remove fst-test 2>/dev/null || true
		dmsetup remove fst-scratch 2>/dev/null || true
		udevadm settle -t 30 || true
		udevadm control --exit || true' EXIT
	fstests_devices "$kind"
	# fstests runs from a writable copy, made once per boot (reading it over 9p is slow).
	[ -e /tmp/fstests/.copied ] || { cp -a "$FSTESTS_SRC" /tmp/fstests && touch /tmp/fstests/.copied; }
	ln -sfn /tmp/fstests "$FST/src"
	mkdir -p "$FST/test" "$FST/scratch"
	cat >"$FST/src/local.config" <<EOC
export FSTYP=$fstyp
export TEST_DEV=/dev/mapper/fst-test
export TEST_DIR=$FST/test
export SCRATCH_DEV=/dev/mapper/fst-scratch
export SCRATCH_MNT=$FST/scratch
export LOGWRITES_DEV=$FST_LOGW
export RESULT_BASE=$FST/results-$fstyp-$kind
export SOAK_DURATION=${FSTESTS_SOAK:-$((30 * ${STRESS_SCALE:-1}))}
EOC
	case $fstyp in
	ext4) mkfs.ext4 -q -F /dev/mapper/fst-test ;;
	xfs) mkfs.xfs -q -f /dev/mapper/fst-test ;;
	esac
	# Progress, one line per test, as fstests prints it.
	(cd "$FST/src" && ./check -R xunit "$@") 2>&1 | tee "$FST/check-$fstyp-$kind.log" |
		sed -n "s|^\(generic/[0-9]*\) *\(.*\)|    $fstyp $kind \1 \2|p" >&2 || true
	python3 - "$FST/results-$fstyp-$kind/result.xml" "$@" >"$FST/$fstyp-$kind" <<'PY'
import sys, xml.etree.ElementTree as ET
path, wanted = sys.argv[1], sys.argv[2:]
seen = {}
try:
    for tc in ET.parse(path).getroot().iter("testcase"):
        name, secs = tc.get("name"), tc.get("time", "0")
        status, why = "pass", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                status, why = "fail", (child.get("message") or "").replace("\n", " ")[:100]
            elif child.tag == "skipped":
                status, why = "notrun", (child.get("message") or "").replace("\n", " ")[:100]
        seen[name] = f"{name} {status} {secs} {why}".rstrip()
except (OSError, ET.ParseError):
    pass
for t in wanted:
    print(seen.get(t, f"{t} fail 0 no result (fstests did not run it)"))
PY
	# What each failure printed, against what it should have printed (the results
	# directory is gone with the VM).
	local t
	while read -r t _; do
		echo "    $fstyp $kind $t: diff of $t.out and $t.out.bad:" >&2
		diff -u "$FST/src/tests/$t.out" "$FST/results-$fstyp-$kind/$t.out.bad" 2>&1 |
			tail -n +3 | head -n 20 | sed 's/^/      /' >&2 || true
	done < <(awk '$2 == "fail"' "$FST/$fstyp-$kind")
)

# fstests_compare FSTYP TESTS...: run TESTS on dmp and on dm-linear devices and compare.
# A test that fails on dmp but passes on dm-linear is a dmp bug and fails this test; a
# test that fails on both is reported.
fstests_compare() {
	local fstyp=$1; shift
	local kind
	for kind in dmp linear; do
		fstests_run "$fstyp" "$kind" "$@"
	done
	python3 - "$fstyp" "$FST/$fstyp-dmp" "$FST/$fstyp-linear" <<'PY'
import sys
fstyp = sys.argv[1]
def load(p):
    return {l.split()[0]: l.split(None, 3)[1:] for l in open(p) if l.strip()}
dmp, lin = load(sys.argv[2]), load(sys.argv[3])
bad = 0
for kind, res in (("dmp", dmp), ("dm-linear", lin)):
    n = {s: sum(1 for v in res.values() if v[0] == s) for s in ("pass", "fail", "notrun")}
    secs = sum(float(v[1]) for v in res.values())
    print(f"    {fstyp} on {kind}: {len(res)} tests, {n['pass']} passed, {n['fail']} failed, "
          f"{n['notrun']} not run, {secs:.0f} s")
for t in sorted(dmp):
    d, l = dmp[t][0], lin.get(t, ["missing"])[0]
    why = dmp[t][2] if len(dmp[t]) > 2 else ""
    if d == "fail" and l != "fail":
        bad += 1
        print(f"    DMP BUG? {fstyp} {t}: fails on dmp ({why}), {l} on dm-linear")
    elif d == "fail":
        print(f"    {fstyp} {t}: fails on dmp and on dm-linear ({why})")
    elif d != l:
        print(f"    {fstyp} {t}: {d} on dmp, {l} on dm-linear")
    elif d == "notrun":
        print(f"    {fstyp} {t}: not run on either ({why})")
sys.exit(1 if bad else 0)
PY
}

fstests_selection() {
	if [ -n "${FSTESTS:-}" ]; then echo "$FSTESTS"; else echo "$FSTESTS_FLAKEY $FSTESTS_LOGWRITES"; fi
}

stress_fstests_ext4() {
	fstests_available || return 77
	# shellcheck disable=SC2046
	fstests_compare ext4 $(fstests_selection)
}

stress_fstests_xfs() {
	fstests_available || return 77
	modprobe xfs 2>/dev/null || { skip "this kernel has no XFS"; return 77; }
	# shellcheck disable=SC2046
	fstests_compare xfs $(fstests_selection)
}

# The quick subset, in `make test` and `make test-debug`: dm-flakey tests on ext4 over
# dmp; only a test that fails there is run again on dm-linear, to tell a dmp bug from a
# failure of the test itself.
test_fstests_quick() {
	fstests_available || return 77
	# shellcheck disable=SC2086
	fstests_run ext4 dmp $FSTESTS_QUICK
	local failed
	failed=$(awk '$2 == "fail" { print $1 }' "$FST/ext4-dmp")
	awk '{ print "    " $0 }' "$FST/ext4-dmp"
	[ -n "$failed" ] || return 0
	# shellcheck disable=SC2086
	fstests_compare ext4 $failed
}
