/* Every catalogue block, bus combine mode and lens, evaluated through the
 * compiler and the runtime, against values computed by hand from the
 * definitions (docs/patch-format.md, the comments of
 * lattice/sampling.h, lattice/shaping.h and the kernels).
 *
 * Comparisons are exact (==) where the expected value is exact: dyadic
 * arithmetic (0.25, 2.5, ...), literals passed through, IEEE-754 +, -, *, /
 * and sqrt (correctly rounded, so the definition's own expression gives the
 * same bits, e.g. t = f * 1000 / 24). Where the runtime uses its own
 * transcendentals (lattice/dmath.h: sin, cos, pow, exp) or an iterative
 * solver, or where dt = 1/24 s is not a binary fraction and errors
 * accumulate, NEAR allows 1e-12 relative to max(1, |expected|) (relative for
 * magnitudes >= 1, absolute below, so expected zeros such as cos(pi/2) are
 * meaningful); each use says why.
 *
 * Probes: a number output feeds x of a MakeVec3 that positions its own
 * RenderInstances (read from items[].position[0]); vectors and colours go
 * straight into the fixture's "draw"; vec2 values set a 3 x 3 GridLayout's
 * spacing (its last element sits at (sx, -sy)); events are watched by an
 * Accumulator they reset and cross-checked with a SampleHold they trigger.
 *
 * JSON below uses single quotes; s_patch turns them into double quotes. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>

#include "runtime_fixture.h"

#define PI_ 3.14159265358979323846

/* ------------------------------------------------------------------ */
/* Checks                                                               */

static bool s_near_tol(double got, double want, double tol)
{
    return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

#define EQ(what, got, want)                                                                        \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        CHECK_MSG(g_ == w_, "%s: got %.17g, want %.17g", (what), g_, w_);                          \
    } while (0)

#define NEAR_TOL(what, got, want, tol)                                                             \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        CHECK_MSG(s_near_tol(g_, w_, (tol)), "%s: got %.17g, want %.17g (tolerance %g)", (what),   \
                  g_, w_, (double)(tol));                                                          \
    } while (0)

#define NEAR(what, got, want) NEAR_TOL(what, got, want, 1e-12)

#define TRUE_(what, cond) CHECK_MSG((cond), "%s", (what))

/* frac(x) = x - floor(x) (the definition of phase wrapping). */
static double s_frac(double x) { return x - floor(x); }

/* Time of frame f at the fixture's 24 fps (t = f * 1000 / fps). */
static double s_t(int64_t f) { return (double)f * 1000.0 / 24.0; }

/* ------------------------------------------------------------------ */
/* Patch text                                                           */

typedef struct {
    char *s;
    size_t len, cap;
} sb_t;

static void sb_printf(sb_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->len + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* "a,b" (either may be NULL or empty); malloc'd. */
static char *s_cat(const char *a, const char *b)
{
    sb_t s = {0};
    sb_printf(&s, "%s", "");
    if (a && *a)
        sb_printf(&s, "%s", a);
    if (b && *b)
        sb_printf(&s, "%s%s", s.len ? "," : "", b);
    return s.s;
}

/* A patch: time root "t" (root = its members after the id; NULL =
 * infinite, period 10000 ms), unless `bare` a Rect "shape" drawn by a
 * RenderInstances "draw" (the fixture's layout), then `blocks`; edges and
 * extra top-level members (buses, publish, listen) likewise. */
typedef struct {
    const char *root;
    double fps;         /* 0: 24 */
    const char *blocks; /* comma-separated block objects */
    const char *edges;  /* comma-separated edge objects */
    const char *extra;  /* e.g. "'buses':[...],'publish':[...]" */
    bool bare;
    unsigned seed; /* 0: 7 */
} pt_t;

static char *s_patch(const pt_t *pt, const char *blocks2, const char *edges2)
{
    sb_t b = {0};
    sb_printf(&b,
              "{'format':'lattice.patch/1','id':'blocks','seed':%u,'output':{'width':64,"
              "'height':64,'fps':%.17g},'blocks':[{'id':'t',%s}",
              pt->seed ? pt->seed : 7u, pt->fps > 0 ? pt->fps : 24.0,
              pt->root ? pt->root : "'type':'InfiniteTimeRoot'");
    if (!pt->bare)
        sb_printf(&b, ",{'id':'shape','type':'Rect'},{'id':'draw','type':'RenderInstances'}");
    if (pt->blocks && *pt->blocks)
        sb_printf(&b, ",%s", pt->blocks);
    if (blocks2 && *blocks2)
        sb_printf(&b, ",%s", blocks2);
    sb_printf(&b, "],'edges':[");
    bool first = true;
    if (!pt->bare) {
        sb_printf(&b, "{'from':'shape.shape','to':'draw.shape'}");
        first = false;
    }
    if (pt->edges && *pt->edges) {
        sb_printf(&b, "%s%s", first ? "" : ",", pt->edges);
        first = false;
    }
    if (edges2 && *edges2)
        sb_printf(&b, "%s%s", first ? "" : ",", edges2);
    sb_printf(&b, "]");
    if (pt->extra && *pt->extra)
        sb_printf(&b, ",%s", pt->extra);
    sb_printf(&b, "}");
    if (b.s)
        for (char *c = b.s; *c; c++)
            if (*c == '\'')
                *c = '"';
    return b.s;
}

/* Compiles and instantiates; rt_close(rt) is always safe afterwards. */
static bool s_open(rt_t *rt, const pt_t *pt, const char *blocks2, const char *edges2)
{
    rt->p = NULL;
    rt->inst = NULL;
    char *text = s_patch(pt, blocks2, edges2);
    CHECK_MSG(text != NULL, "out of memory");
    if (!text)
        return false;
    bool ok = rt_open_text(rt, text, NULL);
    if (!ok)
        fprintf(stderr, "  patch: %s\n", text);
    free(text);
    return ok;
}

/* Runs frames [first, first + n) in order on one fresh instance (a first
 * frame > 0 goes through warm-up) and stores number output srcs[k] of each
 * frame in out[(f - first) * n_src + k]; NaN when anything fails. Each
 * source feeds x of its own MakeVec3 and RenderInstances, declared last so
 * their items are the last n_src of the frame. */
static bool s_run(const pt_t *pt, const char *const *srcs, int n_src, int64_t first, int64_t n,
                  double *out)
{
    sb_t bl = {0}, ed = {0};
    sb_printf(&bl, "{'id':'pshape','type':'Rect'}");
    for (int k = 0; k < n_src; k++) {
        sb_printf(&bl, ",{'id':'pv%d','type':'MakeVec3'},{'id':'pd%d','type':'RenderInstances'}", k,
                  k);
        sb_printf(&ed,
                  "%s{'from':'%s','to':'pv%d.x'},{'from':'pv%d.out','to':'pd%d.position'},"
                  "{'from':'pshape.shape','to':'pd%d.shape'}",
                  k ? "," : "", srcs[k], k, k, k, k);
    }
    for (int64_t i = 0; i < n * n_src; i++)
        out[i] = NAN;
    rt_t rt;
    bool ok = bl.s && ed.s && s_open(&rt, pt, bl.s, ed.s);
    for (int64_t f = first; ok && f < first + n; f++) {
        const lx_render_frame_t *rf = rt_frame(&rt, f);
        if (!rf || rf->n_items < (uint32_t)n_src) {
            CHECK_MSG(false, "frame %lld: no probe items", (long long)f);
            ok = false;
            break;
        }
        for (int k = 0; k < n_src; k++)
            out[(f - first) * n_src + k] = rf->items[rf->n_items - (uint32_t)n_src + k].position[0];
    }
    rt_close(&rt);
    free(bl.s);
    free(ed.s);
    return ok;
}

/* Number output `src` at frame f, evaluated on a fresh instance. */
static double s_num(const pt_t *pt, const char *src, int64_t f)
{
    double v;
    s_run(pt, &src, 1, f, 1, &v);
    return v;
}

/* Number output `src` over frames [0, n). */
static bool s_series(const pt_t *pt, const char *src, int64_t n, double *out)
{
    return s_run(pt, &src, 1, 0, n, out);
}

/* Number output `src` over frames [0, n) is want[f] at every frame f
 * (exactly, or within tol as NEAR_TOL when tol > 0); checks are named
 * "<what> f=<f>". */
static void s_expect_series(const char *what, const pt_t *pt, const char *src, const double *want,
                            int n, double tol)
{
    double v[64];
    if (n > 64 || !s_series(pt, src, n, v))
        return;
    for (int f = 0; f < n; f++) {
        char w[128];
        snprintf(w, sizeof w, "%s f=%d", what, f);
        if (tol > 0)
            NEAR_TOL(w, v[f], want[f], tol);
        else
            EQ(w, v[f], want[f]);
    }
}

/* "x.out" at frame 0 of an infinite patch holding the block `block` (id x). */
static double s_op(const char *block)
{
    pt_t pt = {.blocks = block};
    return s_num(&pt, "x.out", 0);
}

/* Items of frame f (fresh instance), with extra edges; copies up to cap
 * items and the camera; returns n_items, or -1. */
static int s_items(const pt_t *pt, const char *edges2, int64_t f, lx_draw_item_t *items,
                   uint32_t cap, lx_camera_t *cam)
{
    rt_t rt;
    int n = -1;
    if (s_open(&rt, pt, NULL, edges2)) {
        const lx_render_frame_t *rf = rt_frame(&rt, f);
        if (rf) {
            n = (int)rf->n_items;
            memcpy(items, rf->items, (rf->n_items < cap ? rf->n_items : cap) * sizeof *items);
            if (cam)
                *cam = rf->camera;
        }
    }
    rt_close(&rt);
    return n;
}

/* The fixture's "draw" item at frame f with `src` wired to draw.<port>. */
static bool s_draw(const pt_t *pt, const char *port, const char *src, int64_t f, lx_draw_item_t *it)
{
    char e[256];
    snprintf(e, sizeof e, "{'from':'%s','to':'draw.%s'}", src, port);
    memset(it, 0, sizeof *it);
    for (int k = 0; k < 4; k++) {
        it->color[k] = NAN;
        if (k < 3)
            it->position[k] = NAN;
    }
    int n = s_items(pt, e, f, it, 1, NULL);
    CHECK_MSG(n >= 1, "no item drawn");
    return n >= 1;
}

/* The fixture's "draw" item at frame f with `src` wired to draw.position
 * (n = 3) or draw.color (n = 4): checks each component against want, as
 * "<what> x" .. "<what> z" or "<what> r" .. "<what> a". */
static void s_expect_item(const char *what, const pt_t *pt, const char *src, int64_t f,
                          const double *want, int n)
{
    lx_draw_item_t it;
    if (!s_draw(pt, n == 4 ? "color" : "position", src, f, &it))
        return;
    const double *got = n == 4 ? it.color : it.position;
    for (int c = 0; c < n; c++) {
        char w[128];
        snprintf(w, sizeof w, "%s %c", what, (n == 4 ? "rgba" : "xyz")[c]);
        EQ(w, got[c], want[c]);
    }
}

static void s_expect_position(const char *what, const pt_t *pt, const char *src, int64_t f,
                              double x, double y, double z)
{
    s_expect_item(what, pt, src, f, (const double[3]){x, y, z}, 3);
}

static void s_expect_color(const char *what, const pt_t *pt, const char *src, int64_t f, double r,
                           double g, double b, double a)
{
    s_expect_item(what, pt, src, f, (const double[4]){r, g, b, a}, 4);
}

/* A vec2 output at frame f: it sets the spacing of a 3 x 3 grid whose last
 * element is at ((2 - 1) * sx, ((3 - 1) / 2 - 2) * sy) = (sx, -sy). */
static bool s_vec2(const pt_t *pt, const char *src, int64_t f, double out[2])
{
    pt_t q = *pt;
    char *blocks =
        s_cat(pt->blocks, "{'id':'g2a','type':'Array','params':{'count':9}},"
                          "{'id':'g2l','type':'GridLayout','inputs':{'rows':3,'cols':3}},"
                          "{'id':'g2s','type':'Rect'},{'id':'g2d','type':'RenderInstances'}");
    char e[512];
    snprintf(e, sizeof e,
             "{'from':'%s','to':'g2l.spacing'},{'from':'g2a.domain','to':'g2l.domain'},"
             "{'from':'g2a.domain','to':'g2d.domain'},{'from':'g2l.position','to':'g2d.position'},"
             "{'from':'g2s.shape','to':'g2d.shape'}",
             src);
    char *edges = s_cat(pt->edges, e);
    q.blocks = blocks;
    q.edges = edges;
    lx_draw_item_t items[16];
    out[0] = out[1] = NAN;
    int n = s_items(&q, NULL, f, items, 16, NULL);
    bool ok = n >= 9 && n <= 16;
    CHECK_MSG(ok, "vec2 probe: %d items", n);
    if (ok) {
        out[0] = items[n - 1].position[0];
        out[1] = -items[n - 1].position[1];
    }
    free(blocks);
    free(edges);
    return ok;
}

/* Whether event `ev` fired on frames [0, n). An Accumulator (delta 1)
 * reset by the event reads 0 on the frame after each firing; a SampleHold
 * of a frame counter (an Accumulator of 1s: f at frame f) triggered by the
 * event holds the firing frame's number from the next frame on. Both
 * probes must agree. */
static bool s_events(const pt_t *pt, const char *ev, int n, bool *fired)
{
    pt_t q = *pt;
    char *blocks = s_cat(pt->blocks, "{'id':'eva','type':'Accumulator','inputs':{'delta':1}},"
                                     "{'id':'evc','type':'Accumulator','inputs':{'delta':1}},"
                                     "{'id':'evh','type':'SampleHold','inputs':{'initial':-1}}");
    char e[512];
    snprintf(e, sizeof e,
             "{'from':'%s','to':'eva.reset'},{'from':'evc.value','to':'evh.value'},"
             "{'from':'%s','to':'evh.trigger'}",
             ev, ev);
    char *edges = s_cat(pt->edges, e);
    q.blocks = blocks;
    q.edges = edges;
    const char *src[] = {"eva.value", "evh.out", "evc.value"};
    double *v = malloc((size_t)(n + 1) * 3 * sizeof *v);
    bool ok = v && s_run(&q, src, 3, 0, n + 1, v);
    double held = -1;
    for (int f = 0; f < n; f++) {
        fired[f] = ok && v[(f + 1) * 3] == 0;
        if (!ok)
            continue;
        if (fired[f])
            held = f;
        CHECK_MSG(v[(f + 1) * 3 + 1] == held,
                  "%s: Accumulator and SampleHold probes disagree after frame %d (%g vs %g)", ev, f,
                  v[(f + 1) * 3 + 1], held);
    }
    free(v);
    free(blocks);
    free(edges);
    return ok;
}

/* The event fires exactly on the listed frames within [0, n). */
static void s_expect_events(const char *what, const pt_t *pt, const char *ev, int n,
                            const int *frames, int n_frames)
{
    bool fired[128], want[128] = {false};
    if (n > 128)
        n = 128;
    for (int i = 0; i < n_frames; i++)
        if (frames[i] < n)
            want[frames[i]] = true;
    if (!s_events(pt, ev, n, fired)) {
        CHECK_MSG(false, "%s: event probe failed", what);
        return;
    }
    for (int f = 0; f < n; f++)
        CHECK_MSG(fired[f] == want[f], "%s: frame %d fired=%d, want %d", what, f, fired[f],
                  want[f]);
}

#define ROOT_INF(p) "'type':'InfiniteTimeRoot','params':{'periodMs':" #p "}"

/* ------------------------------------------------------------------ */
/* Time roots                                                           */

static void test_infinite_root(void)
{
    char w[96];
    /* Default period 10000 ms: t = f * 1000 / 24, phase = frac(t / 10000). */
    pt_t def = {0};
    const char *src[] = {"t.time", "t.phase"};
    double v[48 * 2];
    if (s_run(&def, src, 2, 0, 48, v))
        for (int f = 0; f < 48; f++) {
            snprintf(w, sizeof w, "Infinite time f=%d", f);
            EQ(w, v[2 * f], s_t(f));
            snprintf(w, sizeof w, "Infinite phase f=%d", f);
            EQ(w, v[2 * f + 1], s_frac(s_t(f) / 10000.0));
        }
    /* Period 1000: exact quarter phases; wraps at t = 1000 (frame 24). */
    pt_t p1 = {.root = ROOT_INF(1000)};
    EQ("Infinite(1000) phase f=6", s_num(&p1, "t.phase", 6), 0.25);
    EQ("Infinite(1000) phase f=18", s_num(&p1, "t.phase", 18), 0.75);
    EQ("Infinite(1000) phase f=24", s_num(&p1, "t.phase", 24), 0.0);
    EQ("Infinite(1000) phase f=30", s_num(&p1, "t.phase", 30), 0.25);
    EQ("Infinite(1000) time f=30", s_num(&p1, "t.time", 30), 1250.0);
    /* pulse: floor(t / P) changes from the previous frame; frame 0 fires. */
    pt_t p250 = {.root = ROOT_INF(250)};
    const int every6[] = {0, 6, 12, 18, 24, 30};
    s_expect_events("Infinite(250) pulse", &p250, "t.pulse", 31, every6, 6);
    const int only0[] = {0};
    s_expect_events("Infinite(10000) pulse", &def, "t.pulse", 48, only0, 1);
}

static void test_finite_root(void)
{
    char w[96];
    /* D = 1000 ms at 24 fps: frames 0..23; progress = min(t / D, 1), phase
     * = progress wrapped (0 once progress reaches 1), end on frame 23. */
    pt_t fin = {.root = "'type':'FiniteTimeRoot','params':{'durationMs':1000}"};
    const char *src[] = {"t.time", "t.progress", "t.phase"};
    double v[32 * 3];
    if (s_run(&fin, src, 3, 0, 32, v))
        for (int f = 0; f < 32; f++) {
            double p = s_t(f) / 1000.0;
            if (f < 24) {
                snprintf(w, sizeof w, "Finite time f=%d", f);
                EQ(w, v[3 * f], s_t(f));
            }
            snprintf(w, sizeof w, "Finite progress f=%d", f);
            EQ(w, v[3 * f + 1], p > 1 ? 1.0 : p);
            snprintf(w, sizeof w, "Finite phase f=%d", f);
            EQ(w, v[3 * f + 2], p >= 1 ? 0.0 : p);
        }
    EQ("Finite progress f=6", s_num(&fin, "t.progress", 6), 0.25);
    EQ("Finite phase f=12", s_num(&fin, "t.phase", 12), 0.5);
    const int end23[] = {23};
    s_expect_events("Finite(1000) end", &fin, "t.end", 32, end23, 1);
    /* D = 260: frames 0..6 (t_6 = 250 < 260 <= t_7). */
    pt_t fin2 = {.root = "'type':'FiniteTimeRoot','params':{'durationMs':260}"};
    const int end6[] = {6};
    s_expect_events("Finite(260) end", &fin2, "t.end", 12, end6, 1);
}

static void test_cycle_root(void)
{
    char w[96];
    /* P = 1000 at 24 fps: N = 24, phase = (f mod 24) / 24, t = f * P / N,
     * cycleT = phase * P, cycleIndex = floor(f / N), wrap when f mod N = 0. */
    pt_t loop = {.root = "'type':'CycleTimeRoot','params':{'periodMs':1000}"};
    const char *src[] = {"t.time", "t.cycleT", "t.phase", "t.cycleIndex"};
    double v[51 * 4];
    if (s_run(&loop, src, 4, 0, 51, v))
        for (int f = 0; f < 51; f++) {
            double ph = (double)(f % 24) / 24.0;
            snprintf(w, sizeof w, "Cycle time f=%d", f);
            EQ(w, v[4 * f], (double)f * 1000.0 / 24.0);
            snprintf(w, sizeof w, "Cycle cycleT f=%d", f);
            EQ(w, v[4 * f + 1], ph * 1000.0);
            snprintf(w, sizeof w, "Cycle phase f=%d", f);
            EQ(w, v[4 * f + 2], ph);
            snprintf(w, sizeof w, "Cycle cycleIndex f=%d", f);
            EQ(w, v[4 * f + 3], (double)(f / 24));
        }
    EQ("Cycle cycleT f=30", s_num(&loop, "t.cycleT", 30), 250.0);
    const int wraps[] = {0, 24, 48};
    s_expect_events("Cycle wrap", &loop, "t.wrap", 51, wraps, 3);

    /* pingpong: phase = triangle of the loop phase p (p < 0.5 ? 2p : 2 - 2p);
     * cycleT stays the time into the cycle (p * P). */
    pt_t pp = {.root = "'type':'CycleTimeRoot','params':{'periodMs':1000,'mode':'pingpong'}"};
    const char *src2[] = {"t.phase", "t.cycleT", "t.cycleIndex"};
    double u[49 * 3];
    if (s_run(&pp, src2, 3, 0, 49, u))
        for (int f = 0; f < 49; f++) {
            double p = (double)(f % 24) / 24.0;
            snprintf(w, sizeof w, "Cycle pingpong phase f=%d", f);
            EQ(w, u[3 * f], p < 0.5 ? 2 * p : 2 - 2 * p);
            snprintf(w, sizeof w, "Cycle pingpong cycleT f=%d", f);
            EQ(w, u[3 * f + 1], p * 1000.0);
            snprintf(w, sizeof w, "Cycle pingpong cycleIndex f=%d", f);
            EQ(w, u[3 * f + 2], (double)(f / 24));
        }
    EQ("Cycle pingpong phase f=6", s_num(&pp, "t.phase", 6), 0.5);
    EQ("Cycle pingpong phase f=18", s_num(&pp, "t.phase", 18), 0.5);
    EQ("Cycle pingpong phase f=3", s_num(&pp, "t.phase", 3), 0.25);
    s_expect_events("Cycle pingpong wrap", &pp, "t.wrap", 49, wraps, 3);
}

/* ------------------------------------------------------------------ */
/* Math                                                                 */

static void test_const(void)
{
    EQ("Const 2.5", s_op("{'id':'x','type':'Const','params':{'value':2.5}}"), 2.5);
    EQ("Const -3", s_op("{'id':'x','type':'Const','params':{'value':-3}}"), -3.0);
    pt_t v3 = {.blocks = "{'id':'c','type':'Const','params':{'value':[1,-2,0.5]}}"};
    s_expect_position("Const vec3", &v3, "c.out", 0, 1.0, -2.0, 0.5);
    pt_t col = {.blocks = "{'id':'c','type':'Const','params':{'value':[0.1,0.2,0.3,0.4]}}"};
    s_expect_color("Const color", &col, "c.out", 3, 0.1, 0.2, 0.3, 0.4);
    double v2[2];
    pt_t c2 = {.blocks = "{'id':'c','type':'Const','params':{'value':[1.5,-2]}}"};
    if (s_vec2(&c2, "c.out", 0, v2)) {
        EQ("Const vec2 x", v2[0], 1.5);
        EQ("Const vec2 y", v2[1], -2.0);
    }
}

static double s_binop(const char *type, double a, double b)
{
    char blk[160];
    snprintf(blk, sizeof blk, "{'id':'x','type':'%s','inputs':{'a':%.17g,'b':%.17g}}", type, a, b);
    return s_op(blk);
}

static void test_binary(void)
{
    EQ("Add 1.5+2.25", s_binop("Add", 1.5, 2.25), 3.75);
    EQ("Sub 1.5-2.25", s_binop("Sub", 1.5, 2.25), -0.75);
    EQ("Mul 1.5*2.25", s_binop("Mul", 1.5, 2.25), 3.375);
    EQ("Div 3/4", s_binop("Div", 3, 4), 0.75);
    EQ("Div 1/3", s_binop("Div", 1, 3), 1.0 / 3.0);
    EQ("Div 5/0", s_binop("Div", 5, 0), 0.0);
    EQ("Div -5/0", s_binop("Div", -5, 0), 0.0);
    EQ("Min(1.5,-2)", s_binop("Min", 1.5, -2), -2.0);
    EQ("Max(1.5,-2)", s_binop("Max", 1.5, -2), 1.5);

    /* Signals: a = time (250 ms at frame 6). */
    struct {
        const char *type;
        double b, want;
    } sig[] = {{"Add", 1, 251}, {"Sub", 50, 200},  {"Mul", 0.25, 62.5}, {"Div", 2, 125},
               {"Div", 0, 0},   {"Min", 100, 100}, {"Max", 100, 250}};
    for (size_t i = 0; i < sizeof sig / sizeof sig[0]; i++) {
        char blk[128], w[64];
        snprintf(blk, sizeof blk, "{'id':'x','type':'%s','inputs':{'b':%g}}", sig[i].type,
                 sig[i].b);
        pt_t pt = {.blocks = blk, .edges = "{'from':'t.time','to':'x.a'}"};
        snprintf(w, sizeof w, "%s(time=250, %g)", sig[i].type, sig[i].b);
        EQ(w, s_num(&pt, "x.out", 6), sig[i].want);
    }
    /* A signal divisor that is 0 at frame 0. */
    pt_t dz = {.blocks = "{'id':'x','type':'Div','inputs':{'a':5}}",
               .edges = "{'from':'t.time','to':'x.b'}"};
    EQ("Div 5/time f=0", s_num(&dz, "x.out", 0), 0.0);
    EQ("Div 5/time f=6", s_num(&dz, "x.out", 6), 5.0 / 250.0);

    /* vec3 with a number literal splatted to every component. */
    struct {
        const char *type, *b;
        double want[3];
    } vec[] = {
        {"Add", "10", {11, 12, 13}},
        {"Sub", "10", {-9, -8, -7}},
        {"Mul", "2", {2, 4, 6}},
        {"Div", "4", {0.25, 0.5, 0.75}},
        {"Div", "[2,0,4]", {0.5, 0, 0.75}},
        {"Min", "2", {1, 2, 2}},
        {"Max", "2", {2, 2, 3}},
        {"Add", "[0.5,0.25,-1]", {1.5, 2.25, 2}},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char blk[256], w[96];
        snprintf(blk, sizeof blk,
                 "{'id':'c','type':'Const','params':{'value':[1,2,3]}},"
                 "{'id':'x','type':'%s','inputs':{'b':%s}}",
                 vec[i].type, vec[i].b);
        pt_t pt = {.blocks = blk, .edges = "{'from':'c.out','to':'x.a'}"};
        lx_draw_item_t it;
        if (s_draw(&pt, "position", "x.out", 0, &it))
            for (int c = 0; c < 3; c++) {
                snprintf(w, sizeof w, "%s([1,2,3], %s)[%d]", vec[i].type, vec[i].b, c);
                EQ(w, it.position[c], vec[i].want[c]);
            }
    }
    /* Splat on the left operand: 10 - [1,2,3]. */
    pt_t left = {.blocks = "{'id':'c','type':'Const','params':{'value':[1,2,3]}},"
                           "{'id':'x','type':'Sub','inputs':{'a':10}}",
                 .edges = "{'from':'c.out','to':'x.b'}"};
    s_expect_position("Sub(10,[1,2,3])", &left, "x.out", 0, 9.0, 8.0, 7.0);
    /* Colour times a number. */
    pt_t col = {.blocks = "{'id':'c','type':'Const','params':{'value':[0.25,0.5,0.75,1]}},"
                          "{'id':'x','type':'Mul','inputs':{'b':0.5}}",
                .edges = "{'from':'c.out','to':'x.a'}"};
    s_expect_color("Mul(color,0.5)", &col, "x.out", 0, 0.125, 0.25, 0.375, 0.5);
    /* vec2 plus a number. */
    double v2[2];
    pt_t p2 = {.blocks = "{'id':'m','type':'MakeVec2','inputs':{'x':1.5,'y':-2}},"
                         "{'id':'x','type':'Add','inputs':{'b':1}}",
               .edges = "{'from':'m.out','to':'x.a'}"};
    if (s_vec2(&p2, "x.out", 0, v2)) {
        EQ("Add(vec2,1) x", v2[0], 2.5);
        EQ("Add(vec2,1) y", v2[1], -1.0);
    }
}

static double s_unop(const char *type, const char *inputs)
{
    char blk[200];
    snprintf(blk, sizeof blk, "{'id':'x','type':'%s','inputs':{%s}}", type, inputs);
    return s_op(blk);
}

static double s_unx(const char *type, double x)
{
    char in[64];
    snprintf(in, sizeof in, "'x':%.17g", x);
    return s_unop(type, in);
}

static void test_unary(void)
{
    /* Mod: a - b * floor(a / b), in [0, b). */
    EQ("Mod(7.5,2)", s_unop("Mod", "'a':7.5,'b':2"), 1.5);
    EQ("Mod(-1,3)", s_unop("Mod", "'a':-1,'b':3"), 2.0);
    EQ("Mod(-7.5,2)", s_unop("Mod", "'a':-7.5,'b':2"), 0.5);
    EQ("Mod(6,3)", s_unop("Mod", "'a':6,'b':3"), 0.0);
    EQ("Mod(2.75) default b=1", s_unop("Mod", "'a':2.75"), 0.75);
    EQ("Mod(-0.5) default b=1", s_unop("Mod", "'a':-0.5"), 0.5);
    double m = s_unop("Mod", "'a':-1e-20,'b':1");
    TRUE_("Mod(-1e-20,1) in [0,1)", m >= 0 && m < 1);
    pt_t ms = {.blocks = "{'id':'x','type':'Mod','inputs':{'b':100}}",
               .edges = "{'from':'t.time','to':'x.a'}"};
    EQ("Mod(time=250,100)", s_num(&ms, "x.out", 6), 50.0);

    EQ("Abs(-2.5)", s_unx("Abs", -2.5), 2.5);
    EQ("Abs(3)", s_unx("Abs", 3), 3.0);
    EQ("Floor(-1.5)", s_unx("Floor", -1.5), -2.0);
    EQ("Floor(2.7)", s_unx("Floor", 2.7), 2.0);
    EQ("Floor(3)", s_unx("Floor", 3), 3.0);
    EQ("Sqrt(6.25)", s_unx("Sqrt", 6.25), 2.5);
    EQ("Sqrt(2)", s_unx("Sqrt", 2), sqrt(2.0)); /* IEEE sqrt is correctly rounded */
    EQ("Sqrt(-4)", s_unx("Sqrt", -4), 0.0);
    EQ("Sqrt(0)", s_unx("Sqrt", 0), 0.0);

    /* Sin/Cos in radians: the runtime's own sin/cos (dmath), so within
     * 1e-12 of libm; sin 0 and cos 0 are exact. */
    EQ("Sin(0)", s_unx("Sin", 0), 0.0);
    EQ("Cos(0)", s_unx("Cos", 0), 1.0);
    const double xs[] = {1.0,   -2.0,   0.5235987755982988, 1.5707963267948966, 3.141592653589793,
                         100.0, -1234.5};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        char w[64];
        snprintf(w, sizeof w, "Sin(%.17g)", xs[i]);
        NEAR(w, s_unx("Sin", xs[i]), sin(xs[i]));
        snprintf(w, sizeof w, "Cos(%.17g)", xs[i]);
        NEAR(w, s_unx("Cos", xs[i]), cos(xs[i]));
    }
    NEAR("Sin(pi/6)", s_unx("Sin", 0.5235987755982988), 0.5);
    NEAR("Cos(pi)", s_unx("Cos", 3.141592653589793), -1.0);
    pt_t ss = {.blocks = "{'id':'m','type':'Mul','inputs':{'b':0.001}},{'id':'x','type':'Sin'}",
               .edges = "{'from':'t.time','to':'m.a'},{'from':'m.out','to':'x.x'}"};
    NEAR("Sin(time/1000) f=30", s_num(&ss, "x.out", 30), sin(1250.0 * 0.001));

    /* Pow: the runtime's own pow (dmath), within 1e-12. */
    NEAR("Pow(2,10)", s_unop("Pow", "'base':2,'exp':10"), 1024.0);
    NEAR("Pow(9,0.5)", s_unop("Pow", "'base':9,'exp':0.5"), 3.0);
    NEAR("Pow(2,-1)", s_unop("Pow", "'base':2,'exp':-1"), 0.5);
    NEAR("Pow(1.5,2)", s_unop("Pow", "'base':1.5,'exp':2"), 2.25);
    NEAR("Pow(5,0)", s_unop("Pow", "'base':5,'exp':0"), 1.0);
    NEAR("Pow(10,0.3)", s_unop("Pow", "'base':10,'exp':0.3"), pow(10.0, 0.3));
}

