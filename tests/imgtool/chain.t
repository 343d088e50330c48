#!/bin/bash
# tests/imgtool/chain.t: rebase, commit and amend against qemu-img, both ways: chains qemu made, images imgtool changed.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"
I=$IMGTOOL

# info_has IMG TEXT: qemu-img's human info of IMG has a line TEXT.
info_has() {
	qemu-img info "$1" >"$T/info" 2>&1 && grep -qxF -- "$2" "$T/info"
}
# fails_with STATUS MESSAGE CMD...: CMD exits STATUS and says MESSAGE on stderr.
fails_with() {
	want=$1 msg=$2
	shift 2
	"$@" >/dev/null 2>"$T/err"
	r=$?
	[ $r -eq "$want" ] && grep -qF -- "$msg" "$T/err" || { echo "# exit $r: $(cat "$T/err")"; return 1; }
}
clean() {	# clean IMG...: qemu-img check finds nothing
	for f in "$@"; do qemu-img check -q "$f" || return 1; done
}

# A chain made by qemu: raw <- qcow2 v2 (compat 0.10) <- qcow2 v3, with
# data, compressed, zero and partly written clusters at each level.
mkchain() {	# mkchain DIR
	mkdir -p "$1"
	mkpayload "$1/base.raw" 8
	qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw "$1/mid.qcow2"
	qemu-io -f qcow2 -c "write -P 0xa1 1M 100k" -c "write -c -P 0xa2 3M 64k" -c "write -P 0xa3 6M 1M" "$1/mid.qcow2" >/dev/null
	qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "$1/top.qcow2" 10M
	qemu-io -f qcow2 -c "write -P 0xb1 1050k 10k" -c "write -z 2M 64k" -c "write -z 6M 128k" \
		-c "write -c -P 0xb2 4M 128k" -c "write -P 0xb3 9M 1M" "$1/top.qcow2" >/dev/null
	qemu-img convert -O raw "$1/top.qcow2" "$1/ref.raw"
}

# ---- rebase ----
mkchain "$T/r"
cp -r "$T/r" "$T/rq"
run "rebase top from mid onto base.raw" "$I" rebase -b base.raw -F raw "$T/r/top.qcow2"
run "rebased image passes qemu-img check" clean "$T/r/top.qcow2"
run "rebased image reads as before in qemu" qemu-img compare -q "$T/r/top.qcow2" "$T/r/ref.raw"
info_has "$T/r/top.qcow2" "backing file format: raw"; ok $? "qemu-img info shows the new backing format"
grep -q "^backing file: base.raw" "$T/info"; ok $? "qemu-img info shows the new backing file"
qemu-img rebase -b base.raw -F raw "$T/rq/top.qcow2"
run "same contents as after qemu-img rebase" qemu-img compare -q "$T/r/top.qcow2" "$T/rq/top.qcow2"
run "rebase onto \"\": standalone" "$I" rebase -b "" "$T/r/top.qcow2"
qemu-img info "$T/r/top.qcow2" | grep -q "^backing file"; [ $? -ne 0 ]; ok $? "qemu-img info shows no backing file"
run "standalone image reads as before" qemu-img compare -q "$T/r/top.qcow2" "$T/r/ref.raw"
run "standalone image passes qemu-img check" clean "$T/r/top.qcow2"
# A v2 image keeps its version; a standalone image can take a backing file again.
run "rebase the v2 mid onto \"\"" "$I" rebase -q -b "" "$T/r/mid.qcow2"
info_has "$T/r/mid.qcow2" "    compat: 0.10"; ok $? "the v2 image stays compat 0.10"
run "v2 standalone passes qemu-img check" clean "$T/r/mid.qcow2"
qemu-img convert -O raw "$T/r/mid.qcow2" "$T/mid.raw"
cp "$T/r/ref.raw" "$T/r/other.raw"
run "rebase a standalone image onto a raw file" "$I" rebase -b other.raw -F raw "$T/r/mid.qcow2"
run "it reads as before" qemu-img compare -q "$T/r/mid.qcow2" "$T/mid.raw"
run "and passes qemu-img check" clean "$T/r/mid.qcow2"

