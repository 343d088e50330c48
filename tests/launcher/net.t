#!/bin/bash
# tests/launcher/net.t: NICs on user networking (libslirp) in the test host
# For each NIC model (virtio; e1000 once launcher/dev-e1000.c is
# there) a guest gets its address by DHCP (udhcpc), fetches a 4 MiB file
# from an httpd the test host runs on 127.0.0.1:8080 through the gateway
# 10.0.2.2 and checks its MD5, then serves a page and a port that the test
# host reaches through hostfwd (tcp:127.0.0.1:8022-:80, :2323-:23).
# Then the TAP backend: two guests, virtio-net and e1000, on TAPs kvm-launch
# creates and joins to a bridge, ping each other and move a 4 MiB file
# with its MD5; ethtool -k shows the offloads virtio-net negotiated, in
# the guest and on the host's TAP.
# Lane stock runs irqchip = "kernel" (2 vCPUs, MSI-X through irqfds), lane
# ours irqchip = "user" (INTA on the 8259). One test-host boot per lane.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
# Models: KL_NET_MODELS (default: every one there is).
set -u
. "$(dirname "$0")/../lib/guest.sh"
. "$TOP/tests/lib/initrd-append.sh"
models="virtio"
[ -f "$TOP/launcher/dev-e1000.c" ] && models="$models e1000"
models=${KL_NET_MODELS:-$models}
nmodels=$(echo $models | wc -w)
plan $((7 + 6 * nmodels))

# The tagged lines of boot $1 matching $2.
lines() { printf '%s\n' "$out" | grep -E "^$1\| $2"; }
# Interrupts counted on every CPU, summed, of boot $1's KL-IRQ lines matching $2.
irqs() { lines "$1" "KL-IRQ .*$2" | awk '{ for (i = 4; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }'; }

for lane in $LANES; do
	dir=$(mktemp -d "$BUILD/tests/launcher/net.XXXXXX")
	cp "$initrd" "$dir/initrd.img"
	case $lane in
	ours) vcpus=1; irqchip='irqchip = "user";' ;;
	*) vcpus=2; irqchip='' ;;
	esac
	for m in $models; do
		case $m in virtio) drv=virtio_net ;; *) drv=$m ;; esac
		cat > "$dir/$m.cfg" <<EOF2
name = "$m";
memory = "256M";
vcpus = $vcpus;
$irqchip
nics = ( { model = "$m"; backend = "user";
           hostfwd = [ "tcp:127.0.0.1:8022-:80", "tcp:127.0.0.1:2323-:23" ]; } );
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k tsc=reliable -- kl-nettest $drv";
};
serial = { output = "stdio"; };
EOF2
	done
	for vm in tapa tapb; do
		case $vm in tapa) m=virtio role=server drv=virtio_net ;; *) m=e1000 role=client drv=e1000 ;; esac
		cat > "$dir/$vm.cfg" <<EOF2
