# tests/lib/initrd-append.sh: sourced by tests that give the test initramfs
# a dynamically linked program (ethtool for net.t, iperf3 for the net
# bench): a second cpio archive after the first, which Linux unpacks too.
#   initrd_append INITRD STAGE PROGRAM...
# copies each PROGRAM into STAGE/bin with the libraries ldd names (at their
# paths), then appends STAGE (and whatever else the caller put there) to
# INITRD. Fails when a PROGRAM is missing.
initrd_append() {
	local initrd=$1 stage=$2 prog lib
	shift 2
	mkdir -p "$stage/bin"
	for prog in "$@"; do
		cp "$prog" "$stage/bin/" || return 1
		for lib in $(ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$lib" "$stage$lib" || return 1
		done
	done
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip >> "$initrd"
}
