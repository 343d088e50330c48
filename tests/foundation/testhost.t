#!/bin/bash
# tests/foundation/testhost.t: the test host boots, runs a command in each
# lane, returns its status, and ends a hung guest with status 124, saying
# where its CPU was: after --timeout, or after --stall seconds of silence.
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
th=$top/tests/testhost
echo "1..6"
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

out=$("$th" --lane stock -- sh -c 'test -c /dev/kvm && grep -q "^kvm_amd " /proc/modules && echo ready' 2>&1)
rc=$?
[ $rc = 0 ] && [ "$out" = ready ]; check $? "lane stock: kvm_amd provides /dev/kvm (rc=$rc)"

"$th" --lane stock -- false >/dev/null 2>&1
rc=$?
[ $rc = 1 ]; check $? "a failing command's status comes back (rc=$rc)"

err=$("$th" --lane ours -- sh -c 'test -c /dev/kvm && ! grep -q "^kvm_amd " /proc/modules' 2>&1 >/dev/null)
rc=$?
echo "$err" | sed 's/^/# /'
[ $rc = 0 ] && echo "$err" | grep -q 'kvmdrv: .*loaded' && echo "$err" | grep -q '/dev/kvm'
check $? "lane ours: our module's load message and device node (rc=$rc)"

bad=$(mktemp --suffix=.ko)
echo "not an ELF object" > "$bad"
err=$("$th" --lane ours --module "$bad" -- true 2>&1)
rc=$?
rm -f "$bad"
echo "$err" | sed "s/^/# /"
[ $rc = 125 ] && echo "$err" | grep -q "insmod .* failed"
check $? "a module that cannot load fails loudly with status 125 (rc=$rc)"

err=$("$th" --lane none --timeout 30 -- sleep 600 2>&1 >/dev/null)
rc=$?
echo "$err" | grep '^testhost: ' | sed 's/^/# /'
[ $rc = 124 ] && echo "$err" | grep -q "^testhost: timed out after 30s" &&
	echo "$err" | grep -q "^testhost: where: cpu0 rip="
check $? "a hung test host ends with status 124, its CPU's RIP shown (rc=$rc)"

# Silent after one line: ended after 20 s of it, not at 600; its idle CPU's
# RIP named from the kernel's symbols.
s0=$SECONDS
err=$("$th" --lane none --timeout 600 --stall 20 -- sh -c 'echo up; sleep 600' 2>&1 >/dev/null)
rc=$?
took=$((SECONDS - s0))
echo "$err" | grep '^testhost: ' | sed 's/^/# /'
[ $rc = 124 ] && [ $took -lt 400 ] && echo "$err" | grep -q "^testhost: stalled: no output for 20s" &&
	echo "$err" | grep -Eq "^testhost: where: cpu0 rip=ffffffff[0-9a-f]{8} [A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+ HLT="
check $? "a test host silent for --stall seconds ends with status 124, its RIP named (rc=$rc, ${took}s)"
