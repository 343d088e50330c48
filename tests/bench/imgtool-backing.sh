#!/bin/bash
# tests/bench/imgtool-backing.sh: imgtool vs qemu-img convert -B: a changed copy of the 2 GiB ext4 image of
# real files (imgtool-lib.bash) as a qcow2 on the original.
# Prints `| metric | ours | qemu-img | ratio | target |` rows, medians of IMGTOOL_BENCH_RUNS (3) back-to-back pairs.
set -eu
. "$(dirname "$0")/imgtool-lib.bash"

# The changed copy, made once: 400 runs of 256 KiB rewritten with bytes from
# elsewhere on the disk and 40 MiB zeroed, spread over the disk as an update would spread them.
if [ ! -s "$W/changed.raw" ] || [ "$W/changed.raw" -ot "$W/disk.raw" ]; then
	cp --sparse=always "$W/disk.raw" "$W/changed.tmp"
	awk -v n="$MIB" 'BEGIN { srand(7); for (i = 0; i < 400; i++) print "w", int(rand() * n * 4), int(rand() * n * 4);
		for (i = 0; i < 40; i++) print "z", int(rand() * n), 0 }' |
	while read -r kind at from; do
		if [ "$kind" = w ]; then
			dd if="$W/disk.raw" of="$W/changed.tmp" bs=256k skip="$from" seek="$at" count=1 conv=notrunc status=none
		else
			dd if=/dev/zero of="$W/changed.tmp" bs=1M seek="$at" count=1 conv=notrunc status=none
		fi
	done
	mv "$W/changed.tmp" "$W/changed.raw"
fi

cat "$W/disk.raw" "$W/changed.raw" >/dev/null	# page cache warm for the first run too
load0=$(cut -d" " -f1 /proc/loadavg)
cd "$W"
pair "$I" convert -O qcow2 -B disk.raw -F raw changed.raw ours-B.qcow2 -- \
	qemu-img convert -O qcow2 -B disk.raw -F raw changed.raw qemu-B.qcow2
qemu-img check -q ours-B.qcow2 || { echo "bench imgtool-backing: our image fails qemu-img check" >&2; exit 1; }
qemu-img compare -q ours-B.qcow2 changed.raw || { echo "bench imgtool-backing: our image differs" >&2; exit 1; }
so=$(stat -c %s ours-B.qcow2)
sq=$(stat -c %s qemu-B.qcow2)

load_row "imgtool -B bench" "$load0"
echo "bench imgtool-backing: wall ours ${ow[*]} qemu ${qw[*]}" >&2
echo "| imgtool convert -O qcow2 -B, ${MIB} MiB ext4 with 140 MiB rewritten, wall (s, median of $RUNS) | $(fmt "$(median "${ow[@]}")") | $(fmt "$(median "${qw[@]}")") | $(fmt "$(median "${r[@]}")")x faster | >= 1.0x |"
echo "| imgtool convert -B, CPU (s) | $(fmt "$(median "${oc[@]}")") | $(fmt "$(median "${qc[@]}")") | $(fmt "$(div "$(median "${oc[@]}")" "$(median "${qc[@]}")")")x | info |"
echo "| imgtool convert -B output size (MiB) | $(fmt "$(div "$so" 1048576)") | $(fmt "$(div "$sq" 1048576)") | $(fmt "$(div "$so" "$sq")")x | info |"
