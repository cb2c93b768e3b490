/* hook_spawn.h: runs one hook that hook_discover.c allowed.  Used by
 * hook_runner.c only. */
#pragma once

#include "hook_runner.h"

/* Starts @path by its path with exactly @envp, in its own process group,
 * stdin /dev/null, stdout and stderr merged and captured (64 KiB at most,
 * then a note).  Kills the group after @timeout_s seconds or when
 * hotcpu-ctl is interrupted (cancel.h).  Never NULL: a hook that cannot be
 * started has exit_code -1 and the reason in its output. */
HookResult *hook_spawn_run(const char *path, char **envp, guint timeout_s);
