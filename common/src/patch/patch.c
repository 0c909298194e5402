/* Patch JSON -> RawGraph, strictly: every problem becomes a PT-0xx
 * diagnostic with a JSON pointer, and the load carries on to find more. */
#include "lattice/patch.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lattice/json_syntax.h"
#include "lattice/names.h"

typedef struct {
    lx_raw_graph_t *g;
    lx_diags_t *d;
} ctx_t;

static const char *const s_top_fields[] = {"format",  "id",     "name",      "seed",
                                           "output",  "blocks", "edges",     "buses",
                                           "publish", "listen", "composites", "audio"};
static const char *const s_audio_fields[] = {"file"};
static const char *const s_output_fields[] = {"width", "height", "fps", "background"};
static const char *const s_block_fields[] = {"id", "type", "params", "inputs", "combine"};
static const char *const s_edge_fields[] = {"from", "to", "sortKey", "lenses"};
static const char *const s_bus_fields[] = {"name", "type", "combine", "default"};
static const char *const s_publish_fields[] = {"from", "bus", "sortKey"};
static const char *const s_listen_fields[] = {"bus", "to", "lenses"};
static const char *const s_composite_fields[] = {"type", "inputs", "outputs", "blocks", "edges"};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* JSON pointer of member `key` under `base` (RFC 6901 escaping). */
static const char *s_ptr_key(ctx_t *c, const char *base, const char *key)
{
    size_t n = strlen(base) + 1;
    for (const char *k = key; *k; k++)
        n += (*k == '~' || *k == '/') ? 2 : 1;
    char *p = lx_arena_calloc(&c->g->arena, n + 1, 1);
    if (!p)
        return base;
    char *w = p + strlen(base);
    memcpy(p, base, strlen(base));
    *w++ = '/';
    for (const char *k = key; *k; k++) {
        if (*k == '~' || *k == '/') {
            *w++ = '~';
            *w++ = *k == '~' ? '0' : '1';
        } else {
            *w++ = *k;
        }
    }
    return p;
}

static const char *s_ptr_idx(ctx_t *c, const char *base, size_t i)
{
    const char *p = lx_arena_printf(&c->g->arena, "%s/%zu", base, i);
    return p ? p : base;
}

static const char *s_str(ctx_t *c, const char *s)
{
    /* On failure the arena records it and the load reports LX_E_NOMEM. */
    const char *p = lx_arena_strdup(&c->g->arena, s);
    return p ? p : "";
}

static void s_wrong_type(ctx_t *c, const char *ptr, const char *what, const char *expected)
{
    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_005, "%s must be %s", what, expected);
    lx_diag_at_json(c->d, dg, ptr);
}

/* Reports unknown and duplicate members of obj. */
static void s_check_fields(ctx_t *c, const cJSON *obj, const char *ptr, const char *what,
                           const char *const *allowed, size_t n)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        const char *key = it->string ? it->string : "";
        bool known = false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(key, allowed[i]) == 0)
                known = true;
        const char *p = s_ptr_key(c, ptr, key);
        if (!known) {
            lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_004, "unknown field '%s' in %s", key, what);
            lx_diag_at_json(c->d, dg, p);
            const char *s = lx_suggest(key, allowed, n);
            if (s)
                lx_diag_help(c->d, dg, "did you mean '%s'?", s);
            continue;
        }
        for (const cJSON *prev = obj->child; prev != it; prev = prev->next) {
            if (prev->string && strcmp(prev->string, key) == 0) {
                lx_diag_t *dg =
                    lx_diags_add(c->d, LX_DC_PT_004, "field '%s' appears twice in %s", key, what);
                lx_diag_at_json(c->d, dg, p);
                break;
            }
        }
    }
}

static const cJSON *s_member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static void s_missing(ctx_t *c, const char *ptr, const char *what, const char *field)
{
    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_003, "%s has no '%s'", what, field);
    lx_diag_at_json(c->d, dg, ptr);
}

/* A required or optional string member; NULL when absent or wrong. */
static const char *s_get_string(ctx_t *c, const cJSON *obj, const char *ptr, const char *what,
                                const char *field, bool required)
{
    const cJSON *v = s_member(obj, field);
    if (!v) {
        if (required)
            s_missing(c, ptr, what, field);
        return NULL;
    }
    if (!cJSON_IsString(v)) {
        const char *p = s_ptr_key(c, ptr, field);
        char desc[96];
        snprintf(desc, sizeof desc, "'%s' of %s", field, what);
        s_wrong_type(c, p, desc, "a string");
        return NULL;
    }
    return s_str(c, v->valuestring);
}

