#!/bin/bash
# tests/bench/launcher.sh: kvm-launch against qemu-system-x86_64 -accel kvm in
# one test-host run, same kernel, initramfs and disk: time from start to the
# guest's first userspace line, resident memory beyond guest RAM, and a
# sequential read of an IDE disk (bus-master DMA). kvm-launch boots once with
# an empty kernel cache (the bzImage decompresses itself while an idle
# process fills the cache), then KL_ROUNDS rounds alternate QEMU and
# kvm-launch (kernel cached); rows give the medians.
# The disk is read twice: buffered (the first read after boot, guest page
# cache included) and with O_DIRECT (the IDE path alone).
# Prints markdown rows `| metric | ours | qemu | ratio | target |`.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
RAM_MB=128
DISK_MB=64
ROUNDS=${KL_ROUNDS:-3}
# vCPUs of both guests (bench smp.sh: 4)
VCPUS=${KL_VCPUS:-1}

# ---- inside the test host ----
if [ "${1:-}" = --inner ]; then
	KL=$2
	initrd=$3
	ROUNDS=$4
	VCPUS=$5
	dir=/tmp/klbench
	mkdir -p "$dir"
	export KVM_LAUNCH_CACHE=$dir/kcache
	dd if=/dev/urandom of="$dir/disk.raw" bs=1M count=$DISK_MB status=none
	cmd="loadmods; echo KL-DD-START; dd if=/dev/sda of=/dev/null bs=1M; echo KL-DD-END; echo KL-DIO-START; dd if=/dev/sda of=/dev/null bs=1M iflag=direct; echo KL-DIO-END; sleep 2"
	# SMP: boot and memory only. A 2-CPU test host running a guest's dd once hung
	# whole (its console's last line: kvm_amd's unhandled WRMSR 0xc0010007),
	# and the disk rows are the 1-vCPU bench's anyway.
	[ "$VCPUS" -gt 1 ] && cmd="echo KL-DD-END; sleep 2"
	cat > "$dir/vm.cfg" <<EOF2
memory = "${RAM_MB}M";
vcpus = $VCPUS;
boot = { kernel = "$KERNEL"; initrd = "$initrd";
         cmdline = "console=ttyS0 quiet -- $cmd"; };
serial = { output = "stdio"; };
disks = ( { file = "$dir/disk.raw"; format = "raw"; } );
EOF2

	# Timestamp serial lines as they arrive; sample RSS at the DD-END line.
	# RSS beyond guest RAM: every mapping's Rss except those of RAM size.
	rss_beyond() {
		awk -v ram=$((RAM_MB * 1024)) '
			/^[0-9a-f]+-[0-9a-f]+ / { skip = 0; next }
			/^Size:/ { skip = ($2 >= ram) }
			/^Rss:/ && !skip { sum += $2 }
			END { print sum }' "/proc/$1/smaps"
	}
	# Monotonic (the test host's wall clock can jump), in us, 10 ms resolution.
	uptime_us() { local up _; read -r up _ < /proc/uptime; echo $((${up%.*} * 1000000 + 10#${up#*.} * 10000)); }
	measure() {	# name pid-file t0: reads the guest's serial lines on stdin
		local name=$1 pidf=$2 t0=$3 line now dd0="" dio0=""
		while IFS= read -r line; do
			now=$(uptime_us)
			case $line in
			*KL-USERSPACE*) echo "$name userspace_us $((now - t0))" ;;
			*KL-DD-START*) dd0=$now ;;
			*KL-DD-END*)
				[ -n "$dd0" ] && echo "$name dd_us $((now - dd0))"
				echo "$name rss_kb $(rss_beyond "$(cat "$pidf")")" ;;
			*KL-DIO-START*) dio0=$now ;;
			*KL-DIO-END*) [ -n "$dio0" ] && echo "$name dio_us $((now - dio0))" ;;
			esac
		done
	}
	# One boot; a hung one is ended after 600 s (its rows are then missing).
	bounded() {	# pid-file command...
		local pidf=$1 w
		shift
		"$@" &
		echo $! > "$pidf"
		# the watchdog takes its sleep with it when it is told to stop
		( trap 'kill $s; exit' TERM; sleep 600 & s=$!; wait $s
		  kill "$(cat "$pidf")" ) > /dev/null 2>&1 &
		w=$!
		wait "$(cat "$pidf")"
		kill "$w" 2> /dev/null
	}
	ours() {
		local t0
		t0=$(uptime_us)
		bounded "$dir/kl.pid" "$KL" "$dir/vm.cfg" < /dev/null 2>&1 |
			measure "$1" "$dir/kl.pid" "$t0"
	}
	qemu() {
		local t0
		t0=$(uptime_us)
		bounded "$dir/q.pid" qemu-system-x86_64 -accel kvm -m $RAM_MB -smp $VCPUS -nodefaults \
			-display none -no-reboot -serial stdio -kernel "$KERNEL" -initrd "$initrd" \
			-append "console=ttyS0 quiet -- $cmd" \
			-drive file="$dir/disk.raw",format=raw,if=ide \
			< /dev/null 2>&1 | measure qemu "$dir/q.pid" "$t0"
	}
	rm -rf "$KVM_LAUNCH_CACHE"
	ours cold
	# The idle process the cold boot started fills the cache meanwhile.
	for _ in $(seq 600); do
		ls "$KVM_LAUNCH_CACHE" 2>/dev/null | grep -q "^vmlinux-" && break
		sleep 1
	done
	for _ in $(seq "$ROUNDS"); do
		qemu
		ours ours
	done
	exit 0
