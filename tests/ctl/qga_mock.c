/* qga_mock.c: qemu-guest-agent as libvirt shows it, for the tests, where
 * libvirt's test driver has no guest-agent calls: virDomainGetGuestVcpus,
 * virDomainSetGuestVcpus and virDomainGetGuestInfo over a state file.
 *
 * Built twice: as an LD_PRELOAD module for hotcpu-ctl and the shipped hooks,
 * and into test-guest-qga, whose own definitions then win over libvirt's.
 *
 * $HOTCPU_MOCK_QGA_STATE names the state file (unset: the real functions),
 * one "key value" a line:
 *   present LIST|libvirt   the guest's CPUs; "libvirt": vCPUs 0..N-1, N the
 *                          domain's live count (hot plug and unplug follow)
 *   online LIST            of those, online (new present CPUs come offline,
 *                          as qemu-ga leaves them)
 *   offlinable LIST|auto   "auto": every present CPU but 0
 *   os linux|windows|none  what virDomainGetGuestInfo(OS) reports
 *   mode MODE              ok; fail-cpu (changing CPU `fail` fails after the
 *                          CPUs before it, highest first, changed, as
 *                          qemu-ga's stop-at-first-error plus libvirt's
 *                          retry do); short (each call
 *                          changes only its first CPU and succeeds); stuck
 *                          (success, nothing changes); silent (the agent does
 *                          not answer); windows (guest-set-vcpus unsupported,
 *                          nothing offlinable, only running CPUs listed);
 *                          disabled (guest-set-vcpus blocked, as
 *                          qemu-ga --block-rpcs does)
 *   fail N
 * Every call to virDomainSetGuestVcpus is appended to STATE.log as
 * "set LIST STATE rc". */
#include <dlfcn.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virt_compat.h"

typedef void (*ReportFn)(int, int, const char *, const char *, size_t, const char *, ...);

typedef struct {
    guint64 present, online, offlinable;
    gboolean present_libvirt, offlinable_auto;
    char os[16], mode[16];
    int fail;
} QgaState;

static void
report(int code, const char *msg)
{
    ReportFn fn = (ReportFn)dlsym(RTLD_DEFAULT, "virReportErrorHelper");

    if (fn)
        fn(VIR_FROM_QEMU, code, __FILE__, __func__, __LINE__, "%s", msg);
}

static guint64
mask_parse(const char *text)
{
    g_auto(GStrv) items = g_strsplit(text, ",", -1);
    guint64 mask = 0;

    for (guint i = 0; items[i]; i++) {
        guint a = 0, b = 0;
        int n = sscanf(items[i], "%u-%u", &a, &b);

        if (n == 1)
            b = a;
        for (guint c = a; n >= 1 && c <= b && c < 64; c++)
            mask |= G_GUINT64_CONSTANT(1) << c;
    }
    return mask;
}

static char *
mask_format(guint64 mask)
{
    GString *s = g_string_new(NULL);

    for (guint c = 0; c < 64; c++) {
        guint end = c;

        if (!(mask & (G_GUINT64_CONSTANT(1) << c)))
            continue;
        while (end + 1 < 64 && (mask & (G_GUINT64_CONSTANT(1) << (end + 1))))
            end++;
        g_string_append_printf(s, "%s%u", s->len ? "," : "", c);
        if (end > c)
            g_string_append_printf(s, "-%u", end);
        c = end;
    }
    return g_string_free(s, FALSE);
}

static const char *
state_path(void)
{
    const char *p = getenv("HOTCPU_MOCK_QGA_STATE");

    return p && *p ? p : NULL;
}

static void
parse_line(QgaState *st, const char *key, const char *value)
{
    if (strcmp(key, "present") == 0) {
        st->present_libvirt = strcmp(value, "libvirt") == 0;
        st->present = st->present_libvirt ? 0 : mask_parse(value);
    } else if (strcmp(key, "online") == 0) {
        st->online = mask_parse(value);
    } else if (strcmp(key, "offlinable") == 0) {
        st->offlinable_auto = strcmp(value, "auto") == 0;
        st->offlinable = st->offlinable_auto ? 0 : mask_parse(value);
    } else if (strcmp(key, "os") == 0) {
        g_strlcpy(st->os, value, sizeof(st->os));
    } else if (strcmp(key, "mode") == 0) {
        g_strlcpy(st->mode, value, sizeof(st->mode));
    } else if (strcmp(key, "fail") == 0) {
        st->fail = atoi(value);
    }
}

