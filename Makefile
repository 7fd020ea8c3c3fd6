# qemu-vmbus: top-level make. `make` builds build/qemu-system-x86_64,
# `make check` runs every test suite, `make demo` boots the built-in guest.

BUILD := build
QEMU_BUILD := $(BUILD)/qemu
EMULATOR := $(BUILD)/qemu-system-x86_64
MESON_TEST := meson test --no-rebuild --print-errorlogs

# Paths relative to the checkout in ccache's hash, so that another clone (CI's)
# reuses what this one compiled.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all reconfigure check check-qtest check-overlay demo demo-shell docs clean distclean

all: $(BUILD)/config.mk
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
check: all
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
