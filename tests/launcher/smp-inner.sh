#!/bin/bash
# tests/launcher/smp-inner.sh: runs inside the test host for smp.t: boots
# each VM file of DIR (smp4, user, pituser, reset) and prints tagged results.
#   smp-inner.sh KVM_LAUNCH DIR
KL=$1
dir=$2
limit=${KL_BOOT_TIMEOUT:-900}
export KVM_LAUNCH_CACHE=/tmp/klcache

for vm in smp4 user pituser; do
	timeout "$limit" "$KL" "$dir/$vm.cfg" > "/tmp/$vm.out" 2>&1
	echo "$vm-STATUS $?"
	sed "s/^/$vm| /" "/tmp/$vm.out"
done

# A reset with 2 vCPUs: every thread stops, the machine comes back with both.
"$KL" "$dir/reset.cfg" > /tmp/reset.out 2>&1 &
pid=$!
for _ in $(seq "$limit"); do
	[ "$(grep -c KL-NPROC-2 /tmp/reset.out)" -ge 2 ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
echo "RESET-THREADS $(ls /proc/$pid/task 2>/dev/null | wc -l) $(cat /proc/$pid/task/*/comm 2>/dev/null | sort | tr '\n' ' ')"
kill "$pid" 2>/dev/null
wait "$pid"
echo "RESET-STATUS $?"
sed 's/^/reset| /' /tmp/reset.out
