#!/bin/bash
# tests/launcher/boot-inner.sh: runs inside the test host for boot.t: boots
# each prepared VM file and prints tagged results for the .t to check.
#   boot-inner.sh KVM_LAUNCH DIR KERNEL
KL=$1
dir=$2
kernel=$3
limit=${KL_BOOT_TIMEOUT:-1500}
# Unpacked kernels are cached here (the 9p root is read-only).
export KVM_LAUNCH_CACHE=/tmp/klcache
entries() { ls "$1" 2>/dev/null | grep -c '^vmlinux-'; }

# Guest prints a line and resets through the i8042: kvm-launch exits 0
# (booting as a bzImage: unpack = false, the cache untouched).
timeout "$limit" "$KL" "$dir/hello.cfg" > /tmp/hello.out 2>&1
echo "HELLO-STATUS $? $(entries /tmp/klcache)"
sed 's/^/hello| /' /tmp/hello.out

# IDE disks (raw, compressed qcow2, read-only raw, raw with snapshot = true:
# its overlay goes in /tmp/klsnap, which must be empty after), then a triple-fault reset;
# the cache being empty, the kernel boots as a bzImage while an idle process
# unpacks it into the cache.
if [ -f "$dir/disks.cfg" ]; then
	mkdir -p /tmp/klsnap
	TMPDIR=/tmp/klsnap timeout "$limit" "$KL" "$dir/disks.cfg" > /tmp/disks.out 2>&1
	echo "DISKS-STATUS $?"
	echo "SNAPSHOT-LEFT $(ls -A /tmp/klsnap | wc -l)"
	for _ in $(seq 300); do [ "$(entries /tmp/klcache)" -gt 0 ] && break; sleep 1; done
	echo "CACHE-ENTRIES $(entries /tmp/klcache)"
	sed 's/^/disks| /' /tmp/disks.out
fi

# TRIM: the guest fills an ext2 file system on e.qcow2 with 16 MiB, then
# removes the file and runs fstrim; the image's allocated size (du) with
# the file and after. In /tmp: the 9p of --rw punches no holes.
if [ -f "$dir/trim.cfg" ]; then
	mkdir -p /tmp/kltrim
	qemu-img create -q -f qcow2 /tmp/kltrim/e.qcow2 64M
	timeout "$limit" "$KL" "$dir/trim.cfg" > /tmp/trim.out 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && ! grep -q KL-FILLED /tmp/trim.out; do sleep 0.5; done
	full=$(du -k /tmp/kltrim/e.qcow2 | cut -f1)
	wait "$pid"
	echo "TRIM-STATUS $? $full $(du -k /tmp/kltrim/e.qcow2 | cut -f1)"
	sed 's/^/trim| /' /tmp/trim.out
fi

# kvm-launch --cache-kernel fills a cache on the spot.
KVM_LAUNCH_CACHE=/tmp/klcache2 timeout "$limit" "$KL" --cache-kernel "$kernel"
echo "CACHE-KERNEL $? $(entries /tmp/klcache2)"

# on_reset = "restart": the machine boots again after the guest's reset;
# the unpacked kernel comes from the cache, placed by KASLR (the statistics
# say where the kernel came from).
KVM_LAUNCH_CACHE=/tmp/klcache2 KVM_LAUNCH_STATS=100000000 "$KL" "$dir/restart.cfg" > /tmp/restart.out 2>&1 &
pid=$!
for _ in $(seq "$limit"); do
	[ "$(grep -c " T _text" /tmp/restart.out)" -ge 2 ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
	echo "RESTART-RUNNING yes"
	kill "$pid"
else
	echo "RESTART-RUNNING no"
fi
wait "$pid" 2>/dev/null
echo "RESTART-BOOTS $(grep -c KL-USERSPACE /tmp/restart.out)"
sed 's/^/restart| /' /tmp/restart.out
