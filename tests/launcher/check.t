#!/bin/bash
# tests/launcher/check.t: `kvm-launch --check` accepts good VM files and
# refuses each class of mistake with "file:line: setting: message", status 2.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
KL=$BUILD/bin/kvm-launch
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER

if [ ! -x "$KL" ]; then echo "1..0 # SKIP $KL not built"; exit 0; fi
if [ ! -r "$KERNEL" ]; then echo "1..0 # SKIP no $KERNEL"; exit 0; fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c 1048576 /dev/zero > "$dir/initrd.img"
truncate -s 400M "$dir/huge-initrd.img"
truncate -s 10M "$dir/disk.raw"
echo "not a kernel" > "$dir/notakernel"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }

# good NAME <<CFG: --check must succeed silently.
good() {
	cat > "$dir/$1.cfg"
	out=$("$KL" --check "$dir/$1.cfg" 2>&1); st=$?
	if [ $st -eq 0 ] && [ -z "$out" ]; then ok "good: $1"; else nok "good: $1 (status $st: $out)"; fi
}

# bad NAME LINE SETTING REGEX <<CFG: status 2 and "file:LINE: SETTING: ..." matching REGEX.
bad() {
	local name=$1 line=$2 setting=$3 re=$4 out st
	cat > "$dir/$name.cfg"
	out=$("$KL" --check "$dir/$name.cfg" 2>&1); st=$?
	if [ $st -eq 2 ] && printf '%s\n' "$out" | grep -Eq "^$dir/$name.cfg:$line: $setting: .*$re"; then
		ok "bad: $name"
	else
		nok "bad: $name (status $st)"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

echo "1..36"

good minimal <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
EOF2
good full <<EOF2
name = "full";
memory = "256M";
vcpus = 1;
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  unpack = true;
  cmdline = "console=ttyS0 quiet";
};
serial = { output = "none"; };
disks = ( { file = "disk.raw"; format = "raw"; readonly = true; },
          { file = "disk.raw"; snapshot = true; } );
hypervisor = "/dev/kvm";
on_reset = "restart";
EOF2
good slots <<EOF2
memory = ( { base = 0x0; size = "640K"; }, { base = 0x100000; size = "255M"; } );
boot = { kernel = "$KERNEL"; initrd = "initrd.img"; };
EOF2
good serial-file <<EOF2
memory = "128M";
boot = { kernel = "$KERNEL"; };
serial = { output = "console.log"; };
EOF2
good display <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
display = { type = "headless"; vram = 32; };
EOF2

