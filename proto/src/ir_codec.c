/* CompiledProgramIR <-> msgpack.
 *
 * Layout: one msgpack array of 24 fields, in this order.
 *
 *   0  format        str    "lattice.ir/2"
 *   1  ir_version    uint
 *   2  patch_id      str
 *   3  patch_name    str
 *   4  seed          uint   (u32)
 *   5  compiled_at   int    (i64, unix seconds; not hashed)
 *   6  output        [width u32, height u32, fps f64, [background f64 x 4]]
 *   7  time_model    [kind 0..2, duration_ms f64, period_ms f64, mode 0..1]
 *   8  state_horizon uint   (u32)
 *   9  blocks        [[id str, key u64], ...]
 *  10  strings       [str, ...]
 *  11  constants     [f64, ...]
 *  12  args          [u16, ...]
 *  13  exprs         [[op u16, world u8, domain u8, block, instance, state, in_off, n_in,
 *                      out_off, n_out, param_off, n_param (u32 each)], ...]
 *  14  slots         [[domain u8, world u8, stride u16, instance u32], ...]
 *  15  state         [[expr u32, size u32, init_slot u16], ...]
 *  16  instances     [[kind u8, count u32, expr u32], ...]
 *  17  sinks         [[expr, layer, semantic, instance, id_base (u32 each)], ...]
 *  18  camera_expr   uint   (u32)
 *  19  time_expr     uint   (u32)
 *  20  steps         [[kind u8, expr u32], ...]
 *  21  n_init_steps  uint   (u32)
 *  22  audio         nil, or [sha256 bin (32 bytes), sample_rate u32, n_frames u64,
 *                      hop_ms f64, n_hops u32 (1..LX_AUDIO_MAX_HOPS), n_bands u32
 *                      (LX_AUDIO_BANDS), bpm f64, beat_offset_ms f64, rms bin, bands bin,
 *                      onset bin]; each bin holds float32 little-endian values, exactly
 *                      4 * n_hops bytes (bands: 4 * n_hops * n_bands, hop-major)
 *  23  program_hash  bin    (32 bytes, SHA-256, see ir_hash.c)
 *
 * The encoding is canonical: every integer, str, bin and array header in
 * msgpack's shortest form (what msgpack-c's packer writes), every double as
 * float64 (0xcb) even when a shorter form would hold it. The decoder accepts
 * only that form, so bytes that decode always re-encode to themselves.
 * Strings are taken as bytes (UTF-8 expected, not checked) but may not
 * contain NUL, which a C string cannot hold.
 *
 * Decoding does not use msgpack-c's unpacker, which allocates whatever a
 * length claims (msgpack-c #985, #1013): the bounds-checked reader of
 * mp_reader.h, in its canonical dialect, checks every length against the
 * bytes left (times the smallest encoding of one element) and against the
 * field's maximum before allocating, so memory stays proportional to the
 * input. */
#include "lattice/ir_codec.h"

#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "mp_reader.h"

#define FORMAT_TAG "lattice.ir/2"
#define N_FIELDS 24u
#define N_AUDIO_FIELDS 11u

/* Per-field maxima (documented in docs/protocol.md, "PROGRAM"). */
#define MAX_ROWS 1000000u            /* blocks, strings, exprs, state, instances, sinks, steps */
#define MAX_SLOTS LX_MAX_SLOTS       /* 65535 */
#define MAX_ARGS (16u * 1024 * 1024) /* 16M */
#define MAX_CONSTANTS (64u * 1024 * 1024)
#define MAX_STR 4096u /* bytes per string */

/* Smallest encodings of one table row, for the length-vs-bytes-left check. */
enum {
    MIN_BLOCK = 3,    /* fixarray, fixstr, fixint */
    MIN_STRING = 1,   /* fixstr */
    MIN_CONSTANT = 9, /* float64 */
    MIN_ARG = 1,
    MIN_EXPR = 13,
    MIN_SLOT = 5,
    MIN_STATE = 4,
    MIN_INSTANCE = 4,
    MIN_SINK = 6,
    MIN_STEP = 3,
};

