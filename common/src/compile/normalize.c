/* GraphNormalization: composites, lenses, rails and buses, combines and
 * default sources become explicit nodes (see lattice/graph.h). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/graph.h"
#include "lattice/names.h"
#include "lattice/strmap.h"
#include "params.h"

#define INST_FLAG 0x80000000u
#define MAX_DEPTH 16

typedef struct {
    uint32_t to;
    uint16_t to_port;
    uint32_t src;
    uint16_t src_port;
    int64_t sort;
    uint32_t order;
    const char *json, *from;
} writer_t;

typedef struct {
    uint32_t node;
    uint16_t port;
    uint32_t order;
    lx_literal_t lit;
    const char *json;
} lit_t;

typedef struct {
    uint32_t node;
    uint16_t port;
    int mode;
    const char *json;
} combine_t;

typedef struct {
    const char *id;
    const lx_raw_composite_t *def;
} inst_t;

typedef struct {
    lx_graph_t *g;
    lx_diags_t *d;
    lx_arena_t *a;
    const lx_raw_graph_t *raw;
    lx_strmap_t ids, comps, edge_keys;
    lx_strmap_t ghosts;    /* blocks already reported (bad type): references stay quiet */
    lx_strmap_t checked;   /* composite types whose port maps were checked */
    lx_strmap_t bad_alias; /* port map entries already reported (CO-403) */
    lx_strmap_t broken;    /* "node:port" inputs whose writer failed to resolve */
    lx_strmap_t exposed;   /* "<inner block>.<port>" -> composite input exposing it */
    bool exposed_built;
    inst_t *insts;
    size_t n_insts, cap_insts;
    writer_t *writers;
    size_t n_writers, cap_writers;
    lit_t *lits;
    size_t n_lits, cap_lits;
    combine_t *combines;
    size_t n_combines, cap_combines;
    size_t cap_nodes, cap_buses;
    const char *stack[MAX_DEPTH + 1];
    uint32_t order;
    bool oom;
} ctx_t;

#define PUSH(c, items, n, cap) LX_ARENA_PUSH((c)->a, (c)->items, (c)->n, (c)->cap)

static const char *s_printf_id(ctx_t *c, const char *fmt, const char *x, const char *y)
{
    const char *s = lx_arena_printf(c->a, fmt, x, y ? y : "");
    if (!s)
        c->oom = true;
    return s ? s : "";
}

static uint32_t s_add_node(ctx_t *c, const char *id, const lx_block_def_t *def, lx_node_kind_t kind,
                           const char *json, const char *owner)
{
    size_t n = c->g->n_nodes;
    if (n >= LX_GRAPH_MAX_NODES) {
        if (!c->g->truncated) {
            lx_diag_t *dg = lx_diags_add(
                c->d, LX_DC_PT_020, "the patch expands to more than %u blocks", LX_GRAPH_MAX_NODES);
            lx_diag_at_json(c->d, dg, json);
            lx_diag_help(c->d, dg, "composites nest: check how many instances each level makes");
        }
        c->g->truncated = true;
        return LX_NONE;
    }
    lx_node_t *node = LX_ARENA_PUSH(c->a, c->g->nodes, n, c->cap_nodes);
    if (!node) {
        c->oom = true;
        return LX_NONE;
    }
    node->id = id;
    node->def = def;
    node->kind = kind;
    node->json = json;
    node->owner = owner ? owner : id;
    node->n_in = def->flags & LX_BF_VARIADIC ? 0 : def->n_inputs;
    node->in = lx_arena_calloc(c->a, node->n_in ? node->n_in : 1, sizeof *node->in);
    node->params = lx_arena_calloc(c->a, def->n_params ? def->n_params : 1, sizeof *node->params);
    if (!node->in || !node->params) {
        c->oom = true;
        return LX_NONE;
    }
    for (uint32_t i = 0; i < node->n_in; i++)
        node->in[i].src = LX_NONE;
    for (uint32_t i = 0; i < def->n_params; i++)
        node->params[i].num = def->params[i].def;
    c->g->n_nodes = (uint32_t)n;
    if (lx_strmap_put(&c->ids, id, c->g->n_nodes - 1) != 0)
        c->oom = true;
    return c->g->n_nodes - 1;
}

/* ---- reference resolution ------------------------------------------- */

static void s_suggest_ids(ctx_t *c, lx_diag_t *dg, const char *prefix, const char *name)
{
    size_t plen = strlen(prefix), n = 0;
    if (!dg || c->g->n_nodes + c->n_insts > 20000)
        return; /* a hint is not worth a scan of a huge expanded graph per error */
    const char **cands = lx_arena_calloc(c->a, c->g->n_nodes + c->n_insts + 1, sizeof *cands);
    if (!cands)
        return;
    for (uint32_t i = 0; i < c->g->n_nodes; i++) {
        const char *id = c->g->nodes[i].id;
        if (c->g->nodes[i].kind == LX_NODE_USER && strncmp(id, prefix, plen) == 0 &&
            !strchr(id + plen, '/'))
            cands[n++] = id + plen;
    }
    for (size_t i = 0; i < c->n_insts; i++) {
        const char *id = c->insts[i].id;
        if (strncmp(id, prefix, plen) == 0 && !strchr(id + plen, '/'))
            cands[n++] = id + plen;
    }
    const char *s = lx_suggest(name, cands, n);
    if (s)
        lx_diag_help(c->d, dg, "did you mean '%s'?", s);
}

static void s_suggest_ports(ctx_t *c, lx_diag_t *dg, const lx_port_def_t *ports, size_t n,
                            const char *name)
{
    const char *cands[32] = {0};
    size_t k = 0;
    for (size_t i = 0; i < n && k < 32; i++)
        cands[k++] = ports[i].name;
    const char *s = lx_suggest(name, cands, k);
    if (s)
        lx_diag_help(c->d, dg, "did you mean '%s'?", s);
    else if (n) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, c->a->alloc);
        for (size_t i = 0; i < n; i++)
            lx_strbuf_addf(&sb, "%s%s", i ? ", " : "", ports[i].name);
        if (!sb.failed)
            lx_diag_help(c->d, dg, "its ports are: %s", sb.buf);
        lx_strbuf_release(&sb);
    }
}

/* Resolves "block.port" in scope `prefix` to a node's input or output,
 * following composite port aliases. `alias_json` is set when the reference
 * comes from a composite's port map (errors there are CO-403). */
