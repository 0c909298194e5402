/* Image encoders (PNG, EXR, NPY) and their read-back decoders: every
 * supported format, sample type and channel count round-trips exactly;
 * encoding is deterministic and appends; files carry no timestamps or text;
 * HALF conversion rounds to nearest even; invalid images are refused with
 * LX_E_INVALID; damaged files give an error, never a crash (the sanitizer
 * build also checks for leaks); allocation failures give LX_E_NOMEM. */
#include <math.h>
#include <stdint.h>

#include "lattice/encode.h"
#include "test.h"
#include "test_alloc.h"

/* ---- helpers ----------------------------------------------------------- */

static uint32_t s_rng(uint32_t *state)
{
    /* xorshift32: deterministic test data without rand(). */
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static uint32_t s_fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float s_bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Reference binary16 -> binary32 widening (exact). */
static float s_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f)
        return s_bitsf(sign | 0x7f800000u | (m << 13));
    if (e == 0) {
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    return s_bitsf(sign | ((e + 112u) << 23) | (m << 13));
}

static const char *const k_rgba[4] = {"R", "G", "B", "A"};

/* The encoders with one signature: arg is PNG's level or EXR's
 * compression; NPY has none. */
typedef lx_result_t (*s_encode_fn)(const lx_image_t *, int arg, lx_strbuf_t *, lx_error_t *);

static lx_result_t s_png_encode(const lx_image_t *img, int level, lx_strbuf_t *sb, lx_error_t *err)
{
    return lx_png_encode(img, level, sb, err);
}

static lx_result_t s_exr_encode(const lx_image_t *img, int comp, lx_strbuf_t *sb, lx_error_t *err)
{
    return lx_exr_encode(img, (lx_exr_compression_t)comp, sb, err);
}

static lx_result_t s_npy_encode(const lx_image_t *img, int unused, lx_strbuf_t *sb, lx_error_t *err)
{
    (void)unused;
    return lx_npy_encode(img, sb, err);
}

/* An image an encoder must refuse, with the encoder's arg. */
typedef struct {
    lx_image_t img;
    int arg;
} s_invalid_t;

/* Each case is refused with LX_E_INVALID and a message, and the output
 * buffer keeps what it held. */
static void s_check_invalid(s_encode_fn encode, const char *what, const s_invalid_t *bad, size_t n)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_strbuf_adds(&sb, "keep");
    lx_error_t err = {0};
    for (size_t i = 0; i < n; i++) {
        err.message[0] = '\0';
        lx_result_t rc = encode(&bad[i].img, bad[i].arg, &sb, &err);
        CHECK_MSG(rc == LX_E_INVALID, "%s case %zu: %s", what, i, lx_error_name(rc));
        CHECK_MSG(err.message[0] != '\0', "%s case %zu: no message", what, i);
    }
    CHECK(sb.len == 4 && strcmp(sb.buf, "keep") == 0);
    lx_strbuf_release(&sb);
}

typedef lx_result_t (*s_decode_fn)(const void *, size_t, lx_decoded_t *, lx_error_t *);

/* Decodes every proper prefix of a file (all must fail) and every file
 * with one byte changed (may succeed or fail, must not crash or leak). */
static void s_check_damage(s_decode_fn decode, const char *what, const char *bytes, size_t len)
{
    char *copy = malloc(len);
    if (!copy) {
        CHECK(copy != NULL);
        return;
    }
    size_t prefix_ok = 0;
    for (size_t n = 0; n < len; n++) {
        lx_decoded_t d;
        lx_error_t err = {0};
        lx_result_t rc = decode(bytes, n, &d, &err);
        if (rc == LX_OK)
            prefix_ok++;
        else if (d.data != NULL || err.message[0] == '\0')
            CHECK_MSG(0, "%s prefix %zu: failure left data or no message", what, n);
        lx_decoded_release(&d);
    }
    CHECK_MSG(prefix_ok == 0, "%s: %zu truncated files decoded", what, prefix_ok);
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, bytes, len);
        copy[i] ^= (char)(1u << (i % 8));
        lx_decoded_t d;
        lx_error_t err = {0};
        lx_result_t rc = decode(copy, len, &d, &err);
        if (rc != LX_OK)
            CHECK(d.data == NULL);
        lx_decoded_release(&d);
    }
    free(copy);
}

/* ---- PNG --------------------------------------------------------------- */

static void s_png_roundtrip(lx_pixel_type_t type, uint32_t nc, uint32_t w, uint32_t h, int level)
{
    size_t bps = type == LX_PIX_U16 ? 2 : 1;
    size_t n = (size_t)w * h * nc;
    uint8_t *px = malloc(n * bps);
    uint32_t seed = 0x9e3779b9u ^ (w * 31 + h * 7 + nc);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = s_rng(&seed);
        if (type == LX_PIX_U16)
            ((uint16_t *)(void *)px)[i] = (uint16_t)r;
        else
            px[i] = (uint8_t)(i % 3 == 0 ? r : i / 5); /* some structure, some noise */
    }
    lx_image_t img = {w, h, nc, type, px, {0}};
    lx_strbuf_t a, b;
    lx_strbuf_init(&a, NULL);
    lx_strbuf_init(&b, NULL);
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_png_encode(&img, level, &a, &err), LX_OK);
    CHECK_EQ_INT(lx_png_encode(&img, level, &b, &err), LX_OK);
    CHECK_MSG(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0,
              "png %ux%ux%u level %d: two encodings differ", w, h, nc, level);
    lx_decoded_t d;
    CHECK_EQ_INT(lx_png_decode(a.buf, a.len, &d, &err), LX_OK);
    CHECK_MSG(d.width == w && d.height == h && d.channels == nc && d.type == type,
              "png %ux%ux%u: decoded %ux%ux%u type %d", w, h, nc, d.width, d.height, d.channels,
              (int)d.type);
    CHECK_MSG(d.data && memcmp(d.data, px, n * bps) == 0, "png %ux%ux%u type %d: samples differ", w,
              h, nc, (int)type);
    lx_decoded_release(&d);
    CHECK(d.data == NULL);
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
    free(px);
}

