/* hotcpu-demo: hotcpu on a real guest, in under a minute.
 *
 * Boots a small Linux guest (the host's Debian kernel, busybox and
 * hotcpu-agent) under libvirt + QEMU with 1 of 4 vCPUs, then shows
 * `hotcpu-ctl topology`, plugs to 4 vCPUs, shows it again, unplugs to 2,
 * shows it again, prints how long each step took, and cleans up.
 * Needs root and the packages of scripts/deps.sh.
 */
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "harness.h"

static const char *domain;

static void
rule(void)
{
    printf("----------------------------------------------------------------------\n");
}

/* Runs hotcpu-ctl ARGS DOMAIN [COUNT], printing the command and its output. */
static E2eRun *
show(const char *cmd, const char *count)
{
    const char *argv[] = { cmd, domain, count, NULL };
    E2eRun *r = e2e_ctl(argv);

    printf("$ hotcpu-ctl %s %s%s%s\n", cmd, domain, count ? " " : "", count ? count : "");
    /* hotcpu-ctl warns while it works and prints the result at the end, so
     * its stderr comes first for the order a person saw it happen. */
    if (*r->err)
        fputs(r->err, stdout);
    fputs(r->out, stdout);
    if (r->status != 0)
        printf("(exit status %d)\n", r->status);
    fflush(stdout);
    return r;
}

static char *
guest_says(E2eGuest *g)
{
    g_autofree char *online = e2e_guest_read(g, "/sys/devices/system/cpu/online");
    g_autofree char *present = e2e_guest_read(g, "/sys/devices/system/cpu/present");
    return g_strdup_printf("the guest kernel itself: present %s, online %s",
                           present ? present : "?", online ? online : "?");
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    E2eTopology topo
        = { .sockets = 4, .cores = 1, .threads = 1, .current = 1, .maximum = 4, .osinfo = TRUE };
    E2eGuest *g;
    double t0, t_setup, t_boot, t_plug = 0, t_unplug = 0, t_topo = 0, t_all = e2e_now();
    int status = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    e2e_set_verbose(argc > 1 && g_str_equal(argv[1], "--verbose"));
    printf("hotcpu demo: add and remove CPUs of a running libvirt guest, with the guest's\n"
           "agent bringing them online/offline, and hooks + an audit log on the host.\n");
    rule();

    printf("Setting up: libvirtd, guest image (host kernel + busybox + hotcpu-agent) ...\n");
    t0 = e2e_now();
    if (!e2e_env_init(&error)) {
        fprintf(stderr, "hotcpu-demo: %s\n", error->message);
        return 1;
    }
    if (!e2e.ctl || !e2e.agent) {
        fprintf(stderr, "hotcpu-demo: hotcpu-ctl or hotcpu-agent is not built\n");
        return 1;
    }
    t_setup = e2e_now() - t0;

    printf("Booting a guest (QEMU, q35, 4 sockets x 1 core, 1 vCPU running of 4) ...\n");
    t0 = e2e_now();
    g = e2e_guest_boot(&topo, &error);
    if (!g) {
        fprintf(stderr, "hotcpu-demo: %s\n", error->message);
        return 1;
    }
    t_boot = e2e_now() - t0;
    domain = g->name;
    printf("Guest '%s' is up after %.1f s; hotcpu-agent runs inside it.\n", domain, t_boot);
    rule();

    {
        g_autoptr(E2eRun) r = show("topology", NULL);
        g_autofree char *s = guest_says(g);
        t_topo = r->seconds;
        printf("  (%s)\n", s);
        status |= r->status;
    }
    rule();
    {
        g_autoptr(E2eRun) r = show("set", "4");
        g_autofree char *s = guest_says(g);
        t_plug = r->seconds;
        if (r->status == 0)
            printf("  -> plugged in %.2f s: libvirt added 3 vCPUs, the agent onlined them\n"
                   "     (%s)\n",
                   t_plug, s);
        else
            printf("  -> the plug did not complete (%s)\n", s);
        status |= r->status;
    }
    {
        g_autoptr(E2eRun) r = show("topology", NULL);
        status |= r->status;
    }
    rule();
    {
        g_autoptr(E2eRun) r = show("set", "2");
        g_autofree char *s = guest_says(g);
        t_unplug = r->seconds;
        if (r->status == 0)
            printf("  -> unplugged in %.2f s: the agent offlined CPUs 3 and 2 first, then QEMU\n"
                   "     ejected them (%s)\n",
                   t_unplug, s);
        else
            printf("  -> the unplug did not complete (%s)\n", s);
        status |= r->status;
    }
    {
        g_autoptr(E2eRun) r = show("topology", NULL);
        status |= r->status;
    }
    {
        g_autoptr(E2eRun) r = show("get", NULL);
        status |= r->status;
    }
    rule();
    printf("Timings:\n"
           "  setup (libvirtd, image)   %6.2f s\n"
           "  guest boot                %6.2f s\n"
           "  topology (agent query)    %6.2f s\n"
           "  plug 1 -> 4               %6.2f s\n"
           "  unplug 4 -> 2             %6.2f s   (under TCG libvirt waits 5 s per vCPU for a\n"
           "                                       DEVICE_DELETED event QEMU never sends)\n",
           t_setup, t_boot, t_topo, t_plug, t_unplug);
    printf("Audit log of this run (one JSON record per change), in short:\n");
    {
        g_autofree char *log = NULL;
        g_auto(GStrv) lines = NULL;
        if (g_file_get_contents(e2e.audit_log, &log, NULL, NULL))
            lines = g_strsplit(log, "\n", -1);
        for (guint i = 0; lines && lines[i]; i++) {
            g_autoptr(JsonParser) p = json_parser_new();
            JsonObject *o;
            if (!*lines[i] || !json_parser_load_from_data(p, lines[i], -1, NULL)
                || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
                continue;
            o = json_node_get_object(json_parser_get_root(p));
            printf("  %s: %s %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
                   ", outcome %s, guest %s, %u hooks ran\n",
                   json_object_get_string_member_with_default(o, "time", "?"),
                   json_object_get_string_member_with_default(o, "command", "?"),
                   json_object_get_int_member_with_default(o, "previous", -1),
                   json_object_get_int_member_with_default(o, "actual", -1),
                   json_object_get_string_member_with_default(o, "outcome", "?"),
                   json_object_get_string_member_with_default(o, "guest", "?"),
                   json_object_has_member(o, "hooks")
                       ? json_array_get_length(json_object_get_array_member(o, "hooks"))
                       : 0);
        }
    }
    printf("Cleaning up (destroying %s) ...\n", domain);
    e2e_guest_free(g);
    e2e_env_cleanup();
    printf("Done in %.1f s%s.\n", e2e_now() - t_all,
           status ? " (some step failed, see above)" : "");
    return status ? 1 : 0;
}