/* ---- encoding -------------------------------------------------------- */

typedef struct {
    lx_strbuf_t *sb;
    size_t start;
    bool over; /* the output would exceed LX_IR_CODEC_MAX_BYTES */
} enc_t;

static int s_write(void *data, const char *buf, size_t len)
{
    enc_t *e = data;
    if (len > LX_IR_CODEC_MAX_BYTES - (e->sb->len - e->start)) {
        e->over = true;
        return -1;
    }
    lx_strbuf_add(e->sb, buf, len);
    return e->sb->failed ? -1 : 0;
}

static int s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (msgpack_pack_str(pk, n) != 0)
        return -1;
    return n ? msgpack_pack_str_body(pk, s, n) : 0;
}

/* Refuses what the decoder would refuse for its size, so that every
 * encoded program can be decoded. */
static lx_result_t s_check_encodable(const lx_program_t *p, lx_error_t *err)
{
#define TABLE(f, n, max)                                                                           \
    do {                                                                                           \
        if (p->n > (max))                                                                          \
            return lx_fail(err, LX_E_LIMIT, #f ": %u entries exceed %u", p->n, (unsigned)(max));   \
        if (p->n && !p->f)                                                                         \
            return lx_fail(err, LX_E_INVALID, #f ": %u entries but no table", p->n);               \
    } while (0)
    TABLE(blocks, n_blocks, MAX_ROWS);
    TABLE(strings, n_strings, MAX_ROWS);
    TABLE(constants, n_constants, MAX_CONSTANTS);
    TABLE(args, n_args, MAX_ARGS);
    TABLE(exprs, n_exprs, MAX_ROWS);
    TABLE(slots, n_slots, MAX_SLOTS);
    TABLE(state, n_state, MAX_ROWS);
    TABLE(instances, n_instances, MAX_ROWS);
    TABLE(sinks, n_sinks, MAX_ROWS);
    TABLE(steps, n_steps, MAX_ROWS);
#undef TABLE
    if (p->patch_id && strlen(p->patch_id) > MAX_STR)
        return lx_fail(err, LX_E_LIMIT, "patch_id: longer than %u bytes", MAX_STR);
    if (p->patch_name && strlen(p->patch_name) > MAX_STR)
        return lx_fail(err, LX_E_LIMIT, "patch_name: longer than %u bytes", MAX_STR);
    for (uint32_t i = 0; i < p->n_blocks; i++)
        if (p->blocks[i].id && strlen(p->blocks[i].id) > MAX_STR)
            return lx_fail(err, LX_E_LIMIT, "blocks[%u].id: longer than %u bytes", i, MAX_STR);
    for (uint32_t i = 0; i < p->n_strings; i++)
        if (p->strings[i] && strlen(p->strings[i]) > MAX_STR)
            return lx_fail(err, LX_E_LIMIT, "strings[%u]: longer than %u bytes", i, MAX_STR);
    if (p->audio) {
        const lx_audio_track_t *a = p->audio;
        if (a->n_hops < 1 || a->n_hops > LX_AUDIO_MAX_HOPS || a->n_bands != LX_AUDIO_BANDS)
            return lx_fail(err, LX_E_LIMIT, "audio: %u hops of %u bands (1 to %u hops of %u)",
                           a->n_hops, a->n_bands, LX_AUDIO_MAX_HOPS, LX_AUDIO_BANDS);
        if (!a->rms || !a->bands || !a->onset)
            return lx_fail(err, LX_E_INVALID, "audio: feature arrays missing");
    }
    if ((unsigned)p->time_model.kind > LX_TIME_INFINITE ||
        (unsigned)p->time_model.mode > LX_CYCLE_PINGPONG)
        return lx_fail(err, LX_E_INVALID, "time_model: kind or mode out of range");
    return LX_OK;
}

/* float32 values as one bin of little-endian bytes. */
static int s_pack_f32s(msgpack_packer *pk, const float *v, size_t n)
{
    if (msgpack_pack_bin(pk, n * 4) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        char b[4] = {(char)(u & 0xff), (char)((u >> 8) & 0xff), (char)((u >> 16) & 0xff),
                     (char)(u >> 24)};
        if (msgpack_pack_bin_body(pk, b, 4) != 0)
            return -1;
    }
    return 0;
}

static int s_pack_audio(msgpack_packer *pk, const lx_audio_track_t *a)
{
    if (!a)
        return msgpack_pack_nil(pk);
    if (msgpack_pack_array(pk, N_AUDIO_FIELDS) != 0 || msgpack_pack_bin(pk, 32) != 0 ||
        msgpack_pack_bin_body(pk, a->sha256, 32) != 0 ||
        msgpack_pack_uint32(pk, a->sample_rate) != 0 ||
        msgpack_pack_uint64(pk, a->n_frames) != 0 || msgpack_pack_double(pk, a->hop_ms) != 0 ||
        msgpack_pack_uint32(pk, a->n_hops) != 0 || msgpack_pack_uint32(pk, a->n_bands) != 0 ||
        msgpack_pack_double(pk, a->bpm) != 0 || msgpack_pack_double(pk, a->beat_offset_ms) != 0)
        return -1;
    if (s_pack_f32s(pk, a->rms, a->n_hops) != 0 ||
        s_pack_f32s(pk, a->bands, (size_t)a->n_hops * a->n_bands) != 0 ||
        s_pack_f32s(pk, a->onset, a->n_hops) != 0)
        return -1;
    return 0;
}

static int s_pack(msgpack_packer *pk, const lx_program_t *p)
{
#define P(call)                                                                                    \
    do {                                                                                           \
        if ((call) != 0)                                                                           \
            return -1;                                                                             \
    } while (0)
    P(msgpack_pack_array(pk, N_FIELDS));
    P(s_pack_str(pk, FORMAT_TAG));
    P(msgpack_pack_uint32(pk, p->ir_version));
    P(s_pack_str(pk, p->patch_id));
    P(s_pack_str(pk, p->patch_name));
    P(msgpack_pack_uint32(pk, p->seed));
    P(msgpack_pack_int64(pk, p->compiled_at));

    P(msgpack_pack_array(pk, 4));
    P(msgpack_pack_uint32(pk, p->output.width));
    P(msgpack_pack_uint32(pk, p->output.height));
    P(msgpack_pack_double(pk, p->output.fps));
    P(msgpack_pack_array(pk, 4));
    for (int k = 0; k < 4; k++)
        P(msgpack_pack_double(pk, p->output.background[k]));

    P(msgpack_pack_array(pk, 4));
    P(msgpack_pack_uint8(pk, (uint8_t)p->time_model.kind));
    P(msgpack_pack_double(pk, p->time_model.duration_ms));
    P(msgpack_pack_double(pk, p->time_model.period_ms));
    P(msgpack_pack_uint8(pk, (uint8_t)p->time_model.mode));

    P(msgpack_pack_uint32(pk, p->state_horizon));

    P(msgpack_pack_array(pk, p->n_blocks));
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        P(msgpack_pack_array(pk, 2));
        P(s_pack_str(pk, p->blocks[i].id));
        P(msgpack_pack_uint64(pk, p->blocks[i].key));
    }
    P(msgpack_pack_array(pk, p->n_strings));
    for (uint32_t i = 0; i < p->n_strings; i++)
        P(s_pack_str(pk, p->strings[i]));
    P(msgpack_pack_array(pk, p->n_constants));
    for (uint32_t i = 0; i < p->n_constants; i++)
        P(msgpack_pack_double(pk, p->constants[i]));
    P(msgpack_pack_array(pk, p->n_args));
    for (uint32_t i = 0; i < p->n_args; i++)
        P(msgpack_pack_uint16(pk, p->args[i]));

    P(msgpack_pack_array(pk, p->n_exprs));
    for (uint32_t i = 0; i < p->n_exprs; i++) {
        const lx_expr_t *e = &p->exprs[i];
        P(msgpack_pack_array(pk, 12));
        P(msgpack_pack_uint16(pk, e->op));
        P(msgpack_pack_uint8(pk, e->world));
        P(msgpack_pack_uint8(pk, e->domain));
        P(msgpack_pack_uint32(pk, e->block));
        P(msgpack_pack_uint32(pk, e->instance));
        P(msgpack_pack_uint32(pk, e->state));
        P(msgpack_pack_uint32(pk, e->in_off));
        P(msgpack_pack_uint32(pk, e->n_in));
        P(msgpack_pack_uint32(pk, e->out_off));
        P(msgpack_pack_uint32(pk, e->n_out));
        P(msgpack_pack_uint32(pk, e->param_off));
        P(msgpack_pack_uint32(pk, e->n_param));
    }
    P(msgpack_pack_array(pk, p->n_slots));
    for (uint32_t i = 0; i < p->n_slots; i++) {
        const lx_slot_meta_t *s = &p->slots[i];
        P(msgpack_pack_array(pk, 4));
        P(msgpack_pack_uint8(pk, s->domain));
        P(msgpack_pack_uint8(pk, s->world));
        P(msgpack_pack_uint16(pk, s->stride));
        P(msgpack_pack_uint32(pk, s->instance));
    }
    P(msgpack_pack_array(pk, p->n_state));
    for (uint32_t i = 0; i < p->n_state; i++) {
        const lx_state_cell_t *s = &p->state[i];
        P(msgpack_pack_array(pk, 3));
        P(msgpack_pack_uint32(pk, s->expr));
        P(msgpack_pack_uint32(pk, s->size));
        P(msgpack_pack_uint16(pk, s->init_slot));
    }
    P(msgpack_pack_array(pk, p->n_instances));
    for (uint32_t i = 0; i < p->n_instances; i++) {
        const lx_ir_instance_t *in = &p->instances[i];
        P(msgpack_pack_array(pk, 3));
        P(msgpack_pack_uint8(pk, in->kind));
        P(msgpack_pack_uint32(pk, in->count));
        P(msgpack_pack_uint32(pk, in->expr));
    }
    P(msgpack_pack_array(pk, p->n_sinks));
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        const lx_render_sink_t *s = &p->sinks[i];
        P(msgpack_pack_array(pk, 5));
        P(msgpack_pack_uint32(pk, s->expr));
        P(msgpack_pack_uint32(pk, s->layer));
        P(msgpack_pack_uint32(pk, s->semantic));
        P(msgpack_pack_uint32(pk, s->instance));
        P(msgpack_pack_uint32(pk, s->id_base));
    }
    P(msgpack_pack_uint32(pk, p->camera_expr));
    P(msgpack_pack_uint32(pk, p->time_expr));
    P(msgpack_pack_array(pk, p->n_steps));
    for (uint32_t i = 0; i < p->n_steps; i++) {
        P(msgpack_pack_array(pk, 2));
        P(msgpack_pack_uint8(pk, p->steps[i].kind));
        P(msgpack_pack_uint32(pk, p->steps[i].expr));
    }
    P(msgpack_pack_uint32(pk, p->n_init_steps));
    P(s_pack_audio(pk, p->audio));
    P(msgpack_pack_bin(pk, sizeof p->program_hash.bytes));
    P(msgpack_pack_bin_body(pk, p->program_hash.bytes, sizeof p->program_hash.bytes));
    return 0;
#undef P
}

