/* Cluster messages (lattice/msg.h): driven by the descriptor tables, so a
 * field added to msg.h is round-tripped, refused when missing, disallowed
 * or over its limit, without a line here.
 *
 *   round trips    every type x four variants of generated values (typical,
 *                  at the maxima, minimal, mixed edge values): encode,
 *                  decode, deep-compare, re-encode to the same bytes, and
 *                  encode twice to the same bytes; standard msgpack.
 *   refusals       missing required and disallowed fields, over-limit
 *                  values of every kind, bad HEX/ID/PATH, wrong proto,
 *                  unknown type, duplicate keys, every truncation, lengths
 *                  claiming 2^32 entries (without allocating for them),
 *                  nesting, and allocation failures — with exact codes.
 *   wire format    messages assembled byte by byte (HELLO, FRAME, READY),
 *                  and the lenient forms other packers write.
 *
 *   docs           docs/protocol.md holds the tables generated from msg.h.
 *
 * `test_msg --write-corpus DIR` writes the seed corpus of fuzz_msg_decode
 * (typical, minimal and mixed messages of every type, hand-assembled and
 * malformed ones); `test_msg --doc-tables` prints docs/protocol.md's
 * field, type and record tables. */
#include <msgpack.h>
#include <time.h>

#include "lattice/msg.h"
#include "test.h"
#include "test_alloc.h"

#define BIG (1u << 20) /* longest generated text or bin; larger maxima are tested alone */

typedef enum { V_TYPICAL, V_MAX, V_MIN, V_MIXED, V_COUNT } variant_t;
static const char *const s_variant_names[] = {"typical", "max", "min", "mixed"};

static double s_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t s_min_u(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ---- generated values ------------------------------------------------- */

/* A valid text of exactly len bytes for the kind. */
static char *s_text(lx_arena_t *a, lx_field_kind_t kind, uint64_t len, unsigned seed, variant_t v)
{
    static const char name_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    static const char hex[] = "0123456789abcdef";
    char *s = lx_arena_calloc(a, len + 1, 1);
    for (uint64_t k = 0; k < len; k++) {
        unsigned c = (unsigned)(k + seed);
        switch (kind) {
        case LX_FK_HEX:
            s[k] = hex[c % 16];
            break;
        case LX_FK_ID:
            /* Starts with a letter: never "." or "..". */
            s[k] = k == 0 ? (char)('a' + c % 26) : name_chars[c % (sizeof name_chars - 1)];
            break;
        case LX_FK_PATH:
            /* Components of up to seven characters, each starting with a
             * letter; never a '/' first or last. */
            if (k % 8 == 7 && k + 1 < len)
                s[k] = '/';
            else if (k % 8 == 0)
                s[k] = (char)('A' + c % 26);
            else
                s[k] = name_chars[c % (sizeof name_chars - 1)];
            break;
        default:
            /* Mixed texts carry UTF-8, quotes and spaces. */
            if (v == V_MIXED && k + 1 < len && k % 5 == 0) {
                s[k] = '\xc3', s[k + 1] = '\xa9'; /* é */
                k++;
            } else {
                s[k] = v == V_MIXED ? " \"'\\{}x"[c % 7] : (char)('a' + c % 26);
            }
            break;
        }
    }
    return s;
}

static void s_fill_rec(lx_arena_t *a, const lx_rec_desc_t *d, void *base, variant_t v,
                       unsigned seed);

/* A valid value of field f for the variant, written to p. */
static void s_fill(lx_arena_t *a, const lx_field_desc_t *f, void *p, variant_t v, unsigned seed)
{
    switch (f->kind) {
    case LX_FK_U64:
        *(uint64_t *)p = v == V_MAX     ? f->max
                         : v == V_MIN   ? 0
                         : v == V_MIXED ? (f->max == UINT64_MAX ? (1ull << 32) + seed : f->max / 3)
                                        : s_min_u(f->max, 100 + seed);
        break;
    case LX_FK_I64:
        *(int64_t *)p = v == V_MAX     ? (int64_t)f->max
                        : v == V_MIN   ? -(int64_t)f->max
                        : v == V_MIXED ? -1 - 1000 * (int64_t)seed
                                       : 42 + (int64_t)seed;
        break;
    case LX_FK_F64: {
        static const uint64_t mixed[] = {
            0x7ff8000000000123ull /* NaN, payload kept */, 0x7ff0000000000000ull /* +inf */,
            0xfff0000000000000ull /* -inf */, 0x0000000000000001ull /* denormal */};
        *(double *)p = v == V_MAX     ? s_bits(0x7fefffffffffffffull)
                       : v == V_MIN   ? s_bits(0x8000000000000000ull) /* -0.0 */
                       : v == V_MIXED ? s_bits(mixed[seed % 4])
                                      : 12.5 + seed;
        break;
    }
    case LX_FK_BOOL:
        *(bool *)p = v != V_MIN;
        break;
    case LX_FK_STR:
    case LX_FK_ID:
    case LX_FK_HEX:
    case LX_FK_PATH: {
        uint64_t len = f->kind == LX_FK_HEX ? f->max
                       : v == V_MAX         ? s_min_u(f->max, BIG)
                       : v == V_MIN         ? (f->kind == LX_FK_STR ? 0 : 1)
                       : v == V_MIXED       ? s_min_u(f->max, 40)
                                            : s_min_u(f->max, 8 + seed % 5);
        *(const char **)p = s_text(a, f->kind, len, seed, v);
        break;
    }
    case LX_FK_BIN: {
        lx_bytes_t *b = p;
        b->len = v == V_MAX ? s_min_u(f->max, BIG) : v == V_MIN ? 0 : v == V_MIXED ? 300 : 16;
        uint8_t *d = b->len ? lx_arena_calloc(a, b->len, 1) : NULL;
        for (size_t k = 0; k < b->len; k++)
            d[k] = (uint8_t)(k * 7 + seed);
        b->data = d;
        break;
    }
    case LX_FK_I64S:
    case LX_FK_U64S:
    case LX_FK_F64S: {
        static const uint64_t ends[] = {
            0,         1,         127,   128,        255,
            256,       65535,     65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
            INT64_MAX, UINT64_MAX};
        uint32_t n = (uint32_t)(v == V_MAX     ? s_min_u(f->max, 65536)
                                : v == V_MIN   ? 0
                                : v == V_MIXED ? 1
                                               : s_min_u(f->max, 3));
        /* All three list structs are {pointer to 8-byte elements, n}. */
        lx_u64s_t *l = p;
        l->n = n;
        l->v = n ? lx_arena_calloc(a, n, 8) : NULL;
        for (uint32_t k = 0; k < n; k++) {
            uint64_t e = ends[(k + seed) % (sizeof ends / sizeof ends[0])];
            if (f->kind == LX_FK_I64S) {
                int64_t i = (int64_t)(e > INT64_MAX ? INT64_MAX : e);
                ((int64_t *)l->v)[k] = k % 2 ? -i : i;
            } else if (f->kind == LX_FK_F64S) {
                ((double *)l->v)[k] =
                    v == V_MIXED ? s_bits(0x7ff8000000000456ull) : (double)k * 0.25 - 1.0;
            } else {
                l->v[k] = e;
            }
        }
        break;
    }
    case LX_FK_RECS: {
        const lx_rec_desc_t *d = f->record;
        lx_file_recs_t *l = p; /* all record arrays are {pointer, n} */
        l->n = v == V_MIN ? 1 : v == V_MIXED ? 4 : 2;
        l->v = lx_arena_calloc(a, l->n, d->size);
        for (uint32_t k = 0; k < l->n; k++)
            s_fill_rec(a, d, (char *)l->v + k * d->size, v, seed + 3 * k);
        break;
    }
    }
}

/* Required fields always; optional ones all (typical, max), none (min), or
 * every other one, alternating between records (mixed). */
static void s_fill_rec(lx_arena_t *a, const lx_rec_desc_t *d, void *base, variant_t v,
                       unsigned seed)
{
    uint64_t *has = base;
    *has = 0;
    for (uint32_t i = 0; i < d->n_fields; i++) {
        bool req = d->required >> i & 1;
        if (!req && (v == V_MIN || (v == V_MIXED && (i + seed) % 2)))
            continue;
        s_fill(a, &d->fields[i], (char *)base + d->fields[i].offset, v, seed + i);
        *has |= 1ull << i;
    }
}

/* A message of the type: every field it may carry (its required ones only
 * for V_MIN) with the variant's values. */
static void s_fill_msg(lx_arena_t *a, lx_msg_type_t type, variant_t v, lx_msg_t *m)
{
    const lx_rec_desc_t *d = lx_msg_fields();
    uint64_t may = 0, must = 0;
    memset(m, 0, sizeof *m);
    m->type = type;
    lx_msg_type_fields(type, &may, &must);
    uint64_t want = v == V_MIN ? must : may;
    for (uint32_t i = 0; i < d->n_fields; i++)
        if (want >> i & 1) {
            s_fill(a, &d->fields[i], (char *)m + d->fields[i].offset, v, (unsigned)(type * 7 + i));
            m->has |= 1ull << i;
        }
}

/* ---- deep comparison -------------------------------------------------- */

static bool s_same_fields(const lx_rec_desc_t *d, const void *a, const void *b, uint64_t has,
                          const char *where);

static bool s_same_value(const lx_field_desc_t *f, const void *a, const void *b, const char *where)
{
    bool same = true;
    switch (f->kind) {
    case LX_FK_U64:
    case LX_FK_I64:
    case LX_FK_F64: /* bitwise: NaN payloads and -0.0 travel */
        same = memcmp(a, b, 8) == 0;
        break;
    case LX_FK_BOOL:
        same = *(const bool *)a == *(const bool *)b;
        break;
    case LX_FK_STR:
    case LX_FK_ID:
    case LX_FK_HEX:
    case LX_FK_PATH: {
        const char *x = *(const char *const *)a, *y = *(const char *const *)b;
        same = x && y && strcmp(x, y) == 0;
        break;
    }
    case LX_FK_BIN: {
        const lx_bytes_t *x = a, *y = b;
        same = x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
        break;
    }
    case LX_FK_I64S:
    case LX_FK_U64S:
    case LX_FK_F64S: {
        const lx_u64s_t *x = a, *y = b;
        same = x->n == y->n && (x->n == 0 || memcmp(x->v, y->v, 8ull * x->n) == 0);
        break;
    }
    case LX_FK_RECS: {
        const lx_file_recs_t *x = a, *y = b;
        const lx_rec_desc_t *d = f->record;
        same = x->n == y->n;
        for (uint32_t k = 0; same && k < x->n; k++) {
            const void *ra = (const char *)x->v + k * d->size,
                       *rb = (const char *)y->v + k * d->size;
            char w[160];
            snprintf(w, sizeof w, "%s.%s[%u]", where, f->name, k);
            same = *(const uint64_t *)ra == *(const uint64_t *)rb &&
                   s_same_fields(d, ra, rb, *(const uint64_t *)ra, w);
        }
        break;
    }
    }
    if (!same)
        fprintf(stderr, "  differs: %s.%s\n", where, f->name);
    return same;
}

static bool s_same_fields(const lx_rec_desc_t *d, const void *a, const void *b, uint64_t has,
                          const char *where)
{
    bool same = true;
    for (uint32_t i = 0; i < d->n_fields; i++)
        if (has >> i & 1)
            same &= s_same_value(&d->fields[i], (const char *)a + d->fields[i].offset,
                                 (const char *)b + d->fields[i].offset, where);
    return same;
}

static bool s_same_msg(const lx_msg_t *a, const lx_msg_t *b)
{
    return a->type == b->type && a->has == b->has &&
           s_same_fields(lx_msg_fields(), a, b, a->has, lx_msg_type_name(a->type));
}

/* ---- helpers ---------------------------------------------------------- */

static bool s_encode(const lx_msg_t *m, lx_strbuf_t *sb, const char *label)
{
    lx_strbuf_init(sb, NULL);
    lx_error_t err = {0};
    lx_result_t rc = lx_msg_encode(m, sb, &err);
    CHECK_MSG(rc == LX_OK, "%s: encode: %s: %s", label, lx_error_name(rc), err.message);
    return rc == LX_OK;
}

/* A message filled with one variant, the arena holding its values, and
 * its encoding: s_filled, then s_filled_release. */
typedef struct {
    lx_arena_t vals;
    lx_msg_t m;
    lx_strbuf_t enc;
} filled_t;

static void s_filled_release(filled_t *fx)
{
    lx_strbuf_release(&fx->enc);
    lx_arena_release(&fx->vals);
}

/* Fills fx->m as a message of type t with variant v and encodes it. False,
 * with nothing to release and a failed check, when it does not encode. */
static bool s_filled(filled_t *fx, lx_msg_type_t t, variant_t v)
{
    lx_arena_init(&fx->vals, NULL);
    s_fill_msg(&fx->vals, t, v, &fx->m);
    if (s_encode(&fx->m, &fx->enc, lx_msg_type_name(t)))
        return true;
    s_filled_release(fx);
    return false;
}

static bool s_same_bytes(const lx_strbuf_t *a, const lx_strbuf_t *b)
{
    return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/* Decodes with a counting allocator and checks the contract of a refusal:
 * the code, the message's beginning, a zeroed message, nothing leaked.
 * The bytes the decode allocated and the seconds it took go to *bytes and
 * *secs unless they are NULL. */
static void s_refused_cost(const void *data, size_t len, lx_result_t want, const char *prefix,
                           const char *label, size_t *bytes, double *secs)
{
    counter_t c = {0, -1, 0, 0, 0, 0};
    lx_alloc_t al = t_alloc_of(&c);
    lx_arena_t arena;
    lx_arena_init(&arena, &al);
    lx_msg_t m;
    lx_error_t err = {0};
    clock_t t0 = clock();
    lx_result_t rc = lx_msg_decode(data, len, &arena, &m, &err);
    if (secs)
        *secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (bytes)
        *bytes = c.total;
    CHECK_MSG(rc == want, "%s: decode gave %s, expected %s (%s)", label, lx_error_name(rc),
              lx_error_name(want), err.message);
    CHECK_MSG(strncmp(err.message, prefix, strlen(prefix)) == 0, "%s: message '%s', expected '%s'",
              label, err.message, prefix);
    if (rc != LX_OK)
        CHECK_MSG(m.type == LX_MSG_NONE && m.has == 0, "%s: a refused message is not zeroed",
                  label);
    lx_arena_release(&arena);
    CHECK_MSG(c.live_blocks == 0, "%s: %ld blocks leaked", label, c.live_blocks);
}

static void s_refused(const void *data, size_t len, lx_result_t want, const char *prefix,
                      const char *label)
{
    s_refused_cost(data, len, want, prefix, label, NULL, NULL);
}

static void s_encode_refused(const lx_msg_t *m, lx_result_t want, const char *prefix,
                             const char *label)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_strbuf_adds(&sb, "keep");
    lx_error_t err = {0};
    lx_result_t rc = lx_msg_encode(m, &sb, &err);
    CHECK_MSG(rc == want, "%s: encode gave %s, expected %s (%s)", label, lx_error_name(rc),
              lx_error_name(want), err.message);
    CHECK_MSG(strncmp(err.message, prefix, strlen(prefix)) == 0, "%s: message '%s', expected '%s'",
              label, err.message, prefix);
    CHECK_MSG(sb.len == 4 && strcmp(sb.buf, "keep") == 0, "%s: a refused encoding appended", label);
    lx_strbuf_release(&sb);
}

/* Assembles bytes from a readable spec: hex byte pairs and 'quoted text',
 * separated by spaces. */
static void s_asm(lx_strbuf_t *sb, const char *spec)
{
    for (const char *p = spec; *p;) {
        if (*p == ' ') {
            p++;
        } else if (*p == '\'') {
            const char *q = strchr(p + 1, '\'');
            lx_strbuf_add(sb, p + 1, (size_t)(q - p - 1));
            p = q + 1;
        } else {
            char h[3] = {p[0], p[1], 0};
            char b = (char)strtoul(h, NULL, 16);
            lx_strbuf_add(sb, &b, 1);
            p += 2;
        }
    }
}

/* ---- msgpack-c objects, for tampering with our own (trusted) bytes ---- */

static int s_sb_write(void *data, const char *buf, size_t len)
{
    lx_strbuf_add(data, buf, len);
    return 0;
}

static void s_repack(const msgpack_object *o, lx_strbuf_t *out)
{
    lx_strbuf_init(out, NULL);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_sb_write);
    msgpack_pack_object(&pk, *o);
}

