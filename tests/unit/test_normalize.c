/* GraphNormalization: composites, default sources, rails, buses, lenses
 * and combines become explicit nodes with stable ids and ordered writers. */
#include "lattice/graph.h"
#include "test.h"

typedef struct {
    lx_raw_graph_t *raw;
    lx_graph_t *g;
    lx_diags_t d;
} fx_t;

static bool s_load(fx_t *f, const char *text)
{
    lx_diags_init(&f->d, NULL);
    f->raw = lx_patch_parse(text, strlen(text), NULL, &f->d);
    f->g = f->raw ? lx_normalize(f->raw, NULL, &f->d) : NULL;
    CHECK_MSG(f->g && f->d.n_errors == 0, "normalize: %zu errors, first: %s", f->d.n_errors,
              f->d.count ? f->d.items[0].message : "-");
    return f->g && f->d.n_errors == 0;
}

static void s_free(fx_t *f)
{
    lx_graph_destroy(&f->g);
    lx_raw_graph_destroy(&f->raw);
    lx_diags_release(&f->d);
}

static const lx_node_t *s_node(const lx_graph_t *g, const char *id)
{
    uint32_t i = lx_graph_find(g, id);
    CHECK_MSG(i != LX_NONE, "no node '%s'", id);
    return i == LX_NONE ? NULL : &g->nodes[i];
}

static const char *s_src(const lx_graph_t *g, const lx_node_t *n, const char *port)
{
    int i = lx_block_input(n->def, port);
    if (i < 0 || n->in[i].src == LX_NONE)
        return "(none)";
    return g->nodes[n->in[i].src].id;
}

#define HEAD                                                                   \
    "{\"format\":\"lattice.patch/1\",\"id\":\"n\",\"output\":{\"width\":64,\"height\":64,"  \
    "\"fps\":24},"

static void test_composites(void)
{
    const char *text = HEAD
        "\"composites\":[{\"type\":\"Wobble\",\"inputs\":{\"amount\":\"gain.b\"},"
        "\"outputs\":{\"out\":\"sum.out\"},\"blocks\":["
        "{\"id\":\"gain\",\"type\":\"Mul\"},{\"id\":\"sum\",\"type\":\"Add\",\"inputs\":{\"b\":1}}],"
        "\"edges\":[{\"from\":\"gain.out\",\"to\":\"sum.a\"}]},"
        "{\"type\":\"Outer\",\"inputs\":{\"x\":\"w.amount\"},\"outputs\":{\"y\":\"w.out\"},"
        "\"blocks\":[{\"id\":\"w\",\"type\":\"Wobble\"}]}],"
        "\"blocks\":[{\"id\":\"t\",\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":1000}},"
        "{\"id\":\"o\",\"type\":\"Outer\",\"inputs\":{\"x\":0.25}},"
        "{\"id\":\"s\",\"type\":\"Sin\"}],"
        "\"edges\":[{\"from\":\"t.phase\",\"to\":\"o/w/gain.a\"},{\"from\":\"o.y\",\"to\":\"s.x\"}]}";
    /* Users cannot address inner blocks: "o/w/gain" is not a valid reference. */
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_raw_graph_t *raw = lx_patch_parse(text, strlen(text), NULL, &d);
    CHECK(lx_diags_has(&d, LX_DC_PT_011));
    lx_raw_graph_destroy(&raw);
    lx_diags_release(&d);

    const char *ok = HEAD
        "\"composites\":[{\"type\":\"Wobble\",\"inputs\":{\"amount\":\"gain.b\",\"in\":\"gain.a\"},"
        "\"outputs\":{\"out\":\"sum.out\"},\"blocks\":["
        "{\"id\":\"gain\",\"type\":\"Mul\"},{\"id\":\"sum\",\"type\":\"Add\",\"inputs\":{\"b\":1}}],"
        "\"edges\":[{\"from\":\"gain.out\",\"to\":\"sum.a\"}]},"
        "{\"type\":\"Outer\",\"inputs\":{\"x\":\"w.amount\",\"in\":\"w.in\"},"
        "\"outputs\":{\"y\":\"w.out\"},\"blocks\":[{\"id\":\"w\",\"type\":\"Wobble\"}]}],"
        "\"blocks\":[{\"id\":\"t\",\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":1000}},"
        "{\"id\":\"o\",\"type\":\"Outer\",\"inputs\":{\"x\":0.25}},"
        "{\"id\":\"s\",\"type\":\"Sin\"}],"
        "\"edges\":[{\"from\":\"t.phase\",\"to\":\"o.in\"},{\"from\":\"o.y\",\"to\":\"s.x\"}]}";
    fx_t f;
    if (s_load(&f, ok)) {
        const lx_node_t *gain = s_node(f.g, "o/w/gain");
        const lx_node_t *sum = s_node(f.g, "o/w/sum");
        const lx_node_t *sin = s_node(f.g, "s");
        if (gain && sum && sin) {
            CHECK(gain->in_composite);
            CHECK_EQ_STR(s_src(f.g, gain, "a"), "t");
            /* The instance literal lands on the inner port through two aliases. */
            CHECK_EQ_STR(s_src(f.g, gain, "b"), "o/w/gain.b$default");
            const lx_node_t *lit = s_node(f.g, "o/w/gain.b$default");
            if (lit)
                CHECK(lit->kind == LX_NODE_DEFAULT && lit->lit.v[0] == 0.25 &&
                      lit->strength == LX_LIT_WEAK);
            CHECK_EQ_STR(s_src(f.g, sum, "a"), "o/w/gain");
            CHECK_EQ_STR(s_src(f.g, sin, "x"), "o/w/sum");
        }
    }
    s_free(&f);
}

