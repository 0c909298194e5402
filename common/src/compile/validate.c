/* Validation: generic resolution by unification, world inference, port
 * checks, feedback (Tarjan SCC), time model, liveness and state horizon.
 * Every problem is reported; nothing stops at the first. */
#include <stdio.h>
#include <string.h>

#include "compile_internal.h"

typedef struct {
    const lx_graph_t *g;
    lx_typing_t *t;
    lx_diags_t *d;
    lx_arena_t *a;
    uint32_t *parent;   /* union-find over nodes' type variables */
    lx_domain_t *bound; /* per root */
    bool *weak;         /* per root: a number literal votes for number */
    uint32_t *topo;     /* all nodes, writers before readers (cycles aside) */
    bool oom;
} ctx_t;

static bool s_has_var(const lx_node_t *n)
{
    const lx_block_def_t *d = n->def;
    for (size_t i = 0; i < d->n_inputs; i++)
        if (d->inputs[i].domain == LX_D_GENERIC)
            return true;
    for (size_t i = 0; i < d->n_outputs; i++)
        if (d->outputs[i].domain == LX_D_GENERIC)
            return true;
    return false;
}

static uint32_t s_find(ctx_t *c, uint32_t x)
{
    while (c->parent[x] != x) {
        c->parent[x] = c->parent[c->parent[x]];
        x = c->parent[x];
    }
    return x;
}

static void s_at_input(ctx_t *c, lx_diag_t *dg, const lx_node_t *n, uint32_t i)
{
    const lx_node_input_t *in = &n->in[i];
    const char *port = n->port                             ? n->port
                       : (n->def->flags & LX_BF_VARIADIC) ? "in"
                                                           : n->def->inputs[i].name;
    if (n->kind == LX_NODE_BUS)
        lx_diag_at_bus(c->d, dg, n->owner);
    else
        lx_diag_at_port(c->d, dg, n->owner, port);
    if (in->from && strncmp(in->from, "$bus.", 5) == 0) {
        lx_diag_at_bus(c->d, dg, in->from + 5);
    } else if (in->from && n->kind == LX_NODE_USER) {
        char to[200];
        snprintf(to, sizeof to, "%s.%s", n->id, port);
        lx_diag_at_edge(c->d, dg, in->from, to);
    }
    lx_diag_at_json(c->d, dg, in->json);
}

static const lx_port_def_t *s_in_def(const lx_node_t *n, uint32_t i)
{
    return (n->def->flags & LX_BF_VARIADIC) ? &n->def->inputs[0] : &n->def->inputs[i];
}

/* The input name a user knows: derived nodes speak for their owner's port. */
static const char *s_port_name(const lx_node_t *n, uint32_t i)
{
    return n->port ? n->port : s_in_def(n, i)->name;
}

static lx_domain_t s_norm(lx_domain_t d)
{
    return (d == LX_D_INT || d == LX_D_PHASE || d == LX_D_TIME) ? LX_D_NUMBER : d;
}

static void s_conflict(ctx_t *c, const lx_node_t *n, uint32_t i, lx_domain_t have,
                       lx_domain_t want)
{
    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_103,
                                 "block '%s' is %s here but %s elsewhere (its generic ports share "
                                 "one type)",
                                 n->owner, lx_domain_name(want), lx_domain_name(have));
    s_at_input(c, dg, n, i);
    lx_diag_help(c->d, dg, "vectors and numbers do not mix: use MakeVec2/MakeVec3/SplitVec3");
}