# Relative names resolve against the image's directory, not the working one.
mkchain "$T/rel"
qemu-img create -q -f qcow2 "$T/rel/b2.qcow2" 10M
qemu-io -f qcow2 -c "write -P 0xc1 0 2M" "$T/rel/b2.qcow2" >/dev/null
(cd "$T" && "$I" rebase -b b2.qcow2 -F qcow2 rel/top.qcow2)
ok $? "a relative -b resolves against the image's directory"
run "reads as before" qemu-img compare -q "$T/rel/top.qcow2" "$T/rel/ref.raw"
info_has "$T/rel/top.qcow2" "backing file: b2.qcow2 (actual path: $T/rel/b2.qcow2)"; ok $? "qemu finds b2.qcow2 beside the image"
(cd "$T" && fails_with 1 "Could not open new backing file 'rel/b2.qcow2'" "$I" rebase -b rel/b2.qcow2 -F qcow2 rel/top.qcow2)
ok $? "a -b relative to the working directory is not found, as in qemu-img"

# -u rewrites the name only; the data does not move.
cp "$T/rel/top.qcow2" "$T/rel/u.qcow2"
cp "$T/rel/b2.qcow2" "$T/rel/b3.qcow2"
"$I" map --output=json "$T/rel/u.qcow2" | grep '"depth": 0' >"$T/map0"
run "rebase -u" "$I" rebase -u -b b3.qcow2 -F qcow2 "$T/rel/u.qcow2"
info_has "$T/rel/u.qcow2" "backing file: b3.qcow2 (actual path: $T/rel/b3.qcow2)"; ok $? "qemu-img info shows the unsafe new name"
"$I" map --output=json "$T/rel/u.qcow2" | grep '"depth": 0' | cmp -s - "$T/map0"; ok $? "-u moved no data"
run "rebase -u onto a file that does not exist" "$I" rebase -u -b nowhere.qcow2 -F qcow2 "$T/rel/u.qcow2"
run "rebase -u away from a backing file that does not exist" "$I" rebase -u -b b3.qcow2 -F qcow2 "$T/rel/u.qcow2"
run "qemu-img check after -u" clean "$T/rel/u.qcow2"

# Failures leave the image as it was.
cp "$T/rel/top.qcow2" "$T/rel/keep.qcow2"
cp "$T/rel/keep.qcow2" "$T/rel/f.qcow2"
fails_with 1 "backing format must be specified" "$I" rebase -b b2.qcow2 "$T/rel/f.qcow2"; ok $? "rebase without -F refused"
fails_with 1 "Could not open new backing file 'nonexistent.qcow2'" "$I" rebase -b nonexistent.qcow2 -F qcow2 "$T/rel/f.qcow2"
ok $? "missing new backing file refused"
fails_with 1 "Must specify backing file (-b) or use unsafe mode (-u)" "$I" rebase "$T/rel/f.qcow2"; ok $? "no -b, no -u refused"
fails_with 1 "Expecting one image file name" "$I" rebase -b "" "$T/rel/f.qcow2" "$T/rel/f.qcow2"; ok $? "two images refused"
cmp -s "$T/rel/f.qcow2" "$T/rel/keep.qcow2"; ok $? "the image is unchanged after each refusal"
fails_with 1 "only qcow2 images have a backing file" "$I" rebase -f raw -b "" "$T/rel/f.qcow2"; ok $? "rebase of a raw image refused"
cmp -s "$T/rel/f.qcow2" "$T/rel/keep.qcow2"; ok $? "still unchanged"

# A different cluster size in each layer.
qemu-img create -q -f qcow2 -o cluster_size=4k -b base.raw -F raw "$T/r/small.qcow2" 8M
qemu-io -f qcow2 -c "write -P 0xd1 5000 70k" -c "write -z 1M 8k" "$T/r/small.qcow2" >/dev/null
qemu-img convert -O raw "$T/r/small.qcow2" "$T/small.raw"
qemu-img create -q -f qcow2 -o cluster_size=2M "$T/r/big.qcow2" 8M
qemu-io -f qcow2 -c "write -P 0xd2 0 3M" "$T/r/big.qcow2" >/dev/null
run "rebase a 4 KiB-cluster image onto a 2 MiB-cluster one" "$I" rebase -b big.qcow2 -F qcow2 "$T/r/small.qcow2"
run "it reads as before" qemu-img compare -q "$T/r/small.qcow2" "$T/small.raw"
run "and passes qemu-img check" clean "$T/r/small.qcow2"

