#!/bin/bash
# tests/imgtool/import.t: import disk images from tar/zip archives and compressed streams; hostile entries refused.
. "$(dirname "$0")/lib.sh"
I=$IMGTOOL
mkdir -p "$T/src"
mkpayload "$T/src/disk.raw" 3
(cd "$T/src" && echo "a manifest" >manifest.json)

(cd "$T/src" && tar -czf "$T/img.tar.gz" manifest.json disk.raw)
run "import tar.gz (manifest first) to raw" "$I" import "$T/img.tar.gz" "$T/o1.raw"
run "tar.gz import is bit-identical" cmp "$T/src/disk.raw" "$T/o1.raw"
run "import tar.gz -O qcow2 -c" "$I" import -O qcow2 -c "$T/img.tar.gz" "$T/o1.qcow2"
run "compressed import passes qemu-img check" qemu-img check -q "$T/o1.qcow2"
run "compressed import compares identical" "$I" compare "$T/o1.qcow2" "$T/src/disk.raw"

(cd "$T/src" && tar -cJf "$T/img.tar.xz" disk.raw)
run "import tar.xz" "$I" import -O qcow2 "$T/img.tar.xz" "$T/o2.qcow2"
run "tar.xz import compares identical" qemu-img compare -q "$T/o2.qcow2" "$T/src/disk.raw"

if command -v zip >/dev/null; then
	(cd "$T/src" && zip -q "$T/img.zip" manifest.json disk.raw)
	run "import zip" "$I" import "$T/img.zip" "$T/o3.raw"
	run "zip import is bit-identical" cmp "$T/src/disk.raw" "$T/o3.raw"
else
	for k in 1 2; do echo "ok $((n += 1)) # SKIP zip not installed"; done
fi

for c in "gzip gz" "xz xz" "zstd zst" "bzip2 bz2"; do
	set -- $c
	if command -v "$1" >/dev/null; then
		"$1" -c "$T/src/disk.raw" 2>/dev/null >"$T/disk.raw.$2"
		run "import raw .$2 stream" "$I" import "$T/disk.raw.$2" "$T/s.raw"
		run ".$2 stream import is bit-identical" cmp "$T/src/disk.raw" "$T/s.raw"
		run "import raw .$2 stream -O qcow2 -c" "$I" import -O qcow2 -c "$T/disk.raw.$2" "$T/s.qcow2"
		run ".$2 stream qcow2 import passes qemu-img check" qemu-img check -q "$T/s.qcow2"
		run ".$2 stream qcow2 import compares identical (size too)" "$I" compare -s "$T/s.qcow2" "$T/src/disk.raw"
	else
		for k in 1 2 3 4 5; do echo "ok $((n += 1)) # SKIP $1 not installed"; done
	fi
done

refused() {	# refused NAME ARCHIVE PATTERN
	"$I" import "$2" "$T/r.raw" 2>"$T/err"
	r=$?
	[ $r -ne 0 ] && grep -q "$3" "$T/err" && [ ! -e "$T/r.raw" ]
	ok $? "$1 refused: $(head -c 100 "$T/err" | tr "\n" " ")"
}

mkdir -p "$T/deep/a"
cp "$T/src/disk.raw" "$T/deep/disk.raw"
(cd "$T/deep/a" && tar -P -cf "$T/dotdot.tar" ../disk.raw)
refused "entry with .." "$T/dotdot.tar" "'\.\.'"
tar -P -cf "$T/abs.tar" "$T/deep/disk.raw" 2>/dev/null
refused "absolute path" "$T/abs.tar" "absolute"
mkdir -p "$T/lnk" && ln -s /etc/passwd "$T/lnk/disk.raw"
(cd "$T/lnk" && tar -cf "$T/link.tar" disk.raw)
refused "symlink" "$T/link.tar" "link"
mkdir -p "$T/hl" && cp "$T/src/disk.raw" "$T/hl/disk.raw" && ln "$T/hl/disk.raw" "$T/hl/disk2.raw"
(cd "$T/hl" && tar -cf "$T/hard.tar" disk.raw disk2.raw)
"$I" import "$T/hard.tar" "$T/r.raw" 2>/dev/null; r=$?
if [ $r -eq 0 ]; then ok 0 "hard link after the image: image taken first"; rm -f "$T/r.raw"; else ok 1 "hard link after the image"; fi
: >"$T/src/empty.raw"
(cd "$T/src" && tar -cf "$T/zero.tar" empty.raw)
refused "0-byte image entry" "$T/zero.tar" "implausible"
(cd "$T/src" && tar -cf "$T/none.tar" manifest.json)
refused "archive without a disk image" "$T/none.tar" "no disk image"
refused "plain file that is no archive" "$T/src/manifest.json" "neither"
head -c 100000 "$T/img.tar.gz" >"$T/trunc.tar.gz"
refused "truncated tar.gz" "$T/trunc.tar.gz" "."
done_testing
