/* libvirtd2.h: a second libvirtd on this machine, for the tests that need
 * another hypervisor host: remote URIs and live migration.
 *
 * It runs in a mount and UTS namespace of its own (unshare -m -u), with
 * its own host name (E2E_LIBVIRTD2_HOSTNAME, what virConnectGetHostname
 * answers there), with tmpfs over
 * /run, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt, and a
 * copy of /etc/libvirt that makes it listen on TCP 127.0.0.1 (no auth, no
 * TLS) on a free port, with its own host UUID and migration ports.  Its
 * sockets and channel paths are invisible from here: exactly what a remote
 * host looks like to hotcpu-ctl.  Started and stopped by the tests that need
 * it; a dead run's instance is stopped by the next run (pid files in its run
 * folder).  Facts behind this: ../../../shared/PLATFORM.md.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* The second libvirtd's host name: with a dot, so that libvirt takes it as
 * it is (no DNS lookup). */
#define E2E_LIBVIRTD2_HOSTNAME "hotcpu-e2e-host2.test"

typedef struct {
    char *dir;          /* RUNDIR/libvirtd2: config, pid files, logs */
    char *hostname;     /* E2E_LIBVIRTD2_HOSTNAME */
    guint tcp_port;     /* libvirtd's listen port */
    guint mig_port;     /* QEMU's incoming migration port */
    char *uri;          /* qemu+tcp://127.0.0.1:PORT/system */
    char *migrate_uri;  /* tcp://127.0.0.1:MIG_PORT */
    virConnectPtr conn; /* to it */
} E2eLibvirtd;

/* Starts the second libvirtd under the run folder @rundir and connects to
 * it (within 20 s). */
E2eLibvirtd *e2e_libvirtd2_start(const char *rundir, GError **error);
/* Destroys its domains, stops it and its virtlogd.  Accepts NULL. */
void e2e_libvirtd2_stop(E2eLibvirtd *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(E2eLibvirtd, e2e_libvirtd2_stop)

/* Kills the second libvirtd (SIGKILL, as a crash would) and starts it again
 * in the same namespace (its QEMUs run on), then connects anew: d->conn is
 * a new connection.  With @pause_ms, waits that long between the two. */
gboolean e2e_libvirtd2_restart(E2eLibvirtd *d, guint pause_ms, GError **error);

/* Stops the second libvirtd a dead run left in @rundir, if any. */
void e2e_libvirtd2_reap(const char *rundir);
