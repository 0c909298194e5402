/* Lowering: a validated NormalizedGraph -> CompiledProgramIR.
 *
 * Only live nodes (those reaching a render sink or the camera) are lowered.
 * Nodes that do not depend on time (no time root, clock, state or history
 * upstream) become init steps, evaluated once per program instance; the
 * rest become per-frame steps in a topological order that prefers
 * time -> state reads -> signals -> events -> fields -> render, then state
 * writes. Parameters are encoded into the constant pool in registry order:
 * numbers, ints, bools and enum indices as one double, VALUE params as
 * stride(T) doubles, NAME params as a string index, KEYS and POINTS as a
 * record count followed by the records (lattice/graph.h). */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "compile_internal.h"
#include "lattice/audio_track.h"

typedef struct {
    const lx_graph_t *g;
    const lx_typing_t *t;
    lx_program_t *p;
    lx_arena_t *tmp; /* scratch space for this pass */
    uint32_t *expr_of;  /* node -> expr or LX_NONE */
    uint32_t *inst_of;  /* node -> instances[] index or LX_NONE */
    uint16_t **slot_of; /* node -> per output slot */
    bool *is_static;
    bool *used; /* per node output: consumed by a lowered node (flattened) */
    uint32_t *out_base;
    size_t cap_consts, cap_args, cap_strings, cap_steps, cap_slots;
    lx_error_t *err;
    bool oom;
} ctx_t;

#define GROW(c, field, n, cap)                                                 \
    LX_ARENA_PUSH(&(c)->p->arena, (c)->p->field, (c)->p->n, (c)->cap)

static bool s_lowered(const ctx_t *c, uint32_t n)
{
    return c->t->live[n];
}

static uint32_t s_push_const(ctx_t *c, double v)
{
    size_t n = c->p->n_constants;
    double *d = LX_ARENA_PUSH(&c->p->arena, c->p->constants, n, c->cap_consts);
    if (!d) {
        c->oom = true;
        return 0;
    }
    *d = v;
    c->p->n_constants = (uint32_t)n;
    return (uint32_t)n - 1;
}

static uint32_t s_push_arg(ctx_t *c, uint16_t slot)
{
    size_t n = c->p->n_args;
    uint16_t *a = LX_ARENA_PUSH(&c->p->arena, c->p->args, n, c->cap_args);
    if (!a) {
        c->oom = true;
        return 0;
    }
    *a = slot;
    c->p->n_args = (uint32_t)n;
    return (uint32_t)n - 1;
}

static uint32_t s_string(ctx_t *c, const char *s)
{
    for (uint32_t i = 0; i < c->p->n_strings; i++)
        if (strcmp(c->p->strings[i], s) == 0)
            return i;
    size_t n = c->p->n_strings;
    const char **slot = LX_ARENA_PUSH(&c->p->arena, c->p->strings, n, c->cap_strings);
    const char *copy = lx_arena_strdup(&c->p->arena, s);
    if (!slot || !copy) {
        c->oom = true;
        return 0;
    }
    *slot = copy;
    c->p->n_strings = (uint32_t)n;
    return (uint32_t)n - 1;
}

/* ---- which nodes run when ------------------------------------------- */

static bool s_statics(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    uint32_t n = g->n_nodes;
    /* Time dependence flows from writers to readers: start from the
     * time-dependent blocks and walk their readers (reader lists in CSR). */
    uint32_t *off = lx_arena_calloc(c->tmp, n + 2, sizeof *off);
    uint32_t *work = lx_arena_calloc(c->tmp, n + 1, sizeof *work);
    if (!off || !work)
        return false;
    for (uint32_t v = 0; v < n; v++)
        for (uint32_t k = 0; k < g->nodes[v].n_in; k++)
            if (g->nodes[v].in[k].src != LX_NONE)
                off[g->nodes[v].in[k].src + 1]++;
    for (uint32_t v = 0; v < n; v++)
        off[v + 1] += off[v];
    uint32_t *readers = lx_arena_calloc(c->tmp, off[n] + 1, sizeof *readers);
    uint32_t *fill = lx_arena_calloc(c->tmp, n + 1, sizeof *fill);
    if (!readers || !fill)
        return false;
    for (uint32_t v = 0; v < n; v++)
        for (uint32_t k = 0; k < g->nodes[v].n_in; k++) {
            uint32_t s = g->nodes[v].in[k].src;
            if (s != LX_NONE)
                readers[off[s] + fill[s]++] = v;
        }
    uint32_t top = 0;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t f = g->nodes[v].def->flags;
        c->is_static[v] = !(f & (LX_BF_TIME_ROOT | LX_BF_STATE | LX_BF_HISTORY | LX_BF_CLOCK |
                                 LX_BF_RENDER | LX_BF_CAMERA));
        if (!c->is_static[v])
            work[top++] = v;
    }
    while (top) {
        uint32_t v = work[--top];
        for (uint32_t k = off[v]; k < off[v + 1]; k++) {
            if (c->is_static[readers[k]]) {
                c->is_static[readers[k]] = false;
                work[top++] = readers[k];
            }
        }
    }
    return true;
}

