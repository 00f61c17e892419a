# SPDX-License-Identifier: GPL-2.0
#
#   make                  build dmp.ko for Debian's stock kernel (sets everything up first)
#   make KDIR=<tree>      build against another Rust-enabled kernel build tree
#   make demo             the README scenario in a VM
#   make test             the test suite in a VM
#   make clean

KDIR ?=
MFLAGS_EXTRA ?=

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
	@scripts/vm tests/run

.PHONY: all clean demo test
