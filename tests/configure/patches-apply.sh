#!/usr/bin/env bash
# TAP test: scripts/link-overlay.sh applies patches/series once (a second run
# is a no-op), and a patch that does not apply stops it, naming the patch.
set -u
top=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$top/tests/tap.sh"

# A miniature "QEMU tree" and overlay: one file, one patch that edits it.
mkdir -p "$tmp/src/hw" "$tmp/src/include/hw" "$tmp/src/tests/qtest" \
         "$tmp/src/configs/devices/x86_64-softmmu" "$tmp/src/qapi"
printf 'line one\nline two\n' > "$tmp/src/hw/file.txt"
mkdir -p "$tmp/top/patches" "$tmp/top/hw/vmbus" "$tmp/top/include/hw/vmbus" \
         "$tmp/top/tests/qtest" "$tmp/top/configs" "$tmp/top/qapi"
touch "$tmp/top/configs/x86_64-softmmu-qemu-vmbus.mak" "$tmp/top/qapi/vmbus.json"
cat > "$tmp/top/patches/0001-edit.patch" <<'PATCH'
--- a/hw/file.txt
+++ b/hw/file.txt
@@ -1,2 +1,2 @@
 line one
-line two
+line 2
PATCH
echo 0001-edit.patch > "$tmp/top/patches/series"

echo "1..5"
"$top/scripts/link-overlay.sh" "$tmp/top" "$tmp/src" 2>/dev/null
ok $? "the series applies to a tree that takes it"
grep -qx 'line 2' "$tmp/src/hw/file.txt" && [ -L "$tmp/src/hw/vmbus" ]
ok $? "the patch is in and our directories are linked"
"$top/scripts/link-overlay.sh" "$tmp/top" "$tmp/src" 2>/dev/null &&
    [ "$(grep -c 'line 2' "$tmp/src/hw/file.txt")" = 1 ]
ok $? "running it again changes nothing"

printf 'something else\n' > "$tmp/src/hw/file.txt"
out=$("$top/scripts/link-overlay.sh" "$tmp/top" "$tmp/src" 2>&1)
rc=$?
[ "$rc" != 0 ]
ok $? "a patch that does not apply is an error"
grep -q "patch '0001-edit.patch' does not apply" <<<"$out"
ok $? "the error names the patch"
exit $tap_fail
