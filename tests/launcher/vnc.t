#!/bin/bash
# tests/launcher/vnc.t: the VNC and terminal displays, end to end in the
# test host (tests/launcher/vnc-inner.sh), one test-host boot per lane:
# SeaBIOS's banner and syslinux's boot: prompt in VGA text mode, read from
# the text buffer (a .txt screendump) and from a real VNC client's picture
# (vncsnapshot, read back by vgaocr against the VGA BIOS font), and the same
# text from QEMU's std VGA (TCG on this machine, its VNC display, the same
# snapshot and reader); a second kvm-launch on a bound address refused with
# file:line and reason; the terminal display draws the same screen and
# Ctrl-A x typed on it quits and gives the terminal back, as a SIGSEGV does; keys typed by a
# libvncclient program (vncclient.c) reach a Linux guest's shell on tty1 and
# run a command. Without a hypervisor: an address that does not resolve is
# refused the same way.
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
set -u
. "$(dirname "$0")/../lib/guest.sh"
for t in vncsnapshot syslinux mcopy mkfs.vfat script qemu-system-x86_64; do
	command -v $t >/dev/null || [ -x /sbin/$t ] || [ -x /usr/sbin/$t ] ||
		{ echo "1..0 # SKIP $t missing (make deps)"; exit 0; }
done
export PATH=$PATH:/sbin:/usr/sbin
rom=/usr/share/seabios/vgabios-stdvga.bin
echo "1..$((1 + 3 + 9 * $(echo $LANES | wc -w)))"

tools=$BUILD/tests/launcher
client=$tools/vncclient ocr=$tools/vgaocr
cc -O2 -Wall -o "$client" "$TOP/tests/launcher/vncclient.c" $(pkg-config --cflags --libs libvncclient) &&
	cc -O2 -Wall -o "$ocr" "$TOP/tests/launcher/vgaocr.c" -ljpeg ||
	{ echo "not ok 1 - the test's VNC client and reader build"; exit 0; }
ok "the test's VNC client (libvncclient) and screen reader (libjpeg) build"

work=$(mktemp -d "$BUILD/tests/launcher/vnc.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# ---- no hypervisor needed: names that do not resolve ----
cat > badhost.cfg <<EOF
memory = "256M";
boot = { kernel = "$KERNEL"; };
display = { type = "vnc";
  listen = "no-such-host.invalid:5900"; };
EOF
out=$("$KL" badhost.cfg 2>&1)
st=$?
check '[ $st = 1 ] && printf "%s\n" "$out" | grep -q "^badhost.cfg:4: display.listen: no-such-host.invalid:5900: "' \
	"a listen host that does not resolve: refused at file:line with the reason ($(printf '%s' "$out" | head -1))"

# A superfloppy whose syslinux waits at its prompt, and what it says first.
if truncate -s 16M disk.img && mkfs.vfat -F 16 -n KLVNC disk.img >/dev/null && syslinux --install disk.img &&
	printf 'SAY KL-SYSLINUX waiting\nPROMPT 1\nTIMEOUT 0\nDEFAULT none\nLABEL none\n  KERNEL none\n' > syslinux.cfg &&
	mcopy -i disk.img syslinux.cfg ::syslinux.cfg; then
	ok "media: a FAT disk with syslinux at a boot: prompt"
else
	nok "media: a FAT disk with syslinux at a boot: prompt"
	exit 0
fi

# ---- QEMU's std VGA on this machine (TCG): the reference text ----
port=$((5900 + 40 + $$ % 50))
qemu-system-x86_64 -accel tcg -m 256 -nodefaults -vga std -display vnc=127.0.0.1:$((port - 5900)) \
	-drive file=disk.img,format=raw,if=ide -serial none -monitor none > qemu.log 2>&1 &
qpid=$!
for _ in $(seq 60); do
	sleep 1
	vncsnapshot -quiet -allowblank 127.0.0.1:$((port - 5900)) qemu.jpg > /dev/null 2>&1 &&
		"$ocr" qemu.jpg "$rom" > qemu.txt 2>/dev/null && grep -q "boot:" qemu.txt && break
done
kill $qpid 2>/dev/null
wait $qpid 2>/dev/null
check 'grep -q "^SeaBIOS (version" qemu.txt && grep -q "^KL-SYSLINUX waiting" qemu.txt && grep -q "^boot:" qemu.txt' \
	"QEMU -vga std: vncsnapshot read back shows SeaBIOS's banner, syslinux's line and boot:"
sed 's/^/# qemu| /; s/ *$//' qemu.txt | grep -v '^# qemu|$'


# Debian's psmouse (a module) for the keys guest: its mouse reads through /dev/input/mice.
add_psmouse() {
	local stage p
	stage=$(mktemp -d)
	p=$(grep -E '(^|/)psmouse\.ko(\.[a-z]+)?:' "/lib/modules/$KVER/modules.dep" | cut -d: -f1 | head -n1)
	mkdir -p "$stage/lib/modules"
	case $p in
	*.ko) cp "/lib/modules/$KVER/$p" "$stage/lib/modules/psmouse.ko" ;;
	*.ko.xz) xz -dc "/lib/modules/$KVER/$p" > "$stage/lib/modules/psmouse.ko" ;;
	*.ko.zst) zstd -qdc "/lib/modules/$KVER/$p" > "$stage/lib/modules/psmouse.ko" ;;
	esac
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip >> "$1"
	rm -rf "$stage"
}
# text as compared: the cursor (blinking under QEMU) and trailing blanks gone
norm() { sed 's/_ *$//; s/ *$//' "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }

for lane in $LANES; do
	d=$work/$lane
	mkdir -p "$d"
	cp disk.img "$d/"
	cp "$initrd" "$d/initrd.img"
	add_psmouse "$d/initrd.img"
	for name in bios-vnc bios-term; do
		case $name in
		bios-vnc) disp='display = { type = "vnc"; listen = "127.0.0.1:5901"; };' ;;
		*) disp='display = { type = "terminal"; };' ;;
		esac
		cat > "$d/$name.cfg" <<EOF
