# Device configuration for qemu-vmbus's x86_64-softmmu: QEMU's defaults, with
# upstream's VMBus (and what hangs off it) replaced by the overlay's.

include default.mak

CONFIG_VMBUS=n
CONFIG_SYNDBG=n
CONFIG_HV_BALLOON=n
