/* The worker's session state machine (worker/src/worker_session.h),
 * driven directly, without sockets.
 *
 *   transitions   the table below is the whole machine: every state x
 *                 every event x every combination of facts gives the step
 *                 of the first row that matches, or, when no row does,
 *                 stays where it is and does nothing.
 *   invariants    over the same space: the chunk is taken with ACCEPT and
 *                 forgotten with RELEASE; nothing touches the chunk while
 *                 the render thread reads it; READY only once idle;
 *                 draining never ends but in GOODBYE; every CHUNK_FAIL
 *                 says why.
 *   walks         the sessions of docs/protocol.md as the loop runs them.
 *   queries       holds, renders, draining, credit and the names. */
#include "test.h"
#include "worker_session.h"

/* Facts an event can carry, as bits (F_ANY: a row that ignores them). */
enum { F_CACHED = 1, F_LAST = 2, F_FULL = 4, F_OVER = 8, F_ALL = 16 };

typedef struct row {
    lx_worker_state_t from;
    lx_worker_event_kind_t on;
    unsigned facts_mask, facts; /* the row matches when (facts & mask) == row.facts */
    lx_worker_state_t to;
    const char *actions; /* names, space-separated */
    const char *reason;  /* of its CHUNK_FAIL or REFUSE; NULL: none */
} row_t;

#define ANY 0, 0

