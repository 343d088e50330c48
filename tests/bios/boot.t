#!/bin/bash
# tests/bios/boot.t: BIOS boot end to end in the test host, stock kvm_amd and
# our driver: SeaBIOS + syslinux from a compressed qcow2 disk (ata_piix finds
# it, the root mounts from it), isolinux from an ISO on the ATAPI CD-ROM, and
# ACPI power-off (status 0) after both BIOS and direct Linux boot. With both
# media attached, boot.order (read by SeaBIOS from the fw_cfg bootorder file)
# picks the device, and the boot menu answered through a pipe on stdin (ESC,
# then the CD's number) overrides it; Ctrl-A x from that pipe quits. Also the
# VM-file checks of BIOS boot (firmware size, boot.order, boot.menu).
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-$top/build}
kl=$build/bin/kvm-launch
imgtool=$build/bin/imgtool
work=$build/bios-test
# Seconds per boot: a BIOS boot on our driver took 300 s in a test host on a
# loaded build machine (2 cores, load 7); unloaded it takes about 3 minutes.
limit=${BIOS_BOOT_TIMEOUT:-600}

n=0
ok() {	# ok COND-STATUS NAME
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

[ -x "$kl" ] && [ -x "$imgtool" ] || { echo "1..0 # SKIP build first (make)"; exit 0; }
[ -r /usr/share/seabios/bios.bin ] || { echo "1..0 # SKIP seabios not installed"; exit 0; }
for t in syslinux xorriso mcopy mkfs.vfat sfdisk mke2fs cpio; do
	command -v $t >/dev/null || [ -x /sbin/$t ] || [ -x /usr/sbin/$t ] ||
		{ echo "1..0 # SKIP $t missing (make deps)"; exit 0; }
done

echo "1..14"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

# ---- VM file checks, no hypervisor needed ----
head -c 100000 /usr/share/seabios/bios.bin > short.bin
printf 'memory = "128M";\nboot = {\n  firmware = "short.bin";\n};\n' > short.cfg
out=$("$kl" --check short.cfg 2>&1)
[ $? = 2 ] && echo "$out" | grep -q '^short.cfg:3: boot.firmware: .*100000 bytes'
ok $? "firmware of the wrong size refused at file:line"

printf 'memory = "128M";\nboot = { order = [ "cdrom" ]; menu = true; };\n' > default.cfg
"$kl" --check default.cfg
ok $? "no kernel: SeaBIOS is the default firmware; boot.order and boot.menu accepted"

printf 'memory = "128M";\nboot = { order = [ "disk", "tape" ]; };\n' > badorder.cfg
out=$("$kl" --check badorder.cfg 2>&1)
[ $? = 2 ] && echo "$out" | grep -q 'badorder.cfg:2: boot.order: entry 1'
ok $? "boot.order with an unknown device refused"

# ---- media ----
kver=$("$top/mk/kdir.sh" --version 2>/dev/null || ls /boot/vmlinuz-* | sed 's|.*/vmlinuz-||' | sort -V | tail -1)
"$top/tests/bios/mkmedia" disk disk.img &&
	"$imgtool" convert -q -c -O qcow2 disk.img disk.qcow2 &&
	"$top/tests/bios/mkmedia" iso cd.iso &&
	"$top/tests/bios/mkmedia" initramfs direct.cpio.gz
ok $? "media built: MBR/FAT/syslinux disk as compressed qcow2, isolinux ISO, initramfs"
rm -f disk.img

# Both media bootable in every BIOS run, the disk on the primary master and
# the CD on the primary slave: boot.order alone (the fw_cfg bootorder file)
# or the boot menu decides which one boots.
drives='disks = ( { file = "disk.qcow2"; readonly = true; },
          { file = "cd.iso"; media = "cdrom"; } );'
cat > disk.cfg <<EOF
memory = "256M";
boot = { order = [ "disk", "cdrom" ]; };
$drives
EOF
cat > cd.cfg <<EOF
memory = "256M";
boot = { order = [ "cdrom", "disk" ]; };
$drives
EOF
# The menu answered on the serial console: ESC at the prompt, then the CD's
# entry, though the disk comes first in boot.order.
cat > menu.cfg <<EOF
memory = "256M";
boot = { order = [ "disk", "cdrom" ]; menu = true; };
$drives
EOF
printf 'Press ESC for boot menu.\t\\033\n2. DVD/CD\t2\n' > menu.keys
# Ctrl-A x typed into a pipe at the same prompt ends kvm-launch (status 0).
cp menu.cfg quit.cfg
printf 'Press ESC for boot menu.\t\\001x\n' > quit.keys
cat > direct.cfg <<EOF
memory = "256M";
boot = { kernel = "/boot/vmlinuz-$kver"; initrd = "direct.cpio.gz"; cmdline = "console=ttyS0 quiet"; };
EOF