static bool s_resolve(ctx_t *c, const char *prefix, const char *block, const char *port, bool input,
                      const char *json, const char *alias_json, uint32_t *node, uint16_t *pidx)
{
    const char *full = prefix[0] ? s_printf_id(c, "%s%s", prefix, block) : block;
    uint32_t v = lx_strmap_get(&c->ids, full);
    if (v == UINT32_MAX && lx_strmap_get(&c->ghosts, full) != UINT32_MAX)
        return false;
    if (alias_json && lx_strmap_get(&c->bad_alias, alias_json) != UINT32_MAX)
        return false;
    if (v == UINT32_MAX && lx_diags_full(c->d)) {
        lx_diags_add(c->d, alias_json ? LX_DC_CO_403 : LX_DC_PT_009, "%s", "");
        return false; /* counted; suggestions would cost a scan each */
    }
    if (v == UINT32_MAX) {
        lx_diag_t *dg;
        if (alias_json) {
            dg = lx_diags_add(c->d, LX_DC_CO_403, "composite port maps to unknown block '%s'",
                              block);
            lx_diag_at_json(c->d, dg, alias_json);
            lx_strmap_put(&c->bad_alias, alias_json, 0);
        } else {
            dg = lx_diags_add(c->d, LX_DC_PT_009, "unknown block '%s'", block);
            lx_diag_at_json(c->d, dg, json);
        }
        s_suggest_ids(c, dg, prefix, block);
        return false;
    }
    if (v & INST_FLAG) {
        const inst_t *in = &c->insts[v & ~INST_FLAG];
        const lx_raw_alias_t *aliases = input ? in->def->inputs : in->def->outputs;
        size_t n = input ? in->def->n_inputs : in->def->n_outputs;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(aliases[i].name, port) != 0)
                continue;
            if (!aliases[i].inner.block)
                return false;
            const char *inner_prefix = s_printf_id(c, "%s/", in->id, NULL);
            return s_resolve(c, inner_prefix, aliases[i].inner.block, aliases[i].inner.port, input,
                             json, aliases[i].json, node, pidx);
        }
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_010, "composite block '%s' has no %s '%s'",
                                     full, input ? "input" : "output", port);
        lx_diag_at_json(c->d, dg, alias_json ? alias_json : json);
        lx_diag_at_block(c->d, dg, full);
        const char *cands[64] = {0};
        size_t k = 0;
        for (size_t i = 0; i < n && k < 64; i++)
            cands[k++] = aliases[i].name;
        const char *s = lx_suggest(port, cands, k);
        if (s)
            lx_diag_help(c->d, dg, "did you mean '%s'?", s);
        return false;
    }
    const lx_node_t *nd = &c->g->nodes[v];
    if (input && (nd->def->flags & LX_BF_TIME_ROOT)) {
        lx_diag_t *dg = lx_diags_add(
            c->d, LX_DC_TR_003, "time root '%s' takes no edges or listeners ('%s')", full, port);
        lx_diag_at_json(c->d, dg, json);
        lx_diag_at_block(c->d, dg, full);
        lx_diag_help(c->d, dg, "set its settings as literals: \"params\": {\"%s\": ...}", port);
        return false;
    }
    int idx = input ? lx_block_input(nd->def, port) : lx_block_output(nd->def, port);
    if (idx < 0) {
        lx_dcode_t code = alias_json ? LX_DC_CO_403 : LX_DC_PT_010;
        if (alias_json)
            lx_strmap_put(&c->bad_alias, alias_json, 0);
        lx_diag_t *dg = lx_diags_add(c->d, code, "block '%s' of type '%s' has no %s '%s'", full,
                                     nd->def->name, input ? "input" : "output", port);
        lx_diag_at_json(c->d, dg, alias_json ? alias_json : json);
        lx_diag_at_port(c->d, dg, full, port);
        if (input)
            s_suggest_ports(c, dg, nd->def->inputs, nd->def->n_inputs, port);
        else
            s_suggest_ports(c, dg, nd->def->outputs, nd->def->n_outputs, port);
        return false;
    }
    *node = v;
    *pidx = (uint16_t)idx;
    return true;
}

static void s_add_writer(ctx_t *c, uint32_t to, uint16_t to_port, uint32_t src, uint16_t src_port,
                         int64_t sort, const char *json, const char *from)
{
    writer_t *w = PUSH(c, writers, n_writers, cap_writers);
    if (!w) {
        c->oom = true;
        return;
    }
    *w = (writer_t){to, to_port, src, src_port, sort, c->order++, json, from};
}

static void s_add_literal(ctx_t *c, uint32_t node, uint16_t port, const lx_literal_t *lit,
                          const char *json)
{
    lit_t *l = PUSH(c, lits, n_lits, cap_lits);
    if (!l) {
        c->oom = true;
        return;
    }
    *l = (lit_t){node, port, c->order++, *lit, json};
}

/* ---- lenses --------------------------------------------------------- */

/* A lens argument sets an input (as a literal) or a parameter of the
 * derived block. */
typedef struct {
    const char *name, *target;
    bool is_param, required;
} lens_arg_t;

static const struct {
    const char *lens, *block, *in;
    lens_arg_t args[5];
} s_lenses[] = {
    {"scale", "Mul", "a", {{"k", "b", false, true}}},
    {"offset", "Add", "a", {{"k", "b", false, true}}},
    {"mapRange",
     "MapRange",
     "x",
     {{"inLo", "inLo", false, false},
      {"inHi", "inHi", false, false},
      {"outLo", "outLo", false, false},
      {"outHi", "outHi", false, false},
      {"clamp", "clamp", true, false}}},
    {"clamp", "Clamp", "x", {{"lo", "lo", false, false}, {"hi", "hi", false, false}}},
    {"ease", "Ease", "t", {{"curve", "curve", true, true}}},
    {"polarity", "Polarity", "x", {{NULL, NULL, false, false}}},
    {"quantize", "Quantize", "x", {{"steps", "steps", true, true}}},
    {"phaseOffset", "PhaseOffset", "phase", {{"k", "offset", false, true}}},
    {"phaseScale", "PhaseScale", "x", {{"k", "k", true, true}}},
    {"pingPong", "PingPong", "x", {{NULL, NULL, false, false}}},
    {"slew", "Slew", "x", {{"rate", "rate", true, true}}},
};
enum { N_LENSES = sizeof s_lenses / sizeof s_lenses[0] };

static void s_lens_error(ctx_t *c, const char *json, const char *fmt, const char *a, const char *b)
{
    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_018, fmt, a, b ? b : "");
    lx_diag_at_json(c->d, dg, json);
}