/* The machine, as docs/protocol.md says it. "msg" is the event's message. */
static const row_t s_rows[] = {
    /* A turn of the loop: the next frame, or GOODBYE. */
    {LX_WORKER_HOLDING, LX_WORKER_ON_TICK, F_FULL, 0, LX_WORKER_RENDERING, "render", NULL},
    {LX_WORKER_DRAINING, LX_WORKER_ON_TICK, F_OVER, F_OVER, LX_WORKER_GONE, "goodbye", NULL},

    /* SIGTERM: the frame in hand is finished, the rest given back. */
    {LX_WORKER_IDLE, LX_WORKER_ON_STOP, ANY, LX_WORKER_DRAINING, "start_drain", NULL},
    {LX_WORKER_FETCHING, LX_WORKER_ON_STOP, ANY, LX_WORKER_DRAINING,
     "start_drain chunk_fail release", "interrupted"},
    {LX_WORKER_HOLDING, LX_WORKER_ON_STOP, ANY, LX_WORKER_DRAINING,
     "start_drain chunk_fail release", "interrupted"},
    {LX_WORKER_RENDERING, LX_WORKER_ON_STOP, ANY, LX_WORKER_DRAIN_RENDERING, "start_drain abort",
     NULL},
    {LX_WORKER_CANCELLING, LX_WORKER_ON_STOP, ANY, LX_WORKER_DRAIN_CANCELLING, "start_drain abort",
     NULL},

    /* ASSIGN: taken when idle, refused otherwise. */
    {LX_WORKER_IDLE, LX_WORKER_ON_ASSIGN, F_CACHED, F_CACHED, LX_WORKER_HOLDING, "accept prepare",
     NULL},
    {LX_WORKER_IDLE, LX_WORKER_ON_ASSIGN, F_CACHED, 0, LX_WORKER_FETCHING, "accept program_get",
     NULL},
    {LX_WORKER_IDLE, LX_WORKER_ON_BAD_ASSIGN, ANY, LX_WORKER_IDLE, "refuse", "bad_assignment"},
    {LX_WORKER_DRAINING, LX_WORKER_ON_ASSIGN, ANY, LX_WORKER_DRAINING, "refuse", "interrupted"},
    {LX_WORKER_DRAINING, LX_WORKER_ON_BAD_ASSIGN, ANY, LX_WORKER_DRAINING, "refuse",
     "bad_assignment"},
#define BUSY(st)                                                                                   \
    {st, LX_WORKER_ON_ASSIGN, ANY, st, "refuse", "busy"},                                          \
    {                                                                                              \
        st, LX_WORKER_ON_BAD_ASSIGN, ANY, st, "refuse", "busy"                                     \
    }
    BUSY(LX_WORKER_FETCHING),
    BUSY(LX_WORKER_HOLDING),
    BUSY(LX_WORKER_RENDERING),
    BUSY(LX_WORKER_CANCELLING),
    BUSY(LX_WORKER_DRAIN_RENDERING),
    BUSY(LX_WORKER_DRAIN_CANCELLING),

    /* The program. */
    {LX_WORKER_FETCHING, LX_WORKER_ON_PROGRAM, ANY, LX_WORKER_HOLDING, "load_program prepare",
     NULL},
    {LX_WORKER_FETCHING, LX_WORKER_ON_NOT_FOUND, ANY, LX_WORKER_IDLE, "chunk_fail release ready",
     "bad_program"},
    {LX_WORKER_FETCHING, LX_WORKER_ON_CHUNK_BAD, ANY, LX_WORKER_IDLE, "chunk_fail release ready",
     "reason"},
    {LX_WORKER_HOLDING, LX_WORKER_ON_CHUNK_BAD, ANY, LX_WORKER_IDLE, "chunk_fail release ready",
     "reason"},

    /* CANCEL: nothing after the frame in hand. */
    {LX_WORKER_FETCHING, LX_WORKER_ON_CANCEL, ANY, LX_WORKER_IDLE, "release ready", NULL},
    {LX_WORKER_HOLDING, LX_WORKER_ON_CANCEL, ANY, LX_WORKER_IDLE, "release ready", NULL},
    {LX_WORKER_RENDERING, LX_WORKER_ON_CANCEL, ANY, LX_WORKER_CANCELLING, "abort", NULL},
    {LX_WORKER_DRAIN_RENDERING, LX_WORKER_ON_CANCEL, ANY, LX_WORKER_DRAIN_CANCELLING, "abort",
     NULL},

    /* Credit comes back with ACKs. */
    {LX_WORKER_IDLE, LX_WORKER_ON_BACKLOG_ROOM, ANY, LX_WORKER_IDLE, "ready", NULL},

    /* The frame is back: reported (also a cancelled attempt's, as
     * evidence), then the next, the end of the chunk, or the drain. */
    {LX_WORKER_RENDERING, LX_WORKER_ON_RENDERED, F_LAST, 0, LX_WORKER_HOLDING, "frame", NULL},
    {LX_WORKER_RENDERING, LX_WORKER_ON_RENDERED, F_LAST, F_LAST, LX_WORKER_IDLE,
     "frame chunk_done release ready", NULL},
    {LX_WORKER_CANCELLING, LX_WORKER_ON_RENDERED, ANY, LX_WORKER_IDLE, "frame release ready", NULL},
    {LX_WORKER_DRAIN_RENDERING, LX_WORKER_ON_RENDERED, F_LAST, 0, LX_WORKER_DRAINING,
     "frame chunk_fail release", "interrupted"},
    {LX_WORKER_DRAIN_RENDERING, LX_WORKER_ON_RENDERED, F_LAST, F_LAST, LX_WORKER_DRAINING,
     "frame chunk_done release", NULL},
    {LX_WORKER_DRAIN_CANCELLING, LX_WORKER_ON_RENDERED, ANY, LX_WORKER_DRAINING, "frame release",
     NULL},

    {LX_WORKER_RENDERING, LX_WORKER_ON_RENDER_FAILED, ANY, LX_WORKER_IDLE,
     "chunk_fail release ready", "reason"},
    {LX_WORKER_CANCELLING, LX_WORKER_ON_RENDER_FAILED, ANY, LX_WORKER_IDLE, "release ready", NULL},
    {LX_WORKER_DRAIN_RENDERING, LX_WORKER_ON_RENDER_FAILED, ANY, LX_WORKER_DRAINING,
     "chunk_fail release", "reason"},
    {LX_WORKER_DRAIN_CANCELLING, LX_WORKER_ON_RENDER_FAILED, ANY, LX_WORKER_DRAINING, "release",
     NULL},

    {LX_WORKER_RENDERING, LX_WORKER_ON_TOO_LARGE, ANY, LX_WORKER_IDLE, "chunk_fail release ready",
     "too_large"},
    {LX_WORKER_CANCELLING, LX_WORKER_ON_TOO_LARGE, ANY, LX_WORKER_IDLE, "chunk_fail release ready",
     "too_large"},
    {LX_WORKER_DRAIN_RENDERING, LX_WORKER_ON_TOO_LARGE, ANY, LX_WORKER_DRAINING,
     "chunk_fail release", "too_large"},
    {LX_WORKER_DRAIN_CANCELLING, LX_WORKER_ON_TOO_LARGE, ANY, LX_WORKER_DRAINING,
     "chunk_fail release", "too_large"},
};