lx_result_t lx_ir_encode(const lx_program_t *p, lx_strbuf_t *out, lx_error_t *err)
{
    if (!p || !out)
        return lx_fail(err, LX_E_INVALID, "no program or no output buffer");
    lx_result_t rc = s_check_encodable(p, err);
    if (rc != LX_OK)
        return rc;
    enc_t e = {out, out->len, false};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &e, s_write);
    if (s_pack(&pk, p) == 0)
        return LX_OK;
    /* Leave out as it was: nothing of a failed encoding is appended. */
    if (out->len > e.start) {
        out->len = e.start;
        out->buf[out->len] = '\0';
    }
    if (e.over)
        return lx_fail(err, LX_E_LIMIT, "encoded program exceeds %u bytes",
                       (unsigned)LX_IR_CODEC_MAX_BYTES);
    return lx_fail(err, LX_E_NOMEM, "out of memory");
}

/* ---- decoding -------------------------------------------------------- */

/* The reader is mp_reader.c's, in its canonical dialect. */
typedef lx_mp_reader_t rd_t;
typedef lx_mp_token_t tok_t;

static lx_result_t s_u32(rd_t *r, const char *field, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    lx_result_t rc = lx_mp_uint(r, field, max, &v);
    *out = (uint32_t)v;
    return rc;
}

