#!/bin/bash
# tests/launcher/display.t: the standard VGA (display = { type = "headless"; })
# in the test host. Linux's bochs DRM driver (a second cpio after the test
# initramfs) binds it and fbcon draws 60 lines on tty1; a SIGUSR2 then
# writes the screen as a PNG, and so does KVM_LAUNCH_SCREENDUMP when the
# machine powers off: both have the framebuffer's size and show text (more
# than one colour). A machine without a display answers SIGUSR2 with a
# message and runs on. One test-host boot per lane.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
set -u
. "$(dirname "$0")/../lib/guest.sh"
plan 6

# The PNG reader the checks use (libpng), built here.
pngstat=$BUILD/tests/launcher/pngstat
cc -O2 -Wall -o "$pngstat" "$TOP/tests/launcher/pngstat.c" $(pkg-config --cflags --libs libpng) ||
	{ echo "1..0 # SKIP cannot build pngstat (libpng)"; exit 0; }

# The bochs DRM driver and its dependencies, in load order, and the guest's
# script, as a second cpio archive appended to initramfs $1.
. "$TOP/tests/lib/vga-initrd.sh"
add_vga() {
	add_vga_initrd "$1" kl-vgatest <<'EOS'
#!/bin/sh
kl-vgaload
i=0
while [ $i -lt 60 ]; do
	echo "KL-VGA line $i: the quick brown fox jumps over the lazy dog" > /dev/tty1
	i=$((i + 1))
done
# fbcon's writes reach the framebuffer through a deferred flush
sleep 1
echo KL-DRAWN
# until the host has its SIGUSR2 picture (a line on the serial port)
read -t 120 -r _
EOS
}

for lane in $LANES; do
	dir=$(mktemp -d "$BUILD/tests/launcher/display.XXXXXX")
	cp "$initrd" "$dir/initrd.img"
	add_vga "$dir/initrd.img"
	for vm in vga plain; do
		case $vm in
		vga) disp='display = { type = "headless"; };' cmd=kl-vgatest ;;
		*) disp='' cmd='sleep 4' ;;
		esac
		cat > "$dir/$vm.cfg" <<EOF2
name = "$vm";
memory = "256M";
$disp
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k -- $cmd";
};
serial = { output = "stdio"; };
EOF2
	done
	out=$("$TOP/tests/testhost" --lane "$lane" --timeout 900 --rw "$dir" -- \
		"$TOP/tests/launcher/display-inner.sh" "$KL" "$dir" "$pngstat" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep -E '^(VGA-|PNG-|PLAIN-|(vga|plain)\| (KL-(FB|DRAWN|INSMOD|EXIT)|kvm-launch))' | head -30 | sed 's/^/# /'
	fb=$(printf '%s\n' "$out" | sed -n 's/^vga| KL-FB .* \([0-9]*\),\([0-9]*\)$/\1 \2/p' | head -1)
	check '[ $st -eq 0 ]' "$lane: test host ran (status $st)"
	check 'printf "%s\n" "$out" | grep -q "^VGA-STATUS 0$" && printf "%s\n" "$out" | grep -Eq "^vga\| KL-FB .*drmfb [0-9]+,[0-9]+$" && ! printf "%s\n" "$out" | grep -q "KL-INSMOD-FAILED"' \
		"$lane: the bochs DRM driver binds the standard VGA: a framebuffer (${fb:-none})"
	check '[ -n "$fb" ] && printf "%s\n" "$out" | grep -Eq "^PNG-USR2 $fb ([2-9]|[1-9][0-9]+)$" && printf "%s\n" "$out" | grep -q "^vga| kvm-launch: screendump: /tmp/kld/screen.png"' \
		"$lane: SIGUSR2 writes the screen as a PNG of the mode's size with text on it ($(printf '%s\n' "$out" | sed -n 's/^PNG-USR2 //p'))"
	check '[ -n "$fb" ] && printf "%s\n" "$out" | grep -Eq "^PNG-END $fb ([2-9]|[1-9][0-9]+)$"' \
		"$lane: KVM_LAUNCH_SCREENDUMP writes it at poweroff ($(printf '%s\n' "$out" | sed -n 's/^PNG-END //p'))"
	check 'printf "%s\n" "$out" | grep -q "^PLAIN-STATUS 0$" && printf "%s\n" "$out" | grep -q "^plain| kvm-launch: screendump: the machine has no display"' \
		"$lane: without a display, SIGUSR2 says so and the machine runs on"
	check '! printf "%s\n" "$out" | grep -Eq "(WARNING|BUG|Oops):"' "$lane: no WARN, BUG or oops in the output"
	rm -rf "$dir"
done