static const char *s_get_id(ctx_t *c, const cJSON *obj, const char *ptr, const char *what,
                            const char *field)
{
    const char *id = s_get_string(c, obj, ptr, what, field, true);
    if (id && !lx_name_id_valid(id)) {
        lx_diag_t *dg =
            lx_diags_add(c->d, LX_DC_PT_006,
                         "%s '%s' is not a valid id (use 1 to 64 of A-Z a-z 0-9 _ -)", field, id);
        lx_diag_at_json(c->d, dg, s_ptr_key(c, ptr, field));
        return NULL;
    }
    return id;
}

static bool s_get_sort_key(ctx_t *c, const cJSON *obj, const char *ptr, int64_t *out)
{
    const cJSON *v = s_member(obj, "sortKey");
    if (!v)
        return false;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 2147483647.0) {
        s_wrong_type(c, s_ptr_key(c, ptr, "sortKey"), "sortKey", "an integer");
        return false;
    }
    *out = (int64_t)v->valuedouble;
    return true;
}

/* "block.port" with exactly one dot and valid ids on both sides. */
static lx_raw_ref_t s_parse_ref(ctx_t *c, const char *text, const char *ptr)
{
    lx_raw_ref_t r = {NULL, NULL};
    const char *dot = text ? strchr(text, '.') : NULL;
    if (!text)
        return r;
    if (!dot || strchr(dot + 1, '.')) {
        lx_diag_t *dg = lx_diags_add(
            c->d, LX_DC_PT_011, "'%s' is not a port reference (expected \"block.port\")", text);
        lx_diag_at_json(c->d, dg, ptr);
        return r;
    }
    char *block = lx_arena_strndup(&c->g->arena, text, (size_t)(dot - text));
    const char *port = s_str(c, dot + 1);
    if (!block)
        return r;
    if (!lx_name_id_valid(block) || !lx_name_id_valid(port)) {
        lx_diag_t *dg = lx_diags_add(
            c->d, LX_DC_PT_011, "'%s' is not a port reference (block and port must be ids)", text);
        lx_diag_at_json(c->d, dg, ptr);
        return r;
    }
    r.block = block;
    r.port = port;
    return r;
}

static lx_raw_ref_t s_get_ref(ctx_t *c, const cJSON *obj, const char *ptr, const char *what,
                              const char *field, const char **text)
{
    *text = s_get_string(c, obj, ptr, what, field, true);
    return s_parse_ref(c, *text, s_ptr_key(c, ptr, field));
}

/* A literal: number, bool, or array of 2 to 4 numbers. */
bool lx_literal_from_json(const cJSON *v, lx_literal_t *out)
{
    memset(out, 0, sizeof *out);
    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble))
            return false;
        out->kind = LX_LIT_NUMBER;
        out->v[0] = v->valuedouble;
        return true;
    }
    if (cJSON_IsBool(v)) {
        out->kind = LX_LIT_BOOL;
        out->v[0] = cJSON_IsTrue(v) ? 1.0 : 0.0;
        return true;
    }
    if (!cJSON_IsArray(v))
        return false;
    int n = cJSON_GetArraySize(v);
    if (n < 2 || n > 4)
        return false;
    int i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
            return false;
        out->v[i] = it->valuedouble;
    }
    out->kind = n == 2 ? LX_LIT_VEC2 : n == 3 ? LX_LIT_VEC3 : LX_LIT_VEC4;
    return true;
}

static void s_bad_literal(ctx_t *c, const char *ptr, const char *what)
{
    lx_diag_t *dg = lx_diags_add(
        c->d, LX_DC_PT_015, "%s must be a number, a boolean or an array of 2 to 4 numbers", what);
    lx_diag_at_json(c->d, dg, ptr);
}

/* A member of a given JSON kind; NULL when absent (reported if required)
 * or of another kind (reported). */
static const cJSON *s_get_kind(ctx_t *c, const cJSON *obj, const char *ptr, const char *field,
                               bool required, const char *what, cJSON_bool (*is)(const cJSON *),
                               const char *expected)
{
    const cJSON *v = s_member(obj, field);
    if (!v) {
        if (required)
            s_missing(c, ptr, what, field);
        return NULL;
    }
    if (!is(v)) {
        s_wrong_type(c, s_ptr_key(c, ptr, field), field, expected);
        return NULL;
    }
    return v;
}