static lx_result_t s_u16(rd_t *r, const char *field, uint16_t *out)
{
    uint64_t v = 0;
    lx_result_t rc = lx_mp_uint(r, field, UINT16_MAX, &v);
    *out = (uint16_t)v;
    return rc;
}

static lx_result_t s_u8(rd_t *r, const char *field, uint8_t *out)
{
    uint64_t v = 0;
    lx_result_t rc = lx_mp_uint(r, field, UINT8_MAX, &v);
    *out = (uint8_t)v;
    return rc;
}

static lx_result_t s_str(rd_t *r, const char *field, const char **out)
{
    return lx_mp_str(r, field, MAX_STR, out);
}

/* An array header of exactly `want` elements (a fixed-shape record). */
static lx_result_t s_record(rd_t *r, const char *field, uint32_t want)
{
    tok_t t;
    lx_result_t rc = lx_mp_expect(r, field, LX_MP_ARRAY, &t);
    if (rc != LX_OK)
        return rc;
    if (t.u != want)
        return lx_mp_fail(r, field, LX_E_BADMSG, "array of %llu elements, expected %u",
                          (unsigned long long)t.u, want);
    return LX_OK;
}

/* A table's header: at most `max` rows, each at least `min_row` bytes,
 * all of which must fit in the bytes left. Allocates the rows (zeroed)
 * only after both checks; an empty table stays NULL. */
