/* Decisions about attempts: handing out chunks against credit, and ending
 * attempts — with failure budgets (a frame fails after CO_MAX_FAILURES
 * distinct workers failed it, and fails its job), and blocks (a worker
 * that failed CO_MAX_FAILURES chunks of a job is blocked for it for the
 * policy's forgive_ms). Part of the scheduler core: it reads the state and
 * describes transitions (tx.h); it never changes the state. */
#ifndef LATTICE_CO_ATTEMPTS_H
#define LATTICE_CO_ATTEMPTS_H

#include "tx.h"

/* Starts an attempt of frames [first, last] of j on session w: an
 * ATTEMPT_START (with a fresh id), the job running, an ASSIGN. For an
 * audit first == last and nothing about the frame's state changes. */
void co_attempt_start(const co_state_t *s, co_job_t *j, const co_session_t *w, int64_t first,
                      int64_t last, bool audit, double now, co_tx_t *tx);

/* The next chunk of j for session w, if any may go to it: the run of
 * pending frames from the lowest one w has not failed, at most the job's
 * chunk size long (adaptive when it has none), stopping before a frame w
 * failed. False when w is blocked for j or nothing is left for it. */
bool co_attempt_assign_chunk(const co_state_t *s, const co_session_t *w, co_job_t *j, double now,
                             co_tx_t *tx);

/* Ends attempt a with state ("done", "failed", "lost", "stuck",
 * "cancelled") and reason: its frames still running under it go back to
 * the queue. With an identity to blame (a render error, a stuck chunk),
 * the frame in hand — the first still running: workers render in order —
 * counts one failure of it, and so does the chunk (blocks). An audit
 * attempt's frame waits for another auditor unless keep_audit (the caller
 * decides the audit itself). */
void co_attempt_end(const co_state_t *s, const co_attempt_t *a, const char *state,
                    const char *reason, co_ident_t blame, bool keep_audit, double now, co_tx_t *tx);

/* Ends attempt a whose frames are all accounted for (every one done):
 * only the ATTEMPT_END and its log line. */
void co_attempt_close(const co_attempt_t *a, const char *state, const char *reason, co_tx_t *tx);

/* Frames [first, last] of j running under attempt id go back to the
 * queue; with blame, the first of them counts one failure of it. A frame
 * out of budget fails, and so does the job (co_job_fail). */
void co_attempt_release(const co_state_t *s, co_job_t *j, uint64_t id, int64_t first, int64_t last,
                        co_ident_t blame, double now, co_tx_t *tx);

/* Fails job j with error (once per transition): workers holding its other
 * attempts are told to stop (all but attempt `except`). */
void co_job_fail(const co_state_t *s, co_job_t *j, const char *error, uint64_t except, double now,
                 co_tx_t *tx);

/* Stops attempt a: CANCEL to its session (if it has one), then
 * co_attempt_end with the same arguments. */
void co_attempt_stop(const co_state_t *s, const co_attempt_t *a, const char *state,
                     const char *reason, co_ident_t blame, bool keep_audit, double now,
                     co_tx_t *tx);

#endif
