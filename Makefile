# SPDX-License-Identifier: GPL-2.0
#
#   make                  build dmp.ko for Debian's stock kernel (sets everything up first)
#   make KVER=<abi>       ... for that Debian kernel, e.g. 7.3.4+deb13-amd64 (trixie-backports)
#                         or 7.2.13+deb14-amd64 (sid); test, demo, stress and deb take it too
#   make KDIR=<tree>      build against another Rust-enabled kernel build tree (add LLVM=...
#                         if that tree was built with clang)
#   make deb              the Debian packages: dmp.ko, dmp-modules-<abi>_<version>_amd64.deb, and
#                         the tools, dmp-tools_<version>_all.deb
#   make test-deb         install, use and remove them in a VM booted with systemd
#   make demo             the README scenario in a VM
#   make test             lint, then the test suite in a VM      (TESTS="test_a topic_b":
#                         tests or topics, in that order; tests/run --list lists them),
#                         the memory test in a second VM with 255 possible CPUs
#   make test-debug       the sanitizer lane: KUnit, then the test suite in a VM running a
#                         KASAN/lockdep/kmemleak/UBSAN kernel built from the same source
#   make test-race        the race-detector lane: the concurrency tests and random operation
#                         sequences in a VM running a KCSAN kernel (C and Rust instrumented)
#                         built from the same source
#   make stress           the stress suite in a VM: hostile input, load, faults, fstests on
#                         ext4 and xfs over dmp and dm-linear (STRESS_SCALE=N runs longer;
#                         TESTS=... as for make test)
#   make bench            the benchmark against dm-linear and the raw device in a VM, about
#                         22 min over 3 VM boots (BENCH=quick: about 3 min, BENCH=long: about 55 min;
#                         CPUS=N: N vCPUs); results in out/bench/latest/
#   make bench-profile    perf profiles of dm-linear and dmp (WORKLOAD=randread-4k-qd32)
#   make bench-floor      where dmp's cost on 4 KiB I/O comes from, step by step, about 18 min
#   make lint             rustfmt and clippy
#   make clean

KDIR ?=
KVER ?=
# The Debian kernel the scripts build for, set up and boot (scripts/lib.sh).
ifneq ($(KVER),)
export DMP_KVER := $(KVER)
endif

ifeq ($(KDIR),)
all:
	@scripts/build

clean:
	@scripts/build clean
else
all:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f kernel_staging/bindings_generated.rs
endif

demo: all
	@scripts/vm tests/demo.sh

test: all fstests blktests lvm toolbox
	@scripts/lint
	@scripts/suite $(TESTS)

test-debug: fstests blktests lvm toolbox
	@DMP_KERNEL=debug scripts/lint
	@DMP_VM_TIMEOUT=$${DMP_VM_TIMEOUT:-7200} scripts/vm --debug tests/debug-run $(TESTS)

test-race: fstests blktests lvm toolbox
	@DMP_KERNEL=race scripts/lint
	@tests/race/build
	@DMP_VM_TIMEOUT=$${DMP_VM_TIMEOUT:-7200} scripts/vm --race tests/race-run $(TESTS)

# The stress suite, then (unless TESTS names others) the boot with systemd and udev that
# re-attaches an LVM volume (scripts/attach-boot) and the sanitizer kernel's longer tests
# (tests/debug-run more); each ends with "N passed, N failed". TESTS="attach-boot" or
# TESTS="sanitizer-more" runs only that part.
stress: all fstests blktests lvm toolbox
	@rc=0; t="$(filter-out attach-boot sanitizer-more,$(TESTS))"; \
	if [ -z "$(strip $(TESTS))" ] || [ -n "$$t" ]; then \
		DMP_VM_MEM=$${DMP_VM_MEM:-4G} DMP_VM_POSSIBLE=$${DMP_VM_POSSIBLE:-255} DMP_VM_TIMEOUT=$${DMP_VM_TIMEOUT:-7200} scripts/vm \
		"STRESS_SCALE=$${STRESS_SCALE:-1} STRESS_TABLES=$${STRESS_TABLES:-1000} FSTESTS='$(FSTESTS)' tests/run --stress $$t" || rc=1; \
	fi; \
	if [ -z "$(strip $(TESTS))" ] || [ -n "$(filter attach-boot,$(TESTS))" ]; then scripts/attach-boot || rc=1; fi; \
	if [ -z "$(strip $(TESTS))" ] || [ -n "$(filter sanitizer-more,$(TESTS))" ]; then \
		{ DMP_KERNEL=debug scripts/lint && \
		DMP_VM_TIMEOUT=$${DMP_VM_TIMEOUT:-7200} scripts/vm --debug tests/debug-run more; } || rc=1; \
	fi; \
	exit $$rc

# fstests, built into the build root from ../shared/third_party/ (skipped if absent)
fstests:
	@scripts/setup-fstests

# blktests (skipped if absent) and the zoned and DAX tests' tools, into the build root
blktests:
	@scripts/setup-blktests

# dmpctl, dmpstat, the udev rule and the systemd unit, into DESTDIR (default /)
install-tools:
	@tools/install $(DESTDIR)

# lvm2, xfsprogs, systemd and udev for dmpctl's tests, into the build root
lvm:
	@scripts/setup-lvm

# Prometheus, node_exporter, prometheus_client and tmux for the toolbox's tests
toolbox:
	@scripts/setup-toolbox

lint:
	@scripts/lint

bench: all
	@CPUS=$(CPUS) bench/bench

bench-profile: all
	@CPUS=$(CPUS) bench/bench --profile $(WORKLOAD)

bench-floor: all
	@CPUS=$(CPUS) bench/bench --floor

bench-slow: all
	@CPUS=$(CPUS) bench/bench --slow

deb:
	@scripts/deb

test-deb: deb lvm toolbox
	@scripts/vm --systemd tests/deb-run

.PHONY: all clean demo test test-debug test-race stress fstests blktests lvm toolbox install-tools lint deb test-deb bench bench-profile bench-floor bench-slow
