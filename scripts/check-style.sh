#!/usr/bin/env bash
# TAP test: QEMU's scripts/checkpatch.pl reports no error or warning on any C
# file or header of ours, nor on our hook patches against QEMU. Uses the QEMU
# tree that ./configure recorded.
set -u
top=$1
src=$(sed -n 's/^QEMU_SRC := //p' "$top/build/config.mk" 2>/dev/null)
cp=$src/scripts/checkpatch.pl
if [ ! -f "$cp" ]; then
    echo "1..0 # SKIP no configured QEMU tree with scripts/checkpatch.pl"
    exit 0
fi
cd "$top" || exit 1
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^\.qemu/')
mapfile -t patches < <(git ls-files -co --exclude-standard -- 'patches/*.patch')
echo "1..$(( ${#files[@]} + ${#patches[@]} ))"
. "$top/tests/tap.sh"
for f in "${files[@]}" "${patches[@]}"; do
    case "$f" in
    *.patch) out=$(perl "$cp" --no-tree --terse --no-signoff "$f" 2>&1) ;;
    *) out=$(perl "$cp" --no-tree --terse -f "$f" 2>&1) ;;
    esac
    ! grep -qE '(ERROR|WARNING):' <<<"$out"
    ok $? "$f"
    grep -E '(ERROR|WARNING):' <<<"$out" | sed 's/^/# /'
done
exit $tap_fail
