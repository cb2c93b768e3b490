/* ctl_util.c: the libvirt helpers every hotcpu-ctl command uses. */
#include "ctl_util.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "virt_channel.h"
#include "virt_events.h"

/* Finds DOMAIN as virsh does: by id, by UUID, by name.  NULL (libvirt's
 * error cleared) when none. */
static virDomainPtr
lookup_domain(virConnectPtr conn, const char *name)
{
    virDomainPtr dom = NULL;
    guint64 id;
    gsize len = strlen(name);

    if (g_ascii_string_to_unsigned(name, 10, 0, G_MAXINT, &id, NULL))
        dom = virDomainLookupByID(conn, (int)id);
    if (!dom && (len == VIR_UUID_STRING_BUFLEN - 1 || len == 2 * VIR_UUID_BUFLEN))
        dom = virDomainLookupByUUIDString(conn, name);
    if (!dom)
        dom = virDomainLookupByName(conn, name);
    if (!dom)
        virResetLastError();
    return dom;
}

virDomainPtr
ctl_open_domain(CtlContext *ctx, const char *name, gboolean read_only, virConnectPtr *conn_out,
                int *exit_code, GError **error)
{
    g_autoptr(virConnect) conn
        = read_only ? virConnectOpenReadOnly(ctx->uri) : virConnectOpen(ctx->uri);
    virDomainPtr dom;

    if (!conn) {
        *exit_code = CTL_EXIT_HYPERVISOR;
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "failed to connect to the hypervisor%s%s%s: %s", ctx->uri ? " '" : "",
                    ctx->uri ? ctx->uri : "", ctx->uri ? "'" : "", virt_last_error());
        return NULL;
    }
    if (!(dom = lookup_domain(conn, name))) {
        *exit_code = CTL_EXIT_REFUSED;
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "domain '%s' not found", name);
        return NULL;
    }
    *conn_out = g_steal_pointer(&conn);
    return dom;
}

virDomainPtr
ctl_reopen_domain(CtlContext *ctx, const char *uuid, virConnectPtr *conn_out, GError **error)
{
    int rc = 0;

    virt_events_start();
    return ctl_open_domain(ctx, uuid, FALSE, conn_out, &rc, error);
}

gboolean
ctl_vcpu_counts(virDomainPtr dom, gboolean live, int *cur_out, int *max_out, GError **error)
{
    /* Taken first: virDomainGetName resets libvirt's last error. */
    const char *name = virDomainGetName(dom);
    unsigned int flags = live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG;
    int cur = virDomainGetVcpusFlags(dom, flags);
    /* The reason is read right after the call that failed: the next call
     * resets libvirt's last error. */
    g_autofree char *why = cur < 0 ? g_strdup(virt_last_error()) : NULL;
    int max = cur < 0 ? -1 : virDomainGetVcpusFlags(dom, flags | VIR_DOMAIN_VCPU_MAXIMUM);

    if (cur < 0 || max < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "cannot read the %svCPU counts of domain '%s': %s", live ? "" : "persistent ",
                    name, why != NULL ? why : virt_last_error());
        return FALSE;
    }
    *cur_out = cur;
    *max_out = max;
    return TRUE;
}

DomainInfo *
ctl_domain_info(virDomainPtr dom, char **xml_out, GError **error)
{
    /* Taken first: virDomainGetName resets libvirt's last error. */
    const char *name = virDomainGetName(dom);
    g_autofree char *xml = virDomainGetXMLDesc(dom, 0);
    DomainInfo *info;

    if (!xml) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read the XML of domain '%s': %s",
                    name, virt_last_error());
        return NULL;
    }
    info = domain_info_parse(xml, error);
    if (info && xml_out)
        *xml_out = g_steal_pointer(&xml);
    return info;
}

const char *
ctl_local_agent_socket(virConnectPtr conn, const DomainInfo *info)
{
    return info->agent_socket && virt_connection_is_local(conn) ? info->agent_socket : NULL;
}

Guest *
ctl_guest_new(CtlContext *ctx, virConnectPtr conn, virDomainPtr dom, const DomainInfo *info)
{
    return guest_new(dom, info->has_agent_channel, ctl_local_agent_socket(conn, info),
                     ctx->guest_agent);
}

void
ctl_domain_clear(CtlDomain *d)
{
    guest_free(d->guest);
    domain_info_free(d->info);
    if (d->dom)
        virDomainFree(d->dom);
    if (d->conn)
        virConnectClose(d->conn);
    memset(d, 0, sizeof(*d));
}

int
ctl_domain_open(CtlContext *ctx, const CmdArgs *args, const char *need_running, CtlDomain *d)
{
    g_autoptr(GError) error = NULL;
    int rc = CTL_EXIT_OK;

    /* read-write: virDomainOpenChannel, the way to the guest agent, needs it */
    d->dom = ctl_open_domain(ctx, cmd_arg_string(args, "domain"), FALSE, &d->conn, &rc, &error);
    if (!d->dom)
        return output_fail_error(ctx->out, rc, NULL, error);
    d->name = virDomainGetName(d->dom);
    d->active = virDomainIsActive(d->dom) == 1;
    if (!d->active) {
        if (!need_running)
            return CTL_EXIT_OK;
        return output_fail(ctx->out, CTL_EXIT_REFUSED, NULL, "domain '%s' is not running%s%s",
                           d->name, *need_running ? ": " : "", need_running);
    }
    if (!(d->info = ctl_domain_info(d->dom, NULL, &error)))
        return output_fail_error(ctx->out, CTL_EXIT_HYPERVISOR, NULL, error);
    d->guest = ctl_guest_new(ctx, d->conn, d->dom, d->info);
    return CTL_EXIT_OK;
}

guint
ctl_host_cpus(virConnectPtr conn)
{
    virNodeInfo ni;

    if (virNodeGetInfo(conn, &ni) < 0) {
        virResetLastError();
        return 0;
    }
    return ni.cpus;
}

static void
quiet_libvirt(void *opaque, virErrorPtr err)
{
    /* Errors are read once with virGetLastErrorMessage and reported by the
     * command in its own words. */
}

/* --verbose: debug messages as "hotcpu-ctl: TEXT" on stderr; others as
 * GLib prints them. */
static GLogWriterOutput
verbose_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
    if (!(level & G_LOG_LEVEL_DEBUG))
        return g_log_writer_default(level, fields, n_fields, data);
    for (gsize i = 0; i < n_fields; i++)
        if (strcmp(fields[i].key, "MESSAGE") == 0)
            fprintf(stderr, "hotcpu-ctl: %s\n", (const char *)fields[i].value);
    return G_LOG_WRITER_HANDLED;
}

void
ctl_logging_setup(gboolean verbose)
{
    if (verbose)
        g_log_set_writer_func(verbose_writer, NULL, NULL);
    virSetErrorFunc(NULL, quiet_libvirt);
}
