/* harness.h: a real guest under libvirt + QEMU for the end-to-end tests, the
 * demo and the benchmark.
 *
 * e2e_env_init() checks the machine (root, libvirt, kernel, busybox), starts
 * virtlogd/libvirtd when no libvirtd answers on qemu:///system, removes what
 * earlier runs of this harness left behind (domains named hotcpu-e2e-PID-N
 * whose PID is gone, and their /tmp/hotcpu-e2e-PID folders), builds the guest
 * image (tests/e2e/build-guest-image.sh, rebuilt only when inputs change) and
 * prepares this run's folder /tmp/hotcpu-e2e-PID with a hooks folder and an
 * audit log path.
 *
 * e2e_guest_boot() defines and starts one domain of the given topology, named
 * hotcpu-e2e-PID-N, with the agent channel, the console in a file and a
 * command shell on the second UART (see guest-init.sh); returns once the
 * shell answers and, when the image holds hotcpu-agent, the agent has opened
 * its port.  e2e_guest_free() destroys and undefines it.  Everything still
 * alive is torn down by e2e_env_cleanup(), which also runs at exit and on
 * SIGINT/SIGTERM/SIGHUP.
 *
 * Programs come from the environment (meson sets them): HOTCPU_CTL,
 * HOTCPU_AGENT, HOTCPU_HOOKS_SRC (the build's host-hooks folder),
 * HOTCPU_IMAGE_SCRIPT, HOTCPU_IMAGE_DIR, optionally HOTCPU_QEMU_GA.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define E2E_URI "qemu:///system"
#define E2E_PREFIX "hotcpu-e2e-"
#define E2E_AGENT_PORT "org.hotcpu.agent.0"
#define E2E_QGA_PORT "org.qemu.guest_agent.0"
#define E2E_QGA_IDLE_PORT "org.hotcpu.bench.qga"

typedef struct {
    char *ctl;       /* hotcpu-ctl; NULL when not built (yet) */
    char *agent;     /* hotcpu-agent; NULL when not built (yet) */
    char *qemu_ga;   /* qemu-ga for the benchmark; NULL when none */
    char *hooks_src; /* the build's host-hooks folder; may be NULL */
    char *image_dir; /* vmlinuz + initramfs.cpio.gz */
    char *rundir;    /* /tmp/hotcpu-e2e-PID */
    char *hooks_dir; /* rundir/hooks: shipped hooks + the tests' own */
    char *hook_log;  /* rundir/hooks.log, written by the recording hooks */
    char *audit_log; /* rundir/audit.log */
    gboolean started_libvirtd;
    virConnectPtr conn;
} E2eEnv;

extern E2eEnv e2e;

typedef struct {
    guint sockets, cores, threads;
    guint current, maximum;
    guint pinned;           /* pin vCPUs 0..pinned-1 (0: no <cputune>) */
    const char *pin_vcpus;  /* and these, comma-separated ("2,3"); NULL: none */
    gboolean osinfo;        /* add libosinfo metadata (debian12) */
    gboolean qga_port;      /* add org.qemu.guest_agent.0 and org.hotcpu.bench.qga too */
    gboolean no_agent;      /* keep hotcpu-agent stopped from boot on */
    guint memory_mib;       /* 0: 256 */
    gboolean boot_default;  /* no <vcpus>: libvirt's default, boot vCPUs not hot-pluggable */
    gboolean no_channel;    /* no org.hotcpu.agent.0 channel (a VM not built for hotcpu) */
    const char *vnc_passwd; /* a <graphics type='vnc'> with this password (127.0.0.1) */
    /* Boot from a disk instead of the busybox initramfs: DIR/vmlinuz,
     * DIR/initrd.img and a qcow2 overlay of DIR/rootfs.img (in the guest's
     * run folder, so tests may change the guest) as /dev/vda, root=/dev/vda
     * (build-systemd-image.sh makes them).  The image must run the tests'
     * shell on ttyS1 (guest-shell.sh).  NULL: the busybox guest. */
    const char *disk_image_dir;
    /* More kernel command line for the disk guest (e.g. "psi=0"); NULL: none. */
    const char *extra_cmdline;
    /* NUMA cells: each cell's vCPUs, cells separated by '|' ("0-1|2-3"),
     * the memory split evenly; NULL: no <numa>. */
    const char *numa_cells;
} E2eTopology;

typedef struct {
    char *name;
    char *rundir;
    virConnectPtr conn; /* its libvirtd (borrowed): e2e.conn, or a second one */
    char *uri;          /* that libvirtd's URI when not qemu:///system, else NULL */
    char *shell_sock;   /* the test shell's socket, under rundir */
    virDomainPtr dom;
    GSocketConnection *shell_conn;
    GSocket *shell;
    GString *rbuf;
    guint seq;
    char *agent_socket; /* host end of the agent channel, from the live XML */
    double boot_seconds;
    E2eTopology topo;
} E2eGuest;

typedef struct {
    int status; /* exit status; -1 when killed or not started */
    char *out;
    char *err;
    double seconds;
    /* what the program wrote was not valid UTF-8 (a NUL included): out and
     * err hold it made valid (U+FFFD), so that a failure can show it */
    gboolean invalid_utf8;
} E2eRun;