/* One edge's constraint: writer domain w (maybe a variable) into reader r. */
static void s_unify_edge(ctx_t *c, uint32_t node, uint32_t i)
{
    const lx_node_t *n = &c->g->nodes[node];
    const lx_node_input_t *in = &n->in[i];
    if (in->src == LX_NONE)
        return;
    const lx_node_t *src = &c->g->nodes[in->src];
    lx_domain_t wd = src->def->outputs[in->src_port].domain;
    lx_domain_t rd = s_in_def(n, i)->domain;
    if (wd == LX_D_EVENT || rd == LX_D_EVENT || wd == LX_D_DOMAIN || rd == LX_D_DOMAIN)
        return; /* checked with worlds */
    bool wv = wd == LX_D_GENERIC, rv = rd == LX_D_GENERIC;
    /* A variable fixed to a non-arithmetic domain (a phase rail, a combine
     * into a phase port) is as good as that concrete domain. */
    lx_domain_t wb = wv ? c->bound[s_find(c, in->src)] : LX_D_NONE;
    lx_domain_t rb = rv ? c->bound[s_find(c, node)] : LX_D_NONE;
    if (wb && !lx_domain_is_arith(wb)) {
        wd = wb;
        wv = false;
    }
    if (rb && !lx_domain_is_arith(rb)) {
        rd = rb;
        rv = false;
    }
    if (wv && rv) {
        uint32_t a = s_find(c, in->src), b = s_find(c, node);
        if (a == b)
            return;
        if (c->bound[a] && c->bound[b] && c->bound[a] != c->bound[b]) {
            s_conflict(c, n, i, c->bound[b], c->bound[a]);
            return;
        }
        c->parent[a] = b;
        if (!c->bound[b])
            c->bound[b] = c->bound[a];
        c->weak[b] = c->weak[b] || c->weak[a];
        return;
    }
    if (!wv && !rv) {
        if (!lx_domain_converts(wd, rd)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_101, "%s '%s' cannot feed %s input '%s' of '%s'",
                                         lx_domain_name(wd), in->from ? in->from : src->id,
                                         lx_domain_name(rd), s_port_name(n, i), n->owner);
            s_at_input(c, dg, n, i);
            if (rd == LX_D_PHASE && lx_domain_converts(wd, LX_D_NUMBER))
                lx_diag_help(c->d, dg, "convert with a WrapPhase block");
            else if (lx_domain_is_arith(rd) || lx_domain_is_arith(wd))
                lx_diag_help(c->d, dg, "use MakeVec2/MakeVec3/SplitVec3 or Hsv to convert");
        }
        return;
    }
    if (!wv && rv) {
        uint32_t r = s_find(c, node);
        if (c->bound[r]) {
            if (lx_domain_converts(wd, c->bound[r]))
                return;
            if (n->fixed == LX_D_NONE) {
                s_conflict(c, n, i, c->bound[r], s_norm(wd));
                return;
            }
            /* The reader's type was declared (a bus, a combined port). */
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_101, "%s '%s' cannot feed %s %s '%s'",
                                         lx_domain_name(wd), in->from ? in->from : src->id,
                                         lx_domain_name(c->bound[r]),
                                         n->kind == LX_NODE_BUS ? "bus" : "input of",
                                         n->kind == LX_NODE_BUS ? n->owner : s_port_name(n, i));
            s_at_input(c, dg, n, i);
            return;
        }
        if (!lx_domain_is_arith(s_norm(wd))) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_102,
                                         "input '%s' of '%s' takes number, vec2, vec3 or color, "
                                         "not %s",
                                         s_port_name(n, i), n->owner, lx_domain_name(wd));
            s_at_input(c, dg, n, i);
            return;
        }
        c->bound[r] = s_norm(wd);
        return;
    }
    /* variable writer into a concrete reader */
    uint32_t r = s_find(c, in->src);
    if (c->bound[r]) {
        if (!lx_domain_converts(c->bound[r], rd)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_101, "%s '%s' cannot feed %s input '%s' of '%s'",
                                         lx_domain_name(c->bound[r]), in->from ? in->from : src->id,
                                         lx_domain_name(rd), s_port_name(n, i), n->owner);
            s_at_input(c, dg, n, i);
            if (rd == LX_D_PHASE)
                lx_diag_help(c->d, dg, "convert with a WrapPhase block");
        }
        return;
    }
    if (!lx_domain_is_arith(rd)) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_101,
                                     "generic output '%s' cannot feed %s input '%s' of '%s'",
                                     in->from ? in->from : src->id, lx_domain_name(rd),
                                     s_port_name(n, i), n->owner);
        s_at_input(c, dg, n, i);
        if (rd == LX_D_PHASE)
            lx_diag_help(c->d, dg, "convert with a WrapPhase block");
        return;
    }
    c->bound[r] = rd;
}