static uint32_t s_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_png(void)
{
    const uint32_t sizes[][2] = {{1, 1}, {7, 5}, {64, 33}, {300, 2}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int level = 0; level <= 9; level += 3) {
            s_png_roundtrip(LX_PIX_U8, 1, sizes[s][0], sizes[s][1], level);
            s_png_roundtrip(LX_PIX_U8, 3, sizes[s][0], sizes[s][1], level);
            s_png_roundtrip(LX_PIX_U8, 4, sizes[s][0], sizes[s][1], level);
            s_png_roundtrip(LX_PIX_U16, 1, sizes[s][0], sizes[s][1], level);
        }
    }

    /* 16-bit samples are big-endian in the file: the first IDAT row of a
     * stored (level 0) 1x1 image is filter byte, then 0x12 0x34. */
    uint16_t one = 0x1234;
    lx_image_t g16 = {1, 1, 1, LX_PIX_U16, &one, {0}};
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_png_encode(&g16, 0, &sb, &err), LX_OK);
    const unsigned char *u = (const unsigned char *)sb.buf;
    /* IHDR: bit depth 16, colour type 0. */
    CHECK(sb.len > 33 && u[24] == 16 && u[25] == 0);
    /* A stored deflate block: zlib header (2), block header (5), then the
     * raw row: filter byte, 0x12, 0x34. */
    CHECK(sb.len > 58 && memcmp(u + 37, "IDAT", 4) == 0 && u[41 + 7] <= 4 && u[41 + 8] == 0x12 &&
          u[41 + 9] == 0x34);
    lx_strbuf_release(&sb);

    /* Chunk list of a real-sized RGBA file: IHDR, IDAT..., IEND and nothing
     * else — in particular no tIME, tEXt, zTXt or iTXt. */
    uint32_t w = 97, h = 61;
    uint8_t *rgba = malloc((size_t)w * h * 4);
    for (size_t i = 0; i < (size_t)w * h * 4; i++)
        rgba[i] = (uint8_t)(i * 7 / 3);
    lx_image_t img = {w, h, 4, LX_PIX_U8, rgba, {0}};
    lx_strbuf_init(&sb, NULL);
    CHECK_EQ_INT(lx_png_encode(&img, 6, &sb, &err), LX_OK);
    u = (const unsigned char *)sb.buf;
    CHECK(sb.len > 8 && memcmp(u, "\x89PNG\r\n\x1a\n", 8) == 0);
    size_t pos = 8, nchunks = 0, nidat = 0;
    int bad = 0, saw_end = 0;
    while (pos + 12 <= sb.len && !saw_end) {
        uint32_t clen = s_be32(u + pos);
        char type[5] = {0};
        memcpy(type, u + pos + 4, 4);
        if (nchunks == 0 && strcmp(type, "IHDR") != 0)
            bad++;
        if (strcmp(type, "IDAT") == 0)
            nidat++;
        else if (strcmp(type, "IEND") == 0)
            saw_end = 1;
        else if (strcmp(type, "IHDR") != 0)
            bad++;
        CHECK_MSG(strcmp(type, "tIME") && strcmp(type, "tEXt") && strcmp(type, "zTXt") &&
                      strcmp(type, "iTXt"),
                  "png has a '%s' chunk", type);
        nchunks++;
        pos += 12 + (size_t)clen;
    }
    CHECK(saw_end && pos == sb.len && nidat >= 1 && bad == 0);

    /* Appending: a file encoded after existing content is byte-identical to
     * one encoded alone, and the existing content is untouched. */
    lx_strbuf_t pre;
    lx_strbuf_init(&pre, NULL);
    lx_strbuf_adds(&pre, "prefix");
    CHECK_EQ_INT(lx_png_encode(&img, 6, &pre, &err), LX_OK);
    CHECK(pre.len == 6 + sb.len && memcmp(pre.buf, "prefix", 6) == 0 &&
          memcmp(pre.buf + 6, sb.buf, sb.len) == 0);

    /* Damaged files. Small enough that every prefix and every byte is
     * tried; the first file is the 97x61 RGBA one above at level 6. */
    uint8_t small[12 * 4];
    for (size_t i = 0; i < sizeof small; i++)
        small[i] = (uint8_t)(i * 19);
    lx_image_t simg = {4, 3, 4, LX_PIX_U8, small, {0}};
    lx_strbuf_t sm;
    lx_strbuf_init(&sm, NULL);
    CHECK_EQ_INT(lx_png_encode(&simg, 9, &sm, &err), LX_OK);
    s_check_damage(lx_png_decode, "png 4x3", sm.buf, sm.len);
    s_check_damage(lx_png_decode, "png 97x61", sb.buf, sb.len);
    lx_decoded_t d;
    CHECK_EQ_INT(lx_png_decode("", 0, &d, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_png_decode("\x89PNG\r\n\x1a\n", 8, &d, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_png_decode(sm.buf, sm.len - 12, &d, &err), LX_E_PARSE); /* no IEND */
    lx_strbuf_release(&sm);

    /* A header that claims far more pixels than its data could hold is
     * refused before anything is allocated. Built from the 4x3 file by
     * rewriting the IHDR size and CRC. */
    lx_strbuf_init(&sm, NULL);
    CHECK_EQ_INT(lx_png_encode(&simg, 9, &sm, &err), LX_OK);
    unsigned char *m = (unsigned char *)sm.buf;
    m[16] = 0, m[17] = 0, m[18] = 0x40, m[19] = 0; /* width 16384 */
    m[20] = 0, m[21] = 0, m[22] = 0x40, m[23] = 0; /* height 16384 */
    /* CRC-32 over "IHDR" + data (13 bytes). */
    uint32_t crc = 0xffffffffu;
    for (size_t i = 12; i < 12 + 4 + 13; i++) {
        crc ^= m[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xffffffffu;
    m[29] = (unsigned char)(crc >> 24), m[30] = (unsigned char)(crc >> 16);
    m[31] = (unsigned char)(crc >> 8), m[32] = (unsigned char)crc;
    CHECK_EQ_INT(lx_png_decode(sm.buf, sm.len, &d, &err), LX_E_LIMIT);
    CHECK(d.data == NULL);
    lx_strbuf_release(&sm);

    lx_strbuf_release(&pre);
    lx_strbuf_release(&sb);
    free(rgba);
}

static void test_png_invalid(void)
{
    uint8_t px[64] = {0};
    float fpx[16] = {0};
    const s_invalid_t bad[] = {
        {{0, 4, 4, LX_PIX_U8, px, {0}}, 3},    /* zero width */
        {{4, 0, 4, LX_PIX_U8, px, {0}}, 3},    /* zero height */
        {{2, 2, 5, LX_PIX_U8, px, {0}}, 3},    /* five channels */
        {{2, 2, 2, LX_PIX_U8, px, {0}}, 3},    /* gray+alpha is not written */
        {{2, 2, 0, LX_PIX_U8, px, {0}}, 3},    /* no channels */
        {{2, 2, 3, LX_PIX_U16, px, {0}}, 3},   /* 16-bit RGB */
        {{2, 2, 4, LX_PIX_U16, px, {0}}, 3},   /* 16-bit RGBA */
        {{2, 2, 1, LX_PIX_F32, fpx, {0}}, 3},  /* float */
        {{2, 2, 1, LX_PIX_HALF, fpx, {0}}, 3}, /* half */
        {{2, 2, 1, LX_PIX_U8, NULL, {0}}, 3},  /* no data */
        {{2, 2, 1, LX_PIX_U8, px, {0}}, 10},   /* level */
        {{2, 2, 1, LX_PIX_U8, px, {0}}, -1},
    };
    s_check_invalid(s_png_encode, "png", bad, sizeof bad / sizeof bad[0]);
}

/* ---- EXR --------------------------------------------------------------- */

static const lx_exr_compression_t k_comps[] = {LX_EXR_NONE, LX_EXR_RLE, LX_EXR_ZIPS, LX_EXR_ZIP,
                                               LX_EXR_PIZ};

/* Round trip of one image: samples come back in sorted-name channel order,
 * bit for bit (HALF inputs are exactly representable). */
static void s_exr_roundtrip(lx_pixel_type_t type, uint32_t nc, uint32_t w, uint32_t h,
                            lx_exr_compression_t comp, const char *const *names)
{
    size_t n = (size_t)w * h * nc;
    float *px = malloc(n * sizeof *px);
    uint32_t seed = 0x2545f491u ^ (w * 131 + h * 17 + nc * 3 + (uint32_t)comp);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = s_rng(&seed);
        if (type == LX_PIX_HALF) {
            uint16_t hb = (uint16_t)r;
            if ((hb & 0x7c00u) == 0x7c00u && (hb & 0x3ffu))
                hb &= 0xfc00u; /* NaNs are compared below; keep this one simple */
            px[i] = (i % 4 == 0) ? s_half_to_float(hb) : (float)(int)(i % 97) * 0.125f;
        } else {
            px[i] = (i % 3 == 0) ? s_bitsf(r & 0xbfffffffu) : (float)(i % 251) * 0.01f;
        }
    }
    lx_image_t img = {w, h, nc, type, px, {0}};
    for (uint32_t c = 0; c < nc; c++)
        img.names[c] = names[c];
    lx_strbuf_t a, b;
    lx_strbuf_init(&a, NULL);
    lx_strbuf_init(&b, NULL);
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_exr_encode(&img, comp, &a, &err), LX_OK);
    CHECK_EQ_INT(lx_exr_encode(&img, comp, &b, &err), LX_OK);
    CHECK_MSG(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0,
              "exr %ux%ux%u comp %d: two encodings differ", w, h, nc, (int)comp);
    lx_decoded_t d;
    lx_result_t rc = lx_exr_decode(a.buf, a.len, &d, &err);
    CHECK_MSG(rc == LX_OK, "exr %ux%ux%u comp %d: decode %s: %s", w, h, nc, (int)comp,
              lx_error_name(rc), err.message);
    if (rc == LX_OK) {
        CHECK(d.width == w && d.height == h && d.channels == nc && d.type == type);
        /* Expected order: the input names sorted by strcmp. */
        uint32_t order[4] = {0, 1, 2, 3};
        for (uint32_t i = 0; i < nc; i++)
            for (uint32_t j = i + 1; j < nc; j++)
                if (strcmp(names[order[j]], names[order[i]]) < 0) {
                    uint32_t t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
        for (uint32_t c = 0; c < nc; c++)
            CHECK_EQ_STR(d.names[c], names[order[c]]);
        const float *got = d.data;
        size_t mismatches = 0;
        for (size_t p = 0; p < (size_t)w * h; p++)
            for (uint32_t c = 0; c < nc; c++)
                if (s_fbits(got[p * nc + c]) != s_fbits(px[p * nc + order[c]]))
                    mismatches++;
        CHECK_MSG(mismatches == 0, "exr %ux%ux%u type %d comp %d: %zu samples differ", w, h, nc,
                  (int)type, (int)comp, mismatches);
    }
    lx_decoded_release(&d);
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
    free(px);
}

static void test_exr_roundtrip(void)
{
    static const char *const normal[4] = {"N.Z", "N.X", "N.Y", "valid"};
    static const char *const motion[4] = {"v", "u", "x", "w"};
    /* Heights that are not multiples of the 16- and 32-line chunks. */
    const uint32_t sizes[][2] = {{1, 1}, {37, 45}, {64, 33}};
    for (size_t ci = 0; ci < sizeof k_comps / sizeof k_comps[0]; ci++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (uint32_t nc = 1; nc <= 4; nc++) {
                s_exr_roundtrip(LX_PIX_HALF, nc, sizes[s][0], sizes[s][1], k_comps[ci], k_rgba);
                s_exr_roundtrip(LX_PIX_F32, nc, sizes[s][0], sizes[s][1], k_comps[ci], normal);
                s_exr_roundtrip(LX_PIX_F32, nc, sizes[s][0], sizes[s][1], k_comps[ci], motion);
            }
}

/* Every one of the 65536 half values survives float -> HALF file -> float
 * unchanged (NaN payloads included), for every compression. */
static void test_exr_all_halves(void)
{
    float *px = malloc(65536 * sizeof *px);
    for (uint32_t i = 0; i < 65536; i++)
        px[i] = s_half_to_float((uint16_t)i);
    lx_image_t img = {256, 256, 1, LX_PIX_HALF, px, {"Y"}};
    for (size_t ci = 0; ci < sizeof k_comps / sizeof k_comps[0]; ci++) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        lx_error_t err = {0};
        CHECK_EQ_INT(lx_exr_encode(&img, k_comps[ci], &sb, &err), LX_OK);
        lx_decoded_t d;
        CHECK_EQ_INT(lx_exr_decode(sb.buf, sb.len, &d, &err), LX_OK);
        size_t bad = 0;
        for (uint32_t i = 0; d.data && i < 65536; i++)
            if (s_fbits(((float *)d.data)[i]) != s_fbits(px[i]))
                bad++;
        CHECK_MSG(d.data && bad == 0, "comp %d: %zu of 65536 halves changed", (int)k_comps[ci],
                  bad);
        lx_decoded_release(&d);
        lx_strbuf_release(&sb);
    }
    free(px);
}

/* float -> HALF rounds to nearest, ties to even (checked through a file). */
static void test_exr_half_rounding(void)
{
    struct {
        float in;
        uint32_t want; /* bits of the expected float after the trip */
    } cases[] = {
        {1.0f + 0x1p-11f, s_fbits(1.0f)},                       /* tie, even below */
        {1.0f + 3 * 0x1p-11f, s_fbits(1.0f + 0x1p-9f)},         /* tie, even above */
        {1.0f + 0x1p-11f + 0x1p-20f, s_fbits(1.0f + 0x1p-10f)}, /* just above a tie */
        {1.0f + 0x1p-11f - 0x1p-22f, s_fbits(1.0f)},            /* just below a tie */
        {-(2.0f + 0x1p-10f), s_fbits(-2.0f)},                   /* tie at 2, negative */
        {65504.0f, s_fbits(65504.0f)},                          /* largest half */
        {65519.0f, s_fbits(65504.0f)},                          /* below the tie */
        {65520.0f, s_fbits(INFINITY)},                          /* tie -> inf (odd 0x3ff) */
        {1e9f, s_fbits(INFINITY)},
        {-65520.0f, s_fbits(-INFINITY)},
        {0x1p-24f, s_fbits(0x1p-24f)}, /* smallest subnormal */
        {0x1p-25f, s_fbits(0.0f)},     /* tie -> even zero */
        {0x1p-25f + 0x1p-40f, s_fbits(0x1p-24f)},
        {3 * 0x1p-25f, s_fbits(0x1p-23f)},        /* tie -> even 2 units */
        {5 * 0x1p-25f, s_fbits(0x1p-23f)},        /* tie -> even 2 units */
        {0x1p-14f - 0x1p-25f, s_fbits(0x1p-14f)}, /* tie at the normal edge */
        {-0.0f, s_fbits(-0.0f)},
        {1e-30f, s_fbits(0.0f)},
        {0.1f, s_fbits(s_half_to_float(0x2e66))}, /* 0.0999755859375 */
        {INFINITY, s_fbits(INFINITY)},
    };
    size_t n = sizeof cases / sizeof cases[0];
    float px[32];
    for (size_t i = 0; i < n; i++)
        px[i] = cases[i].in;
    lx_image_t img = {(uint32_t)n, 1, 1, LX_PIX_HALF, px, {"Y"}};
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_exr_encode(&img, LX_EXR_NONE, &sb, &err), LX_OK);
    lx_decoded_t d;
    CHECK_EQ_INT(lx_exr_decode(sb.buf, sb.len, &d, &err), LX_OK);
    for (size_t i = 0; d.data && i < n; i++) {
        uint32_t got = s_fbits(((float *)d.data)[i]);
        CHECK_MSG(got == cases[i].want, "case %zu: %a -> %a, want %a", i, (double)cases[i].in,
                  (double)s_bitsf(got), (double)s_bitsf(cases[i].want));
    }
    lx_decoded_release(&d);
    lx_strbuf_release(&sb);

    /* NaN stays NaN. */
    float nan_px[2] = {NAN, -NAN};
    lx_image_t nimg = {2, 1, 1, LX_PIX_HALF, nan_px, {"Y"}};
    lx_strbuf_init(&sb, NULL);
    CHECK_EQ_INT(lx_exr_encode(&nimg, LX_EXR_ZIP, &sb, &err), LX_OK);
    CHECK_EQ_INT(lx_exr_decode(sb.buf, sb.len, &d, &err), LX_OK);
    CHECK(d.data && isnan(((float *)d.data)[0]) && isnan(((float *)d.data)[1]));
    lx_decoded_release(&d);
    lx_strbuf_release(&sb);
}

static int32_t s_le32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* One encoder reused across sizes, types and compressions (its buffers
 * grow, never shrink) writes what a fresh one writes. */
static void test_exr_encoder_reuse(void)
{
    static const char *const names[4] = {"N.Z", "N.X", "N.Y", "A"};
    const struct {
        uint32_t w, h, nc;
        lx_pixel_type_t type;
        lx_exr_compression_t comp;
    } runs[] = {{64, 40, 3, LX_PIX_F32, LX_EXR_ZIP},  {300, 70, 4, LX_PIX_HALF, LX_EXR_ZIPS},
                {64, 40, 3, LX_PIX_F32, LX_EXR_ZIP},  {17, 3, 1, LX_PIX_F32, LX_EXR_NONE},
                {90, 50, 2, LX_PIX_HALF, LX_EXR_PIZ}, {300, 70, 4, LX_PIX_HALF, LX_EXR_ZIP},
                {5, 33, 1, LX_PIX_F32, LX_EXR_RLE}};
    float *px = malloc(300 * 70 * 4 * sizeof *px);
    uint32_t seed = 99;
    for (size_t i = 0; i < 300 * 70 * 4; i++)
        px[i] = (i % 5 == 0) ? (float)(s_rng(&seed) % 1000) * 0.001f : (float)(i % 300) * 0.25f;
    lx_error_t err = {0};
    lx_exr_encoder_t *e = lx_exr_encoder_new(NULL, &err);
    CHECK(e != NULL);
    for (size_t i = 0; e && i < sizeof runs / sizeof runs[0]; i++) {
        lx_image_t img = {runs[i].w, runs[i].h, runs[i].nc, runs[i].type, px, {0}};
        for (uint32_t c = 0; c < runs[i].nc; c++)
            img.names[c] = names[c];
        lx_strbuf_t fresh, reused;
        lx_strbuf_init(&fresh, NULL);
        lx_strbuf_init(&reused, NULL);
        CHECK_EQ_INT(lx_exr_encode(&img, runs[i].comp, &fresh, &err), LX_OK);
        CHECK_EQ_INT(lx_exr_encoder_encode(e, &img, runs[i].comp, &reused, &err), LX_OK);
        CHECK_MSG(fresh.len == reused.len && memcmp(fresh.buf, reused.buf, fresh.len) == 0,
                  "run %zu: the reused encoder wrote other bytes", i);
        lx_strbuf_release(&fresh);
        lx_strbuf_release(&reused);
    }
    lx_exr_encoder_destroy(&e);
    CHECK(e == NULL);
    lx_exr_encoder_destroy(&e); /* NULL is accepted */
    free(px);
}

/* Where the header ends: after its attributes and their closing 0. */
static size_t s_exr_header_end(const unsigned char *u, size_t len)
{
    size_t pos = 8;
    while (pos < len && u[pos] != 0) {
        size_t nl = strnlen((const char *)u + pos, len - pos);
        size_t tl = strnlen((const char *)u + pos + nl + 1, len - pos - nl - 1);
        size_t at = pos + nl + 1 + tl + 1;
        if (at + 4 > len)
            return len;
        pos = at + 4 +
              (size_t)(uint32_t)(u[at] | u[at + 1] << 8 | u[at + 2] << 16 |
                                 (uint32_t)u[at + 3] << 24);
    }
    return pos + 1;
}

/* Chunks DEFLATE cannot shrink (random bits) are stored raw, at exactly
 * their raw size, as the format requires (readers take that size to mean
 * raw), and read back. */
static void test_exr_zip_raw_chunks(void)
{
    const uint32_t w = 61, h = 35; /* ZIP's 16-line chunks: 16, 16, 3 */
    float *px = malloc((size_t)w * h * sizeof *px);
    uint32_t seed = 7;
    for (size_t i = 0; i < (size_t)w * h; i++)
        px[i] = s_bitsf(s_rng(&seed) & 0xbfffffffu);
    for (int comp = 0; comp < 2; comp++) {
        lx_exr_compression_t c = comp ? LX_EXR_ZIP : LX_EXR_ZIPS;
        uint32_t lpc = comp ? 16 : 1, nchunks = (h + lpc - 1) / lpc;
        lx_image_t img = {w, h, 1, LX_PIX_F32, px, {"Z"}};
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        lx_error_t err = {0};
        CHECK_EQ_INT(lx_exr_encode(&img, c, &sb, &err), LX_OK);
        const unsigned char *u = (const unsigned char *)sb.buf;
        size_t table = s_exr_header_end(u, sb.len);
        for (uint32_t i = 0; i < nchunks && table + 8 * (i + 1) <= sb.len; i++) {
            uint64_t off = 0;
            for (int b = 7; b >= 0; b--)
                off = off << 8 | u[table + 8 * i + (size_t)b];
            CHECK_MSG(off + 8 <= sb.len, "comp %d chunk %u at %llu", (int)c, i,
                      (unsigned long long)off);
            if (off + 8 > sb.len)
                break;
            uint32_t lines = h - i * lpc < lpc ? h - i * lpc : lpc;
            CHECK_MSG(s_le32(u + off) == (int32_t)(i * lpc) &&
                          s_le32(u + off + 4) == (int32_t)(lines * w * 4),
                      "comp %d chunk %u: y %d, %d bytes (raw %u)", (int)c, i, s_le32(u + off),
                      s_le32(u + off + 4), lines * w * 4);
        }
        lx_decoded_t d;
        CHECK_EQ_INT(lx_exr_decode(sb.buf, sb.len, &d, &err), LX_OK);
        CHECK(d.data && memcmp(d.data, px, (size_t)w * h * sizeof *px) == 0);
        lx_decoded_release(&d);
        lx_strbuf_release(&sb);
    }
    free(px);
}

/* The header is exactly: "type" (OpenEXRCore 3.1 creates it with the part)
 * then the required attributes in sorted order, nothing else — no date,
 * no software name, no owner. Channel names are sorted in the list. */
static void test_exr_header(void)
{
    float px[6 * 4];
    for (int i = 0; i < 24; i++)
        px[i] = (float)i * 0.5f;
    static const char *const names[4] = {"R", "G", "B", "A"};
    lx_image_t img = {3, 2, 4, LX_PIX_HALF, px, {0}};
    for (int c = 0; c < 4; c++)
        img.names[c] = names[c];
    static const char *const want[] = {
        "type",      "channels",         "compression",        "dataWindow",       "displayWindow",
        "lineOrder", "pixelAspectRatio", "screenWindowCenter", "screenWindowWidth"};
    const size_t nwant = sizeof want / sizeof want[0];
    for (size_t ci = 0; ci < sizeof k_comps / sizeof k_comps[0]; ci++) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        lx_error_t err = {0};
        CHECK_EQ_INT(lx_exr_encode(&img, k_comps[ci], &sb, &err), LX_OK);
        const unsigned char *u = (const unsigned char *)sb.buf;
        CHECK(sb.len > 8 && s_le32(u) == 20000630 && s_le32(u + 4) == 2);
        size_t pos = 8, nattr = 0;
        while (pos < sb.len && u[pos] != 0) {
            const char *name = (const char *)u + pos;
            size_t nl = strnlen(name, sb.len - pos);
            const char *type = name + nl + 1;
            size_t tl = strnlen(type, sb.len - pos - nl - 1);
            size_t at = pos + nl + 1 + tl + 1;
            if (at + 4 > sb.len)
                break;
            int32_t size = s_le32(u + at);
            CHECK_MSG(nattr < nwant && strcmp(name, want[nattr]) == 0,
                      "attribute %zu is '%s' (want '%s')", nattr, name,
                      nattr < nwant ? want[nattr] : "none");
            if (strcmp(name, "channels") == 0) {
                /* name\0, pixel type, pLinear+reserved, xs, ys; then \0 */
                const unsigned char *e = u + at + 4;
                const char *prev = "";
                int count = 0;
                while (*e) {
                    const char *cn = (const char *)e;
                    CHECK_MSG(strcmp(prev, cn) < 0, "channel '%s' after '%s'", cn, prev);
                    CHECK_EQ_INT(s_le32(e + strlen(cn) + 1), 1); /* HALF */
                    prev = cn;
                    e += strlen(cn) + 1 + 16;
                    count++;
                }
                CHECK_EQ_INT(count, 4);
            }
            if (strcmp(name, "compression") == 0)
                CHECK_EQ_INT(u[at + 4], (int)k_comps[ci]);
            nattr++;
            pos = at + 4 + (size_t)size;
        }
        CHECK_EQ_INT(nattr, nwant);
        lx_strbuf_release(&sb);
    }

    /* Appending after existing content gives the same file bytes (the
     * chunk offset table is relative to the file, not the buffer). */
    lx_strbuf_t alone, pre;
    lx_strbuf_init(&alone, NULL);
    lx_strbuf_init(&pre, NULL);
    lx_strbuf_adds(&pre, "0123456789");
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_exr_encode(&img, LX_EXR_PIZ, &alone, &err), LX_OK);
    CHECK_EQ_INT(lx_exr_encode(&img, LX_EXR_PIZ, &pre, &err), LX_OK);
    CHECK(pre.len == 10 + alone.len && memcmp(pre.buf, "0123456789", 10) == 0 &&
          memcmp(pre.buf + 10, alone.buf, alone.len) == 0);
    lx_strbuf_release(&alone);
    lx_strbuf_release(&pre);
}

