/* A transition: what one event changes in the coordinator's state, and
 * what is sent once the change has happened.
 *
 * The scheduler core (sched.h, release.h, audit.h) never changes the
 * state: it reads it and describes a transition. The shell (shell.h)
 * then journals every change in one SQLite transaction, applies the same
 * changes to the state (apply.h) and only then carries out the effects
 * (messages to workers, finishing a job) and prints the log lines. That
 * is the one place where state changes; a transition the journal refuses
 * changes nothing and sends nothing.
 *
 * Changes name workers by identity name (state.h); strings a change or
 * effect holds are borrowed (from the state, which outlives the
 * transition, or from the message being handled) or copied into the
 * transition's arena. */
#ifndef LATTICE_CO_TX_H
#define LATTICE_CO_TX_H

#include <stdbool.h>
#include <stdint.h>

#include "lattice/log.h"
#include "lattice/msg.h"
#include "state.h"

typedef enum {
    CO_CH_JOB_ADD,        /* a submitted job enters (owned by the transition until applied) */
    CO_CH_JOB_STATE,      /* a job's state and error */
    CO_CH_JOB_RESTART,    /* rerender: a fresh manifest (owned until applied), the clock restarts */
    CO_CH_ATTEMPT_START,  /* an attempt is handed out; a chunk's frames run under it */
    CO_CH_ATTEMPT_END,    /* an attempt ends: done, failed, lost, stuck or cancelled */
    CO_CH_ATTEMPT_OWNER,  /* an attempt in flight changes session (adopted, or orphaned) */
    CO_CH_FRAME_RELEASE,  /* a running frame goes back to the queue, or fails */
    CO_CH_FRAME_REOPEN,   /* a done or failed frame is pending again */
    CO_CH_RESULT,         /* a frame's result is accepted: the frame is done */
    CO_CH_EVIDENCE,       /* a superseded attempt's result, kept as evidence */
    CO_CH_AUDIT,          /* a frame's audit record, and the job's audit counts */
    CO_CH_QUARANTINE,     /* an identity gets no more work, anywhere */
    CO_CH_BLOCK,          /* an identity's failed chunks of a job, blocked until */
    CO_CH_SESSION_OPEN,   /* a worker said HELLO */
    CO_CH_SESSION_CLOSE,  /* a session ended (its attempts were ended before) */
    CO_CH_SESSION_CREDIT, /* a worker's READY */
} co_change_kind_t;

typedef struct co_change {
    co_change_kind_t kind;
    co_job_t *job;      /* changes of a job */
    int64_t frame;      /* FRAME_*, RESULT, EVIDENCE, AUDIT, QUARANTINE */
    uint64_t attempt;   /* ATTEMPT_*, RESULT, EVIDENCE */
    uint64_t session;   /* ATTEMPT_START, ATTEMPT_OWNER, RESULT, SESSION_* */
    const char *worker; /* identity: ATTEMPT_START, FRAME_RELEASE (blamed, or NULL),
                           RESULT, EVIDENCE, QUARANTINE, BLOCK, SESSION_OPEN */
    double now;         /* ATTEMPT_START, RESULT, JOB_RESTART, SESSION_OPEN */
    union {
        struct {
            const void *program; /* the program's IR bytes, for the program store */
            size_t program_len;
        } job_add;
        struct {
            co_job_state_t state;
            const char *error; /* NULL clears it */
        } job_state;
        struct {
            lx_manifest_t *manifest;
        } job_restart;
        struct {
            int64_t first, last, warmup_from;
            bool audit;
        } attempt_start;
        struct {
            const char *state, *reason;
        } attempt_end;
        struct {
            bool failed; /* out of budget: the frame fails */
        } frame_release;
        struct {
            bool fresh_budget; /* rerender: its failures are forgotten */
            bool for_audit;    /* its worker was quarantined: counted as re-rendered */
        } frame_reopen;
        struct {
            const lx_msg_t *msg; /* the FRAME (RESULT only) */
            const void *record;  /* the FRAME as journaled (no bytes) */
            size_t record_len;
        } result; /* RESULT and EVIDENCE */
        struct {
            co_audit_t audit;
            const char *who[3];      /* names of audit.who */
            int confirmed, disputed; /* added to the job's counts */
        } audit;
        struct {
            uint32_t failed_chunks;
            double until;
        } block;
        struct {
            const char *name; /* HELLO's; c->worker is the identity */
            const char *build;
            uint32_t threads;
        } session_open;
        struct {
            const char *why; /* "left", "dead", "replaced" */
            const char *name;
        } session_close;
        struct {
            uint32_t credit;
        } session_credit;
    } u;
} co_change_t;

typedef enum {
    CO_FX_ASSIGN, /* ASSIGN attempt to session */
    CO_FX_CANCEL, /* CANCEL attempt to session */
    CO_FX_ACK,    /* ACK frame of attempt to session */
    CO_FX_ERROR,  /* ERROR{code, message} to session */
    CO_FX_FINISH, /* write the manifest of job: every frame is in */
} co_effect_kind_t;

typedef struct co_effect {
    co_effect_kind_t kind;
    uint64_t session;
    co_job_t *job;      /* FINISH */
    const char *job_id; /* CANCEL, ACK: the job as the worker named it */
    uint64_t attempt;
    int64_t frame;
    const char *code, *message; /* ERROR */
} co_effect_t;

typedef struct co_tx {
    co_change_t *changes;
    size_t n_changes, cap_changes;
    co_effect_t *effects;
    size_t n_effects, cap_effects;
    lx_strbuf_t log; /* lines "<level digit><text>\n" */
    lx_arena_t arena;
    bool failed; /* out of memory while building: the transition must not be applied */
    co_change_t scratch_change; /* what builders write into after running out of memory */
    co_effect_t scratch_effect;
} co_tx_t;

void co_tx_init(co_tx_t *tx);
/* Frees the transition and whatever it still owns (a job or manifest it
 * was to hand over). */
void co_tx_release(co_tx_t *tx);

/* Appends a change or effect of the given kind, zeroed but for kind, and
 * returns it; on out of memory marks the transition failed and returns a
 * scratch entry (so builders need not check). */
co_change_t *co_tx_change(co_tx_t *tx, co_change_kind_t kind, co_job_t *job);
co_effect_t *co_tx_effect(co_tx_t *tx, co_effect_kind_t kind, uint64_t session);

/* A copy of s in the transition's arena (s may be NULL: NULL). */
const char *co_tx_strdup(co_tx_t *tx, const char *s);

/* A log line to print once the transition has happened. */
void co_tx_log(co_tx_t *tx, lx_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* An AUDIT change: frame f of j gets audit record a (identities named
 * through s), and the job's audit counts grow by confirmed and disputed. */
void co_tx_audit(co_tx_t *tx, const co_state_t *s, co_job_t *j, int64_t f, const co_audit_t *a,
                 int confirmed, int disputed);

/* The state a JOB_STATE change of tx gives j, or -1 when tx has none: a
 * transition decides a job's end once. */
int co_tx_job_state(const co_tx_t *tx, const co_job_t *j);

/* How many attempts tx starts: the next one's id is the state's last plus
 * this plus one. */
uint64_t co_tx_attempts_started(const co_tx_t *tx);

#endif
