/* Internals of the coordinator shared by its modules:
 *   coord.c    the event loop, envelopes, worker sessions, heartbeats
 *   sched.c    scheduling: chunks, credit, attempts, failure budgets, audits
 *   jobs.c     jobs: submit, results, manifest, cancel, rerender, status
 *   recover.c  rebuilding from the journal after a restart
 * All of it runs on the coordinator's one thread. */
#ifndef LATTICE_COORD_INTERNAL_H
#define LATTICE_COORD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "journal.h"
#include "lattice/coordinator.h"
#include "lattice/export_config.h"
#include "lattice/manifest.h"
#include "lattice/msg.h"

enum { F_PENDING, F_RUNNING, F_DONE, F_FAILED };
/* Audit states of a frame. */
enum { A_NONE, A_WANTED, A_RUNNING, A_DISPUTED, A_THIRD, A_DONE };
enum { J_QUEUED, J_RUNNING, J_DONE, J_FAILED, J_CANCELLED };
/* "queued", "running", "done", "failed", "cancelled", by J_*. */
extern const char *const co_job_states[5];

/* A frame fails at most this many times (render errors) before its job fails. */
enum { MAX_FRAME_FAILURES = 3, MAX_IDENT = 255 };

typedef struct worker {
    uint8_t ident[MAX_IDENT];
    size_t ident_len;
    uint64_t serial; /* this session's number, for logs */
    char name[129], build[257];
    uint32_t threads;
    uint32_t ready; /* chunks it wants to hold, by its last READY (credit) */
    double last_recv, last_send;
    bool helloed, draining;
    uint64_t frames;
} worker_t;

typedef struct job {
    char id[16], token[129], submit_hash[65];
    int state;
    lx_program_t *p;
    lx_export_plan_t plan;
    char program_hash[65], config_hash[65];
    char *config_json, *out, *error;
    bool stream;
    uint32_t chunk;
    int64_t first, n;                    /* frames first .. first + n - 1 */
    uint8_t *fstate;                     /* per frame */
    uint64_t *fattempt;                  /* the frame's current attempt */
    uint8_t *ffail;                      /* distinct workers that failed the frame so far */
    uint64_t (*fby)[MAX_FRAME_FAILURES]; /* which ones (hashes of their names) */
    int64_t hint;                        /* no pending frame below first + hint */
    uint64_t done, running, failed;
    double ms_sum; /* render_ms of completed frames, for adaptive chunks */
    double created;
    lx_manifest_t *manifest;
    uint64_t *workers; /* serials of workers that delivered results */
    uint32_t n_workers, cap_workers, max_threads;
    uint64_t late; /* results of superseded attempts, kept as evidence */
    /* Audits (--audit RATE; rate < 0: off). Per frame: its state, and who
     * rendered it with which content signature: primary, auditor, third. */
    double audit_rate;
    uint8_t *faudit;
    uint64_t (*fwho)[3];
    uint8_t (*fsig)[3][16];
    uint64_t audits_open, audited, disputed, audit_rerendered;
    double progress_ms; /* an attempt with no frame for this long is stuck */
    struct job_worker { /* failed chunks per worker, and blocks */
        uint64_t who;
        char name[129];
        uint32_t failed_chunks;
        double blocked_until;
    } * jw;
    size_t n_jw, cap_jw;
} job_t;

typedef struct attempt {
    uint64_t id;
    job_t *job;
    int64_t first, last;
    uint64_t worker; /* serial of the worker it was given to (0: nobody, after a restart) */
    double progress; /* when it was assigned or last delivered a frame */
    bool audit;      /* renders frame `first` again only to compare content hashes */
} attempt_t;

typedef struct coord {
    const lx_coord_config_t *cfg;
    void *sock;
    journal_t *journal;
    worker_t *workers;
    size_t n_workers, cap_workers;
    job_t **jobs;
    size_t n_jobs, cap_jobs;
    attempt_t *attempts; /* in flight */
    size_t n_attempts, cap_attempts;
    uint64_t next_attempt, next_serial;
    lx_strbuf_t out;  /* encoding buffer, reused */
    lx_arena_t arena; /* the decoded message's strings */
    uint64_t bad_messages;
    double t0;
    double grace_ms, grace_until; /* after a restart: orphaned attempts wait until then */
    struct quarantine {           /* workers an audit caught: never given work again */
        uint64_t who;
        char name[129];
    } * quarantined;
    size_t n_quarantined, cap_quarantined;
} coord_t;

