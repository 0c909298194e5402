/* The worker's session as a state machine (worker_session.h). Every
 * transition is in lx_worker_session_step, one case per event. */
#include "worker_session.h"

#include <stddef.h>

/* The properties of each state. */
static const struct {
    const char *name;
    bool holds, renders, draining;
} s_states[LX_WORKER_N_STATES] = {
    /* clang-format off */
    [LX_WORKER_IDLE]             = {"idle",             false, false, false},
    [LX_WORKER_FETCHING]         = {"fetching",         true,  false, false},
    [LX_WORKER_HOLDING]          = {"holding",          true,  false, false},
    [LX_WORKER_RENDERING]        = {"rendering",        true,  true,  false},
    [LX_WORKER_CANCELLING]       = {"cancelling",       true,  true,  false},
    [LX_WORKER_DRAIN_RENDERING]  = {"drain_rendering",  true,  true,  true},
    [LX_WORKER_DRAIN_CANCELLING] = {"drain_cancelling", true,  true,  true},
    [LX_WORKER_DRAINING]         = {"draining",         false, false, true},
    [LX_WORKER_GONE]             = {"gone",             false, false, true},
    /* clang-format on */
};

static const char *const s_events[LX_WORKER_N_EVENTS] = {
    "tick",   "stop",         "assign",   "bad_assign",    "program",   "not_found",
    "cancel", "backlog_room", "rendered", "render_failed", "too_large", "chunk_bad",
};

static const char *const s_actions[LX_WORKER_N_ACTIONS] = {
    "nothing", "accept",  "program_get", "load_program", "prepare",
    "render",  "abort",   "frame",       "chunk_done",   "chunk_fail",
    "refuse",  "release", "ready",       "start_drain",  "goodbye",
};

/* GO(next, actions...): be in `next` after the actions. FAIL(next, reason,
 * message, actions...): the same, with what a CHUNK_FAIL or REFUSE among
 * them says. */
#define GO(next_, ...)                                                                             \
    return (lx_worker_step_t)                                                                      \
    {                                                                                              \
        .next = (next_), .actions = { __VA_ARGS__ }                                                \
    }
#define FAIL(next_, reason_, message_, ...)                                                        \
    return (lx_worker_step_t)                                                                      \
    {                                                                                              \
        .next = (next_), .actions = {__VA_ARGS__}, .reason = (reason_), .message = (message_)      \
    }

/* Short names for the table below (undefined after it). */
#define IDLE LX_WORKER_IDLE
#define FETCHING LX_WORKER_FETCHING
#define HOLDING LX_WORKER_HOLDING
#define RENDERING LX_WORKER_RENDERING
#define CANCELLING LX_WORKER_CANCELLING
#define DRAIN_RENDERING LX_WORKER_DRAIN_RENDERING
#define DRAIN_CANCELLING LX_WORKER_DRAIN_CANCELLING
#define DRAINING LX_WORKER_DRAINING
#define GONE LX_WORKER_GONE
#define ACCEPT LX_WORKER_DO_ACCEPT
#define PROGRAM_GET LX_WORKER_DO_PROGRAM_GET
#define LOAD_PROGRAM LX_WORKER_DO_LOAD_PROGRAM
#define PREPARE LX_WORKER_DO_PREPARE
#define RENDER LX_WORKER_DO_RENDER
#define ABORT LX_WORKER_DO_ABORT
#define FRAME LX_WORKER_DO_FRAME
#define CHUNK_DONE LX_WORKER_DO_CHUNK_DONE
#define CHUNK_FAIL LX_WORKER_DO_CHUNK_FAIL
#define REFUSE LX_WORKER_DO_REFUSE
#define RELEASE LX_WORKER_DO_RELEASE
#define READY LX_WORKER_DO_READY
#define START_DRAIN LX_WORKER_DO_START_DRAIN
#define GOODBYE LX_WORKER_DO_GOODBYE

static const char s_draining[] = "the worker is draining";

