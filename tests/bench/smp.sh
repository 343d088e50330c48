#!/bin/bash
# tests/bench/smp.sh: the launcher bench with 4 vCPUs (1-CPU test host):
# kvm-launch (vcpus = 4, in-kernel irqchip) against qemu-system-x86_64
# -accel kvm -smp 4, same kernel, initramfs and disk: boot to the first
# userspace line, RSS beyond guest RAM, IDE reads. Stock lane only by
# default: SMP needs KVM_CAP_IRQCHIP, which our driver does not offer yet.
export KL_VCPUS=4
export KL_LANES=${KL_LANES:-stock}
exec bash "$(dirname "$0")/launcher.sh"