# ---- commit ----
mkchain "$T/c"
cp -r "$T/c" "$T/cq"
"$I" commit "$T/c/top.qcow2" >"$T/out"; r=$?
[ $r -eq 0 ] && grep -qx "Image committed." "$T/out"; ok $? "commit top into mid: 'Image committed.'"
run "top and mid pass qemu-img check" clean "$T/c/top.qcow2" "$T/c/mid.qcow2"
run "mid now reads as top did" qemu-img compare -q "$T/c/mid.qcow2" "$T/c/ref.raw"
run "top still reads the same" qemu-img compare -q "$T/c/top.qcow2" "$T/c/ref.raw"
qemu-img map --output=json "$T/c/top.qcow2" | grep -q '"depth": 0'; [ $? -ne 0 ]; ok $? "top is empty (nothing at depth 0 in qemu-img map)"
[ "$(stat -c %s "$T/c/top.qcow2")" -le 327680 ]; ok $? "top shrank to its metadata ($(stat -c %s "$T/c/top.qcow2") bytes)"
qemu-img commit -q "$T/cq/top.qcow2"
run "same contents as after qemu-img commit" qemu-img compare -q "$T/c/mid.qcow2" "$T/cq/mid.qcow2"
info_has "$T/c/mid.qcow2" "virtual size: 10 MiB (10485760 bytes)"; ok $? "mid grew to the size of top, as in qemu-img"
run "qemu-io writes to the emptied top" qemu-io -f qcow2 -c "write -P 0xee 0 1M" "$T/c/top.qcow2"
run "then qemu-img commit of it works" qemu-img commit -q "$T/c/top.qcow2"
run "and leaves both clean" clean "$T/c/top.qcow2" "$T/c/mid.qcow2"

# -b: the whole chain into the raw base; the top keeps its data (-d implied).
mkchain "$T/c2"
run "commit -b base.raw through the v2 mid" "$I" commit -q -b base.raw "$T/c2/top.qcow2"
run "base.raw now holds what top reads" qemu-img compare -q -f raw "$T/c2/base.raw" "$T/c2/ref.raw"
qemu-img map --output=json "$T/c2/top.qcow2" | grep -q '"depth": 0, "present": true, "zero": false, "data": true'
ok $? "-b implies -d: top keeps its clusters"
run "top reads the same" qemu-img compare -q "$T/c2/top.qcow2" "$T/c2/ref.raw"
mkchain "$T/c3"
run "commit -d" "$I" commit -q -d "$T/c3/top.qcow2"
qemu-img map --output=json "$T/c3/top.qcow2" | grep -q '"depth": 0, "present": true, "zero": false, "data": true'
ok $? "-d keeps the top's clusters"
run "mid reads as top" qemu-img compare -q "$T/c3/mid.qcow2" "$T/c3/ref.raw"
run "by the absolute path" "$I" commit -q -b "$T/c3/mid.qcow2" "$T/c3/top.qcow2"

# A chain imgtool made, written by qemu, committed by imgtool, checked by qemu.
"$I" create -q -f qcow2 -b base.raw -F raw "$T/c3/ov.qcow2"
qemu-io -f qcow2 -c "write -P 0x31 0 3M" -c "write -z 5M 1M" "$T/c3/ov.qcow2" >/dev/null
"$I" create -q -f qcow2 -b ov.qcow2 -F qcow2 "$T/c3/ov2.qcow2"
qemu-io -f qcow2 -c "write -P 0x32 1M 64k" -c "write -c -P 0x33 7M 64k" "$T/c3/ov2.qcow2" >/dev/null
qemu-img convert -O raw "$T/c3/ov2.qcow2" "$T/ov2.raw"
run "commit an imgtool-made chain" "$I" commit -q "$T/c3/ov2.qcow2"
run "qemu-img check clean" clean "$T/c3/ov.qcow2" "$T/c3/ov2.qcow2"
run "qemu-img compare equal" qemu-img compare -q "$T/c3/ov2.qcow2" "$T/ov2.raw"

