#!/bin/sh
# tests/launcher/mkinitramfs.sh: build the test-suite initramfs (busybox, the
# Debian modules an IDE disk needs, the virtio ones for loadvirtio, e1000, a
# udhcpc hook) whose /init runs the command found after " -- " on the kernel
# command line and reports "KL-EXIT: <status>" on the serial console, then
# resets the machine (i8042), which ends kvm-launch.
#
#   mkinitramfs.sh OUTPUT.cpio.gz [KERNEL_VERSION]
set -eu

out=${1:?usage: mkinitramfs.sh OUTPUT.cpio.gz [KERNEL_VERSION]}
kver=${2:-$("$(dirname "$0")/../../mk/kdir.sh" --version)}
moddir=/lib/modules/$kver
busybox=/bin/busybox
# Load order for a PIIX IDE disk with ext4 on it; dependencies are added.
want="ata_piix sd_mod crc32c_generic ext4"
# The virtio PCI transport and devices: in the image, loaded only by
# loadvirtio, so that the other tests' boots stay as they were.
want_virtio="virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio-rng virtio_net"
# The other NIC model of net.t, loaded by kl-nettest e1000.
want_e1000="e1000"

[ -x "$busybox" ] && "$busybox" --list | grep -qx sh ||
	{ echo "mkinitramfs: need busybox-static ($busybox)" >&2; exit 1; }
[ -f "$moddir/modules.dep" ] ||
	{ echo "mkinitramfs: no $moddir/modules.dep" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" \
	"$root/tmp" "$root/mnt" "$root/lib/modules" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for app in $("$busybox" --list); do
	[ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
done

# Modules in dependency order (a module's dependencies before it).
add_module() {	# $1: path relative to $moddir, $2: the order file
	grep -qx "$1" "$2" && return 0
	deps=$(grep "^$1:" "$moddir/modules.dep" | cut -d: -f2)
	for d in $deps; do
		add_module "$d" "$2"
	done
	echo "$1" >> "$2"
}
# Copy the modules of $1 (names) into /lib/modules, list them in $2.
install_modules() {
	order=$tmp/order
	: > "$order"
	for m in $1; do
		path=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | cut -d: -f1 | head -n1)
		if [ -z "$path" ]; then
			grep -qE "/$m\.ko" "$moddir/modules.builtin" && continue
			echo "mkinitramfs: module $m not found for $kver" >&2
			exit 1
		fi
		add_module "$path" "$order"
	done
	: > "$2"
	while read -r path; do
		name=$(basename "$path")
		case $name in
		*.ko) cp "$moddir/$path" "$root/lib/modules/$name" ;;
		*.ko.xz) xz -dc "$moddir/$path" > "$root/lib/modules/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$moddir/$path" > "$root/lib/modules/${name%.zst}"; name=${name%.zst} ;;
		esac
		echo "$name" >> "$2"
	done < "$order"
}
install_modules "$want" "$root/etc/modules"
install_modules "$want_virtio" "$root/etc/modules-virtio"
install_modules "$want_e1000" "$root/etc/modules-e1000"

cat > "$root/bin/loadmods" <<'EOS'
#!/bin/sh
# Insert the IDE/SCSI/ext4 modules, in dependency order.
while read -r m; do
	insmod "/lib/modules/$m" 2>/dev/null || { grep -q "^${m%.ko} " /proc/modules || echo "loadmods: $m failed"; }
done < /etc/modules
# Wait for the disks the IDE probe finds to show up.
i=0
while [ $i -lt 50 ] && ! ls /sys/block 2>/dev/null | grep -q '^sd'; do
	sleep 0.1; i=$((i + 1))
done
mdev -s
EOS
chmod 755 "$root/bin/loadmods"

