/* set_timings.h: where the wall time of one `set` goes (`set --timings`).
 *
 * The time from the process's start to the end of the run is cut into
 * stages with no gap between them: each set_timings_enter() closes the
 * stage running until then and opens the next, so the stages add up to the
 * total.  The stages:
 *
 *   start-up     the process's start (/proc/self/stat, in clock ticks of
 *                10 ms, so up to 10 ms more than the truth) until hotcpu-ctl's
 *                own code first runs: exec, the dynamic loader, the shared
 *                libraries' constructors (libvirt, glib, gnutls, libxml2)
 *   init         from there until set's first stage: main's option parsing,
 *                virInitialize, the libvirt event thread
 *   connect      opening the libvirt connection and looking up the domain
 *                (and opening the audit log)
 *   lock         the domain's lock file
 *   read-domain  state, XML, counts
 *   checks       the request against the domain, the policy, the host
 *   guest-probe  which guest agent answers (and its word on the OS)
 *   snapshot     the guest's online CPUs before the hooks
 *   before-hooks
 *   guest-offline  an unplug's offlining through the agent
 *   libvirt      virDomainSetVcpusFlags, and the convergence loop
 *   after-hooks
 *   config       the persistent definition (--config)
 *   guest-confirm  waiting for the guest to report the count
 *   audit        the audit records (attempt and result) and syslog
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

typedef enum {
    SET_STAGE_STARTUP,
    SET_STAGE_INIT,
    SET_STAGE_CONNECT,
    SET_STAGE_LOCK,
    SET_STAGE_READ_DOMAIN,
    SET_STAGE_CHECKS,
    SET_STAGE_GUEST_PROBE,
    SET_STAGE_SNAPSHOT,
    SET_STAGE_BEFORE_HOOKS,
    SET_STAGE_GUEST_OFFLINE,
    SET_STAGE_LIBVIRT,
    SET_STAGE_AFTER_HOOKS,
    SET_STAGE_CONFIG,
    SET_STAGE_GUEST_CONFIRM,
    SET_STAGE_AUDIT,
    SET_STAGE_COUNT,
} SetStage;

typedef struct {
    gint64 us[SET_STAGE_COUNT]; /* time spent in each stage */
    SetStage current;
    gint64 since; /* monotonic time the current stage was entered */
    gboolean ended;
} SetTimings;

/* "start-up", "connect", ... as in --json. */
const char *set_stage_name(SetStage stage);

/* Starts the clock at set's first stage: start-up and init are filled in
 * from the process's start and main's entry. */
void set_timings_begin(SetTimings *t);

/* Closes the running stage and opens @stage.  No-op once ended. */
void set_timings_enter(SetTimings *t, SetStage stage);

/* Closes the running stage; the timings are final. */
void set_timings_end(SetTimings *t);

/* The sum of the stages, in microseconds. */
gint64 set_timings_total_us(const SetTimings *t);

/* {"start-up": S, ..., "audit": S, "total": S}, in seconds. */
JsonObject *set_timings_to_json(const SetTimings *t);

/* The same as text, one stage a line, for the terminal. */
char *set_timings_format(const SetTimings *t);