static lx_result_t s_table(rd_t *r, const char *name, uint32_t max, size_t min_row, size_t row_size,
                           void **rows, uint32_t *n)
{
    r->table = NULL;
    r->index = LX_MP_NO_INDEX;
    lx_result_t rc = lx_mp_count(r, name, LX_MP_ARRAY, max, min_row, n);
    if (rc != LX_OK)
        return rc;
    r->table = name;
    if (*n == 0)
        return LX_OK;
    *rows = lx_arena_calloc(r->arena, *n, row_size);
    return *rows ? LX_OK : lx_fail(r->err, LX_E_NOMEM, "out of memory");
}

#define U32(field, dst) LX_MP_TRY(s_u32(r, #field, UINT32_MAX, &(dst)))

static lx_result_t s_decode_header(rd_t *r, lx_program_t *p)
{
    const char *tag;
    size_t tag_len;
    LX_MP_TRY(s_record(r, NULL, N_FIELDS));
    LX_MP_TRY(lx_mp_str_view(r, "format", MAX_STR, &tag, &tag_len));
    if (tag_len != strlen(FORMAT_TAG) || memcmp(tag, FORMAT_TAG, tag_len) != 0)
        return lx_mp_fail(r, "format", LX_E_BADMSG, "not '%s'", FORMAT_TAG);
    U32(ir_version, p->ir_version);
    LX_MP_TRY(s_str(r, "patch_id", &p->patch_id));
    LX_MP_TRY(s_str(r, "patch_name", &p->patch_name));
    U32(seed, p->seed);
    LX_MP_TRY(lx_mp_i64(r, "compiled_at", &p->compiled_at));

    LX_MP_TRY(s_record(r, "output", 4));
    r->table = "output";
    U32(width, p->output.width);
    U32(height, p->output.height);
    LX_MP_TRY(lx_mp_f64(r, "fps", &p->output.fps));
    LX_MP_TRY(s_record(r, "background", 4));
    r->table = "output.background";
    for (uint32_t k = 0; k < 4; k++) {
        r->index = k;
        LX_MP_TRY(lx_mp_f64(r, NULL, &p->output.background[k]));
    }
    r->table = NULL;
    r->index = LX_MP_NO_INDEX;

    LX_MP_TRY(s_record(r, "time_model", 4));
    r->table = "time_model";
    uint32_t kind, mode;
    LX_MP_TRY(s_u32(r, "kind", LX_TIME_INFINITE, &kind));
    LX_MP_TRY(lx_mp_f64(r, "duration_ms", &p->time_model.duration_ms));
    LX_MP_TRY(lx_mp_f64(r, "period_ms", &p->time_model.period_ms));
    LX_MP_TRY(s_u32(r, "mode", LX_CYCLE_PINGPONG, &mode));
    p->time_model.kind = (lx_time_kind_t)kind;
    p->time_model.mode = (lx_cycle_mode_t)mode;
    r->table = NULL;

    U32(state_horizon, p->state_horizon);
    return LX_OK;
}

