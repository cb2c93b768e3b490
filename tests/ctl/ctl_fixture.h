/* ctl_fixture.h: what the hotcpu-ctl integration tests share: a temp folder
 * per test with libvirt's test driver node XML, the audit log, hooks root,
 * policy and lock folder; a run of the binary with the fixture's options;
 * the real agent on a fake sysfs tree.
 *
 * Meson passes the binaries: HOTCPU_TEST_CTL, HOTCPU_TEST_AGENT,
 * HOTCPU_TEST_MATRIX, HOTCPU_TEST_MOCK (fx_init reads them).
 */
#pragma once

#include <CUnit/Basic.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

extern const char *ctl_bin, *agent_bin, *matrix_path, *mock_lib;
/* qga_mock.c as an LD_PRELOAD module (HOTCPU_TEST_QGA_MOCK); NULL when the
 * program was not given it. */
extern const char *qga_mock_lib;

#define UUID1 "6695eb01-f6a4-8304-79aa-97f2502e193f"

typedef struct {
    char *dir;
    char *node;  /* node.xml */
    char *audit; /* audit.log (in a folder that does not exist yet) */
    char *hooks; /* hooks root */
    char *policy;
    char *lock;
    const char *mock; /* HOTCPU_MOCK_SETVCPUS, NULL: no shim */
    char *mock_log;   /* HOTCPU_MOCK_SETVCPUS_LOG: a line per live unplug asked */
    char *qga_state;  /* HOTCPU_MOCK_QGA_STATE (qga_mock.c), NULL: no qemu-ga */
    /* last run */
    int status;
    char *out;
    char *err;
    JsonObject *json;
} Fx;

typedef struct {
    const char *name;
    const char *uuid;
    guint current, max;
    guint sockets, cores, threads; /* 0: no <topology> */
    const char *pins;              /* "1,3": vCPUs with a <vcpupin> */
    const char *os_id;
    const char *agent_socket; /* channel with this bind path */
    const char *devices;      /* more XML inside <devices>, or NULL */
    int runstate;             /* 0: running; else <test:runstate> */
    gboolean transient;
    const char *vcpus;    /* a <vcpus> element, verbatim */
    const char *arch;     /* NULL: x86_64 */
    const char *metadata; /* more XML inside <metadata>, or NULL */
} Dom;

typedef struct {
    char *tree;
    char *socket;
    GSubprocess *proc;
} Agent;

/* Reads the binaries' paths from the environment; FALSE (with a message)
 * when one is missing. */
gboolean fx_init(void);

Fx *fx_new(void);
void fx_clear_run(Fx *fx);
void fx_free(Fx *fx);
/* Writes the node XML with the one domain @d. */
void fx_domain(Fx *fx, const Dom *d);
/* The <domain> XML of @d (g_free). */
char *dom_xml(const Dom *d);
/* Runs hotcpu-ctl with the fixture's global options and the NULL-terminated
 * arguments; parses stdout as JSON when it starts with '{'.  Returns the
 * exit status (-1: killed). */
int fx_run_v(Fx *fx, const char *const *args);
#define fx_run(fx, ...) fx_run_v((fx), (const char *const[]){ __VA_ARGS__, NULL })
/* The argv fx_run runs (NULL-terminated; g_ptr_array_unref), for a
 * program that runs it itself (bench/big-guest.c). */
GPtrArray *fx_argv(Fx *fx, const char *const *args);
/* The same in two steps: start it, then wait for it and read its output. */
GSubprocess *fx_spawn_v(Fx *fx, const char *const *args);
int fx_finish(Fx *fx, GSubprocess *p);
/* Copies the build's shipped hook 50_hotcpu_agent of @phase into the
 * fixture's hooks root (HOTCPU_TEST_HOOKS_ROOT: the build's host-hooks). */
void fx_install_shipped_hook(Fx *fx, const char *phase);
/* The audit log's lines, parsed (a line that does not parse fails the
 * test). */
GPtrArray *fx_audit_all(Fx *fx);
/* The same without the "attempt" records: one record per run. */
GPtrArray *fx_audit(Fx *fx);
/* The last audit record (asserting there are exactly @n). */
JsonObject *fx_audit_last(Fx *fx, guint n);
/* TRUE when stderr of the last run holds @needle; says so on stderr if not. */
gboolean err_has(Fx *fx, const char *needle);
/* Writes HOOKS/@phase/@name holding @script, mode 0755. */
void write_hook(Fx *fx, const char *phase, const char *name, const char *script);

/* The real agent, --listen on FX/agent.sock, on @tree (taken). */
Agent *agent_start(Fx *fx, char *tree);
void agent_stop(Agent *a);
