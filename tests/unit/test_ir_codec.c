/* IR codec: every example round-trips (same hash, same JSON, same bytes),
 * encoding is deterministic, and the decoder refuses truncated, corrupted,
 * tampered and oversized input with the right code, naming the field,
 * without allocating what a length merely claims, and without leaking when
 * an allocation fails. A decoded program always verifies and carries the
 * hash of its content. */
#include <msgpack.h>
#include <time.h>

#include "lattice/compile.h"
#include "lattice/ir_codec.h"
#include "runtime_fixture.h"
#include "test.h"
#include "test_alloc.h"

static const char *const s_examples[] = {
    "examples/bus-composite-lenses.patch.json",
    "examples/feedback-trails.patch.json",
    "examples/logo-sting.patch.json",
    "examples/orbit-cards.patch.json",
    "examples/refscene.patch.json",
};
#define N_EXAMPLES (sizeof s_examples / sizeof s_examples[0])

/* ---- helpers ---------------------------------------------------------- */

static lx_program_t *s_compile_file(const char *rel)
{
    size_t len = 0;
    char *text = t_read(rel, &len);
    CHECK_MSG(text != NULL, "cannot read %s", rel);
    if (!text)
        return NULL;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    lx_result_t rc = lx_compile(text, len, NULL, &d, &p, &err);
    CHECK_MSG(rc == LX_OK, "%s: compile: %s", rel, lx_error_name(rc));
    lx_diags_release(&d);
    free(text);
    return p;
}

static bool s_encode(const lx_program_t *p, lx_strbuf_t *sb)
{
    lx_strbuf_init(sb, NULL);
    lx_error_t err = {0};
    lx_result_t rc = lx_ir_encode(p, sb, &err);
    CHECK_MSG(rc == LX_OK, "encode: %s: %s", lx_error_name(rc), err.message);
    return rc == LX_OK;
}

/* A decoded copy of p, to modify (p encoded, then decoded); NULL, with a
 * failed check, when either step fails. */
static lx_program_t *s_copy(const lx_program_t *p)
{
    lx_strbuf_t sb;
    if (!s_encode(p, &sb))
        return NULL;
    lx_program_t *q = NULL;
    lx_error_t err = {0};
    CHECK(lx_ir_decode(sb.buf, sb.len, NULL, &q, &err) == LX_OK);
    lx_strbuf_release(&sb);
    return q;
}

static bool s_same_json(const lx_program_t *a, const lx_program_t *b)
{
    lx_strbuf_t ja, jb;
    lx_strbuf_init(&ja, NULL);
    lx_strbuf_init(&jb, NULL);
    bool ok = lx_ir_to_json(a, &ja) == LX_OK && lx_ir_to_json(b, &jb) == LX_OK &&
              ja.len == jb.len && memcmp(ja.buf, jb.buf, ja.len) == 0;
    lx_strbuf_release(&ja);
    lx_strbuf_release(&jb);
    return ok;
}

/* The invariant of the decoder: whatever it returns verifies, carries the
 * hash of its content, and re-encodes to exactly the bytes it came from
 * (the encoding is canonical). Returns the code. */
static lx_result_t s_decode_checked(const void *data, size_t len, lx_program_t **out,
                                    lx_error_t *err)
{
    lx_result_t rc = lx_ir_decode(data, len, NULL, out, err);
    if (rc != LX_OK) {
        CHECK_MSG(*out == NULL, "a failed decode returned a program");
        CHECK_MSG(rc == LX_E_BADMSG || rc == LX_E_LIMIT || rc == LX_E_VERIFY,
                  "unexpected code %s (%s)", lx_error_name(rc), err->message);
        CHECK_MSG(err->message[0] != '\0', "no error message for %s", lx_error_name(rc));
        return rc;
    }
    lx_program_t *p = *out;
    lx_error_t verr = {0};
    CHECK_MSG(lx_ir_verify(p, &verr) == LX_OK, "decoded program does not verify: %s", verr.message);
    lx_digest_t h;
    CHECK(lx_ir_hash(p, &h) == LX_OK);
    CHECK_MSG(memcmp(h.bytes, p->program_hash.bytes, 32) == 0, "decoded hash is not its content's");
    lx_strbuf_t sb;
    if (s_encode(p, &sb))
        CHECK_MSG(sb.len == len && memcmp(sb.buf, data, len) == 0,
                  "decoded bytes do not re-encode to themselves");
    lx_strbuf_release(&sb);
    return rc;
}