name = "$vm";
memory = "256M";
vcpus = $vcpus;
$irqchip
nics = ( { model = "$m"; backend = "tap"; ifname = "kl${vm#tap}"; bridge = "klbr0"; } );
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k tsc=reliable -- kl-taptest $role $drv";
};
serial = { output = "stdio"; };
EOF2
	done
	# ethtool and the libraries it links, for the TAP guests: a second cpio
	# archive after the initramfs (Linux unpacks both).
	initrd_append "$dir/initrd.img" "$dir/ethtool" /usr/sbin/ethtool

	out=$("$TOP/tests/testhost" --lane "$lane" --smp "${KL_TESTHOST_CPUS:-1}" --timeout 900 --rw "$dir" -- \
		"$TOP/tests/launcher/net-inner.sh" "$KL" "$dir" $models tapa tapb 2>&1)
	st=$?
	# serial lines end in CR LF
	out=$(printf "%s\n" "$out" | tr -d "\r")
	printf '%s\n' "$out" | grep -E '^(HOST-|[a-z0-9]+-(HOSTFWD|STATUS)|[a-z0-9]+\| (KL-(NIC|DHCP|ROUTE|GOT|WGET|MSG|IRQ|DEV|EXIT|PING|SRVMD5|DONE|ETHTOOL)|kvm-launch|udhcpc|wget))' |
		head -90 | sed 's/^/# /'
	check '[ $st -eq 0 ]' "$lane: test host ran (status $st)"
	md5=$(printf '%s\n' "$out" | sed -n 's/^HOST-MD5 //p')
	for m in $models; do
		case $m in virtio) drv=virtio_net ;; *) drv=$m ;; esac
		check 'printf "%s\n" "$out" | grep -q "^$m-STATUS 0$" && lines $m "KL-EXIT: 0" >/dev/null' \
			"$lane: $m: boots, runs the test, ends with status 0"
		check 'lines $m "KL-NIC $drv " >/dev/null && lines $m "KL-DHCP eth0 10.0.2.15/24 router 10.0.2.2" >/dev/null' \
			"$lane: $m: eth0 is $drv, DHCP gives 10.0.2.15/24 and the router 10.0.2.2"
		check '[ -n "$md5" ] && lines $m "KL-GOT 4194304 $md5 " >/dev/null' \
			"$lane: $m: 4 MiB fetched from the host's httpd through 10.0.2.2, MD5 right"
		check 'printf "%s\n" "$out" | grep -q "^$m-HOSTFWD-HTTP KL-PAGE-$drv$"' \
			"$lane: $m: hostfwd 127.0.0.1:8022 -> the guest's httpd on port 80"
		check 'lines $m "KL-MSG KL-HELLO-$m$" >/dev/null' \
			"$lane: $m: hostfwd 127.0.0.1:2323 -> the guest's nc -l on port 23"
		if [ "$lane" = ours ]; then
			cnt=$(irqs $m "XT-PIC")
			check '[ "$cnt" -gt 0 ]' "$lane: $m: INTA on the 8259, $cnt interrupts"
		elif [ $m = virtio ]; then
			cnt=$(irqs $m "PCI-MSI.*virtio[0-9]-input")
			check '[ "$cnt" -gt 0 ] && lines $m "KL-IRQ .*PCI-MSI.*virtio[0-9]-output" >/dev/null' \
				"$lane: $m: MSI-X vectors for rx and tx, $cnt rx interrupts"
		else
			cnt=$(irqs $m "eth0")
			check '[ "$cnt" -gt 0 ]' "$lane: $m: $cnt interrupts"
		fi
	done
	# the TAP pair
	srv=$(lines tapa "KL-SRVMD5" | awk '{ print $3 }')
	check 'printf "%s\n" "$out" | grep -q "^tapa-STATUS 0$" && printf "%s\n" "$out" | grep -q "^tapb-STATUS 0$" && lines tapa "KL-EXIT: 0" >/dev/null && lines tapb "KL-EXIT: 0" >/dev/null' \
		"$lane: tap: the virtio-net and e1000 guests both end with status 0"
	check 'printf "%s\n" "$out" | grep -q "^HOST-BRIF kla klb $" && printf "%s\n" "$out" | grep -q "^HOST-TAPS-LEFT 0$"' \
		"$lane: tap: kvm-launch made TAPs kla and klb, joined them to bridge klbr0, removed them at exit"
	check 'lines tapa "KL-PING 3 packets transmitted, [1-3] packets received" >/dev/null && lines tapb "KL-PING 3 packets transmitted, [1-3] packets received" >/dev/null' \
		"$lane: tap: each guest pings the other across the bridge"
	check '[ -n "$srv" ] && lines tapb "KL-GOT 4194304 $srv$" >/dev/null && lines tapa "KL-DONE KL-FETCHED $srv$" >/dev/null' \
		"$lane: tap: 4 MiB from the virtio-net guest's httpd to the e1000 guest, MD5 right at both ends"
	check 'lines tapa "KL-ETHTOOL tx-checksumming: on" >/dev/null && lines tapa "KL-ETHTOOL tcp-segmentation-offload: on" >/dev/null && printf "%s\n" "$out" | grep -q "^HOST-KLA tx-checksumming: on" && printf "%s\n" "$out" | grep -q "^HOST-KLA tcp-segmentation-offload: on"' \
		"$lane: tap: offloads negotiated: checksum and TSO on in the virtio-net guest (ethtool -k) and on its TAP"
	check '! printf "%s\n" "$out" | grep -Eq "(WARNING|BUG|Oops):|needs a reset|loadvirtio:|frame dropped"' \
		"$lane: no WARN, BUG, oops, broken queue, module failure or dropped frame"
	rm -rf "$dir"
done