/* Scheduling preference among ready nodes (lower runs first). */
static uint32_t s_band(const ctx_t *c, uint32_t n)
{
    const lx_node_t *nd = &c->g->nodes[n];
    uint32_t f = nd->def->flags;
    if (f & LX_BF_TIME_ROOT)
        return 0;
    if (f & LX_BF_STATE)
        return 1;
    if (f & (LX_BF_RENDER | LX_BF_CAMERA))
        return 5;
    lx_world_t w = LX_W_SCALAR;
    for (uint32_t o = 0; o < nd->def->n_outputs; o++)
        if (c->t->out[n][o].world > w)
            w = c->t->out[n][o].world;
    return w == LX_W_EVENT ? 3 : w == LX_W_FIELD ? 4 : 2;
}

typedef struct {
    uint64_t *items;
    size_t n;
} heap_t;

static void s_heap_push(heap_t *h, uint64_t v)
{
    size_t i = h->n++;
    h->items[i] = v;
    while (i && h->items[(i - 1) / 2] > h->items[i]) {
        uint64_t t = h->items[i];
        h->items[i] = h->items[(i - 1) / 2];
        h->items[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static uint64_t s_heap_pop(heap_t *h)
{
    uint64_t top = h->items[0];
    h->items[0] = h->items[--h->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->items[l] < h->items[m])
            m = l;
        if (r < h->n && h->items[r] < h->items[m])
            m = r;
        if (m == i)
            break;
        uint64_t t = h->items[i];
        h->items[i] = h->items[m];
        h->items[m] = t;
        i = m;
    }
    return top;
}

/* Kahn's algorithm over the lowered nodes of one phase (statics or
 * per-frame), preferring lower bands, then node order. State blocks have
 * no in-frame dependencies. Appends node ids to order[]. */
static bool s_order(ctx_t *c, bool statics, uint32_t *order, uint32_t *n_order)
{
    const lx_graph_t *g = c->g;
    uint32_t n = g->n_nodes;
    uint32_t *pending = lx_arena_calloc(c->tmp, n + 1, sizeof *pending);
    uint32_t *users_n = lx_arena_calloc(c->tmp, n + 1, sizeof *users_n);
    uint32_t *users_off = lx_arena_calloc(c->tmp, n + 2, sizeof *users_off);
    heap_t h = {lx_arena_calloc(c->tmp, n + 1, sizeof *h.items), 0};
    if (!pending || !users_n || !users_off || !h.items)
        return false;
#define IN_PHASE(x) (s_lowered(c, x) && c->is_static[x] == statics)
#define DEPENDS(v) (!(g->nodes[v].def->flags & LX_BF_STATE))
    for (uint32_t v = 0; v < n; v++) {
        if (!IN_PHASE(v) || !DEPENDS(v))
            continue;
        for (uint32_t k = 0; k < g->nodes[v].n_in; k++) {
            uint32_t s = g->nodes[v].in[k].src;
            if (s != LX_NONE && IN_PHASE(s)) {
                pending[v]++;
                users_n[s]++;
            }
        }
    }
    for (uint32_t v = 0; v < n; v++)
        users_off[v + 1] = users_off[v] + users_n[v];
    uint32_t *users = lx_arena_calloc(c->tmp, users_off[n] + 1, sizeof *users);
    uint32_t *fill = lx_arena_calloc(c->tmp, n + 1, sizeof *fill);
    if (!users || !fill)
        return false;
    for (uint32_t v = 0; v < n; v++) {
        if (!IN_PHASE(v) || !DEPENDS(v))
            continue;
        for (uint32_t k = 0; k < g->nodes[v].n_in; k++) {
            uint32_t s = g->nodes[v].in[k].src;
            if (s != LX_NONE && IN_PHASE(s))
                users[users_off[s] + fill[s]++] = v;
        }
    }
    for (uint32_t v = 0; v < n; v++)
        if (IN_PHASE(v) && pending[v] == 0)
            s_heap_push(&h, ((uint64_t)s_band(c, v) << 32) | v);
    while (h.n) {
        uint32_t v = (uint32_t)s_heap_pop(&h);
        order[(*n_order)++] = v;
        for (uint32_t k = users_off[v]; k < users_off[v + 1]; k++)
            if (--pending[users[k]] == 0)
                s_heap_push(&h, ((uint64_t)s_band(c, users[k]) << 32) | users[k]);
    }
#undef IN_PHASE
#undef DEPENDS
    return true;
}

/* ---- expressions ---------------------------------------------------- */

static lx_domain_t s_out_domain(const ctx_t *c, uint32_t n, uint32_t o)
{
    lx_domain_t d = c->g->nodes[n].def->outputs[o].domain;
    return d == LX_D_GENERIC ? c->t->tvar[n] : d;
}

static void s_alloc_slots(ctx_t *c, const uint32_t *order, uint32_t n_order)
{
    const lx_graph_t *g = c->g;
    for (uint32_t i = 0; i < n_order; i++) {
        uint32_t v = order[i];
        const lx_node_t *nd = &g->nodes[v];
        c->slot_of[v] = lx_arena_calloc(c->tmp, nd->def->n_outputs + 1, sizeof **c->slot_of);
        if (!c->slot_of[v]) {
            c->oom = true;
            return;
        }
        for (uint32_t o = 0; o < nd->def->n_outputs; o++) {
            c->slot_of[v][o] = LX_SLOT_NONE;
            lx_domain_t d = s_out_domain(c, v, o);
            if (!c->used[c->out_base[v] + o] || d == LX_D_DOMAIN)
                continue;
            if (c->p->n_slots >= LX_MAX_SLOTS) {
                lx_fail(c->err, LX_E_LIMIT, "the program needs more than %u value slots",
                        LX_MAX_SLOTS);
                c->oom = true;
                return;
            }
            lx_slot_meta_t *m = GROW(c, slots, n_slots, cap_slots);
            if (!m) {
                c->oom = true;
                return;
            }
            const lx_port_type_t *pt = &c->t->out[v][o];
            m->domain = (uint8_t)d;
            m->world = (uint8_t)pt->world;
            m->stride = (uint16_t)lx_domain_stride(d);
            m->instance = pt->world == LX_W_FIELD && pt->instance != LX_NONE
                              ? c->inst_of[pt->instance]
                              : LX_NONE;
            c->slot_of[v][o] = (uint16_t)(c->p->n_slots - 1);
        }
    }
}

static void s_encode_value(ctx_t *c, const lx_literal_t *lit, unsigned stride)
{
    for (unsigned k = 0; k < stride; k++)
        s_push_const(c, lit->kind == LX_LIT_NUMBER ? lit->v[0] : lit->v[k]);
}

static void s_encode_params(ctx_t *c, uint32_t v, lx_expr_t *e)
{
    const lx_node_t *nd = &c->g->nodes[v];
    unsigned stride = lx_domain_stride(c->t->tvar[v]);
    e->param_off = c->p->n_constants;
    if (nd->def->op == LX_OP_CONST) {
        s_encode_value(c, &nd->lit, stride);
    }
    for (uint32_t i = 0; i < nd->def->n_params; i++) {
        const lx_param_def_t *pd = &nd->def->params[i];
        const lx_pval_t *pv = &nd->params[i];
        switch (pd->kind) {
        case LX_P_NUMBER:
        case LX_P_INT:
        case LX_P_BOOL:
        case LX_P_ENUM:
            s_push_const(c, pv->num);
            break;
        case LX_P_NAME: {
            /* layer defaults to the block id, semantic to the layer; ids
             * inside composites hold '/', which a name (and a path) may
             * not: it becomes '_'. */
            const char *s = pv->str;
            if (!s && strcmp(pd->name, "semantic") == 0)
                s = nd->params[0].str;
            char name[65];
            if (!s) {
                snprintf(name, sizeof name, "%s", nd->owner);
                for (char *ch = name; *ch; ch++)
                    if (*ch == '/')
                        *ch = '_';
                s = name;
            }
            s_push_const(c, s_string(c, s));
            break;
        }
        case LX_P_VALUE:
            if (nd->def->op != LX_OP_CONST)
                s_encode_value(c, &pv->lit, stride);
            break;
        case LX_P_KEYS:
        case LX_P_POINTS: {
            uint32_t rec = pd->kind == LX_P_KEYS ? LX_KEY_STRIDE : LX_POINT_STRIDE;
            s_push_const(c, pv->n_records);
            for (uint64_t k = 0; k < (uint64_t)pv->n_records * rec; k++)
                s_push_const(c, pv->table[k]);
            break;
        }
        }
    }
    e->n_param = c->p->n_constants - e->param_off;
}

static uint32_t s_domain_instance(const ctx_t *c, uint32_t v)
{
    const lx_node_t *nd = &c->g->nodes[v];
    if (nd->def->flags & LX_BF_INSTANCE)
        return c->inst_of[v];
    for (uint32_t k = 0; k < nd->n_in && !(nd->def->flags & LX_BF_VARIADIC); k++) {
        if (nd->def->inputs[k].domain == LX_D_DOMAIN && nd->in[k].src != LX_NONE) {
            uint32_t owner = c->t->out[nd->in[k].src][nd->in[k].src_port].instance;
            return owner == LX_NONE ? LX_NONE : c->inst_of[owner];
        }
    }
    for (uint32_t o = 0; o < nd->def->n_outputs; o++)
        if (c->t->out[v][o].world == LX_W_FIELD && c->t->out[v][o].instance != LX_NONE)
            return c->inst_of[c->t->out[v][o].instance];
    /* A reduction: the domain of its field input. */
    for (uint32_t k = 0; k < nd->n_in; k++) {
        lx_port_type_t it = lx_input_type(c->g, c->t, v, k);
        if (it.world == LX_W_FIELD && it.instance != LX_NONE)
            return c->inst_of[it.instance];
    }
    return LX_NONE;
}

static void s_emit_expr(ctx_t *c, uint32_t v)
{
    const lx_node_t *nd = &c->g->nodes[v];
    lx_expr_t *e = &c->p->exprs[c->expr_of[v]];
    e->op = (uint16_t)nd->def->op;
    e->domain = (uint8_t)c->t->tvar[v];
    e->block = c->expr_of[v];
    e->state = LX_NONE;
    lx_world_t w = nd->def->n_outputs ? LX_W_SCALAR : LX_W_SIGNAL;
    for (uint32_t o = 0; o < nd->def->n_outputs; o++)
        if (c->t->out[v][o].world > w && c->t->out[v][o].world != LX_W_EVENT)
            w = c->t->out[v][o].world;
    bool all_events = nd->def->n_outputs > 0;
    for (uint32_t o = 0; o < nd->def->n_outputs; o++)
        all_events &= c->t->out[v][o].world == LX_W_EVENT;
    e->world = (uint8_t)(all_events ? LX_W_EVENT : w);
    e->instance = s_domain_instance(c, v);
    e->in_off = c->p->n_args;
    for (uint32_t k = 0; k < nd->n_in; k++) {
        const lx_node_input_t *in = &nd->in[k];
        bool dom = !(nd->def->flags & LX_BF_VARIADIC) && nd->def->inputs[k].domain == LX_D_DOMAIN;
        s_push_arg(c, in->src == LX_NONE || dom ? LX_SLOT_NONE : c->slot_of[in->src][in->src_port]);
    }
    e->n_in = nd->n_in;
    e->out_off = c->p->n_args;
    for (uint32_t o = 0; o < nd->def->n_outputs; o++)
        s_push_arg(c, c->slot_of[v][o]);
    e->n_out = nd->def->n_outputs;
    s_encode_params(c, v, e);
}

static void s_emit_state(ctx_t *c, uint32_t v)
{
    lx_expr_t *e = &c->p->exprs[c->expr_of[v]];
    uint64_t count = e->instance != LX_NONE && e->world == LX_W_FIELD
                         ? c->p->instances[e->instance].count
                         : 1;
    uint64_t size = lx_ir_state_size((lx_op_t)e->op, lx_domain_stride((lx_domain_t)e->domain),
                                     count, c->p->constants + e->param_off, e->n_param);
    if (size == 0)
        return;
    if (size > UINT32_MAX) {
        lx_fail(c->err, LX_E_LIMIT, "state of block '%s' is too large", c->g->nodes[v].owner);
        c->oom = true;
        return;
    }
    uint32_t n = c->p->n_state;
    lx_state_cell_t *cell = &c->p->state[n];
    cell->expr = c->expr_of[v];
    cell->size = (uint32_t)size;
    cell->init_slot = LX_SLOT_NONE;
    const lx_node_t *nd = &c->g->nodes[v];
    int init = lx_block_input(nd->def, "initial");
    if (init >= 0 && nd->in[init].src != LX_NONE)
        cell->init_slot = c->slot_of[nd->in[init].src][nd->in[init].src_port];
    e->state = n;
    c->p->n_state = n + 1;
}

static void s_step(ctx_t *c, lx_step_kind_t kind, uint32_t v)
{
    lx_step_t *s = GROW(c, steps, n_steps, cap_steps);
    if (!s) {
        c->oom = true;
        return;
    }
    s->kind = (uint8_t)kind;
    s->expr = c->expr_of[v];
}

static lx_result_t s_lower(ctx_t *c)
{
    const lx_graph_t *g = c->g;
    lx_program_t *p = c->p;
    uint32_t n = g->n_nodes;
    c->expr_of = lx_arena_calloc(c->tmp, n + 1, sizeof *c->expr_of);
    c->inst_of = lx_arena_calloc(c->tmp, n + 1, sizeof *c->inst_of);
    c->slot_of = lx_arena_calloc(c->tmp, n + 1, sizeof *c->slot_of);
    c->is_static = lx_arena_calloc(c->tmp, n + 1, sizeof *c->is_static);
    c->out_base = lx_arena_calloc(c->tmp, n + 1, sizeof *c->out_base);
    uint32_t *order = lx_arena_calloc(c->tmp, 2 * n + 1, sizeof *order);
    if (!c->expr_of || !c->inst_of || !c->slot_of || !c->is_static || !c->out_base || !order)
        return LX_E_NOMEM;
    uint32_t total_out = 0;
    for (uint32_t v = 0; v < n; v++) {
        c->out_base[v] = total_out;
        total_out += g->nodes[v].def->n_outputs;
    }
    c->used = lx_arena_calloc(c->tmp, total_out + 1, sizeof *c->used);
    if (!c->used)
        return LX_E_NOMEM;
    for (uint32_t v = 0; v < n; v++) {
        if (!s_lowered(c, v))
            continue;
        for (uint32_t k = 0; k < g->nodes[v].n_in; k++) {
            const lx_node_input_t *in = &g->nodes[v].in[k];
            if (in->src != LX_NONE)
                c->used[c->out_base[in->src] + in->src_port] = true;
        }
    }
    if (!s_statics(c))
        return LX_E_NOMEM;
    uint32_t n_static = 0, n_order = 0;
    if (!s_order(c, true, order, &n_order))
        return LX_E_NOMEM;
    n_static = n_order;
    if (!s_order(c, false, order, &n_order))
        return LX_E_NOMEM;
    uint32_t n_live = 0;
    for (uint32_t v = 0; v < n; v++)
        n_live += s_lowered(c, v);
    if (n_order != n_live)
        return lx_fail(c->err, LX_E_INTERNAL, "schedule covers %u of %u blocks", n_order, n_live);

    /* Blocks and instances, in schedule order (dense ids). */
    p->blocks = lx_arena_calloc(&p->arena, n_order + 1, sizeof *p->blocks);
    p->exprs = lx_arena_calloc(&p->arena, n_order + 1, sizeof *p->exprs);
    p->instances = lx_arena_calloc(&p->arena, n_order + 1, sizeof *p->instances);
    p->state = lx_arena_calloc(&p->arena, n_order + 1, sizeof *p->state);
    p->sinks = lx_arena_calloc(&p->arena, n_order + 1, sizeof *p->sinks);
    if (!p->blocks || !p->exprs || !p->instances || !p->state || !p->sinks)
        return LX_E_NOMEM;
    for (uint32_t v = 0; v < n; v++)
        c->expr_of[v] = c->inst_of[v] = LX_NONE;
    for (uint32_t i = 0; i < n_order; i++) {
        uint32_t v = order[i];
        const lx_node_t *nd = &g->nodes[v];
        c->expr_of[v] = i;
        p->blocks[i].id = lx_arena_strdup(&p->arena, nd->id);
        if (!p->blocks[i].id)
            return LX_E_NOMEM;
        p->blocks[i].key = XXH64(nd->id, strlen(nd->id), 0);
        if (nd->def->flags & LX_BF_INSTANCE) {
            lx_ir_instance_t *in = &p->instances[p->n_instances];
            in->kind = nd->def->op == LX_OP_PARTICLES ? LX_INST_PARTICLES : LX_INST_ARRAY;
            in->count = (uint32_t)nd->params[0].num;
            in->expr = i;
            c->inst_of[v] = p->n_instances++;
        }
    }
    p->n_blocks = p->n_exprs = n_order;
    s_alloc_slots(c, order, n_order);
    if (c->oom)
        return c->err && c->err->code == LX_E_LIMIT ? LX_E_LIMIT : LX_E_NOMEM;
    for (uint32_t i = 0; i < n_order && !c->oom; i++) {
        s_emit_expr(c, order[i]);
        s_emit_state(c, order[i]);
    }
    if (c->oom)
        return c->err && c->err->code == LX_E_LIMIT ? LX_E_LIMIT : LX_E_NOMEM;

    /* Steps: init, then frame (state reads in their band), then writes. */
    for (uint32_t i = 0; i < n_static; i++)
        s_step(c, LX_STEP_INIT, order[i]);
    p->n_init_steps = p->n_steps;
    for (uint32_t i = n_static; i < n_order; i++) {
        uint32_t f = g->nodes[order[i]].def->flags;
        s_step(c, (f & LX_BF_STATE) ? LX_STEP_READ : LX_STEP_EVAL, order[i]);
    }
    for (uint32_t i = n_static; i < n_order; i++)
        if (p->exprs[i].state != LX_NONE)
            s_step(c, LX_STEP_WRITE, order[i]);

    /* Sinks in file order (draw order), camera and time root. */
    uint32_t next_id = 1;
    for (uint32_t v = 0; v < n; v++) {
        const lx_node_t *nd = &g->nodes[v];
        if (c->expr_of[v] == LX_NONE)
            continue;
        if (nd->def->flags & LX_BF_RENDER) {
            const lx_expr_t *e = &p->exprs[c->expr_of[v]];
            lx_render_sink_t *s = &p->sinks[p->n_sinks++];
            s->expr = c->expr_of[v];
            s->layer = (uint32_t)p->constants[e->param_off];
            s->semantic = (uint32_t)p->constants[e->param_off + 1];
            s->instance = e->instance;
            s->id_base = next_id;
            next_id += e->instance == LX_NONE ? 1 : p->instances[e->instance].count;
        }
        if (nd->def->flags & LX_BF_CAMERA)
            p->camera_expr = c->expr_of[v];
        if (nd->def->flags & LX_BF_TIME_ROOT)
            p->time_expr = c->expr_of[v];
    }
    return c->oom ? LX_E_NOMEM : LX_OK;
}

lx_result_t lx_lower(const lx_graph_t *g, const lx_typing_t *typing, lx_arena_t *scratch,
                     const lx_audio_track_t *audio, const lx_alloc_t *alloc, lx_program_t **out,
                     lx_error_t *err)
{
    *out = NULL;
    lx_program_t *p = lx_program_new(alloc);
    if (!p)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    const lx_raw_graph_t *raw = g->raw;
    p->patch_id = lx_arena_strdup(&p->arena, raw->id ? raw->id : "");
    p->patch_name = lx_arena_strdup(&p->arena, raw->name ? raw->name : "");
    p->seed = raw->seed;
    p->output.width = raw->output.width;
    p->output.height = raw->output.height;
    p->output.fps = raw->output.fps;
    memcpy(p->output.background, raw->output.background, sizeof p->output.background);
    p->time_model = typing->time_model;
    p->state_horizon = typing->state_horizon;
    ctx_t c = {.g = g, .t = typing, .p = p, .tmp = scratch, .err = err};
    if (audio && !(p->audio = lx_audio_track_copy(&p->arena, audio))) {
        lx_program_destroy(&p);
        return lx_fail(err, LX_E_NOMEM, "out of memory while lowering");
    }
    lx_result_t rc = (p->patch_id && p->patch_name) ? s_lower(&c) : LX_E_NOMEM;
    if (rc == LX_OK && (p->arena.failed || scratch->failed))
        rc = LX_E_NOMEM;
    if (rc == LX_OK)
        rc = lx_ir_verify(p, err);
    if (rc == LX_OK)
        rc = lx_ir_hash(p, &p->program_hash);
    if (rc != LX_OK) {
        if (rc == LX_E_NOMEM)
            lx_fail(err, rc, "out of memory while lowering");
        lx_program_destroy(&p);
        return rc;
    }
    *out = p;
    return LX_OK;
}