/* ---- round trip and determinism --------------------------------------- */

static void test_round_trip(lx_program_t *orig, const char *name)
{
    lx_strbuf_t a, b;
    if (!s_encode(orig, &a) || !s_encode(orig, &b)) {
        lx_strbuf_release(&a);
        lx_strbuf_release(&b);
        return;
    }
    /* Deterministic: the same program gives the same bytes. */
    CHECK_MSG(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0, "%s: encoding differs", name);
    lx_program_t *dec = NULL;
    lx_error_t err = {0};
    lx_result_t rc = lx_ir_decode(a.buf, a.len, NULL, &dec, &err);
    CHECK_MSG(rc == LX_OK, "%s: decode: %s: %s", name, lx_error_name(rc), err.message);
    if (dec) {
        lx_digest_t h;
        CHECK(lx_ir_hash(dec, &h) == LX_OK);
        CHECK_MSG(memcmp(h.bytes, orig->program_hash.bytes, 32) == 0, "%s: hash differs", name);
        CHECK(memcmp(dec->program_hash.bytes, orig->program_hash.bytes, 32) == 0);
        CHECK_EQ_INT(dec->compiled_at, orig->compiled_at);
        CHECK_MSG(s_same_json(orig, dec), "%s: IR JSON differs", name);
        lx_strbuf_t c;
        if (s_encode(dec, &c))
            CHECK_MSG(c.len == a.len && memcmp(c.buf, a.buf, a.len) == 0, "%s: re-encoding differs",
                      name);
        lx_strbuf_release(&c);
        /* The decoded program runs. */
        lx_instance_t *inst = lx_instance_new(dec, lx_kernels_table(), NULL, NULL, &err);
        CHECK_MSG(inst != NULL, "%s: instance: %s", name, err.message);
        const lx_render_frame_t *rf = NULL;
        if (inst)
            CHECK(lx_instance_eval(inst, 3, &rf) == LX_OK);
        lx_instance_destroy(&inst);
    }
    lx_program_destroy(&dec);

    /* It is standard msgpack: msgpack-c reads our (trusted) bytes and packs
     * them back identically. */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    CHECK(msgpack_unpack_next(&u, a.buf, a.len, &off) == MSGPACK_UNPACK_SUCCESS && off == a.len);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, u.data);
    CHECK_MSG(sbuf.size == a.len && memcmp(sbuf.data, a.buf, a.len) == 0,
              "%s: msgpack-c repacks differently", name);
    msgpack_sbuffer_destroy(&sbuf);
    msgpack_unpacked_destroy(&u);

    /* Encoding appends. */
    lx_strbuf_t pre;
    lx_strbuf_init(&pre, NULL);
    lx_strbuf_adds(&pre, "xyz");
    CHECK(lx_ir_encode(orig, &pre, &err) == LX_OK);
    CHECK(pre.len == a.len + 3 && memcmp(pre.buf, "xyz", 3) == 0 &&
          memcmp(pre.buf + 3, a.buf, a.len) == 0);
    lx_strbuf_release(&pre);
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
}

/* ---- truncation and corruption ---------------------------------------- */

static void test_truncations(const lx_strbuf_t *enc, const char *name)
{
    /* Every prefix (the examples are small enough). */
    size_t refused = 0;
    for (size_t n = 0; n < enc->len; n++) {
        lx_program_t *p = NULL;
        lx_error_t err = {0};
        lx_result_t rc = s_decode_checked(enc->buf, n, &p, &err);
        CHECK_MSG(rc == LX_E_BADMSG, "%s: prefix %zu: %s (%s)", name, n, lx_error_name(rc),
                  err.message);
        refused += rc != LX_OK;
        lx_program_destroy(&p);
    }
    CHECK_EQ_INT(refused, enc->len);
    /* A trailing byte is refused too. */
    char *longer = malloc(enc->len + 1);
    memcpy(longer, enc->buf, enc->len);
    longer[enc->len] = 0;
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_ir_decode(longer, enc->len + 1, NULL, &p, &err), LX_E_BADMSG);
    CHECK_MSG(strstr(err.message, "trailing") != NULL, "%s", err.message);
    CHECK(p == NULL);
    free(longer);
}

