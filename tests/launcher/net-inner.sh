#!/bin/bash
# tests/launcher/net-inner.sh: runs inside the test host for net.t: an httpd
# on 127.0.0.1:8080 serving a 4 MiB file, then the VM files DIR/NAME.cfg in
# turn; once a guest says KL-LISTEN, the host's side of its port forwards
# (a GET of 127.0.0.1:8022, a message to 127.0.0.1:2323); then the TAP pair
# tapa and tapb on a bridge, when DIR has them. Tagged results.
#   net-inner.sh KVM_LAUNCH DIR NAME...
KL=$1
dir=$2
shift 2
limit=${KL_BOOT_TIMEOUT:-600}
export KVM_LAUNCH_CACHE=/tmp/klcache
export PATH=/usr/sbin:/sbin:$PATH

# libslirp takes the guest's connections to 10.0.2.2 to the host's 127.0.0.1
ip link set lo up
www=/tmp/net-www
mkdir -p "$www"
head -c 4194304 /dev/urandom > "$www/big"
echo "HOST-MD5 $(md5sum < "$www/big" | cut -d' ' -f1)"
busybox httpd -f -p 127.0.0.1:8080 -h "$www" &
httpd=$!

for vm in "$@"; do
	case $vm in tap?) continue ;; esac
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

# The TAP pair: tapa and tapb (DIR/tapa.cfg, tapb.cfg) join the bridge
# klbr0 through the TAPs kla and klb that kvm-launch creates, and run at
# once. The host's side: the bridge's ports and kla's offloads once the
# server's driver has negotiated them.
if [ -f "$dir/tapa.cfg" ]; then
	modprobe tun
	modprobe bridge
	ip link add klbr0 type bridge && ip link set klbr0 up
	for vm in tapa tapb; do
		timeout "$limit" "$KL" "$dir/$vm.cfg" > "/tmp/$vm.out" 2>&1 &
		eval "pid_$vm=\$!"
	done
	while kill -0 "$pid_tapa" 2>/dev/null && ! grep -q KL-PING /tmp/tapa.out; do
		sleep 1
	done
	echo "HOST-BRIF $(ls /sys/class/net/klbr0/brif | tr '\n' ' ')"
	ethtool -k kla 2>&1 | grep -E '^(tx-checksumming|tcp-segmentation-offload):' | sed 's/^/HOST-KLA /'
	for vm in tapa tapb; do
		eval "wait \$pid_$vm"
		echo "$vm-STATUS $?"
		sed "s/^/$vm| /" "/tmp/$vm.out"
	done
	echo "HOST-TAPS-LEFT $(ls /sys/class/net | grep -c '^kl[ab]$')"
fi
kill "$httpd"