#define s_get_array(c, obj, ptr, field, req, what)                                                 \
    s_get_kind(c, obj, ptr, field, req, what, cJSON_IsArray, "an array")
#define s_get_object(c, obj, ptr, field, req, what)                                                \
    s_get_kind(c, obj, ptr, field, req, what, cJSON_IsObject, "an object")

static void s_load_lenses(ctx_t *c, const cJSON *obj, const char *ptr, lx_raw_lens_t **out,
                          size_t *n_out)
{
    const cJSON *arr = s_get_array(c, obj, ptr, "lenses", false, "");
    if (!arr)
        return;
    const char *aptr = s_ptr_key(c, ptr, "lenses");
    size_t n = (size_t)cJSON_GetArraySize(arr);
    lx_raw_lens_t *lenses = lx_arena_calloc(&c->g->arena, n ? n : 1, sizeof *lenses);
    if (!lenses)
        return; /* the arena records the failure */
    size_t k = 0, i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        const char *p = s_ptr_idx(c, aptr, i);
        if (cJSON_IsString(it)) {
            lenses[k++] = (lx_raw_lens_t){s_str(c, it->valuestring), NULL, p};
        } else if (cJSON_IsObject(it)) {
            const char *type = s_get_string(c, it, p, "a lens", "type", true);
            if (type)
                lenses[k++] = (lx_raw_lens_t){type, it, p};
        } else {
            s_wrong_type(c, p, "a lens", "a string or an object with 'type'");
        }
    }
    *out = lenses;
    *n_out = k;
}

static void s_load_block(ctx_t *c, const cJSON *obj, const char *ptr, lx_raw_block_t *b)
{
    memset(b, 0, sizeof *b);
    b->json = ptr;
    s_check_fields(c, obj, ptr, "a block", s_block_fields, N_OF(s_block_fields));
    b->id = s_get_id(c, obj, ptr, "a block", "id");
    b->type = s_get_string(c, obj, ptr, "a block", "type", true);
    b->params = s_get_object(c, obj, ptr, "params", false, "a block");
    const cJSON *inputs = s_get_object(c, obj, ptr, "inputs", false, "a block");
    if (inputs) {
        const char *iptr = s_ptr_key(c, ptr, "inputs");
        size_t n = (size_t)cJSON_GetArraySize(inputs);
        b->inputs = lx_arena_calloc(&c->g->arena, n ? n : 1, sizeof *b->inputs);
        if (!b->inputs)
            return; /* the arena records the failure */
        for (const cJSON *it = inputs->child; it; it = it->next) {
            lx_raw_input_t *in = &b->inputs[b->n_inputs++];
            in->port = s_str(c, it->string ? it->string : "");
            in->json = s_ptr_key(c, iptr, in->port);
            in->valid = lx_literal_from_json(it, &in->value);
            if (!in->valid) {
                char what[128];
                snprintf(what, sizeof what, "input '%.64s'", in->port);
                s_bad_literal(c, in->json, what);
            }
        }
    }
    const cJSON *combine = s_get_object(c, obj, ptr, "combine", false, "a block");
    if (combine) {
        const char *cptr = s_ptr_key(c, ptr, "combine");
        size_t n = (size_t)cJSON_GetArraySize(combine);
        b->combine = lx_arena_calloc(&c->g->arena, n ? n : 1, sizeof *b->combine);
        if (!b->combine)
            return; /* the arena records the failure */
        for (const cJSON *it = combine->child; it; it = it->next) {
            const char *p = s_ptr_key(c, cptr, it->string ? it->string : "");
            if (!cJSON_IsString(it)) {
                s_wrong_type(c, p, "a combine mode", "a string");
                continue;
            }
            lx_raw_combine_t *cm = &b->combine[b->n_combine++];
            cm->port = s_str(c, it->string ? it->string : "");
            cm->mode = s_str(c, it->valuestring);
            cm->json = p;
        }
    }
}

static void s_load_edge(ctx_t *c, const cJSON *obj, const char *ptr, lx_raw_edge_t *e)
{
    memset(e, 0, sizeof *e);
    e->json = ptr;
    s_check_fields(c, obj, ptr, "an edge", s_edge_fields, N_OF(s_edge_fields));
    e->from = s_get_ref(c, obj, ptr, "an edge", "from", &e->from_text);
    e->to = s_get_ref(c, obj, ptr, "an edge", "to", &e->to_text);
    e->has_sort_key = s_get_sort_key(c, obj, ptr, &e->sort_key);
    s_load_lenses(c, obj, ptr, &e->lenses, &e->n_lenses);
}

