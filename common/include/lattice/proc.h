/* Small helpers for the processes (coordinator, worker, CLI): a monotonic
 * clock and numeric command-line values. Nothing here touches rendering,
 * whose clocks are injected (lx_clock_fn) so that output never depends on
 * time. */
#ifndef LATTICE_PROC_H
#define LATTICE_PROC_H

#include <stdbool.h>

/* CLOCK_MONOTONIC in milliseconds. */
double lx_monotonic_ms(void);

/* A whole string as a number in [lo, hi]; false when it is not. */
bool lx_parse_number(const char *s, double lo, double hi, double *out);

#endif
