#!/usr/bin/env python3
"""Summarise libFuzzer's -print_coverage=1 output (on stdin) for hw/vmbus/.

For each of our source files: the functions the corpus entered out of those
instrumented, and the edges it took out of all their edges. Used by
`scripts/fuzz.sh cover TARGET`.
"""
import re
import sys

# COVERED_FUNC: hits: 12 edges: 5/9 vmbus_foo /path/hw/vmbus/vmbus-x.c:123
LINE = re.compile(r'^(UN)?COVERED_FUNC: hits: \d+ edges: (\d+)/(\d+) '
                  r'.* \S*/hw/vmbus/(\S+?):\d+$')


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else 'corpus'
    files = {}
    for line in sys.stdin:
        m = LINE.match(line.rstrip('\n'))
        if not m:
            continue
        f = files.setdefault(m.group(4), [0, 0, 0, 0])
        f[0] += m.group(1) is None
        f[1] += 1
        f[2] += int(m.group(2))
        f[3] += int(m.group(3))
    if not files:
        sys.exit('fuzz-coverage: no hw/vmbus/ function in the output '
                 '(is llvm-symbolizer on PATH?)')
    print(f'{target}: what its corpus reaches of hw/vmbus/')
    print(f'  {"file":30} {"functions":>13} {"edges":>15}')
    total = [0, 0, 0, 0]
    for name in sorted(files):
        f = files[name]
        total = [a + b for a, b in zip(total, f)]
        print(f'  {name:30} {f[0]:6}/{f[1]:<6} {f[2]:7}/{f[3]:<7}')
    print(f'  {"all":30} {total[0]:6}/{total[1]:<6} {total[2]:7}/{total[3]:<7}')


if __name__ == '__main__':
    main()