static void test_clamp_lerp_map(void)
{
    EQ("Clamp(1.5) defaults", s_unop("Clamp", "'x':1.5"), 1.0);
    EQ("Clamp(-0.5) defaults", s_unop("Clamp", "'x':-0.5"), 0.0);
    EQ("Clamp(0.25) defaults", s_unop("Clamp", "'x':0.25"), 0.25);
    EQ("Clamp(3,2,5)", s_unop("Clamp", "'x':3,'lo':2,'hi':5"), 3.0);
    EQ("Clamp(7,2,5)", s_unop("Clamp", "'x':7,'lo':2,'hi':5"), 5.0);
    EQ("Clamp(1,2,5)", s_unop("Clamp", "'x':1,'lo':2,'hi':5"), 2.0);
    pt_t cv = {.blocks = "{'id':'c','type':'Const','params':{'value':[-1,0.5,2]}},"
                         "{'id':'x','type':'Clamp'}",
               .edges = "{'from':'c.out','to':'x.x'}"};
    s_expect_position("Clamp vec3 defaults", &cv, "x.out", 0, 0.0, 0.5, 1.0);
    pt_t cv2 = {.blocks = "{'id':'c','type':'Const','params':{'value':[-1,0.5,2]}},"
                          "{'id':'x','type':'Clamp','inputs':{'lo':[0,0.75,-5],'hi':[0.5,1,1.5]}}",
                .edges = "{'from':'c.out','to':'x.x'}"};
    s_expect_position("Clamp vec3 bounds", &cv2, "x.out", 0, 0.0, 0.75, 1.5);

    EQ("Lerp(2,6,0.25)", s_unop("Lerp", "'a':2,'b':6,'t':0.25"), 3.0);
    EQ("Lerp(2,6,1.5) unclamped", s_unop("Lerp", "'a':2,'b':6,'t':1.5"), 8.0);
    EQ("Lerp(2,6,-0.5) unclamped", s_unop("Lerp", "'a':2,'b':6,'t':-0.5"), 0.0);
    pt_t lv = {.blocks = "{'id':'b','type':'Const','params':{'value':[4,8,-4]}},"
                         "{'id':'x','type':'Lerp','inputs':{'a':[0,0,0],'t':0.25}}",
               .edges = "{'from':'b.out','to':'x.b'}"};
    s_expect_position("Lerp vec3", &lv, "x.out", 0, 1.0, 2.0, -1.0);

    EQ("MapRange(0.25) defaults", s_unop("MapRange", "'x':0.25"), 0.25);
    EQ("MapRange(5,[0,10]->[100,200])",
       s_unop("MapRange", "'x':5,'inLo':0,'inHi':10,'outLo':100,'outHi':200"), 150.0);
    EQ("MapRange(15) unclamped",
       s_unop("MapRange", "'x':15,'inLo':0,'inHi':10,'outLo':100,'outHi':200"), 250.0);
    EQ("MapRange(3,[2,2]) = outLo",
       s_unop("MapRange", "'x':3,'inLo':2,'inHi':2,'outLo':7,'outHi':9"), 7.0);
    EQ("MapRange(2,[0,1]->[1,0])", s_unop("MapRange", "'x':2,'outLo':1,'outHi':0"), -1.0);
    char blk[256];
    snprintf(blk, sizeof blk, "{'id':'x','type':'MapRange','params':{'clamp':true},'inputs':{%s}}",
             "'x':15,'inLo':0,'inHi':10,'outLo':100,'outHi':200");
    EQ("MapRange(15) clamp", s_op(blk), 200.0);
    snprintf(blk, sizeof blk, "{'id':'x','type':'MapRange','params':{'clamp':true},'inputs':{%s}}",
             "'x':-5,'inLo':0,'inHi':10,'outLo':100,'outHi':200");
    EQ("MapRange(-5) clamp", s_op(blk), 100.0);
    snprintf(blk, sizeof blk, "{'id':'x','type':'MapRange','params':{'clamp':true},'inputs':{%s}}",
             "'x':5,'inLo':0,'inHi':10,'outLo':100,'outHi':200");
    EQ("MapRange(5) clamp, inside", s_op(blk), 150.0);
    snprintf(blk, sizeof blk, "{'id':'x','type':'MapRange','params':{'clamp':true},'inputs':{%s}}",
             "'x':2,'outLo':1,'outHi':0");
    EQ("MapRange(2,[0,1]->[1,0]) clamp", s_op(blk), 0.0);
    pt_t ms = {.blocks = "{'id':'x','type':'MapRange','inputs':{'inHi':1000,'outLo':-1,'outHi':1}}",
               .edges = "{'from':'t.time','to':'x.x'}"};
    EQ("MapRange(time=750,[0,1000]->[-1,1])", s_num(&ms, "x.out", 18), 0.5);
}