static void s_domains(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        c->parent[i] = i;
        const lx_node_t *n = &g->nodes[i];
        if (n->kind == LX_NODE_DEFAULT && n->def->op == LX_OP_CONST) {
            /* A DefaultSource: concrete ports check their literal now. */
            if (n->fixed != LX_D_NONE && n->strength != LX_LIT_SPLAT &&
                !lx_literal_fits(&n->lit, n->fixed)) {
                lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_105,
                                             "literal for input '%s' of block '%s' does not fit "
                                             "its type %s",
                                             n->port ? n->port : "?", n->owner,
                                             lx_domain_name(n->fixed));
                lx_diag_at_port(c->d, dg, n->owner, n->port ? n->port : "?");
                lx_diag_at_json(c->d, dg, n->json);
                if (n->fixed == LX_D_PHASE)
                    lx_diag_help(c->d, dg, "a phase literal lies in [0, 1)");
                else if (n->fixed == LX_D_INT)
                    lx_diag_help(c->d, dg, "use a whole number");
                else if (lx_domain_stride(n->fixed) > 1)
                    lx_diag_help(c->d, dg, "write a %s as an array of %u numbers",
                                 lx_domain_name(n->fixed), lx_domain_stride(n->fixed));
            }
        }
        c->bound[i] = n->fixed;
        c->weak[i] = n->strength == LX_LIT_WEAK;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++)
        for (uint32_t k = 0; k < g->nodes[i].n_in; k++)
            s_unify_edge(c, i, k);
    /* Free variables: a number literal votes for number; otherwise the
     * generic is unresolved (reported once per class, on a user block). */
    bool *reported = lx_arena_calloc(c->a, g->n_nodes + 1, sizeof *reported);
    if (!reported) {
        c->oom = true;
        return;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        if (!s_has_var(&g->nodes[i]))
            continue;
        uint32_t r = s_find(c, i);
        if (!c->bound[r] && c->weak[r])
            c->bound[r] = LX_D_NUMBER;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const lx_node_t *n = &g->nodes[i];
        if (!s_has_var(n)) {
            c->t->tvar[i] = LX_D_NONE;
            continue;
        }
        uint32_t r = s_find(c, i);
        c->t->tvar[i] = c->bound[r];
        /* A Const whose value was rejected has been reported already. */
        bool rejected = n->def->op == LX_OP_CONST && n->kind == LX_NODE_USER && !n->params[0].set;
        if (c->bound[r] || reported[r] || n->kind == LX_NODE_DEFAULT || rejected)
            continue;
        reported[r] = true;
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_104,
                                     "the type of block '%s' (%s) cannot be inferred", n->owner,
                                     n->def->name);
        lx_diag_at_block(c->d, dg, n->owner);
        lx_diag_at_json(c->d, dg, n->json);
        lx_diag_help(c->d, dg, "connect an input or give one a literal such as 0 or [0, 0, 0]");
    }
}

/* ---- worlds --------------------------------------------------------- */

lx_port_type_t lx_input_type(const lx_graph_t *g, const lx_typing_t *t, uint32_t n, uint32_t i)
{
    const lx_node_input_t *in = &g->nodes[n].in[i];
    if (in->src == LX_NONE)
        return (lx_port_type_t){LX_W_SCALAR, LX_D_NONE, LX_NONE};
    return t->out[in->src][in->src_port];
}

/* Joins value worlds; *clash is set when two different field domains meet. */
static lx_port_type_t s_join(lx_port_type_t a, lx_port_type_t b, bool *clash)
{
    if (b.world == LX_W_EVENT)
        return a;
    if (a.world == LX_W_FIELD && b.world == LX_W_FIELD && a.instance != b.instance) {
        *clash = true;
        return a;
    }
    return b.world > a.world ? b : a;
}

static int s_domain_input(const lx_node_t *n)
{
    for (uint32_t i = 0; i < n->def->n_inputs && !(n->def->flags & LX_BF_VARIADIC); i++)
        if (n->def->inputs[i].domain == LX_D_DOMAIN)
            return (int)i;
    return -1;
}