fails_with 1 "Image does not have a backing file" "$I" commit "$T/c3/base.raw"; ok $? "commit without a backing file refused"
cp "$T/c3/ov2.qcow2" "$T/keep.qcow2"
fails_with 1 "Did not find 'nowhere' in the backing chain of '$T/c3/ov2.qcow2'" "$I" commit -b nowhere "$T/c3/ov2.qcow2"
ok $? "commit -b with a name outside the chain refused"
cmp -s "$T/c3/ov2.qcow2" "$T/keep.qcow2"; ok $? "and the image is unchanged"
fails_with 1 "Expecting one image file name" "$I" commit; ok $? "commit with no image refused"

# ---- amend ----
qemu-img create -q -f qcow2 "$T/a.qcow2" 16M
qemu-io -f qcow2 -c "write -P 0x41 0 2M" -c "write -z 4M 1M" -c "write -c -P 0x42 8M 1M" -c "write -P 0x43 15M 1M" "$T/a.qcow2" >/dev/null
qemu-img convert -O raw "$T/a.qcow2" "$T/a.raw"
for rb in 8 32 64 2 16; do
	if [ "$rb" = 2 ]; then
		# Compressed clusters share host clusters: fewer bits than their count are refused.
		cp "$T/a.qcow2" "$T/keep.qcow2"
		fails_with 1 "Cannot decrease refcount entry width to 2 bits: Cluster at offset" \
			"$I" amend -o refcount_bits=2 "$T/a.qcow2"
		ok $? "refcount_bits=2 refused where a refcount is higher"
		cmp -s "$T/a.qcow2" "$T/keep.qcow2"; ok $? "and the image is unchanged"
		continue
	fi
	run "amend -o refcount_bits=$rb" "$I" amend -o refcount_bits=$rb "$T/a.qcow2"
	info_has "$T/a.qcow2" "    refcount bits: $rb"; ok $? "qemu-img info shows refcount bits: $rb"
	run "refcount_bits=$rb: qemu-img check clean" clean "$T/a.qcow2"
	run "refcount_bits=$rb: reads as before" qemu-img compare -q "$T/a.qcow2" "$T/a.raw"
done
qemu-img create -q -f qcow2 "$T/n.qcow2" 16M
qemu-io -f qcow2 -c "write -P 0x44 0 3M" "$T/n.qcow2" >/dev/null
for rb in 1 4; do
	run "amend -o refcount_bits=$rb without shared clusters" "$I" amend -o refcount_bits=$rb "$T/n.qcow2"
	info_has "$T/n.qcow2" "    refcount bits: $rb"; ok $? "qemu-img info shows refcount bits: $rb"
	run "qemu writes to it and it stays clean" qemu-io -f qcow2 -c "write -P 0x45 5M 2M" "$T/n.qcow2"
	run "refcount_bits=$rb: qemu-img check clean" clean "$T/n.qcow2"
done

run "amend -o compat=0.10 (zero clusters expanded)" "$I" amend -o compat=0.10 "$T/a.qcow2"
info_has "$T/a.qcow2" "    compat: 0.10"; ok $? "qemu-img info shows compat: 0.10"
run "v2: qemu-img check clean" clean "$T/a.qcow2"
run "v2: reads as before" qemu-img compare -q "$T/a.qcow2" "$T/a.raw"
run "amend -o compat=1.1,lazy_refcounts=on" "$I" amend -o compat=1.1,lazy_refcounts=on "$T/a.qcow2"
info_has "$T/a.qcow2" "    compat: 1.1" && info_has "$T/a.qcow2" "    lazy refcounts: true"; ok $? "qemu-img info shows compat 1.1, lazy refcounts"
run "v3: qemu-img check clean" clean "$T/a.qcow2"
run "v3: reads as before" qemu-img compare -q "$T/a.qcow2" "$T/a.raw"
run "amend -o lazy_refcounts=off" "$I" amend -o lazy_refcounts=off "$T/a.qcow2"
info_has "$T/a.qcow2" "    lazy refcounts: false"; ok $? "qemu-img info shows lazy refcounts off"
run "qemu-img amend takes an imgtool-amended image back to 0.10" qemu-img amend -o compat=0.10 "$T/a.qcow2"
run "imgtool amends a qemu-downgraded image to 1.1" "$I" amend -o compat=1.1 "$T/a.qcow2"
run "qemu-img check clean" clean "$T/a.qcow2"

