#!/bin/sh
# check-layers.sh - the layer check of `make check` (issue #15).
#
# Builds the file-level dependency graph of src/ from two sources and checks
# it against the layer order of tests/layers/layers.txt (bottom to top):
#   include edges  `$CC $LAYERS_CPPFLAGS -MM` on every src/**/*.c and *.h
#                  (only files under src/ and proto/ count; -MM lists every
#                  header a file reaches, so a header that re-exports another
#                  folder's header is seen at each file that includes it);
#   call edges     `nm` on the objects: a symbol undefined in one object and
#                  defined in another is an edge between their sources.
# The folder of a file is its first folder under src/ (proto/*.def: proto).
# Rules, each printed as one cmocka-style test so tests/run-tests.sh counts it:
#   known-folders          every folder of src/ is listed in the layers file
#   includes-downward      a file includes only headers of its folder or lower
#   calls-downward         an object calls only objects of its folder or lower
#   internal-headers       *_internal.h is included only from its own folder
#   no-cross-folder-cycles no circle in the graph spans two folders
# Each failure lists its offending edges (file -> file, symbol or via).
#
# usage: check-layers.sh [-r ROOT] [-o OBJDIR] [-l LAYERS]
#   ROOT    tree holding src/ (and proto/), default .; paths below are
#           relative to it
#   OBJDIR  objects as OBJDIR/<folder>/<name>.o, default build/obj
#   LAYERS  layer order, default layers.txt beside this script
# Environment: CC (cc), NM (nm), LAYERS_CPPFLAGS (-Isrc -I.).
# Exit status: 0 all rules hold, 1 a rule failed, 2 the graph could not be
# built (missing object, compiler error).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=. objdir=build/obj layers=$here/layers.txt
while getopts r:o:l: opt; do
  case $opt in
    r) root=$OPTARG ;;
    o) objdir=$OPTARG ;;
    l) layers=$OPTARG ;;
    *) echo "usage: $0 [-r ROOT] [-o OBJDIR] [-l LAYERS]" >&2; exit 2 ;;
  esac
