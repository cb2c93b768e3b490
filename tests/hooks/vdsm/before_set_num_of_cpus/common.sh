# Helpers the shell hooks of this folder share, sourced as VDSM's shell
# hooks do: . "$(dirname "$0")/common.sh".  Not executable: not a hook.

# trace LINE: one line into trace.log, in the hooks root.
trace() {
    printf '%s\n' "$*" >> "$(dirname "$0")/../trace.log"
}