static lx_result_t s_decode_tables(rd_t *r, lx_program_t *p)
{
    LX_MP_TRY(s_table(r, "blocks", MAX_ROWS, MIN_BLOCK, sizeof *p->blocks, (void **)&p->blocks,
                      &p->n_blocks));
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        r->index = i;
        LX_MP_TRY(s_record(r, NULL, 2));
        LX_MP_TRY(s_str(r, "id", &p->blocks[i].id));
        LX_MP_TRY(lx_mp_uint(r, "key", UINT64_MAX, &p->blocks[i].key));
    }
    LX_MP_TRY(s_table(r, "strings", MAX_ROWS, MIN_STRING, sizeof *p->strings, (void **)&p->strings,
                      &p->n_strings));
    for (uint32_t i = 0; i < p->n_strings; i++) {
        r->index = i;
        LX_MP_TRY(s_str(r, NULL, &p->strings[i]));
    }
    LX_MP_TRY(s_table(r, "constants", MAX_CONSTANTS, MIN_CONSTANT, sizeof *p->constants,
                      (void **)&p->constants, &p->n_constants));
    for (uint32_t i = 0; i < p->n_constants; i++) {
        r->index = i;
        LX_MP_TRY(lx_mp_f64(r, NULL, &p->constants[i]));
    }
    LX_MP_TRY(
        s_table(r, "args", MAX_ARGS, MIN_ARG, sizeof *p->args, (void **)&p->args, &p->n_args));
    for (uint32_t i = 0; i < p->n_args; i++) {
        r->index = i;
        LX_MP_TRY(s_u16(r, NULL, &p->args[i]));
    }
    LX_MP_TRY(
        s_table(r, "exprs", MAX_ROWS, MIN_EXPR, sizeof *p->exprs, (void **)&p->exprs, &p->n_exprs));
    for (uint32_t i = 0; i < p->n_exprs; i++) {
        lx_expr_t *e = &p->exprs[i];
        r->index = i;
        LX_MP_TRY(s_record(r, NULL, 12));
        LX_MP_TRY(s_u16(r, "op", &e->op));
        LX_MP_TRY(s_u8(r, "world", &e->world));
        LX_MP_TRY(s_u8(r, "domain", &e->domain));
        U32(block, e->block);
        U32(instance, e->instance);
        U32(state, e->state);
        U32(in_off, e->in_off);
        U32(n_in, e->n_in);
        U32(out_off, e->out_off);
        U32(n_out, e->n_out);
        U32(param_off, e->param_off);
        U32(n_param, e->n_param);
    }
    LX_MP_TRY(s_table(r, "slots", MAX_SLOTS, MIN_SLOT, sizeof *p->slots, (void **)&p->slots,
                      &p->n_slots));
    for (uint32_t i = 0; i < p->n_slots; i++) {
        lx_slot_meta_t *s = &p->slots[i];
        r->index = i;
        LX_MP_TRY(s_record(r, NULL, 4));
        LX_MP_TRY(s_u8(r, "domain", &s->domain));
        LX_MP_TRY(s_u8(r, "world", &s->world));
        LX_MP_TRY(s_u16(r, "stride", &s->stride));
        U32(instance, s->instance);
    }
    LX_MP_TRY(s_table(r, "state", MAX_ROWS, MIN_STATE, sizeof *p->state, (void **)&p->state,
                      &p->n_state));
    for (uint32_t i = 0; i < p->n_state; i++) {
        lx_state_cell_t *s = &p->state[i];
        r->index = i;
        LX_MP_TRY(s_record(r, NULL, 3));
        U32(expr, s->expr);
        U32(size, s->size);
        LX_MP_TRY(s_u16(r, "init_slot", &s->init_slot));
    }
    LX_MP_TRY(s_table(r, "instances", MAX_ROWS, MIN_INSTANCE, sizeof *p->instances,
                      (void **)&p->instances, &p->n_instances));
    for (uint32_t i = 0; i < p->n_instances; i++) {
        lx_ir_instance_t *in = &p->instances[i];
        r->index = i;
        LX_MP_TRY(s_record(r, NULL, 3));
        LX_MP_TRY(s_u8(r, "kind", &in->kind));
        U32(count, in->count);
        U32(expr, in->expr);
    }
    LX_MP_TRY(
        s_table(r, "sinks", MAX_ROWS, MIN_SINK, sizeof *p->sinks, (void **)&p->sinks, &p->n_sinks));
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        lx_render_sink_t *s = &p->sinks[i];
        r->index = i;
        LX_MP_TRY(s_record(r, NULL, 5));
        U32(expr, s->expr);
        U32(layer, s->layer);
        U32(semantic, s->semantic);
        U32(instance, s->instance);
        U32(id_base, s->id_base);
    }
    r->table = NULL;
    r->index = LX_MP_NO_INDEX;
    U32(camera_expr, p->camera_expr);
    U32(time_expr, p->time_expr);
    LX_MP_TRY(
        s_table(r, "steps", MAX_ROWS, MIN_STEP, sizeof *p->steps, (void **)&p->steps, &p->n_steps));
    for (uint32_t i = 0; i < p->n_steps; i++) {
        r->index = i;
        LX_MP_TRY(s_record(r, NULL, 2));
        LX_MP_TRY(s_u8(r, "kind", &p->steps[i].kind));
        U32(expr, p->steps[i].expr);
    }
    r->table = NULL;
    r->index = LX_MP_NO_INDEX;
    U32(n_init_steps, p->n_init_steps);
    return LX_OK;
}

