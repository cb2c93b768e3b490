/* setvcpus_mock.c: an LD_PRELOAD shim over virDomainSetVcpusFlags for the
 * hotcpu-ctl tests, to provoke what libvirt's test driver never does.
 *
 * $HOTCPU_MOCK_SETVCPUS:
 *   fail           every call fails, nothing changes (a hypervisor refusal)
 *   fail-config    calls with VIR_DOMAIN_AFFECT_CONFIG fail; live ones pass
 *   timeout-once   the first live unplug changes nothing and reports
 *                  "vcpu unplug request timed out"; later calls pass (what
 *                  libvirt 11.3 does under TCG once the guest settled)
 *   timeout-stuck  every live unplug reports the timeout, nothing changes
 *   timeout-step   every live unplug removes one vCPU, then reports the
 *                  timeout unless that reached the target
 *   partial        the first live unplug removes one vCPU and fails with a
 *                  plain error; later unplugs fail without change
 *   die            a live change destroys the domain (QEMU killed mid-way)
 *                  and fails as libvirt then does
 *   stale          libvirt 9.0 under TCG: the first live unplug reports
 *                  "vcpu unplug request timed out" and keeps its count;
 *                  every later one fails at once, the error unreported
 *                  (QEMU said DeviceNotFound for the vCPU it had removed)
 *   stale-after    the same state from the start: every live unplug fails
 *                  at once that way (a second `set` after the timeout)
 *   restless       the first live unplug times out; every later one fails
 *                  at once, nothing changed, in words that differ each time
 * unset: the real function.
 *
 * $HOTCPU_MOCK_SETVCPUS_LOG, when set, gets one line per live unplug
 * asked, so a test can count the retries.
 *
 * The error is raised with libvirt's virReportErrorHelper, an exported
 * private symbol looked up at run time: test code only.
 */
#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*SetFn)(virDomainPtr, unsigned int, unsigned int);
typedef void (*ReportFn)(int, int, const char *, const char *, size_t, const char *, ...);

static int live_unplugs;

static void
log_unplug(unsigned int nvcpus)
{
    const char *path = getenv("HOTCPU_MOCK_SETVCPUS_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;

    if (f) {
        fprintf(f, "unplug to %u\n", nvcpus);
        fclose(f);
    }
}

static void
report(int code, const char *msg)
{
    ReportFn fn = (ReportFn)dlsym(RTLD_DEFAULT, "virReportErrorHelper");

    if (fn)
        fn(VIR_FROM_TEST, code, __FILE__, __func__, __LINE__, "%s", msg);
}

int virDomainSetVcpusFlags(virDomainPtr dom, unsigned int nvcpus, unsigned int flags);

int
virDomainSetVcpusFlags(virDomainPtr dom, unsigned int nvcpus, unsigned int flags)
{
    SetFn real = (SetFn)dlsym(RTLD_NEXT, "virDomainSetVcpusFlags");
    const char *mode = getenv("HOTCPU_MOCK_SETVCPUS");
    int cur;

    if (!mode || !*mode)
        return real(dom, nvcpus, flags);
    if (strcmp(mode, "fail") == 0) {
        report(VIR_ERR_OPERATION_FAILED, "mock: the hypervisor refused the vCPU change");
        return -1;
    }
    if (strcmp(mode, "fail-config") == 0) {
        if (flags & VIR_DOMAIN_AFFECT_CONFIG) {
            report(VIR_ERR_OPERATION_FAILED, "mock: cannot save the persistent definition");
            return -1;
        }
        return real(dom, nvcpus, flags);
    }
    if (!(flags & VIR_DOMAIN_AFFECT_LIVE))
        return real(dom, nvcpus, flags);
    if (strcmp(mode, "die") == 0) {
        virDomainDestroy(dom);
        report(VIR_ERR_OPERATION_FAILED, "mock: Unable to read from monitor: Connection reset "
                                         "by peer");
        return -1;
    }
    cur = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
    if (cur < 0 || nvcpus >= (unsigned int)cur)
        return real(dom, nvcpus, flags);
    live_unplugs++;
    log_unplug(nvcpus);

    if (strcmp(mode, "timeout-once") == 0) {
        if (live_unplugs > 1)
            return real(dom, nvcpus, flags);
        report(VIR_ERR_OPERATION_TIMEOUT, "vcpu unplug request timed out");
        return -1;
    }
    if (strcmp(mode, "timeout-stuck") == 0) {
        report(VIR_ERR_OPERATION_TIMEOUT, "vcpu unplug request timed out");
        return -1;
    }
    if (strcmp(mode, "timeout-step") == 0) {
        if (real(dom, cur - 1, flags) < 0)
            return -1;
        if ((unsigned int)cur - 1 == nvcpus)
            return 0;
        report(VIR_ERR_OPERATION_TIMEOUT, "vcpu unplug request timed out");
        return -1;
    }
    if (strcmp(mode, "partial") == 0) {
        if (live_unplugs == 1 && real(dom, cur - 1, flags) < 0)
            return -1;
        report(VIR_ERR_INTERNAL_ERROR, "mock: vCPU removal failed half way");
        return -1;
    }
    if (strcmp(mode, "restless") == 0) {
        char msg[64];

        snprintf(msg, sizeof(msg), "mock: try %d failed", live_unplugs);
        report(live_unplugs == 1 ? VIR_ERR_OPERATION_TIMEOUT : VIR_ERR_OPERATION_FAILED,
               live_unplugs == 1 ? "vcpu unplug request timed out" : msg);
        return -1;
    }
    if (strcmp(mode, "stale") == 0 || strcmp(mode, "stale-after") == 0) {
        if (strcmp(mode, "stale") == 0 && live_unplugs == 1)
            report(VIR_ERR_OPERATION_TIMEOUT, "vcpu unplug request timed out. Unplug result "
                                              "must be manually inspected in the domain");
        else
            report(VIR_ERR_INTERNAL_ERROR, "An error occurred, but the cause is unknown");
        return -1;
    }
    return real(dom, nvcpus, flags);
}