static bool s_worlds_step(ctx_t *c, uint32_t node)
{
    const lx_graph_t *g = c->g;
    const lx_node_t *n = &g->nodes[node];
    lx_port_type_t pw = {LX_W_SCALAR, LX_D_NONE, LX_NONE};
    bool clash = false;
    for (uint32_t i = 0; i < n->n_in; i++) {
        const lx_port_def_t *pd = s_in_def(n, i);
        if (pd->domain == LX_D_DOMAIN || pd->domain == LX_D_EVENT)
            continue;
        pw = s_join(pw, lx_input_type(g, c->t, node, i), &clash);
    }
    int di = s_domain_input(n);
    uint32_t dom = LX_NONE;
    if (di >= 0 && n->in[di].src != LX_NONE)
        dom = lx_input_type(g, c->t, node, (uint32_t)di).instance;
    bool changed = false;
    for (uint32_t o = 0; o < n->def->n_outputs; o++) {
        const lx_port_def_t *od = &n->def->outputs[o];
        lx_port_type_t t = {LX_W_SCALAR, od->domain == LX_D_GENERIC ? c->t->tvar[node] : od->domain,
                            LX_NONE};
        switch (od->rule) {
        case LX_OUT_POINTWISE:
            t.world = pw.world;
            t.instance = pw.instance;
            break;
        case LX_OUT_VARYING:
            t.world = pw.world > LX_W_SIGNAL ? pw.world : LX_W_SIGNAL;
            t.instance = pw.instance;
            break;
        case LX_OUT_SIGNAL:
            t.world = LX_W_SIGNAL;
            break;
        case LX_OUT_EVENT:
            t.world = LX_W_EVENT;
            break;
        case LX_OUT_DOMAIN:
            t.world = LX_W_SCALAR;
            t.instance = node;
            break;
        case LX_OUT_FIELD_OWN:
            t.world = LX_W_FIELD;
            t.instance = node;
            break;
        case LX_OUT_FIELD_INPUT:
            t.world = LX_W_FIELD;
            t.instance = dom;
            break;
        }
        lx_port_type_t *cur = &c->t->out[node][o];
        if (cur->world != t.world || cur->instance != t.instance || cur->domain != t.domain) {
            *cur = t;
            changed = true;
        }
    }
    return changed;
}

static void s_check_inputs(ctx_t *c, uint32_t node)
{
    const lx_graph_t *g = c->g;
    const lx_node_t *n = &g->nodes[node];
    bool clash = false;
    lx_port_type_t pw = {LX_W_SCALAR, LX_D_NONE, LX_NONE};
    int di = s_domain_input(n);
    uint32_t dom = LX_NONE;
    if (di >= 0 && n->in[di].src != LX_NONE)
        dom = lx_input_type(g, c->t, node, (uint32_t)di).instance;
    bool sink_or_layout = (n->def->flags & LX_BF_RENDER) ||
                          (di >= 0 && n->def->outputs && n->def->n_outputs &&
                           n->def->outputs[0].rule == LX_OUT_FIELD_INPUT);
    for (uint32_t i = 0; i < n->n_in; i++) {
        const lx_port_def_t *pd = s_in_def(n, i);
        if (n->in[i].src == LX_NONE)
            continue;
        const lx_node_t *src = &g->nodes[n->in[i].src];
        lx_domain_t wd = src->def->outputs[n->in[i].src_port].domain;
        lx_port_type_t it = lx_input_type(g, c->t, node, i);
        bool want_event = pd->domain == LX_D_EVENT, have_event = wd == LX_D_EVENT;
        if (want_event != have_event) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_110, want_event
                                         ? "event input '%s' of '%s' is fed a value"
                                         : "input '%s' of '%s' is fed an event",
                                         s_port_name(n, i), n->owner);
            s_at_input(c, dg, n, i);
            continue;
        }
        if ((pd->domain == LX_D_DOMAIN) != (wd == LX_D_DOMAIN)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_101,
                                         "input '%s' of '%s' takes %s, not %s", s_port_name(n, i),
                                         n->owner, lx_domain_name(pd->domain),
                                         lx_domain_name(wd));
            s_at_input(c, dg, n, i);
            continue;
        }
        if (want_event || pd->domain == LX_D_DOMAIN)
            continue;
        if (it.world == LX_W_FIELD && !(pd->worlds & LX_WM_FIELD)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_111,
                                         "input '%s' of '%s' takes one value per frame, not a "
                                         "field",
                                         s_port_name(n, i), n->owner);
            s_at_input(c, dg, n, i);
            lx_diag_help(c->d, dg, "reduce the field with FieldReduce first");
            continue;
        }
        if (it.world != LX_W_FIELD && pd->worlds == LX_WM_FIELD) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_113,
                                         "input '%s' of '%s' needs a field, got a %s", s_port_name(n, i),
                                         n->owner, lx_world_name(it.world));
            s_at_input(c, dg, n, i);
            continue;
        }
        if ((pd->flags & LX_PORT_CONST) && it.world != LX_W_SCALAR) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_114,
                                         "input '%s' of '%s' must be a compile-time constant, "
                                         "got a %s",
                                         s_port_name(n, i), n->owner, lx_world_name(it.world));
            s_at_input(c, dg, n, i);
            continue;
        }
        if (it.world == LX_W_FIELD && sink_or_layout && it.instance != dom) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_113,
                                         dom == LX_NONE
                                             ? "input '%s' of '%s' is a field but the block has "
                                               "no domain"
                                             : "input '%s' of '%s' is a field over another domain "
                                               "than the block's",
                                         s_port_name(n, i), n->owner);
            s_at_input(c, dg, n, i);
            if (dom == LX_NONE)
                lx_diag_help(c->d, dg, "connect the field's domain to '%s.domain'", n->owner);
            continue;
        }
        bool was = clash;
        pw = s_join(pw, it, &clash);
        if (clash && !was) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_112,
                                         "block '%s' combines fields over different domains",
                                         n->owner);
            s_at_input(c, dg, n, i);
        }
    }
    if (n->kind == LX_NODE_COMBINE || n->kind == LX_NODE_BUS) {
        lx_domain_t d = n->def->op == LX_OP_COMBINE_EVENTS ? LX_D_EVENT : c->t->tvar[node];
        lx_combine_t mode = n->def->op == LX_OP_COMBINE_EVENTS ? LX_COMBINE_OR
                                                                : (lx_combine_t)n->params[0].num;
        if (d != LX_D_NONE && !lx_combine_fits(mode, d)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_117,
                                         "combine mode '%s' does not fit %s values (at '%s')",
                                         lx_combine_name(mode), lx_domain_name(d), n->owner);
            lx_diag_at_json(c->d, dg, n->json);
            lx_diag_at_block(c->d, dg, n->owner);
        }
    }
}

