#!/bin/sh
# tests/vmx/guest-suite.sh: runs inside the vmxhost guest: each test program with a time limit, its TAP and status saved for the host.
# Usage: guest-suite.sh OUTDIR TEST...
out=$1
shift
mkdir -p "$out"
for t in "$@"; do
	name=$(basename "$t")
	echo "# vmx: $name" >&2
	timeout -k 5 "${VMX_TEST_TIMEOUT:-600}" "$t" > "$out/$name.tap" 2> "$out/$name.err"
	echo $? > "$out/$name.status"
	sync
done
dmesg > "$out/dmesg.log" 2>/dev/null
sync
