#include "lattice/diag.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *code, *title;
    lx_severity_t severity;
} s_codes[] = {
#define LX_X_DIAG_ROW(id, code, sev, title) {code, title, LX_SEV_##sev},
    LX_DIAG_MAP(LX_X_DIAG_ROW)
#undef LX_X_DIAG_ROW
};

const char *lx_dcode_str(lx_dcode_t code)
{
    return (unsigned)code < LX_DC__COUNT ? s_codes[code].code : "XX-000";
}

const char *lx_dcode_title(lx_dcode_t code)
{
    return (unsigned)code < LX_DC__COUNT ? s_codes[code].title : "unknown";
}

lx_severity_t lx_dcode_severity(lx_dcode_t code)
{
    return (unsigned)code < LX_DC__COUNT ? s_codes[code].severity : LX_SEV_ERROR;
}

void lx_diags_init(lx_diags_t *d, const lx_alloc_t *alloc)
{
    memset(d, 0, sizeof *d);
    lx_arena_init(&d->arena, alloc);
}

void lx_diags_release(lx_diags_t *d)
{
    lx_arena_release(&d->arena);
    memset(d, 0, sizeof *d);
}

static char *s_vformat(lx_diags_t *d, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *p = lx_arena_calloc(&d->arena, (size_t)n + 1, 1);
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    else
        d->failed = true;
    return p;
}

lx_diag_t *lx_diags_add(lx_diags_t *d, lx_dcode_t code, const char *fmt, ...)
{
    size_t max = d->max ? d->max : 1000;
    lx_severity_t sev = lx_dcode_severity(code);
    if (sev == LX_SEV_ERROR)
        d->n_errors++;
    else
        d->n_warnings++;
    if (d->count >= max) {
        d->failed = true;
        return NULL;
    }
    lx_diag_t *dg = LX_ARENA_PUSH(&d->arena, d->items, d->count, d->cap);
    if (!dg) {
        d->failed = true;
        return NULL;
    }
    dg->code = code;
    dg->severity = sev;
    va_list ap;
    va_start(ap, fmt);
    dg->message = s_vformat(d, fmt, ap);
    va_end(ap);
    if (!dg->message)
        dg->message = lx_dcode_title(code);
    return dg;
}

void lx_diag_help(lx_diags_t *d, lx_diag_t *dg, const char *fmt, ...)
{
    if (!dg)
        return;
    va_list ap;
    va_start(ap, fmt);
    dg->help = s_vformat(d, fmt, ap);
    va_end(ap);
}

static lx_loc_t *s_loc(lx_diags_t *d, lx_diag_t *dg, lx_loc_kind_t kind, const char *a,
                       const char *b)
{
    if (!dg)
        return NULL;
    lx_loc_t *l = LX_ARENA_PUSH(&d->arena, dg->locs, dg->n_locs, dg->cap_locs);
    if (!l) {
        d->failed = true;
        return NULL;
    }
    l->kind = kind;
    l->a = a ? lx_arena_strdup(&d->arena, a) : NULL;
    l->b = b ? lx_arena_strdup(&d->arena, b) : NULL;
    return l;
}

void lx_diag_at_block(lx_diags_t *d, lx_diag_t *dg, const char *block)
{
    s_loc(d, dg, LX_LOC_BLOCK, block, NULL);
}

void lx_diag_at_port(lx_diags_t *d, lx_diag_t *dg, const char *block, const char *port)
{
    s_loc(d, dg, LX_LOC_PORT, block, port);
}

void lx_diag_at_bus(lx_diags_t *d, lx_diag_t *dg, const char *bus)
{
    s_loc(d, dg, LX_LOC_BUS, bus, NULL);
}

void lx_diag_at_edge(lx_diags_t *d, lx_diag_t *dg, const char *from, const char *to)
{
    s_loc(d, dg, LX_LOC_EDGE, from, to);
}

void lx_diag_at_json(lx_diags_t *d, lx_diag_t *dg, const char *pointer)
{
    if (pointer)
        s_loc(d, dg, LX_LOC_JSON, pointer, NULL);
}