static void s_worlds(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        uint32_t no = g->nodes[i].def->n_outputs;
        c->t->out[i] = lx_arena_calloc(c->a, no ? no : 1, sizeof **c->t->out);
        if (!c->t->out[i]) {
            c->oom = true;
            return;
        }
        for (uint32_t o = 0; o < no; o++)
            c->t->out[i][o] = (lx_port_type_t){LX_W_SCALAR, LX_D_NONE, LX_NONE};
    }
    /* In topological order one pass settles everything outside cycles;
     * around cycles worlds only rise, so a few more passes settle those
     * (bounded, to be safe on hostile input). */
    for (uint32_t pass = 0; pass < g->n_nodes + 2; pass++) {
        bool changed = false;
        for (uint32_t i = 0; i < g->n_nodes; i++)
            changed |= s_worlds_step(c, c->topo[i]);
        if (!changed)
            break;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++)
        s_check_inputs(c, i);
}

/* ---- feedback ------------------------------------------------------- */

typedef struct {
    uint32_t *index, *low, *stack, *comp, *call, *edge;
    bool *on;
    uint32_t n_stack, next, n_comp;
} scc_t;

/* Does node n's output depend on input i within the frame? */
static bool s_depends(const lx_graph_t *g, uint32_t n, bool cut)
{
    return !(cut && (g->nodes[n].def->flags & LX_BF_STATE));
}

/* Iterative Tarjan over "input -> node" dependencies among nodes with
 * mask[n] set. With cut, state blocks' inputs are not dependencies. Fills
 * comp[] with component ids (in reverse topological order). */