/* Inserts the lens chain between *src and the target; updates *src. */
static void s_lens_chain(ctx_t *c, const lx_raw_lens_t *lenses, size_t n, uint32_t *src,
                         uint16_t *src_port, const char *to_label, const char *from_label,
                         const lx_node_t *target, uint16_t target_port)
{
    /* Read the target before adding nodes: the node array may move. */
    const char *owner = target->owner;
    const char *port = target->port ? target->port : target->def->inputs[target_port].name;
    for (size_t k = 0; k < n; k++) {
        const lx_raw_lens_t *ln = &lenses[k];
        int li = -1;
        for (int i = 0; i < N_LENSES; i++)
            if (strcmp(s_lenses[i].lens, ln->type) == 0)
                li = i;
        if (li < 0) {
            const char *names[N_LENSES];
            for (int i = 0; i < N_LENSES; i++)
                names[i] = s_lenses[i].lens;
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_018, "unknown lens '%s'", ln->type);
            lx_diag_at_json(c->d, dg, ln->json);
            const char *s = lx_suggest(ln->type, names, N_LENSES);
            if (s)
                lx_diag_help(c->d, dg, "did you mean '%s'?", s);
            return;
        }
        const lx_block_def_t *def = lx_registry_find(s_lenses[li].block);
        char tag[32];
        snprintf(tag, sizeof tag, "$lens%zu@", k);
        const char *id = lx_arena_printf(c->a, "%s%s%s", to_label, tag, from_label);
        /* Two lensed connections between the same ports stay distinct. */
        for (int dup = 2; id && lx_strmap_get(&c->ids, id) != UINT32_MAX; dup++)
            id = lx_arena_printf(c->a, "%s%s%s#%d", to_label, tag, from_label, dup);
        if (!id) {
            c->oom = true;
            return;
        }
        uint32_t node = s_add_node(c, id, def, LX_NODE_LENS, ln->json, owner);
        if (node == LX_NONE)
            return;
        c->g->nodes[node].port = port;
        const lens_arg_t *args = s_lenses[li].args;
        /* Arguments: unknown ones are errors, required ones must be there. */
        if (ln->args) {
            for (const cJSON *it = ln->args->child; it; it = it->next) {
                if (strcmp(it->string, "type") == 0)
                    continue;
                const lens_arg_t *arg = NULL;
                for (int i = 0; i < 5 && args[i].name; i++)
                    if (strcmp(args[i].name, it->string) == 0)
                        arg = &args[i];
                const char *ptr = lx_arena_printf(c->a, "%s/%s", ln->json, it->string);
                if (!arg) {
                    s_lens_error(c, ptr ? ptr : ln->json, "lens '%s' has no argument '%s'",
                                 ln->type, it->string);
                    continue;
                }
                if (arg->is_param) {
                    /* Parsed like a block parameter, reported as a lens problem. */
                    lx_diags_t tmp;
                    lx_diags_init(&tmp, c->a->alloc);
                    lx_params_ctx_t pc = {c->a, &tmp, id, false};
                    int pi = lx_block_param(def, arg->target);
                    lx_domain_t vd = LX_D_NONE;
                    if (!lx_param_parse(&pc, &def->params[pi], it, ptr,
                                        &c->g->nodes[node].params[pi], &vd)) {
                        lx_diag_t *dg =
                            lx_diags_add(c->d, LX_DC_PT_018, "lens '%s' argument '%s' is invalid",
                                         ln->type, it->string);
                        lx_diag_at_json(c->d, dg, ptr ? ptr : ln->json);
                        if (tmp.count && tmp.items[0].help)
                            lx_diag_help(c->d, dg, "%s", tmp.items[0].help);
                    }
                    lx_diags_release(&tmp);
                } else {
                    lx_literal_t lit;
                    if (!lx_literal_from_json(it, &lit) || lit.kind == LX_LIT_BOOL) {
                        s_lens_error(c, ptr ? ptr : ln->json,
                                     "lens '%s' argument '%s' must be a number or a vector",
                                     ln->type, it->string);
                        continue;
                    }
                    s_add_literal(c, node, (uint16_t)lx_block_input(def, arg->target), &lit, ptr);
                }
            }
        }
        for (int i = 0; i < 5 && args[i].name; i++) {
            if (args[i].required &&
                !(ln->args && cJSON_GetObjectItemCaseSensitive(ln->args, args[i].name)))
                s_lens_error(c, ln->json, "lens '%s' needs argument '%s'", ln->type, args[i].name);
        }
        s_add_writer(c, node, (uint16_t)lx_block_input(def, s_lenses[li].in), *src, *src_port, 0,
                     ln->json, from_label);
        *src = node;
        *src_port = 0;
    }
}

/* ---- blocks, composites and edges ----------------------------------- */

/* An input whose writer failed to resolve was connected by the user: it
 * must not also be reported as unconnected. */
static void s_mark_broken(ctx_t *c, uint32_t node, uint16_t port)
{
    const char *key = lx_arena_printf(c->a, "%u:%u", node, port);
    if (key)
        lx_strmap_put(&c->broken, key, 0);
}

static bool s_is_broken(ctx_t *c, uint32_t node, uint16_t port)
{
    char key[32];
    snprintf(key, sizeof key, "%u:%u", node, port);
    return lx_strmap_get(&c->broken, key) != UINT32_MAX;
}

static void s_add_edge(ctx_t *c, const char *prefix, const lx_raw_edge_t *e)
{
    if (!e->from.block || !e->to.block)
        return;
    uint32_t src, dst;
    uint16_t sp, dp;
    bool ok_from = s_resolve(c, prefix, e->from.block, e->from.port, false,
                             lx_arena_printf(c->a, "%s/from", e->json), NULL, &src, &sp);
    bool ok_to = s_resolve(c, prefix, e->to.block, e->to.port, true,
                           lx_arena_printf(c->a, "%s/to", e->json), NULL, &dst, &dp);
    if (ok_to && !ok_from)
        s_mark_broken(c, dst, dp);
    if (!ok_from || !ok_to)
        return;
    const char *key = lx_arena_printf(c->a, "%u:%u>%u:%u", src, sp, dst, dp);
    if (!key) {
        c->oom = true;
        return;
    }
    if (lx_strmap_get(&c->edge_keys, key) != UINT32_MAX) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_017, "edge %s -> %s is written twice",
                                     e->from_text, e->to_text);
        lx_diag_at_json(c->d, dg, e->json);
        lx_diag_at_edge(c->d, dg, e->from_text, e->to_text);
        return;
    }
    lx_strmap_put(&c->edge_keys, key, 0);
    const char *from_full = s_printf_id(c, "%s%s", prefix, e->from_text);
    const char *to_full = s_printf_id(c, "%s%s", prefix, e->to_text);
    s_lens_chain(c, e->lenses, e->n_lenses, &src, &sp, to_full, from_full, &c->g->nodes[dst], dp);
    s_add_writer(c, dst, dp, src, sp, e->has_sort_key ? e->sort_key : 0, e->json, from_full);
}

static const char *s_type_names_suggest(ctx_t *c, const char *type)
{
    size_t n = lx_registry_count();
    const char **cands = lx_arena_calloc(c->a, n + c->raw->n_composites + 1, sizeof *cands);
    if (!cands)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!(lx_registry_at(i)->flags & LX_BF_INTERNAL))
            cands[k++] = lx_registry_at(i)->name;
    for (size_t i = 0; i < c->raw->n_composites; i++)
        cands[k++] = c->raw->composites[i].type;
    return lx_suggest(type, cands, k);
}

static void s_expand(ctx_t *c, const char *prefix, const lx_raw_block_t *blocks, size_t n,
                     const lx_raw_edge_t *edges, size_t n_edges, int depth);

/* Time root settings may be given as literal inputs too (the reference
 * scene does): they are compile-time parameters either way. */
static void s_time_root_inputs(ctx_t *c, uint32_t node, const lx_raw_block_t *b)
{
    lx_node_t *nd = &c->g->nodes[node];
    for (size_t i = 0; i < b->n_inputs; i++) {
        const lx_raw_input_t *in = &b->inputs[i];
        int pi = lx_block_param(nd->def, in->port);
        const lx_param_def_t *pd = pi >= 0 ? &nd->def->params[pi] : NULL;
        if (!pd) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_010, "time root '%s' has no setting '%s'",
                                         nd->id, in->port);
            lx_diag_at_json(c->d, dg, in->json);
            lx_diag_at_block(c->d, dg, nd->id);
            continue;
        }
        if (!in->valid)
            continue;
        char why[96] = "";
        if (nd->params[pi].set)
            snprintf(why, sizeof why, "is given twice (in \"params\" and \"inputs\")");
        else if (pd->kind == LX_P_ENUM)
            snprintf(why, sizeof why, "is a name: give it under \"params\"");
        else if (in->value.kind != LX_LIT_NUMBER || in->value.v[0] < pd->min ||
                 in->value.v[0] > pd->max)
            snprintf(why, sizeof why, "must be a number from %.15g to %.15g", pd->min, pd->max);
        if (why[0]) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_013, "setting '%s' of time root '%s' %s",
                                         pd->name, nd->id, why);
            lx_diag_at_json(c->d, dg, in->json);
            lx_diag_at_block(c->d, dg, nd->id);
            continue;
        }
        nd->params[pi].num = in->value.v[0];
        nd->params[pi].set = true;
    }
    for (size_t i = 0; i < nd->def->n_params; i++) {
        if (nd->def->params[i].required && !nd->params[i].set) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_014, "time root '%s' needs '%s'", nd->id,
                                         nd->def->params[i].name);
            lx_diag_at_json(c->d, dg, b->json);
            lx_diag_at_block(c->d, dg, nd->id);
        }
    }
}