# Zero clusters over a backing file stay zeros in version 2.
mkchain "$T/z"
run "downgrade an overlay with zero clusters" "$I" amend -o compat=0.10 "$T/z/top.qcow2"
run "it reads as before" qemu-img compare -q "$T/z/top.qcow2" "$T/z/ref.raw"
run "and passes qemu-img check" clean "$T/z/top.qcow2"
run "amend -o backing_file,backing_fmt" "$I" amend -o backing_file=base.raw,backing_fmt=raw "$T/z/top.qcow2"
info_has "$T/z/top.qcow2" "backing file format: raw"; ok $? "qemu-img info shows the new backing format"
run "amend -o size=32M" "$I" amend -o size=32M "$T/z/top.qcow2"
info_has "$T/z/top.qcow2" "virtual size: 32 MiB (33554432 bytes)"; ok $? "qemu-img info shows the new size"

# Refusals, with qemu-img's reasons, leave the image alone.
"$I" amend -o refcount_bits=8 "$T/a.qcow2"
cp "$T/a.qcow2" "$T/keep.qcow2"
fails_with 1 "compat=0.10 requires refcount_bits=16" "$I" amend -o compat=0.10 "$T/a.qcow2"; ok $? "downgrade with 8-bit refcounts refused"
fails_with 1 "Lazy refcounts only supported with compatibility level 1.1 and above" \
	"$I" amend -o compat=0.10,lazy_refcounts=on "$T/a.qcow2"; ok $? "compat=0.10 with lazy refcounts refused"
fails_with 1 "Refcount widths other than 16 bits require compatibility level 1.1 or above" \
	"$I" amend -o compat=0.10,refcount_bits=8 "$T/a.qcow2"; ok $? "compat=0.10 with refcount_bits=8 refused"
fails_with 1 "Invalid parameter 'foo'" "$I" amend -o foo=bar "$T/a.qcow2"; ok $? "unknown option refused"
fails_with 1 "This option is only supported for image creation" "$I" amend -o cluster_size=4k "$T/a.qcow2"
ok $? "creation-only option refused"
fails_with 1 "Unknown compatibility level 2.0" "$I" amend -o compat=2.0 "$T/a.qcow2"; ok $? "unknown compat refused"
fails_with 1 "Refcount width must be a power of two and may not exceed 64 bits" "$I" amend -o refcount_bits=3 "$T/a.qcow2"
ok $? "refcount_bits=3 refused"
fails_with 1 "Parameter 'lazy_refcounts' expects 'on' or 'off'" "$I" amend -o lazy_refcounts=maybe "$T/a.qcow2"
ok $? "lazy_refcounts=maybe refused"
fails_with 1 "Must specify options (-o)" "$I" amend "$T/a.qcow2"; ok $? "amend without -o refused"
cmp -s "$T/a.qcow2" "$T/keep.qcow2"; ok $? "the image is unchanged after every refusal"
run "compat=0.10,refcount_bits=16 together" "$I" amend -o compat=0.10 -o refcount_bits=16 "$T/a.qcow2"
info_has "$T/a.qcow2" "    refcount bits: 16" && info_has "$T/a.qcow2" "    compat: 0.10"; ok $? "qemu-img info shows both"
run "qemu-img check clean" clean "$T/a.qcow2"
run "reads as before" qemu-img compare -q "$T/a.qcow2" "$T/a.raw"
fails_with 1 "Format driver 'raw' does not support option amendment" "$I" amend -o compat=1.1 "$T/a.raw"
ok $? "amend of a raw image refused"
"$I" amend -o help "$T/a.qcow2" | grep -q "^  refcount_bits="; ok $? "amend -o help lists the options"

for v in rebase commit amend; do
	grep -q "^\.It Cm $v$" "$TOP/man/imgtool.1" && "$I" --help | grep -q "imgtool $v "
	ok $? "$v is in --help and man/imgtool.1"
done

done_testing