lx_worker_step_t lx_worker_session_step(lx_worker_state_t st, const lx_worker_event_t *ev)
{
    switch (ev->kind) {
    case LX_WORKER_ON_TICK:
        if (st == HOLDING && !ev->backlog_full)
            GO(RENDERING, RENDER);
        /* Every result acknowledged, or waited for long enough. */
        if (st == DRAINING && ev->drain_over)
            GO(GONE, GOODBYE);
        break;

    case LX_WORKER_ON_STOP:
        switch (st) {
        case IDLE:
            GO(DRAINING, START_DRAIN);
        case FETCHING:
        case HOLDING:
            FAIL(DRAINING, "interrupted", s_draining, START_DRAIN, CHUNK_FAIL, RELEASE);
        /* The frame in hand is finished and reported (ABORT only stops a
         * renderer that can stop). */
        case RENDERING:
            GO(DRAIN_RENDERING, START_DRAIN, ABORT);
        case CANCELLING:
            GO(DRAIN_CANCELLING, START_DRAIN, ABORT);
        default:
            break; /* draining already */
        }
        break;

    case LX_WORKER_ON_ASSIGN:
    case LX_WORKER_ON_BAD_ASSIGN:
        /* Credit 0 was said, but an ASSIGN may have crossed it. */
        if (s_states[st].holds)
            FAIL(st, "busy", "this worker holds another chunk", REFUSE);
        if (st != IDLE && st != DRAINING)
            break; /* GONE */
        if (ev->kind == LX_WORKER_ON_BAD_ASSIGN)
            FAIL(st, "bad_assignment", ev->message, REFUSE);
        if (st == DRAINING)
            FAIL(st, "interrupted", s_draining, REFUSE);
        if (ev->program_cached)
            GO(HOLDING, ACCEPT, PREPARE);
        GO(FETCHING, ACCEPT, PROGRAM_GET);

    case LX_WORKER_ON_PROGRAM:
        if (st == FETCHING)
            GO(HOLDING, LOAD_PROGRAM, PREPARE);
        break;

    case LX_WORKER_ON_NOT_FOUND:
        if (st == FETCHING)
            FAIL(IDLE, "bad_program", ev->message, CHUNK_FAIL, RELEASE, READY);
        break;

    case LX_WORKER_ON_CHUNK_BAD:
        if (st == FETCHING || st == HOLDING)
            FAIL(IDLE, ev->reason, ev->message, CHUNK_FAIL, RELEASE, READY);
        break;

    case LX_WORKER_ON_CANCEL:
        switch (st) {
        case FETCHING:
        case HOLDING:
            GO(IDLE, RELEASE, READY);
        case RENDERING:
            GO(CANCELLING, ABORT);
        case DRAIN_RENDERING:
            GO(DRAIN_CANCELLING, ABORT);
        default:
            break;
        }
        break;

    case LX_WORKER_ON_BACKLOG_ROOM:
        /* READY said credit 0 while the backlog was full. */
        if (st == IDLE)
            GO(IDLE, READY);
        break;

    case LX_WORKER_ON_RENDERED:
        switch (st) {
        case RENDERING:
            if (ev->last_frame)
                GO(IDLE, FRAME, CHUNK_DONE, RELEASE, READY);
            GO(HOLDING, FRAME);
        /* A cancelled attempt's frame in hand is still reported (the
         * coordinator keeps it as evidence); nothing after it. */
        case CANCELLING:
            GO(IDLE, FRAME, RELEASE, READY);
        case DRAIN_RENDERING:
            if (ev->last_frame)
                GO(DRAINING, FRAME, CHUNK_DONE, RELEASE);
            FAIL(DRAINING, "interrupted", s_draining, FRAME, CHUNK_FAIL, RELEASE);
        case DRAIN_CANCELLING:
            GO(DRAINING, FRAME, RELEASE);
        default:
            break;
        }
        break;

    case LX_WORKER_ON_RENDER_FAILED:
        switch (st) {
        case RENDERING:
            FAIL(IDLE, ev->reason ? ev->reason : "render_error", ev->message, CHUNK_FAIL, RELEASE,
                 READY);
        /* Most likely the abort it was asked for: nothing to report. */
        case CANCELLING:
            GO(IDLE, RELEASE, READY);
        case DRAIN_RENDERING:
            FAIL(DRAINING, ev->reason ? ev->reason : "render_error", ev->message, CHUNK_FAIL,
                 RELEASE);
        case DRAIN_CANCELLING:
            GO(DRAINING, RELEASE);
        default:
            break;
        }
        break;

    case LX_WORKER_ON_TOO_LARGE:
        /* Also for a cancelled attempt: the frame it owes as evidence
         * cannot be sent. */
        switch (st) {
        case RENDERING:
        case CANCELLING:
            FAIL(IDLE, "too_large", ev->message, CHUNK_FAIL, RELEASE, READY);
        case DRAIN_RENDERING:
        case DRAIN_CANCELLING:
            FAIL(DRAINING, "too_large", ev->message, CHUNK_FAIL, RELEASE);
        default:
            break;
        }
        break;

    default:
        break;
    }
    return (lx_worker_step_t){.next = st};
}

#undef IDLE
#undef FETCHING
#undef HOLDING
#undef RENDERING
#undef CANCELLING
#undef DRAIN_RENDERING
#undef DRAIN_CANCELLING
#undef DRAINING
#undef GONE
#undef ACCEPT
#undef PROGRAM_GET
#undef LOAD_PROGRAM
#undef PREPARE
#undef RENDER
#undef ABORT
#undef FRAME
#undef CHUNK_DONE
#undef CHUNK_FAIL
#undef REFUSE
#undef RELEASE
#undef READY
#undef START_DRAIN
#undef GOODBYE
#undef GO
#undef FAIL

bool lx_worker_session_holds(lx_worker_state_t state)
{
    return (unsigned)state < LX_WORKER_N_STATES && s_states[state].holds;
}

bool lx_worker_session_renders(lx_worker_state_t state)
{
    return (unsigned)state < LX_WORKER_N_STATES && s_states[state].renders;
}

bool lx_worker_session_draining(lx_worker_state_t state)
{
    return (unsigned)state < LX_WORKER_N_STATES && s_states[state].draining;
}

unsigned lx_worker_session_credit(lx_worker_state_t state, bool backlog_full)
{
    return state == LX_WORKER_IDLE && !backlog_full ? 1 : 0;
}

const char *lx_worker_session_state_name(lx_worker_state_t state)
{
    return (unsigned)state < LX_WORKER_N_STATES ? s_states[state].name : "?";
}

const char *lx_worker_session_event_name(lx_worker_event_kind_t kind)
{
    return (unsigned)kind < LX_WORKER_N_EVENTS ? s_events[kind] : "?";
}

const char *lx_worker_session_action_name(lx_worker_action_t action)
{
    return (unsigned)action < LX_WORKER_N_ACTIONS ? s_actions[action] : "?";
}