# check LANE NAME PATTERN...: status 0 and every pattern in the log (read
# with CSI sequences removed: sercon moves the cursor inside lines).
esc=$(printf '\033')
check() {
	local lane=$1 name=$2 st
	shift 2
	st=$(cat "$lane-$name.status" 2>/dev/null || echo none)
	[ "$st" = 0 ] || { echo "# $lane $name: exit status $st; log tail:"; tail -15 "$lane-$name.log" 2>/dev/null | sed 's/^/#   /'; return 1; }
	for p in "$@"; do
		sed "s/$esc\\[[0-9;?]*[A-Za-z]//g" "$lane-$name.log" | grep -q "$p" || { echo "# $lane $name: no '$p' in the log"; return 1; }
	done
}

# seabios_order LANE NAME PATH...: SeaBIOS's debug log shows it read the
# fw_cfg bootorder file with these device paths, in this order.
seabios_order() {
	local lane=$1 name=$2 i=1
	shift 2
	for p in "$@"; do
		grep -qxF "$i: $p" "$lane-$name.debug" 2>/dev/null ||
			{ echo "# $lane $name: SeaBIOS did not read '$i: $p' from bootorder"; return 1; }
		i=$((i + 1))
	done
}

for lane in stock ours; do
	if [ $lane = ours ] && [ ! -f "$top/kvm-driver/kvmdrv.ko" ]; then
		for t in disk cdrom menu quit direct; do skip "$lane: $t boot" "kvm-driver/kvmdrv.ko not built"; done
		continue
	fi
	for c in disk cd menu quit direct; do cp $c.cfg $lane-$c.cfg; done
	# Two vCPUs on the in-kernel irqchip both lanes have: SeaBIOS counts
	# them (fw_cfg), Linux finds them in the MADT.
	cpus=2
	sed -i "1i vcpus = 2;" $lane-disk.cfg
	for c in menu quit; do cp $c.keys $lane-$c.keys; done
	"$top/tests/testhost" --lane $lane --rw "$work" --timeout $((limit * 5 + 120)) -- \
		"$top/tests/bios/boot-inner.sh" "$kl" "$work" "$limit" \
		$lane-disk.cfg $lane-cd.cfg $lane-menu.cfg $lane-quit.cfg $lane-direct.cfg > $lane-testhost.log 2>&1
	check $lane disk 'SeaBIOS (version' 'Booting from Hard Disk' 'SYSLINUX' \
		"kvm-guest: PASS disk sda via ata_piix root /dev/sda2 cpus $cpus" &&
		seabios_order $lane disk /pci@i0cf8/ide@1,1/drive@0/disk@0 /pci@i0cf8/ide@1,1/drive@0/disk@1
	ok $? "$lane: order disk, cdrom: SeaBIOS + syslinux boot from the qcow2 disk with $cpus vCPU(s), root over ata_piix, ACPI power-off (status 0)"
	check $lane cd 'Booting from DVD/CD' 'ISOLINUX' 'kvm-guest: PASS cdrom sr0 via ata_piix' &&
		seabios_order $lane cd /pci@i0cf8/ide@1,1/drive@0/disk@1 /pci@i0cf8/ide@1,1/drive@0/disk@0
	ok $? "$lane: order cdrom, disk: El Torito boot from the ATAPI CD-ROM, ACPI power-off (status 0)"
	check $lane menu 'Press ESC for boot menu' 'Select boot device' '2. DVD/CD' \
		'Booting from DVD/CD' 'kvm-guest: PASS cdrom sr0 via ata_piix' &&
		! grep -q 'Booting from Hard Disk' $lane-menu.log
	ok $? "$lane: boot menu answered through a pipe on stdin (ESC, 2) boots the CD before the first-in-order disk"
	check $lane quit 'Press ESC for boot menu' 'kvm-launch: quit' &&
		! grep -q 'Booting from' $lane-quit.log
	ok $? "$lane: Ctrl-A x from a pipe on stdin ends kvm-launch (status 0)"
	# the MADT (APIC) comes with the in-kernel irqchip, on both lanes
	check $lane direct "kvm-guest: PASS direct boot, ACPI APIC DSDT FACP FACS"
	ok $? "$lane: direct Linux boot finds the ACPI tables and powers off (status 0)"
done
exit 0