static void test_oscillator(void)
{
    /* lattice/shaping.h: sine(0) = 0; triangle -1 at 0 rising to 1 at 0.5
     * (linear); saw -1 rising to 1 (2p - 1); square 1 on [0, 0.5), -1 on
     * [0.5, 1). out = bias + amplitude * wave. Sine uses dmath (NEAR). */
    const char *shapes[] = {"sine", "triangle", "saw", "square"};
    const double ph[] = {0, 0.125, 0.25, 0.5, 0.75};
    const double want[4][5] = {{0, 0.70710678118654752, 1, 0, -1},
                               {-1, -0.5, 0, 1, 0},
                               {-1, -0.75, -0.5, 0, 0.5},
                               {1, 1, 1, -1, -1}};
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < 5; i++) {
            char blk[200], w[96];
            snprintf(blk, sizeof blk,
                     "{'id':'x','type':'Oscillator','params':{'shape':'%s'},'inputs':{'phase':%g}}",
                     shapes[s], ph[i]);
            snprintf(w, sizeof w, "Oscillator %s(%g)", shapes[s], ph[i]);
            if (s == 0)
                NEAR(w, s_op(blk), want[s][i]);
            else
                EQ(w, s_op(blk), want[s][i]);
            snprintf(blk, sizeof blk,
                     "{'id':'x','type':'Oscillator','params':{'shape':'%s'},"
                     "'inputs':{'phase':%g,'amplitude':2,'bias':0.5}}",
                     shapes[s], ph[i]);
            snprintf(w, sizeof w, "Oscillator %s(%g)*2+0.5", shapes[s], ph[i]);
            if (s == 0)
                NEAR(w, s_op(blk), 0.5 + 2 * want[s][i]);
            else
                EQ(w, s_op(blk), 0.5 + 2 * want[s][i]);
        }
    NEAR("Oscillator default shape is sine",
         s_op("{'id':'x','type':'Oscillator','inputs':{'phase':0.25}}"), 1.0);
    /* Driven by the phase rail: triangle at phase 0.75 (frame 18, P 1000). */
    pt_t pt = {.root = ROOT_INF(1000),
               .blocks = "{'id':'x','type':'Oscillator','params':{'shape':'triangle'}}",
               .edges = "{'from':'t.phase','to':'x.phase'}"};
    EQ("Oscillator triangle(t.phase=0.75)", s_num(&pt, "x.out", 18), 0.0);
    EQ("Oscillator triangle(t.phase=0.5)", s_num(&pt, "x.out", 12), 1.0);
}

static double s_ease(const char *curve, double t)
{
    char blk[160];
    snprintf(blk, sizeof blk,
             "{'id':'x','type':'Ease','params':{'curve':'%s'},'inputs':{'t':%.17g}}", curve, t);
    return s_op(blk);
}

static void test_ease(void)
{
    static const char *curves[] = {
        "linear",         "easeInSine",     "easeOutSine",      "easeInOutSine", "easeInQuad",
        "easeOutQuad",    "easeInOutQuad",  "easeInCubic",      "easeOutCubic",  "easeInOutCubic",
        "easeInQuart",    "easeOutQuart",   "easeInOutQuart",   "easeInQuint",   "easeOutQuint",
        "easeInOutQuint", "easeInExpo",     "easeOutExpo",      "easeInOutExpo", "easeInCirc",
        "easeOutCirc",    "easeInOutCirc",  "easeInBack",       "easeOutBack",   "easeInOutBack",
        "easeInElastic",  "easeOutElastic", "easeInOutElastic", "easeInBounce",  "easeOutBounce",
        "easeInOutBounce"};
    char w[96];
    /* Every curve: 0 -> 0, 1 -> 1 (exactly), t clamped to [0, 1]; in-out
     * curves pass through 0.5 at 0.5 (NEAR: sin/cos/pow in some). */
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        snprintf(w, sizeof w, "Ease %s(0)", curves[i]);
        EQ(w, s_ease(curves[i], 0), 0.0);
        snprintf(w, sizeof w, "Ease %s(1)", curves[i]);
        EQ(w, s_ease(curves[i], 1), 1.0);
        snprintf(w, sizeof w, "Ease %s(-0.5) clamps", curves[i]);
        EQ(w, s_ease(curves[i], -0.5), 0.0);
        snprintf(w, sizeof w, "Ease %s(1.5) clamps", curves[i]);
        EQ(w, s_ease(curves[i], 1.5), 1.0);
        if (strstr(curves[i], "InOut")) {
            snprintf(w, sizeof w, "Ease %s(0.5)", curves[i]);
            NEAR(w, s_ease(curves[i], 0.5), 0.5);
        }
    }
    /* Interior points from the standard (Penner / easings.net) formulas.
     * Polynomials at dyadic t are exact; the rest NEAR (transcendentals). */
    const double c1 = 1.70158, c2 = c1 * 1.525, c3 = c1 + 1;
    const double c4 = 2 * PI_ / 3, c5 = 2 * PI_ / 4.5;
    struct {
        const char *curve;
        double t, want;
        bool exact;
    } pts[] = {
        {"linear", 0.3, 0.3, true},
        {"easeInSine", 0.5, 1 - cos(PI_ / 4), false},
        {"easeOutSine", 0.5, sin(PI_ / 4), false},
        {"easeInOutSine", 0.25, (1 - cos(PI_ / 4)) / 2, false},
        {"easeInQuad", 0.5, 0.25, true},
        {"easeOutQuad", 0.5, 0.75, true},
        {"easeInOutQuad", 0.25, 0.125, true},
        {"easeInOutQuad", 0.75, 0.875, true},
        {"easeInCubic", 0.5, 0.125, true},
        {"easeOutCubic", 0.5, 0.875, true},
        {"easeInOutCubic", 0.25, 0.0625, true},
        {"easeInOutCubic", 0.75, 0.9375, true},
        {"easeInQuart", 0.5, 0.0625, true},
        {"easeOutQuart", 0.5, 0.9375, true},
        {"easeInOutQuart", 0.25, 0.03125, true},
        {"easeInQuint", 0.5, 0.03125, true},
        {"easeOutQuint", 0.5, 0.96875, true},
        {"easeInOutQuint", 0.25, 0.015625, true},
        {"easeInExpo", 0.5, 0.03125, false},      /* 2^(10t - 10) */
        {"easeOutExpo", 0.5, 0.96875, false},     /* 1 - 2^(-10t) */
        {"easeInOutExpo", 0.25, 0.015625, false}, /* 2^(20t - 10) / 2 */
        {"easeInCirc", 0.5, 1 - sqrt(0.75), false},
        {"easeOutCirc", 0.5, sqrt(0.75), false},
        {"easeInOutCirc", 0.25, (1 - sqrt(0.75)) / 2, false},
        {"easeInBack", 0.5, c3 * 0.125 - c1 * 0.25, false},
        {"easeOutBack", 0.5, 1 + c3 * -0.125 + c1 * 0.25, false},
        {"easeInOutBack", 0.25, (0.25 * ((c2 + 1) * 0.5 - c2)) / 2, false},
        {"easeInElastic", 0.5, -pow(2, -5) * sin((5 - 10.75) * c4), false},
        {"easeOutElastic", 0.5, pow(2, -5) * sin((5 - 0.75) * c4) + 1, false},
        {"easeInOutElastic", 0.25, -(pow(2, -5) * sin((5 - 11.125) * c5)) / 2, false},
        {"easeOutBounce", 0.2, 7.5625 * 0.04, false},
        {"easeOutBounce", 0.5, 0.765625, false},
        {"easeInBounce", 0.5, 0.234375, false},
        {"easeInOutBounce", 0.25, 0.1171875, false},
    };
    NEAR("easeOutElastic(0.5) by hand", pow(2, -5) * sin((5 - 0.75) * c4) + 1, 1.015625);
    NEAR("easeInElastic(0.5) by hand", -pow(2, -5) * sin((5 - 10.75) * c4), -0.015625);
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        snprintf(w, sizeof w, "Ease %s(%g)", pts[i].curve, pts[i].t);
        if (pts[i].exact)
            EQ(w, s_ease(pts[i].curve, pts[i].t), pts[i].want);
        else
            NEAR(w, s_ease(pts[i].curve, pts[i].t), pts[i].want);
    }
    /* Ease on a signal: t = time / 1000 at frame 12 = 0.5. */
    pt_t pt = {.blocks = "{'id':'m','type':'Mul','inputs':{'b':0.001}},"
                         "{'id':'x','type':'Ease','params':{'curve':'easeInQuad'}}",
               .edges = "{'from':'t.time','to':'m.a'},{'from':'m.out','to':'x.t'}"};
    EQ("Ease easeInQuad(time/1000) f=12", s_num(&pt, "x.out", 12), 0.25);
}

/* Keyframes fed by t.time (t = f * 1000 / 24; frame 6 = 250 ms). */
static double s_keys(const char *keys, int64_t f)
{
    char blk[1024];
    snprintf(blk, sizeof blk, "{'id':'x','type':'Keyframes','params':{'keys':%s}}", keys);
    pt_t pt = {.blocks = blk, .edges = "{'from':'t.time','to':'x.time'}"};
    return s_num(&pt, "x.out", f);
}

/* CSS cubic-bezier (0,0), (x1,y1), (x2,y2), (1,1): y at x, by bisection. */
static double s_css_bezier(double x1, double y1, double x2, double y2, double x)
{
    double lo = 0, hi = 1, s = 0.5;
    for (int i = 0; i < 200; i++) {
        s = (lo + hi) / 2;
        double u = 1 - s;
        double bx = 3 * u * u * s * x1 + 3 * u * s * s * x2 + s * s * s;
        if (bx < x)
            lo = s;
        else
            hi = s;
    }
    double u = 1 - s;
    return 3 * u * u * s * y1 + 3 * u * s * s * y2 + s * s * s;
}

static void test_keyframes(void)
{
    const char *lin = "[{'timeMs':0,'value':0},{'timeMs':1000,'value':10}]";
    EQ("Keyframes linear t=0", s_keys(lin, 0), 0.0);
    EQ("Keyframes linear t=250", s_keys(lin, 6), 2.5);
    EQ("Keyframes linear t=500", s_keys(lin, 12), 5.0);
    NEAR("Keyframes linear t=291.67", s_keys(lin, 7), 10 * (s_t(7) / 1000));
    EQ("Keyframes linear t=1000 (last key)", s_keys(lin, 24), 10.0);
    EQ("Keyframes linear t=1250 clamps", s_keys(lin, 30), 10.0);

    const char *late = "[{'timeMs':500,'value':4},{'timeMs':1000,'value':8}]";
    EQ("Keyframes before first key t=0", s_keys(late, 0), 4.0);
    EQ("Keyframes before first key t=250", s_keys(late, 6), 4.0);
    EQ("Keyframes t=750", s_keys(late, 18), 6.0);
    EQ("Keyframes after last key", s_keys(late, 30), 8.0);

    const char *hold = "[{'timeMs':0,'value':1,'interp':'hold'},{'timeMs':500,'value':3,"
                       "'interp':'hold'},{'timeMs':1000,'value':7}]";
    EQ("Keyframes hold t=250", s_keys(hold, 6), 1.0);
    EQ("Keyframes hold t=458", s_keys(hold, 11), 1.0);
    EQ("Keyframes hold t=500 (next key)", s_keys(hold, 12), 3.0);
    EQ("Keyframes hold t=750", s_keys(hold, 18), 3.0);
    EQ("Keyframes hold t=1000", s_keys(hold, 24), 7.0);
    EQ("Keyframes hold t=1250", s_keys(hold, 30), 7.0);

    /* Bezier with the default handles (1/3,1/3), (2/3,2/3) is linear. The
     * runtime solves the curve by bisection to 1e-12 in the parameter, so
     * values (scale 10) are within 1e-10: NEAR_TOL 1e-9. */
    const char *bez = "[{'timeMs':0,'value':0,'interp':'bezier'},{'timeMs':1000,'value':10}]";
    NEAR_TOL("Keyframes bezier default t=250", s_keys(bez, 6), 2.5, 1e-9);
    NEAR_TOL("Keyframes bezier default t=291.67", s_keys(bez, 7), 10 * (s_t(7) / 1000), 1e-9);
    NEAR_TOL("Keyframes bezier default t=750", s_keys(bez, 18), 7.5, 1e-9);
    EQ("Keyframes bezier t=1250 clamps", s_keys(bez, 30), 10.0);
    /* Explicit handles: outHandle of the left key, inHandle of the right. */
    const char *bez2 = "[{'timeMs':0,'value':0,'interp':'bezier','outHandle':[0.25,0.1]},"
                       "{'timeMs':1000,'value':10,'inHandle':[0.25,1]}]";
    NEAR_TOL("Keyframes bezier handles t=250", s_keys(bez2, 6),
             10 * s_css_bezier(0.25, 0.1, 0.25, 1, 0.25), 1e-9);
    NEAR_TOL("Keyframes bezier handles t=750", s_keys(bez2, 18),
             10 * s_css_bezier(0.25, 0.1, 0.25, 1, 0.75), 1e-9);

    /* Linear with the key's easing applied to the segment's t. */
    const char *eased = "[{'timeMs':0,'value':0,'easing':'easeInQuad'},{'timeMs':1000,'value':10}]";
    EQ("Keyframes easeInQuad t=500", s_keys(eased, 12), 2.5);
    EQ("Keyframes easeInQuad t=250", s_keys(eased, 6), 0.625);

    EQ("Keyframes single key", s_keys("[{'timeMs':100,'value':3}]", 12), 3.0);
    const char *three =
        "[{'timeMs':0,'value':0},{'timeMs':500,'value':10},{'timeMs':1000,'value':-10}]";
    EQ("Keyframes 3 keys t=250", s_keys(three, 6), 5.0);
    EQ("Keyframes 3 keys t=750", s_keys(three, 18), 0.0);

    pt_t v3 = {.blocks = "{'id':'x','type':'Keyframes','params':{'keys':"
                         "[{'timeMs':0,'value':[0,0,0]},{'timeMs':1000,'value':[2,4,-6]}]}}",
               .edges = "{'from':'t.time','to':'x.time'}"};
    s_expect_position("Keyframes vec3", &v3, "x.out", 6, 0.5, 1.0, -1.5);
}

static void test_noise_hash(void)
{
    char w[96];
    enum { N = 200 };
    static double a[N], b[N], c[N];
    /* Noise1D of x = time / 100 over 200 frames (x in [0, 83)). */
    pt_t pt = {.blocks = "{'id':'m','type':'Mul','inputs':{'b':0.01}},{'id':'n','type':'Noise1D'}",
               .edges = "{'from':'t.time','to':'m.a'},{'from':'m.out','to':'n.x'}"};
    pt_t pt3 = {.blocks = "{'id':'m','type':'Mul','inputs':{'b':0.01}},"
                          "{'id':'n','type':'Noise1D','params':{'octaves':3}}",
                .edges = "{'from':'t.time','to':'m.a'},{'from':'m.out','to':'n.x'}"};
    if (s_series(&pt, "n.out", N, a) && s_series(&pt, "n.out", N, b) &&
        s_series(&pt3, "n.out", N, c)) {
        int bad = 0, diff = 0, bad3 = 0;
        double lo = 1, hi = 0;
        for (int f = 0; f < N; f++) {
            bad += !(a[f] >= 0 && a[f] < 1);
            bad3 += !(c[f] >= 0 && c[f] < 1);
            diff += a[f] != b[f];
            lo = fmin(lo, a[f]);
            hi = fmax(hi, a[f]);
        }
        CHECK_MSG(bad == 0, "Noise1D: %d values outside [0,1)", bad);
        CHECK_MSG(bad3 == 0, "Noise1D octaves 3: %d values outside [0,1)", bad3);
        CHECK_MSG(diff == 0, "Noise1D: %d values differ between two runs", diff);
        CHECK_MSG(hi - lo > 0.1, "Noise1D barely varies: [%g, %g]", lo, hi);
    }
    /* Random access gives the same value; a pure function of x. */
    EQ("Noise1D frame 150 on a fresh instance", s_num(&pt, "n.out", 150), a[150]);
    double n1 = s_op("{'id':'x','type':'Noise1D','inputs':{'x':2.3}}");
    double n2 = s_op("{'id':'x','type':'Noise1D','inputs':{'x':2.3000001}}");
    TRUE_("Noise1D(2.3) in [0,1)", n1 >= 0 && n1 < 1);
    CHECK_MSG(fabs(n1 - n2) < 1e-5, "Noise1D not smooth: %.17g vs %.17g", n1, n2);
    EQ("Noise1D(2.3) twice", s_op("{'id':'x','type':'Noise1D','inputs':{'x':2.3}}"), n1);

    /* Hash of x = time over 48 frames: in [0,1), all different, repeatable. */
    pt_t h = {.blocks = "{'id':'h','type':'Hash'}", .edges = "{'from':'t.time','to':'h.x'}"};
    if (s_series(&h, "h.out", 48, a) && s_series(&h, "h.out", 48, b)) {
        int bad = 0, same = 0, diff = 0;
        for (int f = 0; f < 48; f++) {
            bad += !(a[f] >= 0 && a[f] < 1);
            diff += a[f] != b[f];
            for (int g = 0; g < f; g++)
                same += a[f] == a[g];
        }
        CHECK_MSG(bad == 0, "Hash: %d values outside [0,1)", bad);
        CHECK_MSG(same == 0, "Hash: %d pairs of different x hash equal", same);
        CHECK_MSG(diff == 0, "Hash: %d values differ between two runs", diff);
        snprintf(w, sizeof w, "Hash frame 30 on a fresh instance");
        EQ(w, s_num(&h, "h.out", 30), a[30]);
    }
    double h0 = s_op("{'id':'x','type':'Hash','inputs':{'x':0}}");
    EQ("Hash(-0.0) = Hash(0)", s_op("{'id':'x','type':'Hash','inputs':{'x':-0.0}}"), h0);
    EQ("Hash(0) twice", s_op("{'id':'x','type':'Hash','inputs':{'x':0}}"), h0);
    TRUE_("Hash(1.5) != Hash(2.5)", s_op("{'id':'x','type':'Hash','inputs':{'x':1.5}}") !=
                                        s_op("{'id':'x','type':'Hash','inputs':{'x':2.5}}"));
}