/* s_refused on the bytes msgpack-c packs o into. */
static void s_repacked_refused(const msgpack_object *o, lx_result_t want, const char *prefix,
                               const char *label)
{
    lx_strbuf_t sb;
    s_repack(o, &sb);
    s_refused(sb.buf, sb.len, want, prefix, label);
    lx_strbuf_release(&sb);
}

static bool s_unpack(const lx_strbuf_t *sb, msgpack_unpacked *u)
{
    msgpack_unpacked_init(u);
    size_t off = 0;
    bool ok = msgpack_unpack_next(u, sb->buf, sb->len, &off) == MSGPACK_UNPACK_SUCCESS &&
              off == sb->len && u->data.type == MSGPACK_OBJECT_MAP;
    CHECK_MSG(ok, "msgpack-c cannot read our bytes");
    return ok;
}

static msgpack_object s_str_obj(const char *s, size_t len)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)len;
    return o;
}

static msgpack_object s_uint_obj(uint64_t v)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    o.via.u64 = v;
    return o;
}

static msgpack_object s_int_obj(int64_t v)
{
    if (v >= 0)
        return s_uint_obj((uint64_t)v);
    msgpack_object o = {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER};
    o.via.i64 = v;
    return o;
}

static msgpack_object s_array_obj(msgpack_zone *z, uint32_t n, msgpack_object each)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_ARRAY};
    o.via.array.size = n;
    o.via.array.ptr = msgpack_zone_malloc(z, (n ? n : 1) * sizeof(msgpack_object));
    for (uint32_t k = 0; k < n; k++)
        o.via.array.ptr[k] = each;
    return o;
}

static msgpack_object *s_key(msgpack_object *map, const char *key)
{
    for (uint32_t k = 0; k < map->via.map.size; k++) {
        msgpack_object *kk = &map->via.map.ptr[k].key;
        if (kk->type == MSGPACK_OBJECT_STR && kk->via.str.size == strlen(key) &&
            memcmp(kk->via.str.ptr, key, kk->via.str.size) == 0)
            return &map->via.map.ptr[k].val;
    }
    return NULL;
}

static void s_remove_key(msgpack_object *map, const char *key)
{
    msgpack_object *v = s_key(map, key);
    if (!v)
        return;
    msgpack_object_kv *kv = (msgpack_object_kv *)((char *)v - offsetof(msgpack_object_kv, val));
    size_t at = (size_t)(kv - map->via.map.ptr);
    memmove(kv, kv + 1, (map->via.map.size - at - 1) * sizeof *kv);
    map->via.map.size--;
}

static void s_add_pair(msgpack_object *map, msgpack_zone *z, msgpack_object key, msgpack_object val)
{
    uint32_t n = map->via.map.size;
    msgpack_object_kv *kv = msgpack_zone_malloc(z, (n + 1) * sizeof *kv);
    if (n)
        memcpy(kv, map->via.map.ptr, n * sizeof *kv);
    kv[n].key = key;
    kv[n].val = val;
    map->via.map.ptr = kv;
    map->via.map.size = n + 1;
}

static void s_add(msgpack_object *map, msgpack_zone *z, const char *key, msgpack_object val)
{
    s_add_pair(map, z, s_str_obj(key, strlen(key)), val);
}

/* ---- round trips ------------------------------------------------------ */

