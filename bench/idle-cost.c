/* idle-cost: what a process costs over some seconds.
 *
 *   idle-cost PID SECONDS
 *
 * prints one line
 *
 *   cpu_ms=N ctxsw=N wakeups_per_s=X seconds=S pid=PID
 *
 * cpu_ms: user + system CPU time it used (utime + stime, /proc/PID/stat),
 * ctxsw: voluntary + non-voluntary context switches (/proc/PID/status),
 * summed over all its threads, between the start and the end of the period.
 * An agent that waits for real events scores 0 and 0 while nothing happens;
 * one that polls every 100 ms about 10 context switches a second.
 *
 * No dependency but libc, so it can be linked statically and copied into a
 * guest image; bench/idle-cost.sh does the same with a POSIX shell.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    unsigned long long ticks; /* utime + stime */
    unsigned long long ctxsw; /* voluntary + nonvoluntary */
} Sample;

/* Fields 14 and 15 of stat, counted after the ")" that ends the command
 * name (which may itself hold spaces and parentheses). */
static int
read_stat(const char *path, unsigned long long *ticks)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;
    char *p;
    unsigned long long utime, stime;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* after ") ": state(3) ppid(4) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    *ticks = utime + stime;
    return 0;
}

static int
read_ctxsw(const char *path, unsigned long long *ctxsw)
{
    char line[256];
    FILE *f = fopen(path, "r");
    unsigned long long v;
    int found = 0;

    if (f == NULL)
        return -1;
    *ctxsw = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1
            || sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1) {
            *ctxsw += v;
            found++;
        }
    }
    fclose(f);
    return found == 2 ? 0 : -1;
}

/* Over all threads: /proc/PID/stat already sums them; status does not. */
static int
sample(long pid, Sample *s)
{
    char path[512];
    DIR *dir;
    struct dirent *de;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (read_stat(path, &s->ticks) < 0)
        return -1;
    s->ctxsw = 0;
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    dir = opendir(path);
    if (dir == NULL)
        return -1;
    while ((de = readdir(dir)) != NULL) {
        unsigned long long v;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/task/%s/status", pid, de->d_name);
        if (read_ctxsw(path, &v) == 0)
            s->ctxsw += v;
    }
    closedir(dir);
    return 0;
}

int
main(int argc, char **argv)
{
    char *end;
    long pid;
    double seconds;
    Sample a, b;
    struct timespec ts;
    long hz = sysconf(_SC_CLK_TCK);
    double cpu_ms;

    if (argc != 3) {
        fprintf(stderr, "usage: idle-cost PID SECONDS\n");
        return 2;
    }
    pid = strtol(argv[1], &end, 10);
    if (*end != '\0' || pid <= 0) {
        fprintf(stderr, "idle-cost: '%s' is not a process id\n", argv[1]);
        return 2;
    }
    seconds = strtod(argv[2], &end);
    if (*end != '\0' || seconds <= 0 || seconds > 86400) {
        fprintf(stderr, "idle-cost: '%s' is not a number of seconds\n", argv[2]);
        return 2;
    }
    if (sample(pid, &a) < 0) {
        fprintf(stderr, "idle-cost: cannot read /proc/%ld: %s\n", pid, strerror(errno));
        return 1;
    }
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    if (sample(pid, &b) < 0) {
        fprintf(stderr, "idle-cost: process %ld went away during the measurement\n", pid);
        return 1;
    }
    cpu_ms = (double)(b.ticks - a.ticks) * 1000.0 / (double)(hz > 0 ? hz : 100);
    printf("cpu_ms=%.0f ctxsw=%llu wakeups_per_s=%.2f seconds=%g pid=%ld\n", cpu_ms,
           b.ctxsw - a.ctxsw, (double)(b.ctxsw - a.ctxsw) / seconds, seconds, pid);
    return 0;
}