static void test_exr_invalid(void)
{
    float px[64] = {0};
    uint8_t u8[64] = {0};
    const s_invalid_t bad[] = {
        {{0, 2, 1, LX_PIX_F32, px, {"Z"}}, LX_EXR_ZIP},
        {{2, 0, 1, LX_PIX_F32, px, {"Z"}}, LX_EXR_ZIP},
        {{2, 2, 5, LX_PIX_F32, px, {"A", "B", "C", "D"}}, LX_EXR_ZIP},
        {{2, 2, 0, LX_PIX_F32, px, {0}}, LX_EXR_ZIP},
        {{2, 2, 1, LX_PIX_U8, u8, {"Y"}}, LX_EXR_ZIP},
        {{2, 2, 1, LX_PIX_U16, u8, {"Y"}}, LX_EXR_ZIP},
        {{2, 2, 2, LX_PIX_F32, px, {"u", NULL}}, LX_EXR_ZIP},
        {{2, 2, 2, LX_PIX_F32, px, {"u", ""}}, LX_EXR_ZIP},
        {{2, 2, 2, LX_PIX_F32, px, {"u", "u"}}, LX_EXR_ZIP},
        {{2, 2, 1, LX_PIX_F32, px, {"a_channel_name_of_32_characters_"}}, LX_EXR_ZIP},
        {{2, 2, 1, LX_PIX_F32, NULL, {"Z"}}, LX_EXR_ZIP},
        {{2, 2, 1, LX_PIX_F32, px, {"Z"}}, 7},
    };
    s_check_invalid(s_exr_encode, "exr", bad, sizeof bad / sizeof bad[0]);

    CHECK_EQ_INT(lx_exr_compression_parse("none"), LX_EXR_NONE);
    CHECK_EQ_INT(lx_exr_compression_parse("rle"), LX_EXR_RLE);
    CHECK_EQ_INT(lx_exr_compression_parse("zips"), LX_EXR_ZIPS);
    CHECK_EQ_INT(lx_exr_compression_parse("zip"), LX_EXR_ZIP);
    CHECK_EQ_INT(lx_exr_compression_parse("piz"), LX_EXR_PIZ);
    CHECK_EQ_INT(lx_exr_compression_parse("ZIP"), -1);
    CHECK_EQ_INT(lx_exr_compression_parse("zip "), -1);
    CHECK_EQ_INT(lx_exr_compression_parse("dwaa"), -1);
    CHECK_EQ_INT(lx_exr_compression_parse(""), -1);
    CHECK_EQ_INT(lx_exr_compression_parse(NULL), -1);
}

