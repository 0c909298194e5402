/* Block parameters: checked against the registry's schema and converted
 * into lx_pval_t values (PT-012, PT-013, PT-014). */
#include "params.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lattice/names.h"

static void s_bad(lx_diags_t *d, const char *ptr, const char *block, const char *name,
                  const char *fmt_expect)
{
    lx_diag_t *dg = lx_diags_add(d, LX_DC_PT_013, "parameter '%s' of block '%s' must be %s", name,
                                 block, fmt_expect);
    lx_diag_at_json(d, dg, ptr);
    lx_diag_at_block(d, dg, block);
}

static const char *s_ptr(lx_arena_t *a, const char *base, const char *key)
{
    const char *p = lx_arena_printf(a, "%s/%s", base, key);
    return p ? p : base;
}

static bool s_number(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

/* Optional number member of a key or point object. */
static bool s_opt_num(const cJSON *obj, const char *key, double def, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = def;
        return true;
    }
    return s_number(v, out);
}

static bool s_only_fields(const cJSON *obj, const char *const *allowed, size_t n,
                          const char **unknown)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            if (it->string && strcmp(it->string, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            *unknown = it->string ? it->string : "";
            return false;
        }
    }
    return true;
}

static bool s_handle(const cJSON *obj, const char *key, double dx, double dy, double *x, double *y)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *x = dx;
    *y = dy;
    if (!v)
        return true;
    lx_literal_t lit;
    if (!lx_literal_from_json(v, &lit) || lit.kind != LX_LIT_VEC2)
        return false;
    *x = lit.v[0];
    *y = lit.v[1];
    return true;
}

static const char *const s_key_fields[] = {"timeMs", "value",    "interp",
                                           "easing", "inHandle", "outHandle"};
static const char *const s_interps[] = {"linear", "hold", "bezier"};

/* Keys: at least one, strictly increasing timeMs, all values one shape. */
static bool s_parse_keys(lx_params_ctx_t *c, const cJSON *v, const char *ptr, lx_pval_t *out,
                         lx_domain_t *domain)
{
    char why[160] = "";
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 1 || n > 100000) {
        snprintf(why, sizeof why, "a non-empty array of keys");
        goto bad;
    }
    double *t = lx_arena_calloc(c->arena, (size_t)n * LX_KEY_STRIDE, sizeof *t);
    if (!t) {
        c->diags->failed = true;
        return false;
    }
    lx_lit_kind_t kind = LX_LIT_NUMBER;
    int i = 0;
    for (const cJSON *k = v->child; k; k = k->next, i++) {
        double *r = t + (size_t)i * LX_KEY_STRIDE;
        const char *unknown = NULL;
        if (!cJSON_IsObject(k)) {
            snprintf(why, sizeof why, "an array of key objects (key %d is not an object)", i);
            goto bad;
        }
        if (!s_only_fields(k, s_key_fields, 6, &unknown)) {
            snprintf(why, sizeof why,
                     "keys with timeMs, value, interp, easing, inHandle, "
                     "outHandle (key %d has '%.40s')",
                     i, unknown);
            goto bad;
        }
        lx_literal_t lit;
        const cJSON *tv = cJSON_GetObjectItemCaseSensitive(k, "timeMs");
        const cJSON *vv = cJSON_GetObjectItemCaseSensitive(k, "value");
        if (!tv || !s_number(tv, &r[0]) || !vv || !lx_literal_from_json(vv, &lit) ||
            lit.kind == LX_LIT_BOOL) {
            snprintf(why, sizeof why, "keys with a numeric timeMs and a numeric value (key %d)", i);
            goto bad;
        }
        if (i == 0)
            kind = lit.kind;
        if (lit.kind != kind) {
            snprintf(why, sizeof why, "keys whose values all have the same shape (key %d differs)",
                     i);
            goto bad;
        }
        if (i > 0 && !(r[0] > r[-LX_KEY_STRIDE])) {
            snprintf(why, sizeof why, "keys in strictly increasing timeMs (key %d)", i);
            goto bad;
        }
        const cJSON *iv = cJSON_GetObjectItemCaseSensitive(k, "interp");
        r[1] = 0;
        if (iv) {
            int found = -1;
            for (int m = 0; m < 3; m++)
                if (cJSON_IsString(iv) && strcmp(iv->valuestring, s_interps[m]) == 0)
                    found = m;
            if (found < 0) {
                snprintf(why, sizeof why, "keys with interp linear, hold or bezier (key %d)", i);
                goto bad;
            }
            r[1] = found;
        }
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(k, "easing");
        r[2] = 0;
        if (ev) {
            int curve = cJSON_IsString(ev) ? lx_ease_parse(ev->valuestring) : -1;
            if (curve < 0) {
                snprintf(why, sizeof why, "keys whose easing is a curve name (key %d)", i);
                goto bad;
            }
            r[2] = curve;
        }
        /* Bezier handles are CSS-style control points in the segment's unit
         * square: the default makes a bezier segment linear. */
        if (!s_handle(k, "inHandle", 2.0 / 3.0, 2.0 / 3.0, &r[3], &r[4]) ||
            !s_handle(k, "outHandle", 1.0 / 3.0, 1.0 / 3.0, &r[5], &r[6])) {
            snprintf(why, sizeof why, "keys whose handles are [x, y] (key %d)", i);
            goto bad;
        }
        if (r[3] < 0 || r[3] > 1 || r[5] < 0 || r[5] > 1) {
            snprintf(why, sizeof why, "keys whose handle x lies in [0, 1] (key %d)", i);
            goto bad;
        }
        memcpy(&r[7], lit.v, sizeof lit.v);
    }
    out->table = t;
    out->n_records = (uint32_t)n;
    lx_literal_t shape = {.kind = kind};
    *domain = lx_literal_domain(&shape);
    return true;
