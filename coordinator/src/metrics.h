/* The coordinator's metrics, in the Prometheus text format (0.0.4) that
 * `--metrics ADDR` serves (docs/operations.md, "Metrics"): counters the
 * shell keeps as messages arrive, and gauges read from the state when
 * scraped, so a scrape costs O(jobs + workers) and nothing is kept twice.
 * Single-threaded, like the rest of the shell. */
#ifndef LATTICE_CO_METRICS_H
#define LATTICE_CO_METRICS_H

#include <stdint.h>

#include "lattice/strbuf.h"
#include "state.h"

/* Why a message was dropped or refused before it reached a decision. */
typedef enum {
    CO_REJ_BAD_MESSAGE,  /* does not decode */
    CO_REJ_BAD_ENVELOPE, /* malformed ROUTER envelope */
    CO_REJ_UNEXPECTED,   /* a type the coordinator never takes */
    CO_REJ_FORBIDDEN,    /* the key's role may not send it */
    CO_REJ_HELLO_FIRST,  /* a worker message without a session */
    CO_REJ_AUTH_REFUSED, /* a CURVE handshake the allow-list refused */
    CO_REJ_COUNT
} co_reject_t;

/* What became of a FRAME. */
typedef enum {
    CO_RES_ACCEPTED, /* the frame is done */
    CO_RES_LATE,     /* a superseded attempt's: kept as evidence */
    CO_RES_REJECTED, /* its files or hashes were wrong */
    CO_RES_OTHER,    /* decided without placing files: an audit's answer, a copy of an
                        accepted result, a refusal (not this session's attempt, a wrong
                        file set) */
    CO_RES_COUNT
} co_result_t;

/* Upper bounds of the journal-commit latency buckets, in seconds. */
enum { CO_COMMIT_BUCKETS = 10 };

typedef struct co_metrics {
    uint64_t rejected[CO_REJ_COUNT];
    uint64_t results[CO_RES_COUNT];
    uint64_t commit_bucket[CO_COMMIT_BUCKETS + 1]; /* the last: above every bound */
    uint64_t commits;
    double commit_seconds;
} co_metrics_t;

/* Counts a journal commit that took ms milliseconds. */
void co_metrics_commit(co_metrics_t *m, double ms);

/* Appends the exposition of m and of the state s (per job: frames by
 * state, the queue; workers by state) to out. */
void co_metrics_render(const co_metrics_t *m, const co_state_t *s, lx_strbuf_t *out);

#endif