/* `n` float32 values from one bin of exactly 4 n bytes (n already bounded
 * by the field maxima, and the body is in bounds, so the allocation is at
 * most the input's size). */
static lx_result_t s_f32s(rd_t *r, const char *field, size_t n, float **out)
{
    tok_t t;
    LX_MP_TRY(lx_mp_expect(r, field, LX_MP_BIN, &t));
    if (t.u != (uint64_t)n * 4)
        return lx_mp_fail(r, field, LX_E_BADMSG, "%llu bytes, expected %zu",
                          (unsigned long long)t.u, n * 4);
    float *v = lx_arena_calloc(r->arena, n, sizeof *v);
    if (!v)
        return lx_fail(r->err, LX_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = (const uint8_t *)r->p + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        memcpy(&v[i], &u, sizeof u);
    }
    r->p += 4 * n;
    *out = v;
    return LX_OK;
}

static lx_result_t s_decode_audio(rd_t *r, lx_program_t *p)
{
    tok_t t;
    LX_MP_TRY(lx_mp_next(r, "audio", &t));
    if (t.kind == LX_MP_NIL)
        return LX_OK;
    if (t.kind != LX_MP_ARRAY || t.u != N_AUDIO_FIELDS)
        return lx_mp_fail(r, "audio", LX_E_BADMSG, "%s, expected nil or an array of %u elements",
                          lx_mp_kind_name(t.kind), N_AUDIO_FIELDS);
    lx_audio_track_t *a = lx_arena_calloc(r->arena, 1, sizeof *a);
    if (!a)
        return lx_fail(r->err, LX_E_NOMEM, "out of memory");
    r->table = "audio";
    LX_MP_TRY(lx_mp_expect(r, "sha256", LX_MP_BIN, &t));
    if (t.u != sizeof a->sha256)
        return lx_mp_fail(r, "sha256", LX_E_BADMSG, "%llu bytes, expected %zu",
                          (unsigned long long)t.u, sizeof a->sha256);
    memcpy(a->sha256, r->p, sizeof a->sha256);
    r->p += sizeof a->sha256;
    U32(sample_rate, a->sample_rate);
    LX_MP_TRY(lx_mp_uint(r, "n_frames", UINT64_MAX, &a->n_frames));
    LX_MP_TRY(lx_mp_f64(r, "hop_ms", &a->hop_ms));
    LX_MP_TRY(s_u32(r, "n_hops", LX_AUDIO_MAX_HOPS, &a->n_hops));
    LX_MP_TRY(s_u32(r, "n_bands", LX_AUDIO_BANDS, &a->n_bands));
    LX_MP_TRY(lx_mp_f64(r, "bpm", &a->bpm));
    LX_MP_TRY(lx_mp_f64(r, "beat_offset_ms", &a->beat_offset_ms));
    LX_MP_TRY(s_f32s(r, "rms", a->n_hops, &a->rms));
    LX_MP_TRY(s_f32s(r, "bands", (size_t)a->n_hops * a->n_bands, &a->bands));
    LX_MP_TRY(s_f32s(r, "onset", a->n_hops, &a->onset));
    r->table = NULL;
    p->audio = a;
    return LX_OK;
}