static void test_phase_vec_color(void)
{
    EQ("WrapPhase(1.25)", s_unx("WrapPhase", 1.25), 0.25);
    EQ("WrapPhase(-0.25)", s_unx("WrapPhase", -0.25), 0.75);
    EQ("WrapPhase(3)", s_unx("WrapPhase", 3), 0.0);
    EQ("WrapPhase(0.5)", s_unx("WrapPhase", 0.5), 0.5);
    EQ("WrapPhase(-2.5)", s_unx("WrapPhase", -2.5), 0.5);
    double wp = s_unx("WrapPhase", -1e-20);
    TRUE_("WrapPhase(-1e-20) in [0,1)", wp >= 0 && wp < 1);

    EQ("PhaseOffset(0.75,0.5)", s_unop("PhaseOffset", "'phase':0.75,'offset':0.5"), 0.25);
    EQ("PhaseOffset(0.25,-0.5)", s_unop("PhaseOffset", "'phase':0.25,'offset':-0.5"), 0.75);
    EQ("PhaseOffset(0.25) default", s_unop("PhaseOffset", "'phase':0.25"), 0.25);
    EQ("PhaseOffset(0.5,2.25)", s_unop("PhaseOffset", "'phase':0.5,'offset':2.25"), 0.75);
    pt_t po = {.root = ROOT_INF(1000),
               .blocks = "{'id':'x','type':'PhaseOffset','inputs':{'offset':0.5}}",
               .edges = "{'from':'t.phase','to':'x.phase'}"};
    EQ("PhaseOffset(t.phase=0.75,0.5)", s_num(&po, "x.out", 18), 0.25);

    double v2[2];
    pt_t m2 = {.blocks = "{'id':'x','type':'MakeVec2','inputs':{'x':1.5,'y':2.5}}"};
    if (s_vec2(&m2, "x.out", 0, v2)) {
        EQ("MakeVec2 x", v2[0], 1.5);
        EQ("MakeVec2 y", v2[1], 2.5);
    }
    pt_t m2d = {.blocks = "{'id':'x','type':'MakeVec2','inputs':{'y':3}}"};
    if (s_vec2(&m2d, "x.out", 0, v2)) {
        EQ("MakeVec2 default x", v2[0], 0.0);
        EQ("MakeVec2 y", v2[1], 3.0);
    }
    lx_draw_item_t it;
    pt_t m3 = {.blocks = "{'id':'x','type':'MakeVec3','inputs':{'x':1,'y':-2,'z':0.5}}"};
    s_expect_position("MakeVec3", &m3, "x.out", 0, 1.0, -2.0, 0.5);
    pt_t m3d = {.blocks = "{'id':'x','type':'MakeVec3','inputs':{'y':4}}"};
    if (s_draw(&m3d, "position", "x.out", 0, &it)) {
        EQ("MakeVec3 default x", it.position[0], 0.0);
        EQ("MakeVec3 y", it.position[1], 4.0);
        EQ("MakeVec3 default z", it.position[2], 0.0);
    }
    pt_t m3s = {.blocks = "{'id':'x','type':'MakeVec3','inputs':{'y':4}}",
                .edges = "{'from':'t.time','to':'x.z'}"};
    if (s_draw(&m3s, "position", "x.out", 6, &it))
        EQ("MakeVec3 z = time", it.position[2], 250.0);
    /* SplitVec3 components routed to other axes: (x, y, z) -> (y, z, x). */
    pt_t sp = {.blocks = "{'id':'c','type':'Const','params':{'value':[1,2,3]}},"
                         "{'id':'s','type':'SplitVec3'},{'id':'m','type':'MakeVec3'}",
               .edges = "{'from':'c.out','to':'s.v'},{'from':'s.x','to':'m.z'},"
                        "{'from':'s.y','to':'m.x'},{'from':'s.z','to':'m.y'}"};
    if (s_draw(&sp, "position", "m.out", 0, &it)) {
        EQ("SplitVec3 y", it.position[0], 2.0);
        EQ("SplitVec3 z", it.position[1], 3.0);
        EQ("SplitVec3 x", it.position[2], 1.0);
    }

    /* Hsv: the standard hexcone; s and v clamped to [0, 1]. NEAR: the hue
     * sector arithmetic (h * 6 and its fraction) need not be exact. */
    struct {
        const char *in;
        double rgba[4];
    } hsv[] = {
        {"'h':0", {1, 0, 0, 1}},
        {"'h':0.3333333333333333", {0, 1, 0, 1}},
        {"'h':0.6666666666666666", {0, 0, 1, 1}},
        {"'h':0.5", {0, 1, 1, 1}},
        {"'h':0.25", {0.5, 1, 0, 1}},
        {"'h':0.16666666666666666", {1, 1, 0, 1}},
        {"'h':0.08333333333333333", {1, 0.5, 0, 1}},
        {"'h':0.8333333333333334", {1, 0, 1, 1}},
        {"'h':0,'s':0.5,'v':0.5,'a':0.25", {0.5, 0.25, 0.25, 0.25}},
        {"'h':0.7,'s':0,'v':0.5", {0.5, 0.5, 0.5, 1}},
        {"'h':0,'s':2", {1, 0, 0, 1}},
        {"'h':0.5,'v':1.5", {0, 1, 1, 1}},
        {"'h':0.5,'v':0", {0, 0, 0, 1}},
    };
    for (size_t i = 0; i < sizeof hsv / sizeof hsv[0]; i++) {
        char blk[160], w[96];
        snprintf(blk, sizeof blk, "{'id':'x','type':'Hsv','inputs':{%s}}", hsv[i].in);
        pt_t pt = {.blocks = blk};
        if (s_draw(&pt, "color", "x.color", 0, &it))
            for (int c = 0; c < 4; c++) {
                snprintf(w, sizeof w, "Hsv(%s)[%d]", hsv[i].in, c);
                NEAR(w, it.color[c], hsv[i].rgba[c]);
            }
    }

    /* PolarToCartesian: radius * (cos, sin)(2 pi angle); dmath, NEAR. */
    struct {
        const char *in;
        double xy[2];
    } pol[] = {
        {"'angle':0,'radius':2", {2, 0}},
        {"'angle':0.25", {0, 1}},
        {"'angle':0.5,'radius':3", {-3, 0}},
        {"'angle':0.75,'radius':0.5", {0, -0.5}},
        {"'angle':0.125", {0.70710678118654752, 0.70710678118654752}},
        {"'angle':0.3,'radius':1.5", {1.5 * cos(0.6 * PI_), 1.5 * sin(0.6 * PI_)}},
    };
    for (size_t i = 0; i < sizeof pol / sizeof pol[0]; i++) {
        char blk[160], w[96];
        snprintf(blk, sizeof blk, "{'id':'x','type':'PolarToCartesian','inputs':{%s}}", pol[i].in);
        pt_t pt = {.blocks = blk};
        if (s_vec2(&pt, "x.out", 0, v2))
            for (int c = 0; c < 2; c++) {
                snprintf(w, sizeof w, "PolarToCartesian(%s)[%d]", pol[i].in, c);
                NEAR(w, v2[c], pol[i].xy[c]);
            }
    }
}

/* ------------------------------------------------------------------ */
/* State                                                                */

static void test_unit_delay(void)
{
    char w[96];
    double v[8];
    pt_t d = {.blocks = "{'id':'d','type':'UnitDelay','inputs':{'initial':-1}}",
              .edges = "{'from':'t.time','to':'d.in'}"};
    if (s_series(&d, "d.out", 8, v))
        for (int f = 0; f < 8; f++) {
            snprintf(w, sizeof w, "UnitDelay(time) f=%d", f);
            EQ(w, v[f], f == 0 ? -1.0 : s_t(f - 1));
        }
    EQ("UnitDelay(time) f=5, fresh instance", s_num(&d, "d.out", 5), s_t(4));
    pt_t d0 = {.blocks = "{'id':'d','type':'UnitDelay'}", .edges = "{'from':'t.time','to':'d.in'}"};
    EQ("UnitDelay default initial", s_num(&d0, "d.out", 0), 0.0);
    EQ("UnitDelay f=1", s_num(&d0, "d.out", 1), 0.0);
    EQ("UnitDelay f=2", s_num(&d0, "d.out", 2), s_t(1));
    /* Two in a chain: two frames late. */
    pt_t dd = {.blocks = "{'id':'d','type':'UnitDelay','inputs':{'initial':-1}},"
                         "{'id':'e','type':'UnitDelay','inputs':{'initial':-2}}",
               .edges = "{'from':'t.time','to':'d.in'},{'from':'d.out','to':'e.in'}"};
    if (s_series(&dd, "e.out", 5, v)) {
        EQ("UnitDelay chain f=0", v[0], -2.0);
        EQ("UnitDelay chain f=1", v[1], -1.0);
        EQ("UnitDelay chain f=2", v[2], 0.0);
        EQ("UnitDelay chain f=4", v[4], s_t(2));
    }
    /* vec3 with a vec3 initial. */
    lx_draw_item_t it;
    pt_t dv = {.blocks = "{'id':'c','type':'Const','params':{'value':[4,5,6]}},"
                         "{'id':'d','type':'UnitDelay','inputs':{'initial':[1,2,3]}}",
               .edges = "{'from':'c.out','to':'d.in'}"};
    for (int f = 0; f < 3; f++)
        if (s_draw(&dv, "position", "d.out", f, &it))
            for (int c = 0; c < 3; c++) {
                snprintf(w, sizeof w, "UnitDelay vec3 f=%d [%d]", f, c);
                EQ(w, it.position[c], f == 0 ? 1.0 + c : 4.0 + c);
            }
    /* A field: every element delayed. */
    pt_t df = {.blocks = "{'id':'a','type':'Array','params':{'count':3}},"
                         "{'id':'d','type':'UnitDelay'},{'id':'m','type':'MakeVec3'}",
               .edges =
                   "{'from':'a.index','to':'d.in'},{'from':'d.out','to':'m.x'},"
                   "{'from':'m.out','to':'draw.position'},{'from':'a.domain','to':'draw.domain'}"};
    lx_draw_item_t items[4];
    for (int f = 0; f < 2; f++) {
        int n = s_items(&df, NULL, f, items, 4, NULL);
        EQ("UnitDelay field items", n, 3);
        for (int i = 0; i < n && i < 3; i++) {
            snprintf(w, sizeof w, "UnitDelay field f=%d element %d", f, i);
            EQ(w, items[i].position[0], f == 0 ? 0.0 : (double)i);
        }
    }
}

static void test_lag(void)
{
    char w[96];
    double v[8];
    /* out_0 = 0, out_{f+1} = out_f + (target_f - out_f) * smoothing. */
    pt_t l = {.blocks = "{'id':'l','type':'Lag','inputs':{'target':8}}"};
    const double want[] = {0, 4, 6, 7, 7.5, 7.75};
    s_expect_series("Lag(8, 0.5)", &l, "l.out", want, 6, 0);
    pt_t l2 = {.blocks = "{'id':'l','type':'Lag','inputs':{'target':16,'smoothing':0.25}}"};
    const double want2[] = {0, 4, 7, 9.25, 10.9375};
    s_expect_series("Lag(16, 0.25)", &l2, "l.out", want2, 5, 0);
    pt_t l3 = {.blocks = "{'id':'l','type':'Lag','inputs':{'smoothing':1}}",
               .edges = "{'from':'t.time','to':'l.target'}"};
    if (s_series(&l3, "l.out", 5, v))
        for (int f = 0; f < 5; f++) {
            snprintf(w, sizeof w, "Lag(time, 1) f=%d (= previous target)", f);
            EQ(w, v[f], f == 0 ? 0.0 : s_t(f - 1));
        }
    /* A moving target: the recurrence in the same operations. */
    pt_t l4 = {.blocks = "{'id':'l','type':'Lag','inputs':{'smoothing':0.5}}",
               .edges = "{'from':'t.time','to':'l.target'}"};
    if (s_series(&l4, "l.out", 8, v)) {
        double o = 0;
        for (int f = 0; f < 8; f++) {
            snprintf(w, sizeof w, "Lag(time, 0.5) f=%d", f);
            EQ(w, v[f], o);
            o = o + (s_t(f) - o) * 0.5;
        }
    }
    EQ("Lag(8) f=3 on a fresh instance", s_num(&l, "l.out", 3), 7.0);
    lx_draw_item_t it;
    pt_t lv = {.blocks = "{'id':'c','type':'Const','params':{'value':[8,16,-8]}},"
                         "{'id':'l','type':'Lag'}",
               .edges = "{'from':'c.out','to':'l.target'}"};
    const double wantv[3][3] = {{0, 0, 0}, {4, 8, -4}, {6, 12, -6}};
    for (int f = 0; f < 3; f++)
        if (s_draw(&lv, "position", "l.out", f, &it))
            for (int c = 0; c < 3; c++) {
                snprintf(w, sizeof w, "Lag vec3 f=%d [%d]", f, c);
                EQ(w, it.position[c], wantv[f][c]);
            }
}

static void test_phasor_accumulator(void)
{
    char w[96];
    double v[40];
    /* out_{f+1} = frac(out_f + freq * dt), dt = 1/24 s (not a binary
     * fraction: NEAR, measured around the circle). */
    pt_t p = {.blocks = "{'id':'p','type':'Phasor','inputs':{'frequencyHz':6}}"};
    const double want[] = {0, 0.25, 0.5, 0.75, 0, 0.25, 0.5, 0.75, 0};
    if (s_series(&p, "p.out", 9, v))
        for (int f = 0; f < 9; f++) {
            snprintf(w, sizeof w, "Phasor(6 Hz) f=%d", f);
            double d = fabs(v[f] - want[f]);
            CHECK_MSG(v[f] >= 0 && v[f] < 1 && fmin(d, 1 - d) <= 1e-12, "%s: got %.17g, want %g", w,
                      v[f], want[f]);
        }
    pt_t pn = {.blocks = "{'id':'p','type':'Phasor','inputs':{'frequencyHz':-6}}"};
    const double wantn[] = {0, 0.75, 0.5, 0.25, 0};
    if (s_series(&pn, "p.out", 5, v))
        for (int f = 0; f < 5; f++) {
            snprintf(w, sizeof w, "Phasor(-6 Hz) f=%d", f);
            double d = fabs(v[f] - wantn[f]);
            CHECK_MSG(v[f] >= 0 && v[f] < 1 && fmin(d, 1 - d) <= 1e-12, "%s: got %.17g, want %g", w,
                      v[f], wantn[f]);
        }
    pt_t p1 = {.blocks = "{'id':'p','type':'Phasor'}"};
    if (s_series(&p1, "p.out", 40, v))
        for (int f = 0; f < 40; f++) {
            snprintf(w, sizeof w, "Phasor(default 1 Hz) f=%d", f);
            double want1 = s_frac(f / 24.0), d = fabs(v[f] - want1);
            CHECK_MSG(v[f] >= 0 && v[f] < 1 && fmin(d, 1 - d) <= 1e-12, "%s: got %.17g, want %.17g",
                      w, v[f], want1);
        }

    /* value_{f+1} = reset_f ? 0 : value_f + delta_f, from 0. */
    pt_t a = {.blocks = "{'id':'a','type':'Accumulator','inputs':{'delta':2.5}}"};
    if (s_series(&a, "a.value", 11, v))
        for (int f = 0; f < 11; f++) {
            snprintf(w, sizeof w, "Accumulator(2.5) f=%d", f);
            EQ(w, v[f], 2.5 * f);
        }
    EQ("Accumulator(2.5) f=7, fresh instance", s_num(&a, "a.value", 7), 17.5);
    /* Reset by the pulse of a 250 ms period (frames 0, 6, 12, ...). */
    pt_t ar = {.root = ROOT_INF(250),
               .blocks = "{'id':'a','type':'Accumulator','inputs':{'delta':2.5}}",
               .edges = "{'from':'t.pulse','to':'a.reset'}"};
    if (s_series(&ar, "a.value", 20, v))
        for (int f = 0; f < 20; f++) {
            snprintf(w, sizeof w, "Accumulator(2.5, reset every 6) f=%d", f);
            EQ(w, v[f], f == 0 ? 0.0 : 2.5 * ((f - 1) % 6));
        }
    /* A signal delta: the running sum of earlier times. */
    pt_t as = {.blocks = "{'id':'a','type':'Accumulator'}",
               .edges = "{'from':'t.time','to':'a.delta'}"};
    if (s_series(&as, "a.value", 10, v)) {
        double s = 0;
        for (int f = 0; f < 10; f++) {
            snprintf(w, sizeof w, "Accumulator(time) f=%d", f);
            EQ(w, v[f], s);
            s += s_t(f);
        }
    }
}

static void test_sample_hold(void)
{
    char w[96];
    double v[20];
    /* Holds value (time) sampled at each pulse (frames 0, 6, 12), shown
     * from the next frame; initial before. */
    pt_t sh = {.root = ROOT_INF(250),
               .blocks = "{'id':'s','type':'SampleHold','inputs':{'initial':-1}}",
               .edges = "{'from':'t.time','to':'s.value'},{'from':'t.pulse','to':'s.trigger'}"};
    if (s_series(&sh, "s.out", 20, v))
        for (int f = 0; f < 20; f++) {
            snprintf(w, sizeof w, "SampleHold(time, pulse/250) f=%d", f);
            EQ(w, v[f], f == 0 ? -1.0 : 250.0 * ((f - 1) / 6));
        }
    EQ("SampleHold f=14, fresh instance", s_num(&sh, "s.out", 14), 500.0);
    pt_t sh0 = {.root = ROOT_INF(250),
                .blocks = "{'id':'s','type':'SampleHold'}",
                .edges = "{'from':'t.time','to':'s.value'},{'from':'t.pulse','to':'s.trigger'}"};
    EQ("SampleHold default initial", s_num(&sh0, "s.out", 0), 0.0);
    /* A trigger that fires once (frame 0 of a 1e9 ms pulse) holds forever. */
    pt_t once = {.root = ROOT_INF(1e9),
                 .blocks = "{'id':'s','type':'SampleHold','inputs':{'initial':-1}},"
                           "{'id':'k','type':'Add','inputs':{'b':3}}",
                 .edges = "{'from':'t.time','to':'k.a'},{'from':'k.out','to':'s.value'},"
                          "{'from':'t.pulse','to':'s.trigger'}"};
    if (s_series(&once, "s.out", 10, v))
        for (int f = 0; f < 10; f++) {
            snprintf(w, sizeof w, "SampleHold(fired once) f=%d", f);
            EQ(w, v[f], f == 0 ? -1.0 : 3.0);
        }
    pt_t shv = {.root = ROOT_INF(250),
                .blocks = "{'id':'m','type':'MakeVec3','inputs':{'y':1}},"
                          "{'id':'s','type':'SampleHold','inputs':{'initial':[9,8,7]}}",
                .edges = "{'from':'t.time','to':'m.x'},{'from':'m.out','to':'s.value'},"
                         "{'from':'t.pulse','to':'s.trigger'}"};
    s_expect_position("SampleHold vec3 initial", &shv, "s.out", 0, 9.0, 8.0, 7.0);
    s_expect_position("SampleHold vec3 f=7", &shv, "s.out", 7, 250.0, 1.0, 0.0);
}