/* Keys in the order of the encoding: proto, type, then the table's. */
static void s_check_wire_order(const lx_strbuf_t *enc, const lx_msg_t *m, const char *label)
{
    msgpack_unpacked u;
    if (!s_unpack(enc, &u)) {
        msgpack_unpacked_destroy(&u);
        return;
    }
    const msgpack_object_map *map = &u.data.via.map;
    const lx_rec_desc_t *d = lx_msg_fields();
    bool ok = map->size >= 2 && map->ptr[0].key.via.str.size == 5 &&
              memcmp(map->ptr[0].key.via.str.ptr, "proto", 5) == 0 &&
              map->ptr[0].val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
              map->ptr[0].val.via.u64 == 1 && map->ptr[1].key.via.str.size == 4 &&
              memcmp(map->ptr[1].key.via.str.ptr, "type", 4) == 0 &&
              map->ptr[1].val.via.str.size == strlen(lx_msg_type_name(m->type)) &&
              memcmp(map->ptr[1].val.via.str.ptr, lx_msg_type_name(m->type),
                     map->ptr[1].val.via.str.size) == 0;
    uint32_t at = 2;
    for (uint32_t i = 0; ok && i < d->n_fields; i++)
        if (m->has >> i & 1)
            ok = at < map->size && map->ptr[at].key.via.str.size == strlen(d->fields[i].name) &&
                 memcmp(map->ptr[at++].key.via.str.ptr, d->fields[i].name,
                        strlen(d->fields[i].name)) == 0;
    CHECK_MSG(ok && at == map->size, "%s: keys not proto, type, then table order", label);
    /* msgpack-c packs what it read back to the same bytes: standard msgpack. */
    lx_strbuf_t again;
    s_repack(&u.data, &again);
    CHECK_MSG(s_same_bytes(&again, enc), "%s: msgpack-c repacks differently", label);
    lx_strbuf_release(&again);
    msgpack_unpacked_destroy(&u);
}

static void s_round_trip(const lx_msg_t *m, const char *label)
{
    lx_strbuf_t a, b, c;
    if (!s_encode(m, &a, label) || !s_encode(m, &b, label)) {
        lx_strbuf_release(&a);
        lx_strbuf_release(&b);
        return;
    }
    CHECK_MSG(s_same_bytes(&a, &b), "%s: encoding twice differs", label);
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_msg_t d;
    lx_error_t err = {0};
    lx_result_t rc = lx_msg_decode(a.buf, a.len, &arena, &d, &err);
    CHECK_MSG(rc == LX_OK, "%s: decode: %s: %s", label, lx_error_name(rc), err.message);
    if (rc == LX_OK) {
        CHECK_MSG(s_same_msg(m, &d), "%s: decoded message differs", label);
        /* Bins are borrowed from the input. */
        const lx_rec_desc_t *fd = lx_msg_fields();
        for (uint32_t i = 0; i < fd->n_fields; i++)
            if (fd->fields[i].kind == LX_FK_BIN && (d.has >> i & 1)) {
                const lx_bytes_t *bin = (const void *)((char *)&d + fd->fields[i].offset);
                CHECK(bin->len == 0 || ((const char *)bin->data >= a.buf &&
                                        (const char *)bin->data + bin->len <= a.buf + a.len));
            }
        if (s_encode(&d, &c, label))
            CHECK_MSG(s_same_bytes(&a, &c), "%s: re-encoding differs", label);
        lx_strbuf_release(&c);
    }
    s_check_wire_order(&a, m, label);
    lx_arena_release(&arena);
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
}

static void test_round_trips(void)
{
    size_t n = 0;
    for (int t = LX_MSG_NONE + 1; t < LX_MSG_TYPE_COUNT_; t++)
        for (int v = 0; v < V_COUNT; v++) {
            lx_arena_t vals;
            lx_arena_init(&vals, NULL);
            lx_msg_t m;
            s_fill_msg(&vals, (lx_msg_type_t)t, (variant_t)v, &m);
            char label[64];
            snprintf(label, sizeof label, "%s/%s", lx_msg_type_name((lx_msg_type_t)t),
                     s_variant_names[v]);
            s_round_trip(&m, label);
            lx_arena_release(&vals);
            n++;
        }
    printf("%zu round trips (%d types x %d variants)\n", n, LX_MSG_TYPE_COUNT_ - 1, V_COUNT);

    /* The longest patch a SUBMIT may carry (64 MiB), once. */
    const lx_field_desc_t *patch = &lx_msg_fields()->fields[LX_MF_patch];
    lx_arena_t vals;
    lx_arena_init(&vals, NULL);
    lx_msg_t m;
    s_fill_msg(&vals, LX_MSG_SUBMIT, V_MIN, &m);
    m.patch = s_text(&vals, LX_FK_STR, patch->max, 1, V_TYPICAL);
    s_round_trip(&m, "SUBMIT/64 MiB patch");
    lx_arena_release(&vals);
}

/* ---- the tables and the small API ------------------------------------ */

/* The size of a member of the field's kind. */
static size_t s_member_size(const lx_field_desc_t *f)
{
    switch (f->kind) {
    case LX_FK_BOOL:
        return sizeof(bool);
    case LX_FK_STR:
    case LX_FK_ID:
    case LX_FK_HEX:
    case LX_FK_PATH:
        return sizeof(const char *);
    case LX_FK_BIN:
        return sizeof(lx_bytes_t);
    case LX_FK_I64S:
    case LX_FK_U64S:
    case LX_FK_F64S:
        return sizeof(lx_u64s_t);
    case LX_FK_RECS:
        return sizeof(lx_file_recs_t);
    default:
        return 8;
    }
}

static lx_msg_type_t s_carrier(uint32_t field)
{
    for (int t = LX_MSG_NONE + 1; t < LX_MSG_TYPE_COUNT_; t++) {
        uint64_t may;
        lx_msg_type_fields((lx_msg_type_t)t, &may, NULL);
        if (may >> field & 1)
            return (lx_msg_type_t)t;
    }
    return LX_MSG_NONE;
}

static void test_tables(void)
{
    const lx_rec_desc_t *d = lx_msg_fields();
    CHECK_EQ_STR(d->name, "message");
    CHECK_EQ_INT(d->n_fields, LX_MF_COUNT_);
    CHECK_EQ_STR(d->fields[LX_MF_files].name, "files");
    CHECK_EQ_STR(d->fields[LX_MF_files].record->name, "file");
    CHECK_EQ_INT(d->fields[LX_MF_files].record->required, LX_FILE_REC_REQUIRED);
    CHECK_EQ_INT(d->fields[LX_MF_program_hash].max, 64);
    /* Every field is carried by some type (else it is dead weight). */
    for (uint32_t i = 0; i < d->n_fields; i++)
        CHECK_MSG(s_carrier(i) != LX_MSG_NONE, "field '%s' is carried by no type",
                  d->fields[i].name);
    CHECK_EQ_STR(lx_msg_type_name(LX_MSG_HELLO), "HELLO");
    CHECK_EQ_STR(lx_msg_type_name(LX_MSG_WORKER_LIST), "WORKER_LIST");
    CHECK_EQ_STR(lx_msg_type_name(LX_MSG_NONE), "?");
    CHECK_EQ_STR(lx_msg_type_name(LX_MSG_TYPE_COUNT_), "?");
    CHECK_EQ_STR(lx_msg_type_name((lx_msg_type_t)-3), "?");
    uint64_t may = 1, must = 1;
    CHECK(!lx_msg_type_fields(LX_MSG_NONE, &may, &must));
    CHECK(!lx_msg_type_fields(LX_MSG_TYPE_COUNT_, NULL, NULL));
    CHECK(lx_msg_type_fields(LX_MSG_READY, &may, &must) && may == LX_MSG_BIT(credit) &&
          must == LX_MSG_BIT(credit));
    CHECK(lx_msg_type_fields(LX_MSG_HEARTBEAT, &may, &must) && may == 0 && must == 0);

    /* Bad arguments. */
    lx_error_t err = {0};
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_msg_t m = {0};
    CHECK_EQ_INT(lx_msg_encode(NULL, &sb, &err), LX_E_INVALID);
    CHECK_EQ_INT(lx_msg_encode(&m, NULL, &err), LX_E_INVALID);
    s_encode_refused(&m, LX_E_INVALID, "message: unknown type 0", "type NONE");
    m.type = LX_MSG_TYPE_COUNT_;
    s_encode_refused(&m, LX_E_INVALID, "message: unknown type", "type past the end");
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    CHECK_EQ_INT(lx_msg_decode("\x80", 1, NULL, &m, &err), LX_E_INVALID);
    CHECK_EQ_INT(lx_msg_decode("\x80", 1, &arena, NULL, &err), LX_E_INVALID);
    s_refused(NULL, 0, LX_E_BADMSG, "message: empty", "empty");
    static const char one = 0;
    s_refused(&one, (size_t)LX_MSG_MAX_BYTES + 1, LX_E_LIMIT, "message of 536870913 bytes exceeds",
              "over LX_MSG_MAX_BYTES");
    lx_arena_release(&arena);

    /* Encoding appends. */
    lx_strbuf_adds(&sb, "xyz");
    m = (lx_msg_t){.type = LX_MSG_HEARTBEAT};
    CHECK(lx_msg_encode(&m, &sb, &err) == LX_OK);
    CHECK(sb.len == 3 + 23 && memcmp(sb.buf, "xyz\x82\xa5proto\x01\xa4type\xa9HEARTBEAT", 26) == 0);
    lx_strbuf_release(&sb);
}

/* ---- refusals: missing and disallowed fields -------------------------- */

static void test_required_and_allowed(void)
{
    const lx_rec_desc_t *d = lx_msg_fields();
    size_t missing = 0, disallowed = 0;
    for (int t = LX_MSG_NONE + 1; t < LX_MSG_TYPE_COUNT_; t++) {
        lx_msg_type_t type = (lx_msg_type_t)t;
        const char *tn = lx_msg_type_name(type);
        uint64_t may, must;
        lx_msg_type_fields(type, &may, &must);
        filled_t fx;
        if (!s_filled(&fx, type, V_TYPICAL))
            continue;
        for (uint32_t i = 0; i < d->n_fields; i++) {
            const lx_field_desc_t *f = &d->fields[i];
            char label[96], want[128];
            if (must >> i & 1) {
                /* Encoder: the bit cleared. Decoder: the key removed. */
                lx_msg_t m = fx.m;
                m.has &= ~(1ull << i);
                snprintf(label, sizeof label, "%s without %s", tn, f->name);
                snprintf(want, sizeof want, "%s.%s: missing", tn, f->name);
                s_encode_refused(&m, LX_E_INVALID, want, label);
                msgpack_unpacked u;
                if (s_unpack(&fx.enc, &u)) {
                    s_remove_key(&u.data, f->name);
                    s_repacked_refused(&u.data, LX_E_BADMSG, want, label);
                }
                msgpack_unpacked_destroy(&u);
                missing++;
            }
            if (!(may >> i & 1)) {
                /* A valid value of the field, taken from a type that carries it. */
                lx_msg_t m = fx.m, carrier;
                s_fill_msg(&fx.vals, s_carrier(i), V_TYPICAL, &carrier);
                memcpy((char *)&m + f->offset, (char *)&carrier + f->offset, s_member_size(f));
                m.has |= 1ull << i;
                snprintf(label, sizeof label, "%s with %s", tn, f->name);
                snprintf(want, sizeof want, "%s.%s: not carried by %s", tn, f->name, tn);
                s_encode_refused(&m, LX_E_INVALID, want, label);
                lx_strbuf_t cenc;
                msgpack_unpacked u, cu;
                bool ok = s_encode(&carrier, &cenc, label);
                ok = s_unpack(&fx.enc, &u) && ok;
                ok = s_unpack(&cenc, &cu) && ok;
                if (ok) {
                    s_add(&u.data, u.zone, f->name, *s_key(&cu.data, f->name));
                    s_repacked_refused(&u.data, LX_E_BADMSG, want, label);
                }
                msgpack_unpacked_destroy(&cu);
                msgpack_unpacked_destroy(&u);
                lx_strbuf_release(&cenc);
                disallowed++;
            }
        }
        s_filled_release(&fx);
    }
    printf("%zu missing required fields and %zu disallowed fields refused both ways\n", missing,
           disallowed);
}

