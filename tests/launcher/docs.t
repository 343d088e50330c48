#!/bin/sh
# tests/launcher/docs.t: the manual pages are mandoc -Tlint clean, every VM
# file setting the parser knows is documented, and configs/*.cfg validate.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }

# Setting names from the parser's known-key tables.
keys=$(tr "\n" " " < "$TOP/launcher/config.c" | grep -o "keys\[\] = {[^}]*}" |
	grep -o "\"[a-z_]*\"" | tr -d "\"" | sort -u)
cfgs=$(ls "$TOP"/configs/*.cfg 2>/dev/null)
echo "1..$((2 + $(echo "$keys" | wc -l) + $(echo "$cfgs" | wc -w)))"

for page in kvm-launch.1 kvm-launch.cfg.5; do
	if command -v mandoc >/dev/null; then
		out=$(cd "$TOP/man" && mandoc -Tlint "$page" 2>&1 | grep -v 'outdated mandoc.db')
		if [ -z "$out" ]; then ok "mandoc -Tlint $page"; else nok "mandoc -Tlint $page"; echo "$out" | sed 's/^/# /'; fi
	else
		ok "mandoc -Tlint $page # SKIP no mandoc"
	fi
done
for k in $keys; do
	if grep -q "Cm $k\b" "$TOP/man/kvm-launch.cfg.5"; then ok "setting $k documented"; else nok "setting $k documented"; fi
done
initrd=$BUILD/tests/launcher/initramfs.cpio.gz
[ -s "$initrd" ] || { mkdir -p "$(dirname "$initrd")"; "$TOP/tests/launcher/mkinitramfs.sh" "$initrd" >/dev/null 2>&1; }
for c in $cfgs; do
	if out=$("$BUILD/bin/kvm-launch" --check "$c" 2>&1); then ok "$(basename "$c") passes --check"; else nok "$(basename "$c") passes --check"; echo "$out" | sed 's/^/# /'; fi
done