void lx_diag_at_cycle(lx_diags_t *d, lx_diag_t *dg, const char *const *nodes, size_t n)
{
    lx_loc_t *l = s_loc(d, dg, LX_LOC_CYCLE, NULL, NULL);
    if (!l)
        return;
    l->nodes = lx_arena_calloc(&d->arena, n ? n : 1, sizeof *l->nodes);
    if (!l->nodes) {
        d->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        l->nodes[i] = lx_arena_strdup(&d->arena, nodes[i]);
    l->n_nodes = n;
}

bool lx_diags_full(const lx_diags_t *d)
{
    return d->count >= (d->max ? d->max : 1000);
}

bool lx_diags_has(const lx_diags_t *d, lx_dcode_t code)
{
    for (size_t i = 0; i < d->count; i++)
        if (d->items[i].code == code)
            return true;
    return false;
}

static void s_format_loc(const lx_loc_t *l, lx_strbuf_t *out)
{
    switch (l->kind) {
    case LX_LOC_BLOCK:
        lx_strbuf_addf(out, "block '%s'", l->a);
        break;
    case LX_LOC_PORT:
        lx_strbuf_addf(out, "block '%s' port '%s'", l->a, l->b);
        break;
    case LX_LOC_BUS:
        lx_strbuf_addf(out, "bus '%s'", l->a);
        break;
    case LX_LOC_EDGE:
        lx_strbuf_addf(out, "edge %s -> %s", l->a, l->b);
        break;
    case LX_LOC_CYCLE:
        lx_strbuf_adds(out, "cycle ");
        for (size_t i = 0; i < l->n_nodes; i++)
            lx_strbuf_addf(out, "%s%s", i ? " -> " : "", l->nodes[i]);
        if (l->n_nodes)
            lx_strbuf_addf(out, " -> %s", l->nodes[0]);
        break;
    case LX_LOC_JSON:
        lx_strbuf_addf(out, "%s", l->a[0] ? l->a : "/");
        break;
    }
}

void lx_diags_format_text(const lx_diags_t *d, const char *file, lx_strbuf_t *out)
{
    for (size_t i = 0; i < d->count; i++) {
        const lx_diag_t *dg = &d->items[i];
        lx_strbuf_addf(out, "%s: ", file);
        /* The most specific graph location first, then the JSON pointer. */
        const lx_loc_t *json = NULL;
        bool any = false;
        for (size_t k = 0; k < dg->n_locs && !json; k++)
            if (dg->locs[k].kind == LX_LOC_JSON)
                json = &dg->locs[k];
        for (size_t k = 0; k < dg->n_locs && !any; k++) {
            if (dg->locs[k].kind == LX_LOC_JSON)
                continue;
            s_format_loc(&dg->locs[k], out);
            lx_strbuf_adds(out, ": ");
            any = true;
        }
        if (!any && json) {
            s_format_loc(json, out);
            lx_strbuf_adds(out, ": ");
        }
        lx_strbuf_addf(out, "%s[%s]: %s\n", dg->severity == LX_SEV_ERROR ? "error" : "warning",
                       lx_dcode_str(dg->code), dg->message);
        /* Further graph locations (the other blocks of a cycle, ...). */
        bool first = true;
        for (size_t k = 0; k < dg->n_locs; k++) {
            if (dg->locs[k].kind == LX_LOC_JSON)
                continue;
            if (first) {
                first = false;
                continue;
            }
            lx_strbuf_adds(out, "    also: ");
            s_format_loc(&dg->locs[k], out);
            lx_strbuf_adds(out, "\n");
        }
        if (json && any)
            lx_strbuf_addf(out, "    at %s\n", json->a[0] ? json->a : "/");
        if (dg->help)
            lx_strbuf_addf(out, "    help: %s\n", dg->help);
    }
    lx_strbuf_addf(out, "%s: %zu error%s, %zu warning%s\n", file, d->n_errors,
                   d->n_errors == 1 ? "" : "s", d->n_warnings, d->n_warnings == 1 ? "" : "s");
    if (d->failed)
        lx_strbuf_adds(out, "(some diagnostics were not recorded: too many or out of memory)\n");
}

static const char *s_loc_kind_name(lx_loc_kind_t k)
{
    static const char *names[] = {"Block", "Port", "Bus", "Edge", "Cycle", "Json"};
    return names[k];
}

void lx_diags_format_json(const lx_diags_t *d, lx_strbuf_t *out)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < d->count; i++) {
        const lx_diag_t *dg = &d->items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "code", lx_dcode_str(dg->code));
        cJSON_AddStringToObject(o, "severity", dg->severity == LX_SEV_ERROR ? "error" : "warning");
        cJSON_AddStringToObject(o, "title", lx_dcode_title(dg->code));
        cJSON_AddStringToObject(o, "message", dg->message);
        if (dg->details)
            cJSON_AddStringToObject(o, "details", dg->details);
        cJSON *locs = cJSON_AddArrayToObject(o, "locations");
        for (size_t k = 0; k < dg->n_locs; k++) {
            const lx_loc_t *l = &dg->locs[k];
            cJSON *lo = cJSON_CreateObject();
            cJSON_AddItemToArray(locs, lo);
            cJSON_AddStringToObject(lo, "kind", s_loc_kind_name(l->kind));
            switch (l->kind) {
            case LX_LOC_BLOCK:
                cJSON_AddStringToObject(lo, "blockId", l->a);
                break;
            case LX_LOC_PORT:
                cJSON_AddStringToObject(lo, "blockId", l->a);
                cJSON_AddStringToObject(lo, "portId", l->b);
                break;
            case LX_LOC_BUS:
                cJSON_AddStringToObject(lo, "busId", l->a);
                break;
            case LX_LOC_EDGE:
                cJSON_AddStringToObject(lo, "from", l->a);
                cJSON_AddStringToObject(lo, "to", l->b);
                break;
            case LX_LOC_CYCLE: {
                cJSON *nodes = cJSON_AddArrayToObject(lo, "nodes");
                for (size_t n = 0; n < l->n_nodes; n++)
                    cJSON_AddItemToArray(nodes, cJSON_CreateString(l->nodes[n]));
                break;
            }
            case LX_LOC_JSON:
                cJSON_AddStringToObject(lo, "pointer", l->a);
                break;
            }
        }
        if (dg->help)
            cJSON_AddStringToObject(o, "help", dg->help);
    }
    char *s = arr ? cJSON_Print(arr) : NULL;
    if (s) {
        lx_strbuf_adds(out, s);
        lx_strbuf_adds(out, "\n");
        cJSON_free(s);
    } else {
        out->failed = true;
    }
    cJSON_Delete(arr);
}

static size_t s_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            char ca = a[i - 1], cb = b[j - 1];
            if (ca >= 'A' && ca <= 'Z')
                ca = (char)(ca - 'A' + 'a');
            if (cb >= 'A' && cb <= 'Z')
                cb = (char)(cb - 'A' + 'a');
            size_t sub = prev + (ca != cb);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb];
}

static char s_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

const char *lx_suggest(const char *name, const char *const *candidates, size_t n)
{
    size_t len = strlen(name);
    size_t limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t dist = s_levenshtein(name, candidates[i]);
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    if (best)
        return best;
    /* A longer or shorter spelling: "Rectangle" or "rect" for "Rect",
     * "Osc" for "Oscillator". The shorter of the two must have 3 letters,
     * all equal ignoring case; the closest in length wins. */
    size_t best_extra = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t lc = strlen(candidates[i]), common = lc < len ? lc : len, k = 0;
        while (k < common && s_lower(name[k]) == s_lower(candidates[i][k]))
            k++;
        size_t extra = lc > len ? lc - len : len - lc;
        if (common >= 3 && k == common && extra < best_extra) {
            best_extra = extra;
            best = candidates[i];
        }
    }
    return best;
}