static void s_block_literals(ctx_t *c, const char *prefix, const lx_raw_block_t *b)
{
    for (size_t i = 0; i < b->n_inputs; i++) {
        const lx_raw_input_t *in = &b->inputs[i];
        uint32_t node;
        uint16_t port;
        if (!lx_name_id_valid(in->port)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_010, "'%s' is not a port name", in->port);
            lx_diag_at_json(c->d, dg, in->json);
            continue;
        }
        if (s_resolve(c, prefix, b->id, in->port, true, in->json, NULL, &node, &port) && in->valid)
            s_add_literal(c, node, port, &in->value, in->json);
    }
    for (size_t i = 0; i < b->n_combine; i++) {
        const lx_raw_combine_t *cm = &b->combine[i];
        uint32_t node;
        uint16_t port;
        int mode = lx_combine_parse(cm->mode);
        if (mode < 0) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_019, "unknown combine mode '%s'", cm->mode);
            lx_diag_at_json(c->d, dg, cm->json);
            lx_diag_help(c->d, dg,
                         "use one of sum, avg, min, max, mul, last, first (or for events)");
            continue;
        }
        if (!lx_name_id_valid(cm->port) ||
            !s_resolve(c, prefix, b->id, cm->port, true, cm->json, NULL, &node, &port))
            continue;
        combine_t *cb = PUSH(c, combines, n_combines, cap_combines);
        if (!cb) {
            c->oom = true;
            return;
        }
        *cb = (combine_t){node, port, mode, cm->json};
    }
}

static void s_expand_block(ctx_t *c, const char *prefix, const lx_raw_block_t *b, int depth)
{
    const char *full = prefix[0] ? s_printf_id(c, "%s%s", prefix, b->id) : b->id;
    if (lx_strmap_get(&c->ids, full) != UINT32_MAX) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_007, "block id '%s' is used twice", b->id);
        lx_diag_at_json(c->d, dg, lx_arena_printf(c->a, "%s/id", b->json));
        lx_diag_at_block(c->d, dg, full);
        return;
    }
    const lx_block_def_t *def = lx_registry_find(b->type);
    if (def && !(def->flags & LX_BF_INTERNAL)) {
        if ((def->flags & LX_BF_TIME_ROOT) && depth > 0) {
            lx_diag_t *dg =
                lx_diags_add(c->d, LX_DC_TR_004, "time root '%s' is inside a composite", full);
            lx_diag_at_json(c->d, dg, b->json);
            lx_diag_at_block(c->d, dg, full);
            lx_diag_help(c->d, dg, "put the time root in the patch's top-level blocks");
            lx_strmap_put(&c->ghosts, full, 0);
            return;
        }
        uint32_t node = s_add_node(c, full, def, LX_NODE_USER, b->json, full);
        if (node == LX_NONE)
            return;
        lx_node_t *nd = &c->g->nodes[node];
        nd->in_composite = depth > 0;
        lx_params_ctx_t pc = {c->a, c->d, full, (def->flags & LX_BF_TIME_ROOT) != 0};
        lx_domain_t vd = LX_D_NONE;
        lx_pval_t *vals = lx_params_parse(&pc, def, b->params, b->json, &vd);
        if (vals)
            nd->params = vals;
        nd->fixed = vd; /* Const value and Keyframes keys decide the domain */
        if (def->op == LX_OP_CONST && vals && vals[0].set) {
            nd->lit = vals[0].lit;
            nd->strength = LX_LIT_STRONG;
        }
        if (def->flags & LX_BF_TIME_ROOT)
            s_time_root_inputs(c, node, b);
        else
            s_block_literals(c, prefix, b);
        return;
    }
    const lx_raw_composite_t *comp = NULL;
    uint32_t ci = lx_strmap_get(&c->comps, b->type);
    if (ci != UINT32_MAX)
        comp = &c->raw->composites[ci];
    if (!comp) {
        lx_strmap_put(&c->ghosts, full, 0);
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_008, "unknown block type '%s' in block '%s'",
                                     b->type, full);
        lx_diag_at_json(c->d, dg, lx_arena_printf(c->a, "%s/type", b->json));
        lx_diag_at_block(c->d, dg, full);
        const char *s = s_type_names_suggest(c, b->type);
        if (s)
            lx_diag_help(c->d, dg, "did you mean '%s'?", s);
        return;
    }
    for (int i = 0; i < depth; i++) {
        if (strcmp(c->stack[i], comp->type) == 0) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_CO_401,
                                         "composite '%s' contains itself (through block '%s')",
                                         comp->type, full);
            lx_diag_at_json(c->d, dg, b->json);
            lx_diag_at_cycle(c->d, dg, c->stack + i, (size_t)(depth - i));
            lx_strmap_put(&c->ghosts, full, 0);
            return;
        }
    }
    if (depth >= MAX_DEPTH) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_CO_402,
                                     "composite '%s' at block '%s' is nested deeper than %d",
                                     comp->type, full, MAX_DEPTH);
        lx_diag_at_json(c->d, dg, b->json);
        lx_diag_at_block(c->d, dg, full);
        lx_strmap_put(&c->ghosts, full, 0);
        return;
    }
    if (b->params) {
        lx_diag_t *dg =
            lx_diags_add(c->d, LX_DC_PT_012, "composite block '%s' takes no parameters", full);
        lx_diag_at_json(c->d, dg, lx_arena_printf(c->a, "%s/params", b->json));
    }
    inst_t *in = PUSH(c, insts, n_insts, cap_insts);
    if (!in) {
        c->oom = true;
        return;
    }
    in->id = full;
    in->def = comp;
    lx_strmap_put(&c->ids, full, (uint32_t)(c->n_insts - 1) | INST_FLAG);
    c->stack[depth] = comp->type;
    s_expand(c, s_printf_id(c, "%s/", full, NULL), comp->blocks, comp->n_blocks, comp->edges,
             comp->n_edges, depth + 1);
    s_block_literals(c, prefix, b);
}

static void s_expand(ctx_t *c, const char *prefix, const lx_raw_block_t *blocks, size_t n,
                     const lx_raw_edge_t *edges, size_t n_edges, int depth)
{
    if (c->g->truncated)
        return;
    for (size_t i = 0; i < n && !c->oom && !c->g->truncated; i++) {
        if (blocks[i].id && blocks[i].type)
            s_expand_block(c, prefix, &blocks[i], depth);
        else if (blocks[i].id) /* reported: references to it stay quiet */
            lx_strmap_put(&c->ghosts, s_printf_id(c, "%s%s", prefix, blocks[i].id), 0);
    }
    for (size_t i = 0; i < n_edges && !c->oom && !c->g->truncated; i++)
        s_add_edge(c, prefix, &edges[i]);
}