static bool s_tarjan(ctx_t *c, const bool *mask, bool cut, scc_t *s)
{
    const lx_graph_t *g = c->g;
    uint32_t n = g->n_nodes;
    s->index = lx_arena_calloc(c->a, n + 1, sizeof *s->index);
    s->low = lx_arena_calloc(c->a, n + 1, sizeof *s->low);
    s->stack = lx_arena_calloc(c->a, n + 1, sizeof *s->stack);
    s->comp = lx_arena_calloc(c->a, n + 1, sizeof *s->comp);
    s->call = lx_arena_calloc(c->a, n + 1, sizeof *s->call);
    s->edge = lx_arena_calloc(c->a, n + 1, sizeof *s->edge);
    s->on = lx_arena_calloc(c->a, n + 1, sizeof *s->on);
    if (!s->index || !s->low || !s->stack || !s->comp || !s->call || !s->edge || !s->on)
        return false;
    s->n_stack = 0;
    s->next = 1;
    s->n_comp = 0;
    for (uint32_t root = 0; root < n; root++) {
        if (!mask[root] || s->index[root])
            continue;
        uint32_t depth = 0;
        s->call[depth++] = root;
        s->index[root] = s->low[root] = s->next++;
        s->stack[s->n_stack++] = root;
        s->on[root] = true;
        s->edge[root] = 0;
        while (depth) {
            uint32_t v = s->call[depth - 1];
            const lx_node_t *nv = &g->nodes[v];
            /* Successors of v are its writers: we walk "depends on". */
            if (s->edge[v] < nv->n_in) {
                uint32_t i = s->edge[v]++;
                uint32_t w = nv->in[i].src;
                if (w == LX_NONE || !mask[w] || !s_depends(g, v, cut))
                    continue;
                if (!s->index[w]) {
                    s->index[w] = s->low[w] = s->next++;
                    s->stack[s->n_stack++] = w;
                    s->on[w] = true;
                    s->edge[w] = 0;
                    s->call[depth++] = w;
                } else if (s->on[w] && s->index[w] < s->low[v]) {
                    s->low[v] = s->index[w];
                }
                continue;
            }
            depth--;
            if (depth && s->low[v] < s->low[s->call[depth - 1]])
                s->low[s->call[depth - 1]] = s->low[v];
            if (s->low[v] == s->index[v]) {
                uint32_t w;
                do {
                    w = s->stack[--s->n_stack];
                    s->on[w] = false;
                    s->comp[w] = s->n_comp;
                } while (w != v);
                s->n_comp++;
            }
        }
    }
    return true;
}

/* Components as member lists: comp_start[k] .. comp_start[k + 1] index
 * members[] (counting sort, so the whole pass stays linear). */
typedef struct {
    uint32_t *start, *members;
} groups_t;

static bool s_group(ctx_t *c, const scc_t *s, const bool *mask, groups_t *gr)
{
    uint32_t n = c->g->n_nodes;
    gr->start = lx_arena_calloc(c->a, s->n_comp + 2, sizeof *gr->start);
    gr->members = lx_arena_calloc(c->a, n + 1, sizeof *gr->members);
    uint32_t *fill = lx_arena_calloc(c->a, s->n_comp + 1, sizeof *fill);
    if (!gr->start || !gr->members || !fill)
        return false;
    for (uint32_t v = 0; v < n; v++)
        if (mask[v])
            gr->start[s->comp[v] + 1]++;
    for (uint32_t k = 0; k < s->n_comp; k++)
        gr->start[k + 1] += gr->start[k];
    for (uint32_t v = 0; v < n; v++)
        if (mask[v])
            gr->members[gr->start[s->comp[v]] + fill[s->comp[v]]++] = v;
    return true;
}

/* A component is a cycle when it has several nodes or a self-dependency. */
static bool s_is_cycle(const lx_graph_t *g, const groups_t *gr, uint32_t k, bool cut)
{
    if (gr->start[k + 1] - gr->start[k] > 1)
        return true;
    uint32_t v = gr->members[gr->start[k]];
    if (!s_depends(g, v, cut))
        return false;
    for (uint32_t i = 0; i < g->nodes[v].n_in; i++)
        if (g->nodes[v].in[i].src == v)
            return true;
    return false;
}

static void s_report_cycle(ctx_t *c, lx_dcode_t code, const groups_t *gr, uint32_t k,
                           const char *msg)
{
    const lx_graph_t *g = c->g;
    uint32_t n = gr->start[k + 1] - gr->start[k];
    const char **names = lx_arena_calloc(c->a, n + 1, sizeof *names);
    if (!names)
        return;
    size_t count = 0;
    for (uint32_t m = gr->start[k]; m < gr->start[k + 1] && count < 64; m++) {
        const char *o = g->nodes[gr->members[m]].owner;
        bool dup = false;
        for (size_t j = 0; j < count; j++)
            dup |= strcmp(names[j], o) == 0;
        if (!dup)
            names[count++] = o;
    }
    lx_diag_t *dg = lx_diags_add(c->d, code, "%s", msg);
    lx_diag_at_cycle(c->d, dg, names, count);
    for (size_t j = 0; j < count && j < 8; j++)
        lx_diag_at_block(c->d, dg, names[j]);
    if (code == LX_DC_FB_301)
        lx_diag_help(c->d, dg, "put a state block (UnitDelay, Lag, ...) on the cycle");
    else
        lx_diag_help(c->d, dg, "every path around the cycle must pass through the state block");
}

/* FB-301: a cycle without state. FB-302: a cycle with state that still
 * has a cycle once state blocks' inputs are cut (a path bypasses them).
 * Nodes on stateful cycles get unbounded history. */
