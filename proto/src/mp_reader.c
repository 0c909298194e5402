/* The bounds-checked msgpack reader (see mp_reader.h). */
#include "mp_reader.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const s_kind_names[] = {"an unsigned integer",
                                           "a negative integer",
                                           "a float",
                                           "a string",
                                           "a bin",
                                           "an array",
                                           "a map",
                                           "nil",
                                           "a bool",
                                           "an ext"};
static const char *const s_header_names[] = {"integer", "integer", "float", "string", "bin",
                                             "array",   "map",     "nil",   "bool",   "ext"};

lx_result_t lx_mp_reader_init(lx_mp_reader_t *r, const void *data, size_t len, size_t max,
                              const char *root, lx_error_t *err)
{
    if (len == 0)
        return lx_fail(err, LX_E_BADMSG, "%s: empty", root);
    if (!data)
        return lx_fail(err, LX_E_INVALID, "no input bytes");
    if (len > max)
        return lx_fail(err, LX_E_LIMIT, "%s of %zu bytes exceeds %zu", root, len, max);
    *r = (lx_mp_reader_t){.p = data,
                          .end = (const uint8_t *)data + len,
                          .err = err,
                          .root = root,
                          .index = LX_MP_NO_INDEX};
    return LX_OK;
}

const char *lx_mp_kind_name(lx_mp_kind_t kind)
{
    return (unsigned)kind < sizeof s_kind_names / sizeof s_kind_names[0] ? s_kind_names[kind]
                                                                         : "a value";
}

void lx_mp_where(const lx_mp_reader_t *r, const char *field, char *buf, size_t size)
{
    const char *dot = field ? "." : "";
    if (!field)
        field = "";
    if (r->table && r->index != LX_MP_NO_INDEX)
        snprintf(buf, size, "%s[%u]%s%s", r->table, r->index, dot, field);
    else if (r->table)
        snprintf(buf, size, "%s%s%s", r->table, dot, field);
    else
        snprintf(buf, size, "%s", *field ? field : r->root ? r->root : "value");
}

lx_result_t lx_mp_fail(const lx_mp_reader_t *r, const char *field, lx_result_t code,
                       const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char where[160];
    lx_mp_where(r, field, where, sizeof where);
    return lx_fail(r->err, code, "%s: %s", where, what);
}

const char *lx_mp_quote(const char *s, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        bool plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '\'';
        size_t need = plain ? 1 : 4;
        /* Room for this character, and for "..." if more follow. */
        if (o + need + (k + 1 < len ? 3 : 0) >= size) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (plain)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    }
    buf[o] = '\0';
    return buf;
}

static uint64_t s_be(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < n; k++)
        v = v << 8 | b[k];
    return v;
}

/* The width in bytes (0 = inside the type byte) that the shortest form of
 * an unsigned value, a negative value or a length would use. */
static unsigned s_uint_width(uint64_t v)
{
    return v < 128 ? 0 : v <= UINT8_MAX ? 1 : v <= UINT16_MAX ? 2 : v <= UINT32_MAX ? 4 : 8;
}

static unsigned s_nint_width(int64_t v)
{
    return v >= -32 ? 0 : v >= INT8_MIN ? 1 : v >= INT16_MIN ? 2 : v >= INT32_MIN ? 4 : 8;
}

static unsigned s_len_width(lx_mp_kind_t kind, uint64_t v)
{
    switch (kind) {
    case LX_MP_STR:
        return v < 32 ? 0 : v <= UINT8_MAX ? 1 : v <= UINT16_MAX ? 2 : 4;
    case LX_MP_BIN:
        return v <= UINT8_MAX ? 1 : v <= UINT16_MAX ? 2 : 4;
    default: /* array, map */
        return v < 16 ? 0 : v <= UINT16_MAX ? 2 : 4;
    }
}