/* Every port map entry of every used composite must lead somewhere, even
 * when nothing connects to it (checked on the first instance only). */
static void s_check_port_maps(ctx_t *c)
{
    for (size_t i = 0; i < c->n_insts; i++) {
        const inst_t *in = &c->insts[i];
        if (lx_strmap_get(&c->checked, in->def->type) != UINT32_MAX)
            continue;
        lx_strmap_put(&c->checked, in->def->type, 0);
        const char *prefix = s_printf_id(c, "%s/", in->id, NULL);
        for (int dir = 0; dir < 2; dir++) {
            const lx_raw_alias_t *a = dir ? in->def->outputs : in->def->inputs;
            size_t n = dir ? in->def->n_outputs : in->def->n_inputs;
            for (size_t k = 0; k < n; k++) {
                uint32_t node;
                uint16_t port;
                if (a[k].inner.block)
                    s_resolve(c, prefix, a[k].inner.block, a[k].inner.port, dir == 0, a[k].json,
                              a[k].json, &node, &port);
            }
        }
    }
}

static void s_register_composites(ctx_t *c)
{
    for (size_t i = 0; i < c->raw->n_composites; i++) {
        const lx_raw_composite_t *cp = &c->raw->composites[i];
        if (!cp->type)
            continue;
        const lx_block_def_t *def = lx_registry_find(cp->type);
        if (def || lx_strmap_get(&c->comps, cp->type) != UINT32_MAX) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_CO_404, "composite type '%s' is %s", cp->type,
                                         def ? "a built-in block type" : "defined twice");
            lx_diag_at_json(c->d, dg, cp->json);
            continue;
        }
        lx_strmap_put(&c->comps, cp->type, (uint32_t)i);
    }
}

/* ---- rails and buses ------------------------------------------------ */

static const struct {
    const char *name;
    lx_domain_t domain;
    lx_combine_t mode;
    double def[4];
} s_rails[] = {
    {"time", LX_D_TIME, LX_COMBINE_LAST, {0}},
    {"phase", LX_D_PHASE, LX_COMBINE_LAST, {0}},
    {"progress", LX_D_NUMBER, LX_COMBINE_LAST, {0}},
    {"pulse", LX_D_EVENT, LX_COMBINE_OR, {0}},
    {"energy", LX_D_NUMBER, LX_COMBINE_SUM, {0}},
    {"palette", LX_D_COLOR, LX_COMBINE_LAST, {0.04, 0.06, 0.13, 1}},
};
enum { N_RAILS = sizeof s_rails / sizeof s_rails[0] };

bool lx_combine_fits(lx_combine_t mode, lx_domain_t domain)
{
    /* Arithmetic modes need arithmetic; phases and shapes only pick one. */
    switch (domain) {
    case LX_D_EVENT:
        return mode == LX_COMBINE_OR;
    case LX_D_PHASE:
    case LX_D_SHAPE:
        return mode == LX_COMBINE_LAST || mode == LX_COMBINE_FIRST;
    case LX_D_BOOL:
        return mode == LX_COMBINE_LAST || mode == LX_COMBINE_FIRST || mode == LX_COMBINE_OR;
    default:
        return mode != LX_COMBINE_OR;
    }
}

static lx_literal_t s_splat_literal(lx_domain_t domain, const double *v)
{
    lx_literal_t lit = {.kind = LX_LIT_NUMBER};
    switch (domain) {
    case LX_D_VEC2:
        lit.kind = LX_LIT_VEC2;
        break;
    case LX_D_VEC3:
        lit.kind = LX_LIT_VEC3;
        break;
    case LX_D_COLOR:
        lit.kind = LX_LIT_VEC4;
        break;
    case LX_D_BOOL:
        lit.kind = LX_LIT_BOOL;
        break;
    default:
        break;
    }
    memcpy(lit.v, v, sizeof lit.v);
    return lit;
}

static uint32_t s_add_bus(ctx_t *c, const char *name, lx_domain_t domain, lx_combine_t mode,
                          const lx_literal_t *def, bool rail, const char *json)
{
    const char *id = s_printf_id(c, "$bus.%s", name, NULL);
    const lx_block_def_t *bd = lx_registry_find(domain == LX_D_EVENT ? "CombineEvents" : "Combine");
    uint32_t node = s_add_node(c, id, bd, LX_NODE_BUS, json, name);
    if (node == LX_NONE)
        return LX_NONE;
    lx_node_t *nd = &c->g->nodes[node];
    if (domain != LX_D_EVENT) {
        nd->fixed = domain;
        nd->params[0].num = mode;
        nd->params[0].set = true;
        nd->params[1].lit = *def;
        nd->params[1].set = true;
    }
    size_t n = c->g->n_buses;
    lx_bus_info_t *bi = LX_ARENA_PUSH(c->a, c->g->buses, n, c->cap_buses);
    if (!bi) {
        c->oom = true;
        return LX_NONE;
    }
    *bi = (lx_bus_info_t){name, domain, mode, rail, node, json};
    c->g->n_buses = (uint32_t)n;
    return node;
}

