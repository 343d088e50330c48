#!/bin/sh
# tests/vmx/guest-suite.sh: runs inside the vmxhost guest: each test program with a time limit, its TAP and status saved for the host.
# Usage: guest-suite.sh OUTDIR TEST...
out=$1
shift
mkdir -p "$out"
# Progress on the serial console, where the host can watch it while Bochs runs.
progress() { [ -w /dev/ttyS0 ] && echo "vmx-suite: $*" > /dev/ttyS0; }
for t in "$@"; do
	name=$(basename "$t")
	echo "# vmx: $name" >&2
	progress "start $name"
	t0=$(date +%s)
	timeout -k 5 "${VMX_TEST_TIMEOUT:-3000}" "$t" > "$out/$name.tap" 2> "$out/$name.err"
	echo $? > "$out/$name.status"
	echo "$name $(($(date +%s) - t0)) s (status $(cat "$out/$name.status"))" >> "$out/times.log"
	progress "$(tail -n 1 "$out/times.log")"
	sync
done
# Our module must leave after any sequence of VMs, with nothing leaked.
if [ "$TESTHOST_LANE" = ours ]; then
	{
		echo "1..2"
		if rmmod kvmdrv 2> "$out/module_unload.err"; then
			echo "ok 1 - rmmod kvmdrv after the suite"
		else
			echo "not ok 1 - rmmod kvmdrv: $(cat "$out/module_unload.err")"
		fi
		if dmesg | grep -E -q 'BUG|WARNING|leak|Oops'; then
			echo "not ok 2 - kernel log is clean"
			dmesg | grep -E 'BUG|WARNING|leak|Oops' | head -20 | sed 's/^/# /'
		else
			echo "ok 2 - kernel log is clean"
		fi
	} > "$out/module_unload.tap"
	grep -q '^not ok' "$out/module_unload.tap"
	[ $? = 0 ] && echo 1 > "$out/module_unload.status" || echo 0 > "$out/module_unload.status"
fi
# With kvm_intel holding the hardware our module must refuse to load, saying why.
if [ "$TESTHOST_LANE" = stock ] && [ -n "${VMX_KO:-}" ] && [ -f "$VMX_KO" ]; then
	{
		echo "1..2"
		if insmod "$VMX_KO" 2> "$out/module_refused.err"; then
			echo "not ok 1 - insmod kvmdrv next to kvm_intel fails"
			rmmod kvmdrv
		else
			echo "ok 1 - insmod kvmdrv next to kvm_intel fails"
		fi
		if dmesg | grep -q "kvmdrv: .*kvm.*loaded"; then
			echo "ok 2 - the refusal is explained in the kernel log"
		else
			echo "not ok 2 - the refusal is explained in the kernel log"
		fi
	} > "$out/module_refused.tap"
	grep -q "^not ok" "$out/module_refused.tap"
	[ $? = 0 ] && echo 1 > "$out/module_refused.status" || echo 0 > "$out/module_refused.status"
fi
dmesg > "$out/dmesg.log" 2>/dev/null
sync
