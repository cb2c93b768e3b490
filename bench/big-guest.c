/* big-guest.c: what hotcpu-ctl and the shipped hook take on the largest
 * guests (issue 21): wall time and peak RSS of topology, get, guest-set,
 * the after hook and watch, against libvirt's test driver and the real
 * hotcpu-agent on fake sysfs trees of 4096 CPUs (what QEMU 10 runs on q35)
 * and 8192 (the agent's most).  Nothing is asserted: tests/ctl/test_ctl_big.c
 * checks what they do; this prints what it costs.
 *
 *   meson test -C build --benchmark big-guest --verbose
 *   big-guest [N...]     (default 4096 8192; the environment of ctl-big)
 *
 * Each program is started here and waited for with wait4(), so its own
 * peak RSS is read, not the largest of every child so far.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_fixture.h"
#include "fake_sysfs.h"

typedef struct {
    double seconds;
    long rss_kb;
    int status;
} Cost;

/* Runs @argv with @env added, output to /dev/null; @stop_after_s > 0: a
 * SIGTERM then (watch). */
static Cost
run_measured(char *const *argv, const char *const *env, double stop_after_s)
{
    Cost c = { 0 };
    struct rusage ru;
    gint64 start = g_get_monotonic_time();
    int status = 0;
    pid_t pid = fork();

    g_assert(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(null, 2);
        for (guint i = 0; env && env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    if (stop_after_s > 0) {
        g_usleep((gulong)(stop_after_s * G_USEC_PER_SEC));
        kill(pid, SIGTERM);
    }
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    c.seconds = (g_get_monotonic_time() - start) / 1e6;
    c.rss_kb = ru.ru_maxrss;
    c.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return c;
}

static void
print_cost(guint n, const char *what, Cost c)
{
    printf("%5u CPUs  %-28s %6.2f s  %6ld MiB peak RSS  exit %d\n", n, what, c.seconds,
           c.rss_kb / 1024, c.status);
    fflush(stdout);
}

static void
ctl_cost(Fx *fx, guint n, const char *what, const char *const *args, double stop_after_s)
{
    g_autoptr(GPtrArray) argv = fx_argv(fx, args);
    const char *env[] = { "HOTCPU_LOCK_DIR", fx->lock, NULL, NULL };

    unsetenv("LIBVIRT_DEFAULT_URI");
    print_cost(n, what, run_measured((char *const *)argv->pdata, env, stop_after_s));
}

static void
bench(guint n)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(n, n - 2, n));
    Dom d = { .name = "big", .current = n - 2, .max = n, .agent_socket = a->socket };
    g_autofree char *uri = g_strdup_printf("test://%s", fx->node);
    g_autofree char *count = g_strdup_printf("%u", n), *previous = g_strdup_printf("%u", n - 1);
    g_autofree char *one_less = g_strdup_printf("%u", n - 1);
    const char *hook = g_getenv("HOTCPU_TEST_AFTER_HOOK");

    fx_domain(fx, &d);
    ctl_cost(fx, n, "topology", (const char *const[]){ "topology", "big", NULL }, 0);
    ctl_cost(fx, n, "--json topology", (const char *const[]){ "--json", "topology", "big", NULL },
             0);
    ctl_cost(fx, n, "get", (const char *const[]){ "get", "big", NULL }, 0);
    ctl_cost(fx, n, "guest-set (one more online)",
             (const char *const[]){ "guest-set", "big", one_less, NULL }, 0);
    if (hook) {
        char *argv[] = { (char *)hook, NULL };
        const char *env[] = { "numberOfCpus",
                              count,
                              "previousNumberOfCpus",
                              previous,
                              "vmName",
                              "big",
                              "vmId",
                              UUID1,
                              "LIBVIRT_DEFAULT_URI",
                              uri,
                              "HOTCPU_AGENT_SOCKET",
                              a->socket,
                              NULL,
                              NULL };

        print_cost(n, "after hook (one more online)", run_measured(argv, env, 0));
    }
    ctl_cost(fx, n, "watch (3 s, then SIGTERM)", (const char *const[]){ "watch", "big", NULL },
             3.0);
    agent_stop(a);
    fx_free(fx);
}

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    printf("hotcpu-ctl on the test driver, hotcpu-agent on a fake tree (%d cores)\n",
           (int)sysconf(_SC_NPROCESSORS_ONLN));
    if (argc < 2) {
        bench(4096);
        bench(8192);
    }
    for (int i = 1; i < argc; i++)
        bench((guint)g_ascii_strtoull(argv[i], NULL, 10));
    return 0;
}