static int s_find_bus(const lx_graph_t *g, const char *name)
{
    for (uint32_t i = 0; i < g->n_buses; i++)
        if (strcmp(g->buses[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool s_parse_bus_type(const char *s, lx_domain_t *out)
{
    if (strcmp(s, "event") == 0) {
        *out = LX_D_EVENT;
        return true;
    }
    char buf[32];
    size_t n = strlen(s);
    if (n > 8 && n < sizeof buf && strncmp(s, "signal<", 7) == 0 && s[n - 1] == '>') {
        memcpy(buf, s + 7, n - 8);
        buf[n - 8] = '\0';
        s = buf;
    }
    lx_domain_t d = lx_domain_parse(s);
    if (d == LX_D_NONE || d == LX_D_DOMAIN || d == LX_D_SHAPE)
        return false;
    *out = d;
    return true;
}

static void s_buses(ctx_t *c)
{
    const lx_node_t *root = c->g->time_root != LX_NONE ? &c->g->nodes[c->g->time_root] : NULL;
    for (int r = 0; r < N_RAILS; r++) {
        lx_literal_t def = s_splat_literal(s_rails[r].domain, s_rails[r].def);
        uint32_t node = s_add_bus(c, s_rails[r].name, s_rails[r].domain, s_rails[r].mode, &def,
                                  true, "/blocks");
        if (node == LX_NONE || !root)
            continue;
        /* The root publishes first: its sort key is below any user's. */
        const char *port = NULL;
        const char *name = s_rails[r].name;
        if (strcmp(name, "time") == 0 || strcmp(name, "phase") == 0)
            port = name;
        else if (strcmp(name, "progress") == 0 && root->def->op == LX_OP_FINITE_TIME_ROOT)
            port = "progress";
        else if (strcmp(name, "pulse") == 0)
            port = root->def->op == LX_OP_FINITE_TIME_ROOT  ? "end"
                   : root->def->op == LX_OP_CYCLE_TIME_ROOT ? "wrap"
                                                            : "pulse";
        if (port)
            s_add_writer(c, node, 0, c->g->time_root, (uint16_t)lx_block_output(root->def, port),
                         INT64_MIN, root->json, s_printf_id(c, "%s.%s", root->id, port));
    }
    for (size_t i = 0; i < c->raw->n_buses; i++) {
        const lx_raw_bus_t *b = &c->raw->buses[i];
        if (!b->name || !b->type || !b->combine)
            continue;
        int existing = s_find_bus(c->g, b->name);
        if (existing >= 0) {
            bool rail = c->g->buses[existing].rail;
            lx_diag_t *dg = lx_diags_add(c->d, rail ? LX_DC_BU_201 : LX_DC_BU_202,
                                         rail ? "bus '%s' reuses the name of a reserved rail"
                                              : "bus '%s' is declared twice",
                                         b->name);
            lx_diag_at_json(c->d, dg, b->json);
            lx_diag_at_bus(c->d, dg, b->name);
            continue;
        }
        lx_domain_t domain;
        if (!s_parse_bus_type(b->type, &domain)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_BU_206, "bus '%s' has invalid type '%s'",
                                         b->name, b->type);
            lx_diag_at_json(c->d, dg, b->json);
            lx_diag_at_bus(c->d, dg, b->name);
            lx_diag_help(c->d, dg,
                         "use event or signal<D> with D one of number, int, bool, "
                         "phase, time, vec2, vec3, color");
            continue;
        }
        int mode = lx_combine_parse(b->combine);
        if (mode < 0) {
            lx_diag_t *dg =
                lx_diags_add(c->d, LX_DC_PT_019, "unknown combine mode '%s'", b->combine);
            lx_diag_at_json(c->d, dg, b->json);
            lx_diag_at_bus(c->d, dg, b->name);
            lx_diag_help(c->d, dg, "use one of sum, avg, min, max, mul, last, first, or");
            continue;
        }
        if (!lx_combine_fits((lx_combine_t)mode, domain)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_BU_205,
                                         "combine mode '%s' does not fit bus '%s' of type %s",
                                         b->combine, b->name, lx_domain_name(domain));
            lx_diag_at_json(c->d, dg, b->json);
            lx_diag_at_bus(c->d, dg, b->name);
            continue;
        }
        double zero[4] = {0};
        lx_literal_t def = s_splat_literal(domain, zero);
        if (b->has_default) {
            if (domain == LX_D_EVENT || !lx_literal_fits(&b->def, domain)) {
                lx_diag_t *dg =
                    lx_diags_add(c->d, LX_DC_BU_207, "default of bus '%s' does not fit its type %s",
                                 b->name, lx_domain_name(domain));
                lx_diag_at_json(c->d, dg, b->json);
                lx_diag_at_bus(c->d, dg, b->name);
                continue;
            }
            def = b->def;
        }
        s_add_bus(c, b->name, domain, (lx_combine_t)mode, &def, false, b->json);
    }
}

static int s_bus_or_report(ctx_t *c, const char *name, const char *json)
{
    int bi = s_find_bus(c->g, name);
    if (bi >= 0)
        return bi;
    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_BU_203, "unknown bus '%s'", name);
    lx_diag_at_json(c->d, dg, json);
    lx_diag_at_bus(c->d, dg, name);
    const char **names = lx_arena_calloc(c->a, c->g->n_buses + 1, sizeof *names);
    for (uint32_t i = 0; names && i < c->g->n_buses; i++)
        names[i] = c->g->buses[i].name;
    const char *s = names ? lx_suggest(name, names, c->g->n_buses) : NULL;
    if (s)
        lx_diag_help(c->d, dg, "did you mean '%s'?", s);
    return -1;
}

static void s_publish_listen(ctx_t *c)
{
    for (size_t i = 0; i < c->raw->n_publish; i++) {
        const lx_raw_publish_t *p = &c->raw->publish[i];
        if (!p->bus || !p->from.block)
            continue;
        int bi = s_bus_or_report(c, p->bus, p->json);
        uint32_t src;
        uint16_t sp;
        if (!s_resolve(c, "", p->from.block, p->from.port, false, p->json, NULL, &src, &sp) ||
            bi < 0)
            continue;
        const lx_bus_info_t *bus = &c->g->buses[bi];
        if (bus->rail && (strcmp(bus->name, "phase") == 0 || strcmp(bus->name, "progress") == 0)) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_BU_204,
                                         "'%s' publishes to rail '%s', which the time root "
                                         "publishes by itself (no other publisher allowed)",
                                         p->from_text, bus->name);
            lx_diag_at_json(c->d, dg, p->json);
            lx_diag_at_bus(c->d, dg, bus->name);
            continue;
        }
        s_add_writer(c, bus->node, 0, src, sp, p->has_sort_key ? p->sort_key : 0, p->json,
                     p->from_text);
    }
    bool finite = c->g->time_root != LX_NONE &&
                  c->g->nodes[c->g->time_root].def->op == LX_OP_FINITE_TIME_ROOT;
    for (size_t i = 0; i < c->raw->n_listen; i++) {
        const lx_raw_listen_t *l = &c->raw->listen[i];
        if (!l->bus || !l->to.block)
            continue;
        int bi = s_bus_or_report(c, l->bus, l->json);
        uint32_t dst;
        uint16_t dp;
        if (!s_resolve(c, "", l->to.block, l->to.port, true, l->json, NULL, &dst, &dp) || bi < 0)
            continue;
        const lx_bus_info_t *bus = &c->g->buses[bi];
        if (bus->rail && strcmp(bus->name, "progress") == 0 && !finite &&
            c->g->time_root != LX_NONE) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_BU_208,
                                         "rail 'progress' exists only with a FiniteTimeRoot; "
                                         "'%s' is a %s",
                                         c->g->nodes[c->g->time_root].id,
                                         c->g->nodes[c->g->time_root].def->name);
            lx_diag_at_json(c->d, dg, l->json);
            lx_diag_at_bus(c->d, dg, bus->name);
            lx_diag_help(c->d, dg, "listen to 'phase' instead");
            continue;
        }
        uint32_t src = bus->node;
        uint16_t sp = 0;
        const char *from = c->g->nodes[bus->node].id;
        s_lens_chain(c, l->lenses, l->n_lenses, &src, &sp, s_printf_id(c, "%s", l->to_text, NULL),
                     from, &c->g->nodes[dst], dp);
        s_add_writer(c, dst, dp, src, sp, 0, l->json, from);
    }
}

/* ---- materialization ------------------------------------------------ */