static lx_result_t s_decode(rd_t *r, lx_program_t *p, lx_digest_t *hash)
{
    LX_MP_TRY(s_decode_header(r, p));
    LX_MP_TRY(s_decode_tables(r, p));
    LX_MP_TRY(s_decode_audio(r, p));
    tok_t t;
    LX_MP_TRY(lx_mp_expect(r, "program_hash", LX_MP_BIN, &t));
    if (t.u != sizeof hash->bytes)
        return lx_mp_fail(r, "program_hash", LX_E_BADMSG, "%llu bytes, expected %zu",
                          (unsigned long long)t.u, sizeof hash->bytes);
    memcpy(hash->bytes, r->p, sizeof hash->bytes);
    r->p += sizeof hash->bytes;
    if (r->p != r->end)
        return lx_mp_fail(r, NULL, LX_E_BADMSG, "%zu trailing bytes after the program",
                          lx_mp_left(r));
    return LX_OK;
}

#undef U32

lx_result_t lx_ir_decode(const void *data, size_t len, const lx_alloc_t *alloc, lx_program_t **out,
                         lx_error_t *err)
{
    if (!out)
        return lx_fail(err, LX_E_INVALID, "no output program");
    *out = NULL;
    rd_t r;
    lx_result_t rc = lx_mp_reader_init(&r, data, len, LX_IR_CODEC_MAX_BYTES, "program", err);
    if (rc != LX_OK)
        return rc;
    lx_program_t *p = lx_program_new(alloc);
    if (!p)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    r.arena = &p->arena;
    r.canonical = true;
    lx_digest_t carried;
    rc = s_decode(&r, p, &carried);
    if (rc == LX_OK && p->arena.failed)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK) {
        lx_error_t verr = {0};
        rc = lx_ir_verify(p, &verr);
        if (rc == LX_E_NOMEM)
            lx_fail(err, rc, "out of memory");
        else if (rc != LX_OK)
            lx_fail(err, rc, "program fails verification: %s", verr.message);
    }
    if (rc == LX_OK) {
        lx_digest_t h;
        rc = lx_ir_hash(p, &h);
        if (rc != LX_OK) {
            lx_fail(err, rc, "cannot hash the program");
        } else if (memcmp(h.bytes, carried.bytes, sizeof h.bytes) != 0) {
            char want[17], got[17];
            lx_hex(carried.bytes, 8, want);
            lx_hex(h.bytes, 8, got);
            rc =
                lx_fail(err, LX_E_VERIFY,
                        "program hash mismatch: carries %s..., content hashes to %s...", want, got);
        }
    }
    if (rc != LX_OK) {
        lx_program_destroy(&p);
        return rc;
    }
    p->program_hash = carried;
    *out = p;
    return LX_OK;
}