static void test_defaults_rails_buses_lenses_combine(void)
{
    const char *text = HEAD
        "\"buses\":[{\"name\":\"wob\",\"type\":\"signal<number>\",\"combine\":\"sum\","
        "\"default\":0}],"
        "\"blocks\":[{\"id\":\"t\",\"type\":\"FiniteTimeRoot\",\"params\":{\"durationMs\":1000}},"
        "{\"id\":\"a\",\"type\":\"Const\",\"params\":{\"value\":1}},"
        "{\"id\":\"b\",\"type\":\"Const\",\"params\":{\"value\":2}},"
        "{\"id\":\"m\",\"type\":\"Add\",\"combine\":{\"a\":\"max\"}},"
        "{\"id\":\"osc\",\"type\":\"Oscillator\"}],"
        "\"edges\":[{\"from\":\"b.out\",\"to\":\"m.a\",\"sortKey\":5},"
        "{\"from\":\"a.out\",\"to\":\"m.a\",\"sortKey\":1,\"lenses\":[{\"type\":\"scale\",\"k\":3},"
        "\"polarity\"]}],"
        "\"publish\":[{\"from\":\"b.out\",\"bus\":\"wob\",\"sortKey\":2},"
        "{\"from\":\"a.out\",\"bus\":\"wob\",\"sortKey\":1}],"
        "\"listen\":[{\"bus\":\"wob\",\"to\":\"m.b\"},{\"bus\":\"phase\",\"to\":\"osc.phase\","
        "\"lenses\":[{\"type\":\"phaseOffset\",\"k\":0.25}]}]}";
    fx_t f;
    if (!s_load(&f, text)) {
        s_free(&f);
        return;
    }
    /* Catalogue defaults are materialized as DefaultSource nodes. */
    const lx_node_t *osc = s_node(f.g, "osc");
    const lx_node_t *amp = s_node(f.g, "osc.amplitude$default");
    if (osc && amp) {
        CHECK_EQ_STR(s_src(f.g, osc, "amplitude"), "osc.amplitude$default");
        CHECK(amp->strength == LX_LIT_SPLAT && amp->lit.v[0] == 1 && amp->fixed == LX_D_NUMBER);
        /* The phase listener passes through a PhaseOffset lens. */
        const char *src = s_src(f.g, osc, "phase");
        CHECK_EQ_STR(src, "osc.phase$lens0@$bus.phase");
        const lx_node_t *lens = s_node(f.g, src);
        if (lens) {
            CHECK_EQ_STR(lens->def->name, "PhaseOffset");
            CHECK_EQ_STR(s_src(f.g, lens, "phase"), "$bus.phase");
            CHECK_EQ_STR(s_src(f.g, lens, "offset"), "osc.phase$lens0@$bus.phase.offset$default");
        }
    }
    /* Rails: the root publishes first. */
    const lx_node_t *rail = s_node(f.g, "$bus.phase");
    if (rail) {
        CHECK(rail->kind == LX_NODE_BUS && rail->n_in == 1);
        CHECK_EQ_STR(f.g->nodes[rail->in[0].src].id, "t");
    }
    const lx_node_t *progress = s_node(f.g, "$bus.progress");
    if (progress)
        CHECK(progress->n_in == 1);
    /* The user bus orders publishers by sortKey, then declaration. */
    const lx_node_t *wob = s_node(f.g, "$bus.wob");
    if (wob) {
        CHECK_EQ_INT(wob->n_in, 2);
        if (wob->n_in == 2) {
            CHECK_EQ_STR(f.g->nodes[wob->in[0].src].id, "a");
            CHECK_EQ_STR(f.g->nodes[wob->in[1].src].id, "b");
        }
    }
    /* Two writers with a combine mode: a Combine node, ordered by sortKey;
     * the lensed edge runs through Mul then Polarity. */
    const lx_node_t *m = s_node(f.g, "m");
    const lx_node_t *comb = s_node(f.g, "m.a$combine");
    if (m && comb) {
        CHECK_EQ_STR(s_src(f.g, m, "a"), "m.a$combine");
        CHECK_EQ_STR(s_src(f.g, m, "b"), "$bus.wob");
        CHECK(comb->kind == LX_NODE_COMBINE && comb->n_in == 2 &&
              comb->params[0].num == LX_COMBINE_MAX);
        if (comb->n_in == 2) {
            const lx_node_t *first = &f.g->nodes[comb->in[0].src];
            CHECK_EQ_STR(first->def->name, "Polarity");
            CHECK_EQ_STR(first->id, "m.a$lens1@a.out");
            const lx_node_t *scale = s_node(f.g, "m.a$lens0@a.out");
            if (scale) {
                CHECK_EQ_STR(scale->def->name, "Mul");
                CHECK_EQ_STR(s_src(f.g, scale, "a"), "a");
            }
            CHECK_EQ_STR(f.g->nodes[comb->in[1].src].id, "b");
        }
    }
    /* Without a Camera block the default camera is materialized. */
    CHECK(f.g->camera != LX_NONE && strcmp(f.g->nodes[f.g->camera].id, "$camera") == 0);
    s_free(&f);
}

int main(void)
{
    test_composites();
    test_defaults_rails_buses_lenses_combine();
    TEST_MAIN_END();
}
