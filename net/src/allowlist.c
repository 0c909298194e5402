/* The allow-list (see allowlist.h). */
#include "lattice/allowlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/files.h"

enum { ALLOW_MAX_BYTES = 16 << 20 };

struct lx_allowlist {
    lx_allow_entry_t *v; /* sorted by key */
    size_t n;
    char *text; /* the labels point into it */
};

static const char *const s_roles[] = {"worker", "client", "admin"};

const char *lx_allow_role_name(lx_allow_role_t role)
{
    return (unsigned)role < 3 ? s_roles[role] : "?";
}

bool lx_allow_role_parse(const char *name, lx_allow_role_t *out)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(name, s_roles[k]) == 0) {
            *out = (lx_allow_role_t)k;
            return true;
        }
    return false;
}

static int s_cmp(const void *a, const void *b)
{
    const lx_allow_entry_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    /* Equal keys in line order, so that the later line is the one named. */
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static bool s_blank(char c) { return c == ' ' || c == '\t'; }

/* The next blank-separated word of *p (NUL-terminated in place); "" at the
 * end of the line. */
static char *s_word(char **p)
{
    char *s = *p;
    while (s_blank(*s))
        s++;
    char *w = s;
    while (*s && !s_blank(*s))
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return w;
}

/* Records the problem, frees the list, returns NULL: one line per error. */
#define FAIL(...) (lx_fail(err, __VA_ARGS__), lx_allowlist_destroy(&l), (lx_allowlist_t *)NULL)

lx_allowlist_t *lx_allowlist_parse(const char *text, size_t len, const char *name,
                                   lx_error_t *err)
{
    lx_allowlist_t *l = calloc(1, sizeof *l);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (l)
        l->text = malloc(len + 1);
    if (l && l->text)
        l->v = calloc(lines, sizeof *l->v);
    if (!l || !l->text || !l->v)
        return FAIL(LX_E_NOMEM, "%s: out of memory", name);
    memcpy(l->text, text, len);
    l->text[len] = '\0';
    size_t nul = strlen(l->text);
    if (nul != len) {
        unsigned at = 1;
        for (size_t i = 0; i < nul; i++)
            at += text[i] == '\n';
        return FAIL(LX_E_PARSE, "%s:%u: a NUL byte (not a text file)", name, at);
    }
    unsigned line = 0;
    for (char *p = l->text; *p;) {
        char *nl = strchr(p, '\n');
        char *next = nl ? nl + 1 : p + strlen(p);
        if (nl)
            *nl = '\0';
        line++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == '\r' || s_blank(end[-1])))
            *--end = '\0';
        char *rest = p;
        char *role = s_word(&rest);
        if (!*role || *role == '#') {
            p = next;
            continue;
        }
        lx_allow_entry_t *e = &l->v[l->n];
        if (!lx_allow_role_parse(role, &e->role))
            return FAIL(LX_E_PARSE,
                        "%s:%u: unknown role '%.40s' (worker, client or admin)", name, line,
                          role);
        char *key = s_word(&rest);
        if (!*key)
            return FAIL(LX_E_PARSE, "%s:%u: %s needs a key (ROLE KEY [label])", name,
                          line, role);
        if (!lx_curve_key_valid(key))
            return FAIL(LX_E_PARSE, "%s:%u: '%.60s' is not a 40-character Z85 key",
                          name, line, key);
        while (s_blank(*rest))
            rest++;
        memcpy(e->key, key, LX_CURVE_KEY_CHARS + 1);
        e->label = rest;
        e->line = line;
        l->n++;
        p = next;
    }
    qsort(l->v, l->n, sizeof *l->v, s_cmp);
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(l->v[i - 1].key, l->v[i].key) == 0) {
            return FAIL(LX_E_PARSE, "%s:%u: the key is already listed on line %u", name,
                        l->v[i].line, l->v[i - 1].line);
        }
    return l;
}

lx_allowlist_t *lx_allowlist_load(const char *path, lx_error_t *err)
{
    size_t len = 0;
    char *text = lx_read_file(path, ALLOW_MAX_BYTES, &len, lx_alloc_default());
    if (!text) {
        lx_fail(err, LX_E_IO, "cannot read allow-list '%s': %s", path,
                errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
        return NULL;
    }
    lx_allowlist_t *l = lx_allowlist_parse(text, len, path, err);
    lx_free(lx_alloc_default(), text);
    return l;
}

const lx_allow_entry_t *lx_allowlist_find(const lx_allowlist_t *l, const char *key)
{
    if (!l || !key)
        return NULL;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, l->v[mid].key);
        if (c == 0)
            return &l->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t lx_allowlist_count(const lx_allowlist_t *l, lx_allow_role_t role)
{
    size_t n = 0;
    for (size_t i = 0; l && i < l->n; i++)
        n += l->v[i].role == role;
    return n;
}

void lx_allowlist_destroy(lx_allowlist_t **l_p)
{
    if (!*l_p)
        return;
    free((*l_p)->v);
    free((*l_p)->text);
    free(*l_p);
    *l_p = NULL;
}