/* Monotonic seconds. */
double e2e_now(void);

gboolean e2e_env_init(GError **error);
void e2e_env_cleanup(void);
/* Keep the run folder (console logs) on failure. */
void e2e_env_keep_rundir(gboolean keep);

E2eGuest *e2e_guest_boot(const E2eTopology *topo, GError **error);
/* The same on the libvirtd behind @conn, whose URI is @uri (NULL: the
 * default one). */
E2eGuest *e2e_guest_boot_on(virConnectPtr conn, const char *uri, const E2eTopology *topo,
                            GError **error);
/* Live-migrates @g to the libvirtd behind @dst (URI @dst_uri), QEMU's
 * stream going to @migrate_uri; the destination gets its own shell socket.
 * @g then names the domain there. */
gboolean e2e_guest_migrate(E2eGuest *g, virConnectPtr dst, const char *dst_uri,
                           const char *migrate_uri, GError **error);
/* e2e_guest_boot in two steps: define the persistent domain (shut off), and
 * start it; start waits for the shell and, when the live XML has the agent
 * channel (and the agent is wanted), for the agent's port.  A guest that
 * failed to start stays defined (e2e_guest_free removes it). */
E2eGuest *e2e_guest_define(const E2eTopology *topo, GError **error);
E2eGuest *e2e_guest_define_on(virConnectPtr conn, const char *uri, const E2eTopology *topo,
                              GError **error);
gboolean e2e_guest_start(E2eGuest *g, GError **error);
void e2e_guest_free(E2eGuest *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(E2eGuest, e2e_guest_free)

/* Runs one line of shell in the guest (busybox sh, eval), stdout+stderr
 * together into *out (may be NULL; caller frees).  Returns the exit status,
 * or -1 with @error on timeout / connection trouble.  Commands that start
 * background jobs must redirect their output (the reply ends only when the
 * command's stdout closes). */
int e2e_guest_sh(E2eGuest *g, guint timeout_ms, char **out, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
/* Reads a guest file; NULL on error.  Trailing newline removed. */
char *e2e_guest_read(E2eGuest *g, const char *path);
/* The last @max_bytes of the guest's serial console (read on the host, so
 * it works while the guest hangs); for failure messages. */
char *e2e_guest_console_tail(E2eGuest *g, gsize max_bytes);
/* Counts of /sys/devices/system/cpu/{online,present}; -1 on error. */
int e2e_guest_online(E2eGuest *g);
int e2e_guest_present(E2eGuest *g);
/* Waits up to @timeout_ms until the guest shows @online CPUs online and
 * @present present (either -1: don't care); TRUE when reached. */
gboolean e2e_guest_wait_cpus(E2eGuest *g, int online, int present, guint timeout_ms);
/* hotcpu-agent in the guest: stop (and keep stopped) / start again. */
gboolean e2e_guest_agent_stop(E2eGuest *g);
gboolean e2e_guest_agent_start(E2eGuest *g);
/* Waits until the guest side of the agent channel is open (state='connected'
 * in the live XML). */
gboolean e2e_guest_wait_agent_port(E2eGuest *g, guint timeout_ms);

/* The host socket of the guest's virtio channel @port, from the live XML. */
char *e2e_guest_channel_path(E2eGuest *g, const char *port);

/* The QEMU process of a guest on the default libvirtd, 0 if unknown. */
pid_t e2e_guest_qemu_pid(E2eGuest *g);
/* Finds @g again on @conn (its libvirtd restarted: a new connection). */
gboolean e2e_guest_reattach(E2eGuest *g, virConnectPtr conn);

/* libvirt's view: current vCPUs (live or persistent config); -1 on error. */
int e2e_libvirt_vcpus(E2eGuest *g, gboolean live);
/* The live domain XML (caller frees). */
char *e2e_guest_xml(E2eGuest *g);

/* Runs hotcpu-ctl with the harness's hooks dir and audit log, and
 * LIBVIRT_DEFAULT_URI=qemu:///system; @argv is NULL-terminated, without the
 * program name.  Output is also echoed to stderr when verbose. */
E2eRun *e2e_ctl(const char *const *argv);
E2eRun *e2e_ctlv(const char *first, ...) G_GNUC_NULL_TERMINATED;
/* hotcpu-ctl with --connect @g->uri first when @g is on another libvirtd. */
E2eRun *e2e_ctl_on(E2eGuest *g, const char *first, ...) G_GNUC_NULL_TERMINATED;
/* Starts hotcpu-ctl without waiting; finish with e2e_ctl_finish. */
GSubprocess *e2e_ctl_spawn(const char *const *argv, GError **error);
E2eRun *e2e_ctl_finish(GSubprocess *proc, double started);
void e2e_run_free(E2eRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(E2eRun, e2e_run_free)

/* Runs a host program (argv[0] looked up in PATH), like e2e_ctl. */
E2eRun *e2e_host_run(const char *const *argv);

void e2e_set_verbose(gboolean verbose);
gboolean e2e_verbose(void);