/* ---- refusals: values, addressed generically -------------------------- */

/* A place in a message: field f of a type that carries it, or field rf of
 * record `index` of f. */
typedef struct {
    lx_msg_type_t type;
    const lx_field_desc_t *f, *rf;
    uint32_t index;
} target_t;

static target_t s_target(uint32_t field, int rec_field, uint32_t index)
{
    const lx_field_desc_t *f = &lx_msg_fields()->fields[field];
    return (target_t){s_carrier(field), f, rec_field >= 0 ? &f->record->fields[rec_field] : NULL,
                      index};
}

static void s_where(target_t t, char *buf, size_t size)
{
    if (t.rf)
        snprintf(buf, size, "%s.%s[%u].%s", lx_msg_type_name(t.type), t.f->name, t.index,
                 t.rf->name);
    else
        snprintf(buf, size, "%s.%s", lx_msg_type_name(t.type), t.f->name);
}

static void *s_target_ptr(lx_msg_t *m, target_t t)
{
    void *p = (char *)m + t.f->offset;
    if (!t.rf)
        return p;
    const lx_file_recs_t *l = p;
    return (char *)l->v + t.index * t.f->record->size + t.rf->offset;
}

static msgpack_object *s_target_obj(msgpack_object *top, target_t t)
{
    msgpack_object *o = s_key(top, t.f->name);
    if (o && t.rf)
        o = s_key(&o->via.array.ptr[t.index], t.rf->name);
    return o;
}

/* A mixed message of the target's type (four records where there are
 * records), changed at the target by `edit` on the C side and `val` on the
 * wire: refused by the encoder (LX_E_INVALID) and by the decoder (dec_code)
 * with "<where>: <message>". */
typedef void (*edit_fn)(void *p, const void *user);

static void s_bad_value(target_t t, edit_fn edit, const void *user,
                        msgpack_object (*val)(msgpack_zone *, const void *), lx_result_t dec_code,
                        const char *message, const char *label)
{
    char where[128], want[384];
    s_where(t, where, sizeof where);
    snprintf(want, sizeof want, "%s: %s", where, message);
    lx_arena_t vals;
    lx_arena_init(&vals, NULL);
    lx_msg_t m;
    s_fill_msg(&vals, t.type, V_MIXED, &m);
    if (t.rf) /* the record field present, whatever the variant chose */
        *(uint64_t *)((char *)s_target_ptr(&m, t) - t.rf->offset) |=
            1ull << (uint32_t)(t.rf - t.f->record->fields);
    if (t.rf)
        s_fill(&vals, t.rf, s_target_ptr(&m, t), V_TYPICAL, 5);
    lx_strbuf_t enc;
    if (s_encode(&m, &enc, label) && val) {
        msgpack_unpacked u;
        if (s_unpack(&enc, &u)) {
            msgpack_object *o = s_target_obj(&u.data, t);
            CHECK_MSG(o != NULL, "%s: no %s on the wire", label, where);
            if (o) {
                *o = val(u.zone, user);
                s_repacked_refused(&u.data, dec_code, want, label);
            }
        }
        msgpack_unpacked_destroy(&u);
    }
    lx_strbuf_release(&enc);
    if (edit) {
        edit(s_target_ptr(&m, t), user);
        s_encode_refused(&m, LX_E_INVALID, want, label);
    }
    lx_arena_release(&vals);
}

/* Values for s_bad_value: user points at the value or a length. */
static void s_edit_u64(void *p, const void *u) { *(uint64_t *)p = *(const uint64_t *)u; }
static void s_edit_i64(void *p, const void *u) { *(int64_t *)p = *(const int64_t *)u; }
static void s_edit_str(void *p, const void *u) { *(const char **)p = u; }
static void s_edit_null(void *p, const void *u)
{
    (void)u;
    *(const char **)p = NULL;
}
static void s_edit_count(void *p, const void *u)
{
    /* Every list and record array is {pointer, n}; the entries are zeroed
     * and never read: the count is refused first. */
    lx_u64s_t *l = p;
    l->n = *(const uint32_t *)u;
    l->v = calloc(l->n, 128);
}
static void s_edit_bin_len(void *p, const void *u)
{
    lx_bytes_t *b = p;
    b->len = *(const size_t *)u;
    b->data = (const uint8_t *)"x"; /* refused before it is read */
}
static msgpack_object s_val_u64(msgpack_zone *z, const void *u)
{
    (void)z;
    return s_uint_obj(*(const uint64_t *)u);
}
static msgpack_object s_val_i64(msgpack_zone *z, const void *u)
{
    (void)z;
    return s_int_obj(*(const int64_t *)u);
}
static msgpack_object s_val_str(msgpack_zone *z, const void *u)
{
    (void)z;
    return s_str_obj(u, strlen(u));
}
static msgpack_object s_val_count(msgpack_zone *z, const void *u)
{
    return s_array_obj(z, *(const uint32_t *)u, s_uint_obj(1));
}
static msgpack_object s_val_nil(msgpack_zone *z, const void *u)
{
    (void)z, (void)u;
    return (msgpack_object){.type = MSGPACK_OBJECT_NIL};
}

/* Every field, message and record, one past its limit. */
static void s_over_limit(target_t t, char *big)
{
    const lx_field_desc_t *f = t.rf ? t.rf : t.f;
    char label[128], msg[192];
    s_where(t, label, sizeof label);
    switch (f->kind) {
    case LX_FK_U64:
        if (f->max < UINT64_MAX) {
            uint64_t over = f->max + 1;
            snprintf(msg, sizeof msg, "value %llu exceeds %llu", (unsigned long long)over,
                     (unsigned long long)f->max);
            s_bad_value(t, s_edit_u64, &over, s_val_u64, LX_E_BADMSG, msg, label);
        }
        {
            int64_t neg = -1;
            s_bad_value(t, NULL, &neg, s_val_i64, LX_E_BADMSG, "negative value -1", label);
        }
        break;
    case LX_FK_I64: {
        int64_t low = -(int64_t)f->max - 1;
        snprintf(msg, sizeof msg, "value %lld is outside +-%llu", (long long)low,
                 (unsigned long long)f->max);
        s_bad_value(t, s_edit_i64, &low, s_val_i64, LX_E_BADMSG, msg, label);
        uint64_t high = (uint64_t)INT64_MAX + 1;
        s_bad_value(t, NULL, &high, s_val_u64, LX_E_BADMSG, "value 9223372036854775808 exceeds",
                    label);
        break;
    }
    case LX_FK_STR:
    case LX_FK_ID:
    case LX_FK_PATH:
    case LX_FK_HEX: {
        uint64_t len = f->max + 1;
        snprintf(msg, sizeof msg, "string of %llu bytes exceeds %llu", (unsigned long long)len,
                 (unsigned long long)f->max);
        memset(big, f->kind == LX_FK_HEX ? 'a' : 'b', len);
        big[len] = '\0';
        s_bad_value(t, s_edit_str, big, s_val_str, LX_E_LIMIT, msg, label);
        s_bad_value(t, s_edit_null, NULL, NULL, 0, "NULL string", label);
        break;
    }
    case LX_FK_BIN: {
        size_t len = (size_t)f->max + 1;
        snprintf(msg, sizeof msg, "bin of %zu bytes exceeds %llu", len, (unsigned long long)f->max);
        /* The decoder's side is test_big's: it needs that many bytes. */
        s_bad_value(t, s_edit_bin_len, &len, NULL, 0, msg, label);
        break;
    }
    case LX_FK_I64S:
    case LX_FK_U64S:
    case LX_FK_F64S:
    case LX_FK_RECS: {
        uint32_t n = (uint32_t)f->max + 1;
        snprintf(msg, sizeof msg, "%u entries exceed %llu", n, (unsigned long long)f->max);
        lx_arena_t vals;
        lx_arena_init(&vals, NULL);
        lx_msg_t m;
        s_fill_msg(&vals, t.type, V_TYPICAL, &m);
        s_edit_count(s_target_ptr(&m, t), &n);
        char want[384];
        snprintf(want, sizeof want, "%s: %s", label, msg);
        s_encode_refused(&m, LX_E_INVALID, want, label);
        free(((lx_u64s_t *)s_target_ptr(&m, t))->v);
        lx_arena_release(&vals);
        s_bad_value(t, NULL, &n, s_val_count, LX_E_LIMIT, msg, label);
        /* A list is refused where a scalar... and nil is no value. */
        s_bad_value(t, NULL, NULL, s_val_nil, LX_E_BADMSG, "expected an array, found nil", label);
        break;
    }
    default:
        break;
    }
}

static void test_limits(void)
{
    /* One buffer for the longest text (the 64 MiB patch) plus one. */
    uint64_t longest = 0;
    const lx_rec_desc_t *d = lx_msg_fields();
    for (uint32_t i = 0; i < d->n_fields; i++)
        if ((d->fields[i].kind == LX_FK_STR || d->fields[i].kind == LX_FK_ID ||
             d->fields[i].kind == LX_FK_PATH || d->fields[i].kind == LX_FK_HEX) &&
            d->fields[i].max > longest)
            longest = d->fields[i].max;
    char *big = malloc(longest + 2);
    size_t n = 0;
    for (uint32_t i = 0; i < d->n_fields; i++) {
        s_over_limit(s_target(i, -1, 0), big);
        n++;
        if (d->fields[i].kind == LX_FK_RECS)
            for (uint32_t k = 0; k < d->fields[i].record->n_fields; k++, n++)
                s_over_limit(s_target(i, (int)k, 1), big);
    }
    free(big);
    printf("%zu fields (message and record) refused over their limits\n", n);
}