/* Loads an array of objects with `load`; returns the count loaded. */
typedef void (*load_fn)(ctx_t *, const cJSON *, const char *, void *);

static size_t s_load_array(ctx_t *c, const cJSON *arr, const char *ptr, size_t elem,
                           const char *what, void **out, load_fn load)
{
    size_t n = (size_t)cJSON_GetArraySize(arr);
    unsigned char *items = lx_arena_calloc(&c->g->arena, n ? n : 1, elem);
    if (!items)
        return 0; /* the arena records the failure */
    size_t k = 0, i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        const char *p = s_ptr_idx(c, ptr, i);
        if (!cJSON_IsObject(it)) {
            s_wrong_type(c, p, what, "an object");
            continue;
        }
        load(c, it, p, items + elem * k++);
    }
    *out = items;
    return k;
}

static void s_load_block_v(ctx_t *c, const cJSON *o, const char *p, void *out)
{
    s_load_block(c, o, p, out);
}

static void s_load_edge_v(ctx_t *c, const cJSON *o, const char *p, void *out)
{
    s_load_edge(c, o, p, out);
}

static void s_load_bus(ctx_t *c, const cJSON *obj, const char *ptr, void *out)
{
    lx_raw_bus_t *b = out;
    b->json = ptr;
    s_check_fields(c, obj, ptr, "a bus", s_bus_fields, N_OF(s_bus_fields));
    b->name = s_get_id(c, obj, ptr, "a bus", "name");
    b->type = s_get_string(c, obj, ptr, "a bus", "type", true);
    b->combine = s_get_string(c, obj, ptr, "a bus", "combine", true);
    const cJSON *def = s_member(obj, "default");
    if (def) {
        b->has_default = lx_literal_from_json(def, &b->def);
        if (!b->has_default)
            s_bad_literal(c, s_ptr_key(c, ptr, "default"), "a bus default");
    }
}

static void s_load_publish(ctx_t *c, const cJSON *obj, const char *ptr, void *out)
{
    lx_raw_publish_t *pb = out;
    pb->json = ptr;
    s_check_fields(c, obj, ptr, "a publish entry", s_publish_fields, N_OF(s_publish_fields));
    pb->from = s_get_ref(c, obj, ptr, "a publish entry", "from", &pb->from_text);
    pb->bus = s_get_string(c, obj, ptr, "a publish entry", "bus", true);
    pb->has_sort_key = s_get_sort_key(c, obj, ptr, &pb->sort_key);
}

static void s_load_listen(ctx_t *c, const cJSON *obj, const char *ptr, void *out)
{
    lx_raw_listen_t *l = out;
    l->json = ptr;
    s_check_fields(c, obj, ptr, "a listen entry", s_listen_fields, N_OF(s_listen_fields));
    l->bus = s_get_string(c, obj, ptr, "a listen entry", "bus", true);
    l->to = s_get_ref(c, obj, ptr, "a listen entry", "to", &l->to_text);
    s_load_lenses(c, obj, ptr, &l->lenses, &l->n_lenses);
}

static size_t s_load_aliases(ctx_t *c, const cJSON *obj, const char *ptr, const char *field,
                             lx_raw_alias_t **out)
{
    const cJSON *map = s_get_object(c, obj, ptr, field, false, "a composite");
    if (!map)
        return 0;
    const char *mptr = s_ptr_key(c, ptr, field);
    size_t n = (size_t)cJSON_GetArraySize(map), k = 0;
    lx_raw_alias_t *a = lx_arena_calloc(&c->g->arena, n ? n : 1, sizeof *a);
    if (!a)
        return 0; /* the arena records the failure */
    for (const cJSON *it = map->child; it; it = it->next) {
        const char *name = it->string ? it->string : "";
        const char *p = s_ptr_key(c, mptr, name);
        if (!lx_name_id_valid(name)) {
            lx_diag_t *dg =
                lx_diags_add(c->d, LX_DC_PT_006, "composite port '%s' is not a valid id", name);
            lx_diag_at_json(c->d, dg, p);
            continue;
        }
        if (!cJSON_IsString(it)) {
            s_wrong_type(c, p, "a composite port mapping", "a string \"block.port\"");
            continue;
        }
        a[k].name = s_str(c, name);
        a[k].inner_text = s_str(c, it->valuestring);
        a[k].inner = s_parse_ref(c, it->valuestring, p);
        a[k].json = p;
        k++;
    }
    *out = a;
    return k;
}

