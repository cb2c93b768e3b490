/* hook_runner.h: runs the VDSM-style hook chains around a vCPU change.
 *
 * Roots, in order: /etc/hotcpu/hooks then ${libexecdir}/hotcpu/hooks, or the
 * one folder from --hooks-dir / $HOTCPU_HOOKS_DIR.  Under each root the
 * folder before_set_num_of_cpus/ or after_set_num_of_cpus/ holds
 * executables, run in lexical order (all of the first root's, then the
 * next's) with the contract's environment and nothing else of ours: the
 * HookEnv variables, the domain's custom properties (checked by hook_env.c,
 * so they never override the others), and PATH (a safe default when
 * unset), LANG, LC_* and TZ from the caller.  Exit 0 ok; 1 failed, go on; 2
 * failed, stop the chain; anything else counts as 1.  A hook that outlives
 * its timeout gets its whole process group killed and has failed.  A hook
 * file or folder (the root, or the phase folder) writable by group or others,
 * or owned by anyone but root or the user running hotcpu-ctl, is refused
 * (failed, not run), and so is a hook that someone else could replace
 * through a folder on its path (trusted_path_reason in trusted_dir.h).
 * Each hook is started by its path, ROOT/PHASE/NAME, as VDSM starts hooks:
 * a script's $0 is that path.
 */
#pragma once

#include "config.h"

#include <glib.h>
#include <json-glib/json-glib.h>

/* The administrator's root; the packaged hooks' root is
 * HOTCPU_HOOKS_LIBEXEC_DIR. */
#define HOOKS_ETC_DIR HOTCPU_ETC_DIR "/hooks"
/* Seconds a hook may run before it is killed (the contract's default). */
#define HOOK_DEFAULT_TIMEOUT_S 30

typedef enum {
    HOOK_PHASE_BEFORE, /* before_set_num_of_cpus */
    HOOK_PHASE_AFTER,  /* after_set_num_of_cpus */
} HookPhase;

typedef struct {
    const char *domxml_path;       /* _hook_domxml: before hooks the live XML before the
                                      change, after hooks the XML after it */
    const char *vm_id;             /* vmId */
    const char *vm_name;           /* vmName */
    guint number_of_cpus;          /* numberOfCpus */
    guint previous_number_of_cpus; /* previousNumberOfCpus */
    const char *agent_socket;      /* HOTCPU_AGENT_SOCKET, NULL or "" if none or not local */
    const char *libvirt_uri;       /* LIBVIRT_DEFAULT_URI, NULL or "" if unknown */
    const char *outcome;           /* HOTCPU_OUTCOME, after hooks only; NULL: not set */
    char **custom; /* the domain's custom properties, NAME=VALUE (hook_env.h); NULL: none */
} HookEnv;

typedef struct {
    char *path;     /* the hook file */
    gint exit_code; /* its exit status; -1 when killed, refused or not startable */
    gboolean timed_out;
    gboolean interrupted; /* killed because hotcpu-ctl got SIGINT/SIGTERM/SIGHUP */
    gboolean refused;     /* not trusted (owner, mode): not run */
    char *refusal;        /* why not, a sentence's end: "the hook X is owned by ..." */
    char *output;         /* stdout and stderr, merged, capped at 64 KiB */
    gdouble seconds;      /* wall time */
} HookResult;

void hook_result_free(HookResult *result);

/* The roots to use: @override (--hooks-dir, else $HOTCPU_HOOKS_DIR, both
 * read by main.c) if set and non-empty, else the two default roots.
 * NULL-terminated, g_strfreev. */
char **hooks_roots(const char *override);

/* Runs one phase's chain.  Appends one HookResult per hook considered to
 * @results (a GPtrArray with hook_result_free as free func).  Returns TRUE
 * when every hook exited 0 (also when there were none); FALSE when any
 * failed, with *stopped set TRUE if a hook's exit 2 stopped the chain.
 * Missing roots or phase folders are not errors. */
gboolean hooks_run(char **roots, HookPhase phase, const HookEnv *env, guint timeout_s,
                   GPtrArray *results, gboolean *stopped);

/* TRUE when a root has a hook of @phase to run or refuse: the caller can
 * skip what only hooks need (the after hooks' fresh _hook_domxml). */
gboolean hooks_any(char **roots, HookPhase phase);

/* [{"hook": path, "exit": N, "timed-out": b, "refused": b, "seconds": x,
 *   "output": text}, ...] for the audit record. */
JsonNode *hook_results_to_json(GPtrArray *results);

/* "hook /x/50_veto exited 1 (output: ...); ..." for the failed hooks of
 * @results from index @from on (g_free). */
char *hook_results_describe_failures(GPtrArray *results, guint from);

/* Writes @xml for the hooks' _hook_domxml: mode 0600 in a new private
 * folder (0700) under the temp folder.  Returns the file's path (g_free). */
char *hook_domxml_write(const char *xml, GError **error);
/* Replaces the file hook_domxml_write made at @path with @xml, at once
 * (a new file renamed over it): the after hooks' view of the domain. */
gboolean hook_domxml_replace(const char *path, const char *xml, GError **error);
/* Removes what hook_domxml_write made, the file and its folder; accepts
 * NULL. */
void hook_domxml_remove(const char *path);
