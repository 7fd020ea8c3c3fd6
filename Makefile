# qemu-vmbus: top-level make. `make` builds build/qemu-system-x86_64,
# `make check` runs every test suite, `make demo` boots the built-in guest.

BUILD := build
QEMU_BUILD := $(BUILD)/qemu
SAN_BUILD := $(BUILD)/san
EMULATOR := $(BUILD)/qemu-system-x86_64
MESON_TEST := meson test --no-rebuild --print-errorlogs

# Paths relative to the checkout in ccache's hash, so that another clone (CI's)
# reuses what this one compiled.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all reconfigure check check-qtest check-overlay check-sanitizers \
	fuzz-build fuzz-smoke fuzz demo demo-shell docs clean distclean

all: $(BUILD)/config.mk
	@echo "==> building qemu-system-x86_64 in $(QEMU_BUILD)" \
		"(the first build takes about 8 minutes on 2 cores)"
	ninja -C $(QEMU_BUILD) qemu-system-x86_64
	ln -sfn qemu/qemu-system-x86_64 $(EMULATOR)

# Configure on first use, and again when the overlay's wiring changes.
$(BUILD)/config.mk: configure scripts/install-deps.sh scripts/qemu-source.sh \
		scripts/link-overlay.sh patches/series $(wildcard patches/*.patch) \
		configs/x86_64-softmmu-qemu-vmbus.mak meson.build
	./configure

reconfigure:
	./configure

TEST_LOGS := $(QEMU_BUILD)/meson-logs/testlog.json \
	$(BUILD)/tests/meson-logs/testlog.json

# Every suite runs even when an earlier one fails; the last line counts them all.
# The overlay's suites include the fuzz smoke run, hence the sanitizer build.
check: all fuzz-build
	@rm -f $(TEST_LOGS)
	@rc=0; \
	$(MAKE) --no-print-directory check-qtest || rc=1; \
	$(MAKE) --no-print-directory check-overlay || rc=1; \
	scripts/test-summary.py $(TEST_LOGS) || rc=1; \
	exit $$rc

check-qtest: $(BUILD)/config.mk
	ninja -C $(QEMU_BUILD) vmbus-qtests
	cd $(QEMU_BUILD) && $(MESON_TEST) --suite vmbus-qtest

check-overlay: $(BUILD)/config.mk
	cd $(BUILD)/tests && $(MESON_TEST) --suite vmbus

# The clang build with ASan, UBSan and libFuzzer (./configure --sanitizers).
$(SAN_BUILD)/build.ninja: $(BUILD)/config.mk
	./configure --sanitizers

fuzz-build: $(SAN_BUILD)/build.ninja
	@echo "==> building the sanitizer build's fuzzer in $(SAN_BUILD)" \
		"(the first build takes about 15 minutes on 2 cores)"
	ninja -C $(SAN_BUILD) qemu-fuzz-x86_64

# Every fuzz target for FUZZ_SMOKE_TIME seconds; a crash or leak fails it.
FUZZ_SMOKE_TIME := 20
fuzz-smoke: fuzz-build
	scripts/fuzz.sh smoke $(FUZZ_SMOKE_TIME)

# A longer campaign, TIME in CPU seconds: make fuzz TARGET=vmbus-hv-net TIME=1800
TARGET := vmbus-hv-net
TIME := 600
fuzz: fuzz-build
	scripts/fuzz.sh run $(TARGET) $(TIME)

# The whole of make check against the sanitizer build's emulator: any ASan
# or UBSan report, or a leak at exit, fails the test that caused it. That
# emulator is about SAN_SLOWDOWN times slower: meson's timeouts and the guest
# tests' own deadlines (QEMU_VMBUS_SLOWDOWN) stretch by as much.
SAN_SLOWDOWN := 3
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt
check-sanitizers: fuzz-build
	ninja -C $(SAN_BUILD) qemu-system-x86_64 vmbus-qtests
	@rc=0; \
	(cd $(SAN_BUILD) && $(SAN_ENV) $(MESON_TEST) --suite vmbus-qtest \
		--timeout-multiplier 4) || rc=1; \
	meson setup --reconfigure $(BUILD)/tests-san . \
		-Dqemu=$(CURDIR)/$(SAN_BUILD)/qemu-system-x86_64 >/dev/null || \
	meson setup $(BUILD)/tests-san . \
		-Dqemu=$(CURDIR)/$(SAN_BUILD)/qemu-system-x86_64 >/dev/null; \
	(cd $(BUILD)/tests-san && $(SAN_ENV) \
		QEMU_VMBUS_SLOWDOWN=$(SAN_SLOWDOWN) $(MESON_TEST) --suite vmbus \
		--timeout-multiplier $(SAN_SLOWDOWN)) || rc=1; \
	scripts/test-summary.py $(SAN_BUILD)/meson-logs/testlog.json \
		$(BUILD)/tests-san/meson-logs/testlog.json || rc=1; \
	exit $$rc

# HTML documentation in build/docs; any Sphinx warning is an error.
docs: $(BUILD)/config.mk
	/usr/bin/sphinx-build -W --keep-going -q -b html docs $(BUILD)/docs

demo: all
	scripts/demo.sh $(EMULATOR)

demo-shell: all
	scripts/demo.sh $(EMULATOR) --interactive

clean:
	-ninja -C $(QEMU_BUILD) clean

distclean:
	rm -rf $(BUILD) .qemu