/* Particles at 32 fps (dt = 1/32 s exactly): rate 32/s gives one birth per
 * frame, lifetime 0.25 s = 8 frames. */
static void test_particles(void)
{
    char w[128];
    pt_t pt = {
        .fps = 32,
        .blocks = "{'id':'p','type':'Particles','params':{'maxParticles':64},"
                  "'inputs':{'emitPosition':[1,2,3],'rate':32,'lifetime':0.25,'speed':2,"
                  "'spread':0,'gravity':[0,0,0],'size':0.5}},{'id':'sc','type':'MakeVec3'}",
        .edges =
            "{'from':'p.domain','to':'draw.domain'},{'from':'p.position','to':'draw.position'},"
            "{'from':'p.age','to':'sc.x'},{'from':'p.size','to':'sc.y'},"
            "{'from':'sc.out','to':'draw.scale'},{'from':'p.velocity','to':'draw.rotation'}"};
    rt_t rt;
    enum { NF = 24 };
    lx_digest_t seq[NF];
    if (s_open(&rt, &pt, NULL, NULL)) {
        for (int f = 0; f < NF; f++) {
            const lx_render_frame_t *rf = rt_frame(&rt, f);
            if (!rf)
                break;
            rt_frame_digest(rf, &seq[f]);
            /* One birth per frame from frame 0's update; a particle lives
             * while its age (0, 1/32, ...) is below 0.25: min(f, 8). */
            uint32_t want_n = f < 8 ? (uint32_t)f : 8;
            snprintf(w, sizeof w, "Particles alive f=%d", f);
            EQ(w, rf->n_items, want_n);
            int n0 = 0;
            double age_sum = 0;
            for (uint32_t i = 0; i < rf->n_items; i++) {
                const lx_draw_item_t *it = &rf->items[i];
                double age = it->scale[0];
                snprintf(w, sizeof w, "Particles f=%d item %u age < lifetime", f, i);
                TRUE_(w, age >= 0 && age < 0.25);
                n0 += age == 0;
                age_sum += age;
                /* Straight up at speed 2 (spread 0, no gravity). */
                snprintf(w, sizeof w, "Particles f=%d item %u position", f, i);
                TRUE_(w, it->position[0] == 1 && it->position[1] == 2 + 2 * age &&
                             it->position[2] == 3);
                snprintf(w, sizeof w, "Particles f=%d item %u velocity", f, i);
                TRUE_(w, it->rotation[0] == 0 && it->rotation[1] == 2 && it->rotation[2] == 0);
                snprintf(w, sizeof w, "Particles f=%d item %u size", f, i);
                EQ(w, it->scale[1], 0.5);
                /* Slots are filled round-robin: element e was born by frame
                 * e's update, so its age is (f - 1 - e) / 32; id = 1 + e. */
                snprintf(w, sizeof w, "Particles f=%d item %u age of element %u", f, i,
                         it->element);
                EQ(w, age, (f - 1 - (double)it->element) / 32);
                snprintf(w, sizeof w, "Particles f=%d item %u id", f, i);
                EQ(w, it->id, 1 + it->element);
                if (i > 0) {
                    snprintf(w, sizeof w, "Particles f=%d items in element order", f);
                    TRUE_(w, it->element > rf->items[i - 1].element);
                }
            }
            if (f > 0) {
                snprintf(w, sizeof w, "Particles f=%d: one newborn at emitPosition", f);
                EQ(w, n0, 1);
                /* ages are 0, 1/32, ..., (n - 1)/32 */
                snprintf(w, sizeof w, "Particles f=%d: ages", f);
                EQ(w, age_sum, (double)want_n * (want_n - 1) / 2 / 32);
            }
        }
        /* The same frames again, backwards on the used instance. */
        for (int f = NF - 1; f >= 0; f -= 5) {
            lx_digest_t d;
            const lx_render_frame_t *rf = rt_frame(&rt, f);
            if (!rf)
                break;
            rt_frame_digest(rf, &d);
            snprintf(w, sizeof w, "Particles frame %d again equals the first pass", f);
            TRUE_(w, memcmp(d.bytes, seq[f].bytes, 32) == 0);
        }
    }
    rt_close(&rt);
    /* A fresh instance, frames out of order. */
    if (s_open(&rt, &pt, NULL, NULL)) {
        const int order[] = {15, 3, 20, 20, 0, 9};
        for (int k = 0; k < 6; k++) {
            lx_digest_t d;
            const lx_render_frame_t *rf = rt_frame(&rt, order[k]);
            if (!rf)
                break;
            rt_frame_digest(rf, &d);
            snprintf(w, sizeof w, "Particles frame %d on a fresh instance equals the first pass",
                     order[k]);
            TRUE_(w, memcmp(d.bytes, seq[order[k]].bytes, 32) == 0);
        }
    }
    rt_close(&rt);

    /* Default spread (30 degrees) and speed 1: |velocity| = 1 inside the
     * cone around +Y; with no gravity, position = emit + velocity * age
     * (NEAR: sqrt/cos/sin in the direction). */
    pt_t cone = {
        .fps = 32,
        .blocks = "{'id':'p','type':'Particles','inputs':{'emitPosition':[0,0,0],'rate':32,"
                  "'lifetime':1,'gravity':[0,0,0]}},{'id':'sc','type':'MakeVec3'}",
        .edges =
            "{'from':'p.domain','to':'draw.domain'},{'from':'p.position','to':'draw.position'},"
            "{'from':'p.age','to':'sc.x'},{'from':'p.size','to':'sc.y'},"
            "{'from':'sc.out','to':'draw.scale'},{'from':'p.velocity','to':'draw.rotation'}"};
    static lx_draw_item_t items[1100];
    int n = s_items(&cone, NULL, 20, items, 1100, NULL);
    EQ("Particles cone: alive at f=20", n, 20);
    int distinct = 0;
    for (int i = 0; i < n && i < 1100; i++) {
        const double *v = items[i].rotation, *p = items[i].position;
        double age = items[i].scale[0];
        snprintf(w, sizeof w, "Particles cone item %d |v| = 1", i);
        NEAR(w, sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]), 1.0);
        snprintf(w, sizeof w, "Particles cone item %d within 30 deg of +Y", i);
        TRUE_(w, v[1] >= cos(30 * PI_ / 180) - 1e-12);
        for (int c = 0; c < 3; c++) {
            snprintf(w, sizeof w, "Particles cone item %d position[%d] = v * age", i, c);
            NEAR(w, p[c], v[c] * age);
        }
        snprintf(w, sizeof w, "Particles cone item %d default size 0.1", i);
        EQ(w, items[i].scale[1], 0.1);
        distinct += i > 0 && (v[0] != items[i - 1].rotation[0] || v[2] != items[i - 1].rotation[2]);
    }
    CHECK_MSG(distinct >= n - 2, "Particles cone: directions repeat (%d distinct of %d)", distinct,
              n);

    /* Default gravity (0, -1, 0): velocity = v0 + g * age exactly; position
     * within the Euler step error (age * dt / 2) of 2 age - age^2 / 2. */
    pt_t grav = {
        .fps = 32,
        .blocks = "{'id':'p','type':'Particles','inputs':{'rate':32,'lifetime':1,"
                  "'speed':2,'spread':0}},{'id':'sc','type':'MakeVec3'}",
        .edges =
            "{'from':'p.domain','to':'draw.domain'},{'from':'p.position','to':'draw.position'},"
            "{'from':'p.age','to':'sc.x'},{'from':'sc.out','to':'draw.scale'},"
            "{'from':'p.velocity','to':'draw.rotation'}"};
    n = s_items(&grav, NULL, 20, items, 1100, NULL);
    EQ("Particles gravity: alive at f=20", n, 20);
    for (int i = 0; i < n && i < 1100; i++) {
        double age = items[i].scale[0], y = items[i].position[1];
        snprintf(w, sizeof w, "Particles gravity item %d velocity.y = 2 - age", i);
        EQ(w, items[i].rotation[1], 2 - age);
        snprintf(w, sizeof w, "Particles gravity item %d height", i);
        CHECK_MSG(fabs(y - (2 * age - age * age / 2)) <= age / 32 / 2 + 1e-12,
                  "%s: y %.17g at age %g", w, y, age);
    }

    /* A full pool: maxParticles 4, lifetime 1 s: 4 alive, the oldest
     * replaced; ids stay within the sink's 4 ids. */
    pt_t full = {
        .fps = 32,
        .blocks = "{'id':'p','type':'Particles','params':{'maxParticles':4},"
                  "'inputs':{'rate':32,'lifetime':1}}",
        .edges =
            "{'from':'p.domain','to':'draw.domain'},{'from':'p.position','to':'draw.position'}"};
    lx_draw_item_t few[8];
    n = s_items(&full, NULL, 10, few, 8, NULL);
    EQ("Particles full pool alive", n, 4);
    for (int i = 0; i < n && i < 8; i++) {
        snprintf(w, sizeof w, "Particles full pool item %d id", i);
        TRUE_(w, few[i].id >= 1 && few[i].id <= 4);
    }
    /* rate 16/s: one birth every second frame. */
    pt_t half = {
        .fps = 32,
        .blocks = "{'id':'p','type':'Particles','inputs':{'rate':16,'lifetime':1}}",
        .edges =
            "{'from':'p.domain','to':'draw.domain'},{'from':'p.position','to':'draw.position'}"};
    for (int f = 0; f <= 12; f += 3) {
        snprintf(w, sizeof w, "Particles rate 16 alive at f=%d", f);
        EQ(w, s_items(&half, NULL, f, few, 8, NULL), f / 2);
    }
}

/* ------------------------------------------------------------------ */
/* Events                                                               */

static void test_events(void)
{
    /* Wrap: phase dropped by more than 0.5 since the previous frame. */
    pt_t wr = {.root = ROOT_INF(250),
               .blocks = "{'id':'w','type':'Wrap'}",
               .edges = "{'from':'t.phase','to':'w.phase'}"};
    const int every6[] = {6, 12, 18, 24, 30};
    s_expect_events("Wrap(t.phase, 250)", &wr, "w.event", 31, every6, 5);
    /* Held phases 0.875, 0.375 (a drop of exactly 0.5: no), 0.25, 0.875,
     * 0.25 (a drop of 0.625: fires), then 0.25. Key k at 40 k ms is
     * frame k's value (t_k = 41.67 k). */
    pt_t wk = {.blocks = "{'id':'k','type':'Keyframes','params':{'keys':["
                         "{'timeMs':0,'value':0.875,'interp':'hold'},"
                         "{'timeMs':40,'value':0.375,'interp':'hold'},"
                         "{'timeMs':80,'value':0.25,'interp':'hold'},"
                         "{'timeMs':120,'value':0.875,'interp':'hold'},"
                         "{'timeMs':160,'value':0.25}]}},"
                         "{'id':'p','type':'WrapPhase'},{'id':'w','type':'Wrap'}",
               .edges = "{'from':'t.time','to':'k.time'},{'from':'k.out','to':'p.x'},"
                        "{'from':'p.out','to':'w.phase'}"};
    const int f4[] = {4};
    s_expect_events("Wrap(held phases)", &wk, "w.event", 8, f4, 1);

    /* Metro: floor(t / period) changes from the previous frame. */
    pt_t m = {.blocks = "{'id':'m','type':'Metro','inputs':{'periodMs':250}}"};
    const int m250[] = {0, 6, 12, 18, 24, 30};
    s_expect_events("Metro(250)", &m, "m.event", 31, m250, 6);
    pt_t md = {.blocks = "{'id':'m','type':'Metro'}"};
    const int m1000[] = {0, 24, 48};
    s_expect_events("Metro(default 1000)", &md, "m.event", 50, m1000, 3);
    pt_t m3 = {.blocks = "{'id':'m','type':'Metro','inputs':{'periodMs':375}}"};
    const int m375[] = {0, 9, 18, 27};
    s_expect_events("Metro(375)", &m3, "m.event", 31, m375, 4);

    /* EdgeDetect over held values 0.875 0.25 0.5 0.75 0.5 0.375 0.625
     * (frames 0..6, then 0.625): rising when prev < th <= x, falling when
     * prev >= th > x, never on the first frame. */
    const char *ekeys = "{'id':'k','type':'Keyframes','params':{'keys':["
                        "{'timeMs':0,'value':0.875,'interp':'hold'},"
                        "{'timeMs':40,'value':0.25,'interp':'hold'},"
                        "{'timeMs':80,'value':0.5,'interp':'hold'},"
                        "{'timeMs':120,'value':0.75,'interp':'hold'},"
                        "{'timeMs':160,'value':0.5,'interp':'hold'},"
                        "{'timeMs':200,'value':0.375,'interp':'hold'},"
                        "{'timeMs':240,'value':0.625}]}}";
    char blk[1024];
    snprintf(blk, sizeof blk, "%s,{'id':'e','type':'EdgeDetect'}", ekeys);
    pt_t ed = {.blocks = blk,
               .edges = "{'from':'t.time','to':'k.time'},{'from':'k.out','to':'e.x'}"};
    const int rise[] = {2, 6}, fall2[] = {1, 5};
    s_expect_events("EdgeDetect(0.5) rising", &ed, "e.rising", 10, rise, 2);
    s_expect_events("EdgeDetect(0.5) falling", &ed, "e.falling", 10, fall2, 2);
    char blk2[1024];
    snprintf(blk2, sizeof blk2, "%s,{'id':'e','type':'EdgeDetect','inputs':{'threshold':0.3}}",
             ekeys);
    pt_t ed2 = {.blocks = blk2,
                .edges = "{'from':'t.time','to':'k.time'},{'from':'k.out','to':'e.x'}"};
    const int rise2[] = {2}, fall3[] = {1};
    s_expect_events("EdgeDetect(0.3) rising", &ed2, "e.rising", 10, rise2, 1);
    s_expect_events("EdgeDetect(0.3) falling", &ed2, "e.falling", 10, fall3, 1);
    /* A signal crossing: time crosses 100 ms between frames 2 and 3. */
    pt_t ed3 = {.blocks = "{'id':'e','type':'EdgeDetect','inputs':{'threshold':100}}",
                .edges = "{'from':'t.time','to':'e.x'}"};
    const int r3[] = {3};
    s_expect_events("EdgeDetect(time, 100) rising", &ed3, "e.rising", 10, r3, 1);
    s_expect_events("EdgeDetect(time, 100) falling", &ed3, "e.falling", 10, NULL, 0);

    /* EventOr of Metro 250 and Metro 375. */
    pt_t eo = {.blocks = "{'id':'a','type':'Metro','inputs':{'periodMs':250}},"
                         "{'id':'b','type':'Metro','inputs':{'periodMs':375}},"
                         "{'id':'o','type':'EventOr'}",
               .edges = "{'from':'a.event','to':'o.a'},{'from':'b.event','to':'o.b'}"};
    const int both[] = {0, 6, 9, 12, 18, 24, 27, 30};
    s_expect_events("EventOr(Metro 250, Metro 375)", &eo, "o.event", 31, both, 8);
}

/* ------------------------------------------------------------------ */
/* Fields                                                               */

static void test_array(void)
{
    char w[96];
    lx_draw_item_t items[16];
    pt_t a5 = {.blocks =
                   "{'id':'a','type':'Array','params':{'count':5}},{'id':'m','type':'MakeVec3'}",
               .edges = "{'from':'a.domain','to':'draw.domain'},{'from':'a.t','to':'m.x'},"
                        "{'from':'a.index','to':'m.y'},{'from':'m.out','to':'draw.position'}"};
    int n = s_items(&a5, NULL, 0, items, 16, NULL);
    EQ("Array(5) items", n, 5);
    for (int i = 0; i < n && i < 5; i++) {
        snprintf(w, sizeof w, "Array(5).t[%d]", i);
        EQ(w, items[i].position[0], i / 4.0);
        snprintf(w, sizeof w, "Array(5).index[%d]", i);
        EQ(w, items[i].position[1], (double)i);
        snprintf(w, sizeof w, "Array(5) item %d element", i);
        EQ(w, items[i].element, i);
        snprintf(w, sizeof w, "Array(5) item %d id", i);
        EQ(w, items[i].id, i + 1);
    }
    pt_t a7 = {.blocks =
                   "{'id':'a','type':'Array','params':{'count':7}},{'id':'m','type':'MakeVec3'}",
               .edges = "{'from':'a.domain','to':'draw.domain'},{'from':'a.t','to':'m.x'},"
                        "{'from':'m.out','to':'draw.position'}"};
    n = s_items(&a7, NULL, 0, items, 16, NULL);
    EQ("Array(7) items", n, 7);
    for (int i = 0; i < n && i < 7; i++) {
        snprintf(w, sizeof w, "Array(7).t[%d]", i);
        EQ(w, items[i].position[0], (double)i / 6.0);
    }
    pt_t a1 = {.blocks =
                   "{'id':'a','type':'Array','params':{'count':1}},{'id':'m','type':'MakeVec3'}",
               .edges = "{'from':'a.domain','to':'draw.domain'},{'from':'a.t','to':'m.x'},"
                        "{'from':'a.index','to':'m.y'},{'from':'m.out','to':'draw.position'}"};
    n = s_items(&a1, NULL, 0, items, 16, NULL);
    EQ("Array(1) items", n, 1);
    if (n >= 1) {
        EQ("Array(1).t", items[0].position[0], 0.0);
        EQ("Array(1).index", items[0].position[1], 0.0);
    }
}

