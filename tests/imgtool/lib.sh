# tests/imgtool/lib.sh: TAP helpers and fixtures shared by the imgtool test scripts.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
IMGTOOL=${IMGTOOL:-$TOP/build/bin/imgtool}
T=$(mktemp -d "${TMPDIR:-/tmp}/imgtool-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
fails=0

ok() {		# ok STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}

run() {		# run NAME CMD...: one test point from a command's status, output kept on failure
	name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		ok 0 "$name"
	else
		ok 1 "$name"
		sed 's/^/# /' "$T/out" | head -20
	fi
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

done_testing() {
	echo "1..$n"
	exit $((fails > 100 ? 100 : fails))
}

# A disk-like payload: text, binaries and zero runs, deterministic.
mkpayload() {	# mkpayload FILE MIB
	: >"$1"
	for f in /usr/bin/bash /usr/share/common-licenses/GPL-3 /usr/bin/qemu-img; do
		[ -f "$f" ] && head -c 3000000 "$f" >>"$1"
	done
	truncate -s "$2M" "$1"
	head -c 700000 /usr/bin/bash | dd of="$1" bs=1 seek=$(($2 * 1048576 - 900000)) conv=notrunc status=none
}

# Compare an image to a raw reference through imgtool.
same_as() {	# same_as IMG RAW
	"$IMGTOOL" compare "$1" "$2" >/dev/null
}
