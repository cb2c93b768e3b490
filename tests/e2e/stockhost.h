/* stockhost.h: a "stock" Debian 12 hypervisor host on this machine:
 * Debian 12's own libvirtd 9.0 and QEMU 7.2 (not the backports this
 * machine runs), for the tests that prove hotcpu's host floor.
 *
 * Its root is a bookworm tree built once by build-stockhost-root.sh and
 * cached outside the build folder ($HOTCPU_TEST_CACHE, default
 * /var/cache/hotcpu-tests).  Its virtlogd and libvirtd run chrooted there,
 * in a mount and a network namespace of their own (the root bind-mounted
 * onto itself, else libvirtd refuses to start), with the run folder's
 * stockhost/{run,lib,cache,log} mounted over /run, /var/lib/libvirt,
 * /var/cache/libvirt and /var/log/libvirt (the cached root stays as
 * built), and the source, build and run folders at their own paths (the
 * guest image, hotcpu-ctl, hooks and audit log are where the harness
 * says).  Facts behind this: ../../../shared/PLATFORM.md.
 *
 * Two ways in:
 *   - hotcpu-ctl inside the namespace (ctl_wrapper: nsenter into the
 *     daemon's namespaces and root), with the root's libvirt0 9.0 and
 *     qemu:///system: the stock host as its administrator uses it;
 *   - from this machine, through libvirtd's socket (uri, qemu+unix:// with
 *     ?socket=): a remote-driver URI, libvirt 11.3 client to a 9.0 daemon.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

typedef struct {
    char *root;                    /* the bookworm root (cached) */
    char *dir;                     /* RUNDIR/stockhost: mounted folders, pid files */
    char *uri;                     /* qemu+unix:///system?socket=DIR/run/libvirt/libvirt-sock */
    char *ctl_wrapper;             /* DIR/hotcpu-ctl: hotcpu-ctl run inside, on qemu:///system */
    unsigned long libvirt_version; /* the daemon's, 9000000 for 9.0.0 */
    unsigned long qemu_version;    /* 7002022 for 7.2.22 */
    virConnectPtr conn;            /* to it, through uri */
} E2eStockHost;

/* Builds (or finds cached) the root with @build_script, starts the daemons
 * under @rundir and connects (within 20 s); hotcpu-ctl inside runs
 * @ctl. */
E2eStockHost *e2e_stockhost_start(const char *build_script, const char *rundir, const char *ctl,
                                  GError **error);
/* Destroys its domains, stops the daemons and whatever runs in the root.
 * Accepts NULL. */
void e2e_stockhost_stop(E2eStockHost *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(E2eStockHost, e2e_stockhost_stop)

/* The last @max_bytes of QEMU's log of domain @name (libvirt's
 * /var/log/libvirt/qemu/NAME.log in the root), for failure messages. */
char *e2e_stockhost_qemu_log(E2eStockHost *s, const char *name, gsize max_bytes);

/* Stops libvirtd (SIGTERM: QEMU runs on) and starts it again in the same
 * namespace; it reconnects to its QEMUs and re-reads their vCPUs.  s->conn
 * is a new connection. */
gboolean e2e_stockhost_restart_libvirtd(E2eStockHost *s, GError **error);
