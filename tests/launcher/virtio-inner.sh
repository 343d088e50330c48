#!/bin/bash
# tests/launcher/virtio-inner.sh: runs inside the test host for virtio.t:
# boots the VM files DIR/NAME.cfg in order and prints tagged results.
#   virtio-inner.sh KVM_LAUNCH DIR NAME...
KL=$1
dir=$2
shift 2
limit=${KL_BOOT_TIMEOUT:-600}
export KVM_LAUNCH_CACHE=/tmp/klcache

for vm in "$@"; do
	timeout "$limit" "$KL" "$dir/$vm.cfg" > "/tmp/$vm.out" 2>&1
	echo "$vm-STATUS $?"
	sed "s/^/$vm| /" "/tmp/$vm.out"
done