static lx_worker_event_t s_event(lx_worker_event_kind_t kind, unsigned facts)
{
    return (lx_worker_event_t){.kind = kind,
                               .reason = "reason",
                               .message = "msg",
                               .program_cached = facts & F_CACHED,
                               .last_frame = facts & F_LAST,
                               .backlog_full = facts & F_FULL,
                               .drain_over = facts & F_OVER};
}

/* The step's actions as space-separated names. */
static void s_names(const lx_worker_step_t *st, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; i < LX_WORKER_MAX_ACTIONS && st->actions[i] != LX_WORKER_DO_NOTHING; i++) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n ? " " : "",
                 lx_worker_session_action_name(st->actions[i]));
    }
}

static bool s_has(const lx_worker_step_t *st, lx_worker_action_t a)
{
    for (int i = 0; i < LX_WORKER_MAX_ACTIONS && st->actions[i] != LX_WORKER_DO_NOTHING; i++)
        if (st->actions[i] == a)
            return true;
    return false;
}

static const row_t *s_row(lx_worker_state_t from, lx_worker_event_kind_t on, unsigned facts)
{
    for (size_t i = 0; i < sizeof s_rows / sizeof s_rows[0]; i++) {
        const row_t *r = &s_rows[i];
        if (r->from == from && r->on == on && (facts & r->facts_mask) == r->facts)
            return r;
    }
    return NULL;
}

static void s_test_transitions(void)
{
    int rows_used[sizeof s_rows / sizeof s_rows[0]] = {0};
    for (int from = 0; from < LX_WORKER_N_STATES; from++)
        for (int on = 0; on < LX_WORKER_N_EVENTS; on++)
            for (unsigned facts = 0; facts < F_ALL; facts++) {
                lx_worker_event_t ev = s_event(on, facts);
                lx_worker_step_t st = lx_worker_session_step(from, &ev);
                const row_t *r = s_row(from, on, facts);
                char got[200];
                s_names(&st, got, sizeof got);
                const char *where_from = lx_worker_session_state_name(from);
                const char *where_on = lx_worker_session_event_name(on);
                CHECK_MSG(st.actions[LX_WORKER_MAX_ACTIONS] == LX_WORKER_DO_NOTHING,
                          "%s on %s: the action list is not terminated", where_from, where_on);
                if (!r) {
                    CHECK_MSG(st.next == (lx_worker_state_t)from && !got[0],
                              "%s on %s (facts %u): expected nothing, got %s and '%s'", where_from,
                              where_on, facts, lx_worker_session_state_name(st.next), got);
                    continue;
                }
                rows_used[r - s_rows]++;
                CHECK_MSG(st.next == r->to && strcmp(got, r->actions) == 0,
                          "%s on %s (facts %u): expected %s and '%s', got %s and '%s'", where_from,
                          where_on, facts, lx_worker_session_state_name(r->to), r->actions,
                          lx_worker_session_state_name(st.next), got);
                const char *reason = r->reason ? r->reason : "(none)";
                const char *got_reason = st.reason ? st.reason : "(none)";
                CHECK_MSG(strcmp(reason, got_reason) == 0, "%s on %s: reason '%s', expected '%s'",
                          where_from, where_on, got_reason, reason);
            }
    for (size_t i = 0; i < sizeof s_rows / sizeof s_rows[0]; i++)
        CHECK_MSG(rows_used[i] > 0, "row %zu (%s on %s) never matched", i,
                  lx_worker_session_state_name(s_rows[i].from),
                  lx_worker_session_event_name(s_rows[i].on));
}