memory = "256M";
boot = { order = [ "disk" ]; };
disks = ( { file = "disk.img"; readonly = true; } );
$disp
EOF
	done
	cat > "$d/crash.cfg" <<EOF
memory = "256M";
display = { type = "terminal"; };
serial = { output = "crash.serial"; };
boot = { kernel = "$KERNEL"; initrd = "initrd.img"; cmdline = "console=ttyS0 quiet -- sleep 600"; };
EOF
	cat > "$d/keys.cfg" <<'EOF'
memory = "256M";
display = { type = "vnc"; listen = "127.0.0.1:5902"; };
serial = { output = "stdio"; };
EOF
	cat >> "$d/keys.cfg" <<EOF
boot = {
  kernel = "$KERNEL";
  initrd = "initrd.img";
  cmdline = "console=ttyS0 quiet reboot=k -- insmod /lib/modules/psmouse.ko; echo KL-READING; read -r line < /dev/tty1; eval \$line";
};
EOF
	out=$("$TOP/tests/testhost" --lane "$lane" --timeout 1200 --rw "$d" -- \
		"$TOP/tests/launcher/vnc-inner.sh" "$KL" "$d" "$client" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep -E '^(BIOS-|SNAPSHOT-|SECOND-|TERM-|CRASH-|TYPE-|POINT-|KEYS-)' | sed 's/^/# /'
	"$ocr" "$d/snap.jpg" "$rom" > "$d/snap.txt" 2>&1
	check '[ $st = 0 ] && grep -q "^SeaBIOS (version" "$d/screen.txt" && grep -q "^KL-SYSLINUX waiting" "$d/screen.txt" && grep -q "^boot:" "$d/screen.txt"' \
		"$lane: the VGA text buffer (a .txt screendump) shows SeaBIOS's banner, syslinux's line and boot:"
	sed 's/^/# text| /; s/ *$//' "$d/screen.txt" 2>/dev/null | grep -v '^# text|$'
	check 'grep -q "^SeaBIOS (version" "$d/snap.txt" && grep -q "^boot:" "$d/snap.txt" && [ "$(norm "$d/snap.txt")" = "$(norm "$d/screen.txt")" ]' \
		"$lane: vncsnapshot of our VNC server reads back as the same text"
	check '[ "$(norm "$d/snap.txt")" = "$(norm qemu.txt)" ]' \
		"$lane: the same text as QEMU's std VGA shows"
	[ "$(norm "$d/snap.txt")" = "$(norm qemu.txt)" ] || diff <(norm qemu.txt) <(norm "$d/snap.txt") | sed 's/^/# /'
	check 'printf "%s\n" "$out" | grep -q "^SECOND-STATUS 1$" && grep -q "^bios-vnc.cfg:4: display.listen: 127.0.0.1:5901: Address already in use$" "$d/second.log"' \
		"$lane: a second machine on a bound listen address is refused at file:line with the reason ($(head -1 "$d/second.log" 2>/dev/null))"
	check 'grep -Eq "^updates [1-9][0-9]* rects [1-9][0-9]* bytes [1-9][0-9]* size 720x400$" "$d/watch.log"' \
		"$lane: a libvncclient viewer gets the 720x400 text screen ($(cat "$d/watch.log" 2>/dev/null))"
	esc=$(printf '\033')
	# a typescript's text: escapes, CRs and blanks gone (cells already blank are skipped over)
	flat() { sed "s/$esc\\[[0-9;?]*[A-Za-z]//g" "$1" | tr -d '\r '; }
	check 'printf "%s\n" "$out" | grep -q "^TERM-STATUS 0$" && flat "$d/term.log" | grep -q "SeaBIOS(version" && flat "$d/term.log" | grep -q "boot:" && grep -q "kvm-launch: quit" "$d/term.log" && grep -qF "$esc[?25h$esc[?7h$esc[999;1H" "$d/term.log"' \
		"$lane: the terminal display draws SeaBIOS and boot:; Ctrl-A x quits (status 0) and gives the terminal back"
	check 'grep -q "KL-USERSPACE" "$d/crash.serial" && printf "%s\n" "$out" | grep -Eq "^CRASH-STATUS [1-9][0-9]*$" && grep -qF "$esc[?25h$esc[?7h$esc[999;1H" "$d/crash.log"' \
		"$lane: kvm-launch killed by SIGSEGV on the terminal display gives the terminal back first ($(printf '%s\n' "$out" | grep '^CRASH-STATUS'))"
	check 'grep -q "^KL-RAN-42" "$d/keys.log"' \
		"$lane: a command typed through VNC (shifted symbols included) runs in the guest's shell on tty1"
	mouse=$(tr -d '\r' < "$d/keys.log" | grep -E '^ ?[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}$' | head -n1)
	b0=$(echo $mouse | cut -d' ' -f1)
	check '[ -n "$b0" ] && [ $((0x$b0 & 0x08)) != 0 ] && printf "%s\n" "$out" | grep -q "^POINT-STATUS 0$"' \
		"$lane: the pointer moved through VNC reaches the guest's PS/2 mouse (psmouse, /dev/input/mice: ${mouse:-nothing})"
	grep -E "KL-|kvm-launch" "$d/keys.log" | head -8 | sed 's/^/# keys| /'
done
