/* Structured log lines (see log.h). */
#include "lattice/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

const char *const lx_log_level_names[4] = {"error", "warn", "info", "debug"};

int lx_log_level_parse(const char *name, lx_log_level_t *out)
{
    for (int k = 0; k < 4; k++)
        if (strcmp(name, lx_log_level_names[k]) == 0) {
            *out = (lx_log_level_t)k;
            return 1;
        }
    return 0;
}

void lx_log_line(FILE *out, lx_log_level_t max, lx_log_level_t level, const char *fmt, ...)
{
    if (!out || level > max)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32], line[2048];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf: lines of threads sharing a stream do not interleave. */
    fprintf(out, "ts=%s.%03ldZ level=%s %s\n", stamp, ts.tv_nsec / 1000000,
            lx_log_level_names[level], line);
    fflush(out);
}
