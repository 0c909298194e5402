/* Structured log lines for the long-running processes: one line per event,
 * `ts=<UTC> level=<level> key=value ...`, so that logs can be grepped and
 * parsed. The stream comes in from the caller (no global logger). */
#ifndef LATTICE_LOG_H
#define LATTICE_LOG_H

#include <stdio.h>

typedef enum { LX_LOG_ERROR, LX_LOG_WARN, LX_LOG_INFO, LX_LOG_DEBUG } lx_log_level_t;

/* "error", "warn", "info", "debug". */
extern const char *const lx_log_level_names[4];

/* Parses a level name; false when unknown. */
int lx_log_level_parse(const char *name, lx_log_level_t *out);

/* Writes one line to out when level <= max (out may be NULL: nothing). */
void lx_log_line(FILE *out, lx_log_level_t max, lx_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
