# tests/lib/vga-initrd.sh: sourced by display.t and bench/display.sh.
#   add_vga_initrd INITRD SCRIPT-NAME < SCRIPT
# appends to INITRD (a gzip'd cpio) a second archive with Linux's bochs DRM
# driver and its dependencies (in load order, listed in /etc/modules-vga)
# and /bin/SCRIPT-NAME, the script read from standard input. The script
# may call /bin/kl-vgaload, which inserts the modules and waits for fb0.
# Needs KVER.
add_vga_initrd() {
	local moddir=/lib/modules/$KVER stage order="" p name
	stage=$(mktemp -d)
	add() {
		case " $order " in *" $1 "*) return ;; esac
		local d
		for d in $(grep "^$1:" "$moddir/modules.dep" | cut -d: -f2); do add "$d"; done
		order="$order $1"
	}
	add "$(grep -E '(^|/)bochs\.ko(\.[a-z]+)?:' "$moddir/modules.dep" | cut -d: -f1 | head -n1)"
	mkdir -p "$stage/lib/modules" "$stage/etc" "$stage/bin"
	for p in $order; do
		name=$(basename "$p")
		case $name in
		*.ko) cp "$moddir/$p" "$stage/lib/modules/$name" ;;
		*.ko.xz) xz -dc "$moddir/$p" > "$stage/lib/modules/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$moddir/$p" > "$stage/lib/modules/${name%.zst}"; name=${name%.zst} ;;
		esac
		echo "$name" >> "$stage/etc/modules-vga"
	done
	cat > "$stage/bin/kl-vgaload" <<'EOS'
#!/bin/sh
while read -r m; do
	n=$(echo "${m%.ko}" | tr - _)
	grep -q "^$n " /proc/modules || insmod "/lib/modules/$m" || echo "KL-INSMOD-FAILED $m"
done < /etc/modules-vga
i=0
while [ ! -e /sys/class/graphics/fb0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "KL-FB $(cat /sys/class/graphics/fb0/name) $(cat /sys/class/graphics/fb0/virtual_size)"
EOS
	cat > "$stage/bin/$2"
	chmod 755 "$stage/bin/kl-vgaload" "$stage/bin/$2"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip >> "$1"
	rm -rf "$stage"
}