static void s_load_composite(ctx_t *c, const cJSON *obj, const char *ptr, void *out)
{
    lx_raw_composite_t *cp = out;
    cp->json = ptr;
    s_check_fields(c, obj, ptr, "a composite", s_composite_fields, N_OF(s_composite_fields));
    cp->type = s_get_id(c, obj, ptr, "a composite", "type");
    cp->n_inputs = s_load_aliases(c, obj, ptr, "inputs", &cp->inputs);
    cp->n_outputs = s_load_aliases(c, obj, ptr, "outputs", &cp->outputs);
    const cJSON *blocks = s_get_array(c, obj, ptr, "blocks", true, "a composite");
    if (blocks)
        cp->n_blocks = s_load_array(c, blocks, s_ptr_key(c, ptr, "blocks"), sizeof *cp->blocks,
                                    "a block", (void **)&cp->blocks, s_load_block_v);
    const cJSON *edges = s_get_array(c, obj, ptr, "edges", false, "a composite");
    if (edges)
        cp->n_edges = s_load_array(c, edges, s_ptr_key(c, ptr, "edges"), sizeof *cp->edges,
                                   "an edge", (void **)&cp->edges, s_load_edge_v);
}

static void s_output_error(ctx_t *c, const char *ptr, const char *msg)
{
    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_016, "%s", msg);
    lx_diag_at_json(c->d, dg, ptr);
}

static void s_load_output(ctx_t *c, const cJSON *obj, const char *ptr)
{
    lx_raw_output_t *o = &c->g->output;
    s_check_fields(c, obj, ptr, "output", s_output_fields, N_OF(s_output_fields));
    const char *dims[2] = {"width", "height"};
    uint32_t *dst[2] = {&o->width, &o->height};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = s_member(obj, dims[i]);
        const char *p = s_ptr_key(c, ptr, dims[i]);
        if (!v) {
            s_missing(c, ptr, "output", dims[i]);
        } else if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                   v->valuedouble < 1 || v->valuedouble > 16384 ||
                   fmod(v->valuedouble, 2.0) != 0.0) {
            char msg[96];
            snprintf(msg, sizeof msg, "output %s must be an even integer from 2 to 16384", dims[i]);
            s_output_error(c, p, msg);
        } else {
            *dst[i] = (uint32_t)v->valuedouble;
        }
    }
    const cJSON *fps = s_member(obj, "fps");
    if (!fps)
        s_missing(c, ptr, "output", "fps");
    else if (!cJSON_IsNumber(fps) || !(fps->valuedouble > 0) || fps->valuedouble > 1000)
        s_output_error(c, s_ptr_key(c, ptr, "fps"), "output fps must be a number in (0, 1000]");
    else
        o->fps = fps->valuedouble;
    o->background[3] = 0;
    const cJSON *bg = s_member(obj, "background");
    if (bg) {
        lx_literal_t lit;
        if (!lx_literal_from_json(bg, &lit) || lit.kind != LX_LIT_VEC4)
            s_output_error(c, s_ptr_key(c, ptr, "background"),
                           "output background must be [r, g, b, a] (linear)");
        else
            memcpy(o->background, lit.v, sizeof o->background);
    }
}

static void s_report_syntax(ctx_t *c, const char *text, size_t len, const char *at)
{
    /* The scanner says what was expected; cJSON's own position is the
     * fallback for a text the scanner takes (they share the grammar). */
    lx_json_syntax_t why;
    if (!lx_json_syntax_check(text, len, &why)) {
        why.offset = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
        lx_json_syntax_locate(text, len, &why);
        why.message[0] = '\0';
    }
    lx_diag_t *dg = lx_diags_add(c->d, LX_DC_PT_001, "invalid JSON at line %zu, column %zu%s%s",
                                 why.line, why.column, why.message[0] ? ": " : "", why.message);
    lx_diag_at_json(c->d, dg, "");
}

