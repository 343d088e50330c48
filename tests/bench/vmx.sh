#!/bin/bash
# tests/bench/vmx.sh: VM exit costs on Intel VMX (Bochs vmx lane): ours against kvm_intel, one boot per lane, markdown rows.
# Uses the driver bench client (tests/driver/bench_exits.c, the one the SVM
# rows use) when it is built, else tests/vmx/bench_exits.c.
#   VMX_BENCH_N=iterations per loop (default 2000)
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
BUILD=${BUILD:-$top/build}
n=${VMX_BENCH_N:-2000}

make -s -C tests/vmx >&2 || exit 1
[ -f tests/driver/Makefile ] && make -s -C tests/driver >&2
if [ -x "$BUILD/tests/bench/driver_bench" ]; then
	bench=$BUILD/tests/bench/driver_bench
	metrics="cpuid_us pio_us mmio_us" unit=us
else
	bench=$BUILD/tests/vmx/bench_exits
	metrics="cpuid_exit_ns pio_roundtrip_ns mmio_roundtrip_ns" unit=ns
fi
declare -A val
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Both lanes at once (Bochs uses one CPU each); ratios come from one run.
for lane in stock ours; do
	tests/vmxhost --lane "$lane" --timeout "${VMX_TIMEOUT:-3600}" \
		--stage "$bench" -- "$bench" "$n" > "$out/$lane" 2> "$out/$lane.err" &
	echo $! > "$out/$lane.pid"
done
for lane in stock ours; do
	if ! wait "$(cat "$out/$lane.pid")"; then
		echo "vmx bench: lane $lane failed" >&2
		cat "$out/$lane" "$out/$lane.err" >&2
		exit 1
	fi
	while read -r k v; do
		val[$lane.$k]=$v
	done < "$out/$lane"
done
status=0
for m in $metrics; do
	o=${val[ours.$m]:-} s=${val[stock.$m]:-}
	if [ -z "$o" ] || [ -z "$s" ]; then
		echo "vmx bench: no $m figure" >&2
		status=1
		continue
	fi
	case $m in
	cpuid*) name="in-kernel CPUID exit" ;;
	pio*) name="PIO exit to userspace and back" ;;
	*) name="MMIO exit to userspace and back" ;;
	esac
	ratio=$(awk -v o="$o" -v s="$s" 'BEGIN { if (s > 0 && o > 0) printf "%.2fx", o / s; else print "n/a" }')
	echo "| vmx (Bochs): $name ($unit/iter) | $o | $s (kvm_intel) | $ratio | <= 1.0x (aim 0.8x) |"
done
exit $status