cat > "$root/bin/loadvirtio" <<'EOS'
#!/bin/sh
# Insert the virtio modules in dependency order; those already in stay.
#   loadvirtio [MODULE PARAM=VALUE...]   e.g. loadvirtio virtio_pci force_legacy=1
want=${1:-}
[ $# -gt 0 ] && shift
while read -r m; do
	name=$(echo "${m%.ko}" | tr - _)
	grep -q "^$name " /proc/modules && continue
	if [ "$name" = "$want" ]; then
		insmod "/lib/modules/$m" "$@" || echo "loadvirtio: $m failed"
	else
		insmod "/lib/modules/$m" || echo "loadvirtio: $m failed"
	fi
done < /etc/modules-virtio
EOS
chmod 755 "$root/bin/loadvirtio"

# The entropy test of virtio.t: load the virtio modules (loadvirtio's
# arguments), read 64 KiB from the virtio entropy device, print what it saw.
cat > "$root/bin/kl-rngtest" <<'EOS'
#!/bin/sh
loadvirtio "$@"
echo "KL-RNG $(cat /sys/class/misc/hw_random/rng_current) KL-VERSION_1 $(cut -c33 /sys/bus/virtio/devices/virtio*/features)"
dd if=/dev/hwrng of=/tmp/rng bs=1k count=64 2>/dev/null
echo "KL-BYTES $(wc -c < /tmp/rng) KL-GZ $(gzip -c < /tmp/rng | wc -c) KL-MD5 $(md5sum < /tmp/rng)"
grep virtio /proc/interrupts | sed 's/^ */KL-IRQ /'
EOS
chmod 755 "$root/bin/kl-rngtest"

# udhcpc's hook (where Debian's busybox looks): the lease's address, default
# route and DNS servers, set with ip.
mkdir -p "$root/etc/udhcpc"
cat > "$root/etc/udhcpc/default.script" <<'EOS'
#!/bin/sh
case $1 in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do
		ip route replace default via "$r" dev "$interface"
		break
	done
	: > /etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	echo "KL-DHCP $interface $ip/${mask:-24} router $router dns $dns"
	;;
esac
EOS
chmod 755 "$root/etc/udhcpc/default.script"

# The network test of net.t: a NIC (virtio_net or e1000) gets a lease by
# DHCP, fetches /big from the host's httpd through the gateway 10.0.2.2,
# then serves a page on port 80 and waits on port 23 for the host's
# message, both reached through hostfwd.
cat > "$root/bin/kl-nettest" <<'EOS'
#!/bin/sh
loadvirtio
[ "${1:-virtio_net}" = e1000 ] && while read -r m; do insmod "/lib/modules/$m"; done < /etc/modules-e1000
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
drv=$(basename "$(readlink /sys/class/net/eth0/device/driver)")
echo "KL-NIC $drv $(cat /sys/class/net/eth0/address)"
ip link set eth0 up
timeout 120 udhcpc -i eth0 -n -q -t 5 -T 3 2>&1 | grep -v '^udhcpc: \(started\|broadcasting\|sending\|select\|lease\)'
echo "KL-ROUTE $(ip route | grep '^default')"
t0=$(date +%s)
timeout 300 wget -q -O /tmp/big http://10.0.2.2:8080/big || echo "KL-WGET-FAILED $?"
echo "KL-GOT $(wc -c < /tmp/big) $(md5sum < /tmp/big | cut -d' ' -f1) in $(($(date +%s) - t0)) s"
rm -f /tmp/big
mkdir -p /tmp/www
echo "KL-PAGE-$drv" > /tmp/www/index.html
httpd -p 80 -h /tmp/www
echo "KL-LISTEN"
timeout 300 nc -l -p 23 > /tmp/msg
echo "KL-MSG $(cat /tmp/msg)"
grep -E 'virtio|eth0|e1000' /proc/interrupts | sed 's/^ */KL-IRQ /'
grep eth0 /proc/net/dev | sed 's/^ */KL-DEV /'
EOS
chmod 755 "$root/bin/kl-nettest"

# The TAP test of net.t: two guests on a bridge of the test host, the
# server 10.9.0.1 and the client 10.9.0.2. Each prints its NIC's offloads
# (ethtool -k, when net.t added ethtool) and pings the other; the client
# fetches the server's 4 MiB file and sends back its MD5.
#   kl-taptest server|client virtio_net|e1000
cat > "$root/bin/kl-taptest" <<'EOS'
#!/bin/sh
role=$1
loadvirtio
[ "$2" = e1000 ] && while read -r m; do insmod "/lib/modules/$m"; done < /etc/modules-e1000
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "KL-NIC $(basename "$(readlink /sys/class/net/eth0/device/driver)") $(cat /sys/class/net/eth0/address)"
if [ "$role" = server ]; then me=10.9.0.1 peer=10.9.0.2; else me=10.9.0.2 peer=10.9.0.1; fi
ip addr add "$me/24" dev eth0
ip link set eth0 up
if [ "$role" = server ]; then
	mkdir -p /tmp/www
	head -c 4194304 /dev/urandom > /tmp/www/big
	echo "KL-SRVMD5 $(md5sum < /tmp/www/big | cut -d' ' -f1)"
	httpd -p 80 -h /tmp/www
	timeout 400 nc -l -p 24 > /tmp/done &
	done=$!
fi
command -v ethtool > /dev/null &&
	ethtool -k eth0 | grep -E '^(rx-checksumming|tx-checksumming|tcp-segmentation-offload|generic-receive-offload):' | sed 's/^/KL-ETHTOOL /'
i=0
until ping -c 1 -W 2 "$peer" > /dev/null 2>&1; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 1
done
echo "KL-PING $(ping -c 3 -W 5 "$peer" | grep 'packets transmitted')"
if [ "$role" = server ]; then
	wait "$done"
	echo "KL-DONE $(cat /tmp/done)"
else
	i=0
	until wget -q -O /tmp/big "http://$peer/big"; do
		i=$((i + 1))
		[ $i -ge 10 ] && break
		sleep 2
	done
	sum=$(md5sum < /tmp/big | cut -d' ' -f1)
	echo "KL-GOT $(wc -c < /tmp/big) $sum"
	echo "KL-FETCHED $sum" | nc "$peer" 24
fi
grep eth0 /proc/net/dev | sed 's/^ */KL-DEV /'
EOS
chmod 755 "$root/bin/kl-taptest"

# The disk test of boot.t (the kernel passes at most 32 words to init).
cat > "$root/bin/kl-disktest" <<'EOS'
#!/bin/sh
# Print each IDE disk's checksum, then write a marker to each. Disks are
# found by position (sdX names follow probe order, which varies): a = primary
# master (SCSI 0:0:0:0), b = primary slave (0:0:1:0), c = secondary master,
# d = secondary slave (read back after a cache drop: it has snapshot = true).
loadmods
disk() { ls "/sys/class/scsi_disk/$1/device/block/" 2>/dev/null; }
a=$(disk 0:0:0:0); b=$(disk 0:0:1:0); c=$(disk 1:0:0:0); d=$(disk 1:0:1:0)
for x in a b c d; do
	eval dev=\$$x
	echo "KL-SUM-$x $(dd if=/dev/$dev bs=1M count=4 2>/dev/null | md5sum)"
done
echo KL-WRITE-A | dd of=/dev/$a bs=512 seek=2 conv=notrunc,fsync 2>/dev/null && echo KL-WROTE-a
echo KL-WRITE-B | dd of=/dev/$b bs=512 seek=3000 conv=notrunc,fsync 2>/dev/null && echo KL-WROTE-b
echo KL-WRITE-C | dd of=/dev/$c bs=512 seek=1 conv=notrunc,fsync 2>/dev/null && echo KL-WROTE-c
echo KL-WRITE-D | dd of=/dev/$d bs=512 seek=4 conv=notrunc,fsync 2>/dev/null && echo KL-WROTE-d
sync
echo 3 > /proc/sys/vm/drop_caches
echo "KL-READ-d $(dd if=/dev/$d bs=512 skip=4 count=1 2>/dev/null | head -c 10)"
sync
EOS
chmod 755 "$root/bin/kl-disktest"


# The TRIM test of boot.t: an ext2 file system on the (empty qcow2) disk,
# 16 MiB written and synced (KL-FILLED: the host measures the image), then
# removed and fstrim: the freed clusters leave the image.
cat > "$root/bin/kl-trimtest" <<'EOS'
#!/bin/sh
loadmods
d=$(ls /sys/class/scsi_disk/0:0:0:0/device/block/ 2>/dev/null)
echo "KL-DISCARD-MAX $(cat /sys/block/$d/queue/discard_max_bytes)"
mke2fs -q "/dev/$d"
mount -t ext2 "/dev/$d" /mnt || echo "KL-MOUNT-FAILED"
dd if=/dev/urandom of=/mnt/f bs=1M count=16 2>/dev/null
sync
echo KL-FILLED
sleep 5
rm /mnt/f
sync
echo "KL-FSTRIM $(fstrim -v /mnt 2>&1)"
umount /mnt
sync
EOS
chmod 755 "$root/bin/kl-trimtest"
# The SMP test of smp.t: one busy process per CPU for 3 s, then what each
# CPU did (kept out of the command line: Linux panics on more than 32
# words for init).
cat > "$root/bin/kl-smpwork" <<'EOS'
#!/bin/sh
echo "KL-NPROC-$(nproc)"
p=""
for i in $(seq "$(nproc)"); do
	(while :; do :; done) &
	p="$p $!"
done
sleep 6
grep "^cpu[0-9]" /proc/stat | while read -r c u _; do echo "KL-STAT $c $u"; done
kill $p
echo "KL-CLOCKEVENT-$(cat /sys/devices/system/clockevents/clockevent0/current_device)"
grep LOC: /proc/interrupts | sed "s/^ */KL-/"
EOS
chmod 755 "$root/bin/kl-smpwork"

cat > "$root/init" <<'EOS'
#!/bin/sh
# Test initramfs init: run the command after " -- " on the kernel command line.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "KL-USERSPACE"
cmdline=$(cat /proc/cmdline)
case $cmdline in
*" -- "*) cmd=${cmdline#* -- } ;;
*) cmd="" ;;
esac
if [ -n "$cmd" ]; then
	sh -c "$cmd"
	status=$?
	echo "KL-EXIT: $status"
	sync
	reboot -f
else
	exec sh
fi
EOS
chmod 755 "$root/init"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -6 > "$out.tmp"
mv "$out.tmp" "$out"