static void test_corruptions(const lx_program_t *orig, const lx_strbuf_t *enc, const char *name,
                             size_t *decoded_total, size_t *tried_total)
{
    /* Four changes per byte (two fixed flips, one rotating flip, one
     * rotating value), at every position: dense, and fast enough under the
     * sanitizers. */
    static const uint8_t flips[] = {0x02, 0x10, 0xff};
    static const uint8_t sets[] = {0x00, 0x7f, 0xc1, 0xcf, 0xdd, 0xff};
    uint8_t *buf = malloc(enc->len);
    size_t tried = 0, decoded = 0;
    for (size_t pos = 0; pos < enc->len; pos++) {
        for (int k = 0; k < 4; k++) {
            memcpy(buf, enc->buf, enc->len);
            uint8_t was = buf[pos];
            uint8_t now = k == 0   ? was ^ 0x01
                          : k == 1 ? was ^ 0x80
                          : k == 2 ? was ^ flips[pos % 3]
                                   : sets[pos % 6];
            if (now == was)
                continue;
            buf[pos] = now;
            tried++;
            lx_program_t *p = NULL;
            lx_error_t err = {0};
            lx_result_t rc = s_decode_checked(buf, enc->len, &p, &err);
            if (rc == LX_OK) {
                /* Only a change outside the hashed content can decode: it
                 * must still be the same program. */
                decoded++;
                CHECK_MSG(memcmp(p->program_hash.bytes, orig->program_hash.bytes, 32) == 0,
                          "%s: byte %zu: decoded another program", name, pos);
            }
            lx_program_destroy(&p);
        }
    }
    free(buf);
    *decoded_total += decoded;
    *tried_total += tried;
}

/* ---- crafted messages ---------------------------------------------- */

static int s_sb_write(void *data, const char *buf, size_t len)
{
    lx_strbuf_add(data, buf, len);
    return 0;
}

/* A valid beginning of a program, up to and including state_horizon. */
static void s_pack_header(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 24);
    msgpack_pack_str_with_body(pk, "lattice.ir/2", 12);
    msgpack_pack_uint32(pk, 2);
    msgpack_pack_str_with_body(pk, "p", 1);
    msgpack_pack_str_with_body(pk, "P", 1);
    msgpack_pack_uint32(pk, 7);
    msgpack_pack_int64(pk, 0);
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint32(pk, 64);
    msgpack_pack_uint32(pk, 64);
    msgpack_pack_double(pk, 24);
    msgpack_pack_array(pk, 4);
    for (int k = 0; k < 4; k++)
        msgpack_pack_double(pk, k == 3 ? 1 : 0);
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, 2);
    msgpack_pack_double(pk, 0);
    msgpack_pack_double(pk, 1000);
    msgpack_pack_uint8(pk, 0);
    msgpack_pack_uint32(pk, 0);
}

typedef void (*crafter_t)(msgpack_packer *pk);

static void s_craft_top(msgpack_packer *pk)
{
    /* 10 bytes: an array claiming 2^32 - 1 elements, then 5 more bytes. */
    msgpack_pack_array(pk, 0xffffffffu);
    for (int k = 0; k < 5; k++)
        msgpack_pack_uint8(pk, 0);
}

static void s_craft_blocks(msgpack_packer *pk)
{
    s_pack_header(pk);
    msgpack_pack_array(pk, 0xffffffffu);
}

static void s_craft_constants(msgpack_packer *pk)
{
    /* Under the constants maximum, but far more than the bytes left. */
    s_pack_header(pk);
    msgpack_pack_array(pk, 0);
    msgpack_pack_array(pk, 0);
    msgpack_pack_array(pk, 60000000u);
    msgpack_pack_double(pk, 1);
}

