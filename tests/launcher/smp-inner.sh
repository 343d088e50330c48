#!/bin/bash
# tests/launcher/smp-inner.sh: runs inside the test host for smp.t: boots
# each VM file of DIR (smp4, user, pituser, reset) and prints tagged results.
#   smp-inner.sh KVM_LAUNCH DIR
KL=$1
dir=$2
limit=${KL_BOOT_TIMEOUT:-300}
export KVM_LAUNCH_CACHE=/tmp/klcache

for vm in smp4 split user pituser; do
	timeout "$limit" "$KL" "$dir/$vm.cfg" > "/tmp/$vm.out" 2>&1
	echo "$vm-STATUS $?"
	sed "s/^/$vm| /" "/tmp/$vm.out"
done

# configs/smp.cfg as a user would start it: from its directory.
top=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$top/configs" && timeout "$limit" "$KL" smp.cfg) > /tmp/smpcfg.out 2>&1
echo "smpcfg-STATUS $?"
sed 's/^/smpcfg| /' /tmp/smpcfg.out

# A reset with 2 vCPUs: every thread stops, the machine comes back with both,
# holding as many fds after its reset as before it (nothing leaks). Bounded
# by wall time, not loop turns: each turn costs far more than its 0.1 s
# sleep in a slow test host.
"$KL" "$dir/reset.cfg" > /tmp/reset.out 2>&1 &
pid=$!
fds1="" fds2=""
end=$((SECONDS + limit))
while [ $SECONDS -lt $end ]; do
	boots=$(grep -c KL-NPROC-2 /tmp/reset.out)
	[ "$boots" -ge 1 ] && [ -z "$fds1" ] && fds1=$(ls /proc/$pid/fd | wc -l)
	[ "$boots" -ge 2 ] && fds2=$(ls /proc/$pid/fd | wc -l) && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
echo "RESET-FDS $fds1 $fds2"
echo "RESET-THREADS $(ls /proc/$pid/task 2>/dev/null | wc -l) $(cat /proc/$pid/task/*/comm 2>/dev/null | sort | tr '\n' ' ')"
# SIGTERM must end it; if it does not within 60 s, say so and SIGKILL it.
kill "$pid" 2>/dev/null
for _ in $(seq 600); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	echo "RESET-HUNG: still running 60 s after SIGTERM"
	for t in /proc/$pid/task/*; do
		echo "RESET-HUNG: $(cat "$t/comm") $(cat "$t/wchan") $(cut -d' ' -f1 "$t/syscall")"
	done
	kill -9 "$pid"
fi
wait "$pid"
echo "RESET-STATUS $?"
sed 's/^/reset| /' /tmp/reset.out
