#!/bin/bash
# tests/bench/vmx.sh: VM exit costs on Intel VMX (Bochs vmx lane): ours against kvm_intel, one boot per lane, markdown rows.
#   VMX_BENCH_N=iterations per loop (default 2000)
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
BUILD=${BUILD:-$top/build}
n=${VMX_BENCH_N:-2000}

make -s -C tests/vmx || exit 1
bench=$BUILD/tests/vmx/bench_exits
declare -A val
for lane in stock ours; do
	out=$(tests/vmxhost --lane "$lane" --timeout "${VMX_TIMEOUT:-3600}" \
		--stage "$bench" -- "$bench" "$n") || {
		echo "vmx bench: lane $lane failed" >&2
		echo "$out" >&2
		exit 1
	}
	while read -r k v; do
		val[$lane.$k]=$v
	done <<< "$out"
done
status=0
for m in cpuid_exit_ns pio_roundtrip_ns mmio_roundtrip_ns; do
	o=${val[ours.$m]:-} s=${val[stock.$m]:-}
	if [ -z "$o" ] || [ -z "$s" ]; then
		echo "vmx bench: no $m figure" >&2
		status=1
		continue
	fi
	ratio=$(awk -v o="$o" -v s="$s" 'BEGIN { printf "%.2f", o / s }')
	echo "| vmx $m (Bochs) | $o | $s (kvm_intel) | ${ratio}x | <= 1.0x (aim 0.8x) |"
done
exit $status
