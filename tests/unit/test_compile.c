/* Compiler semantics: time models, state horizons, generic resolution,
 * dead-block elimination and the split between init and frame steps. */
#include "lattice/compile.h"
#include "lattice/registry.h"
#include "test.h"

static char s_buf[8192];

/* A patch with the given time root, extra blocks and edges, drawing one
 * rect whose position comes from `pos` (a "block.port" or NULL). */
static const char *s_patch(const char *root, const char *blocks, const char *edges,
                           const char *pos)
{
    snprintf(s_buf, sizeof s_buf,
             "{\"format\":\"lattice.patch/1\",\"id\":\"c\",\"output\":{\"width\":64,"
             "\"height\":64,\"fps\":24},\"blocks\":[{\"id\":\"t\",%s},"
             "{\"id\":\"shape\",\"type\":\"Rect\"},{\"id\":\"draw\",\"type\":\"RenderInstances\"}%s%s],"
             "\"edges\":[{\"from\":\"shape.shape\",\"to\":\"draw.shape\"}%s%s%s%s%s]}",
             root, blocks[0] ? "," : "", blocks, edges[0] ? "," : "", edges,
             pos ? ",{\"from\":\"" : "", pos ? pos : "", pos ? "\",\"to\":\"draw.position\"}" : "");
    return s_buf;
}

static lx_result_t s_compile(const char *text, lx_program_t **p, lx_diags_t *d)
{
    lx_diags_init(d, NULL);
    lx_error_t err = {0};
    return lx_compile(text, strlen(text), NULL, d, p, &err);
}

#define INF "\"type\":\"InfiniteTimeRoot\""
#define FIN "\"type\":\"FiniteTimeRoot\",\"params\":{\"durationMs\":2000}"
#define CYC "\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":1000,\"mode\":\"pingpong\"}"

static void s_expect_horizon(const char *root, const char *blocks, const char *edges,
                             const char *pos, uint32_t want)
{
    lx_program_t *p = NULL;
    lx_diags_t d;
    lx_result_t rc = s_compile(s_patch(root, blocks, edges, pos), &p, &d);
    CHECK_MSG(rc == LX_OK, "%s: %s", lx_error_name(rc), d.count ? d.items[0].message : "-");
    if (p)
        CHECK_MSG(p->state_horizon == want, "horizon %u, expected %u (%s)", p->state_horizon,
                  want, blocks);
    lx_program_destroy(&p);
    lx_diags_release(&d);
}

static void test_horizons(void)
{
    s_expect_horizon(INF, "{\"id\":\"v\",\"type\":\"MakeVec3\"}", "", "v.out", 0);
    /* Two chained UnitDelays: frame f depends on f - 2. */
    s_expect_horizon(INF,
                     "{\"id\":\"d1\",\"type\":\"UnitDelay\"},{\"id\":\"d2\",\"type\":\"UnitDelay\"},"
                     "{\"id\":\"v\",\"type\":\"MakeVec3\"}",
                     "{\"from\":\"t.time\",\"to\":\"d1.in\"},{\"from\":\"d1.out\",\"to\":\"d2.in\"},"
                     "{\"from\":\"d2.out\",\"to\":\"v.x\"}",
                     "v.out", 2);
    /* Events feed only integrating state: unbounded. */
    s_expect_horizon(INF,
                     "{\"id\":\"w\",\"type\":\"Wrap\"},{\"id\":\"h\",\"type\":\"SampleHold\"},"
                     "{\"id\":\"v\",\"type\":\"MakeVec3\"}",
                     "{\"from\":\"t.phase\",\"to\":\"w.phase\"},{\"from\":\"w.event\","
                     "\"to\":\"h.trigger\"},{\"from\":\"t.time\",\"to\":\"h.value\"},"
                     "{\"from\":\"h.out\",\"to\":\"v.x\"}",
                     "v.out", LX_HORIZON_UNBOUNDED);
    s_expect_horizon(INF,
                     "{\"id\":\"w\",\"type\":\"EdgeDetect\"},{\"id\":\"o\",\"type\":\"EventOr\"},"
                     "{\"id\":\"acc\",\"type\":\"Accumulator\",\"inputs\":{\"delta\":1}},"
                     "{\"id\":\"v\",\"type\":\"MakeVec3\"}",
                     "{\"from\":\"t.phase\",\"to\":\"w.x\"},{\"from\":\"w.rising\",\"to\":\"o.a\"},"
                     "{\"from\":\"w.falling\",\"to\":\"o.b\"},{\"from\":\"o.event\",\"to\":\"acc.reset\"},"
                     "{\"from\":\"acc.value\",\"to\":\"v.x\"}",
                     "v.out", LX_HORIZON_UNBOUNDED);
    /* A delay nobody renders does not count. */
    s_expect_horizon(INF, "{\"id\":\"d1\",\"type\":\"UnitDelay\"}",
                     "{\"from\":\"t.time\",\"to\":\"d1.in\"}", NULL, 0);
}