bad syntax 2 'syntax' 'syntax error' <<EOF2
memory = "256M";
boot = { kernel "$KERNEL"; };
EOF2
bad unknown 3 'memroy' "did you mean 'memory'" <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
memroy = "1G";
EOF2
bad unknown-nested 2 'boot.kernal' "did you mean 'boot.kernel'" <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; kernal = "x"; };
EOF2
bad unknown-far 3 'frobnicate' 'unknown setting' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
frobnicate = 1;
EOF2
bad type-memory 1 'memory' 'expected a size' <<EOF2
memory = true;
boot = { kernel = "$KERNEL"; };
EOF2
bad type-vcpus 3 'vcpus' 'expected an integer' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
vcpus = "one";
EOF2
bad type-readonly 3 'disks\[0\]\.readonly' 'true or false' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
disks = ( { file = "disk.raw"; readonly = "yes"; } );
EOF2
bad size-zero 1 'memory' 'size is 0' <<EOF2
memory = "0M";
boot = { kernel = "$KERNEL"; };
EOF2
bad size-syntax 1 'memory' 'not a size' <<EOF2
memory = "12Q";
boot = { kernel = "$KERNEL"; };
EOF2
bad size-host 1 'memory' "more than the host" <<EOF2
memory = "64T";
boot = { kernel = "$KERNEL"; };
EOF2
bad slot-zero 1 'memory\[1\]\.size' 'size is 0' <<EOF2
memory = ( { base = 0x0; size = "640K"; }, { base = 0x100000; size = 0; } );
boot = { kernel = "$KERNEL"; };
EOF2
bad overlap 1 'memory\[1\]' 'overlaps memory\[0\]' <<EOF2
memory = ( { base = 0x0; size = "64M"; }, { base = 0x100000; size = "64M"; } );
boot = { kernel = "$KERNEL"; };
EOF2
bad slot-align 1 'memory\[0\]\.base' 'multiple of 4K' <<EOF2
memory = ( { base = 0x123; size = "64M"; } );
boot = { kernel = "$KERNEL"; };
EOF2
bad smp-user 4 'irqchip' 'runs 1 vCPU only, 2 asked at line 3' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
vcpus = 2;
irqchip = "user";
EOF2
bad vcpus-limit 3 'vcpus' '65 vCPUs asked, at most 64' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
vcpus = 65;
EOF2
bad irqchip-name 3 'irqchip' '.apic. is not an irqchip' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
irqchip = "apic";
EOF2
bad kernel-missing 2 'boot\.kernel' 'No such file' <<EOF2
memory = "256M";
boot = { kernel = "nonexistent-bzImage"; };
EOF2
bad kernel-notbz 2 'boot\.kernel' 'not a Linux bzImage' <<EOF2
memory = "256M";
boot = { kernel = "notakernel"; };
EOF2
bad initrd-fit 2 'boot\.initrd' 'does not fit' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; initrd = "huge-initrd.img"; };
EOF2
bad kernel-ram 2 'boot\.kernel' 'needs .* MiB of RAM' <<EOF2
memory = "16M";
boot = { kernel = "$KERNEL"; };
EOF2
bad unpack-type 4 'boot\.unpack' 'expected true or false' <<EOF2
memory = "256M";
boot = {
  kernel = "$KERNEL";
  unpack = "yes";
};
EOF2
bad unpack-nokernel 2 'boot\.unpack' 'given without boot\.kernel' <<EOF2
memory = "256M";
boot = { firmware = "initrd.img"; unpack = false; };
EOF2
bad disk-missing 3 'disks\[0\]\.file' 'No such file' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
disks = ( { file = "nope.qcow2"; } );
EOF2
bad disk-format 3 'disks\[0\]\.format' 'not an image format' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
disks = ( { file = "disk.raw"; format = "vmdk"; } );
EOF2
bad disk-snapshot-type 3 'disks\[0\]\.snapshot' 'true or false' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
disks = ( { file = "disk.raw"; snapshot = 1; } );
EOF2
bad disk-snapshot-cdrom 3 'disks\[0\]\.snapshot' 'snapshot is for disks' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
disks = ( { file = "disk.raw"; media = "cdrom"; snapshot = true; } );
EOF2
bad on-reset 3 'on_reset' 'neither' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
on_reset = "reboot";
EOF2
bad serial-empty 3 'serial\.output' 'empty' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
serial = { output = ""; };
EOF2
bad display-vram 4 'display\.vram' '24 MiB is not a power of two' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
display = {
  vram = 24;
};
EOF2
bad display-type 3 'display\.type' '.vmware. is not a display' <<EOF2
memory = "256M";
boot = { kernel = "$KERNEL"; };
display = { type = "vmware"; };
EOF2

# Not a --check matter: a missing hypervisor device fails at run time, status 1.
cat > "$dir/nokvm.cfg" <<EOF2
memory = "128M";
boot = { kernel = "$KERNEL"; };
serial = { output = "none"; };
hypervisor = "$dir/no-such-kvm";
EOF2
out=$("$KL" "$dir/nokvm.cfg" 2>&1); st=$?
if [ $st -eq 1 ] && printf '%s\n' "$out" | grep -q "no-such-kvm: No such file"; then
	ok "missing hypervisor device: status 1 with a reason"
else
	nok "missing hypervisor device (status $st: $out)"
fi
