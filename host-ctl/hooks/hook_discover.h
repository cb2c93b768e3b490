/* hook_discover.h: the hooks of a phase folder and whether each may run
 * (owner, mode, every folder on its path: hook_runner.h's header).  Used
 * by hook_runner.c only. */
#pragma once

#include "hook_runner.h"

#include <sys/stat.h>

/* "before_set_num_of_cpus" or "after_set_num_of_cpus". */
const char *hook_phase_folder(HookPhase phase);

/* Opens the phase folder @dir of @root (both followed if they are links)
 * and checks both.  -1 when there is no such folder (the normal case);
 * else its descriptor (the caller's to close), with *@refusal set when its
 * hooks must not run. */
int hook_open_phase_dir(const char *root, HookPhase phase, const char *dir, char **refusal);

/* The hook file names in @dir_fd, in strcmp order (g_ptr_array_unref). */
GPtrArray *hook_list(int dir_fd);

/* Checks hook @name of @dir_fd, at @path: the file, the folder of a
 * link's target, every folder on @path.  0 when it may run, else -1 with
 * *@refusal set.  *@checked is the file that was checked. */
int hook_check(int dir_fd, const char *name, const char *path, struct stat *checked,
               char **refusal);

/* NULL when @path still names the file checked as @checked; else why not
 * (g_free). */
char *hook_changed_reason(const char *path, const struct stat *checked);
