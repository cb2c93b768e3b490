#!/usr/bin/env bash
# test-bash-completion.sh COMPLETION-FILE HOTCPU-CTL: drives the bash
# completion of hotcpu-ctl as bash would (bash-completion loaded, then the
# file; COMP_WORDS split as readline splits them) and checks COMPREPLY.
# Domains come from libvirt's test driver (test:///default has one domain,
# "test").  Registered as the meson test 'bash-completion' (suite unit).
# Prints "N passed, N failed".
set -u
comp=$1
ctl=$2
bc=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

for need in "$comp" "$ctl" "$bc"; do
    [ -r "$need" ] || { echo "FAIL: $need is missing (scripts/deps.sh installs bash-completion)"; echo "0 passed, 1 failed"; exit 1; }
done
command -v virsh >/dev/null || { echo "FAIL: virsh is missing (libvirt-clients)"; echo "0 passed, 1 failed"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-compl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
ln -s "$(cd "$(dirname "$ctl")" && pwd)/$(basename "$ctl")" "$tmp/bin/hotcpu-ctl"

# complete PATH-DIR WORD...: the words as readline splits them, the last one
# being completed; prints COMPREPLY sorted, one per line.
complete_words() {
    local bindir=$1
    shift
    env -i HOME="$tmp" PATH="$bindir:/usr/bin:/bin" ${URI:+LIBVIRT_DEFAULT_URI=$URI} \
        bash --norc --noprofile -c '
            source "$1" >/dev/null 2>&1; source "$2"
            shift 2
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
            # The line as typed: no blank around the "=" and ":" words.
            COMP_LINE="" p=""
            for w in "$@"; do
                if [[ -z $COMP_LINE ]]; then COMP_LINE=$w
                elif [[ $w == [=:] || $p == [=:] ]]; then COMP_LINE+=$w
                else COMP_LINE+=" $w"; fi
                p=$w
            done
            COMP_POINT=${#COMP_LINE}
            _hotcpu_ctl hotcpu-ctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            printf "%s\n" "${COMPREPLY[@]}" | sort' bash "$bc" "$comp" "$@"
}

# expect NAME WANT WORD...: COMPREPLY is exactly WANT (sorted, space-separated).
expect() {
    local name=$1 want=$2 got
    shift 2
    got=$(complete_words "$tmp/bin" "$@" | tr '\n' ' ' | sed 's/ $//')
    if [ "$got" = "$want" ]; then ok "$name"; else fail "$name: got '$got', want '$want'"; fi
}

# has NAME WORDS-WANTED WORD...: COMPREPLY holds each of WORDS-WANTED.
has() {
    local name=$1 want=$2 got w missing=""
    shift 2
    got=$(complete_words "$tmp/bin" "$@")
    for w in $want; do grep -qx -- "$w" <<<"$got" || missing="$missing $w"; done
    if [ -z "$missing" ]; then ok "$name"; else fail "$name: missing$missing in: $(echo $got)"; fi
}

# The commands are exactly those of --help, plus help.
cmds=$(LC_ALL=C "$ctl" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
[ -n "$cmds" ] || fail "hotcpu-ctl --help lists no commands"
expect "commands from --help" "$(printf '%s\n' $cmds help | sort | tr '\n' ' ' | sed 's/ $//')" hotcpu-ctl ""
has "commands by prefix" "guest-set" hotcpu-ctl gu
has "global options" "--connect --json --hooks-dir --audit-log --policy -c" hotcpu-ctl -
expect "long options by prefix" "--hook-timeout --hooks-dir" hotcpu-ctl --hook
has "set's options" "--sockets --config --timeout --force --require-guest --domain --count --json" hotcpu-ctl set -
expect "help COMMAND" "$(printf '%s\n' $cmds | sort | tr '\n' ' ' | sed 's/ $//')" hotcpu-ctl help ""
expect "domain after -c URI" "test" hotcpu-ctl -c test:///default set ""
expect "domain after --connect URI, by prefix" "test" hotcpu-ctl --connect test:///default get t
# readline splits at "=" and ":"; bash-completion joins them again
expect "domain after --connect=URI" "test" hotcpu-ctl --connect = test : ///default topology ""
expect "domain after a global option with a value" "test" hotcpu-ctl -c test:///default --hook-timeout 5 guest-set ""
expect "--domain takes a domain" "test" hotcpu-ctl -c test:///default set --count 2 --domain ""
URI=test:///default expect "domain with \$LIBVIRT_DEFAULT_URI" "test" hotcpu-ctl get ""
expect "no domain for COUNT" "" hotcpu-ctl -c test:///default set test ""
expect "nothing for --timeout's value" "" hotcpu-ctl -c test:///default set test 2 --timeout ""
expect "no domains from a URI that fails" "" hotcpu-ctl -c test:///nonexistent.xml set ""

# set --hook-env: the names of the domain's own hook variables (its
# <metadata>, hotcpu's namespace), from a test driver node file.
cat > "$tmp/node.xml" <<'NODE'
<node>
  <domain type='test'>
    <name>web1</name>
    <metadata>
      <hotcpu:hotcpu xmlns:hotcpu='http://hotcpu.org/xmlns/libvirt/domain/1.0'>
        <hotcpu:hook-env name='sap_profile'>gold</hotcpu:hook-env>
        <hotcpu:hook-env name='backup'>nightly</hotcpu:hook-env>
      </hotcpu:hotcpu>
    </metadata>
    <memory>1048576</memory>
    <vcpu current='2'>8</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
  </domain>
</node>
NODE
has "set's options include --hook-env" "--hook-env" hotcpu-ctl set web1 4 -
expect "--hook-env offers the domain's names" "backup= sap_profile=" hotcpu-ctl -c "test://$tmp/node.xml" set web1 4 --hook-env ""
expect "--hook-env by prefix, --domain given by name" "sap_profile=" hotcpu-ctl -c "test://$tmp/node.xml" set --domain web1 4 --hook-env s
expect "--hook-env without a domain offers nothing" "" hotcpu-ctl -c "test://$tmp/node.xml" set --hook-env ""

# Derived at completion time: a hotcpu-ctl with another command table.
mkdir "$tmp/fake"
cat > "$tmp/fake/hotcpu-ctl" <<'FAKE'
#!/bin/sh
if [ "$1" = help ] && [ "$2" = frobnicate ]; then
    printf '  NAME\n    frobnicate - x\n\n  OPTIONS\n    [--domain] <domain>      d\n    --wibble <n>             w\n    --quiet                  q\n'
else
    printf 'Usage: hotcpu-ctl\n\nOptions:\n  -c, --connect URI          u\n      --frob-all             f\n\nCommands:\n  frobnicate   x\n\nRun it.\n'
fi
FAKE
chmod +x "$tmp/fake/hotcpu-ctl"
got=$(complete_words "$tmp/fake" hotcpu-ctl "" | tr '\n' ' ')
[ "$got" = "frobnicate help " ] && ok "commands follow the program's table" ||
    fail "commands follow the program's table: got '$got'"
got=$(complete_words "$tmp/fake" hotcpu-ctl frobnicate - | tr '\n' ' ')
[ "$got" = "--connect --domain --frob-all --quiet --wibble -c " ] &&
    ok "options follow the program's table" || fail "options follow the program's table: got '$got'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
