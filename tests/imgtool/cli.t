#!/bin/bash
# tests/imgtool/cli.t: imgtool verbs, options, messages and exit codes (qemu-img's where the verb is shared).
. "$(dirname "$0")/lib.sh"
I=$IMGTOOL

run "--version" "$I" --version
"$I" frobnicate >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "unknown verb fails with status 1"

# create
run "create qcow2 default" "$I" create -q "$T/a.qcow2" 10G
"$I" create -q "$T/a.qcow2" 1G 2>"$T/err"; r=$?
[ $r -ne 0 ] && grep -q -- --force "$T/err"; ok $? "create refuses an existing file and mentions --force"
run "create --force overwrites" "$I" create -q --force "$T/a.qcow2" 1G
run "create -f raw" "$I" create -q -f raw "$T/a.raw" 1M
[ "$(stat -c %s "$T/a.raw")" = 1048576 ] && [ "$(du -k "$T/a.raw" | cut -f1)" -lt 64 ]; ok $? "raw create is sparse and sized"
run "create -o cluster_size=2M" "$I" create -q -o cluster_size=2M "$T/b.qcow2" 3G
"$I" info "$T/b.qcow2" | grep -q "cluster_size: 2097152"; ok $? "info shows cluster_size 2 MiB"
"$I" create -q -o cluster_size=1000 "$T/c.qcow2" 1G 2>/dev/null; [ $? -ne 0 ]; ok $? "bad cluster size refused"
"$I" create -q -o compat=0.10 "$T/c.qcow2" 1G 2>/dev/null; [ $? -ne 0 ]; ok $? "compat=0.10 creation refused (v2 is read-only)"
"$I" create -q "$T/c.qcow2" 12Q 2>/dev/null; [ $? -ne 0 ]; ok $? "bad size suffix refused"
"$I" info "$T/a.qcow2" | grep -q "virtual size: 1 GiB (1073741824 bytes)"; ok $? "info prints qemu-style virtual size"
"$I" info --output=json "$T/a.qcow2" | grep -q '"virtual-size": 1073741824'; ok $? "info --output=json"
"$I" info "$T/a.raw" | grep -q "file format: raw"; ok $? "info of raw"
printf 'QFI\373garbage' >"$T/bad.qcow2"
"$I" info "$T/bad.qcow2" 2>"$T/err"; [ $? -eq 1 ] && [ -s "$T/err" ]; ok $? "info on a broken qcow2 fails with a reason: $(head -c 80 "$T/err")"