lx_raw_graph_t *lx_patch_parse(const char *text, size_t len, const lx_alloc_t *alloc,
                               lx_diags_t *diags)
{
    alloc = alloc ? alloc : lx_alloc_default();
    lx_raw_graph_t *g = lx_calloc(alloc, 1, sizeof *g);
    if (!g)
        return NULL;
    lx_arena_init(&g->arena, alloc);
    ctx_t c = {g, diags};
    if (len > LX_PATCH_MAX_BYTES) {
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_PT_020, "patch is %zu bytes (limit %u)", len,
                                     LX_PATCH_MAX_BYTES);
        lx_diag_at_json(diags, dg, "");
        return g;
    }
    const char *end = NULL;
    g->doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!g->doc) {
        s_report_syntax(&c, text, len, end);
        return g;
    }
    /* Only whitespace may follow the document. */
    for (const char *p = end; p && p < text + len; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
            s_report_syntax(&c, text, len, p);
            return g;
        }
    }
    const cJSON *root = g->doc;
    if (!cJSON_IsObject(root)) {
        s_wrong_type(&c, "", "the patch", "a JSON object");
        return g;
    }
    s_check_fields(&c, root, "", "the patch", s_top_fields, N_OF(s_top_fields));
    const cJSON *format = s_member(root, "format");
    if (!format) {
        s_missing(&c, "", "the patch", "format");
    } else if (!cJSON_IsString(format) || strcmp(format->valuestring, LX_PATCH_FORMAT) != 0) {
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_PT_002, "format must be \"%s\"", LX_PATCH_FORMAT);
        lx_diag_at_json(diags, dg, "/format");
    }
    g->id = s_get_id(&c, root, "", "the patch", "id");
    g->name = s_get_string(&c, root, "", "the patch", "name", false);
    const cJSON *seed = s_member(root, "seed");
    if (seed) {
        if (!cJSON_IsNumber(seed) || seed->valuedouble != floor(seed->valuedouble) ||
            seed->valuedouble < 0 || seed->valuedouble > 4294967295.0)
            s_wrong_type(&c, "/seed", "seed", "an integer from 0 to 4294967295");
        else
            g->seed = (uint32_t)seed->valuedouble;
    }
    const cJSON *output = s_get_object(&c, root, "", "output", true, "the patch");
    if (output)
        s_load_output(&c, output, "/output");
    const cJSON *arr;
    if ((arr = s_get_array(&c, root, "", "blocks", true, "the patch")))
        g->n_blocks = s_load_array(&c, arr, "/blocks", sizeof *g->blocks, "a block",
                                   (void **)&g->blocks, s_load_block_v);
    if ((arr = s_get_array(&c, root, "", "edges", false, "the patch")))
        g->n_edges = s_load_array(&c, arr, "/edges", sizeof *g->edges, "an edge",
                                  (void **)&g->edges, s_load_edge_v);
    if ((arr = s_get_array(&c, root, "", "buses", false, "the patch")))
        g->n_buses = s_load_array(&c, arr, "/buses", sizeof *g->buses, "a bus", (void **)&g->buses,
                                  s_load_bus);
    if ((arr = s_get_array(&c, root, "", "publish", false, "the patch")))
        g->n_publish = s_load_array(&c, arr, "/publish", sizeof *g->publish, "a publish entry",
                                    (void **)&g->publish, s_load_publish);
    if ((arr = s_get_array(&c, root, "", "listen", false, "the patch")))
        g->n_listen = s_load_array(&c, arr, "/listen", sizeof *g->listen, "a listen entry",
                                   (void **)&g->listen, s_load_listen);
    if ((arr = s_get_array(&c, root, "", "composites", false, "the patch")))
        g->n_composites = s_load_array(&c, arr, "/composites", sizeof *g->composites, "a composite",
                                       (void **)&g->composites, s_load_composite);
    const cJSON *audio = s_get_object(&c, root, "", "audio", false, "the patch");
    if (audio) {
        s_check_fields(&c, audio, "/audio", "audio", s_audio_fields, N_OF(s_audio_fields));
        const char *file = s_get_string(&c, audio, "/audio", "audio", "file", true);
        if (file && (!*file || strlen(file) > 4096)) {
            s_wrong_type(&c, "/audio/file", "audio file", "a path of 1 to 4096 bytes");
            file = NULL;
        }
        g->audio_file = file;
    }
    return g;
}

void lx_raw_graph_destroy(lx_raw_graph_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_raw_graph_t *g = *self_p;
    cJSON_Delete(g->doc);
    const lx_alloc_t *alloc = g->arena.alloc;
    lx_arena_release(&g->arena);
    lx_free(alloc, g);
    *self_p = NULL;
}