bad:
    s_bad(c->diags, ptr, c->block, "keys", why);
    return false;
}

static const char *const s_point_fields[] = {"x", "y", "inX", "inY", "outX", "outY"};

static bool s_parse_points(lx_params_ctx_t *c, const cJSON *v, const char *ptr, lx_pval_t *out)
{
    char why[160] = "";
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 2 || n > 100000) {
        snprintf(why, sizeof why, "an array of at least 2 points");
        goto bad;
    }
    double *t = lx_arena_calloc(c->arena, (size_t)n * LX_POINT_STRIDE, sizeof *t);
    if (!t) {
        c->diags->failed = true;
        return false;
    }
    int i = 0;
    for (const cJSON *p = v->child; p; p = p->next, i++) {
        double *r = t + (size_t)i * LX_POINT_STRIDE;
        const char *unknown = NULL;
        if (!cJSON_IsObject(p) || !s_only_fields(p, s_point_fields, 6, &unknown)) {
            snprintf(why, sizeof why, "an array of {x, y, inX?, inY?, outX?, outY?} (point %d)", i);
            goto bad;
        }
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "x");
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(p, "y");
        if (!x || !y || !s_number(x, &r[0]) || !s_number(y, &r[1]) ||
            !s_opt_num(p, "inX", 0, &r[2]) || !s_opt_num(p, "inY", 0, &r[3]) ||
            !s_opt_num(p, "outX", 0, &r[4]) || !s_opt_num(p, "outY", 0, &r[5])) {
            snprintf(why, sizeof why, "points with numeric x and y (point %d)", i);
            goto bad;
        }
    }
    out->table = t;
    out->n_records = (uint32_t)n;
    return true;
bad:
    s_bad(c->diags, ptr, c->block, "points", why);
    return false;
}

