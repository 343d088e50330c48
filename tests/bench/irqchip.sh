#!/bin/bash
# tests/bench/irqchip.sh: the in-kernel irqchip, our driver against stock
# kvm_amd, one test-host run per lane (1 CPU: the two vCPU threads take
# turns on it, alike in both lanes): an IPI round trip between two vCPUs
# (vCPU 0 waiting halted, or spinning), the LAPIC timer's interrupt to the
# guest handler out of HLT (one-shot TMICT 1 at divide 1, TSC deadline
# TSC + 1), microseconds per iteration (tests/driver/bench_irq.c); and QEMU's
# default machine (-accel kvm, whole irqchip in the kernel) with -smp 2
# booting the Debian kernel to userspace (tests/driver/qemu.t --inner),
# seconds. TCG dominates every figure, so only the ratio in one run means
# anything. The lanes take turns IRQ_BENCH_ROUNDS times (default 3) and
# each figure is its lane's best: other work on the machine only adds time.
#   IRQ_BENCH_ITERS=N (default 2000)   IRQ_BENCH_QEMU=0 skips the boot
#   IRQ_BENCH_BOOT_TIMEOUT=S (default 240)
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
cd "$TOP"
iters=${IRQ_BENCH_ITERS:-2000}
rounds=${IRQ_BENCH_ROUNDS:-3}
qemu=${IRQ_BENCH_QEMU:-1}
boot_timeout=${IRQ_BENCH_BOOT_TIMEOUT:-240}
KVER=${KVER:-$(mk/kdir.sh --version 2>/dev/null)}
make -s -C tests/driver >&2 || { echo "irqchip bench: build failed" >&2; exit 1; }
[ -f kvm-driver/kvmdrv.ko ] || { echo "irqchip bench: kvm-driver/kvmdrv.ko not built" >&2; exit 1; }

initrd=$BUILD/tests/launcher/initramfs.cpio.gz
if [ "$qemu" = 1 ] && { [ ! -s "$initrd" ] || [ tests/launcher/mkinitramfs.sh -nt "$initrd" ]; }; then
	mkdir -p "$(dirname "$initrd")"
	tests/launcher/mkinitramfs.sh "$initrd" "$KVER" >&2 ||
		{ echo "irqchip bench: no initramfs, no QEMU boot" >&2; qemu=0; }
fi
command -v qemu-system-x86_64 >/dev/null || qemu=0

# best OLD NEW: the smaller positive figure of the two (a failed run gives none).
best() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && (a <= 0 || b < a)) print b; else if (a > 0) print a }'
}

# Both streams through one descriptor: the test host carries stdout and
# stderr apart and would interleave their characters. The QEMU boot runs
# in the first round only.
declare -A res
status=0
for round in $(seq "$rounds"); do
	inner="exec 2>&1; $BUILD/tests/bench/irq_bench $iters"
	[ "$qemu" = 1 ] && [ "$round" = 1 ] &&
		inner="$inner; bash $TOP/tests/driver/qemu.t --inner $initrd pc/2"
	for lane in stock ours; do
		out=$(tests/testhost --lane "$lane" --timeout $((boot_timeout + 300)) \
			--env QEMU_T_TIMEOUT="$boot_timeout" -- sh -c "$inner" 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep '^bench_irq' | sed "s/^/[$lane] /" >&2
		for m in ipi_hlt_us ipi_spin_us timer_oneshot_us timer_tscdl_us; do
			v=$(printf '%s\n' "$out" | sed -n "s/^$m //p" | tail -n1)
			res[$lane.$m]=$(best "${res[$lane.$m]:-}" "$v")
		done
		if [ $rc -ne 0 ]; then
			echo "irqchip bench: [$lane] test host status $rc" >&2
			status=1
		fi
		[ "$round" = 1 ] || continue
		# The boot counts when the guest saw both CPUs and its command ran.
		res[$lane.boot]=""
		us=$(printf '%s\n' "$out" | sed -n 's/^QEMU-T userspace_cs //p' | tail -n1)
		if [ -n "$us" ] && printf '%s\n' "$out" | grep -qx "QEMU-T-CMD 42 $KVER cpus=2" &&
		   printf '%s\n' "$out" | grep -qx 'QEMU-T status 0'; then
			res[$lane.boot]=$((us / 100)).$(printf '%02d' $((us % 100)))
		elif [ "$qemu" = 1 ]; then
			echo "irqchip bench: [$lane] qemu -smp 2 boot failed (test host status $rc)" >&2
			printf '%s\n' "$out" | grep -v "host doesn't support" | tail -n 15 | sed 's/^/# /' >&2
		fi
	done
done

row() {
	local name=$1 unit=$2 m=$3 o=${res[ours.$3]:-} s=${res[stock.$3]:-}
	local ratio
	ratio=$(awk -v o="$o" -v s="$s" 'BEGIN { if (s > 0 && o > 0) printf "%.2fx", o / s; else print "n/a" }')
	echo "| irqchip: $name ($unit) | ${o:-n/a} | ${s:-n/a} (kvm_amd) | $ratio | <= 1.0x |"
}
row "IPI round trip, vCPU 0 halted" us ipi_hlt_us
row "IPI round trip, vCPU 0 spinning" us ipi_spin_us
row "LAPIC one-shot timer (TMICT 1) to handler, out of HLT" us timer_oneshot_us
row "LAPIC TSC-deadline timer (TSC + 1) to handler, out of HLT" us timer_tscdl_us
[ "$qemu" = 1 ] && row "qemu -accel kvm -smp 2 boot to userspace" s boot
exit $status
