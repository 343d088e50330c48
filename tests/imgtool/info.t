#!/bin/bash
# tests/imgtool/info.t: imgtool info, human and --output=json, is qemu-img's byte for byte on the same images:
# snapshot lists (names that need escaping, with and without icount), backing files, the dirty bit, raw.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"
I=$IMGTOOL

# flat IMG TOOL: the JSON as sorted "path = value" lines, a diff of which
# names a missing key or a changed type wherever the texts part.
flat() {
	"$2" info --output=json "$1" | awk '
	function path(  p, i) { p = ""; for (i = 1; i <= d; i++) p = p "/" k[i]; return p }
	NR == 1 { next }
	{
		line = $0; sub(/^ +/, "", line); sub(/,$/, "", line)
		if (line ~ /^[]}]/) { d--; next }
		key = line; val = line
		if (line ~ /^"/) { sub(/":.*/, "", key); sub(/^"/, "", key); sub(/^"[^"]*": */, "", val) }
		else { key = "[" n[d]++ "]" }
		if (val == "{" || val == "[" || val == "{}" ) { k[++d] = key; n[d] = 0; next }
		type = val ~ /^"/ ? "string" : val ~ /^(true|false)$/ ? "bool" : val ~ /^-?[0-9]+$/ ? "int" : "other"
		print path() "/" key " (" type ") = " val
	}' | sort
}

same_info() {	# same_info NAME IMG: both outputs identical to qemu-img's, else the differences as comments
	local name=$1 img=$2
	if diff <(qemu-img info --output=json "$img") <("$I" info --output=json "$img") >"$T/d.json" &&
	   diff <(qemu-img info "$img") <("$I" info "$img") >"$T/d.human"; then
		ok 0 "$name"
	else
		ok 1 "$name"
		{ diff <(flat "$img" qemu-img) <(flat "$img" "$I"); cat "$T/d.json" "$T/d.human"; } |
			head -30 | sed 's/^/# /'
	fi
}

cd "$T" || exit 1

# Snapshots taken by qemu-img, names with quotes, backslashes, control
# characters, UTF-8, an invalid byte, a character past the BMP; then one of imgtool's.
qemu-img create -q -f qcow2 s.qcow2 16M
qemu-io -f qcow2 -c "write -P 0x11 0 1M" s.qcow2 >/dev/null
qemu-img snapshot -c first s.qcow2
qemu-img snapshot -c 'é "q" \ back' s.qcow2
qemu-img snapshot -c $'tab\there\nnewline' s.qcow2
qemu-img snapshot -c $'bad\xff\xc3(z\xf0\x9f\x98\x80\x7f' s.qcow2
"$I" snapshot -c "imgtool's" s.qcow2
same_info "five snapshots (qemu-img's and imgtool's): info is qemu-img's" s.qcow2
[ "$(flat s.qcow2 "$I" | grep -c '^/snapshots/\[[0-9]\]/')" = 40 ] &&
	flat s.qcow2 "$I" | grep -q '^/snapshots/\[4\]/icount (int) = 0$' &&
	flat s.qcow2 "$I" | grep -q '^/snapshots/\[0\]/vm-state-size (int) = 0$'
ok $? "the JSON snapshots array: 5 entries of 8 keys, integers where qemu has integers"
"$I" info s.qcow2 | grep -q '^Snapshot list:$'; ok $? "human info has the Snapshot list table"

# A snapshot without an icount (as older qemu wrote it): the key is left out, the column blank.
off=$(od -An -tu8 -j64 -N8 --endian=big s.qcow2 | tr -d ' ')
printf '\377\377\377\377\377\377\377\377' | dd of=s.qcow2 bs=1 seek=$((off + 56)) conv=notrunc status=none
same_info "a snapshot without icount: info is qemu-img's" s.qcow2
! "$I" info --output=json s.qcow2 | sed -n '3,5p' | grep -q icount; ok $? "and its JSON has no icount"

# Version 2, and snapshots on an image with a backing file in another directory.
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 1M
"$I" snapshot -c old v2.qcow2
same_info "compat=0.10 with a snapshot: info is qemu-img's" v2.qcow2
mkdir sub
qemu-img create -q -f qcow2 -b ../s.qcow2 -F qcow2 sub/o.qcow2
"$I" snapshot -c on-overlay sub/o.qcow2
same_info "overlay in a subdirectory (full-backing-filename, actual path): info is qemu-img's" sub/o.qcow2
cd sub && same_info "the same from its own directory" o.qcow2
cd "$T" || exit 1
qemu-img create -q -f qcow2 -b "$T/s.qcow2" -F qcow2 sub/abs.qcow2
same_info "absolute backing name: info is qemu-img's" sub/abs.qcow2
qemu-img create -q -f qcow2 -b s.qcow2 -F qcow2 nofmt.qcow2
# qemu-img 7.2 records a format always: the extension gets a magic both ignore.
at=$(LC_ALL=C grep -obUaP "\\xe2\\x79\\x2a\\xca" nofmt.qcow2 | head -1 | cut -d: -f1)
printf "\022\064\126\170" | dd of=nofmt.qcow2 bs=1 seek="${at:-0}" conv=notrunc status=none
same_info "backing without a recorded format: info is qemu-img's" nofmt.qcow2

# The dirty bit: "cleanly shut down: no", "dirty-flag": true.
qemu-img create -q -f qcow2 -o lazy_refcounts=on d.qcow2 1M
printf '\001' | dd of=d.qcow2 bs=1 seek=79 conv=notrunc status=none
same_info "a dirty image: info is qemu-img's" d.qcow2
"$I" info d.qcow2 | grep -q '^cleanly shut down: no$'; ok $? "human info says it was not cleanly shut down"

truncate -s 3M r.raw
same_info "raw: info is qemu-img's" r.raw

# A damaged snapshot table: info fails with the file and the reason, as qemu-img does.
cp s.qcow2 bad.qcow2
printf "\177\377\377\377" | dd of=bad.qcow2 bs=1 seek=$((off + 36)) conv=notrunc status=none
"$I" info --output=json bad.qcow2 >"$T/out" 2>"$T/err"; r=$?
qemu-img info bad.qcow2 >/dev/null 2>&1; rq=$?
[ $r -eq 1 ] && [ $rq -ne 0 ] && grep -q bad.qcow2 "$T/err" && [ ! -s "$T/out" ]
ok $? "a snapshot table that does not parse: exit 1 (qemu-img $rq): $(cat "$T/err")"

done_testing
