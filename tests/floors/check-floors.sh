#!/bin/sh
# check-floors.sh CC SIDE FLOOR_ARGS... -- CFLAGS...: the version floor of
# one side refuses glib and json-glib API newer than itself.  For each pair
# below, the function at the floor must compile and the one just past it
# must not ("Not available before ..."), with -Werror as CI builds.
#   guest: glib 2.56 / json-glib 1.4    host: glib 2.68 / json-glib 1.6
set -u
cc=$1 side=$2
shift 2
floor_args=
while [ $# -gt 0 ] && [ "$1" != -- ]; do floor_args="$floor_args $1"; shift; done
[ $# -gt 0 ] && shift
cflags=$*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# try NAME EXPECT(ok|refused) C-STATEMENT
try() {
    printf '#include <glib.h>\n#include <json-glib/json-glib.h>\nvoid f(void);\nvoid f(void) { %s; }\n' \
        "$3" >"$tmp/t.c"
    # shellcheck disable=SC2086
    if $cc $floor_args $cflags -Werror -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
        got=ok
    elif grep -q -e 'Not available before' -e 'implicit declaration' "$tmp/err"; then
        # (the second: a glib older than the function does not have it at all)
        got=refused
    else
        got="broken (not for its version)"
    fi
    if [ "$got" = "$2" ]; then
        passed=$((passed + 1)); echo "ok: $side: $1 $got"
    else
        failed=$((failed + 1)); echo "FAIL: $side: $1 $got, expected $2"; cat "$tmp/err"
    fi
}

case $side in
guest)
    try "g_clear_handle_id (2.56)" ok 'guint id = 0; g_clear_handle_id(&id, g_source_remove)'
    try "g_array_copy (2.62)" refused 'g_autoptr(GArray) a = g_array_copy(NULL)'
    try "g_memdup2 (2.68)" refused 'g_free(g_memdup2("x", 1))'
    try "json_node_init_object (1.0)" ok 'json_node_free(json_node_init_object(json_node_alloc(), NULL))'
    try "json_object_get_int_member_with_default (1.6)" refused 'json_object_get_int_member_with_default(NULL, "x", 0)'
    ;;
host)
    try "g_memdup2 (2.68)" ok 'g_free(g_memdup2("x", 1))'
    try "g_spawn_check_wait_status (2.70)" refused 'g_spawn_check_wait_status(0, NULL)'
    try "json_object_get_int_member_with_default (1.6)" ok 'json_object_get_int_member_with_default(NULL, "x", 0)'
    ;;
*) echo "check-floors.sh: unknown side $side"; exit 2 ;;
esac
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
