# Top-level Makefile: builds the driver, kvm-launch and imgtool; runs tests.
#   make            build everything (tools in build/bin, module in kvm-driver/)
#   make check      every test (installs missing Debian packages as root)
#   make demo       boot a guest on our driver
#   make bench      side-by-side ratios against stock KVM, QEMU, qemu-img
#   make check-vmx  the driver tests under Bochs (Intel VMX), slow
#   make check-selftests  the kernel's KVM selftests on stock kvm_amd and ours, slow
#   make check-hostile  hostile guests and the ioctl fuzzer, many seeds, both lanes
#   make fuzz       bounded fuzzing of the image parser
#   make install    DESTDIR and PREFIX honoured

TOP     := $(CURDIR)
PREFIX  ?= /usr/local
DESTDIR ?=
KDIR    ?= $(shell $(TOP)/mk/kdir.sh 2>/dev/null)
export TOP KDIR

MANPAGES := $(wildcard man/*.[1-9])

all: tools module driver-tests hostile-tests

tools:
	$(MAKE) -C imgtool
	$(MAKE) -C launcher

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run 'make deps'" >&2; exit 1; }
	$(MAKE) -C kvm-driver KDIR=$(KDIR)

# The driver test programs (run in the test host by tests/driver/driver.t).
driver-tests:
	$(MAKE) -C tests/driver

# The hostile-guest runner and the ioctl fuzzer (tests/hostile/hostile.t).
hostile-tests:
	$(MAKE) -C tests/hostile

# The same userspace, built with ASan and UBSan, for the tests.
tools-san:
	$(MAKE) -C imgtool SAN=1 all tests
	$(MAKE) -C launcher SAN=1 all tests

deps:
	mk/deps.sh --install

deps-check:
	@mk/deps.sh --install

sparse:
	$(MAKE) -C kvm-driver KDIR=$(KDIR) sparse

# Test list: unit binaries (sanitized) first, then scripts, fast to slow.
check: deps-check
	$(MAKE) all
	$(MAKE) tools-san
	tests/run-all

check-vmx: deps-check all
	tests/run-all --vmx

# Not part of check: two test hosts (stock, ours), 67 tests each.
check-selftests: deps-check all
	tests/selftests/run

# Not part of check (which runs a short hostile.t): 40 seeds of hostile
# guests and 64 of the ioctl fuzzer per lane, a few minutes a lane; a test
# host a guest hangs is ended, named and replaced (tests/hostile/hostile.t).
check-hostile: deps-check all
	HOSTILE_LONG=1 prove --exec '' --timer -v tests/hostile/hostile.t

demo: deps-check all
	tests/demo

bench: deps-check all
	tests/bench/run

fuzz: deps-check
	$(MAKE) -C imgtool fuzz

install: tools
	$(MAKE) -C imgtool install
	$(MAKE) -C launcher install
	for m in $(MANPAGES); do \
		s=$${m##*.}; install -D -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/$$(basename $$m); \
	done
	for c in configs/*.cfg; do \
		[ -f "$$c" ] && install -D -m 644 $$c $(DESTDIR)$(PREFIX)/share/kvm-launch/configs/$$(basename $$c); \
	done; true
	@if [ -f kvm-driver/kvmdrv.ko ]; then \
		install -D -m 644 kvm-driver/kvmdrv.ko $(DESTDIR)$(PREFIX)/lib/kvm-driver/kvmdrv.ko; fi

clean:
	rm -rf build build-san
	-$(MAKE) -C kvm-driver KDIR=$(KDIR) clean >/dev/null 2>&1

.PHONY: all tools module driver-tests hostile-tests tools-san deps deps-check sparse check \
	check-vmx check-selftests check-hostile \
	demo bench fuzz install clean