# check exit codes: 0 clean, 3 leaks, 2 corruption, 63 raw.
"$I" create -q -o cluster_size=4K "$T/k.qcow2" 1M
qemu-io -f qcow2 -c "write -P 1 0 64k" "$T/k.qcow2" >/dev/null 2>&1 || "$I" convert -O qcow2 -o cluster_size=4K "$T/a.raw" "$T/k.qcow2"
run "check clean image exits 0" "$I" check "$T/k.qcow2"
cp "$T/k.qcow2" "$T/leak.qcow2"
# Refcount block at cluster 2 (16-bit entries): mark cluster 200 as used.
printf '\000\001' | dd of="$T/leak.qcow2" bs=1 seek=$((2 * 4096 + 400)) conv=notrunc status=none
"$I" check "$T/leak.qcow2" >"$T/out" 2>&1; r=$?
[ $r -eq 3 ] && grep -q "Leaked cluster 200 refcount=1 reference=0" "$T/out"; ok $? "check reports a leak, exit 3 (got $r)"
"$I" check -r leaks "$T/leak.qcow2" >"$T/out" 2>&1; r=$?
[ $r -eq 0 ] && grep -q "1 leaked clusters" "$T/out"; ok $? "check -r leaks repairs it, exit 0 (got $r)"
run "repaired leak passes qemu-img check" qemu-img check -q "$T/leak.qcow2"
cp "$T/k.qcow2" "$T/bad.qcow2"
# Zero the refcount of the header cluster: a corruption.
printf '\000\000' | dd of="$T/bad.qcow2" bs=1 seek=$((2 * 4096)) conv=notrunc status=none
"$I" check "$T/bad.qcow2" >"$T/out" 2>&1; r=$?
[ $r -eq 2 ] && grep -q "ERROR cluster 0 refcount=0 reference=1" "$T/out"; ok $? "check reports a corruption, exit 2 (got $r)"
"$I" check -r leaks "$T/bad.qcow2" >/dev/null 2>&1; r=$?
[ $r -eq 2 ]; ok $? "check -r leaks leaves the corruption, exit 2 (got $r)"
"$I" check -r all "$T/bad.qcow2" >"$T/out" 2>&1; r=$?
[ $r -eq 0 ]; ok $? "check -r all repairs the corruption, exit 0 (got $r)"
run "repaired corruption passes qemu-img check" qemu-img check -q "$T/bad.qcow2"
"$I" check "$T/a.raw" >/dev/null 2>&1; r=$?
[ $r -eq 63 ]; ok $? "check on raw exits 63 (got $r)"
[ "$("$I" check --output=json "$T/k.qcow2")" = "$(qemu-img check --output=json "$T/k.qcow2")" ]; ok $? "check --output=json is qemu-img's"
cp "$T/k.qcow2" "$T/leak2.qcow2"
printf '\000\001' | dd of="$T/leak2.qcow2" bs=1 seek=$((2 * 4096 + 400)) conv=notrunc status=none
"$I" check --output=json "$T/leak2.qcow2" >"$T/out" 2>"$T/err"
grep -q "Leaked cluster 200" "$T/err" && ! grep -q Leaked "$T/out" && grep -q '"leaks": 1,' "$T/out"
ok $? "the problems go to stderr, as qemu-img's; JSON counts the leak"
# qemu counts refcounts up to the end of the file only: the leak inside it.
truncate -s 1M "$T/leak2.qcow2"
cp "$T/k.qcow2" "$T/bad2.qcow2"
printf '\000\000' | dd of="$T/bad2.qcow2" bs=1 seek=$((2 * 4096)) conv=notrunc status=none
qemu-img convert -c -O qcow2 "$T/a.raw" "$T/cz.qcow2"
qemu-img create -q -f qcow2 -b cz.qcow2 -F qcow2 "$T/ov.qcow2"
differ=
for f in leak2 bad2 cz ov; do
	for o in json human; do
		[ "$("$I" check --output=$o "$T/$f.qcow2" 2>&1)" = "$(qemu-img check --output=$o "$T/$f.qcow2" 2>&1)" ] ||
			differ="$differ $f/$o"
	done
done
[ -z "$differ" ]; ok $? "check prints what qemu-img check prints: leak, corruption, compressed, overlay; JSON and human${differ:+ (differ:$differ)}"

# compare
mkpayload "$T/p.raw" 4
cp "$T/p.raw" "$T/q.raw"
run "compare identical" "$I" compare "$T/p.raw" "$T/q.raw"
printf 'X' | dd of="$T/q.raw" bs=1 seek=3000000 conv=notrunc status=none
"$I" compare "$T/p.raw" "$T/q.raw" >"$T/out"; r=$?
[ $r -eq 1 ] && grep -q "Content mismatch at offset 3000000!" "$T/out"; ok $? "compare finds the first difference, exit 1"
cp "$T/p.raw" "$T/q.raw"; truncate -s 5M "$T/q.raw"
run "compare: a zero tail on the larger image still matches" "$I" compare "$T/p.raw" "$T/q.raw"
"$I" compare -s "$T/p.raw" "$T/q.raw" >/dev/null; [ $? -eq 1 ]; ok $? "compare -s: size mismatch, exit 1"
"$I" compare "$T/p.raw" "$T/nonexistent" >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "compare with a missing file exits 2"

# convert: the destination appears only when complete.
"$I" convert -O qcow2 "$T/nonexistent" "$T/never.qcow2" 2>/dev/null
[ $? -ne 0 ] && [ ! -e "$T/never.qcow2" ] && ! ls "$T"/never.qcow2.* >/dev/null 2>&1; ok $? "failed convert leaves no file behind"
"$I" convert -c -O raw "$T/p.raw" "$T/x.raw" 2>/dev/null; [ $? -ne 0 ]; ok $? "convert -c to raw is refused"
run "convert -j 1 -c" "$I" convert -j 1 -c -O qcow2 "$T/p.raw" "$T/j1.qcow2"
run "convert -j 3 -c" "$I" convert -j 3 -c -O qcow2 "$T/p.raw" "$T/j3.qcow2"
cmp -s "$T/j1.qcow2" "$T/j3.qcow2"; ok $? "compressed output is the same whatever the thread count"
run "convert qcow2 -> qcow2 compressed input" "$I" convert -O qcow2 "$T/j3.qcow2" "$T/u.qcow2"
run "convert result compares identical" "$I" compare "$T/u.qcow2" "$T/p.raw"

