/* The coordinator's imperative shell: its socket, its journal, its state,
 * and co_commit — the one place where a transition is journaled, applied
 * and carried out. Message handlers (sessions.h for workers, clients.h
 * for clients) decide with the scheduler core (sched.h) and commit here;
 * coord.c owns the event loop. Single-threaded. */
#ifndef LATTICE_CO_SHELL_H
#define LATTICE_CO_SHELL_H

#include <stdarg.h>

#include "journal.h"
#include "lattice/coordinator.h"
#include "metrics.h"
#include "output.h"

enum { CO_MAX_IDENT = 255 };

/* What an authenticated peer may do (its allow-list role): a worker
 * takes work, a client submits and follows its own jobs, an admin does
 * everything. Bits: admin = worker | client | CO_ROLE_ALL_JOBS. */
typedef enum {
    CO_ROLE_WORKER = 1,
    CO_ROLE_CLIENT = 2,
    CO_ROLE_ALL_JOBS = 4, /* other keys' jobs, the worker list */
    CO_ROLE_ADMIN = 7
} co_role_t;

/* Where a message came from and a reply goes: a socket identity
 * (borrowed), whether the peer is a REQ socket (an empty delimiter frame
 * follows the identity), and who it is: its CURVE public key (Z85, 40
 * characters; NULL on an unauthenticated socket: --insecure tcp, inproc)
 * and its role (CO_ROLE_ADMIN when unauthenticated). */
typedef struct co_peer {
    const uint8_t *ident;
    size_t ident_len;
    bool delimiter;
    const char *key;
    unsigned role; /* co_role_t bits */
} co_peer_t;

/* A worker's socket once it said HELLO: its session number, and the
 * liveness clocks (any message counts as a heartbeat). */
typedef struct co_link {
    uint8_t ident[CO_MAX_IDENT];
    size_t ident_len;
    uint64_t serial;
    double last_recv, last_send;
} co_link_t;

/* Group commit. The FRAMEs read in one go are journaled in one SQLite
 * transaction (co_commit_batched; co_journal_batch_begin): each of their
 * transitions is applied at once, so the next FRAME is decided on the
 * state it left, but what they send (ACKs above all) and the lines they
 * add to exports' progress journals wait here until co_flush has
 * committed the batch. An ACK therefore never leaves before its result is
 * durable, as without a batch; a batch costs one SQLite commit instead of
 * one per FRAME, and its ACKs of one attempt go out as one message. */
enum {
    CO_BATCH_MAX = 512, /* transitions in a batch at most */
    CO_BATCH_MS = 20    /* a batch is committed once this old: ACKs wait no longer */
};

/* Progress-journal lines of one job, waiting for their batch. */
typedef struct co_lines {
    co_job_t *job;
    lx_strbuf_t text;
} co_lines_t;

typedef struct co_batch {
    bool on;              /* FRAMEs may join a batch (the shell is reading its socket) */
    size_t n_tx;          /* transitions in the open batch */
    double begun;         /* when the first of them joined */
    co_effect_t *effects; /* their effects, in order; strings in arena */
    size_t n_effects, cap_effects;
    lx_arena_t arena;
    co_lines_t *lines;
    size_t n_lines, cap_lines;
} co_batch_t;

typedef struct coord {
    const lx_coord_config_t *cfg;
    void *sock;
    co_journal_t *journal;
    co_state_t state;
    co_link_t *links;
    size_t n_links, cap_links;
    uint64_t last_serial;
    lx_strbuf_t out;    /* encoding buffer, reused */
    lx_arena_t arena;   /* the decoded message's strings */
    double wall_offset; /* unix ms minus monotonic ms */
    co_metrics_t metrics;
    co_batch_t batch;
    lx_result_t fatal; /* a batch the journal could not commit: the coordinator stops */
} coord_t;

void co_log(coord_t *c, lx_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Encodes and sends m without blocking; false when it could not. */
bool co_send(coord_t *c, const co_peer_t *to, const lx_msg_t *m);

/* Sends m to session `serial` (restarting its heartbeat clock); false
 * when the session has no socket any more. */
bool co_send_session(coord_t *c, uint64_t serial, const lx_msg_t *m);

/* The output roots jobs may write below (output.h). */
static inline co_roots_t co_roots_of(const coord_t *c)
{
    return (co_roots_t){c->cfg->allow_output, c->cfg->n_allow_output};
}

/* ERROR{code, message} to a peer. */
void co_error(coord_t *c, const co_peer_t *to, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The socket of session `serial`, or of the identity of `from`; NULL. */
co_link_t *co_link_of_session(coord_t *c, uint64_t serial);
co_link_t *co_link_of_peer(coord_t *c, const co_peer_t *from);
/* A new link for peer `from` with a fresh session number; NULL when its
 * identity is too long or memory ran out. */
co_link_t *co_link_add(coord_t *c, const co_peer_t *from, double now);
void co_link_remove(coord_t *c, uint64_t serial);

/* Journals tx, applies it to the state, prints its log lines and carries
 * out its effects (sends; a FINISH writes the job's manifest and commits
 * the job's end). A transition the journal refuses changes nothing and
 * sends nothing. Releases tx. False when tx did not happen. */
bool co_commit(coord_t *c, co_tx_t *tx);

/* co_commit, joining the open batch when the shell is reading (see
 * co_batch_t): journaled under a savepoint and applied now, its effects
 * and progress lines held until co_flush. A batch that reached
 * CO_BATCH_MAX transitions or CO_BATCH_MS ms is flushed here. False when
 * tx did not happen (nothing of it is applied or sent). */
bool co_commit_batched(coord_t *c, co_tx_t *tx);

/* A line for the progress journal of j's export: held with the open
 * batch, or appended now when there is none. */
void co_progress_line(coord_t *c, co_job_t *j, const char *line, size_t len);

/* Commits the open batch, then carries out its effects and appends its
 * progress lines. When the journal refuses the commit, nothing of the
 * batch is sent, c->fatal is set and the coordinator stops: its memory is
 * ahead of its journal, and a restart rebuilds it exactly from the
 * journal (the workers send the unacknowledged results again). False
 * then. Does nothing without an open batch. */
bool co_flush(coord_t *c);

/* Batches may open (the shell reads its socket), or no more (co_flush
 * first). */
void co_batch_start(coord_t *c);
void co_batch_stop(coord_t *c);
void co_batch_release(coord_t *c);

/* A scheduler decision of the "next one" kind (sched.h). */
typedef bool (*co_step_fn)(const co_state_t *s, double now, co_tx_t *tx);

/* Decides and commits steps, each on the state the previous one left,
 * until there is none (or max were taken, or the journal refused one). */
void co_steps(coord_t *c, co_step_fn step, double now, size_t max);

/* After an event: ends the jobs whose export has been written, finishes
 * (starts writing the export of) every job whose frames are all in, then
 * hands out work against credit until there is none to give. */
void co_settle(coord_t *c, double now);

/* For a stopping coordinator, before its state goes: every finisher is
 * asked to stop (between files and video frames, before metadata.json)
 * and joined; a job whose export was written ends, journaled, one stopped
 * stays complete and is written at the next start. */
void co_finish_stop(coord_t *c);

#endif
