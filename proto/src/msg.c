/* Cluster messages <-> msgpack (lattice/msg.h, docs/protocol.md "Messages").
 *
 * Everything here is one generic walk over descriptor tables generated from
 * msg.h's X-macros: validation (which also sizes the encoding), packing, and
 * decoding. A field added to a table is encoded, decoded, validated,
 * documented by the tables' users and round-trip tested without a line here.
 *
 * Decoding reads with mp_reader.h's bounds-checked reader in its lenient
 * dialect (other languages' packers choose other integer widths, float32,
 * integers for whole floats, any key order), never with msgpack-c's
 * unpacker: it would allocate whatever a length claims. A map is read in
 * two steps: first its keys, with every value skipped (which checks bounds
 * and nesting of everything, unknown keys included), then the values of
 * the known keys. The message's type can thus come after its fields. */
#include "lattice/msg.h"

#include <assert.h>
#include <msgpack.h>
#include <stddef.h>
#include <string.h>

#include "lattice/names.h" /* an ID is a name; a PATH follows the export directory's rule */
#include "mp_reader.h"

#define MAX_KEYS 64    /* keys of a message or record map */
#define MAX_DEPTH 8    /* nested maps and arrays, the message map included */
#define MAX_KEY_LEN 64 /* bytes of a key, known or not */

/* ---- descriptor tables ------------------------------------------------ */

/* Record ids, so that the C type of a RECS member can be checked against
 * the record named in its row at compile time. */
enum { S_REC_ID_none, S_REC_ID_file, S_REC_ID_job, S_REC_ID_worker };

#define S_TEXT_KIND(k)                                                                             \
    ((k) == LX_FK_STR || (k) == LX_FK_ID || (k) == LX_FK_HEX || (k) == LX_FK_PATH)
#define S_TYPE_OK(k, rec, lv)                                                                      \
    _Generic((lv),                                                                                 \
        uint64_t: (k) == LX_FK_U64,                                                                \
        int64_t: (k) == LX_FK_I64,                                                                 \
        double: (k) == LX_FK_F64,                                                                  \
        bool: (k) == LX_FK_BOOL,                                                                   \
        const char *: S_TEXT_KIND(k),                                                              \
        lx_bytes_t: (k) == LX_FK_BIN,                                                              \
        lx_i64s_t: (k) == LX_FK_I64S,                                                              \
        lx_u64s_t: (k) == LX_FK_U64S,                                                              \
        lx_f64s_t: (k) == LX_FK_F64S,                                                              \
        lx_file_recs_t: (k) == LX_FK_RECS && S_REC_ID_##rec == S_REC_ID_file,                      \
        lx_job_recs_t: (k) == LX_FK_RECS && S_REC_ID_##rec == S_REC_ID_job,                        \
        lx_worker_recs_t: (k) == LX_FK_RECS && S_REC_ID_##rec == S_REC_ID_worker,                  \
        default: 0)
/* The member's C type fits its kind, only RECS rows name a record, an I64
 * limit can be negated, names fit a fixstr (the encoder's size sum and the
 * decoder's smallest-record bound assume it). */
