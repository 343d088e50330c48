#!/bin/bash
# tests/launcher/net-inner.sh: runs inside the test host for net.t: an httpd
# on 127.0.0.1:8080 serving a 4 MiB file, then the VM files DIR/NAME.cfg in
# turn; once a guest says KL-LISTEN, the host's side of its port forwards
# (a GET of 127.0.0.1:8022, a message to 127.0.0.1:2323). Tagged results.
#   net-inner.sh KVM_LAUNCH DIR NAME...
KL=$1
dir=$2
shift 2
limit=${KL_BOOT_TIMEOUT:-600}
export KVM_LAUNCH_CACHE=/tmp/klcache

# libslirp takes the guest's connections to 10.0.2.2 to the host's 127.0.0.1
ip link set lo up
www=/tmp/net-www
mkdir -p "$www"
head -c 4194304 /dev/urandom > "$www/big"
echo "HOST-MD5 $(md5sum < "$www/big" | cut -d' ' -f1)"
busybox httpd -f -p 127.0.0.1:8080 -h "$www" &
httpd=$!

for vm in "$@"; do
	timeout "$limit" "$KL" "$dir/$vm.cfg" > "/tmp/$vm.out" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && ! grep -q KL-LISTEN "/tmp/$vm.out"; do
		sleep 1
	done
	if grep -q KL-LISTEN "/tmp/$vm.out"; then
		# (busybox 1.35's wget -T crashes)
		echo "$vm-HOSTFWD-HTTP $(timeout 60 busybox wget -q -O - http://127.0.0.1:8022/ 2>&1)"
		echo "KL-HELLO-$vm" | timeout 60 busybox nc 127.0.0.1 2323
		echo "$vm-HOSTFWD-NC $?"
	fi
	wait "$pid"
	echo "$vm-STATUS $?"
	sed "s/^/$vm| /" "/tmp/$vm.out"
done
kill "$httpd"