static int s_writer_cmp(const void *a, const void *b)
{
    const writer_t *x = a, *y = b;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    if (x->to_port != y->to_port)
        return x->to_port < y->to_port ? -1 : 1;
    if (x->sort != y->sort)
        return x->sort < y->sort ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int s_lit_cmp(const void *a, const void *b)
{
    const lit_t *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static lx_node_input_t s_input_of(const writer_t *w)
{
    return (lx_node_input_t){w->src, w->src_port, w->json, w->from};
}

static void s_default_source(ctx_t *c, uint32_t node, uint16_t port, const lit_t *lit)
{
    lx_node_t *nd = &c->g->nodes[node];
    const lx_port_def_t *pd = &nd->def->inputs[port];
    const char *id = lx_arena_printf(c->a, "%s.%s$default", nd->id, pd->name);
    const char *json = lit ? lit->json : nd->json;
    const char *owner = nd->owner;
    const lx_block_def_t *cdef = lx_registry_find("Const");
    if (!id) {
        c->oom = true;
        return;
    }
    uint32_t ds = s_add_node(c, id, cdef, LX_NODE_DEFAULT, json, owner);
    if (ds == LX_NONE)
        return;
    lx_node_t *dn = &c->g->nodes[ds];
    nd = &c->g->nodes[node]; /* the node array may have moved */
    /* A lens argument is named as itself; other derived inputs speak for
     * the user port they feed. */
    dn->port = nd->port && nd->kind != LX_NODE_LENS ? nd->port : pd->name;
    if (lit) {
        dn->lit = lit->lit;
        dn->strength = lit->lit.kind == LX_LIT_NUMBER ? LX_LIT_WEAK : LX_LIT_STRONG;
    } else {
        lx_domain_t d = pd->domain == LX_D_GENERIC ? LX_D_NUMBER : pd->domain;
        dn->lit = s_splat_literal(d, pd->def);
        dn->strength = LX_LIT_SPLAT;
    }
    dn->fixed = pd->domain == LX_D_GENERIC
                    ? (dn->strength == LX_LIT_STRONG ? lx_literal_domain(&dn->lit) : LX_D_NONE)
                    : pd->domain;
    nd->in[port] = (lx_node_input_t){ds, 0, json, id};
}

/* If a composite input maps straight to block.port, rewrites them to the
 * composite instance and its input name. The reverse map is built on
 * first use (only error paths need it). */
static bool s_exposed_by(ctx_t *c, const char **block, const char **port)
{
    if (!c->exposed_built) {
        c->exposed_built = true;
        for (size_t i = 0; i < c->n_insts; i++) {
            const inst_t *in = &c->insts[i];
            for (size_t k = 0; k < in->def->n_inputs && k < 256; k++) {
                const lx_raw_alias_t *a = &in->def->inputs[k];
                const char *key = a->inner.block ? lx_arena_printf(c->a, "%s/%s.%s", in->id,
                                                                   a->inner.block, a->inner.port)
                                                 : NULL;
                if (key)
                    lx_strmap_put(&c->exposed, key, (uint32_t)(i << 8 | k));
            }
        }
    }
    const char *key = lx_arena_printf(c->a, "%s.%s", *block, *port);
    uint32_t v = key ? lx_strmap_get(&c->exposed, key) : UINT32_MAX;
    if (v == UINT32_MAX)
        return false;
    const inst_t *in = &c->insts[v >> 8];
    *block = in->id;
    *port = in->def->inputs[v & 255].name;
    return true;
}

/* TY-116's help: the modes lx_combine_fits accepts for the port's domain
 * (a generic port: those of numbers), the first as the example. */
static void s_combine_hint(ctx_t *c, lx_diag_t *dg, const lx_port_def_t *pd)
{
    lx_domain_t d = pd->domain == LX_D_GENERIC ? LX_D_NUMBER : pd->domain;
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, c->a->alloc);
    int n = 0;
    for (int m = 0; m < LX_COMBINE__COUNT; m++) {
        if (!lx_combine_fits((lx_combine_t)m, d))
            continue;
        if (n == 0)
            lx_strbuf_addf(&sb, "add \"combine\": {\"%s\": \"%s\"}", pd->name,
                           lx_combine_name((lx_combine_t)m));
        else
            lx_strbuf_addf(&sb, "%s%s", n == 1 ? " (or " : ", ", lx_combine_name((lx_combine_t)m));
        n++;
    }
    lx_strbuf_adds(&sb, n > 1 ? ") to the block" : " to the block");
    if (!sb.failed)
        lx_diag_help(c->d, dg, "%s", sb.buf);
    lx_strbuf_release(&sb);
}

static void s_materialize_port(ctx_t *c, uint32_t node, uint16_t port, const writer_t *w, size_t nw,
                               const lit_t *lit)
{
    lx_node_t *nd = &c->g->nodes[node];
    const lx_port_def_t *pd = &nd->def->inputs[port];
    if (lit && nw) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_021,
                                     "input '%s' of block '%s' has a literal and %zu writer%s",
                                     pd->name, nd->owner, nw, nw == 1 ? "" : "s");
        lx_diag_at_json(c->d, dg, lit->json);
        lx_diag_at_port(c->d, dg, nd->id, pd->name);
        return;
    }
    if (nw == 1) {
        nd->in[port] = s_input_of(&w[0]);
        return;
    }
    if (nw > 1) {
        const combine_t *cb = NULL;
        for (size_t i = 0; i < c->n_combines; i++)
            if (c->combines[i].node == node && c->combines[i].port == port)
                cb = &c->combines[i];
        combine_t implicit = {
            node, port, pd->domain == LX_D_EVENT ? LX_COMBINE_OR : LX_COMBINE_LAST, w[0].json};
        if (!cb) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_116,
                                         "input '%s' of block '%s' has %zu writers and no "
                                         "combine mode",
                                         pd->name, nd->owner, nw);
            lx_diag_at_port(c->d, dg, nd->owner, nd->port ? nd->port : pd->name);
            for (size_t i = 0; i < nw; i++)
                lx_diag_at_json(c->d, dg, w[i].json);
            s_combine_hint(c, dg, pd);
        }
        /* Without a mode the writers still combine ('last'; events 'or'),
         * so the later checks see every one of them. */
        if (!cb)
            cb = &implicit;
        bool event = pd->domain == LX_D_EVENT;
        if (event && cb->mode != LX_COMBINE_OR) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_117,
                                         "event input '%s' of block '%s' combines with 'or' only",
                                         pd->name, nd->owner);
            lx_diag_at_json(c->d, dg, cb->json);
            lx_diag_at_port(c->d, dg, nd->id, pd->name);
            return;
        }
        const char *id = lx_arena_printf(c->a, "%s.%s$combine", nd->id, pd->name);
        const lx_block_def_t *def = lx_registry_find(event ? "CombineEvents" : "Combine");
        uint32_t cn = id ? s_add_node(c, id, def, LX_NODE_COMBINE, cb->json, nd->owner) : LX_NONE;
        if (cn == LX_NONE) {
            c->oom |= !c->g->truncated;
            return;
        }
        lx_node_t *cnd = &c->g->nodes[cn];
        nd = &c->g->nodes[node];
        cnd->port = nd->port ? nd->port : pd->name;
        cnd->in = lx_arena_calloc(c->a, nw, sizeof *cnd->in);
        if (!cnd->in) {
            c->oom = true;
            return;
        }
        for (size_t i = 0; i < nw; i++)
            cnd->in[i] = s_input_of(&w[i]);
        cnd->n_in = (uint32_t)nw;
        if (!event) {
            cnd->params[0].num = cb->mode;
            cnd->params[0].set = true;
            cnd->fixed = pd->domain == LX_D_GENERIC ? LX_D_NONE : pd->domain;
        }
        nd->in[port] = (lx_node_input_t){cn, 0, cb->json, id};
        return;
    }
    if (lit) {
        if (pd->domain == LX_D_EVENT || pd->domain == LX_D_DOMAIN || pd->domain == LX_D_SHAPE) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TY_105,
                                         "input '%s' of block '%s' takes a %s, not a literal",
                                         pd->name, nd->owner, lx_domain_name(pd->domain));
            lx_diag_at_json(c->d, dg, lit->json);
            lx_diag_at_port(c->d, dg, nd->id, pd->name);
            return;
        }
        s_default_source(c, node, port, lit);
        return;
    }
    if (pd->flags & LX_PORT_OPTIONAL)
        return;
    if ((pd->flags & LX_PORT_REQUIRED) && (nd->kind == LX_NODE_LENS || s_is_broken(c, node, port)))
        return; /* a missing lens argument or a broken edge: reported already */
    if ((pd->flags & LX_PORT_REQUIRED) && lx_diags_full(c->d)) {
        lx_diags_add(c->d, LX_DC_TY_115, "%s", ""); /* counted; no room to say where */
        return;
    }
    if (pd->flags & LX_PORT_REQUIRED) {
        /* Name the port a user can reach: the outermost composite input
         * that exposes it, when there is one. */
        const char *block = nd->owner, *pname = nd->port ? nd->port : pd->name;
        while (s_exposed_by(c, &block, &pname)) {
        }
        lx_diag_t *dg =
            lx_diags_add(c->d, LX_DC_TY_115,
                         "input '%s' of block '%s' is required but not connected", pname, block);
        lx_diag_at_json(c->d, dg, nd->json);
        lx_diag_at_port(c->d, dg, block, pname);
        lx_diag_help(c->d, dg, "connect an edge to '%s.%s' or give it a literal in \"inputs\"",
                     block, pname);
        return;
    }
    s_default_source(c, node, port, NULL);
}