static void test_layouts(void)
{
    char w[96];
    lx_draw_item_t items[16];
    /* GridLayout: row by row from the top left, centred:
     * x = cx + (col - (cols-1)/2) sx, y = cy + ((rows-1)/2 - row) sy. */
    pt_t g = {.blocks = "{'id':'a','type':'Array','params':{'count':6}},"
                        "{'id':'g','type':'GridLayout','inputs':{'rows':2,'cols':3,'spacing':[2,3],"
                        "'center':[10,20,30]}}",
              .edges = "{'from':'a.domain','to':'g.domain'},{'from':'a.domain','to':'draw.domain'},"
                       "{'from':'g.position','to':'draw.position'}"};
    int n = s_items(&g, NULL, 0, items, 16, NULL);
    EQ("GridLayout 2x3 items", n, 6);
    for (int i = 0; i < n && i < 6; i++) {
        int row = i / 3, col = i % 3;
        snprintf(w, sizeof w, "GridLayout 2x3 element %d x", i);
        EQ(w, items[i].position[0], 10 + (col - 1.0) * 2);
        snprintf(w, sizeof w, "GridLayout 2x3 element %d y", i);
        EQ(w, items[i].position[1], 20 + (0.5 - row) * 3);
        snprintf(w, sizeof w, "GridLayout 2x3 element %d z", i);
        EQ(w, items[i].position[2], 30.0);
    }
    pt_t g3 = {.blocks = "{'id':'a','type':'Array','params':{'count':9}},"
                         "{'id':'g','type':'GridLayout','inputs':{'rows':3,'cols':3}}",
               .edges =
                   "{'from':'a.domain','to':'g.domain'},{'from':'a.domain','to':'draw.domain'},"
                   "{'from':'g.position','to':'draw.position'}"};
    n = s_items(&g3, NULL, 0, items, 16, NULL);
    EQ("GridLayout 3x3 items", n, 9);
    for (int i = 0; i < n && i < 9; i++) {
        snprintf(w, sizeof w, "GridLayout 3x3 defaults element %d", i);
        TRUE_(w, items[i].position[0] == (i % 3) - 1.0 && items[i].position[1] == 1.0 - (i / 3) &&
                     items[i].position[2] == 0);
    }
    /* 4 x 2: (cols - 1) / 2 = 0.5. */
    pt_t g42 = {
        .blocks = "{'id':'a','type':'Array','params':{'count':8}},"
                  "{'id':'g','type':'GridLayout','inputs':{'rows':4,'cols':2,'spacing':[1,0.5]}}",
        .edges = "{'from':'a.domain','to':'g.domain'},{'from':'a.domain','to':'draw.domain'},"
                 "{'from':'g.position','to':'draw.position'}"};
    n = s_items(&g42, NULL, 0, items, 16, NULL);
    EQ("GridLayout 4x2 items", n, 8);
    for (int i = 0; i < n && i < 8; i++) {
        snprintf(w, sizeof w, "GridLayout 4x2 element %d", i);
        TRUE_(w, items[i].position[0] == (i % 2) - 0.5 &&
                     items[i].position[1] == (1.5 - (i / 2)) * 0.5);
    }

    /* CircleLayout: element i at angle 2 pi (i / n + phase) from +X,
     * radius r, centre added, in XY (dmath cos/sin: NEAR). */
    pt_t c = {.blocks = "{'id':'a','type':'Array','params':{'count':4}},"
                        "{'id':'c','type':'CircleLayout','inputs':{'radius':2}}",
              .edges = "{'from':'a.domain','to':'c.domain'},{'from':'a.domain','to':'draw.domain'},"
                       "{'from':'c.position','to':'draw.position'}"};
    const double want4[4][2] = {{2, 0}, {0, 2}, {-2, 0}, {0, -2}};
    n = s_items(&c, NULL, 0, items, 16, NULL);
    EQ("CircleLayout(4) items", n, 4);
    for (int i = 0; i < n && i < 4; i++) {
        snprintf(w, sizeof w, "CircleLayout(4, r 2) element %d x", i);
        NEAR(w, items[i].position[0], want4[i][0]);
        snprintf(w, sizeof w, "CircleLayout(4, r 2) element %d y", i);
        NEAR(w, items[i].position[1], want4[i][1]);
        snprintf(w, sizeof w, "CircleLayout(4, r 2) element %d z", i);
        EQ(w, items[i].position[2], 0.0);
    }
    pt_t cp = {.blocks = "{'id':'a','type':'Array','params':{'count':4}},"
                         "{'id':'c','type':'CircleLayout','inputs':{'radius':2,'phase':0.25,"
                         "'center':[1,1,1]}}",
               .edges =
                   "{'from':'a.domain','to':'c.domain'},{'from':'a.domain','to':'draw.domain'},"
                   "{'from':'c.position','to':'draw.position'}"};
    n = s_items(&cp, NULL, 0, items, 16, NULL);
    EQ("CircleLayout(4, phase) items", n, 4);
    for (int i = 0; i < n && i < 4; i++) {
        /* phase 0.25 turns the ring by one element. */
        snprintf(w, sizeof w, "CircleLayout(phase 0.25, centre) element %d x", i);
        NEAR(w, items[i].position[0], 1 + want4[(i + 1) % 4][0]);
        snprintf(w, sizeof w, "CircleLayout(phase 0.25, centre) element %d y", i);
        NEAR(w, items[i].position[1], 1 + want4[(i + 1) % 4][1]);
        snprintf(w, sizeof w, "CircleLayout(phase 0.25, centre) element %d z", i);
        EQ(w, items[i].position[2], 1.0);
    }
    pt_t c3 = {
        .root = ROOT_INF(1000),
        .blocks = "{'id':'a','type':'Array','params':{'count':3}},{'id':'c','type':'CircleLayout'}",
        .edges = "{'from':'a.domain','to':'c.domain'},{'from':'a.domain','to':'draw.domain'},"
                 "{'from':'c.position','to':'draw.position'},{'from':'t.phase','to':'c.phase'}"};
    n = s_items(&c3, NULL, 3, items, 16, NULL); /* phase 0.125 */
    EQ("CircleLayout(3) items", n, 3);
    for (int i = 0; i < n && i < 3; i++) {
        double a = 2 * PI_ * (i / 3.0 + 0.125);
        snprintf(w, sizeof w, "CircleLayout(3, r 1, phase 0.125) element %d x", i);
        NEAR(w, items[i].position[0], cos(a));
        snprintf(w, sizeof w, "CircleLayout(3, r 1, phase 0.125) element %d y", i);
        NEAR(w, items[i].position[1], sin(a));
    }

    /* LineLayout: from + (to - from) * i / (n - 1). */
    pt_t l = {.blocks = "{'id':'a','type':'Array','params':{'count':5}},"
                        "{'id':'l','type':'LineLayout','inputs':{'from':[0,0,0],'to':[4,-8,2]}}",
              .edges = "{'from':'a.domain','to':'l.domain'},{'from':'a.domain','to':'draw.domain'},"
                       "{'from':'l.position','to':'draw.position'}"};
    n = s_items(&l, NULL, 0, items, 16, NULL);
    EQ("LineLayout(5) items", n, 5);
    for (int i = 0; i < n && i < 5; i++) {
        snprintf(w, sizeof w, "LineLayout(5) element %d", i);
        TRUE_(w, items[i].position[0] == i && items[i].position[1] == -2.0 * i &&
                     items[i].position[2] == 0.5 * i);
    }
    pt_t l3 = {.blocks = "{'id':'a','type':'Array','params':{'count':3}},"
                         "{'id':'l','type':'LineLayout','inputs':{'from':[1,1,1],'to':[2,3,5]}}",
               .edges =
                   "{'from':'a.domain','to':'l.domain'},{'from':'a.domain','to':'draw.domain'},"
                   "{'from':'l.position','to':'draw.position'}"};
    n = s_items(&l3, NULL, 0, items, 16, NULL);
    EQ("LineLayout(3) items", n, 3);
    if (n == 3) {
        TRUE_("LineLayout(3) first = from",
              items[0].position[0] == 1 && items[0].position[1] == 1 && items[0].position[2] == 1);
        TRUE_("LineLayout(3) middle", items[1].position[0] == 1.5 && items[1].position[1] == 2 &&
                                          items[1].position[2] == 3);
        TRUE_("LineLayout(3) last = to",
              items[2].position[0] == 2 && items[2].position[1] == 3 && items[2].position[2] == 5);
    }
    pt_t l1 = {.blocks = "{'id':'a','type':'Array','params':{'count':1}},"
                         "{'id':'l','type':'LineLayout','inputs':{'from':[1,2,3],'to':[4,5,6]}}",
               .edges =
                   "{'from':'a.domain','to':'l.domain'},{'from':'a.domain','to':'draw.domain'},"
                   "{'from':'l.position','to':'draw.position'}"};
    n = s_items(&l1, NULL, 0, items, 16, NULL);
    EQ("LineLayout(1) items", n, 1);
    if (n == 1)
        TRUE_("LineLayout(1) at from (t = 0 as Array.t)",
              items[0].position[0] == 1 && items[0].position[1] == 2 && items[0].position[2] == 3);
}

/* StableRandom (salt) per element of an Array of `count`, at frame f. */
static int s_stable(int count, const char *rid, unsigned salt, unsigned seed, int64_t f,
                    double *out)
{
    char blk[256];
    snprintf(blk, sizeof blk,
             "{'id':'a','type':'Array','params':{'count':%d}},"
             "{'id':'%s','type':'StableRandom','params':{'salt':%u}},{'id':'m','type':'MakeVec3'}",
             count, rid, salt);
    char ed[256];
    snprintf(ed, sizeof ed,
             "{'from':'a.domain','to':'%s.domain'},{'from':'a.domain','to':'draw.domain'},"
             "{'from':'%s.out','to':'m.x'},{'from':'m.out','to':'draw.position'}",
             rid, rid);
    pt_t pt = {.blocks = blk, .edges = ed, .seed = seed};
    lx_draw_item_t items[16];
    int n = s_items(&pt, NULL, f, items, 16, NULL);
    for (int i = 0; i < n && i < 16; i++)
        out[i] = items[i].position[0];
    return n;
}

static void test_random_fields(void)
{
    char w[96];
    double r5[16], r10[16], again[16], later[16], salted[16], other[16], reseeded[16];
    int n5 = s_stable(5, "r", 0, 0, 0, r5), n10 = s_stable(10, "r", 0, 0, 0, r10);
    int na = s_stable(5, "r", 0, 0, 0, again), nl = s_stable(5, "r", 0, 0, 30, later);
    int ns = s_stable(5, "r", 1, 0, 0, salted), no = s_stable(5, "r2", 0, 0, 0, other);
    int nr = s_stable(5, "r", 0, 8, 0, reseeded);
    EQ("StableRandom(5) items", n5, 5);
    EQ("StableRandom(10) items", n10, 10);
    if (n5 == 5 && n10 == 10 && na == 5 && nl == 5 && ns == 5 && no == 5 && nr == 5) {
        for (int i = 0; i < 10; i++) {
            snprintf(w, sizeof w, "StableRandom element %d in [0,1)", i);
            TRUE_(w, r10[i] >= 0 && r10[i] < 1);
            for (int j = 0; j < i; j++) {
                snprintf(w, sizeof w, "StableRandom elements %d and %d differ", j, i);
                TRUE_(w, r10[i] != r10[j]);
            }
        }
        for (int i = 0; i < 5; i++) {
            snprintf(w, sizeof w, "StableRandom element %d: count 5 = count 10", i);
            EQ(w, r5[i], r10[i]);
            snprintf(w, sizeof w, "StableRandom element %d: repeatable", i);
            EQ(w, again[i], r5[i]);
            snprintf(w, sizeof w, "StableRandom element %d: same at frame 30", i);
            EQ(w, later[i], r5[i]);
            snprintf(w, sizeof w, "StableRandom element %d: salt changes it", i);
            TRUE_(w, salted[i] != r5[i]);
            snprintf(w, sizeof w, "StableRandom element %d: block id changes it", i);
            TRUE_(w, other[i] != r5[i]);
            snprintf(w, sizeof w, "StableRandom element %d: seed changes it", i);
            TRUE_(w, reseeded[i] != r5[i]);
        }
    }

    /* Jitter: each component moves by at most amount (z: 0), stable per
     * element whatever the count, the same every frame. */
    lx_draw_item_t j6[16], j10[16], j6b[16];
    const char *jb6 = "{'id':'a','type':'Array','params':{'count':6}},{'id':'m','type':'MakeVec3'},"
                      "{'id':'j','type':'Jitter','inputs':{'amount':[0.5,1,0]}}";
    const char *jb10 =
        "{'id':'a','type':'Array','params':{'count':10}},{'id':'m','type':'MakeVec3'},"
        "{'id':'j','type':'Jitter','inputs':{'amount':[0.5,1,0]}}";
    const char *je =
        "{'from':'a.index','to':'m.x'},{'from':'m.out','to':'j.position'},"
        "{'from':'a.domain','to':'draw.domain'},{'from':'j.position','to':'draw.position'}";
    pt_t p6 = {.blocks = jb6, .edges = je}, p10 = {.blocks = jb10, .edges = je};
    int m6 = s_items(&p6, NULL, 0, j6, 16, NULL), m10 = s_items(&p10, NULL, 0, j10, 16, NULL);
    int m6b = s_items(&p6, NULL, 17, j6b, 16, NULL);
    EQ("Jitter(6) items", m6, 6);
    EQ("Jitter(10) items", m10, 10);
    if (m6 == 6 && m10 == 10 && m6b == 6) {
        int moved = 0;
        for (int i = 0; i < 10; i++) {
            const double *p = j10[i].position;
            snprintf(w, sizeof w, "Jitter element %d within +-amount", i);
            TRUE_(w, fabs(p[0] - i) <= 0.5 && fabs(p[1]) <= 1 && p[2] == 0);
            moved += p[0] != i;
            moved += p[1] != 0;
        }
        CHECK_MSG(moved >= 18, "Jitter: only %d of 20 components moved", moved);
        for (int i = 0; i < 6; i++) {
            snprintf(w, sizeof w, "Jitter element %d: count 6 = count 10", i);
            TRUE_(w, memcmp(j6[i].position, j10[i].position, sizeof j6[i].position) == 0);
            snprintf(w, sizeof w, "Jitter element %d: same at frame 17", i);
            TRUE_(w, memcmp(j6[i].position, j6b[i].position, sizeof j6[i].position) == 0);
        }
    }
}

static void test_field_reduce(void)
{
    struct {
        const char *mode, *src;
        double want;
    } cases[] = {
        {"sum", "a.index", 10}, {"mean", "a.index", 2}, {"min", "a.index", 0},
        {"max", "a.index", 4},  {"sum", "a.t", 2.5},    {"mean", "a.t", 0.5},
        {"min", "s.out", -2},   {"max", "s.out", 2},    {"sum", "s.out", 0},
        {NULL, "a.index", 10}, /* default mode: sum */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char blk[400], ed[200], w[96];
        snprintf(blk, sizeof blk,
                 "{'id':'a','type':'Array','params':{'count':5}},"
                 "{'id':'s','type':'Sub','inputs':{'b':2}},"
                 "{'id':'r','type':'FieldReduce'%s%s%s}",
                 cases[i].mode ? ",'params':{'mode':'" : "", cases[i].mode ? cases[i].mode : "",
                 cases[i].mode ? "'}" : "");
        snprintf(ed, sizeof ed, "{'from':'a.index','to':'s.a'},{'from':'%s','to':'r.field'}",
                 cases[i].src);
        pt_t pt = {.blocks = blk, .edges = ed};
        snprintf(w, sizeof w, "FieldReduce %s(%s over 5)",
                 cases[i].mode ? cases[i].mode : "default", cases[i].src);
        EQ(w, s_num(&pt, "r.out", 0), cases[i].want);
    }
    /* A time-varying field: sum of (index + time) over 4 at 250 ms. */
    pt_t tv = {
        .blocks = "{'id':'a','type':'Array','params':{'count':4}},"
                  "{'id':'s','type':'Add'},{'id':'r','type':'FieldReduce','params':{'mode':'max'}}",
        .edges = "{'from':'a.index','to':'s.a'},{'from':'t.time','to':'s.b'},"
                 "{'from':'s.out','to':'r.field'}"};
    EQ("FieldReduce max(index + time) f=6", s_num(&tv, "r.out", 6), 253.0);
}

/* ------------------------------------------------------------------ */
/* Shapes and sinks                                                     */

static bool s_shape(const char *block, int64_t f, double shape[4])
{
    char blk[512];
    snprintf(blk, sizeof blk, "%s,{'id':'d','type':'RenderInstances'}", block);
    pt_t pt = {.bare = true, .blocks = blk, .edges = "{'from':'s.shape','to':'d.shape'}"};
    lx_draw_item_t it;
    int n = s_items(&pt, NULL, f, &it, 1, NULL);
    CHECK_MSG(n == 1, "%s: %d items", block, n);
    if (n == 1)
        memcpy(shape, it.shape, sizeof it.shape);
    return n == 1;
}

