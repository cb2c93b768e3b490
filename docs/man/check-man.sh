#!/bin/sh
# check-man.sh PAGE... [--ctl HOTCPU-CTL] [--agent HOTCPU-AGENT]: each man
# page renders without a single warning (`man --warnings -l`, groff's
# warnings on stderr fail it), and the pages document what the programs'
# --help lists: every command of `hotcpu-ctl --help`, every option of
# `hotcpu-ctl --help` and `hotcpu-ctl help COMMAND`, every option of
# `hotcpu-agent --help`.  Registered as the meson test 'man-pages' (suite
# unit).  Prints "N passed, N failed".
set -u
pages= ctl= agent=
while [ $# -gt 0 ]; do
    case $1 in
    --ctl) ctl=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    *) pages="$pages $1"; shift ;;
    esac
done

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

command -v man >/dev/null || { echo "FAIL: man is missing (man-db)"; echo "0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# render PAGE: the page as text, words not broken across lines.
render() {
    LC_ALL=C.UTF-8 MANWIDTH=250 man -l "$1" 2>/dev/null | col -bx | sed 's/\xe2\x80\x90/-/g'
}

for p in $pages; do
    n=$(basename "$p")
    if LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >"$tmp/out" 2>"$tmp/err" &&
        [ ! -s "$tmp/err" ] && [ -s "$tmp/out" ]; then
        ok "$n renders with no warning"
    else
        fail "$n: man --warnings -l says:"
        cat "$tmp/err"
    fi
    render "$p" > "$tmp/$n.txt"
done

# documented PAGE WHAT WORD: the rendered PAGE has WORD as a whole word.
documented() {
    if grep -q -e "\(^\|[^a-z-]\)$3\([^a-z-]\|\$\)" "$tmp/$1.txt" 2>/dev/null; then
        ok "$1 documents $2 $3"
    else
        fail "$1 does not document $2 $3"
    fi
}

if [ -n "$ctl" ]; then
    help=$(LC_ALL=C "$ctl" --help)
    cmds=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
    [ -n "$cmds" ] || fail "hotcpu-ctl --help lists no commands"
    for c in $cmds; do
        documented hotcpu-ctl.1 command "$c"
        for o in $(LC_ALL=C "$ctl" help "$c" | sed -n '/^  OPTIONS$/,/^$/p' |
                   grep -o -e '--[a-z][a-z0-9-]*' | sort -u | grep -v -x -e --domain -e --count); do
            documented hotcpu-ctl.1 "option of $c" "$o"
        done
    done
    for o in $(printf '%s\n' "$help" | sed -n '/^Options:/,/^$/p' | grep -o -e ' --[a-z][a-z0-9-]*'); do
        documented hotcpu-ctl.1 option "$o"
    done
fi
if [ -n "$agent" ]; then
    for o in $(LC_ALL=C "$agent" --help | grep -o -e '^ *\(-[a-zA-Z], \)\{0,1\}--[a-z][a-z0-9-]*' |
               grep -o -e '--[a-z][a-z0-9-]*'); do
        documented hotcpu-agent.8 option "$o"
    done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
