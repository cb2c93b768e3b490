/* hook_front.c: what is installed as <phase>/50_hotcpu_agent.
 *
 * Most runs of a shipped hook have nothing to do: the before hook acts only
 * on an unplug, the after hook only on a plug.  The full hook
 * (hotcpu_agent_hook.c) links libvirt, whose ~60 libraries take ~0.1 s to
 * load before main() can even look at the counts.  This front links libc
 * alone: it decides from numberOfCpus and previousNumberOfCpus whether the
 * guest is needed, exits 0 at once when it is not, and otherwise execs the
 * full hook of its phase with the same argv and environment, so the hook
 * contract (variables, exit codes, $0) is the full hook's.  Anything it does
 * not understand (arguments, a missing or malformed count) goes to the full
 * hook too, which explains the problem in its own words.
 *
 * The full hook lives one folder up, in the hooks root beside the phase
 * folders (the runner reads only the phase folders): found from
 * /proc/self/exe, so the build tree and a copied hooks root work as the
 * installed one does; else in the installed hooks root.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpulist.h" /* CPULIST_MAX_CPUS only: nothing of glib is linked */

#if defined(HOTCPU_HOOK_BEFORE) == defined(HOTCPU_HOOK_AFTER)
#error "define exactly one of HOTCPU_HOOK_BEFORE and HOTCPU_HOOK_AFTER"
#endif

#ifdef HOTCPU_HOOK_BEFORE
#define FULL_HOOK "hotcpu-agent-hook-before"
#define HOOK_NAME "before_set_num_of_cpus/50_hotcpu_agent"
#else
#define FULL_HOOK "hotcpu-agent-hook-after"
#define HOOK_NAME "after_set_num_of_cpus/50_hotcpu_agent"
#endif

/* The count in @name if it is decimal digits within 1..CPULIST_MAX_CPUS,
 * else 0: the full hook then says what is wrong with it. */
static unsigned long
env_count(const char *name)
{
    const char *text = getenv(name);
    size_t len = text ? strlen(text) : 0;
    unsigned long value;

    if (len == 0 || len > 9 || strspn(text, "0123456789") != len)
        return 0;
    value = strtoul(text, NULL, 10);
    return value <= CPULIST_MAX_CPUS ? value : 0;
}

/* Whether this phase has work: the same test as the full hook's
 * wants_guest(), which stays the authority when the counts are valid. */
static int
has_work(unsigned long count, unsigned long previous)
{
#ifdef HOTCPU_HOOK_BEFORE
    return count < previous;
#else
    return count > previous;
#endif
}

/* Writes the path of the full hook beside our own phase folder into @buf;
 * 0 on success. */
static int
sibling_full_hook(char *buf, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n <= 0)
        return -1;
    self[n] = '\0';
    /* strip "/50_hotcpu_agent", then "/<phase>" */
    for (int i = 0; i < 2; i++) {
        if ((slash = strrchr(self, '/')) == NULL)
            return -1;
        *slash = '\0';
    }
    if (snprintf(buf, size, "%s/%s", self, FULL_HOOK) >= (int)size)
        return -1;
    return access(buf, X_OK);
}

int
main(int argc, char **argv)
{
    unsigned long count = env_count("numberOfCpus");
    unsigned long previous = env_count("previousNumberOfCpus");
    char full[PATH_MAX];
    const char *path = full;

    if (argc == 1 && count > 0 && previous > 0 && !has_work(count, previous))
        return 0;
    if (sibling_full_hook(full, sizeof(full)) != 0)
        path = HOTCPU_HOOKS_LIBEXEC_DIR "/" FULL_HOOK;
    execv(path, argv);
    fprintf(stderr,
            "%s: cannot run the full hook %s: %s; the guest's side of the vCPU change "
            "is not done.\n",
            HOOK_NAME, path, strerror(errno));
    return 1;
}
