/* audit.c: the audit log and syslog. */
#include "audit.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <syslog.h>
#include <unistd.h>

#include "fd_io.h"
#include "hook_runner.h"
#include "safe_text.h"
#include "trusted_dir.h"

struct AuditLog {
    int fd;
    char *path;
};

/* Opens @name in @dir_fd for appending, never through a symlink, and only a
 * regular file or a character device (/dev/null, or /dev/full in tests). */
static int
open_log_file(int dir_fd, const char *name, const char *path, GError **error)
{
    struct stat st;
    int fd = openat(dir_fd, name,
                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK,
                    0640);
    int e = errno;

    if (fd < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    e == ELOOP ? "cannot open the audit log %s: it is a symbolic link"
                               : "cannot open the audit log %s: %s",
                    path, g_strerror(e));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
        close(fd);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "the audit log %s is not a regular file", path);
        return -1;
    }
    return fd;
}

AuditLog *
audit_open(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *name = g_path_get_basename(path);
    AuditLog *log;
    int dir_fd, fd;

    if ((dir_fd = trusted_dir_open(dir, 0750, "the audit log folder", error)) < 0)
        return NULL;
    fd = open_log_file(dir_fd, name, path, error);
    close(dir_fd);
    if (fd < 0)
        return NULL;
    log = g_new0(AuditLog, 1);
    log->fd = fd;
    log->path = g_strdup(path);
    return log;
}

void
audit_close(AuditLog *log)
{
    if (!log)
        return;
    if (log->fd >= 0)
        close(log->fd);
    g_free(log->path);
    g_free(log);
}

static void
set_int_or_null(JsonObject *obj, const char *key, gint v)
{
    if (v < 0)
        json_object_set_null_member(obj, key);
    else
        json_object_set_int_member(obj, key, v);
}

JsonObject *
audit_record_to_json(const AuditRecord *rec)
{
    JsonObject *obj = json_object_new();
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *time = g_date_time_format_iso8601(now);
    struct passwd *pw = getpwuid(getuid());

    json_object_set_string_member(obj, "time", time);
    json_object_set_string_member(obj, "command", rec->command ? rec->command : "set");
    json_object_set_string_member(obj, "domain", rec->domain ? rec->domain : "");
    if (rec->uuid)
        json_object_set_string_member(obj, "uuid", rec->uuid);
    else
        json_object_set_null_member(obj, "uuid");
    json_object_set_string_member(obj, "user", pw ? pw->pw_name : "");
    /* Which controller: two on different machines driving one domain are
     * not serialized by the lock (it is per machine), but the log shows it. */
    json_object_set_string_member(obj, "host", g_get_host_name());
    if (rec->hypervisor_host)
        json_object_set_string_member(obj, "hypervisor-host", rec->hypervisor_host);
    else
        json_object_set_null_member(obj, "hypervisor-host");
    json_object_set_int_member(obj, "uid", getuid());
    if (g_getenv("SUDO_USER"))
        json_object_set_string_member(obj, "sudo-user", g_getenv("SUDO_USER"));
    set_int_or_null(obj, "previous", rec->previous);
    set_int_or_null(obj, "requested", rec->requested);
    set_int_or_null(obj, "actual", rec->actual);
    if (rec->reason)
        json_object_set_string_member(obj, "reason", rec->reason);
    json_object_set_string_member(obj, "outcome", rec->outcome);
    set_int_or_null(obj, "exit", rec->exit_code); /* null: an attempt, not ended yet */
    if (rec->error) {
        /* valid UTF-8 and one line, whatever guest text it quotes */
        g_autofree char *error = safe_text(rec->error, -1, 0);

        json_object_set_string_member(obj, "error", error);
    } else
        json_object_set_null_member(obj, "error");
    json_object_set_boolean_member(obj, "config", rec->config);
    json_object_set_boolean_member(obj, "force", rec->force);
    json_object_set_string_member(obj, "guest", rec->guest ? rec->guest : "not-checked");
    json_object_set_string_member(obj, "guest-agent", rec->guest_agent ? rec->guest_agent : "none");
    set_int_or_null(obj, "guest-online", rec->guest_online);
    set_int_or_null(obj, "guest-present", rec->guest_present);
    if (rec->reconnected)
        json_object_set_boolean_member(obj, "libvirtd-reconnected", TRUE);
    if (rec->libvirt_stale)
        json_object_set_boolean_member(obj, "libvirt-count-stale", TRUE);
    if (rec->guest_restore)
        json_object_set_string_member(obj, "guest-restore", rec->guest_restore);
    if (rec->pins)
        json_object_set_object_member(obj, "pins", json_object_ref(rec->pins));
    if (rec->pin_rule)
        json_object_set_string_member(obj, "pin-rule", rec->pin_rule);
    if (rec->node_vcpus) {
        json_object_set_int_member(obj, "node", rec->node);
        json_object_set_string_member(obj, "node-vcpus", rec->node_vcpus);
    }
    if (rec->pins_removed)
        json_object_set_object_member(obj, "pins-removed", json_object_ref(rec->pins_removed));
    if (rec->hooks)
        json_object_set_member(obj, "hooks", hook_results_to_json(rec->hooks));
    else
        json_object_set_array_member(obj, "hooks", json_array_new());
    return obj;
}

