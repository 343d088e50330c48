#!/bin/bash
# tests/launcher/smp.t: the SMP PC in the test host. Linux direct
# boot with vcpus = 4 and the in-kernel irqchip: 4 CPUs online, 4 busy
# processes make every CPU work (/proc/stat), the LAPIC timer is the
# clockevent and ticks on each CPU, the vCPU threads are named; irqchip =
# "user" and pit = "user" boot too; a reset with 2 vCPUs restarts both.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
# A lane whose hypervisor has no KVM_CAP_IRQCHIP must refuse vcpus = 4
# with that reason; its SMP points are then skipped.
# The test host has 1 CPU (KL_TESTHOST_CPUS to change): vCPU threads then
# share it, which tests the same things; 2-CPU TCG test hosts running
# kvm_amd guests have been seen to wedge (QEMU MTTCG with nested SVM).
set -u
. "$(dirname "$0")/../lib/guest.sh"
plan 17

# The guest: CPUs online, 4 busy loops for 3 s, per-CPU user time, the
# clockevent and the local timer interrupts per CPU.
work=kl-smpwork

for lane in $LANES; do
	dir=$(mktemp -d "$BUILD/tests/launcher/smp.XXXXXX")
	cp "$initrd" "$dir/initrd.img"
	mkcfg() {	# name vcpus extra-settings cmdline
		# the command line is a libconfig string: escape \ and "
		local c=${4//\\/\\\\}
		c=${c//\"/\\\"}
		cat > "$dir/$1.cfg" <<EOF2
name = "$1";
memory = "256M";
vcpus = $2;
$3
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k tsc=reliable -- $c";
};
serial = { output = "stdio"; };
EOF2
	}
	mkcfg smp4 4 "" "$work"
	mkcfg split 4 'irqchip = "split";' 'echo KL-NPROC-$(nproc); echo KL-CLOCKEVENT-$(cat /sys/devices/system/clockevents/clockevent0/current_device); grep -E "IO-APIC.*(timer|ttyS0)" /proc/interrupts | sed "s/^ */KL-IRQ /"'
	mkcfg user 1 'irqchip = "user";' 'echo KL-NPROC-$(nproc) KL-USERMODE-$(grep -c " XT-PIC .*timer" /proc/interrupts)'
	mkcfg pituser 1 'irqchip = "kernel"; pit = "user";' 'echo KL-NPROC-$(nproc) KL-CLOCKEVENT-$(cat /sys/devices/system/clockevents/clockevent0/current_device)'
	mkcfg reset 2 'on_reset = "restart";' 'echo KL-NPROC-$(nproc); sleep 1'

	out=$("$TOP/tests/testhost" --lane "$lane" --smp "${KL_TESTHOST_CPUS:-1}" --timeout 1500 --rw "$dir" -- \
		"$TOP/tests/launcher/smp-inner.sh" "$KL" "$dir" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep -E '^[a-z0-9]+\| (KL-[A-Z]|kvm-launch|stats)|^RESET-' | head -60 | sed 's/^/# /'
	check '[ $st -eq 0 ]' "$lane: test host ran (status $st)"
	if printf '%s\n' "$out" | grep -q "^smp4| .*vcpus: .*no in-kernel interrupt controller (KVM_CAP_IRQCHIP)"; then
		check 'printf "%s\n" "$out" | grep -q "^smp4-STATUS 1$"' \
			"$lane: vcpus = 4 refused: the hypervisor has no KVM_CAP_IRQCHIP (file:line and the capability named)"
		for i in 1 2 3 4 5 6 7 8; do skip "$lane: SMP point $i: the hypervisor has no in-kernel irqchip"; done
	else
		check 'printf "%s\n" "$out" | grep -q "^smp4-STATUS 0$"' "$lane: vcpus = 4 boots and powers off with status 0"
		check 'printf "%s\n" "$out" | grep -q "^smp4| KL-NPROC-4"' "$lane: nproc prints 4"
		busy=$(printf '%s\n' "$out" | awk '/^smp4\| KL-STAT cpu[0-9]/ && $4 >= 100 { c++ } END { print c + 0 }')
		check '[ "$busy" -eq 4 ]' "$lane: 4 busy processes: every CPU has >= 1 s of user time in /proc/stat ($busy of 4)"
		check 'printf "%s\n" "$out" | grep -Eq "^smp4\| KL-CLOCKEVENT-lapic"' "$lane: the LAPIC timer is the clockevent"
		loc=$(printf '%s\n' "$out" | sed -n 's/^smp4| KL-LOC: *//p' | head -1)
		check '[ "$(echo $loc | awk "{ for (i = 1; i <= 4; i++) if (\$i > 0) c++; print c + 0 }")" -eq 4 ]' \
			"$lane: local timer interrupts on each of the 4 CPUs ($loc)"
		check 'printf "%s\n" "$out" | grep -q "^reset| KL-NPROC-2" && [ "$(printf "%s\n" "$out" | grep -c "^reset| KL-NPROC-2")" -ge 2 ] && printf "%s\n" "$out" | grep -Eq "^RESET-FDS ([0-9]+) \\1$"' \
			"$lane: a reset with 2 vCPUs boots again with both, with as many open fds as before it"
		check 'printf "%s\n" "$out" | grep -Eq "^RESET-THREADS 4 io kvm-launch vcpu0 vcpu1 $"' \
			"$lane: threads named vcpu0, vcpu1 and io beside main"
		check 'printf "%s\n" "$out" | grep -q "^smpcfg-STATUS 0$" && printf "%s\n" "$out" | grep -Eq "^smpcfg\\| 4.?$"' \
			"$lane: configs/smp.cfg boots from its directory and its guest counts 4 CPUs"
		check 'printf "%s\n" "$out" | grep -q "^RESET-STATUS 143$" && printf "%s\n" "$out" | grep -q "^reset| kvm-launch: reset: ended by signal 15"' \
			"$lane: SIGTERM ends the SMP machine cleanly (status 143)"
	fi
	if printf '%s\n' "$out" | grep -Eq "^split\| .*no (split|in-kernel) interrupt controller \(KVM_CAP_(SPLIT_)?IRQCHIP\)"; then
		check 'printf "%s\n" "$out" | grep -q "^split-STATUS 1$"' \
			"$lane: irqchip = \"split\" refused, naming the capability the hypervisor lacks"
		skip "$lane: split: the hypervisor has no split irqchip"
		skip "$lane: split: the hypervisor has no split irqchip"
	else
		check 'printf "%s\n" "$out" | grep -q "^split-STATUS 0$" && printf "%s\n" "$out" | grep -q "^split| KL-NPROC-4"' \
			"$lane: irqchip = \"split\" (IOAPIC and 8259 in kvm-launch) boots 4 vCPUs"
		check 'printf "%s\n" "$out" | grep -q "^split| KL-CLOCKEVENT-lapic"' "$lane: split: the LAPIC timer is the clockevent"
		# The timer (pin 2, the MADT's override) and the UART reach the
		# guest through kvm-launch's IOAPIC.
		check 'printf "%s\n" "$out" | grep -Eq "^split\| KL-IRQ 0: +[1-9].*IO-APIC +2-edge +timer" && printf "%s\n" "$out" | grep -Eq "^split\| KL-IRQ 4: .*[1-9].*IO-APIC +4-edge +ttyS0"' \
			"$lane: split: timer (IRQ0 on pin 2) and UART interrupts come through the userspace IOAPIC"
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