static void test_shapes(void)
{
    struct {
        const char *block;
        double want[4];
    } cases[] = {
        {"{'id':'s','type':'Rect'}", {LX_SHAPE_RECT, 1, 1, 0}},
        {"{'id':'s','type':'Rect','inputs':{'width':2,'height':3}}", {LX_SHAPE_RECT, 2, 3, 0}},
        {"{'id':'s','type':'Ellipse'}", {LX_SHAPE_ELLIPSE, 0.5, 0.5, 0}},
        {"{'id':'s','type':'Ellipse','inputs':{'rx':0.75,'ry':0.25}}",
         {LX_SHAPE_ELLIPSE, 0.75, 0.25, 0}},
        {"{'id':'s','type':'Polygon'}", {LX_SHAPE_POLYGON, 6, 0.5, 0}},
        {"{'id':'s','type':'Polygon','params':{'sides':5},'inputs':{'radius':2}}",
         {LX_SHAPE_POLYGON, 5, 2, 0}},
        {"{'id':'s','type':'Star'}", {LX_SHAPE_STAR, 5, 0.5, 0.25}},
        {"{'id':'s','type':'Star','params':{'points':7},'inputs':{'outer':1,'inner':0.4}}",
         {LX_SHAPE_STAR, 7, 1, 0.4}},
        {"{'id':'s','type':'Sphere'}", {LX_SHAPE_SPHERE, 0.5, 0, 0}},
        {"{'id':'s','type':'Sphere','inputs':{'radius':1.5}}", {LX_SHAPE_SPHERE, 1.5, 0, 0}},
        {"{'id':'s','type':'Box'}", {LX_SHAPE_BOX, 1, 1, 1}},
        {"{'id':'s','type':'Box','inputs':{'size':[1,2,3]}}", {LX_SHAPE_BOX, 1, 2, 3}},
        {"{'id':'s','type':'Plane'}", {LX_SHAPE_PLANE, 1, 1, 0}},
        {"{'id':'s','type':'Plane','inputs':{'width':2,'height':4}}", {LX_SHAPE_PLANE, 2, 4, 0}},
    };
    char w[200];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double s[4];
        if (!s_shape(cases[i].block, 0, s))
            continue;
        for (int k = 0; k < 4; k++) {
            snprintf(w, sizeof w, "%s shape[%d]", cases[i].block, k);
            EQ(w, s[k], cases[i].want[k]);
        }
    }
    /* A shape input driven by a signal: width = time at frame 6. */
    pt_t sig = {
        .bare = true,
        .blocks =
            "{'id':'s','type':'Rect','inputs':{'height':2}},{'id':'d','type':'RenderInstances'}",
        .edges = "{'from':'s.shape','to':'d.shape'},{'from':'t.time','to':'s.width'}"};
    lx_draw_item_t it;
    if (s_items(&sig, NULL, 6, &it, 1, NULL) == 1) {
        EQ("Rect(width = time) kind", it.shape[0], LX_SHAPE_RECT);
        EQ("Rect(width = time) width", it.shape[1], 250.0);
        EQ("Rect(width = time) height", it.shape[2], 2.0);
    }
    pt_t sph = {.bare = true,
                .blocks = "{'id':'s','type':'Sphere'},{'id':'d','type':'RenderInstances'}",
                .edges = "{'from':'s.shape','to':'d.shape'},{'from':'t.phase','to':'s.radius'}",
                .root = ROOT_INF(1000)};
    if (s_items(&sph, NULL, 6, &it, 1, NULL) == 1)
        EQ("Sphere(radius = t.phase) radius", it.shape[1], 0.25);

    /* Path: [PATH, the Path expression (its parameters: the point count,
     * 6 numbers per point, closed), scale, 0]. */
    pt_t path = {.bare = true,
                 .blocks =
                     "{'id':'s','type':'Path','params':{'closed':true,'points':[{'x':0,'y':0},"
                     "{'x':1,'y':0,'inX':-0.5,'inY':0.25},{'x':1,'y':1,'outX':0.125}]},"
                     "'inputs':{'scale':2}},{'id':'d','type':'RenderInstances'}",
                 .edges = "{'from':'s.shape','to':'d.shape'}"};
    rt_t rt;
    if (s_open(&rt, &path, NULL, NULL)) {
        const lx_render_frame_t *rf = rt_frame(&rt, 0);
        if (rf && rf->n_items == 1) {
            const double *s = rf->items[0].shape;
            EQ("Path kind", s[0], LX_SHAPE_PATH);
            EQ("Path scale", s[2], 2.0);
            EQ("Path c", s[3], 0.0);
            uint32_t e = (uint32_t)s[1];
            TRUE_("Path a is an expression index", s[1] == e && e < rt.p->n_exprs);
            if (s[1] == e && e < rt.p->n_exprs) {
                const lx_expr_t *x = &rt.p->exprs[e];
                EQ("Path a is the Path expression", x->op, LX_OP_PATH);
                const double *k = rt.p->constants + x->param_off;
                const double want[] = {3,    0, 0, 0, 0, 0, 0, 1,     0, -0.5,
                                       0.25, 0, 0, 1, 1, 0, 0, 0.125, 0, 1};
                EQ("Path parameter count", x->n_param, 20);
                for (uint32_t i = 0; i < 20 && i < x->n_param; i++) {
                    snprintf(w, sizeof w, "Path parameter %u", i);
                    EQ(w, k[i], want[i]);
                }
            }
        } else {
            CHECK_MSG(false, "Path: no item");
        }
    }
    rt_close(&rt);
}

static void s_check_camera(const char *what, const lx_camera_t *c, lx_projection_t proj,
                           const double pos[3], const double tgt[3], const double up[3],
                           const double fwd[3], double fov, double oh, double nr, double fr)
{
    char w[128];
    snprintf(w, sizeof w, "%s projection", what);
    EQ(w, c->projection, proj);
    for (int k = 0; k < 3; k++) {
        snprintf(w, sizeof w, "%s position[%d]", what, k);
        EQ(w, c->position[k], pos[k]);
        snprintf(w, sizeof w, "%s target[%d]", what, k);
        EQ(w, c->target[k], tgt[k]);
        snprintf(w, sizeof w, "%s up[%d]", what, k);
        EQ(w, c->up[k], up[k]);
        snprintf(w, sizeof w, "%s forward[%d]", what, k);
        EQ(w, c->forward[k], fwd[k]);
    }
    snprintf(w, sizeof w, "%s fovY", what);
    EQ(w, c->fov_y_deg, fov);
    snprintf(w, sizeof w, "%s orthoHeight", what);
    EQ(w, c->ortho_height, oh);
    snprintf(w, sizeof w, "%s near", what);
    EQ(w, c->near, nr);
    snprintf(w, sizeof w, "%s far", what);
    EQ(w, c->far, fr);
}

static void test_camera(void)
{
    lx_draw_item_t it;
    lx_camera_t cam;
    const double z10[3] = {0, 0, 10}, o[3] = {0, 0, 0}, y[3] = {0, 1, 0}, mz[3] = {0, 0, -1};
    /* No Camera block: the default camera. */
    pt_t none = {0};
    memset(&cam, 0, sizeof cam);
    if (s_items(&none, NULL, 0, &it, 1, &cam) >= 0)
        s_check_camera("default camera", &cam, LX_PROJ_PERSPECTIVE, z10, o, y, mz, 40, 10, 0.1,
                       100);
    /* A Camera with its defaults. */
    pt_t defs = {.blocks = "{'id':'cam','type':'Camera'}"};
    if (s_items(&defs, NULL, 0, &it, 1, &cam) >= 0)
        s_check_camera("Camera defaults", &cam, LX_PROJ_PERSPECTIVE, z10, o, y, mz, 40, 10, 0.1,
                       100);
    /* Given values; forward = (target - position) / |...| = (0, -3, -4) / 5. */
    pt_t given = {.blocks = "{'id':'cam','type':'Camera','inputs':{'position':[0,3,4],"
                            "'target':[0,0,0],'up':[0,0,1],'fovYDeg':60,'orthoHeight':3,"
                            "'near':0.5,'far':50}}"};
    const double p34[3] = {0, 3, 4}, zu[3] = {0, 0, 1}, f34[3] = {0, -3.0 / 5.0, -4.0 / 5.0};
    if (s_items(&given, NULL, 0, &it, 1, &cam) >= 0)
        s_check_camera("Camera values", &cam, LX_PROJ_PERSPECTIVE, p34, o, zu, f34, 60, 3, 0.5, 50);
    pt_t off = {.blocks =
                    "{'id':'cam','type':'Camera','inputs':{'position':[2,3,3],'target':[1,1,1]}}"};
    const double p233[3] = {2, 3, 3}, t111[3] = {1, 1, 1},
                 f122[3] = {-1.0 / 3.0, -2.0 / 3.0, -2.0 / 3.0};
    if (s_items(&off, NULL, 0, &it, 1, &cam) >= 0)
        s_check_camera("Camera forward normalized", &cam, LX_PROJ_PERSPECTIVE, p233, t111, y, f122,
                       40, 10, 0.1, 100);
    /* Orthographic, position = target: forward (0, 0, -1). */
    pt_t ortho = {.blocks = "{'id':'cam','type':'Camera','params':{'projection':'orthographic'},"
                            "'inputs':{'position':[1,2,3],'target':[1,2,3],'orthoHeight':6}}"};
    const double p123[3] = {1, 2, 3};
    if (s_items(&ortho, NULL, 0, &it, 1, &cam) >= 0)
        s_check_camera("Camera orthographic", &cam, LX_PROJ_ORTHOGRAPHIC, p123, p123, y, mz, 40, 6,
                       0.1, 100);
    /* A moving camera: position (0, 0, 10 + time). */
    pt_t mov = {.blocks = "{'id':'cam','type':'Camera'},{'id':'m','type':'MakeVec3'},"
                          "{'id':'a','type':'Add','inputs':{'b':10}}",
                .edges = "{'from':'t.time','to':'a.a'},{'from':'a.out','to':'m.z'},"
                         "{'from':'m.out','to':'cam.position'}"};
    const double p260[3] = {0, 0, 260};
    if (s_items(&mov, NULL, 6, &it, 1, &cam) >= 0)
        s_check_camera("Camera position from a signal", &cam, LX_PROJ_PERSPECTIVE, p260, o, y, mz,
                       40, 10, 0.1, 100);
}

static void test_render_instances(void)
{
    char w[128];
    /* File order: one (no domain), many (3 elements), plain. */
    pt_t pt = {.bare = true,
               .blocks = "{'id':'one','type':'RenderInstances','params':{'layer':'solo'}},"
                         "{'id':'arr','type':'Array','params':{'count':3}},"
                         "{'id':'many','type':'RenderInstances','params':{'layer':'cards',"
                         "'semantic':'card'},'inputs':{'rotation':[10,20,30],'scale':[2,3,4],"
                         "'color':[0.5,0.25,0.125,0.75],'opacity':0.5}},"
                         "{'id':'plain','type':'RenderInstances'},"
                         "{'id':'s','type':'Rect'},{'id':'e','type':'Ellipse'},"
                         "{'id':'m','type':'MakeVec3'}",
               .edges =
                   "{'from':'s.shape','to':'one.shape'},{'from':'e.shape','to':'many.shape'},"
                   "{'from':'s.shape','to':'plain.shape'},{'from':'arr.domain','to':'many.domain'},"
                   "{'from':'arr.t','to':'m.x'},{'from':'m.out','to':'many.position'}"};
    rt_t rt;
    if (s_open(&rt, &pt, NULL, NULL)) {
        const lx_program_t *p = rt.p;
        EQ("RenderInstances sinks", p->n_sinks, 3);
        if (p->n_sinks == 3) {
            const char *layer[] = {"solo", "cards", "plain"}, *sem[] = {"solo", "card", "plain"};
            const double base[] = {1, 2, 5};
            for (int k = 0; k < 3; k++) {
                const lx_render_sink_t *s = &p->sinks[k];
                snprintf(w, sizeof w, "sink %d layer is '%s'", k, layer[k]);
                TRUE_(w, s->layer < p->n_strings && strcmp(p->strings[s->layer], layer[k]) == 0);
                snprintf(w, sizeof w, "sink %d semantic is '%s'", k, sem[k]);
                TRUE_(w,
                      s->semantic < p->n_strings && strcmp(p->strings[s->semantic], sem[k]) == 0);
                snprintf(w, sizeof w, "sink %d id_base", k);
                EQ(w, s->id_base, base[k]);
            }
        }
        const lx_render_frame_t *rf = rt_frame(&rt, 0);
        EQ("RenderInstances items", rf ? rf->n_items : 0, 5);
        if (rf && rf->n_items == 5) {
            const uint32_t sink[] = {0, 1, 1, 1, 2}, elem[] = {0, 0, 1, 2, 0};
            for (int i = 0; i < 5; i++) {
                const lx_draw_item_t *it = &rf->items[i];
                snprintf(w, sizeof w, "item %d id", i);
                EQ(w, it->id, i + 1);
                snprintf(w, sizeof w, "item %d sink", i);
                EQ(w, it->sink, sink[i]);
                snprintf(w, sizeof w, "item %d element", i);
                EQ(w, it->element, elem[i]);
                bool many = sink[i] == 1;
                snprintf(w, sizeof w, "item %d shape", i);
                TRUE_(w, it->shape[0] == (many ? LX_SHAPE_ELLIPSE : LX_SHAPE_RECT));
                snprintf(w, sizeof w, "item %d position", i);
                TRUE_(w, it->position[0] == (many ? elem[i] / 2.0 : 0) && it->position[1] == 0 &&
                             it->position[2] == 0);
                snprintf(w, sizeof w, "item %d rotation", i);
                TRUE_(w,
                      many ? it->rotation[0] == 10 && it->rotation[1] == 20 && it->rotation[2] == 30
                           : it->rotation[0] == 0 && it->rotation[1] == 0 && it->rotation[2] == 0);
                snprintf(w, sizeof w, "item %d scale", i);
                TRUE_(w, many ? it->scale[0] == 2 && it->scale[1] == 3 && it->scale[2] == 4
                              : it->scale[0] == 1 && it->scale[1] == 1 && it->scale[2] == 1);
                snprintf(w, sizeof w, "item %d color", i);
                TRUE_(w, many ? it->color[0] == 0.5 && it->color[1] == 0.25 &&
                                    it->color[2] == 0.125 && it->color[3] == 0.75
                              : it->color[0] == 1 && it->color[1] == 1 && it->color[2] == 1 &&
                                    it->color[3] == 1);
                snprintf(w, sizeof w, "item %d opacity", i);
                EQ(w, it->opacity, many ? 0.5 : 1.0);
            }
        }
    }
    rt_close(&rt);
    /* Field inputs per element: colour from Hsv over Array.t. */
    pt_t col = {.blocks = "{'id':'a','type':'Array','params':{'count':3}},"
                          "{'id':'h','type':'Hsv','inputs':{'s':0}},{'id':'p','type':'WrapPhase'},"
                          "{'id':'o','type':'Mul','inputs':{'b':0.5}}",
                .edges = "{'from':'a.domain','to':'draw.domain'},{'from':'a.t','to':'p.x'},"
                         "{'from':'p.out','to':'h.h'},{'from':'a.t','to':'h.v'},"
                         "{'from':'h.color','to':'draw.color'},{'from':'a.t','to':'o.a'},"
                         "{'from':'o.out','to':'draw.opacity'}"};
    lx_draw_item_t items[4];
    int n = s_items(&col, NULL, 0, items, 4, NULL);
    EQ("RenderInstances field inputs items", n, 3);
    for (int i = 0; i < n && i < 3; i++) {
        snprintf(w, sizeof w, "item %d colour (grey %g)", i, i / 2.0);
        TRUE_(w, items[i].color[0] == i / 2.0 && items[i].color[1] == i / 2.0 &&
                     items[i].color[2] == i / 2.0 && items[i].color[3] == 1);
        snprintf(w, sizeof w, "item %d opacity", i);
        EQ(w, items[i].opacity, i / 4.0);
    }
}

/* ------------------------------------------------------------------ */
/* Buses, combined inputs and rails                                     */

/* Bus k (number, mode) published by c1 = 2, c2 = 8, c3 = 4 with the given
 * sort keys, listened to by lis.a (lis = a + 0). */
static double s_bus(const char *mode, int k1, int k2, int k3)
{
    char extra[512];
    snprintf(extra, sizeof extra,
             "'buses':[{'name':'k','type':'signal<number>','combine':'%s','default':0}],"
             "'publish':[{'from':'c1.out','bus':'k','sortKey':%d},{'from':'c2.out','bus':'k',"
             "'sortKey':%d},{'from':'c3.out','bus':'k','sortKey':%d}],"
             "'listen':[{'bus':'k','to':'lis.a'}]",
             mode, k1, k2, k3);
    pt_t pt = {.blocks = "{'id':'c1','type':'Const','params':{'value':2}},"
                         "{'id':'c2','type':'Const','params':{'value':8}},"
                         "{'id':'c3','type':'Const','params':{'value':4}},"
                         "{'id':'lis','type':'Add','inputs':{'b':0}}",
               .extra = extra};
    return s_num(&pt, "lis.out", 0);
}