static void s_craft_strings(msgpack_packer *pk)
{
    s_pack_header(pk);
    msgpack_pack_array(pk, 0);
    msgpack_pack_array(pk, 1);
    msgpack_pack_str(pk, 0xfffffff0u); /* a 4 GiB string header */
    msgpack_pack_str_body(pk, "abc", 3);
}

static void s_craft_patch_id(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 24);
    msgpack_pack_str_with_body(pk, "lattice.ir/2", 12);
    msgpack_pack_uint32(pk, 2);
    msgpack_pack_bin(pk, 0xffffffffu);
}

static void test_crafted_lengths(void)
{
    static const struct {
        const char *name;
        crafter_t craft;
        lx_result_t want;
        const char *field;
    } cases[] = {
        {"top", s_craft_top, LX_E_BADMSG, "program: "},
        {"blocks", s_craft_blocks, LX_E_LIMIT, "blocks: "},
        {"constants", s_craft_constants, LX_E_BADMSG, "constants: "},
        {"strings", s_craft_strings, LX_E_BADMSG, "strings[0]: "},
        {"patch_id", s_craft_patch_id, LX_E_BADMSG, "patch_id: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, s_sb_write);
        cases[i].craft(&pk);
        if (i == 0)
            CHECK_EQ_INT(sb.len, 10);
        counter_t c = {0, -1, 0, 0, 0, 0};
        lx_alloc_t a = {t_counting_alloc, t_counting_free, &c};
        lx_program_t *p = NULL;
        lx_error_t err = {0};
        clock_t t0 = clock();
        lx_result_t rc = lx_ir_decode(sb.buf, sb.len, &a, &p, &err);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        CHECK_MSG(rc == cases[i].want, "%s: %s (%s)", cases[i].name, lx_error_name(rc),
                  err.message);
        CHECK_MSG(strncmp(err.message, cases[i].field, strlen(cases[i].field)) == 0,
                  "%s: message '%s'", cases[i].name, err.message);
        CHECK(p == NULL);
        /* The program shell and at most one arena chunk: nothing sized by
         * what the message claims. */
        CHECK_MSG(c.total < 128 * 1024, "%s: allocated %zu bytes", cases[i].name, c.total);
        CHECK_EQ_INT(c.live_blocks, 0);
        CHECK_MSG(secs < 0.5, "%s: took %.3f s", cases[i].name, secs);
        lx_strbuf_release(&sb);
    }
}

/* ---- field-level tampering through msgpack-c's object model ---------- */

typedef void (*tamper_t)(msgpack_object *top, msgpack_zone *z);

static msgpack_object *s_field(msgpack_object *top, uint32_t i) { return &top->via.array.ptr[i]; }

static msgpack_object *s_row(msgpack_object *top, uint32_t table, uint32_t row)
{
    msgpack_object *t = s_field(top, table);
    return row < t->via.array.size ? &t->via.array.ptr[row] : NULL;
}

static void s_expr_op_u32(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *e = s_row(top, 13, 2);
    e->via.array.ptr[0].via.u64 = 70000; /* op is a u16 */
}

static void s_expr_in_off_negative(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *e = s_row(top, 13, 1);
    e->via.array.ptr[6].type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    e->via.array.ptr[6].via.i64 = -1;
}

static void s_expr_in_off_string(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *e = s_row(top, 13, 1);
    e->via.array.ptr[6].type = MSGPACK_OBJECT_STR;
    e->via.array.ptr[6].via.str.ptr = "7";
    e->via.array.ptr[6].via.str.size = 1;
}

static void s_constant_float32(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *c = s_row(top, 11, 0);
    c->type = MSGPACK_OBJECT_FLOAT32;
}

static void s_arg_too_big(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_row(top, 12, 3)->via.u64 = 65536;
}

static void s_step_three(msgpack_object *top, msgpack_zone *z)
{
    msgpack_object *s = s_row(top, 20, 4);
    msgpack_object *items = msgpack_zone_malloc(z, 3 * sizeof *items);
    items[0] = s->via.array.ptr[0];
    items[1] = s->via.array.ptr[1];
    items[2] = s->via.array.ptr[1];
    s->via.array.ptr = items;
    s->via.array.size = 3;
}

static void s_format_tag(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_field(top, 0)->via.str.ptr = "lattice.ir/1";
}

static void s_hash_short(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_field(top, 23)->via.bin.size = 31;
}

static void s_time_kind(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_field(top, 7)->via.array.ptr[0].via.u64 = 3;
}

static void s_block_id_nul(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    msgpack_object *b = s_row(top, 9, 0);
    b->via.array.ptr[0].via.str.ptr = "a\0b";
    b->via.array.ptr[0].via.str.size = 3;
}

static void s_long_patch_name(msgpack_object *top, msgpack_zone *z)
{
    char *s = msgpack_zone_malloc(z, 5000);
    memset(s, 'n', 5000);
    s_field(top, 3)->via.str.ptr = s;
    s_field(top, 3)->via.str.size = 5000;
}

static void s_extra_field(msgpack_object *top, msgpack_zone *z)
{
    msgpack_object *items = msgpack_zone_malloc(z, 25 * sizeof *items);
    memcpy(items, top->via.array.ptr, 24 * sizeof *items);
    items[24] = items[1];
    top->via.array.ptr = items;
    top->via.array.size = 25;
}

static void s_bad_block_ref(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_row(top, 13, 0)->via.array.ptr[3].via.u64 = 999999; /* exprs[0].block */
}

static void s_compiled_at(msgpack_object *top, msgpack_zone *z)
{
    (void)z;
    s_field(top, 5)->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    s_field(top, 5)->via.i64 = -1234567890123;
}

static void test_tampered_fields(const lx_strbuf_t *enc)
{
    static const struct {
        const char *name;
        tamper_t tamper;
        lx_result_t want;
        const char *message; /* expected prefix */
    } cases[] = {
        {"op > u16", s_expr_op_u32, LX_E_BADMSG, "exprs[2].op: value 70000 exceeds 65535"},
        {"negative in_off", s_expr_in_off_negative, LX_E_BADMSG, "exprs[1].in_off: negative"},
        {"string in_off", s_expr_in_off_string, LX_E_BADMSG,
         "exprs[1].in_off: expected an unsigned integer, found a string"},
        {"float32 constant", s_constant_float32, LX_E_BADMSG,
         "constants[0]: unexpected msgpack type 0xca"},
        {"arg > u16", s_arg_too_big, LX_E_BADMSG, "args[3]: value 65536 exceeds 65535"},
        {"3-element step", s_step_three, LX_E_BADMSG, "steps[4]: array of 3 elements, expected 2"},
        {"format tag", s_format_tag, LX_E_BADMSG, "format: not 'lattice.ir/2'"},
        {"short hash", s_hash_short, LX_E_BADMSG, "program_hash: 31 bytes, expected 32"},
        {"time kind", s_time_kind, LX_E_BADMSG, "time_model.kind: value 3 exceeds 2"},
        {"NUL in id", s_block_id_nul, LX_E_BADMSG, "blocks[0].id: string contains a NUL byte"},
        {"long name", s_long_patch_name, LX_E_LIMIT,
         "patch_name: string of 5000 bytes exceeds 4096"},
        {"25 fields", s_extra_field, LX_E_BADMSG, "program: array of 25 elements, expected 24"},
        {"bad block", s_bad_block_ref, LX_E_VERIFY, "program fails verification: expr 0"},
        {"compiled_at", s_compiled_at, LX_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        if (msgpack_unpack_next(&u, enc->buf, enc->len, &off) != MSGPACK_UNPACK_SUCCESS) {
            CHECK(0);
            msgpack_unpacked_destroy(&u);
            continue;
        }
        cases[i].tamper(&u.data, u.zone);
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init(&sbuf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, u.data);
        lx_program_t *p = NULL;
        lx_error_t err = {0};
        lx_result_t rc = s_decode_checked(sbuf.data, sbuf.size, &p, &err);
        CHECK_MSG(rc == cases[i].want, "%s: %s (%s)", cases[i].name, lx_error_name(rc),
                  err.message);
        CHECK_MSG(strncmp(err.message, cases[i].message, strlen(cases[i].message)) == 0,
                  "%s: message '%s'", cases[i].name, err.message);
        if (rc == LX_OK)
            CHECK_EQ_INT(p->compiled_at, -1234567890123LL);
        lx_program_destroy(&p);
        msgpack_sbuffer_destroy(&sbuf);
        msgpack_unpacked_destroy(&u);
    }
}

static void test_non_canonical(const lx_strbuf_t *enc)
{
    /* Bytes 0-2 are the array16 header, 3-15 the format tag, 16 is
     * ir_version (fixint 2). Spell it as uint8 0xcc 0x02. */
    CHECK((uint8_t)enc->buf[0] == 0xdc && (uint8_t)enc->buf[16] == 0x02);
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_strbuf_add(&sb, enc->buf, 16);
    lx_strbuf_add(&sb, "\xcc\x02", 2);
    lx_strbuf_add(&sb, enc->buf + 17, enc->len - 17);
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_ir_decode(sb.buf, sb.len, NULL, &p, &err), LX_E_BADMSG);
    CHECK_EQ_STR(err.message, "ir_version: non-canonical integer encoding");
    /* The top-level array as array32. */
    lx_strbuf_release(&sb);
    lx_strbuf_init(&sb, NULL);
    lx_strbuf_add(&sb, "\xdd\x00\x00\x00\x18", 5);
    lx_strbuf_add(&sb, enc->buf + 3, enc->len - 3);
    CHECK_EQ_INT(lx_ir_decode(sb.buf, sb.len, NULL, &p, &err), LX_E_BADMSG);
    CHECK_EQ_STR(err.message, "program: non-canonical array encoding");
    lx_strbuf_release(&sb);
}

/* A constant changed but the original hash kept: refused as a hash mismatch. */
static void test_modified_constant(const lx_program_t *orig)
{
    lx_program_t *p = s_copy(orig);
    if (!p)
        return;
    lx_strbuf_t sb;
    lx_error_t err = {0};
    /* Find a constant whose change still verifies (a plain number). */
    bool found = false;
    for (uint32_t i = 0; i < p->n_constants && !found; i++) {
        double was = p->constants[i];
        p->constants[i] = was + 0.25;
        if (lx_ir_verify(p, &err) == LX_OK)
            found = true;
        else
            p->constants[i] = was;
    }
    CHECK(found);
    if (s_encode(p, &sb)) {
        lx_program_t *q = NULL;
        CHECK_EQ_INT(lx_ir_decode(sb.buf, sb.len, NULL, &q, &err), LX_E_VERIFY);
        CHECK_MSG(strncmp(err.message, "program hash mismatch", 21) == 0, "%s", err.message);
        CHECK(q == NULL);
    }
    lx_strbuf_release(&sb);
    /* Re-hashed, the same tables are accepted. */
    CHECK(lx_ir_hash(p, &p->program_hash) == LX_OK);
    if (s_encode(p, &sb)) {
        lx_program_t *q = NULL;
        CHECK_EQ_INT(lx_ir_decode(sb.buf, sb.len, NULL, &q, &err), LX_OK);
        lx_program_destroy(&q);
    }
    lx_strbuf_release(&sb);
    lx_program_destroy(&p);
}

/* Every allocation of a decode failed in turn: LX_E_NOMEM, nothing leaked. */
static void test_alloc_failures(const lx_strbuf_t *enc)
{
    t_fail_each_t f = T_FAIL_EACH_INIT;
    while (t_fail_each_next(&f)) {
        lx_program_t *p = NULL;
        lx_error_t err = {0};
        lx_result_t rc = lx_ir_decode(enc->buf, enc->len, &f.alloc, &p, &err);
        if (f.fail_at < 0) {
            CHECK(rc == LX_OK);
            lx_program_destroy(&p);
            CHECK_EQ_INT(f.c.live_blocks, 0);
            /* Memory is proportional to the input. */
            CHECK_MSG(f.c.peak < 64 * enc->len + 256 * 1024, "peak %zu for %zu bytes", f.c.peak,
                      enc->len);
            CHECK(f.c.calls >= 3);
            continue;
        }
        CHECK_MSG(rc == LX_E_NOMEM, "allocation %ld of %ld: %s", f.fail_at, f.total,
                  lx_error_name(rc));
        CHECK(p == NULL);
        CHECK_EQ_INT(f.c.live_blocks, 0);
        lx_program_destroy(&p);
    }
}

/* The output buffer's allocations failed in turn: LX_E_NOMEM, and the
 * buffer keeps exactly what it held before. */
static void test_encode_alloc_failures(const lx_program_t *orig)
{
    long n = 1, nomem = 0;
    for (;; n++) {
        counter_t c = {0, n, 0, 0, 0, 0};
        lx_alloc_t a = {t_counting_alloc, t_counting_free, &c};
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, &a);
        lx_strbuf_adds(&sb, "abc"); /* allocation 0 */
        lx_error_t err = {0};
        lx_result_t rc = lx_ir_encode(orig, &sb, &err);
        bool intact = sb.len >= 3 && memcmp(sb.buf, "abc", 3) == 0;
        if (rc == LX_OK) {
            CHECK(intact && c.calls == n);
            lx_strbuf_release(&sb);
            break;
        }
        CHECK_EQ_INT(rc, LX_E_NOMEM);
        CHECK_MSG(intact && sb.len == 3 && sb.buf[3] == '\0', "allocation %ld: buffer changed", n);
        nomem++;
        lx_strbuf_release(&sb);
        CHECK_EQ_INT(c.live_blocks, 0);
        if (n > 1000)
            break;
    }
    CHECK(nomem >= 1 && nomem == n - 1);
}