/* A failed render says why: a storage failure (the export's disk) is
 * reported as such, so the coordinator fails the job instead of blaming
 * the worker. */
static void s_test_storage_reason(void)
{
    lx_worker_state_t from[] = {LX_WORKER_RENDERING, LX_WORKER_DRAIN_RENDERING};
    for (int k = 0; k < 2; k++) {
        lx_worker_event_t ev = {.kind = LX_WORKER_ON_RENDER_FAILED, .reason = "storage",
                                .message = "cannot write 'x': No space left on device"};
        lx_worker_step_t st = lx_worker_session_step(from[k], &ev);
        CHECK(st.reason && strcmp(st.reason, "storage") == 0);
        CHECK(st.message == ev.message);
        ev.reason = NULL; /* a render's own failure */
        st = lx_worker_session_step(from[k], &ev);
        CHECK(st.reason && strcmp(st.reason, "render_error") == 0);
    }
}

static void s_test_invariants(void)
{
    for (int from = 0; from < LX_WORKER_N_STATES; from++)
        for (int on = 0; on < LX_WORKER_N_EVENTS; on++)
            for (unsigned facts = 0; facts < F_ALL; facts++) {
                lx_worker_event_t ev = s_event(on, facts);
                lx_worker_step_t st = lx_worker_session_step(from, &ev);
                const char *f = lx_worker_session_state_name(from);
                const char *e = lx_worker_session_event_name(on);
                bool held = lx_worker_session_holds(from), holds = lx_worker_session_holds(st.next);
                /* The chunk is taken by ACCEPT and forgotten by RELEASE,
                 * nowhere else. */
                CHECK_MSG(s_has(&st, LX_WORKER_DO_ACCEPT) == (!held && holds),
                          "%s on %s: ACCEPT and holding disagree", f, e);
                CHECK_MSG(s_has(&st, LX_WORKER_DO_RELEASE) == (held && !holds),
                          "%s on %s: RELEASE and holding disagree", f, e);
                /* The render thread reads the chunk and the renderer until
                 * the frame is back. */
                bool back = on == LX_WORKER_ON_RENDERED || on == LX_WORKER_ON_RENDER_FAILED ||
                            on == LX_WORKER_ON_TOO_LARGE;
                if (lx_worker_session_renders(from) && !back) {
                    CHECK_MSG(lx_worker_session_renders(st.next), "%s on %s: frame lost", f, e);
                    CHECK_MSG(
                        !s_has(&st, LX_WORKER_DO_ACCEPT) && !s_has(&st, LX_WORKER_DO_RELEASE) &&
                            !s_has(&st, LX_WORKER_DO_LOAD_PROGRAM) &&
                            !s_has(&st, LX_WORKER_DO_PREPARE) && !s_has(&st, LX_WORKER_DO_RENDER) &&
                            !s_has(&st, LX_WORKER_DO_FRAME),
                        "%s on %s: touches what the render thread reads", f, e);
                }
                if (back && lx_worker_session_renders(from))
                    CHECK_MSG(!lx_worker_session_renders(st.next), "%s on %s: still rendering", f,
                              e);
                CHECK_MSG(s_has(&st, LX_WORKER_DO_RENDER) ==
                              (st.next == LX_WORKER_RENDERING && from == LX_WORKER_HOLDING),
                          "%s on %s: RENDER without a frame to render", f, e);
                /* READY says the credit of the new state: only idle asks. */
                if (s_has(&st, LX_WORKER_DO_READY))
                    CHECK_MSG(st.next == LX_WORKER_IDLE, "%s on %s: READY but not idle", f, e);
                /* Draining has one way out. */
                if (lx_worker_session_draining(from))
                    CHECK_MSG(lx_worker_session_draining(st.next), "%s on %s: drain undone", f, e);
                CHECK_MSG(s_has(&st, LX_WORKER_DO_GOODBYE) ==
                              (st.next == LX_WORKER_GONE && from != LX_WORKER_GONE),
                          "%s on %s: GOODBYE and gone disagree", f, e);
                CHECK_MSG(
                    s_has(&st, LX_WORKER_DO_START_DRAIN) ==
                        (!lx_worker_session_draining(from) && lx_worker_session_draining(st.next)),
                    "%s on %s: START_DRAIN and draining disagree", f, e);
                if (s_has(&st, LX_WORKER_DO_CHUNK_FAIL) || s_has(&st, LX_WORKER_DO_REFUSE))
                    CHECK_MSG(st.reason && st.reason[0] && st.message && st.message[0],
                              "%s on %s: a CHUNK_FAIL without reason or message", f, e);
                if (s_has(&st, LX_WORKER_DO_CHUNK_FAIL) || s_has(&st, LX_WORKER_DO_CHUNK_DONE))
                    CHECK_MSG(held, "%s on %s: ends a chunk it does not hold", f, e);
                /* GONE is final. */
                if (from == LX_WORKER_GONE)
                    CHECK_MSG(st.next == LX_WORKER_GONE && st.actions[0] == LX_WORKER_DO_NOTHING,
                              "gone on %s: does something", e);
            }
}

