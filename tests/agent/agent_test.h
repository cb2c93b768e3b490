/* agent_test.h: helpers shared by the hotcpu-agent tests. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cunit_runner.h"

/* Suites (unit). */
void register_plan_suite(void);
void register_apply_suite(void);
void register_uevent_suite(void);
void register_channel_suite(void);
void register_config_suite(void);
void register_writer_suite(void);
void register_load_suite(void);
/* Suites (integration: spawn the real agent). */
void register_commands_suite(void);
void register_badinput_suite(void);
void register_stream_suite(void);
void register_hotplug_suite(void);
void register_idle_suite(void);
void register_memory_suite(void);
void register_load_agent_suite(void);

/* ---- the real agent on fake trees ------------------------------------- */

typedef struct {
    char *dir;   /* temp dir holding the sockets and config */
    char *sysfs; /* the fake tree (owned by the caller) */
    char *sock;  /* --listen */
    char *usock; /* --uevent-socket */
    GPid pid;
} TestAgent;

/* Starts $HOTCPU_TEST_AGENT (prefixed by the words of
 * $HOTCPU_TEST_AGENT_WRAPPER, e.g. valgrind) with --listen, --sysfs-root
 * @sysfs, --uevent-socket, --config (an empty file unless @config_text) and
 * @extra_args; waits until it answers.  Aborts the test program when it
 * cannot be started. */
TestAgent *test_agent_start(const char *sysfs, const char *config_text,
                            const char *const *extra_args);
/* SIGTERM, wait, and return the exit status (0 = clean). */
int test_agent_stop(TestAgent *agent);

/* Sends one datagram to the agent's uevent socket. */
void test_agent_uevent(TestAgent *agent, const char *action, guint cpu, guint64 seqnum);

/* Every line a RawClient reads must parse with the host's own parser
 * (proto_parse_message), or the test fails.  A test may set this to let
 * lines over PROTO_MAX_LINE pass (json-glib still parses them): a topology
 * of more than about 600 CPUs does not fit in the contract's 64 KiB line. */
extern gboolean raw_allow_long_lines;

/* A raw protocol client: bytes in, parsed messages out. */
typedef struct {
    int fd;
    GString *buf;
    GQueue replies; /* JsonNode* */
    GQueue events;  /* JsonNode* */
} RawClient;

RawClient *raw_connect(TestAgent *agent);
void raw_free(RawClient *client);
void raw_send(RawClient *client, const void *data, gsize len);
void raw_send_str(RawClient *client, const char *line);
/* Next reply (return or error), skipping and keeping events; NULL on
 * timeout or EOF. */
JsonNode *raw_reply(RawClient *client, guint timeout_ms);
/* Next event; NULL on timeout or EOF. */
JsonNode *raw_event(RawClient *client, guint timeout_ms);
/* Sends @line and returns the reply. */
JsonNode *raw_call(RawClient *client, const char *line);
/* The error class of a reply, or NULL when it is a return. */
const char *reply_error_class(JsonNode *reply);
const char *reply_error_desc(JsonNode *reply);
/* The "return" object of a reply, or NULL. */
JsonObject *reply_return(JsonNode *reply);

/* Writes @contents to @dir/@name. */
void write_text(const char *dir, const char *name, const char *contents);
