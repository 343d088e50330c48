#!/bin/bash
# tests/bench/display.sh: kvm-launch's VNC display against QEMU's std VGA
# with its VNC display (-accel kvm), in one test-host run: the same guest
# (Linux, bochs-drm, fbcon on tty1) scrolls KL_LINES lines (default 2000)
# through fbcon with a VNC viewer attached (tests/launcher/vncclient.c,
# asking for every update), then idles KL_IDLE seconds (default 10) with
# the viewer still attached. Rows: the scroll's time, from the guest's
# serial lines around it, and the CPU time the VMM process used during the
# idle span (utime + stime from /proc), KL_ROUNDS rounds (default 1), medians.
# Both at 1024x768 (video=): QEMU's EDID would make its mode 1280x800.
# Prints markdown rows `| metric | ours | qemu | ratio | target |`.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
LINES=${KL_LINES:-2000}
IDLE=${KL_IDLE:-10}
ROUNDS=${KL_ROUNDS:-1}

# ---- inside the test host ----
if [ "${1:-}" = --inner ]; then
	KL=$2 initrd=$3 client=$4
	dir=/tmp/klbench-display
	mkdir -p "$dir"
	export KVM_LAUNCH_CACHE=$dir/kcache
	ip link set lo up 2>/dev/null
	cmd="kl-scroll $LINES $IDLE"
	cat > "$dir/vm.cfg" <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; initrd = "$initrd";
         cmdline = "console=ttyS0 quiet video=1024x768 -- $cmd"; };
serial = { output = "stdio"; };
display = { type = "vnc"; listen = "127.0.0.1:5910"; };
EOF2
	uptime_us() { local up _; read -r up _ < /proc/uptime; echo $((${up%.*} * 1000000 + 10#${up#*.} * 10000)); }
	# the process's CPU time, us (utime + stime, in clock ticks)
	cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000000 / hz) }' "/proc/$1/stat"; }
	measure() {	# name pid-file port: reads the guest's serial lines on stdin
		local name=$1 pidf=$2 port=$3 line now t0="" wpid=""
		while IFS= read -r line; do
			now=$(uptime_us)
			case $line in
			*KL-FB*)
				# a viewer attached, asking for every update, until the VMM ends
				"$client" watch 127.0.0.1:$port 600 > "$dir/$name.watch" 2>&1 &
				wpid=$! ;;
			*KL-SCROLL-START*) t0=$now ;;
			*KL-SCROLL-END*) [ -n "$t0" ] && echo "$name scroll_us $((now - t0))" ;;
			*KL-IDLE-START*)
				# sampled inside the guest's rest: the VMM ends soon after it
				( sleep 1
				  c0=$(cpu_us "$(cat "$pidf")") i0=$(uptime_us)
				  sleep $((IDLE - 3))
				  c1=$(cpu_us "$(cat "$pidf")") i1=$(uptime_us)
				  echo "$name idle_cpu_x100 $(( (c1 - c0) * 10000 / (i1 - i0) ))" ) & ;;
			esac
		done
		[ -n "$wpid" ] && kill "$wpid" 2>/dev/null
		wait
		[ -n "$wpid" ] && echo "$name viewer $(cat "$dir/$name.watch" 2>/dev/null)"
	}
	bounded() {	# pid-file command...
		local pidf=$1 w
		shift
		"$@" &
		echo $! > "$pidf"
		( trap 'kill $s; exit' TERM; sleep 900 & s=$!; wait $s
		  kill "$(cat "$pidf")" ) > /dev/null 2>&1 &
		w=$!
		wait "$(cat "$pidf")"
		kill "$w" 2> /dev/null
	}
	ours() {
		bounded "$dir/kl.pid" "$KL" "$dir/vm.cfg" < /dev/null 2>&1 | measure ours "$dir/kl.pid" 5910
	}
	qemu() {
		bounded "$dir/q.pid" qemu-system-x86_64 -accel kvm -m 256 -nodefaults -vga std \
			-display vnc=127.0.0.1:11 -no-reboot -serial stdio -kernel "$KERNEL" -initrd "$initrd" \
			-append "console=ttyS0 quiet video=1024x768 -- $cmd" < /dev/null 2>&1 | measure qemu "$dir/q.pid" 5911
	}
	# the kernel cache filled by a first boot (not measured)
	for _ in $(seq "$ROUNDS"); do
		qemu
		ours
	done
	exit 0