static void test_exr_damage(void)
{
    float px[5 * 3 * 2];
    for (int i = 0; i < 30; i++)
        px[i] = (float)i / 7.0f;
    lx_image_t img = {5, 3, 2, LX_PIX_F32, px, {"u", "v"}};
    for (size_t ci = 0; ci < sizeof k_comps / sizeof k_comps[0]; ci++) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        lx_error_t err = {0};
        CHECK_EQ_INT(lx_exr_encode(&img, k_comps[ci], &sb, &err), LX_OK);
        char what[32];
        snprintf(what, sizeof what, "exr comp %d", (int)k_comps[ci]);
        s_check_damage(lx_exr_decode, what, sb.buf, sb.len);
        lx_strbuf_release(&sb);
    }
    lx_decoded_t d;
    lx_error_t err = {0};
    /* Wider than the decoders accept (65536): the encoders write it, the
     * decoders refuse it with LX_E_LIMIT before allocating pixels. */
    float *wide = calloc(70000, sizeof *wide);
    lx_image_t wimg = {70000, 1, 1, LX_PIX_HALF, wide, {"Y"}};
    lx_image_t wpng = {70000, 1, 1, LX_PIX_U8, wide, {0}};
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    CHECK_EQ_INT(lx_exr_encode(&wimg, LX_EXR_ZIP, &sb, &err), LX_OK);
    CHECK_EQ_INT(lx_exr_decode(sb.buf, sb.len, &d, &err), LX_E_LIMIT);
    CHECK(d.data == NULL);
    lx_strbuf_release(&sb);
    CHECK_EQ_INT(lx_png_encode(&wpng, 3, &sb, &err), LX_OK);
    CHECK_EQ_INT(lx_png_decode(sb.buf, sb.len, &d, &err), LX_E_LIMIT);
    CHECK(d.data == NULL);
    lx_strbuf_release(&sb);
    free(wide);

    CHECK_EQ_INT(lx_exr_decode("", 0, &d, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_exr_decode("v/1\x01\x02\0\0\0", 8, &d, &err), LX_E_PARSE);
    CHECK(d.data == NULL);
}