static void test_bad_text(void)
{
    static const struct {
        uint32_t field;
        int rec_field;
        uint32_t index;
        const char *value, *message;
    } cases[] = {
#define UNSAFE(p)                                                                                  \
    "unsafe path '" p "' (components of A-Z a-z 0-9 . _ - joined by single '/', none '.' or '..')"
        {LX_MF_files, LX_FRF_key, 0, "../x", UNSAFE("../x")},
        {LX_MF_files, LX_FRF_key, 0, "/abs", UNSAFE("/abs")},
        {LX_MF_files, LX_FRF_key, 0, "a//b", UNSAFE("a//b")},
        {LX_MF_files, LX_FRF_key, 1, "a/", UNSAFE("a/")},
        {LX_MF_files, LX_FRF_key, 1, "a/./b", UNSAFE("a/./b")},
        {LX_MF_files, LX_FRF_key, 1, "a/..", UNSAFE("a/..")},
        {LX_MF_files, LX_FRF_key, 1, ".", UNSAFE(".")},
        {LX_MF_files, LX_FRF_name, 2, "", UNSAFE("")},
        {LX_MF_files, LX_FRF_name, 2, "a b.png", UNSAFE("a b.png")},
        {LX_MF_files, LX_FRF_name, 2, "a\\b", UNSAFE("a\\x5cb")},
        {LX_MF_files, LX_FRF_name, 2, "\xc3\xa9", UNSAFE("\\xc3\\xa9")},
#undef UNSAFE
        {LX_MF_job, -1, 0, "a/b", "character '/' not allowed in an identifier (A-Z a-z 0-9 . _ -)"},
        {LX_MF_job, -1, 0, "..", "'..' is not an identifier"},
        {LX_MF_job, -1, 0, ".", "'.' is not an identifier"},
        {LX_MF_job, -1, 0, "", "empty identifier"},
        {LX_MF_reason, -1, 0, "io error", "character ' ' not allowed in an identifier"},
        {LX_MF_program_hash, -1, 0,
         "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
         "expected 64 hex digits, found 'A' at byte 0"},
        {LX_MF_program_hash, -1, 0,
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
         "expected 64 hex digits, found 63 bytes"},
        {LX_MF_files, LX_FRF_hash, 3,
         "0123g56789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "expected 64 hex digits, found 'g' at byte 4"},
        {LX_MF_files, LX_FRF_hash, 3, "abc", "expected 64 hex digits, found 3 bytes"},
        {LX_MF_files, LX_FRF_content, 3, "", "expected 32 hex digits, found 0 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        target_t t = s_target(cases[i].field, cases[i].rec_field, cases[i].index);
        char label[128];
        s_where(t, label, sizeof label);
        snprintf(label + strlen(label), sizeof label - strlen(label), " = '%s'", cases[i].value);
        s_bad_value(t, s_edit_str, cases[i].value, s_val_str, LX_E_BADMSG, cases[i].message, label);
    }
    /* Valid edge forms. */
    static const char *const paths[] = {"a", "...", "a/.b/c..", "_-.", "x/y/z"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        lx_arena_t vals;
        lx_arena_init(&vals, NULL);
        lx_msg_t m;
        s_fill_msg(&vals, LX_MSG_FRAME, V_TYPICAL, &m);
        m.files.v[0].key = paths[i];
        m.job = paths[i][0] == 'x' ? "x.y" : "...";
        s_round_trip(&m, paths[i]);
        lx_arena_release(&vals);
    }
}

/* ---- refusals: the envelope ------------------------------------------- */

/* Wire values for test_envelope's cases, as msgpack-c objects. */
/* clang-format off */
#define O_U64(v) {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = (v)}
#define O_I64(v) {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = (v)}
#define O_F64(v) {.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = (v)}
#define O_STR(s) {.type = MSGPACK_OBJECT_STR, .via.str = {sizeof(s) - 1, (s)}}
#define O_BIN(s) {.type = MSGPACK_OBJECT_BIN, .via.bin = {sizeof(s) - 1, (s)}}
#define O_TYPE(t) {.type = MSGPACK_OBJECT_##t}
/* clang-format on */

static void test_envelope(void)
{
    filled_t fx;
    if (!s_filled(&fx, LX_MSG_ASSIGN, V_TYPICAL))
        return;
    static const struct {
        const char *label, *key;
        int op; /* 0 replace the value, 1 remove the key, 2 add the key again */
        msgpack_object val;
        lx_result_t want;
        const char *message;
    } cases[] = {
        {"proto 2", "proto", 0, O_U64(2), LX_E_BADMSG, "message.proto: version 2, expected 1"},
        {"proto 0", "proto", 0, O_U64(0), LX_E_BADMSG, "message.proto: version 0, expected 1"},
        {"proto -1", "proto", 0, O_I64(-1), LX_E_BADMSG, "message.proto: negative value -1"},
        {"proto '1'", "proto", 0, O_STR("1"), LX_E_BADMSG,
         "message.proto: expected an unsigned integer, found a string"},
        {"no proto", "proto", 1, {0}, LX_E_BADMSG, "message: missing proto"},
        {"no type", "type", 1, {0}, LX_E_BADMSG, "message: missing type"},
        {"type NOPE", "type", 0, O_STR("NOPE"), LX_E_BADMSG,
         "message.type: unknown message type 'NOPE'"},
        {"type assign", "type", 0, O_STR("assign"), LX_E_BADMSG,
         "message.type: unknown message type 'assign'"},
        {"type with a quote", "type", 0, O_STR("A'\n\xff."), LX_E_BADMSG,
         "message.type: unknown message type 'A\\x27\\x0a\\xff.'"},
        {"type 3", "type", 0, O_U64(3), LX_E_BADMSG,
         "message.type: expected a string, found an unsigned integer"},
        {"job twice", "job", 2, O_STR("j"), LX_E_BADMSG, "message: duplicate key 'job'"},
        {"proto twice", "proto", 2, O_U64(1), LX_E_BADMSG, "message: duplicate key 'proto'"},
        {"job nil", "job", 0, O_TYPE(NIL), LX_E_BADMSG, "ASSIGN.job: expected a string, found nil"},
        {"attempt float", "attempt", 0, O_F64(1.0), LX_E_BADMSG,
         "ASSIGN.attempt: expected an unsigned integer, found a float"},
        {"frames map", "frames", 0, O_TYPE(MAP), LX_E_BADMSG,
         "ASSIGN.frames: expected an array, found a map"},
        {"config bin", "config", 0, O_BIN("c"), LX_E_BADMSG,
         "ASSIGN.config: expected a string, found a bin"},
        {"config with NUL", "config", 0, O_STR("a\0b"), LX_E_BADMSG,
         "ASSIGN.config: string contains a NUL byte"},
        {"unknown key twice", "zz", 2, O_TYPE(NIL), LX_E_BADMSG, "message: duplicate key 'zz'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_unpacked u;
        if (!s_unpack(&fx.enc, &u)) {
            msgpack_unpacked_destroy(&u);
            continue;
        }
        if (strcmp(cases[i].key, "zz") == 0)
            s_add(&u.data, u.zone, "zz", cases[i].val);
        if (cases[i].op == 0)
            *s_key(&u.data, cases[i].key) = cases[i].val;
        else if (cases[i].op == 1)
            s_remove_key(&u.data, cases[i].key);
        else
            s_add(&u.data, u.zone, cases[i].key, cases[i].val);
        s_repacked_refused(&u.data, cases[i].want, cases[i].message, cases[i].label);
        msgpack_unpacked_destroy(&u);
    }

    /* Not a map, a key not a string, too many keys, a long key, trailing bytes. */
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    s_asm(&sb, "93 01 02 03");
    s_refused(sb.buf, sb.len, LX_E_BADMSG, "message: expected a map, found an array", "array");
    sb.len = 0;
    s_asm(&sb, "82 a5'proto' 01 07 a4'HELLO'");
    s_refused(sb.buf, sb.len, LX_E_BADMSG, "message: key 1 is an unsigned integer, not a string",
              "int key");
    sb.len = 0;
    s_asm(&sb, "de 00 41");
    for (int k = 0; k < 65; k++) {
        char key[8];
        snprintf(key, sizeof key, "k%02d", k);
        lx_strbuf_addf(&sb, "\xa3%s", key);
        lx_strbuf_add(&sb, "\x00", 1);
    }
    s_refused(sb.buf, sb.len, LX_E_LIMIT, "message: 65 entries exceed 64", "65 keys");
    sb.len = 0;
    s_asm(&sb, "81 d9 41");
    for (int k = 0; k < 65; k++)
        lx_strbuf_add(&sb, "k", 1);
    lx_strbuf_add(&sb, "\x00", 1);
    s_refused(sb.buf, sb.len, LX_E_LIMIT, "message: key 0 of 65 bytes exceeds 64", "long key");
    lx_strbuf_release(&sb);
    lx_strbuf_init(&sb, NULL);
    lx_strbuf_add(&sb, fx.enc.buf, fx.enc.len);
    lx_strbuf_add(&sb, "\xc0", 1);
    s_refused(sb.buf, sb.len, LX_E_BADMSG, "message: 1 trailing bytes after the message",
              "trailing byte");
    lx_strbuf_release(&sb);

    /* Duplicate key inside a record. */
    lx_msg_t fm;
    s_fill_msg(&fx.vals, LX_MSG_FRAME, V_TYPICAL, &fm);
    lx_strbuf_t fenc;
    msgpack_unpacked u;
    if (s_encode(&fm, &fenc, "FRAME") && s_unpack(&fenc, &u)) {
        msgpack_object *rec = &s_key(&u.data, "files")->via.array.ptr[1];
        s_add(rec, u.zone, "hash", *s_key(rec, "hash"));
        s_repacked_refused(&u.data, LX_E_BADMSG, "FRAME.files[1]: duplicate key 'hash'",
                           "record key twice");
        s_remove_key(rec, "hash");
        s_remove_key(rec, "hash");
        s_repacked_refused(&u.data, LX_E_BADMSG, "FRAME.files[1].hash: missing", "record no hash");
        /* Long enough for the smallest-record bound: only its kind is wrong. */
        static char text[200];
        memset(text, 't', sizeof text);
        *rec = s_array_obj(u.zone, 1, s_str_obj(text, sizeof text));
        s_repacked_refused(&u.data, LX_E_BADMSG, "FRAME.files[1]: expected a map, found an array",
                           "record not a map");
    }
    msgpack_unpacked_destroy(&u);
    lx_strbuf_release(&fenc);

    /* Encoder: a has bit past the table, a list without entries. */
    lx_msg_t bad = fx.m;
    bad.frames.v = NULL;
    s_encode_refused(&bad, LX_E_INVALID, "ASSIGN.frames: 3 entries but no array", "frames NULL");
    s_fill_msg(&fx.vals, LX_MSG_FRAME, V_TYPICAL, &fm);
    fm.files.v[1].has |= 1ull << 40;
    s_encode_refused(&fm, LX_E_INVALID, "FRAME.files[1]: has bit 40 names no field", "bit 40");
    fm.files.v[1].has = LX_FILE_REC_BIT(key);
    s_encode_refused(&fm, LX_E_INVALID, "FRAME.files[1].name: missing", "record missing name");
    fm.files.v[1].has = LX_FILE_REC_REQUIRED;
    fm.files.v[1].bytes = (lx_bytes_t){NULL, 3};
    fm.files.v[1].has |= LX_FILE_REC_BIT(bytes);
    s_encode_refused(&fm, LX_E_INVALID, "FRAME.files[1].bytes: 3 bytes but no data", "bin NULL");
    s_filled_release(&fx);
}

#undef O_U64
#undef O_I64
#undef O_F64
#undef O_STR
#undef O_BIN
#undef O_TYPE

/* ---- unknown keys and nesting ----------------------------------------- */

static msgpack_object s_nested(msgpack_zone *z, int levels)
{
    msgpack_object o = s_uint_obj(7);
    for (int k = 0; k < levels; k++)
        o = s_array_obj(z, 1, o);
    return o;
}

static void test_unknown_keys(void)
{
    lx_arena_t vals;
    lx_arena_init(&vals, NULL);
    lx_msg_t m;
    s_fill_msg(&vals, LX_MSG_FRAME, V_TYPICAL, &m);
    lx_strbuf_t enc;
    if (!s_encode(&m, &enc, "FRAME")) {
        lx_arena_release(&vals);
        return;
    }
    for (int k = 0; k < 4; k++) {
        msgpack_unpacked u;
        if (!s_unpack(&enc, &u))
            break;
        msgpack_zone *z = u.zone;
        msgpack_object ext = {.type = MSGPACK_OBJECT_EXT};
        ext.via.ext.type = 5, ext.via.ext.size = 3, ext.via.ext.ptr = "abc";
        msgpack_object f32 = {.type = MSGPACK_OBJECT_FLOAT32};
        f32.via.f64 = 0.5;
        msgpack_object inner = {.type = MSGPACK_OBJECT_MAP};
        s_add(&inner, z, "x", s_array_obj(z, 3, s_str_obj("s", 1)));
        s_add(&inner, z, "y", ext);
        msgpack_object bin = {.type = MSGPACK_OBJECT_BIN};
        bin.via.bin.size = 2, bin.via.bin.ptr = "\x00\x01";
        msgpack_object boolean = {.type = MSGPACK_OBJECT_BOOLEAN};
        boolean.via.boolean = true;
        msgpack_object *rec = &s_key(&u.data, "files")->via.array.ptr[0];
        lx_result_t want = LX_OK;
        const char *msg = "";
        if (k == 0) {
            /* Every kind of value, and containers nested 8 deep counting
             * the message map (7 arrays) and the record's (5 more). */
            s_add(&u.data, z, "zz_nil", (msgpack_object){.type = MSGPACK_OBJECT_NIL});
            s_add(&u.data, z, "zz_bool", boolean);
            s_add(&u.data, z, "zz_f32", f32);
            s_add(&u.data, z, "zz_neg", s_int_obj(-100000));
            s_add(&u.data, z, "zz_bin", bin);
            s_add(&u.data, z, "zz_ext", ext);
            s_add(&u.data, z, "zz_map", inner);
            s_add(&u.data, z, "zz_deep", s_nested(z, 7));
            s_add(rec, z, "zz_deep", s_nested(z, 5));
            s_add(rec, z, "", inner);
        } else if (k == 1) {
            s_add(&u.data, z, "zz_deep", s_nested(z, 8));
            want = LX_E_LIMIT, msg = "message.zz_deep: values nested too deeply";
        } else if (k == 2) {
            s_add(rec, z, "zz_deep", s_nested(z, 6));
            /* The message pass meets it first, through files. */
            want = LX_E_LIMIT, msg = "message.files: values nested too deeply";
        } else {
            /* 64 keys are allowed, known and unknown together. */
            for (uint32_t n = u.data.via.map.size; n < 64; n++) {
                char *key = msgpack_zone_malloc(z, 8);
                snprintf(key, 8, "u%u", n);
                s_add(&u.data, z, key, s_uint_obj(n));
            }
        }
        lx_strbuf_t sb;
        s_repack(&u.data, &sb);
        if (want == LX_OK) {
            lx_arena_t arena;
            lx_arena_init(&arena, NULL);
            lx_msg_t d;
            lx_error_t err = {0};
            lx_result_t rc = lx_msg_decode(sb.buf, sb.len, &arena, &d, &err);
            CHECK_MSG(rc == LX_OK, "unknown keys %d: %s: %s", k, lx_error_name(rc), err.message);
            if (rc == LX_OK)
                CHECK_MSG(s_same_msg(&m, &d), "unknown keys %d: message differs", k);
            lx_arena_release(&arena);
        } else {
            s_refused(sb.buf, sb.len, want, msg, "too deep");
        }
        lx_strbuf_release(&sb);
        msgpack_unpacked_destroy(&u);
    }
    lx_strbuf_release(&enc);
    lx_arena_release(&vals);
}

/* ---- truncation, claimed lengths, allocation failures ----------------- */

static void test_truncations(void)
{
    static const lx_msg_type_t types[] = {LX_MSG_HELLO, LX_MSG_FRAME,       LX_MSG_ASSIGN,
                                          LX_MSG_JOBS,  LX_MSG_WORKER_LIST, LX_MSG_ERROR};
    size_t prefixes = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        lx_arena_t vals;
        lx_arena_init(&vals, NULL);
        lx_msg_t m;
        s_fill_msg(&vals, types[i], V_MIXED, &m);
        lx_strbuf_t enc;
        if (s_encode(&m, &enc, "truncation")) {
            for (size_t n = 0; n < enc.len; n++) {
                char label[64];
                snprintf(label, sizeof label, "%s prefix %zu", lx_msg_type_name(types[i]), n);
                /* A copy of exactly n bytes, so that ASan sees any read past it. */
                char *cut = malloc(n ? n : 1);
                memcpy(cut, enc.buf, n);
                s_refused(n ? cut : NULL, n, LX_E_BADMSG, "", label);
                free(cut);
            }
            prefixes += enc.len;
        }
        lx_strbuf_release(&enc);
        lx_arena_release(&vals);
    }
    printf("%zu truncated messages refused\n", prefixes);
}

static void test_claimed_lengths(void)
{
    static const struct {
        const char *label, *spec;
        lx_result_t want;
        const char *message;
        size_t size; /* expected length, 0 = any */
    } cases[] = {
        {"map32", "df ff ff ff ff 00 00 00 00 00", LX_E_LIMIT,
         "message: 4294967295 entries exceed 64", 10},
        {"array32", "dd ff ff ff ff 00 00 00 00 00", LX_E_BADMSG,
         "message: expected a map, found an array", 10},
        {"str32", "db ff ff ff ff 00 00 00 00 00", LX_E_BADMSG,
         "message: string of 4294967295 bytes but only 5 bytes left", 10},
        {"key str32", "81 db ff ff ff ff 00 00 00 00", LX_E_BADMSG,
         "message: string of 4294967295 bytes but only 4 bytes left", 10},
        {"unknown array32", "81 a1'x' dd ff ff ff ff 00 00", LX_E_BADMSG,
         "message.x: array of 4294967295 entries cannot fit in the 2 bytes left", 10},
        {"unknown map32", "81 a1'x' df ff ff ff ff 00 00", LX_E_BADMSG,
         "message.x: map of 4294967295 entries cannot fit", 10},
        {"unknown bin32", "81 a1'x' c6 ff ff ff ff 00 00", LX_E_BADMSG,
         "message.x: bin of 4294967295 bytes but only 2 bytes left", 10},
        {"unknown ext32", "81 a1'x' c9 ff ff ff ff 01 00", LX_E_BADMSG,
         "message.x: ext of 4294967295 bytes but only 1 bytes left", 10},
        {"resumed array32", "84 a5'proto' 01 a4'type' a5'HELLO' a7'resumed' dd ff ff ff ff 00",
         LX_E_BADMSG, "message.resumed: array of 4294967295 entries cannot fit", 0},
        {"resumed 1000", "84 a5'proto' 01 a4'type' a5'HELLO' a7'resumed' dc 03 e8 00 00",
         LX_E_BADMSG, "", 0},
        {"frames 65536", "83 a5'proto' 01 a4'type' a6'ASSIGN' a6'frames' dd 00 01 00 00 01",
         LX_E_BADMSG, "", 0},
        {"program bin32", "83 a5'proto' 01 a4'type' a7'PROGRAM' a7'program' c6 ff ff ff ff",
         LX_E_BADMSG, "", 0},
        {"jobs 100000", "83 a5'proto' 01 a4'type' a4'JOBS' a4'jobs' dd 00 01 86 a0 80 80",
         LX_E_BADMSG, "", 0},
        {"patch str32", "83 a5'proto' 01 a4'type' a6'SUBMIT' a5'patch' db 03 ff ff ff 'a'",
         LX_E_BADMSG, "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        s_asm(&sb, cases[i].spec);
        if (cases[i].size)
            CHECK_EQ_INT(sb.len, cases[i].size);
        size_t bytes;
        double secs;
        s_refused_cost(sb.buf, sb.len, cases[i].want, cases[i].message, cases[i].label, &bytes,
                       &secs);
        /* Nothing sized by what the message claims: at most one arena chunk. */
        CHECK_MSG(bytes <= 65 * 1024, "%s: allocated %zu bytes", cases[i].label, bytes);
        CHECK_MSG(secs < 0.5, "%s: took %.3f s", cases[i].label, secs);
        lx_strbuf_release(&sb);
    }
}

static void test_alloc_failures(void)
{
    filled_t fx;
    if (!s_filled(&fx, LX_MSG_JOBS, V_MAX))
        return;
    /* Count the decode's allocations, then fail each in turn. */
    lx_error_t err = {0};
    t_fail_each_t fe = T_FAIL_EACH_INIT;
    while (t_fail_each_next(&fe)) {
        lx_arena_t arena;
        lx_arena_init(&arena, &fe.alloc);
        lx_msg_t d;
        lx_result_t rc = lx_msg_decode(fx.enc.buf, fx.enc.len, &arena, &d, &err);
        if (fe.fail_at < 0) {
            CHECK(rc == LX_OK);
            lx_arena_release(&arena);
            CHECK(fe.c.calls >= 2);
            continue;
        }
        CHECK_MSG(rc == LX_E_NOMEM, "allocation %ld of %ld: %s", fe.fail_at, fe.total,
                  lx_error_name(rc));
        CHECK(d.type == LX_MSG_NONE && d.has == 0);
        lx_arena_release(&arena);
        CHECK_EQ_INT(fe.c.live_blocks, 0);
    }
    /* The output buffer's allocations failed in turn: nothing appended. */
    long nomem = 0, n = 1;
    for (; n < 100; n++) {
        counter_t f = {0, n, 0, 0, 0, 0};
        lx_alloc_t fa = t_alloc_of(&f);
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, &fa);
        lx_strbuf_adds(&sb, "abc"); /* allocation 0 */
        lx_result_t rc = lx_msg_encode(&fx.m, &sb, &err);
        if (rc == LX_OK) {
            CHECK(sb.len == 3 + fx.enc.len && memcmp(sb.buf + 3, fx.enc.buf, fx.enc.len) == 0);
            lx_strbuf_release(&sb);
            break;
        }
        CHECK_EQ_INT(rc, LX_E_NOMEM);
        CHECK_MSG(sb.len == 3 && strcmp(sb.buf, "abc") == 0 && !sb.failed,
                  "allocation %ld: buffer changed", n);
        nomem++;
        lx_strbuf_release(&sb);
        CHECK_EQ_INT(f.live_blocks, 0);
    }
    CHECK(nomem >= 1 && nomem == n - 1);
    printf("%ld decode and %ld encode allocation failures handled\n", fe.total, nomem);
    s_filled_release(&fx);
}

/* Sizes near the caps, without touching the memory they claim. */
static void test_big(void)
{
    /* 256 MiB + 1 of bin: refused by its maximum, not by the bytes left. */
    size_t bin = (size_t)LX_MSG_MAX_BIN + 1;
    size_t head = 64;
    uint8_t *buf = calloc(head + bin, 1); /* lazily zeroed pages, never read */
    if (!buf) {
        CHECK(buf != NULL);
        return;
    }
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    s_asm(&sb, "83 a5'proto' 01 a4'type' a7'PROGRAM' a7'program' c6 10 00 00 01");
    memcpy(buf, sb.buf, sb.len);
    s_refused(buf, sb.len + bin, LX_E_LIMIT,
              "PROGRAM.program: bin of 268435457 bytes exceeds 268435456", "program bin over max");
    lx_strbuf_release(&sb);

    /* Three files of 256 MiB each: every field within its limit, the
     * message over LX_MSG_MAX_BYTES; refused from the sizes alone. */
    lx_arena_t vals;
    lx_arena_init(&vals, NULL);
    lx_msg_t m;
    s_fill_msg(&vals, LX_MSG_FRAME, V_TYPICAL, &m);
    lx_file_rec_t files[3];
    for (int k = 0; k < 3; k++) {
        files[k] = m.files.v[0];
        files[k].bytes = (lx_bytes_t){buf, LX_MSG_MAX_BIN};
    }
    m.files = (lx_file_recs_t){files, 3};
    s_encode_refused(&m, LX_E_LIMIT, "FRAME: encoded message of 805306", "over LX_MSG_MAX_BYTES");
    lx_arena_release(&vals);
    free(buf);
}

/* ---- the wire format, byte by byte ------------------------------------ */

#define HASH64 "'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'"
#define HASH32 "'00112233445566778899aabbccddeeff'"

static const char s_hello_bytes[] =
    "86 a5'proto' 01 a4'type' a5'HELLO' a4'name' a2'w1' a5'build' b0'0.1.0 gcc x86_64' "
    "a7'threads' 08 a7'resumed' 92 07 cd 01 2c";

static const char s_frame_bytes[] =
    "89 a5'proto' 01 a4'type' a5'FRAME' a3'job' a2'j1' a7'attempt' 05 a5'frame' fe "
    "a9'render_ms' cb 3f f8 00 00 00 00 00 00 a4't_ms' cb 00 00 00 00 00 00 00 00 "
    "a6'camera' 92 cb 3f f0 00 00 00 00 00 00 cb 3f e0 00 00 00 00 00 00 "
    "a5'files' 91 85 a3'key' a4'rgba' a4'name' a5'f.png' a4'hash' d9 40 " HASH64
    " a7'content' d9 20 " HASH32 " a5'bytes' c4 03 01 02 03";

/* The same FRAME as another packer may write it: keys in another order,
 * wider integer and length forms, float32 and integer floats. */
static const char s_frame_lenient[] =
    "de 00 09 a5'files' dc 00 01 85 a4'name' d9 05'f.png' a3'key' a4'rgba' a7'content' d9 "
    "20 " HASH32 " a4'hash' da 00 40 " HASH64 " a5'bytes' c5 00 03 01 02 03 "
    "a4't_ms' 00 a6'camera' 92 ca 3f 80 00 00 ca 3f 00 00 00 a9'render_ms' ca 3f c0 00 00 "
    "a5'frame' d3 ff ff ff ff ff ff ff fe a7'attempt' d3 00 00 00 00 00 00 00 05 "
    "a3'job' d9 02'j1' a4'type' a5'FRAME' a5'proto' cc 01";

static void s_expect_bytes(const lx_msg_t *m, const lx_strbuf_t *want, const char *label)
{
    lx_strbuf_t enc;
    if (s_encode(m, &enc, label))
        CHECK_MSG(s_same_bytes(&enc, want), "%s: encoder bytes differ from the hand-assembled ones",
                  label);
    lx_strbuf_release(&enc);
}

static void test_wire_format(void)
{
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_error_t err = {0};
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);

    s_asm(&sb, s_hello_bytes);
    lx_msg_t m;
    lx_result_t rc = lx_msg_decode(sb.buf, sb.len, &arena, &m, &err);
    CHECK_MSG(rc == LX_OK, "HELLO: %s", err.message);
    if (rc == LX_OK) {
        CHECK(m.type == LX_MSG_HELLO);
        CHECK(m.has ==
              (LX_MSG_BIT(name) | LX_MSG_BIT(build) | LX_MSG_BIT(threads) | LX_MSG_BIT(resumed)));
        CHECK_EQ_STR(m.name, "w1");
        CHECK_EQ_STR(m.build, "0.1.0 gcc x86_64");
        CHECK_EQ_INT(m.threads, 8);
        CHECK(m.resumed.n == 2 && m.resumed.v[0] == 7 && m.resumed.v[1] == 300);
    }
    lx_msg_t hello = {.type = LX_MSG_HELLO};
    uint64_t resumed[] = {7, 300};
    LX_MSG_SET(&hello, name, "w1");
    LX_MSG_SET(&hello, build, "0.1.0 gcc x86_64");
    LX_MSG_SET(&hello, threads, 8);
    LX_MSG_SET(&hello, resumed, ((lx_u64s_t){resumed, 2}));
    s_expect_bytes(&hello, &sb, "HELLO");

    sb.len = 0;
    s_asm(&sb, s_frame_bytes);
    lx_msg_t frame = {.type = LX_MSG_FRAME};
    double camera[] = {1.0, 0.5};
    lx_file_rec_t file = {0};
    LX_REC_SET(&file, LX_FILE_REC, key, "rgba");
    LX_REC_SET(&file, LX_FILE_REC, name, "f.png");
    LX_REC_SET(&file, LX_FILE_REC, hash,
               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    LX_REC_SET(&file, LX_FILE_REC, content, "00112233445566778899aabbccddeeff");
    LX_REC_SET(&file, LX_FILE_REC, bytes, ((lx_bytes_t){(const uint8_t *)"\x01\x02\x03", 3}));
    LX_MSG_SET(&frame, job, "j1");
    LX_MSG_SET(&frame, attempt, 5);
    LX_MSG_SET(&frame, frame, -2);
    LX_MSG_SET(&frame, render_ms, 1.5);
    LX_MSG_SET(&frame, t_ms, 0.0);
    LX_MSG_SET(&frame, camera, ((lx_f64s_t){camera, 2}));
    LX_MSG_SET(&frame, files, ((lx_file_recs_t){&file, 1}));
    s_expect_bytes(&frame, &sb, "FRAME");
    rc = lx_msg_decode(sb.buf, sb.len, &arena, &m, &err);
    CHECK_MSG(rc == LX_OK, "FRAME: %s", err.message);
    if (rc == LX_OK) {
        CHECK(s_same_msg(&frame, &m));
        CHECK_EQ_STR(m.files.v[0].hash, file.hash);
        CHECK(m.files.v[0].bytes.data == (const uint8_t *)sb.buf + sb.len - 3);
    }

    /* Lenient forms decode to the same message and re-encode canonically. */
    lx_strbuf_t lenient;
    lx_strbuf_init(&lenient, NULL);
    s_asm(&lenient, s_frame_lenient);
    rc = lx_msg_decode(lenient.buf, lenient.len, &arena, &m, &err);
    CHECK_MSG(rc == LX_OK, "lenient FRAME: %s", err.message);
    if (rc == LX_OK) {
        CHECK_MSG(s_same_msg(&frame, &m), "lenient FRAME decodes differently");
        s_expect_bytes(&m, &sb, "lenient FRAME");
    }
    lx_strbuf_release(&lenient);

    /* proto 1 and credit 5 in every integer width. */
    static const char *const ones[] = {"01",
                                       "cc 01",
                                       "cd 00 01",
                                       "ce 00 00 00 01",
                                       "cf 00 00 00 00 00 00 00 01",
                                       "d0 01",
                                       "d1 00 01",
                                       "d2 00 00 00 01",
                                       "d3 00 00 00 00 00 00 00 01"};
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++) {
        char spec[160];
        snprintf(spec, sizeof spec, "83 a5'proto' %s a4'type' a5'READY' a6'credit' %s", ones[i],
                 ones[(i + 3) % 9]);
        sb.len = 0;
        s_asm(&sb, spec);
        rc = lx_msg_decode(sb.buf, sb.len, &arena, &m, &err);
        CHECK_MSG(rc == LX_OK && m.type == LX_MSG_READY && m.credit == 1, "1 as %s: %s", ones[i],
                  err.message);
    }
    /* Negative values in signed forms stay refused for unsigned fields. */
    sb.len = 0;
    s_asm(&sb, "83 a5'proto' 01 a4'type' a5'READY' a6'credit' d1 ff 00");
    s_refused(sb.buf, sb.len, LX_E_BADMSG, "READY.credit: negative value -256", "credit -256");
    /* A float is no integer, even a whole one. */
    sb.len = 0;
    s_asm(&sb, "83 a5'proto' 01 a4'type' a5'READY' a6'credit' ca 3f 80 00 00");
    s_refused(sb.buf, sb.len, LX_E_BADMSG,
              "READY.credit: expected an unsigned integer, found a float", "credit float");
    lx_strbuf_release(&sb);
    lx_arena_release(&arena);
}

/* ---- docs/protocol.md's tables ---------------------------------------- */

static const char *const s_kind_doc[] = {"u64",  "i64", "f64",   "bool",  "str",   "id",      "hex",
                                         "path", "bin", "[i64]", "[u64]", "[f64]", "[record]"};

static void s_doc_size(uint64_t v, const char *unit, char *buf, size_t n)
{
    if (v >= (1u << 20) && v % (1u << 20) == 0)
        snprintf(buf, n, "%llu MiB", (unsigned long long)(v >> 20));
    else
        snprintf(buf, n, "%llu %s", (unsigned long long)v, unit);
}

static void s_doc_row(lx_strbuf_t *sb, const lx_field_desc_t *f, const char *extra)
{
    char lim[64], size[32];
    switch (f->kind) {
    case LX_FK_U64:
        if (f->max == UINT64_MAX)
            snprintf(lim, sizeof lim, "0 to 2^64-1");
        else
            snprintf(lim, sizeof lim, "0 to %llu", (unsigned long long)f->max);
        break;
    case LX_FK_I64:
        if (f->max == INT64_MAX)
            snprintf(lim, sizeof lim, "±(2^63-1)");
        else
            snprintf(lim, sizeof lim, "±%llu", (unsigned long long)f->max);
        break;
    case LX_FK_F64:
        snprintf(lim, sizeof lim, "any double");
        break;
    case LX_FK_BOOL:
        snprintf(lim, sizeof lim, "—");
        break;
    case LX_FK_HEX:
        snprintf(lim, sizeof lim, "exactly %llu digits", (unsigned long long)f->max);
        break;
    case LX_FK_ID:
        s_doc_size(f->max, "bytes", size, sizeof size);
        snprintf(lim, sizeof lim, "1 to %s", size);
        break;
    case LX_FK_STR:
    case LX_FK_PATH:
    case LX_FK_BIN:
        s_doc_size(f->max, "bytes", size, sizeof size);
        snprintf(lim, sizeof lim, "≤ %s", size);
        break;
    default:
        s_doc_size(f->max, "entries", size, sizeof size);
        snprintf(lim, sizeof lim, "≤ %s", size);
        break;
    }
    if (f->kind == LX_FK_RECS)
        lx_strbuf_addf(sb, "| `%s` | [%s](#%s-records) | %s |%s\n", f->name, f->record->name,
                       f->record->name, lim, extra);
    else
        lx_strbuf_addf(sb, "| `%s` | %s | %s |%s\n", f->name, s_kind_doc[f->kind], lim, extra);
}

static void s_doc_fields(lx_strbuf_t *sb, uint64_t bits)
{
    const lx_rec_desc_t *d = lx_msg_fields();
    const char *sep = "";
    for (uint32_t i = 0; i < d->n_fields; i++)
        if (bits >> i & 1) {
            lx_strbuf_addf(sb, "%s`%s`", sep, d->fields[i].name);
            sep = ", ";
        }
    if (!*sep)
        lx_strbuf_adds(sb, "—");
}

/* The field, type and record tables of docs/protocol.md, from the
 * descriptors: `test_msg --doc-tables` prints them, test_docs checks that
 * the page holds them verbatim. */
static void s_doc_tables(lx_strbuf_t *sb)
{
    lx_strbuf_adds(sb, "<!-- Generated from proto/include/lattice/msg.h by `build/tests/test_msg "
                       "--doc-tables`;\n     test_msg fails while this differs. -->\n");
    lx_strbuf_adds(sb, "### Fields\n\n| field | kind | limit |\n|---|---|---|\n");
    const lx_rec_desc_t *d = lx_msg_fields();
    for (uint32_t i = 0; i < d->n_fields; i++)
        s_doc_row(sb, &d->fields[i], "");
    lx_strbuf_adds(sb, "\n### What each type carries\n\n| type | must carry | may also carry |\n"
                       "|---|---|---|\n");
    for (int t = LX_MSG_NONE + 1; t < LX_MSG_TYPE_COUNT_; t++) {
        uint64_t may, must;
        lx_msg_type_fields((lx_msg_type_t)t, &may, &must);
        lx_strbuf_addf(sb, "| %s | ", lx_msg_type_name((lx_msg_type_t)t));
        s_doc_fields(sb, must);
        lx_strbuf_adds(sb, " | ");
        s_doc_fields(sb, may & ~must);
        lx_strbuf_adds(sb, " |\n");
    }
    lx_strbuf_adds(sb, "\n### Records\n");
    const lx_rec_desc_t *done[8];
    size_t n_done = 0;
    for (uint32_t i = 0; i < d->n_fields; i++) {
        const lx_rec_desc_t *r = d->fields[i].record;
        bool seen = false;
        for (size_t k = 0; k < n_done; k++)
            seen |= done[k] == r;
        if (!r || seen || n_done == 8)
            continue;
        done[n_done++] = r;
        lx_strbuf_addf(sb,
                       "\n#### %s records\n\nIn `%s`.\n\n| field | kind | limit | required |\n"
                       "|---|---|---|---|\n",
                       r->name, d->fields[i].name);
        for (uint32_t k = 0; k < r->n_fields; k++)
            s_doc_row(sb, &r->fields[k], r->required >> k & 1 ? " yes |" : " |");
    }
    lx_strbuf_adds(sb, "<!-- End of generated tables. -->\n");
}

static void test_docs(void)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    s_doc_tables(&sb);
    size_t len = 0;
    char *doc = t_read("docs/protocol.md", &len);
    CHECK_MSG(doc && strstr(doc, sb.buf),
              "docs/protocol.md's message tables differ from msg.h: replace them with the output "
              "of `test_msg --doc-tables`");
    free(doc);
    lx_strbuf_release(&sb);
}

