#!/bin/bash
# tests/launcher/virtio.t: the virtio entropy device (rng = true) in the test
# host. Linux's virtio_pci and virtio-rng read 64 KiB from
# /dev/hwrng with irqchip = "kernel" (2 vCPUs, MSI-X vectors through
# irqfds; then again through the legacy interface, force_legacy=1),
# "user" (INTA on the 8259, IRQ 11) and "split" with pci=nomsi (a level
# IOAPIC pin, so KVM_EXIT_IOAPIC_EOI). One test-host boot per lane.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
# A lane whose hypervisor has no KVM_CAP_IRQCHIP must refuse "kernel" and
# "split" (2 vCPUs) with that reason; their other points are then skipped.
set -u
. "$(dirname "$0")/../lib/guest.sh"
plan 13

# The tagged lines of boot $1 matching $2.
lines() { printf '%s\n' "$out" | grep -E "^$1\| $2"; }
# 64 KiB read, and it does not compress (it is not zeros or a pattern): pass $2.
read_ok() { lines "$1" "KL-BYTES" | sed -n "${2}p" | awk '$3 == 65536 && $5 > 65000 { f = 1 } END { exit !f }'; }
# Interrupts counted on every CPU, summed, of the KL-IRQ lines matching $2.
irqs() { lines "$1" "KL-IRQ .*$2" | awk '{ for (i = 4; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }'; }
refused() { lines "$1" ".*no in-kernel interrupt controller \(KVM_CAP_IRQCHIP\)" >/dev/null; }

# kl-rngtest (mkinitramfs.sh): loadvirtio, rng_current, the VERSION_1 bit
# negotiated, 64 KiB from /dev/hwrng, the virtio lines of /proc/interrupts.
for lane in $LANES; do
	dir=$(mktemp -d "$BUILD/tests/launcher/virtio.XXXXXX")
	cp "$initrd" "$dir/initrd.img"
	mkcfg() {	# name vcpus extra-settings cmdline-options guest-command
		cat > "$dir/$1.cfg" <<EOF2
name = "$1";
memory = "256M";
vcpus = $2;
$3
rng = true;
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k tsc=reliable $4 -- $5";
};
serial = { output = "stdio"; };
EOF2
	}
	mkcfg kernel 2 "" "" "kl-rngtest; rmmod virtio_rng virtio_pci; kl-rngtest virtio_pci force_legacy=1"
	mkcfg user 1 'irqchip = "user";' "" "kl-rngtest"
	mkcfg split 2 'irqchip = "split";' "pci=nomsi" "kl-rngtest"

	out=$("$TOP/tests/testhost" --lane "$lane" --smp "${KL_TESTHOST_CPUS:-1}" --timeout 900 --rw "$dir" -- \
		"$TOP/tests/launcher/virtio-inner.sh" "$KL" "$dir" kernel user split 2>&1)
	st=$?
	printf '%s\n' "$out" | grep -E '^[a-z]+(\| (KL-(RNG|BYTES|IRQ)|kvm-launch|/)|-STATUS)' | head -40 | sed 's/^/# /'
	check '[ $st -eq 0 ]' "$lane: test host ran (status $st)"

	if refused kernel; then
		check 'lines kernel "" | grep -q "vcpus: .*KVM_CAP_IRQCHIP" && printf "%s\n" "$out" | grep -q "^kernel-STATUS 1$"' \
			"$lane: irqchip = \"kernel\" with 2 vCPUs refused: no KVM_CAP_IRQCHIP (file:line, capability named)"
		for i in 1 2 3 4; do skip "$lane: kernel point $i: the hypervisor has no in-kernel irqchip"; done
	else
		check 'printf "%s\n" "$out" | grep -q "^kernel-STATUS 0$" && lines kernel "KL-EXIT: 0" >/dev/null' \
			"$lane: kernel: boots, reads, ends with status 0"
		check 'lines kernel "KL-RNG virtio_rng.0 KL-VERSION_1 1" >/dev/null' \
			"$lane: kernel: virtio_rng.0 is the hwrng, through the virtio 1.0 interface"
		check 'read_ok kernel 1' "$lane: kernel: 64 KiB of random bytes"
		msix=$(irqs kernel "PCI-MSI.*virtio[0-9]-input")
		check '[ "$msix" -gt 0 ] && [ "$(lines kernel "KL-IRQ .*PCI-MSI.*virtio[0-9]-config" | wc -l)" -eq 2 ]' \
			"$lane: kernel: MSI-X vectors for config and the queue, $msix queue interrupts"
		check 'lines kernel "KL-RNG virtio_rng.0 KL-VERSION_1 0" >/dev/null && read_ok kernel 2' \
			"$lane: kernel: force_legacy=1: the legacy interface reads 64 KiB too"
	fi

	check 'printf "%s\n" "$out" | grep -q "^user-STATUS 0$" && lines user "KL-EXIT: 0" >/dev/null' \
		"$lane: user: boots, reads, ends with status 0"
	check 'lines user "KL-RNG virtio_rng.0" >/dev/null && read_ok user 1' "$lane: user: 64 KiB of random bytes"
	intx=$(irqs user "XT-PIC +virtio0")
	check '[ "$intx" -gt 0 ] && lines user "KL-IRQ 1[01]: .*XT-PIC +virtio0" >/dev/null' \
		"$lane: user: INTA on the 8259 (IRQ 10 or 11), $intx interrupts"

	if refused split; then
		check 'printf "%s\n" "$out" | grep -q "^split-STATUS 1$"' \
			"$lane: irqchip = \"split\" with 2 vCPUs refused: no KVM_CAP_IRQCHIP"
		skip "$lane: split: the hypervisor has no in-kernel irqchip"
		skip "$lane: split: the hypervisor has no in-kernel irqchip"
	else
		check 'printf "%s\n" "$out" | grep -q "^split-STATUS 0$" && lines split "KL-EXIT: 0" >/dev/null' \
			"$lane: split, pci=nomsi: boots, reads, ends with status 0"
		check 'read_ok split 1' "$lane: split: 64 KiB of random bytes"
		level=$(irqs split "IO-APIC +1[01]-fasteoi +virtio0")
		check '[ "$level" -gt 0 ]' \
			"$lane: split: INTA as a level IOAPIC pin (fasteoi) in kvm-launch, $level interrupts"
	fi
	check '! printf "%s\n" "$out" | grep -Eq "(WARNING|BUG|Oops):|needs a reset|virtio-rng:|loadvirtio:"' \
		"$lane: no WARN, BUG, oops, broken queue or module failure"
	rm -rf "$dir"
done