static void s_feedback(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    uint32_t n = g->n_nodes;
    bool *all = lx_arena_calloc(c->a, n + 1, sizeof *all);
    bool *stateful = lx_arena_calloc(c->a, n + 1, sizeof *stateful);
    scc_t full, cut;
    groups_t fg, cg;
    if (!all || !stateful)
        goto oom;
    memset(all, 1, n);
    if (!s_tarjan(c, all, false, &full) || !s_group(c, &full, all, &fg))
        goto oom;
    /* Tarjan over "reads from" edges closes writers' components first, so
     * the grouped members are in topological order. */
    c->topo = fg.members;
    bool any_stateful = false;
    for (uint32_t k = 0; k < full.n_comp; k++) {
        if (!s_is_cycle(g, &fg, k, false))
            continue;
        bool has_state = false;
        for (uint32_t m = fg.start[k]; m < fg.start[k + 1]; m++)
            has_state |= (g->nodes[fg.members[m]].def->flags & LX_BF_STATE) != 0;
        if (!has_state) {
            s_report_cycle(c, LX_DC_FB_301, &fg, k,
                           "illegal feedback: this cycle has no state block");
            continue;
        }
        any_stateful = true;
        for (uint32_t m = fg.start[k]; m < fg.start[k + 1]; m++)
            stateful[fg.members[m]] = c->t->cyclic[fg.members[m]] = true;
    }
    if (!any_stateful)
        return;
    /* One cut pass over every stateful cycle at once; each full component
     * reports FB-302 at most once. */
    if (!s_tarjan(c, stateful, true, &cut) || !s_group(c, &cut, stateful, &cg))
        goto oom;
    bool *reported = lx_arena_calloc(c->a, full.n_comp + 1, sizeof *reported);
    if (!reported)
        goto oom;
    for (uint32_t k = 0; k < cut.n_comp; k++) {
        uint32_t fc = full.comp[cg.members[cg.start[k]]];
        if (reported[fc] || !s_is_cycle(g, &cg, k, true))
            continue;
        reported[fc] = true;
        s_report_cycle(c, LX_DC_FB_302, &cg, k,
                       "partial buffering: a path around this cycle bypasses its state block");
    }
    return;
oom:
    c->oom = true;
}

/* ---- time model, liveness, horizon ---------------------------------- */

static void s_time_model(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    lx_time_model_t *tm = &c->t->time_model;
    memset(tm, 0, sizeof *tm);
    if (g->time_root == LX_NONE)
        return;
    const lx_node_t *r = &g->nodes[g->time_root];
    switch (r->def->op) {
    case LX_OP_FINITE_TIME_ROOT:
        tm->kind = LX_TIME_FINITE;
        tm->duration_ms = r->params[0].num;
        break;
    case LX_OP_CYCLE_TIME_ROOT:
        tm->kind = LX_TIME_CYCLIC;
        tm->period_ms = r->params[0].num;
        tm->mode = r->params[1].num == 1 ? LX_CYCLE_PINGPONG : LX_CYCLE_LOOP;
        break;
    default:
        tm->kind = LX_TIME_INFINITE;
        tm->period_ms = r->params[0].num;
        break;
    }
}

static void s_liveness(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    uint32_t *work = lx_arena_calloc(c->a, g->n_nodes + 1, sizeof *work);
    if (!work) {
        c->oom = true;
        return;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        uint32_t f = g->nodes[i].def->flags;
        bool root = (f & LX_BF_RENDER) || i == g->camera || i == g->time_root;
        if (root && !c->t->live[i]) {
            c->t->live[i] = true;
            work[n++] = i;
        }
    }
    while (n) {
        const lx_node_t *nd = &g->nodes[work[--n]];
        for (uint32_t k = 0; k < nd->n_in; k++) {
            uint32_t s = nd->in[k].src;
            if (s != LX_NONE && !c->t->live[s]) {
                c->t->live[s] = true;
                work[n++] = s;
            }
        }
    }
}

static uint32_t s_sat_add(uint32_t a, uint32_t b)
{
    return a >= LX_HORIZON_UNBOUNDED - b ? LX_HORIZON_UNBOUNDED : a + b;
}

/* History depth per node, by memoized depth-first search over writers
 * (the graph is acyclic once cycles, all unbounded, are marked). */
