#!/bin/bash
# tests/bench/net.sh: the network adapters against qemu-system-x86_64 -accel
# kvm (vhost off) in one test-host run, same kernel and initramfs, the same
# NIC model on a TAP in the same bridge: TCP throughput guest to host and
# host to guest (iperf3, the guest the client; the test host's iperf3 -s
# on the bridge's 10.8.0.1) and the round trip of a ping from the guest.
# KL_ROUNDS rounds (default 3) alternate QEMU and kvm-launch for each model;
# rows give the medians. Lane stock by default (KL_LANES): kvm-launch takes
# its doorbells and raises its interrupts through KVM's eventfds there.
# Prints markdown rows `| metric | ours | qemu | ratio | target |`.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
ROUNDS=${KL_ROUNDS:-3}
MODELS="virtio e1000"
SECS=5

# ---- inside the test host ----
if [ "${1:-}" = --inner ]; then
	KL=$2
	initrd=$3
	ROUNDS=$4
	export PATH=/usr/sbin:/sbin:$PATH
	dir=/tmp/klnet
	mkdir -p "$dir"
	export KVM_LAUNCH_CACHE=$dir/kcache
	modprobe tun && modprobe bridge || exit 1
	ip link set lo up
	ip link add klbr0 type bridge
	ip addr add 10.8.0.1/24 dev klbr0
	ip link set klbr0 up
	iperf3 -s -D -B 10.8.0.1 --logfile "$dir/iperf3.log" || exit 1
	# QEMU's TAP joins the bridge through its ifup script
	printf '#!/bin/sh\nip link set "$1" up\nip link set "$1" master klbr0\n' > "$dir/ifup"
	chmod 755 "$dir/ifup"
	# One boot, ended after 600 s if hung; its result lines on stdout.
	run() {	# name command...
		local name=$1
		shift
		timeout 600 "$@" < /dev/null 2>&1 | tr -d '\r' |
			sed -n "s/^.*\(KL-\(TX\|RX\|RTT\)\) /$name \1 /p"
	}
	for m in $MODELS; do
		case $m in virtio) drv=virtio_net qdev=virtio-net-pci ;; *) drv=e1000 qdev=e1000 ;; esac
		cat > "$dir/$m.cfg" <<EOF2
memory = "256M";
nics = ( { model = "$m"; backend = "tap"; ifname = "klo"; bridge = "klbr0"; } );
boot = { kernel = "$KERNEL"; initrd = "$initrd";
         cmdline = "console=ttyS0 quiet -- kl-netbench $drv $SECS"; };
serial = { output = "stdio"; };
EOF2
		for _ in $(seq "$ROUNDS"); do
			run "qemu $m" qemu-system-x86_64 -accel kvm -m 256 -smp 1 -nodefaults \
				-display none -no-reboot -serial stdio -kernel "$KERNEL" -initrd "$initrd" \
				-append "console=ttyS0 quiet -- kl-netbench $drv $SECS" \
				-netdev tap,id=n0,ifname=klq,script="$dir/ifup",downscript=no,vhost=off \
				-device "$qdev,netdev=n0"
			run "ours $m" "$KL" "$dir/$m.cfg"
		done
	done
	exit 0
fi

# ---- on the build host ----
initrd=$BUILD/tests/launcher/initramfs.cpio.gz
mkdir -p "$BUILD/tests/launcher"
[ -s "$initrd" ] || "$TOP/tests/launcher/mkinitramfs.sh" "$initrd" || exit 1
# The bench's initramfs: the test one, then a second cpio archive with
# iperf3 (and the libraries it links) and the guest's script.
work=$(mktemp -d "$BUILD/tests/launcher/netbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
extra=$work/extra
mkdir -p "$extra/bin"
# kl-netbench DRIVER SECONDS: 10.8.0.2 on eth0, then iperf3 each way and a
# ping, each printed as one KL- line (Mbit/s, ms).
cat > "$extra/bin/kl-netbench" <<'EOS'
#!/bin/sh
loadvirtio
[ "$1" = e1000 ] && while read -r m; do insmod "/lib/modules/$m"; done < /etc/modules-e1000
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip addr add 10.8.0.2/24 dev eth0
ip link set eth0 up
i=0
until ping -c 1 -W 2 10.8.0.1 > /dev/null 2>&1; do
	i=$((i + 1))
	[ $i -ge 60 ] && break
done
rate() { awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }'; }
echo "KL-TX $(iperf3 -c 10.8.0.1 -t "$2" -f m | rate)"
echo "KL-RX $(iperf3 -c 10.8.0.1 -t "$2" -f m -R | rate)"
echo "KL-RTT $(ping -c 20 -i 0.2 10.8.0.1 | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p')"
EOS
chmod 755 "$extra/bin/kl-netbench"
cp "$initrd" "$work/initrd.img"
. "$TOP/tests/lib/initrd-append.sh"
initrd_append "$work/initrd.img" "$extra" /usr/bin/iperf3 || exit 1

row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
status=0
for lane in ${KL_LANES:-stock}; do
	out=$("$TOP/tests/testhost" --lane "$lane" --timeout 3600 --rw "$work" -- \
		bash "$TOP/tests/bench/net.sh" --inner "$BUILD/bin/kvm-launch" "$work/initrd.img" "$ROUNDS" 2>&1)
	printf '%s\n' "$out" | grep -E '^(ours|qemu) ' | sed "s/^/# $lane: /" >&2
	# Median of one kind (0 if none).
	med() {
		printf '%s\n' "$out" | awk -v k="$1 $2 $3" '$1 " " $2 " " $3 == k && $4 + 0 > 0 { print $4 }' | sort -g |
			awk '{ v[NR] = $1 } END { if (!NR) print 0; else if (NR % 2) print v[(NR + 1) / 2];
				else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
	}
	for m in $MODELS; do
		ot=$(med ours $m KL-TX); qt=$(med qemu $m KL-TX)
		orx=$(med ours $m KL-RX); qrx=$(med qemu $m KL-RX)
		ol=$(med ours $m KL-RTT); ql=$(med qemu $m KL-RTT)
		if [ "$ot" = 0 ] || [ "$qt" = 0 ] || [ "$orx" = 0 ] || [ "$qrx" = 0 ]; then
			echo "bench net ($lane, $m): a throughput was not measured" >&2
			printf '%s\n' "$out" | tail -n 30 >&2
			status=1
		fi
		tgt=">= 1.0"
		row "net $m/tap ($lane): TCP guest to host (iperf3), Mbit/s (median of $ROUNDS)" \
			"$ot" "$qt" "$(ratio "$ot" "$qt")" "$tgt"
		row "net $m/tap ($lane): TCP host to guest (iperf3 -R), Mbit/s" \
			"$orx" "$qrx" "$(ratio "$orx" "$qrx")" "$tgt"
		[ $m = virtio ] && tgt="<= 1.0" || tgt="-"
		row "net $m/tap ($lane): ping round trip guest to host, ms" \
			"$ol" "$ql" "$(ratio "$ol" "$ql")" "$tgt"
	done
done
exit $status