/* The state, with present/offlinable resolved against @dom. */
static gboolean
state_load(virDomainPtr dom, QgaState *st)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    memset(st, 0, sizeof(*st));
    strcpy(st->os, "linux");
    strcpy(st->mode, "ok");
    if (!g_file_get_contents(state_path(), &text, NULL, NULL))
        return FALSE;
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(g_strstrip(lines[i]), " ", 2);

        if (kv[0] && kv[1])
            parse_line(st, kv[0], kv[1]);
    }
    if (st->present_libvirt) {
        int n = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);

        st->present = n >= 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT(1) << MAX(n, 0)) - 1;
    }
    st->online &= st->present;
    if (st->offlinable_auto)
        st->offlinable = st->present & ~G_GUINT64_CONSTANT(1);
    if (strcmp(st->mode, "windows") == 0)
        st->offlinable = 0; /* and every CPU it lists is online */
    return TRUE;
}

static void
state_save(const QgaState *st)
{
    g_autofree char *present = st->present_libvirt ? g_strdup("libvirt") : mask_format(st->present);
    g_autofree char *online = mask_format(st->online);
    g_autofree char *offl = st->offlinable_auto ? g_strdup("auto") : mask_format(st->offlinable);
    g_autofree char *text
        = g_strdup_printf("present %s\nonline %s\nofflinable %s\nos %s\nmode %s\nfail %d\n",
                          present, online, offl, st->os, st->mode, st->fail);

    g_file_set_contents(state_path(), text, -1, NULL);
}

static void
log_call(const char *what)
{
    g_autofree char *path = g_strconcat(state_path(), ".log", NULL);
    FILE *f = fopen(path, "a");

    if (f) {
        fprintf(f, "%s\n", what);
        fclose(f);
    }
}

static gboolean
silent(const QgaState *st)
{
    if (strcmp(st->mode, "silent") != 0)
        return FALSE;
    report(VIR_ERR_AGENT_UNRESPONSIVE, "QEMU guest agent is not connected");
    return TRUE;
}

int virDomainGetGuestVcpus(virDomainPtr dom, virTypedParameterPtr *params, unsigned int *nparams,
                           unsigned int flags);
int virDomainSetGuestVcpus(virDomainPtr dom, const char *cpumap, int state, unsigned int flags);
int virDomainGetGuestInfo(virDomainPtr dom, unsigned int types, virTypedParameterPtr *params,
                          int *nparams, unsigned int flags);

int
virDomainGetGuestVcpus(virDomainPtr dom, virTypedParameterPtr *params, unsigned int *nparams,
                       unsigned int flags)
{
    typedef int (*Fn)(virDomainPtr, virTypedParameterPtr *, unsigned int *, unsigned int);
    QgaState st;
    int n = 0, max = 0;
    g_autofree char *present = NULL, *online = NULL, *offl = NULL;

    if (!state_path())
        return ((Fn)dlsym(RTLD_NEXT, "virDomainGetGuestVcpus"))(dom, params, nparams, flags);
    if (!state_load(dom, &st) || silent(&st))
        return -1;
    if (strcmp(st.mode, "windows") == 0)
        st.present = st.online; /* Windows lists the CPUs it runs */
    present = mask_format(st.present);
    online = mask_format(st.online);
    offl = mask_format(st.offlinable);
    *params = NULL;
    virTypedParamsAddString(params, &n, &max, "vcpus", present);
    virTypedParamsAddString(params, &n, &max, "online", online);
    virTypedParamsAddString(params, &n, &max, "offlinable", offl);
    *nparams = (unsigned int)n;
    return 0;
}