#define S_CHECK(m, k, t, max, rec)                                                                 \
    _Static_assert(S_TYPE_OK(k, rec, ((S_STRUCT *)0)->m) &&                                        \
                       ((k) == LX_FK_RECS) == (S_REC_ID_##rec != S_REC_ID_none) &&                 \
                       ((k) != LX_FK_I64 || (uint64_t)(max) <= INT64_MAX) && sizeof(#m) <= 32,     \
                   "msg.h: row '" #m "' is inconsistent");
#define S_ROW(m, k, t, max, rec) {#m, k, (uint64_t)(max), offsetof(S_STRUCT, m), S_REC_##rec},
#define S_REC_none NULL

#define S_STRUCT lx_file_rec_t
LX_FILE_REC_FIELDS(S_CHECK)
static const lx_field_desc_t s_file_fields[] = {LX_FILE_REC_FIELDS(S_ROW)};
#undef S_STRUCT
#define S_STRUCT lx_job_rec_t
LX_JOB_REC_FIELDS(S_CHECK)
static const lx_field_desc_t s_job_fields[] = {LX_JOB_REC_FIELDS(S_ROW)};
#undef S_STRUCT
#define S_STRUCT lx_worker_rec_t
LX_WORKER_REC_FIELDS(S_CHECK)
static const lx_field_desc_t s_worker_fields[] = {LX_WORKER_REC_FIELDS(S_ROW)};
#undef S_STRUCT

/* Records keep `has` first: the generic code finds it at offset 0. */
_Static_assert(offsetof(lx_file_rec_t, has) == 0 && offsetof(lx_job_rec_t, has) == 0 &&
                   offsetof(lx_worker_rec_t, has) == 0,
               "records start with has");
_Static_assert(LX_MF_COUNT_ <= 64 && LX_FRF_COUNT_ <= 64 && LX_JRF_COUNT_ <= 64 &&
                   LX_WRF_COUNT_ <= 64,
               "a has mask holds at most 64 fields");
_Static_assert((LX_FILE_REC_REQUIRED >> LX_FRF_COUNT_) == 0 &&
                   (LX_JOB_REC_REQUIRED >> LX_JRF_COUNT_) == 0 &&
                   (LX_WORKER_REC_REQUIRED >> LX_WRF_COUNT_) == 0,
               "required bits name fields");

#define S_N(a) ((uint32_t)(sizeof a / sizeof a[0]))
static const lx_rec_desc_t s_file_rec = {"file", s_file_fields, S_N(s_file_fields),
                                         sizeof(lx_file_rec_t), LX_FILE_REC_REQUIRED};
static const lx_rec_desc_t s_job_rec = {"job", s_job_fields, S_N(s_job_fields),
                                        sizeof(lx_job_rec_t), LX_JOB_REC_REQUIRED};
static const lx_rec_desc_t s_worker_rec = {"worker", s_worker_fields, S_N(s_worker_fields),
                                           sizeof(lx_worker_rec_t), LX_WORKER_REC_REQUIRED};

#define S_REC_file (&s_file_rec)
#define S_REC_job (&s_job_rec)
#define S_REC_worker (&s_worker_rec)
#define S_STRUCT lx_msg_t
LX_MSG_FIELDS(S_CHECK)
static const lx_field_desc_t s_msg_fields[] = {LX_MSG_FIELDS(S_ROW)};
#undef S_STRUCT
static const lx_rec_desc_t s_msg_rec = {"message", s_msg_fields, S_N(s_msg_fields),
                                        sizeof(lx_msg_t), 0};

static const struct {
    const char *name;
    uint64_t may, must;
} s_types[LX_MSG_TYPE_COUNT_] = {
#define S_TYPE(name, may, must) [LX_MSG_##name] = {#name, (may), (must)},
    LX_MSG_TYPES(S_TYPE)
#undef S_TYPE
};
#define S_TYPE_CHECK(name, may, must)                                                              \
    _Static_assert(((must) & ~(may)) == 0, "msg.h: " #name " must carry a field it may not");
LX_MSG_TYPES(S_TYPE_CHECK)

const char *lx_msg_type_name(lx_msg_type_t type)
{
    return type > LX_MSG_NONE && type < LX_MSG_TYPE_COUNT_ ? s_types[type].name : "?";
}

const lx_rec_desc_t *lx_msg_fields(void) { return &s_msg_rec; }

bool lx_msg_type_fields(lx_msg_type_t type, uint64_t *may, uint64_t *must)
{
    if (type <= LX_MSG_NONE || type >= LX_MSG_TYPE_COUNT_)
        return false;
    if (may)
        *may = s_types[type].may;
    if (must)
        *must = s_types[type].must;
    return true;
}

/* ---- rules shared by encoder and decoder ------------------------------ */

/* Checks a text value (NUL-terminated at len; the reader refuses a NUL
 * inside, a C string cannot hold one) against its kind's rules. On failure
 * writes why and returns LX_E_LIMIT (too long) or LX_E_BADMSG. */
static lx_result_t s_text_rule(const lx_field_desc_t *f, const char *s, size_t len, char *why,
                               size_t size)
{
    char q[80];
    if (len > f->max) {
        snprintf(why, size, "string of %zu bytes exceeds %llu", len, (unsigned long long)f->max);
        return LX_E_LIMIT;
    }
    switch (f->kind) {
    case LX_FK_HEX:
        if (len != f->max) {
            snprintf(why, size, "expected %llu hex digits, found %zu bytes",
                     (unsigned long long)f->max, len);
            return LX_E_BADMSG;
        }
        for (size_t k = 0; k < len; k++)
            if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f'))) {
                snprintf(why, size, "expected %llu hex digits, found '%s' at byte %zu",
                         (unsigned long long)f->max, lx_mp_quote(s + k, 1, q, sizeof q), k);
                return LX_E_BADMSG;
            }
        return LX_OK;
    case LX_FK_ID: {
        /* An id is a name (lattice/names.h): never "." or "..", since it may
         * become a path component. Its length was checked above. */
        size_t at = 0;
        lx_name_fault_t fault = lx_name_check(s, len, f->max, &at);
        if (fault == LX_NAME_EMPTY)
            snprintf(why, size, "empty identifier");
        else if (fault == LX_NAME_BAD_CHAR)
            snprintf(why, size, "character '%s' not allowed in an identifier (A-Z a-z 0-9 . _ -)",
                     lx_mp_quote(s + at, 1, q, sizeof q));
        else if (fault != LX_NAME_OK)
            snprintf(why, size, "'%s' is not an identifier", s);
        return fault == LX_NAME_OK ? LX_OK : LX_E_BADMSG;
    }
    case LX_FK_PATH:
        /* The export directory's own rule, so that whatever a message
         * names can be joined under an output root. */
        if (!lx_name_relpath_valid(s)) {
            snprintf(why, size,
                     "unsafe path '%s' (components of A-Z a-z 0-9 . _ - joined by single '/', "
                     "none '.' or '..')",
                     lx_mp_quote(s, len, q, sizeof q));
            return LX_E_BADMSG;
        }
        return LX_OK;
    default:
        return LX_OK;
    }
}

static const lx_field_desc_t *s_find(const lx_rec_desc_t *d, const char *key, size_t len)
{
    for (uint32_t i = 0; i < d->n_fields; i++)
        if (strlen(d->fields[i].name) == len && memcmp(d->fields[i].name, key, len) == 0)
            return &d->fields[i];
    return NULL;
}

static uint64_t s_all(const lx_rec_desc_t *d)
{
    return d->n_fields == 64 ? UINT64_MAX : (1ull << d->n_fields) - 1;
}

/* ---- validation and size ---------------------------------------------- */

/* The bytes msgpack-c's packer writes for each header (shortest forms). */
static uint64_t s_uint_size(uint64_t v)
{
    return v < 128 ? 1 : v <= UINT8_MAX ? 2 : v <= UINT16_MAX ? 3 : v <= UINT32_MAX ? 5 : 9;
}

static uint64_t s_int_size(int64_t v)
{
    if (v >= 0)
        return s_uint_size((uint64_t)v);
    return v >= -32 ? 1 : v >= INT8_MIN ? 2 : v >= INT16_MIN ? 3 : v >= INT32_MIN ? 5 : 9;
}

static uint64_t s_str_size(uint64_t n)
{
    return n + (n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5);
}
static uint64_t s_bin_size(uint64_t n)
{
    return n + (n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5);
}
static uint64_t s_array_size(uint64_t n) { return n < 16 ? 1 : n <= UINT16_MAX ? 3 : 5; }

static lx_result_t s_check_fields(lx_mp_reader_t *loc, const lx_rec_desc_t *d, uint64_t may,
                                  uint64_t must, const void *base, uint64_t has, uint32_t extra,
                                  uint64_t *size);

/* A list's elements or a record array: at most max, and a table behind a
 * non-zero count. */
static lx_result_t s_check_count(lx_mp_reader_t *loc, const lx_field_desc_t *f, const void *v,
                                 uint32_t n)
{
    if (n > f->max)
        return lx_mp_fail(loc, f->name, LX_E_INVALID, "%u entries exceed %llu", n,
                          (unsigned long long)f->max);
    if (n && !v)
        return lx_mp_fail(loc, f->name, LX_E_INVALID, "%u entries but no array", n);
    return LX_OK;
}

/* Checks one present field against its kind's rules (what the decoder
 * would refuse, as LX_E_INVALID) and adds its encoded size. loc names the
 * place, as the decoder's reader would. */
static lx_result_t s_check_value(lx_mp_reader_t *loc, const lx_field_desc_t *f, const void *p,
                                 uint64_t *size)
{
    char why[192];
    switch (f->kind) {
    case LX_FK_U64: {
        uint64_t v = *(const uint64_t *)p;
        if (v > f->max)
            return lx_mp_fail(loc, f->name, LX_E_INVALID, "value %llu exceeds %llu",
                              (unsigned long long)v, (unsigned long long)f->max);
        *size += s_uint_size(v);
        return LX_OK;
    }
    case LX_FK_I64: {
        int64_t v = *(const int64_t *)p;
        if (v > (int64_t)f->max || v < -(int64_t)f->max)
            return lx_mp_fail(loc, f->name, LX_E_INVALID, "value %lld is outside +-%llu",
                              (long long)v, (unsigned long long)f->max);
        *size += s_int_size(v);
        return LX_OK;
    }
    case LX_FK_F64:
        *size += 9;
        return LX_OK;
    case LX_FK_BOOL:
        *size += 1;
        return LX_OK;
    case LX_FK_STR:
    case LX_FK_ID:
    case LX_FK_HEX:
    case LX_FK_PATH: {
        const char *s = *(const char *const *)p;
        if (!s)
            return lx_mp_fail(loc, f->name, LX_E_INVALID, "NULL string");
        size_t len = strlen(s);
        if (s_text_rule(f, s, len, why, sizeof why) != LX_OK)
            return lx_mp_fail(loc, f->name, LX_E_INVALID, "%s", why);
        *size += s_str_size(len);
        return LX_OK;
    }
    case LX_FK_BIN: {
        const lx_bytes_t *b = p;
        if (b->len > f->max)
            return lx_mp_fail(loc, f->name, LX_E_INVALID, "bin of %zu bytes exceeds %llu", b->len,
                              (unsigned long long)f->max);
        if (b->len && !b->data)
            return lx_mp_fail(loc, f->name, LX_E_INVALID, "%zu bytes but no data", b->len);
        *size += s_bin_size(b->len);
        return LX_OK;
    }
    case LX_FK_I64S: {
        const lx_i64s_t *l = p;
        LX_MP_TRY(s_check_count(loc, f, l->v, l->n));
        *size += s_array_size(l->n);
        for (uint32_t k = 0; k < l->n; k++) {
            if (l->v[k] < -INT64_MAX)
                return lx_mp_fail(loc, f->name, LX_E_INVALID, "element %u is below -%lld", k,
                                  (long long)INT64_MAX);
            *size += s_int_size(l->v[k]);
        }
        return LX_OK;
    }
    case LX_FK_U64S: {
        const lx_u64s_t *l = p;
        LX_MP_TRY(s_check_count(loc, f, l->v, l->n));
        *size += s_array_size(l->n);
        for (uint32_t k = 0; k < l->n; k++)
            *size += s_uint_size(l->v[k]);
        return LX_OK;
    }
    case LX_FK_F64S: {
        const lx_f64s_t *l = p;
        LX_MP_TRY(s_check_count(loc, f, l->v, l->n));
        *size += s_array_size(l->n) + 9ull * l->n;
        return LX_OK;
    }
    case LX_FK_RECS: {
        /* All three record arrays share this layout. */
        const lx_file_recs_t *l = p;
        const lx_rec_desc_t *d = f->record;
        LX_MP_TRY(s_check_count(loc, f, l->v, l->n));
        *size += s_array_size(l->n);
        char table[160];
        lx_mp_where(loc, f->name, table, sizeof table);
        lx_mp_reader_t in = *loc;
        in.table = table;
        for (uint32_t k = 0; k < l->n; k++) {
            const void *rec = (const char *)l->v + (size_t)k * d->size;
            in.index = k;
            LX_MP_TRY(
                s_check_fields(&in, d, s_all(d), d->required, rec, *(const uint64_t *)rec, 0, size));
        }
        return LX_OK;
    }
    }
    return lx_mp_fail(loc, f->name, LX_E_INVALID, "unknown field kind %d", (int)f->kind);
}

/* Checks the fields of a message or record and adds the size of its map,
 * which holds `extra` pairs besides the fields (a message's proto and
 * type): the header grows from 1 to 3 bytes at 16 pairs. */
static lx_result_t s_check_fields(lx_mp_reader_t *loc, const lx_rec_desc_t *d, uint64_t may,
                                  uint64_t must, const void *base, uint64_t has, uint32_t extra,
                                  uint64_t *size)
{
    if (has & ~may) {
        unsigned bit = 0;
        while (!((has & ~may) >> bit & 1))
            bit++;
        if (bit >= d->n_fields)
            return lx_mp_fail(loc, NULL, LX_E_INVALID, "has bit %u names no field", bit);
        return lx_mp_fail(loc, d->fields[bit].name, LX_E_INVALID, "not carried by %s", loc->root);
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->n_fields; i++) {
        const lx_field_desc_t *f = &d->fields[i];
        if (!(has >> i & 1)) {
            if (must >> i & 1)
                return lx_mp_fail(loc, f->name, LX_E_INVALID, "missing");
            continue;
        }
        n++;
        *size += s_str_size(strlen(f->name));
        LX_MP_TRY(s_check_value(loc, f, (const char *)base + f->offset, size));
    }
    *size += s_array_size(n + extra); /* a map header has the array's sizes */
    return LX_OK;
}

/* ---- encoding --------------------------------------------------------- */

static int s_write(void *data, const char *buf, size_t len)
{
    lx_strbuf_t *sb = data;
    if (len == 0)
        return 0; /* an empty body may come with a NULL pointer */
    size_t was = sb->len;
    lx_strbuf_add(sb, buf, len);
    return sb->len == was + len ? 0 : -1;
}

static int s_pack_fields(msgpack_packer *pk, const lx_rec_desc_t *d, const void *base,
                         uint64_t has);

static int s_pack_value(msgpack_packer *pk, const lx_field_desc_t *f, const void *p)
{
#define P(call)                                                                                    \
    do {                                                                                           \
        if ((call) != 0)                                                                           \
            return -1;                                                                             \
    } while (0)
    switch (f->kind) {
    case LX_FK_U64:
        return msgpack_pack_uint64(pk, *(const uint64_t *)p);
    case LX_FK_I64:
        return msgpack_pack_int64(pk, *(const int64_t *)p);
    case LX_FK_F64:
        return msgpack_pack_double(pk, *(const double *)p);
    case LX_FK_BOOL:
        return *(const bool *)p ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case LX_FK_STR:
    case LX_FK_ID:
    case LX_FK_HEX:
    case LX_FK_PATH: {
        const char *s = *(const char *const *)p;
        return msgpack_pack_str_with_body(pk, s, strlen(s));
    }
    case LX_FK_BIN: {
        const lx_bytes_t *b = p;
        return msgpack_pack_bin_with_body(pk, b->data, b->len);
    }
    case LX_FK_I64S: {
        const lx_i64s_t *l = p;
        P(msgpack_pack_array(pk, l->n));
        for (uint32_t k = 0; k < l->n; k++)
            P(msgpack_pack_int64(pk, l->v[k]));
        return 0;
    }
    case LX_FK_U64S: {
        const lx_u64s_t *l = p;
        P(msgpack_pack_array(pk, l->n));
        for (uint32_t k = 0; k < l->n; k++)
            P(msgpack_pack_uint64(pk, l->v[k]));
        return 0;
    }
    case LX_FK_F64S: {
        const lx_f64s_t *l = p;
        P(msgpack_pack_array(pk, l->n));
        for (uint32_t k = 0; k < l->n; k++)
            P(msgpack_pack_double(pk, l->v[k]));
        return 0;
    }
    case LX_FK_RECS: {
        const lx_file_recs_t *l = p;
        P(msgpack_pack_array(pk, l->n));
        for (uint32_t k = 0; k < l->n; k++) {
            const void *rec = (const char *)l->v + (size_t)k * f->record->size;
            P(s_pack_fields(pk, f->record, rec, *(const uint64_t *)rec));
        }
        return 0;
    }
    }
    return -1;
}

/* A map of the present fields in table order, after `extra` pairs the
 * caller writes first. */
static int s_pack_map(msgpack_packer *pk, const lx_rec_desc_t *d, const void *base, uint64_t has,
                      uint32_t extra, const char *type)
{
    uint32_t n = extra;
    for (uint32_t i = 0; i < d->n_fields; i++)
        n += (uint32_t)(has >> i & 1);
    P(msgpack_pack_map(pk, n));
    if (type) {
        P(msgpack_pack_str_with_body(pk, "proto", 5));
        P(msgpack_pack_uint32(pk, LX_PROTO_VERSION));
        P(msgpack_pack_str_with_body(pk, "type", 4));
        P(msgpack_pack_str_with_body(pk, type, strlen(type)));
    }
    for (uint32_t i = 0; i < d->n_fields; i++) {
        const lx_field_desc_t *f = &d->fields[i];
        if (has >> i & 1) {
            P(msgpack_pack_str_with_body(pk, f->name, strlen(f->name)));
            P(s_pack_value(pk, f, (const char *)base + f->offset));
        }
    }
    return 0;
#undef P
}

static int s_pack_fields(msgpack_packer *pk, const lx_rec_desc_t *d, const void *base, uint64_t has)
{
    return s_pack_map(pk, d, base, has, 0, NULL);
}

lx_result_t lx_msg_encode(const lx_msg_t *m, lx_strbuf_t *out, lx_error_t *err)
{
    if (!m || !out)
        return lx_fail(err, LX_E_INVALID, "no message or no output buffer");
    const char *type = lx_msg_type_name(m->type);
    if (m->type <= LX_MSG_NONE || m->type >= LX_MSG_TYPE_COUNT_)
        return lx_fail(err, LX_E_INVALID, "message: unknown type %d", (int)m->type);
    lx_mp_reader_t loc = {.err = err, .root = type, .table = type, .index = LX_MP_NO_INDEX};
    /* proto: 1 and the type come first. */
    uint64_t size =
        s_str_size(5) + s_uint_size(LX_PROTO_VERSION) + s_str_size(4) + s_str_size(strlen(type));
    LX_MP_TRY(s_check_fields(&loc, &s_msg_rec, s_types[m->type].may, s_types[m->type].must, m,
                             m->has, 2, &size));
    if (size > LX_MSG_MAX_BYTES)
        return lx_fail(err, LX_E_LIMIT, "%s: encoded message of %llu bytes exceeds %u", type,
                       (unsigned long long)size, (unsigned)LX_MSG_MAX_BYTES);
    size_t start = out->len;
    bool failed = out->failed;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_write);
    if (s_pack_map(&pk, &s_msg_rec, m, m->has, 2, type) == 0) {
        /* The size the limit was checked on is the size written. */
        assert(out->len - start == size);
        return LX_OK;
    }
    /* Nothing of a failed encoding stays in out. */
    out->len = start;
    out->buf[start] = '\0';
    out->failed = failed;
    return lx_fail(err, LX_E_NOMEM, "out of memory");
}

/* ---- decoding --------------------------------------------------------- */

typedef struct {
    const char *key;
    size_t len;
    const uint8_t *value;
} entry_t;

/* Reads a map's header and keys, skipping every value (so that bounds and
 * nesting of all of it, unknown keys included, are checked): at most
 * MAX_KEYS string keys, none twice. level is the map's nesting level. */
static lx_result_t s_map_entries(lx_mp_reader_t *r, unsigned level, entry_t *e, uint32_t *n)
{
    LX_MP_TRY(lx_mp_count(r, NULL, LX_MP_MAP, MAX_KEYS, 2, n));
    for (uint32_t k = 0; k < *n; k++) {
        char q[MAX_KEY_LEN * 4 + 8];
        lx_mp_token_t t;
        LX_MP_TRY(lx_mp_next(r, NULL, &t));
        if (t.kind != LX_MP_STR)
            return lx_mp_fail(r, NULL, LX_E_BADMSG, "key %u is %s, not a string", k,
                              lx_mp_kind_name(t.kind));
        if (t.u > MAX_KEY_LEN)
            return lx_mp_fail(r, NULL, LX_E_LIMIT, "key %u of %llu bytes exceeds %u", k,
                              (unsigned long long)t.u, MAX_KEY_LEN);
        e[k].key = (const char *)r->p;
        e[k].len = (size_t)t.u;
        r->p += t.u;
        lx_mp_quote(e[k].key, e[k].len, q, sizeof q);
        for (uint32_t j = 0; j < k; j++)
            if (e[j].len == e[k].len && memcmp(e[j].key, e[k].key, e[k].len) == 0)
                return lx_mp_fail(r, NULL, LX_E_BADMSG, "duplicate key '%s'", q);
        e[k].value = r->p;
        LX_MP_TRY(lx_mp_skip(r, q, MAX_DEPTH - level));
    }
    return LX_OK;
}

/* The smallest encoding of a value of the field's kind that decodes, for
 * the count-against-bytes-left check of record arrays. */
static size_t s_min_value(const lx_field_desc_t *f)
{
    switch (f->kind) {
    case LX_FK_ID:
    case LX_FK_PATH:
        return 2; /* one character */
    case LX_FK_HEX:
        return (size_t)s_str_size(f->max);
    case LX_FK_BIN:
        return 2;
    default:
        return 1;
    }
}

static size_t s_min_record(const lx_rec_desc_t *d)
{
    size_t n = 1;
    for (uint32_t i = 0; i < d->n_fields; i++)
        if (d->required >> i & 1)
            n += 1 + strlen(d->fields[i].name) + s_min_value(&d->fields[i]);
    return n;
}

static lx_result_t s_decode_fields(lx_mp_reader_t *r, const lx_rec_desc_t *d, uint64_t may,
                                   uint64_t must, const entry_t *e, uint32_t n, void *base,
                                   uint64_t *has, unsigned level);

/* A list or record array header: the entries are allocated (zeroed) only
 * after the count passed the field's maximum and the bytes left. */
static lx_result_t s_list(lx_mp_reader_t *r, const lx_field_desc_t *f, size_t min_entry,
                          size_t entry_size, void **v, uint32_t *n)
{
    LX_MP_TRY(lx_mp_count(r, f->name, LX_MP_ARRAY, f->max, min_entry, n));
    if (*n == 0)
        return LX_OK;
    *v = lx_arena_calloc(r->arena, *n, entry_size);
    return *v ? LX_OK : lx_fail(r->err, LX_E_NOMEM, "out of memory");
}

static lx_result_t s_decode_value(lx_mp_reader_t *r, const lx_field_desc_t *f, void *p,
                                  unsigned level)
{
    lx_mp_token_t t;
    switch (f->kind) {
    case LX_FK_U64:
        return lx_mp_uint(r, f->name, f->max, p);
    case LX_FK_I64: {
        int64_t v;
        LX_MP_TRY(lx_mp_i64(r, f->name, &v));
        if (v > (int64_t)f->max || v < -(int64_t)f->max)
            return lx_mp_fail(r, f->name, LX_E_BADMSG, "value %lld is outside +-%llu", (long long)v,
                              (unsigned long long)f->max);
        *(int64_t *)p = v;
        return LX_OK;
    }
    case LX_FK_F64:
        return lx_mp_f64(r, f->name, p);
    case LX_FK_BOOL:
        LX_MP_TRY(lx_mp_expect(r, f->name, LX_MP_BOOL, &t));
        *(bool *)p = t.b;
        return LX_OK;
    case LX_FK_STR:
    case LX_FK_ID:
    case LX_FK_HEX:
    case LX_FK_PATH: {
        const char *s;
        size_t len;
        char why[192];
        /* Copied once its length passed the field's maximum; the rules
         * then read the NUL-terminated copy. */
        LX_MP_TRY(lx_mp_str_view(r, f->name, f->max, &s, &len));
        char *copy = lx_arena_strndup(r->arena, s, len);
        if (!copy)
            return lx_fail(r->err, LX_E_NOMEM, "out of memory");
        lx_result_t rc = s_text_rule(f, copy, len, why, sizeof why);
        if (rc != LX_OK)
            return lx_mp_fail(r, f->name, rc, "%s", why);
        *(const char **)p = copy;
        return LX_OK;
    }
    case LX_FK_BIN: {
        lx_bytes_t *b = p;
        LX_MP_TRY(lx_mp_expect(r, f->name, LX_MP_BIN, &t));
        if (t.u > f->max)
            return lx_mp_fail(r, f->name, LX_E_LIMIT, "bin of %llu bytes exceeds %llu",
                              (unsigned long long)t.u, (unsigned long long)f->max);
        b->data = r->p;
        b->len = (size_t)t.u;
        r->p += t.u;
        return LX_OK;
    }
    default:
        break;
    }
    /* Lists and records: elements are named table[index]. */
    char table[160];
    lx_mp_where(r, f->name, table, sizeof table);
    lx_mp_reader_t in = *r;
    in.table = table;
    lx_result_t rc = LX_OK;
    switch (f->kind) {
    case LX_FK_I64S: {
        lx_i64s_t *l = p;
        LX_MP_TRY(s_list(r, f, 1, sizeof *l->v, (void **)&l->v, &l->n));
        in.p = r->p;
        for (uint32_t k = 0; k < l->n && rc == LX_OK; k++) {
            in.index = k;
            rc = lx_mp_i64(&in, NULL, &l->v[k]);
            if (rc == LX_OK && l->v[k] < -INT64_MAX)
                rc = lx_mp_fail(&in, NULL, LX_E_BADMSG, "value %lld is below -%lld",
                                (long long)l->v[k], (long long)INT64_MAX);
        }
        break;
    }
    case LX_FK_U64S: {
        lx_u64s_t *l = p;
        LX_MP_TRY(s_list(r, f, 1, sizeof *l->v, (void **)&l->v, &l->n));
        in.p = r->p;
        for (uint32_t k = 0; k < l->n && rc == LX_OK; k++) {
            in.index = k;
            rc = lx_mp_uint(&in, NULL, UINT64_MAX, &l->v[k]);
        }
        break;
    }
    case LX_FK_F64S: {
        lx_f64s_t *l = p;
        LX_MP_TRY(s_list(r, f, 1, sizeof *l->v, (void **)&l->v, &l->n));
        in.p = r->p;
        for (uint32_t k = 0; k < l->n && rc == LX_OK; k++) {
            in.index = k;
            rc = lx_mp_f64(&in, NULL, &l->v[k]);
        }
        break;
    }
    case LX_FK_RECS: {
        lx_file_recs_t *l = p; /* all three record arrays share this layout */
        const lx_rec_desc_t *d = f->record;
        LX_MP_TRY(s_list(r, f, s_min_record(d), d->size, (void **)&l->v, &l->n));
        in.p = r->p;
        for (uint32_t k = 0; k < l->n && rc == LX_OK; k++) {
            entry_t e[MAX_KEYS];
            uint32_t n;
            void *rec = (char *)l->v + (size_t)k * d->size;
            in.index = k;
            rc = s_map_entries(&in, level + 2, e, &n);
            if (rc == LX_OK) {
                const uint8_t *after = in.p;
                rc = s_decode_fields(&in, d, s_all(d), d->required, e, n, rec, rec, level + 2);
                in.p = after;
            }
        }
        break;
    }
    default:
        return lx_mp_fail(r, f->name, LX_E_INTERNAL, "unknown field kind %d", (int)f->kind);
    }
    r->p = in.p;
    return rc;
}

/* Decodes the known keys of a map read by s_map_entries into base: each
 * one a field the map may carry; then every field it must carry present. */
static lx_result_t s_decode_fields(lx_mp_reader_t *r, const lx_rec_desc_t *d, uint64_t may,
                                   uint64_t must, const entry_t *e, uint32_t n, void *base,
                                   uint64_t *has, unsigned level)
{
    for (uint32_t k = 0; k < n; k++) {
        const lx_field_desc_t *f = s_find(d, e[k].key, e[k].len);
        if (!f)
            continue; /* unknown: skipped, for newer peers */
        uint32_t i = (uint32_t)(f - d->fields);
        if (!(may >> i & 1))
            return lx_mp_fail(r, f->name, LX_E_BADMSG, "not carried by %s", r->root);
        r->p = e[k].value;
        LX_MP_TRY(s_decode_value(r, f, (char *)base + f->offset, level));
        *has |= 1ull << i;
    }
    for (uint32_t i = 0; i < d->n_fields; i++)
        if ((must & ~*has) >> i & 1)
            return lx_mp_fail(r, d->fields[i].name, LX_E_BADMSG, "missing");
    return LX_OK;
}

static const entry_t *s_entry(const entry_t *e, uint32_t n, const char *key)
{
    for (uint32_t k = 0; k < n; k++)
        if (e[k].len == strlen(key) && memcmp(e[k].key, key, e[k].len) == 0)
            return &e[k];
    return NULL;
}

static lx_result_t s_decode(lx_mp_reader_t *r, lx_msg_t *m)
{
    entry_t e[MAX_KEYS];
    uint32_t n;
    LX_MP_TRY(s_map_entries(r, 1, e, &n));
    if (r->p != r->end)
        return lx_mp_fail(r, NULL, LX_E_BADMSG, "%zu trailing bytes after the message",
                          lx_mp_left(r));
    /* proto first: another version may have other types. */
    const entry_t *proto = s_entry(e, n, "proto"), *type = s_entry(e, n, "type");
    if (!proto)
        return lx_mp_fail(r, NULL, LX_E_BADMSG, "missing proto");
    uint64_t version;
    r->p = proto->value;
    LX_MP_TRY(lx_mp_uint(r, "proto", UINT64_MAX, &version));
    if (version != LX_PROTO_VERSION)
        return lx_mp_fail(r, "proto", LX_E_BADMSG, "version %llu, expected %u",
                          (unsigned long long)version, LX_PROTO_VERSION);
    if (!type)
        return lx_mp_fail(r, NULL, LX_E_BADMSG, "missing type");
    const char *name;
    size_t len;
    r->p = type->value;
    LX_MP_TRY(lx_mp_str_view(r, "type", UINT64_MAX, &name, &len));
    for (int k = LX_MSG_NONE + 1; k < LX_MSG_TYPE_COUNT_; k++)
        if (strlen(s_types[k].name) == len && memcmp(s_types[k].name, name, len) == 0)
            m->type = (lx_msg_type_t)k;
    if (m->type == LX_MSG_NONE) {
        char q[72];
        return lx_mp_fail(r, "type", LX_E_BADMSG, "unknown message type '%s'",
                          lx_mp_quote(name, len, q, sizeof q));
    }
    /* From here on, places are named after the type: "FRAME.files[3].hash". */
    r->root = r->table = s_types[m->type].name;
    return s_decode_fields(r, &s_msg_rec, s_types[m->type].may, s_types[m->type].must, e, n, m,
                           &m->has, 1);
}

lx_result_t lx_msg_decode(const void *data, size_t len, lx_arena_t *arena, lx_msg_t *out,
                          lx_error_t *err)
{
    if (!out || !arena)
        return lx_fail(err, LX_E_INVALID, "no output message or no arena");
    memset(out, 0, sizeof *out);
    lx_mp_reader_t r;
    lx_result_t rc = lx_mp_reader_init(&r, data, len, LX_MSG_MAX_BYTES, "message", err);
    if (rc != LX_OK)
        return rc;
    r.arena = arena;
    r.table = "message";
    rc = s_decode(&r, out);
    /* No half-decoded message: what was copied stays in the arena until
     * the caller releases it. */
    if (rc != LX_OK)
        memset(out, 0, sizeof *out);
    return rc;
}
