#!/bin/bash
# tests/foundation/build.t: the build's products: tools answer --help and
# --version, the module matches the test host's kernel and is sparse-clean,
# make install honours DESTDIR and PREFIX, man pages lint clean.
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-$top/build}
cd "$top" || exit 1
echo "1..7"
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

for t in kvm-launch imgtool; do
	"$build/bin/$t" --help | grep -q "usage: $t" && "$build/bin/$t" --version | grep -q "^$t [0-9]"
	check $? "$t --help and --version"
done

kver=$(mk/kdir.sh --version)
modinfo -F vermagic kvm-driver/kvmdrv.ko | grep -q "^$kver "
check $? "kvmdrv.ko built for the test host's kernel $kver"

log=$(make -s -C kvm-driver KDIR="$(mk/kdir.sh)" sparse 2>&1)
rc=$?
warn=$(echo "$log" | grep -E 'warning:|error:')
[ $rc = 0 ] && [ -z "$warn" ]
check $? "module builds sparse-clean (C=2)"
[ -n "$warn" ] && echo "$warn" | head -n 20 | sed 's/^/# /'

dest=$(mktemp -d)
make -s install DESTDIR="$dest" PREFIX=/opt/kvs >/dev/null 2>&1 &&
	test -x "$dest/opt/kvs/bin/kvm-launch" && test -x "$dest/opt/kvs/bin/imgtool" &&
	ls "$dest"/opt/kvs/share/man/man*/ >/dev/null 2>&1
check $? "make install DESTDIR=... PREFIX=/opt/kvs installs binaries and man pages"
rm -rf "$dest"

if ls man/*.[1-9] >/dev/null 2>&1; then
	lint=$(mandoc -Tlint -Wwarning man/*.[1-9] 2>&1)
	[ -z "$lint" ]
	check $? "man pages lint clean (mandoc -Tlint)"
	[ -n "$lint" ] && echo "$lint" | head -n 20 | sed 's/^/# /'
else
	check 1 "man pages exist"
fi

grep -q 'make check' README.md && grep -q 'make demo' README.md
check $? "README names make check and make demo"