/* Runs events from `state` (a fact letter after an event's name: c cached,
 * l last, f full, o over) and checks the states and actions met. */
static void s_walk(const char *name, lx_worker_state_t state, const char *events,
                   const char *expected)
{
    char got[1000] = "", ev_name[40];
    for (const char *p = events; *p;) {
        int n = 0;
        if (sscanf(p, "%39s%n", ev_name, &n) != 1)
            break;
        p += n;
        unsigned facts = 0;
        char *colon = strchr(ev_name, ':');
        if (colon) {
            *colon = '\0';
            facts |= strchr(colon + 1, 'c') ? F_CACHED : 0;
            facts |= strchr(colon + 1, 'l') ? F_LAST : 0;
            facts |= strchr(colon + 1, 'f') ? F_FULL : 0;
            facts |= strchr(colon + 1, 'o') ? F_OVER : 0;
        }
        int kind = 0;
        while (kind < LX_WORKER_N_EVENTS && strcmp(lx_worker_session_event_name(kind), ev_name))
            kind++;
        CHECK_MSG(kind < LX_WORKER_N_EVENTS, "%s: no event '%s'", name, ev_name);
        lx_worker_event_t ev = s_event(kind, facts);
        lx_worker_step_t st = lx_worker_session_step(state, &ev);
        char acts[200];
        s_names(&st, acts, sizeof acts);
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%s%s%s", len ? " | " : "", acts,
                 acts[0] ? " -> " : "-> ", lx_worker_session_state_name(st.next));
        state = st.next;
    }
    CHECK_MSG(strcmp(got, expected) == 0, "%s:\n  got      %s\n  expected %s", name, got, expected);
}

