/* The worker's session as a state machine (docs/protocol.md, "Sessions",
 * "Worker"): what a worker does with a chunk from ASSIGN to CHUNK_DONE,
 * CHUNK_FAIL or CANCEL, and how it drains.
 *
 * lx_worker_session_step is pure: a state and an event in, the next state
 * and the actions to take out, so that tests drive every transition
 * without sockets (tests/unit/test_worker_session.c). worker.c gathers the
 * facts an event carries, carries out the actions (sockets, the render
 * thread, the program cache) in order once the state has changed, and
 * turns an action that fails into the event it reports (CHUNK_BAD,
 * RENDER_FAILED), handled in the new state.
 *
 * The link (HELLO, heartbeats, liveness, reconnecting with backoff) is not
 * a part of it: it works the same in every state, and a reconnect changes
 * no state. It only asks the state what to say (holds, credit).
 *
 * Internal to liblattice_worker. Everything here is pure and thread-safe. */
#ifndef LATTICE_WORKER_SESSION_H
#define LATTICE_WORKER_SESSION_H

#include <stdbool.h>

typedef enum lx_worker_state {
    LX_WORKER_IDLE,     /* no chunk; asks for one (READY credit 1) */
    LX_WORKER_FETCHING, /* a chunk whose program it asked for (PROGRAM_GET) */
    /* A chunk, between frames: the next one starts at the next turn of
     * the loop, unless 16 results wait for ACK. */
    LX_WORKER_HOLDING,
    LX_WORKER_RENDERING, /* a chunk, one of its frames on the render thread */
    /* Its chunk was cancelled while a frame rendered: that frame is still
     * reported (the coordinator keeps it as evidence), nothing after it. */
    LX_WORKER_CANCELLING,
    /* Draining with a frame of the chunk rendering: the frame is reported,
     * the rest of the chunk given back (CHUNK_FAIL interrupted). */
    LX_WORKER_DRAIN_RENDERING,
    /* Draining with a frame of a cancelled chunk rendering. */
    LX_WORKER_DRAIN_CANCELLING,
    /* No chunk and takes none: waits for ACKs, at most `liveness`
     * heartbeat intervals, then says GOODBYE. */
    LX_WORKER_DRAINING,
    LX_WORKER_GONE, /* GOODBYE said: the session is over */
    LX_WORKER_N_STATES
} lx_worker_state_t;

typedef enum lx_worker_event_kind {
    /* A turn of the loop, before it polls. Facts: backlog_full,
     * drain_over. */
    LX_WORKER_ON_TICK,
    /* The stop flag is set: sent every turn while it is. */
    LX_WORKER_ON_STOP,
    /* An ASSIGN that passed its own checks. Fact: program_cached. */
    LX_WORKER_ON_ASSIGN,
    /* An ASSIGN that did not; message says why. */
    LX_WORKER_ON_BAD_ASSIGN,
    /* PROGRAM with the hash of the chunk's program. */
    LX_WORKER_ON_PROGRAM,
    /* ERROR{code: not_found}: the coordinator has no such program. */
    LX_WORKER_ON_NOT_FOUND,
    /* CANCEL of the chunk's attempt. */
    LX_WORKER_ON_CANCEL,
    /* An ACK made room in a full backlog (16 results waiting for ACK). */
    LX_WORKER_ON_BACKLOG_ROOM,
    /* The render thread returned the frame, and its FRAME fits in a
     * message. Fact: last_frame. */
    LX_WORKER_ON_RENDERED,
    /* The render thread returned an error (message). */
    LX_WORKER_ON_RENDER_FAILED,
    /* The frame's FRAME is larger than a message may be (message). */
    LX_WORKER_ON_TOO_LARGE,
    /* ACCEPT, LOAD_PROGRAM or PREPARE could not make the chunk ready to
     * render: reason and message go into its CHUNK_FAIL. */
    LX_WORKER_ON_CHUNK_BAD,
    LX_WORKER_N_EVENTS
} lx_worker_event_kind_t;

/* An event and the facts the step needs; only those its kind names are
 * read. Strings are borrowed for the step (the step may return them). */