lx_result_t lx_mp_next(lx_mp_reader_t *r, const char *field, lx_mp_token_t *t)
{
    if (r->p >= r->end)
        return lx_mp_fail(r, field, LX_E_BADMSG, "truncated");
    uint8_t b = *r->p;
    unsigned w = 0;     /* bytes of value or length after the type byte */
    unsigned extra = 0; /* further header bytes (an ext's type) */
    memset(t, 0, sizeof *t);
    if (b <= 0x7f) {
        t->kind = LX_MP_UINT, t->u = b;
    } else if (b >= 0xe0) {
        t->kind = LX_MP_NINT, t->i = (int8_t)b;
    } else if (b >= 0xa0 && b <= 0xbf) {
        t->kind = LX_MP_STR, t->u = b & 0x1f;
    } else if (b >= 0x90 && b <= 0x9f) {
        t->kind = LX_MP_ARRAY, t->u = b & 0x0f;
    } else if (b >= 0x80 && b <= 0x8f) {
        t->kind = LX_MP_MAP, t->u = b & 0x0f;
    } else {
        switch (b) {
        case 0xc0:
            t->kind = LX_MP_NIL;
            break;
        case 0xc2:
        case 0xc3:
            t->kind = LX_MP_BOOL, t->b = b == 0xc3;
            break;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            t->kind = LX_MP_UINT, w = 1u << (b - 0xcc);
            break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
            t->kind = LX_MP_NINT, w = 1u << (b - 0xd0);
            break;
        case 0xca:
            /* The IR's doubles are float64 only. */
            if (r->canonical)
                return lx_mp_fail(r, field, LX_E_BADMSG, "unexpected msgpack type 0x%02x", b);
            t->kind = LX_MP_FLOAT, w = 4;
            break;
        case 0xcb:
            t->kind = LX_MP_FLOAT, w = 8;
            break;
        case 0xd9:
        case 0xda:
        case 0xdb:
            t->kind = LX_MP_STR, w = 1u << (b - 0xd9);
            break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            t->kind = LX_MP_BIN, w = 1u << (b - 0xc4);
            break;
        case 0xdc:
        case 0xdd:
            t->kind = LX_MP_ARRAY, w = 2u << (b - 0xdc);
            break;
        case 0xde:
        case 0xdf:
            t->kind = LX_MP_MAP, w = 2u << (b - 0xde);
            break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
        case 0xc7:
        case 0xc8:
        case 0xc9:
            /* Nothing canonical carries an ext; messages may, in keys we skip. */
            if (r->canonical)
                return lx_mp_fail(r, field, LX_E_BADMSG, "unexpected msgpack type 0x%02x", b);
            t->kind = LX_MP_EXT, extra = 1;
            if (b >= 0xd4)
                t->u = 1u << (b - 0xd4);
            else
                w = 1u << (b - 0xc7);
            break;
        default:
            return lx_mp_fail(r, field, LX_E_BADMSG, "unexpected msgpack type 0x%02x", b);
        }
    }
    if (lx_mp_left(r) - 1 < w + extra)
        return lx_mp_fail(r, field, LX_E_BADMSG, "truncated");
    const uint8_t *q = r->p + 1;
    if (w) {
        uint64_t v = s_be(q, w);
        unsigned canon = w;
        switch (t->kind) {
        case LX_MP_UINT:
            t->u = v;
            canon = s_uint_width(v);
            break;
        case LX_MP_NINT:
            /* Sign-extend the w-byte two's complement value. */
            t->i =
                w == 8 ? (int64_t)v : (int64_t)(v ^ (1ull << (8 * w - 1))) - (1ll << (8 * w - 1));
            if (t->i >= 0) {
                if (r->canonical)
                    return lx_mp_fail(r, field, LX_E_BADMSG, "non-canonical integer encoding");
                t->kind = LX_MP_UINT, t->u = (uint64_t)t->i, t->i = 0;
            } else {
                canon = s_nint_width(t->i);
            }
            break;
        case LX_MP_FLOAT:
            if (w == 4) {
                uint32_t v32 = (uint32_t)v;
                float f;
                memcpy(&f, &v32, sizeof f);
                t->d = f;
            } else {
                memcpy(&t->d, &v, sizeof t->d);
            }
            break;
        default: /* lengths */
            t->u = v;
            if (t->kind != LX_MP_EXT)
                canon = s_len_width(t->kind, v);
            break;
        }
        if (r->canonical && canon != w)
            return lx_mp_fail(r, field, LX_E_BADMSG, "non-canonical %s encoding",
                              s_header_names[t->kind]);
    }
    r->p = q + w + extra;
    if ((t->kind == LX_MP_STR || t->kind == LX_MP_BIN || t->kind == LX_MP_EXT) &&
        t->u > lx_mp_left(r))
        return lx_mp_fail(r, field, LX_E_BADMSG, "%s of %llu bytes but only %zu bytes left",
                          s_header_names[t->kind], (unsigned long long)t->u, lx_mp_left(r));
    return LX_OK;
}

lx_result_t lx_mp_expect(lx_mp_reader_t *r, const char *field, lx_mp_kind_t kind, lx_mp_token_t *t)
{
    lx_result_t rc = lx_mp_next(r, field, t);
    if (rc != LX_OK)
        return rc;
    if (t->kind != kind) {
        if (kind == LX_MP_UINT && t->kind == LX_MP_NINT)
            return lx_mp_fail(r, field, LX_E_BADMSG, "negative value %lld", (long long)t->i);
        return lx_mp_fail(r, field, LX_E_BADMSG, "expected %s, found %s", s_kind_names[kind],
                          s_kind_names[t->kind]);
    }
    return LX_OK;
}

lx_result_t lx_mp_uint(lx_mp_reader_t *r, const char *field, uint64_t max, uint64_t *out)
{
    lx_mp_token_t t;
    lx_result_t rc = lx_mp_expect(r, field, LX_MP_UINT, &t);
    if (rc != LX_OK)
        return rc;
    if (t.u > max)
        return lx_mp_fail(r, field, LX_E_BADMSG, "value %llu exceeds %llu", (unsigned long long)t.u,
                          (unsigned long long)max);
    *out = t.u;
    return LX_OK;
}

