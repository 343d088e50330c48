#!/bin/sh
# tests/bench/bios-inner.sh: inside the test host: time BIOS boots of one disk
# under kvm-launch and under qemu-system-x86_64 -accel kvm, interleaved.
# Prints "ours|qemu FIRST_LINE_S POWEROFF_S STATUS" per run.
#   bios-inner.sh KVM_LAUNCH DIR RUNS
kl=$1 dir=$2 runs=$3
cd "$dir" || exit 1
now() { date +%s.%N; }

# run NAME CMD...: seconds to the guest's first userspace line and to exit.
run() {
	name=$1
	shift
	rm -f first.$name
	t0=$(now)
	# A shell loop, not awk: mawk reads a pipe in blocks and would see
	# the line only at exit.
	{ "$@" < /dev/null 2>&1; echo $? > status.$name; } | {
		while IFS= read -r line; do
			case $line in
			*"kvm-guest: init"*) [ -e first.$name ] || now > first.$name ;;
			esac
		done
	}
	st=$(cat status.$name)
	t1=$(now)
	first=$(cat first.$name 2>/dev/null || echo "$t1")
	echo "$name $(echo "$first - $t0" | bc) $(echo "$t1 - $t0" | bc) $st"
}

printf '\370\003' > sercon-port
i=0
while [ $i -lt "$runs" ]; do
	run ours timeout 1500 "$kl" bench.cfg
	run qemu timeout 1500 qemu-system-x86_64 -accel kvm -machine pc -m 256 \
		-bios /usr/share/seabios/bios.bin -display none -vga none \
		-net none -serial stdio -monitor none -no-reboot \
		-fw_cfg name=etc/sercon-port,file=sercon-port \
		-drive file=disk.qcow2,format=qcow2,if=ide,snapshot=on
	i=$((i + 1))
done