typedef struct lx_worker_event {
    lx_worker_event_kind_t kind;
    const char *reason;  /* CHUNK_BAD; RENDER_FAILED (NULL: render_error) */
    const char *message; /* BAD_ASSIGN, NOT_FOUND, RENDER_FAILED, TOO_LARGE, CHUNK_BAD */
    bool program_cached; /* ASSIGN: the program is in the worker's cache */
    bool last_frame;     /* RENDERED: it was the chunk's last frame */
    bool backlog_full;   /* TICK: 16 results wait for ACK */
    /* TICK: nothing waits for ACK, or the drain has waited `liveness`
     * intervals (read only while draining). */
    bool drain_over;
} lx_worker_event_t;

typedef enum lx_worker_action {
    LX_WORKER_DO_NOTHING, /* ends an action list */
    /* Take the ASSIGN's chunk (fails out of memory: CHUNK_BAD). */
    LX_WORKER_DO_ACCEPT,
    LX_WORKER_DO_PROGRAM_GET, /* ask for the chunk's program */
    /* Decode the PROGRAM, check its hash, cache it (fails: CHUNK_BAD). */
    LX_WORKER_DO_LOAD_PROGRAM,
    /* Check the config against its hash and the frames against the job,
     * make the renderer (fails: CHUNK_BAD). */
    LX_WORKER_DO_PREPARE,
    /* Hand the chunk's next frame to the render thread (fails:
     * RENDER_FAILED). */
    LX_WORKER_DO_RENDER,
    /* Tell the render thread that its frame is no longer waited for (a
     * renderer that honours it stops a long render). */
    LX_WORKER_DO_ABORT,
    /* Send the rendered frame's FRAME, keep it until ACK, move on to the
     * chunk's next frame. */
    LX_WORKER_DO_FRAME,
    LX_WORKER_DO_CHUNK_DONE,
    LX_WORKER_DO_CHUNK_FAIL, /* CHUNK_FAIL{step reason, step message} for the chunk */
    /* CHUNK_FAIL{step reason, step message} for the ASSIGN's attempt,
     * which is not taken. */
    LX_WORKER_DO_REFUSE,
    LX_WORKER_DO_RELEASE,     /* forget the chunk */
    LX_WORKER_DO_READY,       /* READY with the credit of the new state */
    LX_WORKER_DO_START_DRAIN, /* note when draining began */
    LX_WORKER_DO_GOODBYE,
    LX_WORKER_N_ACTIONS
} lx_worker_action_t;

enum { LX_WORKER_MAX_ACTIONS = 4 };

/* What to do: the actions in order (up to the first DO_NOTHING), then be
 * in `next`. reason and message are set when an action sends CHUNK_FAIL;
 * message may be the event's. */
typedef struct lx_worker_step {
    lx_worker_state_t next;
    lx_worker_action_t actions[LX_WORKER_MAX_ACTIONS + 1];
    const char *reason;
    const char *message;
} lx_worker_step_t;

/* In state `state`, on event `ev`: the next state and the actions. An
 * event a state has no use for leaves it as it is, with no action. */
lx_worker_step_t lx_worker_session_step(lx_worker_state_t state, const lx_worker_event_t *ev);

/* The state holds an attempt: HELLO lists it in `resumed`, READY says
 * credit 0, and another ASSIGN is refused as busy. */
bool lx_worker_session_holds(lx_worker_state_t state);
/* A frame is on the render thread. */
bool lx_worker_session_renders(lx_worker_state_t state);
/* Draining (or gone): no new work, no reconnecting. */
bool lx_worker_session_draining(lx_worker_state_t state);
/* READY's credit: 1 when idle and fewer than 16 results wait for ACK. */
unsigned lx_worker_session_credit(lx_worker_state_t state, bool backlog_full);

/* "idle", "fetching", ...; "on_tick", ...; "accept", ... (logs and tests).
 * Never NULL. */
const char *lx_worker_session_state_name(lx_worker_state_t state);
const char *lx_worker_session_event_name(lx_worker_event_kind_t kind);
const char *lx_worker_session_action_name(lx_worker_action_t action);

#endif