# map
"$I" map "$T/u.qcow2" | head -1 | grep -q "Offset *Length *Mapped to *File"; ok $? "map header line"
# What qemu-img 7.2 map prints, byte for byte: present, offsets (raw holes
# too, offset 0), backing layers by name; compressed data has no offset and
# the human form refuses it.
cd "$T" || exit 1
qemu-img create -q -f qcow2 -b p.raw -F raw mr.qcow2
qemu-io -f qcow2 -c "write -P 3 1M 64k" -c "write -z 2M 128k" mr.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b j3.qcow2 -F qcow2 mc.qcow2
qemu-io -f qcow2 -c "write -P 4 64k 64k" -c "write -z 128k 64k" mc.qcow2 >/dev/null
mkdir -p sub && qemu-img create -q -f qcow2 -b ../mr.qcow2 -F qcow2 sub/top.qcow2
differ=
for f in p.raw u.qcow2 j3.qcow2 mr.qcow2 mc.qcow2 sub/top.qcow2; do
	for o in json human; do
		[ "$("$I" map --output=$o "$f" 2>/dev/null; echo "exit $?")" = \
		  "$(qemu-img map --output=$o "$f" 2>/dev/null; echo "exit $?")" ] || differ="$differ $f/$o"
	done
done
[ -z "$differ" ]; ok $? "map prints what qemu-img map prints (raw, qcow2, compressed, backing chains; JSON and human)${differ:+ differ:$differ}"
"$I" map j3.qcow2 2>"$T/err" >/dev/null; [ $? = 1 ] && grep -q compressed "$T/err"
ok $? "human map of compressed clusters: refused as qemu-img does: $(cat "$T/err")"
cd - >/dev/null || exit 1

# resize
run "resize +1G" "$I" resize -q "$T/u.qcow2" +1G
"$I" info --output=json "$T/u.qcow2" | grep -q '"virtual-size": 1077936128'; ok $? "size grew by 1 GiB"
run "resize raw" "$I" resize -q "$T/a.raw" 2M
# The dirty bit: read-only opens leave it, a read-write open repairs and clears it.
"$I" create -q -o cluster_size=4K "$T/d.qcow2" 1M
"$I" convert -O qcow2 -o cluster_size=4K "$T/p.raw" "$T/d.qcow2"
printf "\000\001" | dd of="$T/d.qcow2" bs=1 seek=$((2 * 4096 + 600)) conv=notrunc status=none
printf "\001" | dd of="$T/d.qcow2" bs=1 seek=79 conv=notrunc status=none
"$I" info --output=json "$T/d.qcow2" | grep -q '"dirty-flag": true'; ok $? "info shows the dirty flag"
run "read-write open of a dirty image succeeds" "$I" resize -q "$T/d.qcow2" +0
"$I" info --output=json "$T/d.qcow2" | grep -q '"dirty-flag": false'; ok $? "the dirty flag is cleared"
run "the dirty image was repaired (leak gone)" "$I" check "$T/d.qcow2"
run "and passes qemu-img check" qemu-img check -q "$T/d.qcow2"
run "and still holds its data" "$I" compare "$T/d.qcow2" "$T/p.raw"

# a device is never replaced by a rename (imgtool writes a temporary and renames it)
mkfifo "$T/fifo"
"$I" convert -O raw "$T/p.raw" "$T/fifo" 2>"$T/err"; r=$?
[ $r -eq 1 ] && [ -p "$T/fifo" ] && grep -q "not a regular file" "$T/err"; ok $? "convert to a FIFO is refused with the reason, the FIFO left as it was"

if command -v mandoc >/dev/null; then
	mandoc -Tlint -W warning "$TOP/man/imgtool.1" >"$T/lint" 2>&1; ok $? "man/imgtool.1 is mandoc -Tlint clean"
fi
done_testing