static void s_horizon(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    uint32_t n = g->n_nodes;
    uint8_t *state = lx_arena_calloc(c->a, n + 1, 1); /* 0 new, 1 open, 2 done */
    uint32_t *stack = lx_arena_calloc(c->a, n + 1, sizeof *stack);
    uint32_t *edge = lx_arena_calloc(c->a, n + 1, sizeof *edge);
    if (!state || !stack || !edge) {
        c->oom = true;
        return;
    }
    for (uint32_t root = 0; root < n; root++) {
        if (state[root])
            continue;
        uint32_t depth = 0;
        stack[depth++] = root;
        state[root] = 1;
        while (depth) {
            uint32_t v = stack[depth - 1];
            const lx_node_t *nv = &g->nodes[v];
            if (edge[v] < nv->n_in) {
                uint32_t w = nv->in[edge[v]++].src;
                if (w != LX_NONE && state[w] == 0) {
                    state[w] = 1;
                    stack[depth++] = w;
                }
                continue;
            }
            uint32_t h = 0;
            for (uint32_t k = 0; k < nv->n_in; k++) {
                uint32_t w = nv->in[k].src;
                if (w != LX_NONE && state[w] == 2 && c->t->horizon[w] > h)
                    h = c->t->horizon[w];
            }
            uint32_t f = nv->def->flags;
            if ((f & LX_BF_UNBOUNDED) || c->t->cyclic[v])
                h = LX_HORIZON_UNBOUNDED;
            else if (f & (LX_BF_STATE | LX_BF_HISTORY))
                h = s_sat_add(h, 1);
            c->t->horizon[v] = h;
            state[v] = 2;
            depth--;
        }
    }
    uint32_t hmax = 0;
    for (uint32_t v = 0; v < n; v++)
        if (c->t->live[v] && c->t->horizon[v] > hmax)
            hmax = c->t->horizon[v];
    c->t->state_horizon = hmax;
    lx_time_kind_t k = c->t->time_model.kind;
    if (hmax == LX_HORIZON_UNBOUNDED && g->time_root != LX_NONE && k != LX_TIME_INFINITE) {
        lx_diag_t *dg = lx_diags_add(
            c->d, LX_DC_FB_303,
            "integrating state in a %s patch: frames depend on all earlier frames%s",
            k == LX_TIME_FINITE ? "finite" : "cyclic",
            k == LX_TIME_CYCLIC ? ", so the loop cannot close exactly" : "");
        for (uint32_t v = 0; v < n; v++) {
            uint32_t f = g->nodes[v].def->flags;
            if (c->t->live[v] && ((f & LX_BF_UNBOUNDED) || (c->t->cyclic[v] && (f & LX_BF_STATE))))
                lx_diag_at_block(c->d, dg, g->nodes[v].owner);
        }
    }
}

bool lx_validate(const lx_graph_t *g, lx_arena_t *a, lx_typing_t *t, lx_diags_t *diags)
{
    uint32_t n = g->n_nodes + 1;
    memset(t, 0, sizeof *t);
    ctx_t c = {g, t, diags, a, NULL, NULL, NULL, NULL, false};
    c.parent = lx_arena_calloc(a, n, sizeof *c.parent);
    c.bound = lx_arena_calloc(a, n, sizeof *c.bound);
    c.weak = lx_arena_calloc(a, n, sizeof *c.weak);
    t->tvar = lx_arena_calloc(a, n, sizeof *t->tvar);
    t->out = lx_arena_calloc(a, n, sizeof *t->out);
    t->live = lx_arena_calloc(a, n, sizeof *t->live);
    t->cyclic = lx_arena_calloc(a, n, sizeof *t->cyclic);
    t->horizon = lx_arena_calloc(a, n, sizeof *t->horizon);
    if (!c.parent || !c.bound || !c.weak || !t->tvar || !t->out || !t->live || !t->cyclic ||
        !t->horizon)
        return false;
    s_domains(&c);
    if (!c.oom)
        s_feedback(&c);
    if (!c.oom)
        s_worlds(&c);
    s_time_model(&c);
    if (!c.oom)
        s_liveness(&c);
    if (!c.oom)
        s_horizon(&c);
    bool renders = false;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        renders |= (g->nodes[i].def->flags & LX_BF_RENDER) != 0;
    if (!renders) {
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_EX_501,
                                     "the patch has no RenderInstances block: exports would be "
                                     "empty");
        lx_diag_at_json(diags, dg, "/blocks");
    }
    return !c.oom && !a->failed;
}
