/* checks.h: what the end-to-end tests assert with, and how they read
 * hotcpu-ctl's answers.  Every check prints what failed and why, then
 * records a CUnit failure. */
#pragma once

#include <CUnit/CUnit.h>
#include <json-glib/json-glib.h>

#include "cunit_runner.h"
#include "harness.h"

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        gboolean ok_ = (cond);                                                                     \
        if (!ok_) {                                                                                \
            g_autofree char *m_ = g_strdup_printf(__VA_ARGS__);                                    \
            g_printerr("    FAILED %s:%d: %s\n", __FILE__, __LINE__, m_);                          \
        }                                                                                          \
        CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE);                     \
    } while (0)

#define CHECK_FATAL(cond, ...)                                                                     \
    do {                                                                                           \
        gboolean ok_ = (cond);                                                                     \
        if (!ok_) {                                                                                \
            g_autofree char *m_ = g_strdup_printf(__VA_ARGS__);                                    \
            g_printerr("    FAILED %s:%d: %s\n", __FILE__, __LINE__, m_);                          \
        }                                                                                          \
        CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_TRUE);                      \
    } while (0)

/* @text parsed as JSON, or NULL. */
JsonNode *e2e_parse_json(const char *text);
/* The first integer member named @key anywhere in @node (depth first). */
gboolean e2e_json_find_int(JsonNode *node, const char *key, gint64 *out);
/* The first integer member @key anywhere in @text's JSON, or @def. */
gint64 e2e_json_int(const char *text, const char *key, gint64 def);
/* The string member @key of @text's top-level object, or NULL (g_free). */
char *e2e_json_string(const char *text, const char *key);

/* No crash, no glib critical, no assertion in its stderr; its output
 * valid UTF-8. */
gboolean e2e_clean_exit(const E2eRun *r);

/* @n busy loops in the guest's shell (0: stop them all), their pids in the
 * guest's /tmp/busy.pids; FALSE when the guest's shell fails. */
gboolean e2e_guest_busy_loops(E2eGuest *g, guint n, guint timeout_ms);

/* The last audit record for domain @dom, or NULL. */
JsonNode *e2e_last_audit(const char *dom);
/* The audit log's size now: where the records of what follows begin. */
gsize e2e_audit_size(void);
/* The final records (not the "attempt" ones) for domain @dom written from
 * byte @from of the audit log on, in order: JsonObject *s. */
GPtrArray *e2e_audit_since(gsize from, const char *dom);

/* hotcpu-ctl get and topology, libvirt and the guest all say @n vCPUs, all
 * present and online in the guest (after giving it @settle_ms). */
void e2e_check_all_agree(E2eGuest *g, int n, guint settle_ms, const char *when);

/* hotcpu-ctl --json set G N (on G's libvirtd) exits @want_exit, cleanly;
 * returns the run. */
E2eRun *e2e_check_set(E2eGuest *g, guint n, int want_exit);

/* What an e2e program's main() does: the environment (its failure kept in
 * *@env_error, for the tests' environment check), @suites, the run folder
 * kept on failure with HOTCPU_E2E_KEEP, @before_cleanup (the program's own
 * guests; may be NULL), the environment torn down.  Returns the exit
 * status: 1 when anything failed. */
int e2e_run_program(int argc, char **argv, const char *program, const CunitSuite *suites,
                    char **env_error, void (*before_cleanup)(void));