fi

# ---- on the build host ----
initrd=$BUILD/tests/launcher/initramfs.cpio.gz
mkdir -p "$BUILD/tests/launcher"
[ -s "$initrd" ] || "$TOP/tests/launcher/mkinitramfs.sh" "$initrd" || exit 1
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
secs() { awk -v v="$1" 'BEGIN { if (v > 0) printf "%.2f", v / 1e6; else print "-" }'; }
mibs() { awk -v v="$1" -v m=$DISK_MB 'BEGIN { if (v > 0) printf "%.1f", m / (v / 1e6); else print "-" }'; }

# Test-host CPUs (KL_TESTHOST_CPUS, default 1): 2-CPU TCG test hosts running
# kvm_amd guests have wedged whole (QEMU MTTCG with nested SVM).
th_smp=${KL_TESTHOST_CPUS:-1}
vtag=""
[ "$VCPUS" -gt 1 ] && vtag=", $VCPUS vCPUs"
status=0
if [ -f "$TOP/kvm-driver/kvmdrv.ko" ]; then lanes=${KL_LANES:-stock ours}; else lanes=${KL_LANES:-stock}; fi
for lane in $lanes; do
	out=$("$TOP/tests/testhost" --lane "$lane" --smp "$th_smp" --timeout 3600 -- \
		bash "$TOP/tests/bench/launcher.sh" --inner "$BUILD/bin/kvm-launch" "$initrd" "$ROUNDS" "$VCPUS" 2>&1)
	# Median of the values of one kind (0 if none).
	med() {
		printf '%s\n' "$out" | awk -v k="$1 $2" '$1 " " $2 == k { print $3 }' | sort -n |
			awk '{ v[NR] = $1 } END { if (!NR) print 0; else if (NR % 2) print v[(NR + 1) / 2];
				else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
	}
	# Every run, for the record.
	printf '%s\n' "$out" | grep -E '^(cold|ours|qemu) ' | sed "s/^/# $lane: /" >&2
	n=$(printf '%s\n' "$out" | grep -c '^ours userspace_us')
	ou=$(med ours userspace_us); qu=$(med qemu userspace_us); cu=$(med cold userspace_us)
	or=$(med ours rss_kb); qr=$(med qemu rss_kb)
	od=$(med ours dd_us); qd=$(med qemu dd_us)
	oi=$(med ours dio_us); qi=$(med qemu dio_us)
	if [ "$ou" = 0 ] || [ "$qu" = 0 ] || [ "$n" -lt "$ROUNDS" ]; then
		echo "bench launcher ($lane$vtag): boots did not all reach userspace (ours: $n of $ROUNDS, qemu: ${qu})" >&2
		printf '%s\n' "$out" | tail -n 30 >&2
		status=1
	fi
	row "kvm-launch ($lane$vtag): start to first userspace line, s (median of $ROUNDS)" \
		"$(secs "$ou")" "$(secs "$qu")" "$(ratio "$ou" "$qu")" "<= 0.5"
	row "kvm-launch ($lane$vtag): same, first boot with an empty kernel cache, s" \
		"$(secs "$cu")" "$(secs "$qu")" "$(ratio "$cu" "$qu")" "-"
	row "kvm-launch ($lane$vtag): RSS beyond guest RAM, MiB" \
		"$(awk -v v="$or" 'BEGIN { printf "%.1f", v / 1024 }')" \
		"$(awk -v v="$qr" 'BEGIN { printf "%.1f", v / 1024 }')" "$(ratio "$or" "$qr")" "<= 5 MiB"
	if [ "$od" != 0 ] && [ "$qd" != 0 ]; then
		# Throughput ratio: ours over QEMU's (higher is better).
		row "kvm-launch ($lane$vtag): IDE sequential read ${DISK_MB} MiB, MiB/s (median of $ROUNDS)" \
			"$(mibs "$od")" "$(mibs "$qd")" "$(ratio "$qd" "$od")" ">= 1.0"
		row "kvm-launch ($lane$vtag): same, O_DIRECT (the IDE path alone, no guest page cache), MiB/s" \
			"$(mibs "$oi")" "$(mibs "$qi")" "$(ratio "$qi" "$oi")" "-"
	elif [ "$VCPUS" = 1 ]; then
		echo "bench launcher ($lane$vtag): disk read not measured" >&2
		status=1
	fi
done
exit $status
