#!/bin/bash
# tests/launcher/smp.t: the SMP PC in the test host (2 CPUs). Linux direct
# boot with vcpus = 4 and the in-kernel irqchip: 4 CPUs online, 4 busy
# processes make every CPU work (/proc/stat), the LAPIC timer is the
# clockevent and ticks on each CPU, the vCPU threads are named; irqchip =
# "user" and pit = "user" boot too; a reset with 2 vCPUs restarts both.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
# A lane whose hypervisor has no KVM_CAP_IRQCHIP must refuse vcpus = 4
# with that reason; its SMP points are then skipped.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
KL=$BUILD/bin/kvm-launch
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
if [ -f "$TOP/kvm-driver/kvmdrv.ko" ]; then LANES=${KL_LANES:-stock ours}; else LANES=${KL_LANES:-stock}; fi

if [ ! -x "$KL" ]; then echo "1..0 # SKIP $KL not built"; exit 0; fi
if [ ! -r "$KERNEL" ]; then echo "1..0 # SKIP no $KERNEL"; exit 0; fi

initrd=$BUILD/tests/launcher/initramfs.cpio.gz
mkdir -p "$BUILD/tests/launcher"
if [ ! -s "$initrd" ] || [ "$TOP/tests/launcher/mkinitramfs.sh" -nt "$initrd" ]; then
	"$TOP/tests/launcher/mkinitramfs.sh" "$initrd" || { echo "1..0 # SKIP cannot build the initramfs"; exit 0; }
fi

per_lane=13
echo "1..$((per_lane * $(echo $LANES | wc -w)))"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { if eval "$1"; then ok "$2"; else nok "$2"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }

# The guest: CPUs online, 4 busy loops for 3 s, per-CPU user time, the
# clockevent and the local timer interrupts per CPU.
work='echo KL-NPROC-$(nproc); p=""; for i in 1 2 3 4; do (while :; do :; done) & p="$p $!"; done; sleep 3; grep "^cpu[0-9]" /proc/stat | while read c u n s r; do echo KL-STAT $c $u; done; kill $p; echo KL-CLOCKEVENT-$(cat /sys/devices/system/clockevents/clockevent0/current_device); grep LOC: /proc/interrupts | sed "s/^ */KL-/"'

for lane in $LANES; do
	dir=$(mktemp -d "$BUILD/tests/launcher/smp.XXXXXX")
	cp "$initrd" "$dir/initrd.img"
	mkcfg() {	# name vcpus extra-settings cmdline
		cat > "$dir/$1.cfg" <<EOF2
name = "$1";
memory = "256M";
vcpus = $2;
$3
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k tsc=reliable -- $4";
};
serial = { output = "stdio"; };
EOF2
	}
	mkcfg smp4 4 "" "$work"
	mkcfg user 1 'irqchip = "user";' 'echo KL-NPROC-$(nproc) KL-USERMODE-$(grep -c " XT-PIC .*timer" /proc/interrupts)'
	mkcfg pituser 1 'irqchip = "kernel"; pit = "user";' 'echo KL-NPROC-$(nproc) KL-CLOCKEVENT-$(cat /sys/devices/system/clockevents/clockevent0/current_device)'
	mkcfg reset 2 'on_reset = "restart";' 'echo KL-NPROC-$(nproc); sleep 1'

	out=$("$TOP/tests/testhost" --lane "$lane" --smp 2 --timeout 2400 --rw "$dir" -- \
		"$TOP/tests/launcher/smp-inner.sh" "$KL" "$dir" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep -E '^[a-z0-9]+\| (KL-[A-Z]|kvm-launch|stats)' | head -40 | sed 's/^/# /'
	check '[ $st -eq 0 ]' "$lane: test host ran (status $st)"
	if printf '%s\n' "$out" | grep -q "^smp4| .*vcpus: .*no in-kernel interrupt controller (KVM_CAP_IRQCHIP)"; then
		check 'printf "%s\n" "$out" | grep -q "^smp4-STATUS 1$"' \
			"$lane: vcpus = 4 refused: the hypervisor has no KVM_CAP_IRQCHIP (file:line and the capability named)"
		for i in 1 2 3 4 5 6 7; do skip "$lane: SMP point $i: the hypervisor has no in-kernel irqchip"; done
	else
		check 'printf "%s\n" "$out" | grep -q "^smp4-STATUS 0$"' "$lane: vcpus = 4 boots and powers off with status 0"
		check 'printf "%s\n" "$out" | grep -q "^smp4| KL-NPROC-4"' "$lane: nproc prints 4"
		busy=$(printf '%s\n' "$out" | awk '/^smp4\| KL-STAT cpu[0-9]/ && $5 >= 100 { c++ } END { print c + 0 }')
		check '[ "$busy" -eq 4 ]' "$lane: 4 busy processes: every CPU has >= 1 s of user time in /proc/stat ($busy of 4)"
		check 'printf "%s\n" "$out" | grep -Eq "^smp4\| KL-CLOCKEVENT-lapic"' "$lane: the LAPIC timer is the clockevent"
		loc=$(printf '%s\n' "$out" | sed -n 's/^smp4| KL-LOC: *//p' | head -1)
		check '[ "$(echo $loc | awk "{ for (i = 1; i <= 4; i++) if (\$i > 0) c++; print c + 0 }")" -eq 4 ]' \
			"$lane: local timer interrupts on each of the 4 CPUs ($loc)"
		check 'printf "%s\n" "$out" | grep -q "^reset| KL-NPROC-2" && [ "$(printf "%s\n" "$out" | grep -c "^reset| KL-NPROC-2")" -ge 2 ]' \
			"$lane: a reset with 2 vCPUs boots again with both"
		check 'printf "%s\n" "$out" | grep -Eq "^RESET-THREADS 4 io kvm-launch vcpu0 vcpu1 $"' \
			"$lane: threads named vcpu0, vcpu1 and io beside main"
		check 'printf "%s\n" "$out" | grep -q "^RESET-STATUS 143$" && printf "%s\n" "$out" | grep -q "^reset| kvm-launch: reset: ended by signal 15"' \
			"$lane: SIGTERM ends the SMP machine cleanly (status 143)"
	fi
	check 'printf "%s\n" "$out" | grep -q "^user-STATUS 0$" && printf "%s\n" "$out" | grep -q "^user| KL-NPROC-1 KL-USERMODE-1"' \
		"$lane: irqchip = \"user\" boots with the 8259 in kvm-launch (XT-PIC timer)"
	if printf '%s\n' "$out" | grep -q "^pituser| .*no in-kernel interrupt controller"; then
		skip "$lane: pit = \"user\" with the in-kernel irqchip: the hypervisor has none"
		skip "$lane: its clockevent"
	else
		check 'printf "%s\n" "$out" | grep -q "^pituser-STATUS 0$" && printf "%s\n" "$out" | grep -q "^pituser| KL-NPROC-1"' \
			"$lane: pit = \"user\" beside the in-kernel irqchip boots"
		check 'printf "%s\n" "$out" | grep -Eq "^pituser\| .*KL-CLOCKEVENT-lapic"' "$lane: and uses the LAPIC timer"
	fi
	check '! printf "%s\n" "$out" | grep -Eq "(WARNING|BUG|Oops):"' "$lane: no WARN, BUG or oops in the output"
	rm -rf "$dir"
done