fi

# ---- on the build host ----
. "$TOP/tests/lib/vga-initrd.sh"
base=$BUILD/tests/launcher/initramfs.cpio.gz
mkdir -p "$BUILD/tests/launcher"
[ -s "$base" ] || "$TOP/tests/launcher/mkinitramfs.sh" "$base" || exit 1
initrd=$BUILD/tests/bench-display-initrd.cpio.gz
client=$BUILD/tests/launcher/vncclient
cc -O2 -Wall -o "$client" "$TOP/tests/launcher/vncclient.c" $(pkg-config --cflags --libs libvncclient) || exit 1
cp "$base" "$initrd"
add_vga_initrd "$initrd" kl-scroll <<'EOS'
#!/bin/sh
# kl-scroll LINES IDLE: LINES lines through fbcon on tty1, then IDLE seconds of rest
kl-vgaload
sleep 2
echo KL-SCROLL-START
i=0
while [ $i -lt "$1" ]; do
	echo "KL line $i: the quick brown fox jumps over the lazy dog, 0123456789"
	i=$((i + 1))
done > /dev/tty1
echo KL-SCROLL-END
echo KL-IDLE-START
sleep "$2"
echo KL-IDLE-END
EOS
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
secs() { awk -v v="$1" 'BEGIN { if (v > 0) printf "%.2f", v / 1e6; else print "-" }'; }
pct() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 100 }'; }

th_smp=${KL_TESTHOST_CPUS:-1}
status=0
if [ -f "$TOP/kvm-driver/kvmdrv.ko" ]; then lanes=${KL_LANES:-stock ours}; else lanes=${KL_LANES:-stock}; fi
for lane in $lanes; do
	out=$("$TOP/tests/testhost" --lane "$lane" --smp "$th_smp" --timeout 3600 -- \
		bash "$TOP/tests/bench/display.sh" --inner "$BUILD/bin/kvm-launch" "$initrd" "$client" 2>&1)
	med() {
		printf '%s\n' "$out" | awk -v k="$1 $2" '$1 " " $2 == k { print $3 }' | sort -n |
			awk '{ v[NR] = $1 } END { if (!NR) print 0; else if (NR % 2) print v[(NR + 1) / 2];
				else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
	}
	printf '%s\n' "$out" | grep -E '^(ours|qemu) ' | sed "s/^/# $lane: /" >&2
	os=$(med ours scroll_us); qs=$(med qemu scroll_us)
	oc=$(med ours idle_cpu_x100); qc=$(med qemu idle_cpu_x100)
	if [ "$os" = 0 ] || [ "$qs" = 0 ] || ! printf "%s\n" "$out" | grep -q "^ours idle_cpu_x100 " ||
	   ! printf "%s\n" "$out" | grep -q "^qemu idle_cpu_x100 "; then
		echo "bench display ($lane): runs did not all finish" >&2
		printf '%s\n' "$out" | tail -n 30 >&2
		status=1
	fi
	row "display ($lane): $LINES lines scrolled through fbcon (bochs-drm), VNC viewer attached, s (median of $ROUNDS)" \
		"$(secs "$os")" "$(secs "$qs")" "$(ratio "$os" "$qs")" "<= 1.0"
	row "display ($lane): VMM CPU, idle screen with a VNC viewer attached, % of one CPU (over $((IDLE - 3)) s of a ${IDLE} s rest)" \
		"$(pct "$oc")" "$(pct "$qc")" "$(ratio "$oc" "$qc")" "<= 1.0"
done
exit $status
