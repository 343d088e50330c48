#!/bin/bash
# tests/imgtool/dd.t: imgtool dd makes the image qemu-img dd makes: operands, sizes, formats, messages.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"
I=$IMGTOOL

vsize() { qemu-img info --output=json "$1" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p'; }

# same_dd ARGS...: both tools, same messages and status; then the same disk
# and virtual size, and the same output format (ours leaves zeros unallocated).
same_dd() {
	local q o r
	rm -f "$T/oq" "$T/oi"
	q=$(cd "$T" && qemu-img dd "$@" of=oq 2>&1; echo "exit $?")
	o=$(cd "$T" && "$I" dd "$@" of=oi 2>&1; echo "exit $?")
	if [ "${q//qemu-img: /}" != "${o//imgtool: /}" ]; then
		ok 1 "dd $*: messages and status"
		diff <(echo "${q//qemu-img: /}") <(echo "${o//imgtool: /}") | sed 's/^/# /'
		return
	fi
	if [ ! -e "$T/oq" ]; then
		[ ! -e "$T/oi" ]; ok $? "dd $*: no output, as qemu-img (${o//$'\n'/ })"
		return
	fi
	r=0
	qemu-img compare -q "$T/oq" "$T/oi" || r=1
	[ "$(vsize "$T/oq")" = "$(vsize "$T/oi")" ] || r=1
	[ "$(qemu-img info "$T/oq" | grep '^file format')" = "$(qemu-img info "$T/oi" | grep '^file format')" ] || r=1
	ok $r "dd $*: same image ($(vsize "$T/oi") bytes)"
}

mkpayload "$T/in.raw" 3
head -c 100000 "$T/in.raw" >"$T/small.raw"
qemu-img convert -O qcow2 -o cluster_size=4k "$T/in.raw" "$T/in.qcow2"
qemu-io -f qcow2 -c "write -z 1M 64k" -c "write -c -P 7 2M 64k" "$T/in.qcow2" >/dev/null

for ops in "" "bs=4096" "bs=512 count=10" "bs=512 count=10 skip=4" "bs=1000 skip=3" \
	   "bs=1000 count=3 skip=1" "skip=1000" "count=0" "bs=1k count=1000" "bs=64k skip=1" \
	   "bs=1.5k count=2" "bs=1M count=1 skip=0" "count=5 count=7" "bs=7 skip=11 count=300"; do
	same_dd $ops if=small.raw
done
for ops in "" "bs=1M skip=1" "bs=64k count=20 skip=3" "bs=3000 skip=17 count=999"; do
	same_dd $ops if=in.raw
	same_dd -O qcow2 $ops if=in.raw
	same_dd $ops if=in.qcow2
	same_dd -f qcow2 -O qcow2 $ops if=in.qcow2
	same_dd -f raw $ops if=in.qcow2
done

# Refusals and warnings, word for word.
same_dd bs=0 if=small.raw
same_dd bs=3G if=small.raw
same_dd count=-1 if=small.raw
same_dd skip=1x if=small.raw
same_dd foo=1 if=small.raw
same_dd bs if=small.raw
"$I" dd if="$T/nonexistent.raw" of="$T/x.raw" 2>"$T/err"; r=$?
[ $r -eq 1 ] && [ ! -e "$T/x.raw" ] && grep -q "Could not open '$T/nonexistent.raw': .*No such file" "$T/err"; ok $? "a missing input: $(cat "$T/err")"
"$I" dd if=small.raw >/dev/null 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "Must specify both input and output files" "$T/err"; ok $? "no of=: $(cat "$T/err")"

# The output is replaced whole on success, and left alone on failure.
printf 'old contents' >"$T/keep.raw"
"$I" dd if=nonexistent.raw of="$T/keep.raw" 2>/dev/null; r=$?
[ $r -eq 1 ] && [ "$(cat "$T/keep.raw")" = "old contents" ]; ok $? "a failed dd leaves the existing output as it was"
ls "$T"/keep.raw.* >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "and no temporary file"
run "dd over an existing output" "$I" dd bs=4k count=2 if="$T/small.raw" of="$T/keep.raw"
[ "$(stat -c %s "$T/keep.raw")" = 8192 ] && cmp -s "$T/keep.raw" <(head -c 8192 "$T/small.raw"); ok $? "the output was replaced"
"$I" dd -O qcow2 bs=64k skip=3 if="$T/in.qcow2" of="$T/dd.qcow2"
run "dd -O qcow2 output passes qemu-img check" qemu-img check -q "$T/dd.qcow2"
run "dd -O qcow2 output passes imgtool check" "$I" check -q "$T/dd.qcow2"

done_testing