done
case $layers in /*) ;; *) layers=$(pwd)/$layers ;; esac
cd "$root" || exit 2
[ -r "$layers" ] || { echo "layers: cannot read $layers" >&2; exit 2; }
: "${CC:=cc}" "${NM:=nm}" "${LAYERS_CPPFLAGS:=-Isrc -I.}"

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
find src -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort >"$tmp/files"
[ -s "$tmp/files" ] || { echo "layers: no sources under $root/src" >&2; exit 2; }

# Include edges: "I from to", one per header a file reaches.
# shellcheck disable=SC2086 # LAYERS_CPPFLAGS is a list of flags
xargs $CC $LAYERS_CPPFLAGS -MM <"$tmp/files" >"$tmp/mm" ||
  { echo "layers: $CC -MM failed" >&2; exit 2; }
awk '{ sub(/\\$/, ""); line = line " " $0 }
     END { n = split(line, w, " ")
           for (i = 1; i <= n; i++) {
             if (w[i] ~ /:$/) { from = ""; continue }
             if (from == "") { from = w[i]; continue }
             if (w[i] ~ /^(src|proto)\//) print "I", from, w[i] } }' \
  "$tmp/mm" >"$tmp/edges"

# Call edges: "D src sym" for a symbol an object defines, "U src sym" for one
# it needs (src: the object's source file).
grep '\.c$' "$tmp/files" | while read -r c; do
  o=$objdir/${c#src/}; o=${o%.c}.o
  [ -f "$o" ] || { echo "layers: no object $o for $c (build first)" >&2; exit 2; }
  printf '%s %s\n' "$o" "$c"
done >"$tmp/objs" || exit 2
# shellcheck disable=SC2046 # one argument per object path
$NM -A -P -g $(awk '{ print $1 }' "$tmp/objs") >"$tmp/nm" ||
  { echo "layers: $NM failed" >&2; exit 2; }
awk 'NR == FNR { src[$1] = $2; next }
     { o = $1; sub(/:$/, "", o)
       if ($3 == "U") print "U", src[o], $2
       else if ($3 ~ /^[A-TV-Z]$/) print "D", src[o], $2 }' \
  "$tmp/objs" "$tmp/nm" >>"$tmp/edges"

# Checks: prints "rule<TAB>offending edge" lines, nothing when all hold.
awk -v OFS='\t' '
function folder(f,   p) {
  split(f, p, "/")
  return p[1] == "src" ? p[2] : p[1]
}
function node(f) {
  if (!(f in seen)) { seen[f] = ++nnode; nodes[nnode] = f }
}
function edge(a, b, label) {
  node(a); node(b)
  if ((a, b) in lab) return
  lab[a, b] = label; out[a, ++nout[a]] = b
}
function ranked(f) { return folder(f) in rank }
# Strongly connected components (Tarjan): comp[file] numbers its component.
function strong(v,   i, w) {
  idx[v] = low[v] = ++counter; stack[++sp] = v; onst[v] = 1
  for (i = 1; i <= nout[v]; i++) {
    w = out[v, i]
    if (!(w in idx)) { strong(w); if (low[w] < low[v]) low[v] = low[w] }
    else if (onst[w] && idx[w] < low[v]) low[v] = idx[w]
  }
  if (low[v] == idx[v]) {
    ncomp++
    do { w = stack[sp--]; onst[w] = 0; comp[w] = ncomp } while (w != v)
  }
}
# A circle through edge u -> v inside one component: breadth-first v .. u.
function circle(u, v,   q, head, tail, x, i, w, prev, path) {
  q[tail = 1] = v; prev[v] = ""; head = 0
  while (head < tail && !(u in prev)) {
    x = q[++head]
    for (i = 1; i <= nout[x]; i++) {
      w = out[x, i]
      if (comp[w] == comp[u] && !(w in prev)) { prev[w] = x; q[++tail] = w }
    }
  }
  path = u
  for (x = u; x != v; x = prev[x]) path = prev[x] " -(" lab[prev[x], x] ")-> " path
  return u " -(" lab[u, v] ")-> " path
}
FILENAME == LAYERS {
  sub(/#.*/, "")
  for (i = 1; i <= NF; i++) if (!($i in rank)) rank[$i] = ++nrank
  next
}
$1 == "I" {
  if ($2 != $3 && !(($2, $3) in inc)) {
    inc[$2, $3] = 1; incl[++nincl] = $2 SUBSEP $3
    incs[$2] = incs[$2] " " $3; ninc[$2]++
  }
  next
}
$1 == "D" { if (!($3 in def)) def[$3] = $2; next }
$1 == "U" { need[++nneed] = $2 " " $3; next }
END {
  for (i = 1; i <= nincl; i++) { split(incl[i], e, SUBSEP); edge(e[1], e[2], "#include") }
  for (i = 1; i <= nneed; i++) {
    split(need[i], e, " ")
    if (!(e[2] in def) || def[e[2]] == e[1]) continue
    f = e[1]; g = def[e[2]]; node(f); node(g)
    if ((f, g) in lab) lab[f, g] = lab[f, g] ", " e[2]
    else edge(f, g, e[2])
  }
  for (i = 1; i <= nnode; i++) folders[folder(nodes[i])] = nodes[i]
  for (d in folders)
    if (!(d in rank))
      print "known-folders", "folder " d " (" folders[d] ") is not in the layers file"

  for (k in inc) {
    split(k, e, SUBSEP); f = e[1]; h = e[2]
    bad = ranked(f) && ranked(h) && rank[folder(h)] > rank[folder(f)]
    priv = h ~ /_internal\.h$/ && folder(h) != folder(f)
    if (!bad && !priv) continue
    # via: the outermost header of f that brings h in (the one f includes)
    via = ""; best = 0; n = split(incs[f], hs, " ")
    for (j = 1; j <= n; j++)
      if (hs[j] != h && (hs[j], h) in inc && ninc[hs[j]] >= best) { via = hs[j]; best = ninc[via] }
    msg = f " -> " h (via == "" ? "" : "  (via " via ")")
    if (bad) print "includes-downward", msg
    if (priv) print "internal-headers", msg
  }
  for (i = 1; i <= nnode; i++) {
    f = nodes[i]
    for (j = 1; j <= nout[f]; j++) {
      g = out[f, j]
      if (g ~ /\.c$/ && ranked(f) && ranked(g) && rank[folder(g)] > rank[folder(f)])
        print "calls-downward", f " -> " g "  (" lab[f, g] ")"
    }
  }
  for (i = 1; i <= nnode; i++) if (!(nodes[i] in idx)) strong(nodes[i])
  for (i = 1; i <= nnode; i++) {
    f = nodes[i]
    for (j = 1; j <= nout[f]; j++) {
      g = out[f, j]
      if (comp[f] == comp[g] && folder(f) != folder(g) && !(comp[f] in told)) {
        told[comp[f]] = 1
        print "no-cross-folder-cycles", circle(f, g)
      }
    }
  }
}' LAYERS="$layers" "$layers" "$tmp/edges" >"$tmp/bad" || exit 2

# cmocka-style report.
rules="known-folders includes-downward calls-downward internal-headers no-cross-folder-cycles"
passed=0 failed=0 names=
echo "[==========] Running 5 test(s)."
for r in $rules; do
  echo "[ RUN      ] $r"
  if grep -q "^$r	" "$tmp/bad"; then
    grep "^$r	" "$tmp/bad" | cut -f2- | LC_ALL=C sort | sed 's/^/    /'
    echo "[  FAILED  ] $r"
    failed=$((failed + 1)); names="$names $r"
  else
    echo "[       OK ] $r"
    passed=$((passed + 1))
  fi
done
echo "[==========] 5 test(s) run."
echo "[  PASSED  ] $passed test(s)."
if [ "$failed" -gt 0 ]; then
  echo "[  FAILED  ] $failed test(s), listed below:"
  for r in $names; do echo "[  FAILED  ] $r"; done
  echo "layers: order (bottom to top) in $layers"
  exit 1
fi