bool lx_param_parse(lx_params_ctx_t *c, const lx_param_def_t *pd, const cJSON *v, const char *ptr,
                    lx_pval_t *out, lx_domain_t *value_domain)
{
    char why[128];
    switch (pd->kind) {
    case LX_P_NUMBER:
    case LX_P_INT: {
        double x;
        bool integral = pd->kind == LX_P_INT;
        if (!s_number(v, &x) || (integral && x != floor(x)) || x < pd->min || x > pd->max) {
            snprintf(why, sizeof why, "%s from %.15g to %.15g",
                     integral ? "an integer" : "a number", pd->min, pd->max);
            s_bad(c->diags, ptr, c->block, pd->name, why);
            return false;
        }
        out->num = x;
        break;
    }
    case LX_P_BOOL:
        if (!cJSON_IsBool(v)) {
            s_bad(c->diags, ptr, c->block, pd->name, "true or false");
            return false;
        }
        out->num = cJSON_IsTrue(v) ? 1 : 0;
        break;
    case LX_P_ENUM: {
        int found = -1;
        for (int i = 0; pd->options[i]; i++)
            if (cJSON_IsString(v) && strcmp(v->valuestring, pd->options[i]) == 0)
                found = i;
        if (found < 0) {
            lx_strbuf_t sb;
            lx_strbuf_init(&sb, c->arena->alloc);
            lx_strbuf_adds(&sb, "one of");
            for (int i = 0; pd->options[i]; i++)
                lx_strbuf_addf(&sb, "%s %s", i ? "," : "", pd->options[i]);
            lx_diag_t *dg =
                lx_diags_add(c->diags, LX_DC_PT_013, "parameter '%s' of block '%s' must be %s",
                             pd->name, c->block, sb.failed ? "a known name" : sb.buf);
            lx_diag_at_json(c->diags, dg, ptr);
            lx_diag_at_block(c->diags, dg, c->block);
            if (cJSON_IsString(v)) {
                size_t n = 0;
                while (pd->options[n])
                    n++;
                const char *s = lx_suggest(v->valuestring, pd->options, n);
                if (s)
                    lx_diag_help(c->diags, dg, "did you mean '%s'?", s);
            }
            lx_strbuf_release(&sb);
            return false;
        }
        out->num = found;
        break;
    }
    case LX_P_NAME:
        if (!cJSON_IsString(v) || !lx_name_id_valid(v->valuestring)) {
            s_bad(c->diags, ptr, c->block, pd->name, "a name of 1 to 64 of A-Z a-z 0-9 _ -");
            return false;
        }
        out->str = lx_arena_strdup(c->arena, v->valuestring);
        break;
    case LX_P_VALUE:
        if (!lx_literal_from_json(v, &out->lit) || out->lit.kind == LX_LIT_BOOL) {
            s_bad(c->diags, ptr, c->block, pd->name, "a number or an array of 2 to 4 numbers");
            return false;
        }
        *value_domain = lx_literal_domain(&out->lit);
        break;
    case LX_P_KEYS:
        if (!s_parse_keys(c, v, ptr, out, value_domain))
            return false;
        break;
    case LX_P_POINTS:
        if (!s_parse_points(c, v, ptr, out))
            return false;
        break;
    }
    out->set = true;
    return true;
}

lx_pval_t *lx_params_parse(lx_params_ctx_t *c, const lx_block_def_t *def, const cJSON *params,
                           const char *block_ptr, lx_domain_t *value_domain)
{
    lx_pval_t *vals = lx_arena_calloc(c->arena, def->n_params ? def->n_params : 1, sizeof *vals);
    if (!vals) {
        c->diags->failed = true;
        return NULL;
    }
    for (size_t i = 0; i < def->n_params; i++)
        vals[i].num = def->params[i].def;
    const char *pptr = s_ptr(c->arena, block_ptr, "params");
    bool given[64] = {false}; /* present, valid or not: not also "missing" */
    if (params) {
        for (const cJSON *it = params->child; it; it = it->next) {
            const char *name = it->string ? it->string : "";
            const char *ptr = s_ptr(c->arena, pptr, name);
            int idx = lx_block_param(def, name);
            if (idx < 0) {
                lx_diag_t *dg = lx_diags_add(c->diags, LX_DC_PT_012,
                                             "block '%s' of type '%s' has no parameter '%s'",
                                             c->block, def->name, name);
                lx_diag_at_json(c->diags, dg, ptr);
                lx_diag_at_block(c->diags, dg, c->block);
                const char *names[32] = {0};
                size_t n = 0;
                for (size_t k = 0; k < def->n_params && n < 32; k++)
                    names[n++] = def->params[k].name;
                for (size_t k = 0; k < def->n_inputs && n < 32; k++)
                    names[n++] = def->inputs[k].name;
                const char *s = lx_suggest(name, names, n);
                if (s && lx_block_input(def, s) >= 0)
                    lx_diag_help(c->diags, dg, "'%s' is an input: set it under \"inputs\"", s);
                else if (s)
                    lx_diag_help(c->diags, dg, "did you mean '%s'?", s);
                continue;
            }
            given[idx] = true;
            lx_param_parse(c, &def->params[idx], it, ptr, &vals[idx], value_domain);
        }
    }
    for (size_t i = 0; i < def->n_params; i++) {
        if (def->params[i].required && !vals[i].set && !given[i] && !c->params_elsewhere) {
            lx_diag_t *dg =
                lx_diags_add(c->diags, LX_DC_PT_014, "block '%s' of type '%s' needs parameter '%s'",
                             c->block, def->name, def->params[i].name);
            lx_diag_at_json(c->diags, dg, block_ptr);
            lx_diag_at_block(c->diags, dg, c->block);
        }
    }
    return vals;
}
