/* virt_util.h: g_autoptr cleanups for libvirt's public types, as virsh's
 * virsh-util.h defines them, and small wrappers around libvirt's error
 * reporting.
 *
 *   g_autoptr(virConnect) conn = virConnectOpen(uri);
 *   g_autoptr(virDomain) dom = virDomainLookupByName(conn, name);
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static inline void
virt_connect_close(virConnectPtr conn)
{
    if (conn)
        virConnectClose(conn);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virt_connect_close)

static inline void
virt_domain_free(virDomainPtr dom)
{
    if (dom)
        virDomainFree(dom);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virt_domain_free)

/* libvirt's last error text, never NULL ("unknown error" when none).  The
 * string belongs to libvirt and lives until the next libvirt call. */
static inline const char *
virt_last_error(void)
{
    const char *msg = virGetLastErrorMessage();
    return msg ? msg : "unknown error";
}

/* The code of libvirt's last error (virErrorNumber), VIR_ERR_OK if none. */
static inline int
virt_last_error_code(void)
{
    virErrorPtr err = virGetLastError();
    return err ? err->code : VIR_ERR_OK;
}