static void test_encode_limits(const lx_program_t *orig)
{
    lx_program_t *p = s_copy(orig);
    if (!p)
        return;
    lx_strbuf_t sb;
    lx_error_t err = {0};
    char *name = lx_arena_calloc(&p->arena, 5000, 1);
    memset(name, 'x', 4999);
    p->patch_name = name;
    lx_strbuf_init(&sb, NULL);
    lx_strbuf_adds(&sb, "keep");
    CHECK_EQ_INT(lx_ir_encode(p, &sb, &err), LX_E_LIMIT);
    CHECK_EQ_STR(err.message, "patch_name: longer than 4096 bytes");
    CHECK(sb.len == 4 && strcmp(sb.buf, "keep") == 0);
    lx_strbuf_release(&sb);
    lx_program_destroy(&p);

    /* Input over the maximum is refused before it is read. */
    static const char one = 0;
    CHECK_EQ_INT(lx_ir_decode(&one, (size_t)LX_IR_CODEC_MAX_BYTES + 1, NULL, &p, &err), LX_E_LIMIT);
    CHECK_EQ_INT(lx_ir_decode(NULL, 0, NULL, &p, &err), LX_E_BADMSG);
    CHECK(p == NULL);
}

int main(void)
{
    lx_program_t *progs[N_EXAMPLES] = {0};
    lx_strbuf_t encs[N_EXAMPLES];
    size_t decoded = 0, tried = 0, prefixes = 0;
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        lx_strbuf_init(&encs[i], NULL);
        progs[i] = s_compile_file(s_examples[i]);
        if (!progs[i])
            continue;
        /* compiled_at travels: positive, negative and zero. */
        progs[i]->compiled_at = i % 3 == 0 ? 1767225600 : i % 3 == 1 ? -86400 : 0;
        test_round_trip(progs[i], s_examples[i]);
        lx_strbuf_release(&encs[i]);
        if (!s_encode(progs[i], &encs[i]))
            continue;
        test_truncations(&encs[i], s_examples[i]);
        prefixes += encs[i].len;
        test_corruptions(progs[i], &encs[i], s_examples[i], &decoded, &tried);
        printf("%s: %zu bytes\n", s_examples[i], encs[i].len);
    }
    printf("%zu prefixes refused; %zu single-byte corruptions, %zu decoded (non-hashed "
           "compiled_at), all others refused\n",
           prefixes, tried, decoded);
    if (progs[0] && encs[0].len) {
        test_tampered_fields(&encs[0]);
        test_non_canonical(&encs[0]);
        test_modified_constant(progs[0]);
        test_alloc_failures(&encs[0]);
        test_encode_limits(progs[0]);
        test_encode_alloc_failures(progs[0]);
    }
    test_crafted_lengths();
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        lx_program_destroy(&progs[i]);
        lx_strbuf_release(&encs[i]);
    }
    TEST_MAIN_END();
}
