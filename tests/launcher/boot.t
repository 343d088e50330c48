#!/bin/bash
# tests/launcher/boot.t: end to end in the test host: the Debian kernel and
# the test initramfs boot to userspace and print a line; the guest's i8042
# reset ends kvm-launch with 0; a triple fault (reboot=t) too; IDE disks
# (raw, qcow2 compressed by qemu-img, read-only) are read and written by
# the guest and checked on the host; on_reset = "restart" boots again. The
# kernel cache: unpack = false leaves it alone, a boot that finds it empty
# has it filled in the background, --cache-kernel fills it, and boots from
# it place the kernel with KASLR.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
set -u
. "$(dirname "$0")/../lib/guest.sh"
plan 26

for lane in $LANES; do
	dir=$(mktemp -d "$BUILD/tests/launcher/e2e.XXXXXX")
	cp "$initrd" "$dir/initrd.img"
	cat > "$dir/hello.cfg" <<EOF2
name = "hello";
memory = "128M";
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  unpack = false;
  cmdline = "console=ttyS0 quiet reboot=k -- echo KL-HELLO-\$((6 * 7)) KL-CLOCK-\$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource) KL-ERMS-\$(grep -cw erms /proc/cpuinfo); grep -w _text /proc/kallsyms";
};
serial = { output = "stdio"; };
EOF2
	sed -e "s/name = \"hello\"/name = \"restart\"/" -e "/unpack = false/d" "$dir/hello.cfg" > "$dir/restart.cfg"
	echo "on_reset = \"restart\";" >> "$dir/restart.cfg"

	# Disks: a pattern, as raw (writable), as compressed qcow2, and read-only.
	have_disks=0
	if command -v qemu-img >/dev/null; then
		have_disks=1
		( i=0; while [ $i -lt 4096 ]; do printf 'kvm-launch block %08d\n' $i; i=$((i + 1)); done ) |
			head -c 4194304 > "$dir/pattern"
		truncate -s 4M "$dir/pattern"
		cp "$dir/pattern" "$dir/a.raw"
		qemu-img convert -q -c -f raw -O qcow2 "$dir/pattern" "$dir/b.qcow2"
		cp "$dir/pattern" "$dir/c.raw"
		cp "$dir/pattern" "$dir/d.raw"
		sum=$(md5sum < "$dir/pattern" | cut -d' ' -f1)
		cat > "$dir/disks.cfg" <<EOF2
name = "disks";
memory = "128M";
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=t -- kl-disktest";
};
serial = { output = "stdio"; };
disks = ( { file = "a.raw"; },
          { file = "b.qcow2"; format = "qcow2"; },
          { file = "c.raw"; format = "raw"; readonly = true; },
          { file = "d.raw"; format = "raw"; snapshot = true; } );
EOF2
		# TRIM: an empty qcow2 the guest makes a file system on, which
		# boot-inner.sh creates in the test host's /tmp (9p has no holes)
		cat > "$dir/trim.cfg" <<EOF2
