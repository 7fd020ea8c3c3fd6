# TAP helpers for the shell tests; source it, then call ok RESULT TEXT.
# The test exits with $tap_fail.
tap_n=0
tap_fail=0

ok() { # result (0 = pass), description
    tap_n=$((tap_n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $tap_n - $2"
    else
        echo "not ok $tap_n - $2"
        tap_fail=1
    fi
}