typedef struct peer {
    const uint8_t *ident;
    size_t ident_len;
    bool delimiter; /* the peer is a REQ socket: an empty frame follows the identity */
} peer_t;

/* ---- coord.c */

void co_log(coord_t *c, lx_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Room for one more element in a growing array. */
bool co_grow(void **items, size_t *cap, size_t n, size_t elem);

/* Encodes and sends m to a peer without blocking; false when it could not. */
bool co_send(coord_t *c, const peer_t *to, const lx_msg_t *m);

/* co_send to a worker, which also restarts its heartbeat clock. */
bool co_send_worker(coord_t *c, worker_t *w, const lx_msg_t *m);

/* Answers with ERROR{code, message}. */
void co_error(coord_t *c, const peer_t *to, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Lookups; NULL when absent. Serial 0 is nobody (an orphaned attempt). */
worker_t *co_worker_by_serial(coord_t *c, uint64_t serial);

job_t *co_job(coord_t *c, const char *id);

attempt_t *co_attempt(coord_t *c, uint64_t id);

/* Logs a journal failure (the transition is not applied). */
void co_journal_fail(coord_t *c, const lx_error_t *err);

/* Commits when ok, else rolls back and logs. */
void co_transaction_end(coord_t *c, bool ok, lx_error_t *err);

/* ---- sched.c */

uint64_t co_who(const char *name);

/* Whether the worker named is blocked for job j at time now. */
bool co_blocked(const job_t *j, const char *name, double now);

/* Whether worker `who` already failed frame index i of j. */
bool co_failed_by(const job_t *j, int64_t i, uint64_t who);

/* Frames [first, last] still running under attempt id go back to the
 * queue, inside the caller's transaction. With a worker to blame, the
 * first of them (the one it was rendering: workers render in order) counts
 * one failure; a frame out of budget fails, and so does its job. */
bool co_release_frames(coord_t *c, job_t *j, uint64_t id, int64_t first, int64_t last,
                       const worker_t *blame, lx_error_t *err);

/* Ends attempt a (state: done, failed, lost, cancelled): its unfinished
 * frames go back to the queue, and it is forgotten. */
void co_requeue(coord_t *c, attempt_t *a, const char *state, const char *reason,
                const worker_t *blame);

/* Whether an audit quarantined the worker named. */
bool co_quarantined(const coord_t *c, const char *name);

/* Finishes j when every frame is done and no audit is open. */
void co_maybe_finish(coord_t *c, job_t *j);

/* A primary result of frame i was accepted: remember who said what, and
 * whether it is to be audited. */
void co_audit_primary(job_t *j, const attempt_t *a, int64_t i, const worker_t *w,
                      const lx_msg_t *m);

/* The result of an audit attempt: equal content confirms; a disagreement
 * goes to a third worker, and 2 of 3 decide who is quarantined. */
void co_on_audit_frame(coord_t *c, job_t *j, attempt_t *a, const lx_msg_t *m);

/* Work goes out only against credit: what the worker's last READY asked
 * for, less the attempts it holds. Credit frees itself when an attempt
 * ends, however it ends (CHUNK_DONE, all frames in, lost, cancelled). */
void co_dispatch(coord_t *c);

/* ---- jobs.c */

void co_job_free(job_t *j);

/* Answers with JOBS: every job, or only `only`. */
void co_reply_jobs(coord_t *c, const peer_t *to, job_t *only);

/* Everything a job derives from its program and plan: frame arrays, the
 * resolved config, the manifest under construction, the hashes. */
lx_result_t co_job_setup(job_t *j, const char *out, lx_error_t *err);

/* Message handlers (the caller decoded and routed the message). */
void co_on_submit(coord_t *c, const peer_t *from, const lx_msg_t *m);

/* Writes the manifest of a job whose frames are all in; the job ends done or failed. */
void co_finish(coord_t *c, job_t *j);

void co_on_frame(coord_t *c, worker_t *w, lx_msg_t *m);

void co_on_chunk_end(coord_t *c, worker_t *w, const lx_msg_t *m);

void co_on_cancel_job(coord_t *c, const peer_t *from, job_t *j);

/* RERENDER: the frames of a finished job that failed, or whose files are
 * missing or do not match its metadata.json, go back to the queue; only
 * they are rendered again (with warm-up), then the manifest is rewritten. */
void co_on_rerender(coord_t *c, const peer_t *from, job_t *j, const lx_msg_t *m);

/* ---- recover.c */

lx_result_t co_recover(coord_t *c, lx_error_t *err);

#endif
