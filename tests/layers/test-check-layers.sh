#!/bin/sh
# test-check-layers.sh - proves that check-layers.sh can fail (issue #15).
#
# Builds tiny fake trees in a temporary folder (three layers low < mid < top,
# a few .c/.h files compiled to objects), runs the check on each, and asserts
# which of its rules pass and which fail, and that the offending edge is
# named. Prints cmocka-style lines so tests/run-tests.sh counts the cases.
# Environment: CC (cc).
set -u
here=$(cd "$(dirname "$0")" && pwd)
check=$here/check-layers.sh
: "${CC:=cc}"
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 names=

# A clean tree: top calls mid, mid calls low, low has an internal header and
# two files that call each other (a circle inside one folder is allowed).
clean_tree() {
  rm -rf "$tmp/t"; mkdir -p "$tmp/t/src/low" "$tmp/t/src/mid" "$tmp/t/src/top"
  printf 'low\nmid # the middle\ntop\n' >"$tmp/t/layers.txt"
  put src/low/low.h '#ifndef LOW_H
#define LOW_H
int low_one(int);
int low_two(int);
#endif'
  put src/low/low_internal.h 'int low_private(void);'
  put src/low/low.c '#include "low/low.h"
#include "low/low_internal.h"
int low_private(void) { return 1; }
int low_one(int x) { return x > 0 ? low_two(x - 1) : low_private(); }'
  put src/low/low_two.c '#include "low/low.h"
int low_two(int x) { return x > 0 ? low_one(x - 1) : 0; }'
  put src/mid/mid.h 'int mid_run(void);'
  put src/mid/mid.c '#include "mid/mid.h"
#include "low/low.h"
int mid_run(void) { return low_one(3); }'
  put src/top/top.c '#include "mid/mid.h"
int top_main(void) { return mid_run(); }'
}
put() { printf '%s\n' "$2" >"$tmp/t/$1"; }

# Compiles every .c of the fake tree, runs the check, keeps its output.
run_check() {
  (cd "$tmp/t" && for c in src/*/*.c; do
     o=obj/${c#src/}; mkdir -p "${o%/*}"
     $CC -std=c17 -Isrc -I. -c "$c" -o "${o%.c}.o" || exit 2
   done) || return 2
  CC=$CC sh "$check" -r "$tmp/t" -o obj -l "$tmp/t/layers.txt" >"$tmp/out" 2>&1
}

# expect NAME RC FAILING-RULES [TEXT...]: the check exits RC, exactly the
# given rules fail, and every TEXT appears in its output.
expect() {
  name=$1 want=$2 rules=$3; shift 3
  echo "[ RUN      ] $name"
  run_check; rc=$?
  ok=1
  [ "$rc" -eq "$want" ] || { echo "    exit status $rc, wanted $want"; ok=0; }
  got=$(sed -n '/listed below:/,$ s/^\[  FAILED  \] \([a-z-]*\)$/\1/p' "$tmp/out" | tr '\n' ' ')
  [ "$got" = "$rules" ] || { echo "    failing rules '$got', wanted '$rules'"; ok=0; }
  for text in "$@"; do
    grep -qF -- "$text" "$tmp/out" || { echo "    output lacks: $text"; ok=0; }
  done
  if [ "$ok" -eq 1 ]; then
    echo "[       OK ] $name"; passed=$((passed + 1))
  else
    sed 's/^/    | /' "$tmp/out"
    echo "[  FAILED  ] $name"; failed=$((failed + 1)); names="$names $name"
  fi
}

echo "[==========] Running 8 test(s)."
clean_tree
expect clean-tree-passes 0 "" "[  PASSED  ] 5 test(s)."

clean_tree
put src/low/low_two.c '#include "low/low.h"
#include "mid/mid.h"
int low_two(int x) { return x > 0 ? low_one(x - 1) : 0; }'
expect include-upward-fails 1 "includes-downward " \
  "src/low/low_two.c -> src/mid/mid.h"

clean_tree
put src/mid/top_user.h '#include "mid/mid.h"
#include "top/top.h"'
put src/top/top.h 'int top_main(void);'
put src/mid/mid.c '#include "mid/top_user.h"
int mid_run(void) { return 1; }'
expect include-upward-via-header-fails 1 "includes-downward " \
  "src/mid/mid.c -> src/top/top.h  (via src/mid/top_user.h)" \
  "src/mid/top_user.h -> src/top/top.h"

clean_tree
put src/low/low_two.c '#include "low/low.h"
int mid_run(void);
int low_two(int x) { return x > 0 ? low_one(x - 1) : mid_run(); }'
expect call-upward-fails 1 "calls-downward no-cross-folder-cycles " \
  "src/low/low_two.c -> src/mid/mid.c  (mid_run)" \
  "src/low/low_two.c -(mid_run)-> src/mid/mid.c -(low_one)-> src/low/low.c -(low_two)-> src/low/low_two.c"

clean_tree
put src/top/top.c '#include "mid/mid.h"
#include "low/low_internal.h"
int top_main(void) { return mid_run() + low_private(); }'
expect internal-header-fails 1 "internal-headers " \
  "src/top/top.c -> src/low/low_internal.h"

clean_tree
put src/mid/mid.h '#include "low/low.h"
int mid_run(void);'
put src/low/low.h '#ifndef LOW_H
#define LOW_H
#include "mid/mid.h"
int low_one(int);
int low_two(int);
#endif'
expect header-circle-fails 1 "includes-downward no-cross-folder-cycles " \
  "src/low/low.h -> src/mid/mid.h" "-(#include)-> src/low/low.h"

clean_tree
mkdir -p "$tmp/t/src/http"
put src/http/http.c '#include "mid/mid.h"
int http_serve(void) { return mid_run(); }'
expect unlisted-folder-fails 1 "known-folders " \
  "folder http (src/http/http.c) is not in the layers file"

clean_tree
put src/low/extra.c 'int low_extra(void) { return 2; }'
run_check >/dev/null 2>&1
rm -f "$tmp/t/obj/low/extra.o"
CC=$CC sh "$check" -r "$tmp/t" -o obj -l "$tmp/t/layers.txt" >"$tmp/out" 2>&1; rc=$?
echo "[ RUN      ] missing-object-is-an-error"
if [ "$rc" -eq 2 ] && grep -qF "no object obj/low/extra.o for src/low/extra.c" "$tmp/out"; then
  echo "[       OK ] missing-object-is-an-error"; passed=$((passed + 1))
else
  sed 's/^/    | /' "$tmp/out"; echo "    exit status $rc, wanted 2"
  echo "[  FAILED  ] missing-object-is-an-error"; failed=$((failed + 1))
  names="$names missing-object-is-an-error"
fi

echo "[==========] $((passed + failed)) test(s) run."
echo "[  PASSED  ] $passed test(s)."
if [ "$failed" -gt 0 ]; then
  echo "[  FAILED  ] $failed test(s), listed below:"
  for n in $names; do echo "[  FAILED  ] $n"; done
  exit 1
fi
