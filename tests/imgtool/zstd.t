#!/bin/bash
# tests/imgtool/zstd.t: qcow2 compression_type zstd: imgtool and qemu-img read each other's zstd images; errors.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"
I=$IMGTOOL

json_ctype() {	# json_ctype TOOL IMG: the compression-type of info --output=json
	"$1" info --output=json "$2" | sed -n 's/.*"compression-type": "\([a-z]*\)".*/\1/p'
}

mkpayload "$T/p.raw" 24

# qemu writes, imgtool reads.
for cs in 512 4096 65536 2M; do
	q=$T/q-$cs.qcow2
	qemu-img convert -q -c -O qcow2 -o compression_type=zstd,cluster_size=$cs "$T/p.raw" "$q"
	run "qemu zstd cluster_size=$cs: imgtool compare identical" "$I" compare "$q" "$T/p.raw"
	"$I" convert -O raw "$q" "$T/back.raw"
	run "qemu zstd cluster_size=$cs: imgtool converts bit-identical" cmp "$T/p.raw" "$T/back.raw"
	run "qemu zstd cluster_size=$cs: imgtool check clean" "$I" check -q "$q"
done
"$I" info "$T/q-65536.qcow2" >"$T/out"
grep -q "^    compression type: zstd$" "$T/out"; ok $? "info shows 'compression type: zstd'"
[ "$(json_ctype "$I" "$T/q-65536.qcow2")" = zstd ]; ok $? "info --output=json shows \"compression-type\": \"zstd\""
diff <("$I" info --output=json "$T/q-65536.qcow2" | grep -v actual-size) \
     <(qemu-img info --output=json "$T/q-65536.qcow2" | grep -v actual-size) >"$T/out"
ok $? "info --output=json is qemu-img's, key for key"
sed 's/^/# /' "$T/out" | head -10

# Partial rewrites by qemu over zstd clusters, and zero clusters.
qemu-io -f qcow2 -c "write -P 0x5a 70k 3000" -c "write -z 1M 64k" -c "write -c -P 0x33 3M 64k" \
	"$T/q-65536.qcow2" >/dev/null
qemu-img convert -O raw "$T/q-65536.qcow2" "$T/ref.raw"
run "qemu-rewritten zstd image reads identical" same_as "$T/q-65536.qcow2" "$T/ref.raw"

# imgtool writes, qemu reads; the output does not depend on the thread count.
for cs in 512 4096 65536 2M; do
	o=$T/o-$cs.qcow2
	"$I" convert -c -O qcow2 -o compression_type=zstd,cluster_size=$cs "$T/p.raw" "$o"
	run "imgtool zstd cluster_size=$cs: qemu-img check" qemu-img check -q "$o"
	run "imgtool zstd cluster_size=$cs: qemu-img compare identical" qemu-img compare -q "$T/p.raw" "$o"
	qemu-img convert -O raw "$o" "$T/back.raw"
	run "imgtool zstd cluster_size=$cs: qemu converts bit-identical" cmp "$T/p.raw" "$T/back.raw"
	[ "$(json_ctype qemu-img "$o")" = zstd ]; ok $? "imgtool zstd cluster_size=$cs: qemu-img info says zstd"
done
nc=$(qemu-img check --output=json "$T/o-65536.qcow2" | sed -n 's/.*"compressed-clusters": \([0-9]*\).*/\1/p')
[ "${nc:-0}" -gt 30 ]; ok $? "the clusters are compressed ($nc)"
"$I" convert -j 1 -c -O qcow2 -o compression_type=zstd "$T/p.raw" "$T/j1.qcow2"
"$I" convert -j 5 -c -O qcow2 -o compression_type=zstd "$T/p.raw" "$T/j5.qcow2"
cmp -s "$T/j1.qcow2" "$T/j5.qcow2"; ok $? "zstd output is the same for 1 and 5 threads"
qemu-img convert -q -c -O qcow2 -o compression_type=zstd "$T/p.raw" "$T/qz.qcow2"
so=$(stat -c %s "$T/j1.qcow2") sq=$(stat -c %s "$T/qz.qcow2")
[ "$so" -le $((sq + sq / 100)) ]; ok $? "output within 1% of qemu-img's size ($so vs $sq bytes)"

# create -o compression_type=zstd; qemu writes compressed clusters into it.
run "create -o compression_type=zstd" "$I" create -q -o compression_type=zstd "$T/c.qcow2" 8M
[ "$(json_ctype qemu-img "$T/c.qcow2")" = zstd ]; ok $? "qemu-img info sees zstd on the created image"
run "created zstd image passes qemu-img check" qemu-img check -q "$T/c.qcow2"
qemu-io -f qcow2 -c "write -c -P 0x61 0 64k" -c "write -c -P 0x62 1M 128k" -c "write -P 0x63 2M 4k" "$T/c.qcow2" >/dev/null
qemu-img convert -O raw "$T/c.qcow2" "$T/ref.raw"
run "qemu's compressed writes into it read identical" same_as "$T/c.qcow2" "$T/ref.raw"

# -c alone is zlib, as in qemu-img; a zstd source converts to a zlib output.
"$I" convert -c -O qcow2 "$T/q-65536.qcow2" "$T/zl.qcow2"
[ "$(json_ctype qemu-img "$T/zl.qcow2")" = zlib ]; ok $? "-c without compression_type writes zlib"
run "zstd -> zlib conversion compares identical" qemu-img compare -q "$T/q-65536.qcow2" "$T/zl.qcow2"

# Refusals, with the reason.
"$I" create -q -o compression_type=lz4 "$T/bad.qcow2" 1M 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "compression-type.*lz4" "$T/err" && [ ! -e "$T/bad.qcow2" ]
ok $? "create -o compression_type=lz4 refused: $(cat "$T/err")"
"$I" convert -O raw -o compression_type=zstd "$T/p.raw" "$T/bad.raw" 2>"$T/err"; r=$?
[ $r -eq 1 ] && [ ! -e "$T/bad.raw" ]; ok $? "compression_type for a raw output refused: $(cat "$T/err")"
cp "$T/q-65536.qcow2" "$T/u.qcow2"
printf '\002' | dd of="$T/u.qcow2" bs=1 seek=104 conv=notrunc status=none
"$I" info "$T/u.qcow2" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "compression type 2" "$T/err"; ok $? "unknown compression type refused: $(cat "$T/err")"

# A damaged frame: reading fails and names the offset, no output appears.
cp "$T/o-65536.qcow2" "$T/dmg.qcow2"
at=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$T/dmg.qcow2" | head -1 | cut -d: -f1)
printf 'XXXX' | dd of="$T/dmg.qcow2" bs=1 seek="$at" conv=notrunc status=none
"$I" convert -O raw "$T/dmg.qcow2" "$T/dmg.raw" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "error while reading at byte [0-9]*" "$T/err" && [ ! -e "$T/dmg.raw" ]
ok $? "damaged zstd frame (file offset $at): $(cat "$T/err")"
"$I" compare "$T/dmg.qcow2" "$T/p.raw" >/dev/null 2>"$T/err"; r=$?
[ $r -eq 2 ] && grep -q "offset" "$T/err"; ok $? "compare on it exits 2: $(cat "$T/err")"

done_testing
