/* The scheduler core: every event the coordinator handles, as a pure
 * decision. Each function reads the state and describes, in tx, what the
 * event changes and what is sent (tx.h); none changes the state, reads a
 * clock, touches a socket, a file or the journal. The shell journals and
 * applies the transition, then carries out its effects.
 *
 * Functions that decide "the next one" (tick, dispatch, finish) describe
 * at most one step and return whether they did: the shell commits it and
 * asks again, so every step is decided on the state the previous one left.
 *
 * `now` is the shell's monotonic clock in ms. Sessions are numbered by
 * the shell (one per HELLO-ing socket). tests/unit/test_sched.c drives
 * these functions directly. */
#ifndef LATTICE_CO_SCHED_H
#define LATTICE_CO_SCHED_H

#include "tx.h"

/* A new job (taken: *job_p is NULLed) enters the queue. */
void co_sched_submit(const co_state_t *s, co_job_t **job_p, const void *program, size_t program_len,
                     co_tx_t *tx);

/* HELLO on session `serial` from a peer authenticated with `key` (NULL:
 * unauthenticated, the name is the identity). A session of the same
 * identity and name on another socket is over (replaced): its attempts
 * that the HELLO lists in `resumed` move to the new session, the others
 * go back to the queue. Attempts listed that nobody holds (after a
 * coordinator restart) are adopted; the rest are cancelled on the worker. */
void co_sched_hello(const co_state_t *s, uint64_t serial, const char *key, const lx_msg_t *hello,
                    double now, co_tx_t *tx);

/* The export's storage failed (full, read-only, vanished): the job fails
 * at once with "storage: why" (a client exits 2 on it), nobody blamed;
 * its other attempts but `except` are cancelled. */
void co_sched_storage_failed(const co_state_t *s, co_job_t *j, const char *why, uint64_t except,
                             double now, co_tx_t *tx);

/* READY: the credit of session `serial`. */
void co_sched_ready(const co_state_t *s, uint64_t serial, uint32_t credit, co_tx_t *tx);

/* What to do with a FRAME, after co_sched_frame. */
typedef enum {
    CO_FRAME_DECIDED,  /* tx says it all (an unknown job, an audit, a rejected file set) */
    CO_FRAME_LATE,     /* a superseded attempt's result: tx keeps it as evidence; the
                          caller also removes the files it wrote (shared output) */
    CO_FRAME_CANDIDATE /* the current attempt's result, its file set right: the caller
                          checks and places its files, then calls co_sched_accept or
                          co_sched_reject */
} co_frame_verdict_t;

/* record: the FRAME as journaled (without bytes), borrowed until the
 * transition is committed. */
co_frame_verdict_t co_sched_frame(const co_state_t *s, uint64_t serial, const lx_msg_t *m,
                                  const void *record, size_t record_len, double now, co_tx_t *tx);

/* A candidate FRAME whose files are in place: the frame is done. The
 * attempt ends when its last frame is in. */
void co_sched_accept(const co_state_t *s, uint64_t serial, const lx_msg_t *m, const void *record,
                     size_t record_len, double now, co_tx_t *tx);

/* Frame m->frame of new job j is already in its export directory, intact
 * (the export's progress journal says so and its files agree): it is done
 * without rendering, as a result of attempt 0 that no worker delivered and
 * nobody audits. m and record must live until tx is committed. */
void co_sched_keep(const co_state_t *s, co_job_t *j, const lx_msg_t *m, const void *record,
                   size_t record_len, co_tx_t *tx);

/* A candidate FRAME whose files failed the checks (rc, why): rendered
 * again. The worker's fault (a wrong hash, a missing file) fails its
 * attempt and counts against the frame's budget; the export's storage
 * failing (LX_E_IO) fails the job (co_sched_storage_failed); the
 * coordinator's memory (LX_E_NOMEM) requeues the frame alone. */
void co_sched_reject(const co_state_t *s, uint64_t serial, const lx_msg_t *m, lx_result_t rc,
                     const char *why, double now, co_tx_t *tx);

/* CHUNK_DONE or CHUNK_FAIL from session `serial`. A failure counts against
 * the worker unless it was interrupted (drain) or busy. A worker's word
 * that the export's storage failed (reason storage) fails the job when
 * `storage` confirms it — the shell's own look at the export (the job's
 * directory is gone, read-only or nearly full): else it is the worker's
 * trouble, counted like a render error, so no key can fail a job by
 * saying so. `storage`: NULL when unconfirmed, else what the shell saw. */
void co_sched_chunk_end(const co_state_t *s, uint64_t serial, const lx_msg_t *m,
                        const char *storage, double now, co_tx_t *tx);

/* Session `serial` is over (why: "left", "dead"): its attempts' unfinished
 * frames go back to the queue, nobody blamed. */
void co_sched_session_end(const co_state_t *s, uint64_t serial, const char *why, double now,
                          co_tx_t *tx);

/* One timer decision: a stuck attempt (no frame for its job's progress
 * timeout: CANCEL, requeue, the worker blamed), or an orphaned attempt
 * whose grace period ran out. */
bool co_sched_tick(const co_state_t *s, double now, co_tx_t *tx);

/* One assignment against credit: an audit or a chunk for the first
 * session that has credit left and something it may take. */
bool co_sched_dispatch(const co_state_t *s, double now, co_tx_t *tx);

/* A job whose frames are all in and audited: FINISH (the shell writes its
 * manifest, then calls co_sched_finished). */
bool co_sched_finish(const co_state_t *s, double now, co_tx_t *tx);

/* The manifest of j was written (rc LX_OK) or not (rc, error). */
void co_sched_finished(const co_state_t *s, co_job_t *j, lx_result_t rc, const char *error,
                       co_tx_t *tx);

/* CANCEL_JOB: workers holding its attempts are told to stop. A job that
 * is over, or finishing (its export being written), is left as it is. */
void co_sched_cancel(const co_state_t *s, co_job_t *j, double now, co_tx_t *tx);

/* RERENDER of a finished job: frames with redo[i] set (i = frame - first)
 * are rendered again with fresh budgets; `fresh` (taken when not NULL)
 * replaces the manifest. A job with nothing to redo finishes again. */
void co_sched_rerender(const co_state_t *s, co_job_t *j, const uint8_t *redo, lx_manifest_t **fresh,
                       double now, co_tx_t *tx);

/* Why none of j's pending frames can go to any connected worker, into
 * out (empty when some can, or nothing is pending): a job that cannot
 * finish says so instead of waiting in silence. */
void co_sched_waiting(const co_state_t *s, const co_job_t *j, double now, char *out, size_t size);

#endif
