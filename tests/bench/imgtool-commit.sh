#!/bin/bash
# tests/bench/imgtool-commit.sh: imgtool commit vs qemu-img commit: a 2 GiB qcow2 base of system files, an overlay with 640 MiB written over it.
# Prints `| metric | ours | qemu-img | ratio | target |` rows, medians of IMGTOOL_BENCH_RUNS (3) back-to-back pairs.
# IMGTOOL_BENCH_DIR keeps the images between runs (in its commit/ folder).
set -eu
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
I=${IMGTOOL:-$top/build/bin/imgtool}
W=${IMGTOOL_BENCH_DIR:-/tmp/imgtool-bench}/commit
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
	{ echo "bench imgtool-commit: qemu-img/qemu-io not installed" >&2; exit 1; }
mkdir -p "$W"

# The base: 1.5 GiB of binaries and libraries, then zeros, as a plain qcow2.
# The overlay: 96 runs of 4 MiB and 4096 scattered 64 KiB clusters of the
# same kind of data, a third of them where the base has nothing yet.
if [ ! -s "$W/top0.qcow2" ]; then
	echo "bench imgtool-commit: building the base and the overlay" >&2
	find /usr/lib /usr/bin -type f -size +64k 2>/dev/null | sort | head -4000 |
		xargs cat 2>/dev/null | head -c 1536M >"$W/base.raw" || true
	truncate -s 2G "$W/base.raw"
	qemu-img convert -O qcow2 "$W/base.raw" "$W/base0.qcow2"
	dd if="$W/base.raw" of="$W/chunk4" bs=1M skip=700 count=4 status=none
	dd if="$W/base.raw" of="$W/chunk64" bs=64k skip=3001 count=1 status=none
	rm -f "$W/base.raw"
	cp "$W/base0.qcow2" "$W/base.qcow2"
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$W/top0.qcow2"
	args=()
	for i in $(seq 0 95); do
		args+=(-c "write -s $W/chunk4 $(((i * 21 % 512) * 4))M 4M")
	done
	RANDOM=7
	for _ in $(seq 4096); do
		args+=(-c "write -s $W/chunk64 $(((RANDOM * 32768 + RANDOM) % 32768 * 65536)) 64k")
	done
	qemu-io -f qcow2 "${args[@]}" "$W/top0.qcow2" >/dev/null
	qemu-img convert -O raw "$W/top0.qcow2" "$W/ref.raw"
fi

wall= cpu=
timeit() {	# timeit CMD...
	sync
	/usr/bin/time -f "%e %U %S" -o "$W/time" "$@" >/dev/null
	wall=$(cut -d" " -f1 "$W/time")
	cpu=$(awk '{ print $2 + $3 }' "$W/time")
}
fresh() {	# a new copy of the pair: commit changes both
	cp "$W/base0.qcow2" "$W/base.qcow2"
	cp "$W/top0.qcow2" "$W/top.qcow2"
	cat "$W/base.qcow2" "$W/top.qcow2" >/dev/null
}
fmt() { printf '%.2f' "$1"; }
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
div() { echo "$1 / $2" | bc -l; }
RUNS=${IMGTOOL_BENCH_RUNS:-3}

ow=() qw=() oc=() qc=() r=()
for _ in $(seq "$RUNS"); do
	fresh
	timeit "$I" commit -q "$W/top.qcow2"
	ow+=("$wall") oc+=("$cpu")
	qemu-img check -q "$W/base.qcow2" && qemu-img check -q "$W/top.qcow2" ||
		{ echo "bench imgtool-commit: our commit fails qemu-img check" >&2; exit 1; }
	qemu-img compare -q "$W/base.qcow2" "$W/ref.raw" && qemu-img compare -q "$W/top.qcow2" "$W/ref.raw" ||
		{ echo "bench imgtool-commit: our commit changed the data" >&2; exit 1; }
	fresh
	timeit qemu-img commit -q "$W/top.qcow2"
	qw+=("$wall") qc+=("$cpu")
	r+=("$(div "$wall" "${ow[-1]}")")
done
mib=$(($(qemu-img check "$W/top0.qcow2" | sed -n 's|^\([0-9]*\)/.*|\1|p') / 16))
echo "bench imgtool-commit: wall ours ${ow[*]} qemu ${qw[*]}" >&2
echo "| imgtool commit, ${mib} MiB overlay onto a 2 GiB qcow2, wall (s, median of $RUNS) | $(fmt "$(median "${ow[@]}")") | $(fmt "$(median "${qw[@]}")") | $(fmt "$(median "${r[@]}")")x faster | >= 1.0x |"
echo "| imgtool commit, CPU (s) | $(fmt "$(median "${oc[@]}")") | $(fmt "$(median "${qc[@]}")") | $(fmt "$(div "$(median "${oc[@]}")" "$(median "${qc[@]}")")")x | info |"