static void s_materialize(ctx_t *c)
{
    /* Writers and literals sorted by target, so one walk pairs them up. */
    if (c->n_writers)
        qsort(c->writers, c->n_writers, sizeof *c->writers, s_writer_cmp);
    if (c->n_lits)
        qsort(c->lits, c->n_lits, sizeof *c->lits, s_lit_cmp);
    size_t li = 0;
    /* Literals per (node, port): the later one of two is an error. */
    uint32_t n_nodes = c->g->n_nodes; /* nodes added below need no materialization */
    size_t wi = 0;
    for (uint32_t node = 0; node < n_nodes && !c->oom; node++) {
        lx_node_t *nd = &c->g->nodes[node];
        while (wi < c->n_writers && c->writers[wi].to < node)
            wi++;
        while (li < c->n_lits && c->lits[li].node < node)
            li++;
        if (nd->def->flags & LX_BF_VARIADIC && nd->kind == LX_NODE_BUS) {
            size_t start = wi;
            while (wi < c->n_writers && c->writers[wi].to == node)
                wi++;
            nd->in = lx_arena_calloc(c->a, wi - start + 1, sizeof *nd->in);
            if (!nd->in) {
                c->oom = true;
                return;
            }
            for (size_t k = start; k < wi; k++)
                nd->in[k - start] = s_input_of(&c->writers[k]);
            nd->n_in = (uint32_t)(wi - start);
            continue;
        }
        for (uint16_t port = 0; port < nd->n_in; port++) {
            size_t start = wi;
            while (wi < c->n_writers && c->writers[wi].to == node && c->writers[wi].to_port == port)
                wi++;
            const lit_t *lit = NULL;
            for (; li < c->n_lits && c->lits[li].node == node && c->lits[li].port == port; li++) {
                if (lit) {
                    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_021,
                                                 "input '%s' of block '%s' gets two literals",
                                                 nd->def->inputs[port].name, nd->owner);
                    lx_diag_at_json(c->d, dg, c->lits[li].json);
                    continue;
                }
                lit = &c->lits[li];
            }
            s_materialize_port(c, node, port, c->writers ? c->writers + start : NULL, wi - start,
                               lit);
            nd = &c->g->nodes[node];
        }
    }
}

static void s_time_root_and_camera(ctx_t *c)
{
    uint32_t roots = 0, cameras = 0;
    c->g->time_root = LX_NONE;
    c->g->camera = LX_NONE;
    for (uint32_t i = 0; i < c->g->n_nodes; i++) {
        const lx_node_t *nd = &c->g->nodes[i];
        if (nd->def->flags & LX_BF_TIME_ROOT) {
            if (roots++ == 0)
                c->g->time_root = i;
        }
        if (nd->def->flags & LX_BF_CAMERA) {
            if (cameras++ == 0)
                c->g->camera = i;
        }
    }
    if (roots == 0) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TR_001, "the patch has no time root");
        lx_diag_at_json(c->d, dg, "/blocks");
        lx_diag_help(c->d, dg, "add one FiniteTimeRoot, CycleTimeRoot or InfiniteTimeRoot");
    } else if (roots > 1) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_TR_002, "the patch has %u time roots", roots);
        for (uint32_t i = 0; i < c->g->n_nodes; i++)
            if (c->g->nodes[i].def->flags & LX_BF_TIME_ROOT)
                lx_diag_at_block(c->d, dg, c->g->nodes[i].id);
        lx_diag_help(c->d, dg, "keep exactly one");
        c->g->time_root = LX_NONE;
    }
    if (cameras > 1) {
        lx_diag_t *dg = lx_diags_add(c->d, LX_DC_EX_502, "the patch has %u cameras", cameras);
        for (uint32_t i = 0; i < c->g->n_nodes; i++)
            if (c->g->nodes[i].def->flags & LX_BF_CAMERA)
                lx_diag_at_block(c->d, dg, c->g->nodes[i].id);
        c->g->camera = LX_NONE;
    } else if (cameras == 0) {
        c->g->camera = s_add_node(c, "$camera", lx_registry_find("Camera"), LX_NODE_CAMERA,
                                  "/blocks", "$camera");
    }
}

lx_graph_t *lx_normalize(const lx_raw_graph_t *raw, const lx_alloc_t *alloc, lx_diags_t *diags)
{
    alloc = alloc ? alloc : lx_alloc_default();
    lx_graph_t *g = lx_calloc(alloc, 1, sizeof *g);
    if (!g)
        return NULL;
    lx_arena_init(&g->arena, alloc);
    g->raw = raw;
    g->time_root = g->camera = LX_NONE;
    ctx_t c = {.g = g, .d = diags, .a = &g->arena, .raw = raw};
    lx_strmap_init(&c.ids, c.a);
    lx_strmap_init(&c.comps, c.a);
    lx_strmap_init(&c.edge_keys, c.a);
    lx_strmap_init(&c.ghosts, c.a);
    lx_strmap_init(&c.checked, c.a);
    lx_strmap_init(&c.bad_alias, c.a);
    lx_strmap_init(&c.broken, c.a);
    lx_strmap_init(&c.exposed, c.a);
    s_register_composites(&c);
    s_expand(&c, "", raw->blocks, raw->n_blocks, raw->edges, raw->n_edges, 0);
    if (g->truncated)
        return g; /* PT-020 says it all; the rest would only echo it */
    s_check_port_maps(&c);
    s_time_root_and_camera(&c);
    s_buses(&c);
    s_publish_listen(&c);
    s_materialize(&c);
    if (c.oom || g->arena.failed) {
        lx_graph_destroy(&g);
        return NULL;
    }
    return g;
}

void lx_graph_destroy(lx_graph_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_graph_t *g = *self_p;
    const lx_alloc_t *alloc = g->arena.alloc;
    lx_arena_release(&g->arena);
    lx_free(alloc, g);
    *self_p = NULL;
}

uint32_t lx_graph_find(const lx_graph_t *g, const char *id)
{
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].id, id) == 0)
            return i;
    return LX_NONE;
}