static void test_buses(void)
{
    /* Order: sortKey, then declaration. */
    EQ("bus sum", s_bus("sum", 0, 0, 0), 14.0);
    EQ("bus avg", s_bus("avg", 0, 0, 0), 14.0 / 3.0);
    EQ("bus min", s_bus("min", 0, 0, 0), 2.0);
    EQ("bus max", s_bus("max", 0, 0, 0), 8.0);
    EQ("bus mul", s_bus("mul", 0, 0, 0), 64.0);
    EQ("bus first (declaration order)", s_bus("first", 0, 0, 0), 2.0);
    EQ("bus last (declaration order)", s_bus("last", 0, 0, 0), 4.0);
    EQ("bus first (sortKey 2, 0, -1)", s_bus("first", 2, 0, -1), 4.0);
    EQ("bus last (sortKey 2, 0, -1)", s_bus("last", 2, 0, -1), 2.0);
    EQ("bus first (sortKey 1, 0, 0: c2 before c3)", s_bus("first", 1, 0, 0), 8.0);
    EQ("bus last (sortKey 1, 0, 0)", s_bus("last", 1, 0, 0), 2.0);
    EQ("bus last (sortKey 0, 0, -1)", s_bus("last", 0, 0, -1), 8.0);
    EQ("bus sum ignores order", s_bus("sum", 3, -2, 1), 14.0);

    /* No publisher: the default. */
    pt_t def = {.blocks = "{'id':'lis','type':'Add','inputs':{'b':0}}",
                .extra =
                    "'buses':[{'name':'k','type':'signal<number>','combine':'sum','default':3.5}],"
                    "'listen':[{'bus':'k','to':'lis.a'}]"};
    EQ("bus default", s_num(&def, "lis.out", 0), 3.5);
    /* Signals on a bus: time and 2 * time, avg = 1.5 time. */
    pt_t sig = {.blocks = "{'id':'d','type':'Mul','inputs':{'b':2}},"
                          "{'id':'lis','type':'Add','inputs':{'b':0}}",
                .edges = "{'from':'t.time','to':'d.a'}",
                .extra = "'buses':[{'name':'k','type':'number','combine':'avg'}],"
                         "'publish':[{'from':'t.time','bus':'k'},{'from':'d.out','bus':'k'}],"
                         "'listen':[{'bus':'k','to':'lis.a'}]"};
    EQ("bus avg of signals f=6", s_num(&sig, "lis.out", 6), 375.0);

    /* vec3 buses, component-wise. */
    const char *vb = "{'id':'v1','type':'Const','params':{'value':[1,20,3]}},"
                     "{'id':'v2','type':'Const','params':{'value':[10,2,30]}}";
    struct {
        const char *mode;
        double want[3];
    } vc[] = {{"sum", {11, 22, 33}}, {"min", {1, 2, 3}},       {"max", {10, 20, 30}},
              {"mul", {10, 40, 90}}, {"avg", {5.5, 11, 16.5}}, {"first", {1, 20, 3}},
              {"last", {10, 2, 30}}};
    for (size_t i = 0; i < sizeof vc / sizeof vc[0]; i++) {
        char extra[512], w[64];
        snprintf(extra, sizeof extra,
                 "'buses':[{'name':'v','type':'signal<vec3>','combine':'%s','default':[0,0,0]}],"
                 "'publish':[{'from':'v1.out','bus':'v'},{'from':'v2.out','bus':'v'}],"
                 "'listen':[{'bus':'v','to':'draw.position'}]",
                 vc[i].mode);
        pt_t pt = {.blocks = vb, .extra = extra};
        lx_draw_item_t it;
        if (s_items(&pt, NULL, 0, &it, 1, NULL) >= 1)
            for (int c = 0; c < 3; c++) {
                snprintf(w, sizeof w, "vec3 bus %s [%d]", vc[i].mode, c);
                EQ(w, it.position[c], vc[i].want[c]);
            }
    }

    /* An event bus: or. */
    pt_t ev = {
        .blocks = "{'id':'a','type':'Metro','inputs':{'periodMs':250}},"
                  "{'id':'b','type':'Metro','inputs':{'periodMs':375}},"
                  "{'id':'o','type':'EventOr'},{'id':'z','type':'Metro','inputs':{'periodMs':1e9}}",
        .edges = "{'from':'z.event','to':'o.b'}",
        .extra = "'buses':[{'name':'e','type':'event','combine':'or'}],"
                 "'publish':[{'from':'a.event','bus':'e'},{'from':'b.event','bus':'e'}],"
                 "'listen':[{'bus':'e','to':'o.a'}]"};
    const int both[] = {0, 6, 9, 12, 18, 24, 27, 30};
    s_expect_events("event bus or", &ev, "o.event", 31, both, 8);

    /* Several writers of one input: combine on the block. */
    const char *cb = "{'id':'c1','type':'Const','params':{'value':2}},"
                     "{'id':'c2','type':'Const','params':{'value':8}},"
                     "{'id':'c3','type':'Const','params':{'value':4}},";
    struct {
        const char *mode;
        int k1, k2, k3;
        double want;
    } ic[] = {{"sum", 0, 0, 0, 14}, {"avg", 0, 0, 0, 14.0 / 3.0}, {"min", 0, 0, 0, 2},
              {"max", 0, 0, 0, 8},  {"mul", 0, 0, 0, 64},         {"first", 0, 0, 0, 2},
              {"last", 0, 0, 0, 4}, {"first", 1, 1, 0, 4},        {"last", 0, 1, -1, 8}};
    for (size_t i = 0; i < sizeof ic / sizeof ic[0]; i++) {
        char blk[512], ed[400], w[96];
        snprintf(blk, sizeof blk,
                 "%s{'id':'lis','type':'Add','inputs':{'b':0},'combine':{'a':'%s'}}", cb,
                 ic[i].mode);
        snprintf(ed, sizeof ed,
                 "{'from':'c1.out','to':'lis.a','sortKey':%d},{'from':'c2.out','to':'lis.a',"
                 "'sortKey':%d},{'from':'c3.out','to':'lis.a','sortKey':%d}",
                 ic[i].k1, ic[i].k2, ic[i].k3);
        pt_t pt = {.blocks = blk, .edges = ed};
        snprintf(w, sizeof w, "input combine %s (sortKeys %d %d %d)", ic[i].mode, ic[i].k1,
                 ic[i].k2, ic[i].k3);
        EQ(w, s_num(&pt, "lis.out", 0), ic[i].want);
    }
    /* Edges before listeners at equal sortKey: last = the listener's bus. */
    pt_t mix = {.blocks = "{'id':'c1','type':'Const','params':{'value':2}},"
                          "{'id':'c2','type':'Const','params':{'value':8}},"
                          "{'id':'lis','type':'Add','inputs':{'b':0},'combine':{'a':'last'}}",
                .edges = "{'from':'c1.out','to':'lis.a'}",
                .extra =
                    "'buses':[{'name':'k','type':'number','combine':'sum'}],"
                    "'publish':[{'from':'c2.out','bus':'k'}],'listen':[{'bus':'k','to':'lis.a'}]"};
    EQ("input combine last: edge then listener", s_num(&mix, "lis.out", 0), 8.0);

    /* Rails. */
    pt_t rt1 = {
        .root = ROOT_INF(1000),
        .blocks =
            "{'id':'lis','type':'Add','inputs':{'b':0}},"
            "{'id':'lp','type':'Add','inputs':{'b':0}},{'id':'le','type':'Add','inputs':{'b':0}}",
        .extra = "'listen':[{'bus':'time','to':'lis.a'},{'bus':'phase','to':'lp.a'},"
                 "{'bus':'energy','to':'le.a'}]"};
    const char *rsrc[] = {"lis.out", "lp.out", "le.out"};
    double rv[3];
    if (s_run(&rt1, rsrc, 3, 18, 1, rv)) {
        EQ("rail time f=18", rv[0], 750.0);
        EQ("rail phase f=18", rv[1], 0.75);
        EQ("rail energy default", rv[2], 0.0);
    }
    pt_t en = {.blocks = "{'id':'c1','type':'Const','params':{'value':2}},"
                         "{'id':'c2','type':'Const','params':{'value':8}},"
                         "{'id':'lis','type':'Add','inputs':{'b':0}}",
               .extra =
                   "'publish':[{'from':'c1.out','bus':'energy'},{'from':'c2.out','bus':'energy'}],"
                   "'listen':[{'bus':'energy','to':'lis.a'}]"};
    EQ("rail energy sum", s_num(&en, "lis.out", 0), 10.0);
    pt_t pr = {.root = "'type':'FiniteTimeRoot','params':{'durationMs':1000}",
               .blocks = "{'id':'lis','type':'Add','inputs':{'b':0}}",
               .extra = "'listen':[{'bus':'progress','to':'lis.a'}]"};
    EQ("rail progress f=6", s_num(&pr, "lis.out", 6), 0.25);
    pt_t pal = {.extra = "'listen':[{'bus':'palette','to':'draw.color'}]"};
    lx_draw_item_t it;
    if (s_items(&pal, NULL, 0, &it, 1, NULL) >= 1) {
        EQ("rail palette default r", it.color[0], 0.04);
        EQ("rail palette default g", it.color[1], 0.06);
        EQ("rail palette default b", it.color[2], 0.13);
        EQ("rail palette default a", it.color[3], 1.0);
    }
    pt_t pul = {
        .root = ROOT_INF(250),
        .blocks = "{'id':'o','type':'EventOr'},{'id':'z','type':'Metro','inputs':{'periodMs':1e9}}",
        .edges = "{'from':'z.event','to':'o.b'}",
        .extra = "'listen':[{'bus':'pulse','to':'o.a'}]"};
    const int p6[] = {0, 6, 12, 18};
    s_expect_events("rail pulse", &pul, "o.event", 20, p6, 4);
}

/* ------------------------------------------------------------------ */
/* Lenses                                                               */

/* Const c = value through `lenses` into lis.a (lis = a + 0), frame f. */
static double s_lens(const char *value, const char *lenses, int64_t f)
{
    char blk[200], ed[400];
    snprintf(blk, sizeof blk,
             "{'id':'c','type':'Const','params':{'value':%s}},{'id':'lis','type':'Add','inputs':{'"
             "b':0}}",
             value);
    snprintf(ed, sizeof ed, "{'from':'c.out','to':'lis.a','lenses':%s}", lenses);
    pt_t pt = {.blocks = blk, .edges = ed};
    return s_num(&pt, "lis.out", f);
}

/* t.phase (period 1000 ms: frame f has phase f / 24 for f < 24) through
 * `lenses` into lis.a. */
static double s_phase_lens(const char *lenses, int64_t f)
{
    char ed[400];
    snprintf(ed, sizeof ed, "{'from':'t.phase','to':'lis.a','lenses':%s}", lenses);
    pt_t pt = {.root = ROOT_INF(1000),
               .blocks = "{'id':'lis','type':'Add','inputs':{'b':0}}",
               .edges = ed};
    return s_num(&pt, "lis.out", f);
}

/* A vec3 Const through `lenses` into draw.position. */
static bool s_vec_lens(const char *value, const char *lenses, double out[3])
{
    char blk[200], ed[400];
    snprintf(blk, sizeof blk, "{'id':'c','type':'Const','params':{'value':%s}}", value);
    snprintf(ed, sizeof ed, "{'from':'c.out','to':'draw.position','lenses':%s}", lenses);
    pt_t pt = {.blocks = blk, .edges = ed};
    lx_draw_item_t it;
    if (s_items(&pt, NULL, 0, &it, 1, NULL) < 1)
        return false;
    memcpy(out, it.position, sizeof it.position);
    return true;
}

static void test_lenses(void)
{
    char w[128];
    EQ("lens scale 3", s_lens("2.5", "[{'type':'scale','k':3}]", 0), 7.5);
    EQ("lens offset 1.25", s_lens("2.5", "[{'type':'offset','k':1.25}]", 0), 3.75);
    EQ("lens mapRange",
       s_lens("2.5", "[{'type':'mapRange','inLo':0,'inHi':10,'outLo':100,'outHi':200}]", 0), 125.0);
    EQ("lens mapRange unclamped",
       s_lens("20", "[{'type':'mapRange','inHi':10,'outLo':100,'outHi':200}]", 0), 300.0);
    EQ("lens mapRange clamp",
       s_lens("20", "[{'type':'mapRange','inHi':10,'outLo':100,'outHi':200,'clamp':true}]", 0),
       200.0);
    EQ("lens mapRange defaults", s_lens("0.3", "[{'type':'mapRange'}]", 0), 0.3);
    EQ("lens clamp lo hi", s_lens("2.5", "[{'type':'clamp','lo':0,'hi':2}]", 0), 2.0);
    EQ("lens clamp defaults high", s_lens("2.5", "[{'type':'clamp'}]", 0), 1.0);
    EQ("lens clamp defaults low", s_lens("-3", "[{'type':'clamp'}]", 0), 0.0);
    EQ("lens clamp defaults inside", s_lens("0.5", "[{'type':'clamp'}]", 0), 0.5);
    EQ("lens ease easeInQuad", s_lens("0.5", "[{'type':'ease','curve':'easeInQuad'}]", 0), 0.25);
    EQ("lens ease clamps", s_lens("2", "[{'type':'ease','curve':'easeInCubic'}]", 0), 1.0);
    EQ("lens polarity", s_lens("0.25", "['polarity']", 0), 0.75);
    EQ("lens polarity object", s_lens("3", "[{'type':'polarity'}]", 0), -2.0);
    EQ("lens quantize 4 (0.6)", s_lens("0.6", "[{'type':'quantize','steps':4}]", 0), 0.5);
    EQ("lens quantize 4 (-0.1)", s_lens("-0.1", "[{'type':'quantize','steps':4}]", 0), -0.25);
    EQ("lens quantize 0.5 (3)", s_lens("3", "[{'type':'quantize','steps':0.5}]", 0), 2.0);
    EQ("lens quantize 4 (0.75)", s_lens("0.75", "[{'type':'quantize','steps':4}]", 0), 0.75);
    /* In order: (2.5 + 1) * 2 vs 2.5 * 2 + 1. */
    EQ("lenses in order offset, scale",
       s_lens("2.5", "[{'type':'offset','k':1},{'type':'scale','k':2}]", 0), 7.0);
    EQ("lenses in order scale, offset",
       s_lens("2.5", "[{'type':'scale','k':2},{'type':'offset','k':1}]", 0), 6.0);

    /* Phase lenses on t.phase: frames 3, 6, 12, 18, 21 = 0.125 .. 0.875. */
    EQ("lens phaseOffset 0.5 (0.25)", s_phase_lens("[{'type':'phaseOffset','k':0.5}]", 6), 0.75);
    EQ("lens phaseOffset 0.5 (0.75)", s_phase_lens("[{'type':'phaseOffset','k':0.5}]", 18), 0.25);
    EQ("lens phaseOffset -0.25 (0.25)", s_phase_lens("[{'type':'phaseOffset','k':-0.25}]", 6), 0.0);
    EQ("lens phaseScale 3 (0.25)", s_phase_lens("[{'type':'phaseScale','k':3}]", 6), 0.75);
    EQ("lens phaseScale 3 (0.5)", s_phase_lens("[{'type':'phaseScale','k':3}]", 12), 0.5);
    EQ("lens phaseScale 3 (0.75)", s_phase_lens("[{'type':'phaseScale','k':3}]", 18), 0.25);
    EQ("lens phaseScale -1 (0.25)", s_phase_lens("[{'type':'phaseScale','k':-1}]", 6), 0.75);
    EQ("lens phaseScale 0.5 (0.75)", s_phase_lens("[{'type':'phaseScale','k':0.5}]", 18), 0.375);
    EQ("lens pingPong (0.125)", s_phase_lens("['pingPong']", 3), 0.25);
    EQ("lens pingPong (0.25)", s_phase_lens("['pingPong']", 6), 0.5);
    EQ("lens pingPong (0.75)", s_phase_lens("['pingPong']", 18), 0.5);
    EQ("lens pingPong (0.875)", s_phase_lens("[{'type':'pingPong'}]", 21), 0.25);
    EQ("lens pingPong (0.5) = 2 - 2 * 0.5", s_phase_lens("['pingPong']", 12), 1.0);
    EQ("lens pingPong (0)", s_phase_lens("['pingPong']", 0), 0.0);
    EQ("lenses pingPong then scale", s_phase_lens("['pingPong',{'type':'scale','k':0.5}]", 18),
       0.25);

    /* Vector lenses. */
    double v[3];
    if (s_vec_lens("[1,1,1]", "[{'type':'scale','k':[1,2,3]}]", v))
        TRUE_("lens scale vec3 k", v[0] == 1 && v[1] == 2 && v[2] == 3);
    if (s_vec_lens("[1,2,3]", "[{'type':'scale','k':2}]", v))
        TRUE_("lens scale vec3 by a number", v[0] == 2 && v[1] == 4 && v[2] == 6);
    if (s_vec_lens("[1,2,3]", "[{'type':'offset','k':[0.5,-2,0]}]", v))
        TRUE_("lens offset vec3", v[0] == 1.5 && v[1] == 0 && v[2] == 3);
    if (s_vec_lens("[-1,0.5,2]", "['clamp']", v))
        TRUE_("lens clamp vec3", v[0] == 0 && v[1] == 0.5 && v[2] == 1);
    if (s_vec_lens("[0.25,0.5,2]", "['polarity']", v))
        TRUE_("lens polarity vec3", v[0] == 0.75 && v[1] == 0.5 && v[2] == -1);
    if (s_vec_lens("[0.6,-0.1,1.3]", "[{'type':'quantize','steps':4}]", v))
        TRUE_("lens quantize vec3", v[0] == 0.5 && v[1] == -0.25 && v[2] == 1.25);

    /* slew: moves toward x by at most rate * dt per frame, from 0; stateful
     * (frame f uses inputs up to f - 1). rate 12 at 24 fps = 0.5 a frame;
     * dt = 1/24 is inexact, so NEAR. */
    double s[8];
    pt_t sl = {.blocks = "{'id':'c','type':'Const','params':{'value':2}},"
                         "{'id':'lis','type':'Add','inputs':{'b':0}}",
               .edges = "{'from':'c.out','to':'lis.a','lenses':[{'type':'slew','rate':12}]}"};
    const double ws[] = {0, 0.5, 1, 1.5, 2, 2, 2, 2};
    s_expect_series("lens slew 12 toward 2,", &sl, "lis.out", ws, 8, 1e-12);
    pt_t sl2 = {.blocks = "{'id':'c','type':'Const','params':{'value':-0.75}},"
                          "{'id':'lis','type':'Add','inputs':{'b':0}}",
                .edges = "{'from':'c.out','to':'lis.a','lenses':[{'type':'slew','rate':12}]}"};
    const double ws2[] = {0, -0.5, -0.75, -0.75};
    s_expect_series("lens slew 12 toward -0.75,", &sl2, "lis.out", ws2, 4, 1e-12);
    pt_t sl0 = {.blocks = "{'id':'c','type':'Const','params':{'value':2}},"
                          "{'id':'lis','type':'Add','inputs':{'b':0}}",
                .edges = "{'from':'c.out','to':'lis.a','lenses':[{'type':'slew','rate':0}]}"};
    EQ("lens slew 0 stays at 0", s_num(&sl0, "lis.out", 10), 0.0);
    /* Following a moving target (time, rate 1000/s > its speed): one
     * frame behind. */
    pt_t slt = {.blocks = "{'id':'lis','type':'Add','inputs':{'b':0}}",
                .edges = "{'from':'t.time','to':'lis.a','lenses':[{'type':'slew','rate':1e6}]}"};
    if (s_series(&slt, "lis.out", 6, s))
        for (int f = 0; f < 6; f++) {
            snprintf(w, sizeof w, "lens slew fast, f=%d", f);
            NEAR(w, s[f], f == 0 ? 0 : s_t(f - 1));
        }
    /* A lens on a listener. */
    pt_t li = {
        .blocks = "{'id':'c1','type':'Const','params':{'value':2}},"
                  "{'id':'c2','type':'Const','params':{'value':8}},"
                  "{'id':'lis','type':'Add','inputs':{'b':0}}",
        .extra =
            "'buses':[{'name':'k','type':'number','combine':'sum'}],"
            "'publish':[{'from':'c1.out','bus':'k'},{'from':'c2.out','bus':'k'}],"
            "'listen':[{'bus':'k','to':'lis.a','lenses':[{'type':'scale','k':2},'polarity']}]"};
    EQ("listener lenses: 1 - 2 * 10", s_num(&li, "lis.out", 0), -19.0);
}

int main(void)
{
    test_infinite_root();
    test_finite_root();
    test_cycle_root();
    test_const();
    test_binary();
    test_unary();
    test_clamp_lerp_map();
    test_oscillator();
    test_ease();
    test_keyframes();
    test_noise_hash();
    test_phase_vec_color();
    test_unit_delay();
    test_lag();
    test_phasor_accumulator();
    test_sample_hold();
    test_particles();
    test_events();
    test_array();
    test_layouts();
    test_random_fields();
    test_field_reduce();
    test_shapes();
    test_camera();
    test_render_instances();
    test_buses();
    test_lenses();
    TEST_MAIN_END();
}
