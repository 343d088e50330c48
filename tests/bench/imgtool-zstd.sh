#!/bin/bash
# tests/bench/imgtool-zstd.sh: imgtool vs qemu-img, zstd-compressed qcow2 (compression_type=zstd) from the
# 2 GiB ext4 image of real files (imgtool-lib.bash), and back to raw.
# Prints `| metric | ours | qemu-img | ratio | target |` rows, medians of IMGTOOL_BENCH_RUNS (3) back-to-back pairs.
set -eu
. "$(dirname "$0")/imgtool-lib.bash"

cat "$W/disk.raw" >/dev/null	# page cache warm for the first run too
load0=$(cut -d" " -f1 /proc/loadavg)
pair "$I" convert -c -O qcow2 -o compression_type=zstd "$W/disk.raw" "$W/ours-zstd.qcow2" -- \
	qemu-img convert -c -O qcow2 -o compression_type=zstd "$W/disk.raw" "$W/qemu-zstd.qcow2"
cw=("${ow[@]}") cq=("${qw[@]}") cco=("${oc[@]}") ccq=("${qc[@]}") cr=("${r[@]}")
so=$(stat -c %s "$W/ours-zstd.qcow2")
sq=$(stat -c %s "$W/qemu-zstd.qcow2")
qemu-img check -q "$W/ours-zstd.qcow2" || { echo "bench imgtool-zstd: our image fails qemu-img check" >&2; exit 1; }
qemu-img compare -q "$W/ours-zstd.qcow2" "$W/disk.raw" || { echo "bench imgtool-zstd: our image differs" >&2; exit 1; }
qemu-img info "$W/ours-zstd.qcow2" | grep -q "compression type: zstd" || { echo "bench imgtool-zstd: not zstd" >&2; exit 1; }

pair "$I" convert -O raw "$W/qemu-zstd.qcow2" "$W/out-ours.raw" -- \
	qemu-img convert -O raw "$W/qemu-zstd.qcow2" "$W/out-qemu.raw"
cmp -s "$W/out-ours.raw" "$W/disk.raw" || { echo "bench imgtool-zstd: decompressed image differs" >&2; exit 1; }
rm -f "$W/out-ours.raw" "$W/out-qemu.raw"

load_row "imgtool zstd bench" "$load0"
echo "bench imgtool-zstd: compress wall ours ${cw[*]} qemu ${cq[*]}; decompress wall ours ${ow[*]} qemu ${qw[*]}" >&2
echo "| imgtool convert -c -o compression_type=zstd, ${MIB} MiB ext4, wall (s, median of $RUNS) | $(fmt "$(median "${cw[@]}")") | $(fmt "$(median "${cq[@]}")") | $(fmt "$(median "${cr[@]}")")x faster | >= 1.9x |"
echo "| imgtool convert -c zstd, CPU (s) | $(fmt "$(median "${cco[@]}")") | $(fmt "$(median "${ccq[@]}")") | $(fmt "$(div "$(median "${cco[@]}")" "$(median "${ccq[@]}")")")x | info |"
echo "| imgtool zstd compressed size (MiB) | $(fmt "$(div "$so" 1048576)") | $(fmt "$(div "$sq" 1048576)") | $(fmt "$(div "$so" "$sq")")x | <= 1.01x |"
echo "| imgtool convert zstd qcow2 -> raw, wall (s, median of $RUNS) | $(fmt "$(median "${ow[@]}")") | $(fmt "$(median "${qw[@]}")") | $(fmt "$(median "${r[@]}")")x faster | info |"