/* libvirt's own checks before it asks the agent; FALSE after reporting. */
static gboolean
set_checks(const QgaState *st, guint64 want, int state)
{
    char msg[128];

    if (want & ~st->present) {
        g_autofree char *missing = mask_format(want & ~st->present);

        snprintf(msg, sizeof(msg), "guest is missing vCPUs '%s'", missing);
        report(VIR_ERR_INVALID_ARG, msg);
        return FALSE;
    }
    for (guint c = 0; !state && c < 64; c++)
        if ((want & (G_GUINT64_CONSTANT(1) << c))
            && !(st->offlinable & (G_GUINT64_CONSTANT(1) << c))) {
            snprintf(msg, sizeof(msg), "vCPU '%u' is not offlinable", c);
            report(VIR_ERR_OPERATION_UNSUPPORTED, msg);
            return FALSE;
        }
    if (strcmp(st->mode, "windows") == 0) {
        report(VIR_ERR_INTERNAL_ERROR, "unable to execute QEMU agent command 'guest-set-vcpus': "
                                       "this feature or command is not currently supported");
        return FALSE;
    }
    if (strcmp(st->mode, "disabled") == 0) {
        report(VIR_ERR_INTERNAL_ERROR,
               "unable to execute QEMU agent command 'guest-set-vcpus': The command "
               "guest-set-vcpus has been disabled for this instance");
        return FALSE;
    }
    return TRUE;
}

/* qemu-ga's guest-set-vcpus (stopping at the first failure) under
 * libvirt's retry of the rest; highest CPU first, the order libvirt 11.3
 * sent them to qemu-ga 7.2 on this machine. */
static int
apply(QgaState *st, guint64 want, int state)
{
    for (guint c = 64; c-- > 0;) {
        guint64 bit = G_GUINT64_CONSTANT(1) << c;

        if (!(want & bit))
            continue;
        if (strcmp(st->mode, "fail-cpu") == 0 && (int)c == st->fail) {
            char msg[200];

            snprintf(msg, sizeof(msg),
                     "unable to execute QEMU agent command 'guest-set-vcpus': "
                     "pwrite(\"/sys/devices/system/cpu/cpu%u//online\"): Device or resource busy",
                     c);
            report(VIR_ERR_INTERNAL_ERROR, msg);
            return -1;
        }
        if (strcmp(st->mode, "stuck") == 0)
            return 0;
        st->online = state ? st->online | bit : st->online & ~bit;
        if (strcmp(st->mode, "short") == 0)
            return 0;
    }
    return 0;
}

int
virDomainSetGuestVcpus(virDomainPtr dom, const char *cpumap, int state, unsigned int flags)
{
    typedef int (*Fn)(virDomainPtr, const char *, int, unsigned int);
    QgaState st;
    guint64 want;
    int rc = -1;

    if (!state_path())
        return ((Fn)dlsym(RTLD_NEXT, "virDomainSetGuestVcpus"))(dom, cpumap, state, flags);
    if (!state_load(dom, &st) || silent(&st))
        return -1;
    want = mask_parse(cpumap);
    if (set_checks(&st, want, state)) {
        rc = apply(&st, want, state);
        state_save(&st);
    }
    {
        g_autofree char *line = g_strdup_printf("set %s %d %d", cpumap, state, rc);
        log_call(line);
    }
    return rc;
}

int
virDomainGetGuestInfo(virDomainPtr dom, unsigned int types, virTypedParameterPtr *params,
                      int *nparams, unsigned int flags)
{
    typedef int (*Fn)(virDomainPtr, unsigned int, virTypedParameterPtr *, int *, unsigned int);
    QgaState st;
    int max = 0;
    gboolean windows;

    if (!state_path())
        return ((Fn)dlsym(RTLD_NEXT, "virDomainGetGuestInfo"))(dom, types, params, nparams, flags);
    if (!state_load(dom, &st) || silent(&st))
        return -1;
    windows = strcmp(st.os, "windows") == 0 || strcmp(st.mode, "windows") == 0;
    *params = NULL;
    *nparams = 0;
    if (!(types & VIR_DOMAIN_GUEST_INFO_OS) || (!windows && strcmp(st.os, "linux") != 0))
        return 0;
    virTypedParamsAddString(params, nparams, &max, VIR_DOMAIN_GUEST_INFO_OS_ID,
                            windows ? "mswindows" : "debian");
    virTypedParamsAddString(params, nparams, &max, VIR_DOMAIN_GUEST_INFO_OS_KERNEL_RELEASE,
                            windows ? "20348" : "6.1.0-28-cloud-amd64");
    return 0;
}