/* ---- NPY --------------------------------------------------------------- */

static void test_npy(void)
{
    /* height 2, width 3, 1 channel: shape (2, 3, 1). */
    float px[6] = {1.0f, -2.0f, 0.5f, 0.0f, -0.0f, 3.25f};
    lx_image_t img = {3, 2, 1, LX_PIX_F32, px, {0}};
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_npy_encode(&img, &sb, &err), LX_OK);
    char want[129];
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 1), }";
    memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10); /* HEADER_LEN 118 */
    memset(want + 10, ' ', 118);
    memcpy(want + 10, dict, strlen(dict));
    want[127] = '\n';
    CHECK_EQ_INT(sb.len, 128 + 6 * 4);
    CHECK(sb.len >= 128 && memcmp(sb.buf, want, 128) == 0);
    static const unsigned char data[24] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
                                           0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x00,
                                           0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x50, 0x40};
    CHECK(sb.len == 152 && memcmp(sb.buf + 128, data, 24) == 0);
    lx_strbuf_t again;
    lx_strbuf_init(&again, NULL);
    CHECK_EQ_INT(lx_npy_encode(&img, &again, &err), LX_OK);
    CHECK(again.len == sb.len && memcmp(again.buf, sb.buf, sb.len) == 0);
    lx_strbuf_release(&again);
    lx_strbuf_release(&sb);

    /* Header stays 64-aligned and newline-terminated for other shapes. */
    static float big[1080 * 3];
    const uint32_t shapes[][3] = {{1, 1, 1}, {1080, 1, 3}, {1, 1080, 2}, {540, 2, 3}, {3, 360, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        lx_image_t i2 = {shapes[s][0], shapes[s][1], shapes[s][2], LX_PIX_F32, big, {0}};
        lx_strbuf_init(&sb, NULL);
        CHECK_EQ_INT(lx_npy_encode(&i2, &sb, &err), LX_OK);
        size_t hl = sb.len >= 10 ? ((unsigned char)sb.buf[8] | (unsigned char)sb.buf[9] << 8) : 0;
        size_t n = (size_t)shapes[s][0] * shapes[s][1] * shapes[s][2];
        CHECK((10 + hl) % 64 == 0 && sb.buf[10 + hl - 1] == '\n' && sb.len == 10 + hl + n * 4);
        char shape[64];
        snprintf(shape, sizeof shape, "'shape': (%u, %u, %u), }", shapes[s][1], shapes[s][0],
                 shapes[s][2]);
        CHECK_MSG(sb.len > 10 && strstr(sb.buf + 10, shape) != NULL, "npy header lacks %s", shape);
        lx_strbuf_release(&sb);
    }

    uint8_t u8[8] = {0};
    lx_image_t bad[] = {
        {2, 2, 1, LX_PIX_U8, u8, {0}},    {2, 2, 1, LX_PIX_HALF, px, {0}},
        {0, 2, 1, LX_PIX_F32, px, {0}},   {2, 0, 1, LX_PIX_F32, px, {0}},
        {1, 1, 5, LX_PIX_F32, px, {0}},   {1, 1, 0, LX_PIX_F32, px, {0}},
        {1, 1, 1, LX_PIX_F32, NULL, {0}},
    };
    lx_strbuf_init(&sb, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(lx_npy_encode(&bad[i], &sb, &err) == LX_E_INVALID, "npy case %zu", i);
    CHECK(sb.len == 0);
    lx_strbuf_release(&sb);
}

/* ---- allocation failure ------------------------------------------------ */

/* The output buffer's allocator (and, for PNG, libpng's) fails the Nth
 * request for every N: the result is LX_E_NOMEM, or LX_OK with the same
 * bytes; nothing leaks. */
static void test_nomem(void)
{
    uint16_t g[40 * 30];
    float f[40 * 30 * 3];
    for (size_t i = 0; i < 40 * 30; i++) {
        g[i] = (uint16_t)(i * 37);
        f[i * 3] = (float)i, f[i * 3 + 1] = 0.5f, f[i * 3 + 2] = -1.0f;
    }
    const struct {
        s_encode_fn encode;
        lx_image_t img;
        int arg;
    } encs[] = {
        {s_png_encode, {40, 30, 1, LX_PIX_U16, g, {0}}, 6},
        {s_exr_encode, {40, 30, 3, LX_PIX_HALF, f, {"R", "G", "B"}}, LX_EXR_PIZ},
        {s_npy_encode, {40, 30, 3, LX_PIX_F32, f, {0}}, 0},
    };
    for (int which = 0; which < 3; which++) {
        lx_strbuf_t ref;
        lx_strbuf_init(&ref, NULL);
        long nomem = 0;
        t_fail_each_t fe = T_FAIL_EACH_INIT;
        while (t_fail_each_next(&fe)) {
            lx_strbuf_t sb;
            lx_strbuf_init(&sb, &fe.alloc);
            lx_error_t err = {0};
            lx_result_t rc = encs[which].encode(&encs[which].img, encs[which].arg, &sb, &err);
            if (fe.fail_at < 0) {
                CHECK_EQ_INT(rc, LX_OK);
                lx_strbuf_add(&ref, sb.buf, sb.len);
                CHECK(fe.c.calls >= 1);
            } else {
                CHECK_MSG(rc == LX_OK || rc == LX_E_NOMEM, "encoder %d allocation %ld: %s", which,
                          fe.fail_at, lx_error_name(rc));
                if (rc == LX_OK)
                    CHECK(sb.len == ref.len && memcmp(sb.buf, ref.buf, ref.len) == 0);
                else
                    nomem++;
            }
            lx_strbuf_release(&sb);
        }
        CHECK_MSG(nomem >= 1, "encoder %d: no allocation failure was reported", which);
        lx_strbuf_release(&ref);
    }
}

int main(void)
{
    test_png();
    test_png_invalid();
    test_exr_roundtrip();
    test_exr_all_halves();
    test_exr_half_rounding();
    test_exr_header();
    test_exr_encoder_reuse();
    test_exr_zip_raw_chunks();
    test_exr_invalid();
    test_exr_damage();
    test_npy();
    test_nomem();
    TEST_MAIN_END();
}