lx_result_t lx_mp_i64(lx_mp_reader_t *r, const char *field, int64_t *out)
{
    lx_mp_token_t t;
    lx_result_t rc = lx_mp_next(r, field, &t);
    if (rc != LX_OK)
        return rc;
    if (t.kind == LX_MP_NINT) {
        *out = t.i;
        return LX_OK;
    }
    if (t.kind != LX_MP_UINT)
        return lx_mp_fail(r, field, LX_E_BADMSG, "expected an integer, found %s",
                          s_kind_names[t.kind]);
    if (t.u > INT64_MAX)
        return lx_mp_fail(r, field, LX_E_BADMSG, "value %llu exceeds %lld", (unsigned long long)t.u,
                          (long long)INT64_MAX);
    *out = (int64_t)t.u;
    return LX_OK;
}

lx_result_t lx_mp_f64(lx_mp_reader_t *r, const char *field, double *out)
{
    lx_mp_token_t t;
    lx_result_t rc = lx_mp_next(r, field, &t);
    if (rc != LX_OK)
        return rc;
    /* Packers in languages with one number type (JavaScript) write whole
     * numbers as integers. */
    if (t.kind == LX_MP_FLOAT)
        *out = t.d;
    else if (!r->canonical && t.kind == LX_MP_UINT)
        *out = (double)t.u;
    else if (!r->canonical && t.kind == LX_MP_NINT)
        *out = (double)t.i;
    else
        return lx_mp_fail(r, field, LX_E_BADMSG, "expected a float, found %s",
                          s_kind_names[t.kind]);
    return LX_OK;
}

lx_result_t lx_mp_str_view(lx_mp_reader_t *r, const char *field, uint64_t max, const char **s,
                           size_t *len)
{
    lx_mp_token_t t;
    lx_result_t rc = lx_mp_expect(r, field, LX_MP_STR, &t);
    if (rc != LX_OK)
        return rc;
    if (t.u > max)
        return lx_mp_fail(r, field, LX_E_LIMIT, "string of %llu bytes exceeds %llu",
                          (unsigned long long)t.u, (unsigned long long)max);
    if (memchr(r->p, 0, (size_t)t.u))
        return lx_mp_fail(r, field, LX_E_BADMSG, "string contains a NUL byte");
    *s = (const char *)r->p;
    *len = (size_t)t.u;
    r->p += t.u;
    return LX_OK;
}

lx_result_t lx_mp_str(lx_mp_reader_t *r, const char *field, uint64_t max, const char **out)
{
    const char *s = NULL;
    size_t len = 0;
    lx_result_t rc = lx_mp_str_view(r, field, max, &s, &len);
    if (rc != LX_OK)
        return rc;
    *out = lx_arena_strndup(r->arena, s, len);
    return *out ? LX_OK : lx_fail(r->err, LX_E_NOMEM, "out of memory");
}

lx_result_t lx_mp_count(lx_mp_reader_t *r, const char *field, lx_mp_kind_t kind, uint64_t max,
                        size_t min_entry, uint32_t *n)
{
    lx_mp_token_t t;
    lx_result_t rc = lx_mp_expect(r, field, kind, &t);
    if (rc != LX_OK)
        return rc;
    if (t.u > max)
        return lx_mp_fail(r, field, LX_E_LIMIT, "%llu entries exceed %llu", (unsigned long long)t.u,
                          (unsigned long long)max);
    if (t.u > lx_mp_left(r) / (min_entry ? min_entry : 1))
        return lx_mp_fail(r, field, LX_E_BADMSG, "%llu entries cannot fit in the %zu bytes left",
                          (unsigned long long)t.u, lx_mp_left(r));
    *n = (uint32_t)t.u;
    return LX_OK;
}

lx_result_t lx_mp_skip(lx_mp_reader_t *r, const char *field, unsigned depth)
{
    lx_mp_token_t t;
    lx_result_t rc = lx_mp_next(r, field, &t);
    if (rc != LX_OK)
        return rc;
    switch (t.kind) {
    case LX_MP_STR:
    case LX_MP_BIN:
    case LX_MP_EXT:
        r->p += t.u; /* in bounds: lx_mp_next checked it */
        return LX_OK;
    case LX_MP_ARRAY:
    case LX_MP_MAP:
        break;
    default:
        return LX_OK;
    }
    if (depth == 0)
        return lx_mp_fail(r, field, LX_E_LIMIT, "values nested too deeply");
    /* Each value takes at least one byte, so a count the bytes left cannot
     * hold is refused before the loop, and the loop is bounded by them. */
    uint64_t values = t.kind == LX_MP_MAP ? 2 * t.u : t.u;
    if (values > lx_mp_left(r))
        return lx_mp_fail(r, field, LX_E_BADMSG,
                          "%s of %llu entries cannot fit in the %zu bytes left",
                          s_header_names[t.kind], (unsigned long long)t.u, lx_mp_left(r));
    for (uint64_t k = 0; k < values; k++) {
        rc = lx_mp_skip(r, field, depth - 1);
        if (rc != LX_OK)
            return rc;
    }
    return LX_OK;
}
