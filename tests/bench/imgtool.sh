#!/bin/bash
# tests/bench/imgtool.sh: imgtool vs qemu-img on a 2 GiB ext4 image of real files: compressed convert and decompression.
# Prints `| metric | ours | qemu-img | ratio | target |` rows, medians of IMGTOOL_BENCH_RUNS (3) back-to-back pairs.
# The disk and the helpers: imgtool-lib.bash.
set -eu
. "$(dirname "$0")/imgtool-lib.bash"

# The other engineers' emulators share these 2 CPUs, and the load moves
# from minute to minute: ours and qemu-img run back to back, each pair
# gives one ratio, and the table shows medians over $RUNS pairs.
cat "$W/disk.raw" >/dev/null	# page cache warm for the first run too
load0=$(cut -d" " -f1 /proc/loadavg)
ow=() qw=() oc=() qc=() rc=()
for _ in $(seq "$RUNS"); do
	timeit "$I" convert -c -O qcow2 "$W/disk.raw" "$W/ours.qcow2"
	ow+=("$wall") oc+=("$cpu")
	timeit qemu-img convert -c -O qcow2 "$W/disk.raw" "$W/qemu.qcow2"
	qw+=("$wall") qc+=("$cpu")
	rc+=("$(div "$wall" "${ow[-1]}")")
done
so=$(stat -c %s "$W/ours.qcow2")
sq=$(stat -c %s "$W/qemu.qcow2")
qemu-img check -q "$W/ours.qcow2" || { echo "bench imgtool: our image fails qemu-img check" >&2; exit 1; }
qemu-img compare -q "$W/ours.qcow2" "$W/disk.raw" || { echo "bench imgtool: our image differs" >&2; exit 1; }

odw=() qdw=() odc=() qdc=() rd=()
for _ in $(seq "$RUNS"); do
	timeit "$I" convert -O raw "$W/qemu.qcow2" "$W/out-ours.raw"
	odw+=("$wall") odc+=("$cpu")
	timeit qemu-img convert -O raw "$W/qemu.qcow2" "$W/out-qemu.raw"
	qdw+=("$wall") qdc+=("$cpu")
	rd+=("$(div "$wall" "${odw[-1]}")")
done
cmp -s "$W/out-ours.raw" "$W/disk.raw" || { echo "bench imgtool: decompressed image differs" >&2; exit 1; }
rm -f "$W/out-ours.raw" "$W/out-qemu.raw"

mib=$(($(stat -c %s "$W/disk.raw") / 1048576))
# With the CPUs saturated by others, each session (autogroup) gets about its
# fair share whatever its thread count, so a parallel tool loses its edge: the
# wall-clock targets hold on an idle machine only. The load is in the table.
echo "| imgtool bench: 1-min load average at start, at end ($(nproc) CPUs) | $load0 | $(cut -d' ' -f1 /proc/loadavg) | - | info: wall targets need an idle machine |"
echo "bench imgtool: compress wall ours ${ow[*]} qemu ${qw[*]}; decompress wall ours ${odw[*]} qemu ${qdw[*]}" >&2
echo "| imgtool convert -c -O qcow2, ${mib} MiB ext4, wall (s, median of $RUNS) | $(fmt "$(median "${ow[@]}")") | $(fmt "$(median "${qw[@]}")") | $(fmt "$(median "${rc[@]}")")x faster | >= 1.9x |"
echo "| imgtool convert -c -O qcow2, CPU (s) | $(fmt "$(median "${oc[@]}")") | $(fmt "$(median "${qc[@]}")") | $(fmt "$(div "$(median "${oc[@]}")" "$(median "${qc[@]}")")")x | info |"
echo "| imgtool compressed size (MiB) | $(fmt "$(div "$so" 1048576)") | $(fmt "$(div "$sq" 1048576)") | $(fmt "$(div "$so" "$sq")")x | <= 1.01x |"
echo "| imgtool convert compressed qcow2 -> raw, wall (s, median of $RUNS) | $(fmt "$(median "${odw[@]}")") | $(fmt "$(median "${qdw[@]}")") | $(fmt "$(median "${rd[@]}")")x faster | >= 1.0x |"
echo "| imgtool convert compressed qcow2 -> raw, CPU (s) | $(fmt "$(median "${odc[@]}")") | $(fmt "$(median "${qdc[@]}")") | $(fmt "$(div "$(median "${odc[@]}")" "$(median "${qdc[@]}")")")x | info |"
