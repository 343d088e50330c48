# tests/bench/imgtool-lib.bash: sourced by the imgtool bench scripts: the 2 GiB ext4 image of real
# files they share, and timing helpers. IMGTOOL_BENCH_DIR keeps the disk between runs.
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
I=${IMGTOOL:-$top/build/bin/imgtool}
W=${IMGTOOL_BENCH_DIR:-/tmp/imgtool-bench}
SIZE=${IMGTOOL_BENCH_SIZE:-2G}
RUNS=${IMGTOOL_BENCH_RUNS:-3}
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
MIB=$(($(stat -c %s "$W/disk.raw") / 1048576))

# One run: wall and CPU (user+sys) seconds into $wall and $cpu.
wall= cpu=
timeit() {	# timeit CMD...
	sync
	/usr/bin/time -f "%e %U %S" -o "$W/time" "$@" >/dev/null
	wall=$(cut -d" " -f1 "$W/time")
	cpu=$(awk '{ print $2 + $3 }' "$W/time")
}
fmt() { printf '%.2f' "$1"; }
median() {	# median NUMBER...
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
div() { echo "$1 / $2" | bc -l; }

# The other engineers' emulators share these 2 CPUs, and the load moves
# from minute to minute: ours and qemu-img run back to back, each pair
# gives one ratio, and the table shows medians over $RUNS pairs.
# pair NAME OURS-CMD... -- QEMU-CMD...: fills ${NAME_ow[@]} etc. through the arrays
# ow qw oc qc r (wall ours, wall qemu, CPU ours, CPU qemu, ratio qemu/ours).
pair() {
	local ours=() qemu=() seen=0 a
	for a in "$@"; do
		if [ "$a" = -- ]; then seen=1; elif [ $seen = 0 ]; then ours+=("$a"); else qemu+=("$a"); fi
	done
	ow=() qw=() oc=() qc=() r=()
	for _ in $(seq "$RUNS"); do
		timeit "${ours[@]}"
		ow+=("$wall") oc+=("$cpu")
		timeit "${qemu[@]}"
		qw+=("$wall") qc+=("$cpu")
		r+=("$(div "$wall" "${ow[-1]}")")
	done
}
load_row() {	# load_row LOAD-AT-START
	echo "| $1: 1-min load average at start, at end ($(nproc) CPUs) | $2 | $(cut -d' ' -f1 /proc/loadavg) | - | info: wall targets need an idle machine |"
}
