# SPDX-License-Identifier: GPL-2.0
#
#   make                  build dmp.ko for Debian's stock kernel (sets everything up first)
#   make KDIR=<tree>      build against another Rust-enabled kernel build tree (add LLVM=...
#                         if that tree was built with clang)
#   make demo             the README scenario in a VM
#   make test             lint, then the test suite in a VM      (TESTS="test_a test_b")
#   make test-debug       the sanitizer lane: KUnit, then the test suite in a VM running a
#                         KASAN/lockdep/kmemleak/UBSAN kernel built from the same source
#   make stress           the stress suite in a VM (hostile input, load, faults)
#   make lint             rustfmt and clippy
#   make clean

KDIR ?=

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
	rm -f dm_bindings_generated.rs
endif

demo: all
	@scripts/vm tests/demo.sh

test: all
	@scripts/lint
	@scripts/vm tests/run $(TESTS)

test-debug:
	@DMP_KERNEL=debug scripts/lint
	@scripts/vm --debug tests/debug-run $(TESTS)

stress: all
	@DMP_VM_MEM=$${DMP_VM_MEM:-3G} scripts/vm tests/run --stress $(TESTS)

lint:
	@scripts/lint

.PHONY: all clean demo test test-debug stress lint