static char *
record_line(const AuditRecord *rec)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_node_take_object(node, audit_record_to_json(rec));
    json_generator_set_root(gen, node);
    text = json_generator_to_data(gen, NULL);
    return g_strconcat(text, "\n", NULL);
}

/* Appends @line whole and durable, or not at all: on a failed or short
 * write, or a failed fdatasync, the file is cut back to its size before.
 * The flock keeps another hotcpu-ctl from appending in between. */
static gboolean
append_record(AuditLog *log, const char *line, GError **error)
{
    struct stat st;
    gboolean regular = fstat(log->fd, &st) == 0 && S_ISREG(st.st_mode);
    gboolean locked = flock(log->fd, LOCK_EX) == 0;
    gboolean ok;
    int e = 0;

    if (regular && fstat(log->fd, &st) < 0) /* the size under the lock */
        regular = FALSE;
    ok = fd_write_all(log->fd, line, strlen(line)) && (!regular || fdatasync(log->fd) == 0);
    if (!ok) {
        e = errno;
        if (regular && ftruncate(log->fd, st.st_size) == 0)
            fdatasync(log->fd);
    }
    if (locked)
        flock(log->fd, LOCK_UN);
    if (!ok)
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot write the audit record to %s: %s", log->path, g_strerror(e));
    return ok;
}

gboolean
audit_write(AuditLog *log, const AuditRecord *rec, GError **error)
{
    g_autofree char *line = record_line(rec);

    return append_record(log, line, error);
}

void
audit_syslog(const AuditRecord *rec)
{
    struct passwd *pw = getpwuid(getuid());
    g_autofree char *prev
        = rec->previous >= 0 ? g_strdup_printf("%d", rec->previous) : g_strdup("?");
    g_autofree char *req
        = rec->requested >= 0 ? g_strdup_printf("%d", rec->requested) : g_strdup("?");
    g_autofree char *act = rec->actual >= 0 ? g_strdup_printf("%d", rec->actual) : g_strdup("?");
    /* One syslog line each: no newline of a quoted text may forge another. */
    g_autofree char *domain = safe_text(rec->domain ? rec->domain : "?", -1, 0);
    g_autofree char *error = rec->error ? safe_text(rec->error, -1, 0) : NULL;

    openlog("hotcpu-ctl", LOG_PID, LOG_DAEMON);
    syslog(rec->exit_code == 0 ? LOG_NOTICE : LOG_WARNING,
           "user %s: set vCPUs of domain '%s' (%s) from %s to %s: %s, now %s, exit %d%s%s",
           pw ? pw->pw_name : "?", domain, rec->uuid ? rec->uuid : "uuid unknown", prev, req,
           rec->outcome, act, rec->exit_code, error ? ": " : "", error ? error : "");
    closelog();
}