name = "trim";
memory = "128M";
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k -- kl-trimtest";
};
serial = { output = "stdio"; };
disks = ( { file = "/tmp/kltrim/e.qcow2"; } );
EOF2
	fi
	[ "$have_disks" = 1 ] || rm -f "$dir/disks.cfg"

	# -cpu max keeps ERMS in the test host, so that the launcher has the hint to drop.
	out=$("$TOP/tests/testhost" --lane "$lane" --cpu max --timeout 5400 --rw "$dir" -- \
		"$TOP/tests/launcher/boot-inner.sh" "$KL" "$dir" "$KERNEL" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep -E '^(hello|disks|restart|trim)\| ' | grep -vE 'KL-|^[a-z]+\| $' | head -40 | sed 's/^/# /'
	check '[ $st -eq 0 ]' "$lane: test host ran (status $st)"
	check 'printf "%s\n" "$out" | grep -q "^hello| KL-USERSPACE"' "$lane: guest reached userspace"
	check 'printf "%s\n" "$out" | grep -q "^hello| KL-HELLO-42"' "$lane: guest printed a line on the serial console"
	check 'printf "%s\n" "$out" | grep -q "^HELLO-STATUS 0"' "$lane: i8042 reset ends kvm-launch with status 0"
	check 'printf "%s\n" "$out" | grep -q "^HELLO-STATUS 0 0$"' "$lane: unpack = false boots the bzImage, the cache untouched"
	check 'printf "%s\n" "$out" | grep -q "^hello| KL-HELLO-42 KL-CLOCK-kvm-clock"' \
		"$lane: the guest keeps time with kvmclock (no PM timer exits)"
	check 'printf "%s\n" "$out" | grep -q "^hello| KL-HELLO-42 KL-CLOCK-[a-z-]* KL-ERMS-0"' \
		"$lane: on an emulated host (the test host is TCG) the guest has no ERMS"
	if [ "$have_disks" = 1 ]; then
		check 'printf "%s\n" "$out" | grep -q "^DISKS-STATUS 0"' "$lane: triple fault (reboot=t) ends kvm-launch with status 0"
		for d in a b c d; do
			check "printf '%s\n' \"\$out\" | grep -q \"^disks| KL-SUM-$d $sum\"" "$lane: guest reads disk $d (raw, qcow2, read-only raw, snapshot raw) with the right contents"
		done
		check '[ "$(dd if="$dir/a.raw" bs=512 skip=2 count=1 2>/dev/null | head -c 10 | tr -d "\\0")" = KL-WRITE-A ]' \
			"$lane: guest write reached the raw image"
		check '[ "$(qemu-img convert -f qcow2 -O raw "$dir/b.qcow2" "$dir/b.out" && dd if="$dir/b.out" bs=512 skip=3000 count=1 2>/dev/null | head -c 10 | tr -d "\\0")" = KL-WRITE-B ] && qemu-img check -q "$dir/b.qcow2"' \
			"$lane: guest write to a compressed cluster allocated; qemu-img check passes"
		check '! printf "%s\n" "$out" | grep -q "^disks| KL-WROTE-c" && cmp -s "$dir/c.raw" "$dir/pattern"' \
			"$lane: read-only disk refused the write; image unchanged"
		check 'printf "%s\n" "$out" | grep -q "^disks| KL-READ-d KL-WRITE-D"' \
			"$lane: snapshot = true: the guest reads its write back (from the overlay)"
		check 'cmp -s "$dir/d.raw" "$dir/pattern" && printf "%s\n" "$out" | grep -q "^SNAPSHOT-LEFT 0$"' \
			"$lane: snapshot = true: the image is byte-identical after, no overlay left in TMPDIR"
		# TRIM: "TRIM-STATUS status KiB-with-the-file KiB-after"
		trim=$(printf '%s\n' "$out" | sed -n 's/^TRIM-STATUS //p')
		check 'printf "%s\n" "$out" | grep -Eq "^trim\| KL-FSTRIM /mnt: [1-9][0-9]* bytes trimmed" && [ "${trim%% *}" = 0 ]' \
			"$lane: TRIM: the disk offers discard and fstrim trims the freed space ($(printf '%s\n' "$out" | sed -n 's/^trim| KL-FSTRIM //p'))"
		check 'echo "$trim" | awk "NF == 3 && \$2 >= 16384 && \$3 <= \$2 - 12288 { f = 1 } END { exit !f }"' \
			"$lane: TRIM: the qcow2 image's allocated size shrinks (KiB with the file, after: ${trim#* })"
		check 'printf "%s\n" "$out" | grep -q "^CACHE-ENTRIES 1$"' "$lane: a boot that finds the kernel cache empty has an idle process fill it"
	else
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do nok "$lane: disk test $i (no qemu-img)"; done
	fi
	check 'printf "%s\n" "$out" | grep -Eq "^RESTART-BOOTS ([2-9]|[1-9][0-9])"' "$lane: on_reset = restart boots the guest again"
	check 'printf "%s\n" "$out" | grep -q "^RESTART-RUNNING yes"' "$lane: and kvm-launch keeps running"
	check 'printf "%s\n" "$out" | grep -q "^CACHE-KERNEL 0 1$"' "$lane: kvm-launch --cache-kernel unpacks a kernel into the cache"
	# KASLR from the cache: some boot away from the link address (all at it: 1 in 500^2).
	texts=$(printf '%s\n' "$out" | sed -n 's/^restart| \(ffffffff[0-9a-f]*\) T _text.*/\1/p')
	check '[ "$(echo $texts | wc -w)" -ge 2 ] && echo "$texts" | grep -qv "^ffffffff81000000$" && ! echo "$texts" | grep -qv "[02468ace]00000$" && [ "$(printf "%s\n" "$out" | grep -c "^restart| stats: kernel .* from the cache")" -ge 2 ]' \
		"$lane: boots from the cache, KASLR moving the kernel, 2 MiB aligned ($(echo $texts))"
	check 'printf "%s\n" "$out" | grep -q "kvm-launch: restart: ended by signal 15"' "$lane: SIGTERM ends kvm-launch cleanly"
	# Both hypervisors queue the PCI address writes (KVM_CAP_COALESCED_PIO).
	check 'printf "%s\n" "$out" | grep -Eq "^restart\| stats: .* coalesced [1-9]"' \
		"$lane: PCI address writes (0xcf8) are queued by the hypervisor, not an exit each"
	rm -rf "$dir"
done