static void s_test_walks(void)
{
    s_walk("a chunk of two frames, its program fetched", LX_WORKER_IDLE,
           "assign program tick rendered tick rendered:l",
           "accept program_get -> fetching | load_program prepare -> holding | render -> rendering"
           " | frame -> holding | render -> rendering | frame chunk_done release ready -> idle");
    s_walk("16 results wait for ACK: no next frame until one comes", LX_WORKER_HOLDING,
           "tick:f tick:f backlog_room tick",
           "-> holding | -> holding | -> holding | render -> rendering");
    s_walk("a full backlog when idle: credit comes back with the ACK", LX_WORKER_IDLE,
           "backlog_room", "ready -> idle");
    s_walk("cancelled while rendering: the frame is evidence, then idle", LX_WORKER_RENDERING,
           "cancel tick rendered",
           "abort -> cancelling | -> cancelling | frame release ready -> idle");
    s_walk("a stalled frame stopped by CANCEL", LX_WORKER_RENDERING, "cancel render_failed",
           "abort -> cancelling | release ready -> idle");
    s_walk("SIGTERM while rendering: frame, rest given back, acks, goodbye", LX_WORKER_RENDERING,
           "stop stop tick rendered tick stop tick:o",
           "start_drain abort -> drain_rendering | -> drain_rendering | -> drain_rendering"
           " | frame chunk_fail release -> draining | -> draining | -> draining"
           " | goodbye -> gone");
    s_walk("SIGTERM on the last frame: CHUNK_DONE, not interrupted", LX_WORKER_RENDERING,
           "stop rendered:l tick:o",
           "start_drain abort -> drain_rendering"
           " | frame chunk_done release -> draining | goodbye -> gone");
    s_walk("SIGTERM while fetching the program", LX_WORKER_FETCHING, "stop program tick:o",
           "start_drain chunk_fail release -> draining | -> draining | goodbye -> gone");
    s_walk("cancelled, then SIGTERM, before the frame is back", LX_WORKER_RENDERING,
           "cancel stop rendered tick:o",
           "abort -> cancelling | start_drain abort -> drain_cancelling | frame release -> draining"
           " | goodbye -> gone");
    s_walk("an ASSIGN that crossed READY{credit 0}", LX_WORKER_RENDERING, "assign:c",
           "refuse -> rendering");
    s_walk("a cached program, a config that does not resolve", LX_WORKER_IDLE, "assign:c chunk_bad",
           "accept prepare -> holding | chunk_fail release ready -> idle");
    s_walk("the coordinator lost the program", LX_WORKER_IDLE, "assign not_found",
           "accept program_get -> fetching | chunk_fail release ready -> idle");
}

static void s_test_queries(void)
{
    static const struct {
        lx_worker_state_t st;
        const char *name;
        bool holds, renders, draining;
    } want[] = {
        {LX_WORKER_IDLE, "idle", false, false, false},
        {LX_WORKER_FETCHING, "fetching", true, false, false},
        {LX_WORKER_HOLDING, "holding", true, false, false},
        {LX_WORKER_RENDERING, "rendering", true, true, false},
        {LX_WORKER_CANCELLING, "cancelling", true, true, false},
        {LX_WORKER_DRAIN_RENDERING, "drain_rendering", true, true, true},
        {LX_WORKER_DRAIN_CANCELLING, "drain_cancelling", true, true, true},
        {LX_WORKER_DRAINING, "draining", false, false, true},
        {LX_WORKER_GONE, "gone", false, false, true},
    };
    CHECK_EQ_INT(sizeof want / sizeof want[0], LX_WORKER_N_STATES);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        lx_worker_state_t st = want[i].st;
        CHECK_EQ_STR(lx_worker_session_state_name(st), want[i].name);
        CHECK_EQ_INT(lx_worker_session_holds(st), want[i].holds);
        CHECK_EQ_INT(lx_worker_session_renders(st), want[i].renders);
        CHECK_EQ_INT(lx_worker_session_draining(st), want[i].draining);
        /* Credit 1 only when idle with room for results; 0 while it holds
         * a chunk, drains, or 16 results wait for ACK. */
        CHECK_EQ_INT(lx_worker_session_credit(st, false), st == LX_WORKER_IDLE);
        CHECK_EQ_INT(lx_worker_session_credit(st, true), 0);
    }
    CHECK_EQ_STR(lx_worker_session_state_name(LX_WORKER_N_STATES), "?");
    CHECK_EQ_STR(lx_worker_session_event_name(LX_WORKER_N_EVENTS), "?");
    CHECK_EQ_STR(lx_worker_session_action_name(LX_WORKER_N_ACTIONS), "?");
    for (int e = 0; e < LX_WORKER_N_EVENTS; e++)
        CHECK(strcmp(lx_worker_session_event_name(e), "?") != 0);
    for (int a = 0; a < LX_WORKER_N_ACTIONS; a++)
        CHECK(strcmp(lx_worker_session_action_name(a), "?") != 0);
}

int main(void)
{
    s_test_transitions();
    s_test_storage_reason();
    s_test_invariants();
    s_test_walks();
    s_test_queries();
    TEST_MAIN_END();
}