/* ---- the seed corpus -------------------------------------------------- */

static int s_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

static int s_write_corpus(const char *dir)
{
    int bad = 0;
    for (int t = LX_MSG_NONE + 1; t < LX_MSG_TYPE_COUNT_; t++) {
        for (int v = 0; v < V_COUNT; v++) {
            /* The maxima make big files; the fuzzer's inputs stay small. */
            if (v == V_MAX)
                continue;
            lx_arena_t vals;
            lx_arena_init(&vals, NULL);
            lx_msg_t m;
            s_fill_msg(&vals, (lx_msg_type_t)t, (variant_t)v, &m);
            lx_strbuf_t enc;
            char name[64];
            snprintf(name, sizeof name, "seed_%s_%s", lx_msg_type_name((lx_msg_type_t)t),
                     s_variant_names[v]);
            if (s_encode(&m, &enc, name) && enc.len <= 16384)
                bad |= s_write_file(dir, name, enc.buf, enc.len);
            lx_strbuf_release(&enc);
            lx_arena_release(&vals);
        }
    }
    static const struct {
        const char *name, *spec;
    } raw[] = {
        {"seed_hello_bytes", s_hello_bytes},
        {"seed_frame_bytes", s_frame_bytes},
        {"seed_frame_lenient", s_frame_lenient},
        {"bad_map32_claim", "df ff ff ff ff 00 00 00 00 00"},
        {"bad_unknown_array32", "81 a1'x' dd ff ff ff ff 00 00"},
        {"bad_resumed_array32", "84 a5'proto' 01 a4'type' a5'HELLO' a7'resumed' dd ff ff ff ff 00"},
        {"bad_proto_2", "82 a5'proto' 02 a4'type' a9'HEARTBEAT'"},
        {"bad_type", "82 a5'proto' 01 a4'type' a4'NOPE'"},
        {"bad_duplicate", "83 a5'proto' 01 a4'type' a9'HEARTBEAT' a5'proto' 01"},
        {"bad_deep", "83 a5'proto' 01 a4'type' a9'HEARTBEAT' a1'x' 91 91 91 91 91 91 91 91 01"},
        {"bad_path", "84 a5'proto' 01 a4'type' a6'CANCEL' a7'attempt' 01 a3'job' a2'..'"},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        s_asm(&sb, raw[i].spec);
        bad |= s_write_file(dir, raw[i].name, sb.buf, sb.len);
        lx_strbuf_release(&sb);
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return s_write_corpus(argv[2]);
    if (argc == 2 && strcmp(argv[1], "--doc-tables") == 0) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        s_doc_tables(&sb);
        fputs(sb.buf, stdout);
        lx_strbuf_release(&sb);
        return 0;
    }
    test_tables();
    test_round_trips();
    test_required_and_allowed();
    test_limits();
    test_bad_text();
    test_envelope();
    test_unknown_keys();
    test_truncations();
    test_claimed_lengths();
    test_alloc_failures();
    test_big();
    test_wire_format();
    test_docs();
    TEST_MAIN_END();
}
