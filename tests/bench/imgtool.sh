#!/bin/bash
# tests/bench/imgtool.sh: imgtool vs qemu-img on a 2 GiB ext4 image of real files: compressed convert and decompression.
# Prints `| metric | ours | qemu-img | ratio | target |` rows. IMGTOOL_BENCH_DIR keeps the disk between runs.
set -eu
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
I=${IMGTOOL:-$top/build/bin/imgtool}
W=${IMGTOOL_BENCH_DIR:-/tmp/imgtool-bench}
SIZE=${IMGTOOL_BENCH_SIZE:-2G}
command -v qemu-img >/dev/null || { echo "bench imgtool: qemu-img not installed" >&2; exit 1; }
command -v mke2fs >/dev/null || { echo "bench imgtool: mke2fs not installed" >&2; exit 1; }
mkdir -p "$W"

# The disk: binaries, libraries, text and docs, as a root filesystem holds them.
if [ ! -s "$W/disk.raw" ] || [ "$(cat "$W/disk.size" 2>/dev/null)" != "$SIZE" ]; then
	rm -rf "$W/stage" "$W/disk.raw"
	mkdir -p "$W/stage"
	for d in /usr/bin /usr/lib/gcc /usr/share/doc /usr/include /usr/share/locale /usr/share/man /usr/libexec; do
		[ -d "$d" ] || continue
		mkdir -p "$W/stage$(dirname "$d")"
		# Hard links when /usr shares the filesystem: no copy, same bytes.
		cp -al "$d" "$W/stage$d" 2>/dev/null || cp -a "$d" "$W/stage$d"
	done
	echo "bench imgtool: building $SIZE ext4 image from $(du -sh "$W/stage" | cut -f1) of files" >&2
	mke2fs -q -F -t ext4 -d "$W/stage" "$W/disk.raw" "$SIZE" >&2
	rm -rf "$W/stage"
	echo "$SIZE" >"$W/disk.size"
fi

best= cpu=	# wall and CPU (user+sys) seconds of one run
timeit() {	# timeit CMD...
	sync
	/usr/bin/time -f "%e %U %S" -o "$W/time" "$@" >/dev/null
	best=$(cut -d" " -f1 "$W/time")
	cpu=$(awk "{ print \$2 + \$3 }" "$W/time")
}
fmt() { printf '%.2f' "$1"; }
RUNS=${IMGTOOL_BENCH_RUNS:-1}
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc -l)" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# Interleave ours and theirs so machine noise hits both alike; keep the best run.
oc= qc= occ= qcc= od= qd= ocd= qcd=
for _ in $(seq "$RUNS"); do
	timeit "$I" convert -c -O qcow2 "$W/disk.raw" "$W/ours.qcow2"
	oc=$(min "$oc" "$best"); occ=$(min "$occ" "$cpu")
	timeit qemu-img convert -c -O qcow2 "$W/disk.raw" "$W/qemu.qcow2"
	qc=$(min "$qc" "$best"); qcc=$(min "$qcc" "$cpu")
done
so=$(stat -c %s "$W/ours.qcow2")
sq=$(stat -c %s "$W/qemu.qcow2")
qemu-img check -q "$W/ours.qcow2" || { echo "bench imgtool: our image fails qemu-img check" >&2; exit 1; }
qemu-img compare -q "$W/ours.qcow2" "$W/disk.raw" || { echo "bench imgtool: our image differs" >&2; exit 1; }

for _ in $(seq "$RUNS"); do
	timeit "$I" convert -O raw "$W/qemu.qcow2" "$W/out-ours.raw"
	od=$(min "$od" "$best"); ocd=$(min "$ocd" "$cpu")
	timeit qemu-img convert -O raw "$W/qemu.qcow2" "$W/out-qemu.raw"
	qd=$(min "$qd" "$best"); qcd=$(min "$qcd" "$cpu")
done
cmp -s "$W/out-ours.raw" "$W/disk.raw" || { echo "bench imgtool: decompressed image differs" >&2; exit 1; }
rm -f "$W/out-ours.raw" "$W/out-qemu.raw"

r() { fmt "$(echo "$1 / $2" | bc -l)"; }
mib=$(($(stat -c %s "$W/disk.raw") / 1048576))
echo "bench imgtool: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2
echo "| imgtool convert -c -O qcow2, ${mib} MiB ext4, wall (s) | $(fmt "$oc") | $(fmt "$qc") | $(r "$qc" "$oc")x faster | >= 1.9x |"
echo "| imgtool convert -c -O qcow2, CPU (s) | $(fmt "$occ") | $(fmt "$qcc") | $(r "$occ" "$qcc")x | info |"
echo "| imgtool compressed size (MiB) | $(fmt "$(echo "$so / 1048576" | bc -l)") | $(fmt "$(echo "$sq / 1048576" | bc -l)") | $(r "$so" "$sq")x | <= 1.01x |"
echo "| imgtool convert compressed qcow2 -> raw, wall (s) | $(fmt "$od") | $(fmt "$qd") | $(r "$qd" "$od")x faster | >= 1.0x |"
echo "| imgtool convert compressed qcow2 -> raw, CPU (s) | $(fmt "$ocd") | $(fmt "$qcd") | $(r "$ocd" "$qcd")x | info |"