static void test_time_models(void)
{
    const char *roots[] = {FIN, CYC, INF};
    lx_time_kind_t kinds[] = {LX_TIME_FINITE, LX_TIME_CYCLIC, LX_TIME_INFINITE};
    double lens[] = {2000, 1000, 10000};
    for (int i = 0; i < 3; i++) {
        lx_program_t *p = NULL;
        lx_diags_t d;
        CHECK(s_compile(s_patch(roots[i], "", "", NULL), &p, &d) == LX_OK);
        if (p) {
            CHECK_EQ_INT(p->time_model.kind, kinds[i]);
            double len = i == 0 ? p->time_model.duration_ms : p->time_model.period_ms;
            CHECK(len == lens[i]);
            if (i == 1)
                CHECK(p->time_model.mode == LX_CYCLE_PINGPONG);
        }
        lx_program_destroy(&p);
        lx_diags_release(&d);
    }
}

static void test_generics_and_statics(void)
{
    /* [1,2,3] decides vec3 for the Add; the number literal splats. */
    lx_program_t *p = NULL;
    lx_diags_t d;
    lx_result_t rc = s_compile(
        s_patch(INF,
                "{\"id\":\"a\",\"type\":\"Add\",\"inputs\":{\"a\":[1,2,3],\"b\":0.5}},"
                "{\"id\":\"unused\",\"type\":\"Sin\",\"inputs\":{\"x\":1}}",
                "", "a.out"),
        &p, &d);
    CHECK(rc == LX_OK);
    if (p) {
        bool found = false;
        for (uint32_t i = 0; i < p->n_exprs; i++) {
            const lx_expr_t *e = &p->exprs[i];
            if (e->op == LX_OP_ADD) {
                found = true;
                CHECK(e->domain == LX_D_VEC3);
            }
            if (e->op == LX_OP_CONST && strcmp(p->blocks[e->block].id, "a.b$default") == 0) {
                CHECK_EQ_INT(e->n_param, 3);
                CHECK(p->constants[e->param_off + 2] == 0.5);
            }
            /* Dead blocks are not lowered. */
            CHECK(e->op != LX_OP_SIN);
        }
        CHECK(found);
        /* Nothing here depends on time but the root, camera and sink. */
        CHECK_EQ_INT(p->n_steps - p->n_init_steps, 3);
    }
    lx_program_destroy(&p);
    lx_diags_release(&d);

    /* A vector and a number do not mix through an edge. */
    rc = s_compile(s_patch(INF,
                           "{\"id\":\"v\",\"type\":\"MakeVec3\"},{\"id\":\"a\",\"type\":\"Add\"}",
                           "{\"from\":\"v.out\",\"to\":\"a.a\"},{\"from\":\"t.time\",\"to\":\"a.b\"}",
                           "a.out"),
                   &p, &d);
    CHECK(rc == LX_E_DIAG && p == NULL && lx_diags_has(&d, LX_DC_TY_103));
    lx_diags_release(&d);

    /* Keyframe values decide the output type. */
    rc = s_compile(
        s_patch(FIN,
                "{\"id\":\"k\",\"type\":\"Keyframes\",\"params\":{\"keys\":["
                "{\"timeMs\":0,\"value\":[0,0,0]},{\"timeMs\":1000,\"value\":[1,2,3],"
                "\"interp\":\"bezier\",\"inHandle\":[0.5,0.9]}]}}",
                "{\"from\":\"t.time\",\"to\":\"k.time\"}", "k.out"),
        &p, &d);
    CHECK(rc == LX_OK);
    if (p) {
        for (uint32_t i = 0; i < p->n_exprs; i++)
            if (p->exprs[i].op == LX_OP_KEYFRAMES)
                CHECK(p->exprs[i].domain == LX_D_VEC3 && p->exprs[i].n_param == 1 + 2 * 11);
    }
    lx_program_destroy(&p);
    lx_diags_release(&d);
}

static void test_feedback_kinds(void)
{
    lx_program_t *p = NULL;
    lx_diags_t d;
    /* Legal: the cycle passes through a UnitDelay. */
    const char *legal = s_patch(INF,
                                "{\"id\":\"a\",\"type\":\"Add\",\"inputs\":{\"b\":1}},"
                                "{\"id\":\"d\",\"type\":\"UnitDelay\"},{\"id\":\"v\",\"type\":\"MakeVec3\"}",
                                "{\"from\":\"a.out\",\"to\":\"d.in\"},{\"from\":\"d.out\",\"to\":\"a.a\"},"
                                "{\"from\":\"d.out\",\"to\":\"v.x\"}",
                                "v.out");
    CHECK(s_compile(legal, &p, &d) == LX_OK);
    CHECK(d.n_warnings == 0);
    lx_program_destroy(&p);
    lx_diags_release(&d);
    /* The same loop in a finite patch closes, but warns FB-303. */
    const char *finite = s_patch(FIN,
                                 "{\"id\":\"a\",\"type\":\"Add\",\"inputs\":{\"b\":1}},"
                                 "{\"id\":\"d\",\"type\":\"UnitDelay\"},{\"id\":\"v\",\"type\":\"MakeVec3\"}",
                                 "{\"from\":\"a.out\",\"to\":\"d.in\"},{\"from\":\"d.out\",\"to\":\"a.a\"},"
                                 "{\"from\":\"d.out\",\"to\":\"v.x\"}",
                                 "v.out");
    CHECK(s_compile(finite, &p, &d) == LX_OK && lx_diags_has(&d, LX_DC_FB_303));
    lx_program_destroy(&p);
    lx_diags_release(&d);
}

int main(void)
{
    test_horizons();
    test_time_models();
    test_generics_and_statics();
    test_feedback_kinds();
    TEST_MAIN_END();
}
