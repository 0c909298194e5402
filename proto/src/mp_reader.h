/* A bounds-checked msgpack reader, internal to liblattice_proto.
 *
 * msgpack-c's unpacker allocates whatever a length claims (msgpack-c #985,
 * #1013), so the decoders of untrusted bytes (the IR codec, cluster
 * messages) read with this instead: one value header at a time, every str,
 * bin and ext body checked against the bytes left before it is looked at,
 * and lx_mp_count() checking array and map lengths against a maximum and
 * against the bytes left (times the smallest element) before the caller
 * allocates anything.
 *
 * Two dialects. Canonical (the IR): every integer and length in its
 * shortest form and floats only as float64, so accepted bytes re-encode to
 * themselves. Lenient (messages, written by other languages' packers): any
 * integer width, signed forms holding non-negative values read as
 * unsigned, float32 or float64.
 *
 * Errors go through lx_mp_fail(), which names the place being read:
 * "table[index].field: what", "table.field: what", "field: what" or
 * "root: what". Not thread-safe; a reader is a cursor on the stack. */
#ifndef LATTICE_MP_READER_H
#define LATTICE_MP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/result.h"

#define LX_MP_NO_INDEX UINT32_MAX

typedef struct lx_mp_reader {
    const uint8_t *p, *end;
    lx_arena_t *arena; /* where lx_mp_str copies strings */
    lx_error_t *err;
    bool canonical;
    const char *root;  /* names the whole value when nothing else applies */
    const char *table; /* where the reader is: table[index].field */
    uint32_t index;    /* LX_MP_NO_INDEX outside a row */
} lx_mp_reader_t;

typedef enum {
    LX_MP_UINT,  /* u: an integer >= 0 */
    LX_MP_NINT,  /* i: an integer < 0 */
    LX_MP_FLOAT, /* d: float64, or float32 widened (lenient only) */
    LX_MP_STR,   /* u: body length; the body follows, in bounds, unread */
    LX_MP_BIN,   /* u: body length; likewise */
    LX_MP_ARRAY, /* u: element count; elements not read, not checked */
    LX_MP_MAP,   /* u: pair count; likewise */
    LX_MP_NIL,
    LX_MP_BOOL, /* b */
    LX_MP_EXT,  /* u: data length (after the type byte, which is skipped) */
} lx_mp_kind_t;

typedef struct lx_mp_token {
    lx_mp_kind_t kind;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
} lx_mp_token_t;

/* Evaluates call, an lx_result_t, and returns it from the enclosing function
 * unless it is LX_OK. */
#define LX_MP_TRY(call)                                                                            \
    do {                                                                                           \
        lx_result_t rc_ = (call);                                                                  \
        if (rc_ != LX_OK)                                                                          \
            return rc_;                                                                            \
    } while (0)

/* Checks a whole input before a decoder reads or allocates anything, and
 * points *r at it: LX_E_BADMSG "<root>: empty" for no bytes, LX_E_INVALID
 * for NULL data, LX_E_LIMIT "<root> of <len> bytes exceeds <max>". On LX_OK
 * *r reads data[0, len) leniently, errors naming root, with no arena and no
 * table: the caller sets those and the dialect. */
lx_result_t lx_mp_reader_init(lx_mp_reader_t *r, const void *data, size_t len, size_t max,
                              const char *root, lx_error_t *err);

/* "an unsigned integer", "a string", ... for messages. */
const char *lx_mp_kind_name(lx_mp_kind_t kind);

/* Records "<where>: <fmt>" in r->err and returns code. field may be NULL. */
lx_result_t lx_mp_fail(const lx_mp_reader_t *r, const char *field, lx_result_t code,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Writes the place lx_mp_fail would name into buf (always terminated), to
 * become the table of a nested level. */
void lx_mp_where(const lx_mp_reader_t *r, const char *field, char *buf, size_t size);

static inline size_t lx_mp_left(const lx_mp_reader_t *r) { return (size_t)(r->end - r->p); }

/* Reads one value's header (see lx_mp_kind_t for what is consumed).
 * LX_E_BADMSG when truncated, for an unknown or (canonical) non-shortest
 * form, and for a str, bin or ext body longer than the bytes left. */
lx_result_t lx_mp_next(lx_mp_reader_t *r, const char *field, lx_mp_token_t *t);

/* lx_mp_next, then LX_E_BADMSG unless the value is of that kind. */
lx_result_t lx_mp_expect(lx_mp_reader_t *r, const char *field, lx_mp_kind_t kind, lx_mp_token_t *t);

/* An unsigned integer of at most max (LX_E_BADMSG otherwise). */
lx_result_t lx_mp_uint(lx_mp_reader_t *r, const char *field, uint64_t max, uint64_t *out);

/* Any integer that fits an int64_t. */
lx_result_t lx_mp_i64(lx_mp_reader_t *r, const char *field, int64_t *out);

/* A float; lenient readers also take float32 and integers. */
lx_result_t lx_mp_f64(lx_mp_reader_t *r, const char *field, double *out);

/* A string's bytes, not copied: at most max of them (LX_E_LIMIT) and no
 * NUL (LX_E_BADMSG). The view points into the input. */
lx_result_t lx_mp_str_view(lx_mp_reader_t *r, const char *field, uint64_t max, const char **s,
                           size_t *len);

/* lx_mp_str_view, copied NUL-terminated into r->arena. */
lx_result_t lx_mp_str(lx_mp_reader_t *r, const char *field, uint64_t max, const char **out);

/* An array or map header (kind) of at most max entries (LX_E_LIMIT), each
 * at least min_entry bytes, all of which must fit in the bytes left
 * (LX_E_BADMSG); for a map an entry is a key and its value. Call it before
 * allocating for the entries. */
lx_result_t lx_mp_count(lx_mp_reader_t *r, const char *field, lx_mp_kind_t kind, uint64_t max,
                        size_t min_entry, uint32_t *n);

/* Skips one value of any kind, containers included, nested at most depth
 * levels (a scalar is level 0; deeper is LX_E_LIMIT). Work is bounded by
 * the bytes skipped. */
lx_result_t lx_mp_skip(lx_mp_reader_t *r, const char *field, unsigned depth);

/* Writes len bytes of s into buf (size >= 8) for quoting in an error
 * message: printable ASCII as is, anything else as \xNN, cut with "..."
 * when buf is too small. Returns buf. Input never reaches a log or an
 * ERROR reply unescaped. */
const char *lx_mp_quote(const char *s, size_t len, char *buf, size_t size);

#endif
