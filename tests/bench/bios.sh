#!/bin/bash
# tests/bench/bios.sh: BIOS boot (SeaBIOS, syslinux, Linux) of one compressed qcow2 disk to
# the guest's first userspace line, kvm-launch vs qemu-system-x86_64 -accel kvm, in one
# test-host run (lane BIOS_BENCH_LANE, default stock). Prints
# `| metric | ours | qemu | ratio | target |` rows. BIOS_BENCH_RUNS (default 2): best of.
set -eu
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-$top/build}
lane=${BIOS_BENCH_LANE:-stock}
runs=${BIOS_BENCH_RUNS:-2}
work=$build/bios-bench
kl=$build/bin/kvm-launch

command -v qemu-system-x86_64 >/dev/null || { echo "bench bios: qemu-system-x86_64 missing" >&2; exit 1; }
[ -x "$kl" ] || { echo "bench bios: build first (make)" >&2; exit 1; }
mkdir -p "$work"
if [ ! -s "$work/disk.qcow2" ] || [ "$work/disk.qcow2" -ot "$top/tests/bios/mkmedia" ]; then
	"$top/tests/bios/mkmedia" disk "$work/disk.img"
	"$build/bin/imgtool" convert -q -c -O qcow2 "$work/disk.img" "$work/disk.qcow2"
	rm -f "$work/disk.img"
fi
cat > "$work/bench.cfg" <<CFG
memory = "256M";
boot = { order = [ "disk" ]; };
disks = ( { file = "disk.qcow2"; readonly = true; } );
CFG

"$top/tests/testhost" --lane "$lane" --rw "$work" --timeout $((runs * 3100 + 120)) -- \
	"$top/tests/bench/bios-inner.sh" "$kl" "$work" "$runs" > "$work/results" 2> "$work/testhost.log" ||
	{ echo "bench bios: test host failed (see $work/testhost.log)" >&2; exit 1; }

# Best run of each; a run that did not exit 0 does not count.
best() {	# best NAME FIELD
	awk -v n="$1" -v f="$2" '$1 == n && $4 == 0 && (b == "" || $f < b) { b = $f } END { print b }' "$work/results"
}
row() {	# row METRIC OURS QEMU
	if [ -z "$2" ] || [ -z "$3" ]; then
		echo "| $1 | ${2:-failed} | ${3:-failed} | - | <= 1.00x |"
		return
	fi
	printf '| %s | %.1f s | %.1f s | %.2fx | <= 1.00x |\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"
}
row "BIOS boot to first userspace line ($lane lane)" "$(best ours 2)" "$(best qemu 2)"
row "BIOS boot to ACPI power-off ($lane lane)" "$(best ours 3)" "$(best qemu 3)"
