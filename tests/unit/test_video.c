/* The video module (lattice/video.h): the same bytes twice in a process
 * and in another process; read back with FFmpeg (frame count, size, rate,
 * colour tags, a keyframe first, pixels close to the input); gray exactly
 * neutral; bad sizes, rates, channel counts and empty videos refused;
 * allocation failures give LX_E_NOMEM or the same bytes, without leaks.
 * The video target of an export: the same videos and metadata.json from
 * any threads and frame order, listed and verified, decoded close to the
 * frames' PNGs; a frame file changed before the manifest is written fails
 * the write; EX-504 for keys that cannot be videos, EX-512 for too many
 * frames. */
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <cJSON.h>

#include "export_fixture.h"
#include "lattice/compile.h"
#include "lattice/digest.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/video.h"
#include "scratch_dir.h"
#include "test.h"
#include "test_alloc.h"

static char s_root[256];

enum { W = 64, H = 48, N = 12 };

/* Frame i of a moving pattern with ch channels: smooth colours (4:2:0
 * halves hard colour edges, whatever the encoder does), a hard-edged
 * square in gray, as masks have. */
static void s_frame(uint8_t *px, uint32_t ch, int i)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + ((size_t)y * W + (size_t)x) * ch;
            int sq = x >= 10 + i && x < 30 + i && y >= 8 && y < 28;
            int r = x * 3 + i * 3, g = y * 4 + 40, b = 255 - (x + y) * 2;
            if (ch == 1) {
                p[0] = (uint8_t)(sq ? 255 : 0);
            } else {
                p[0] = (uint8_t)r, p[1] = (uint8_t)g, p[2] = (uint8_t)b;
                if (ch == 4)
                    p[3] = (uint8_t)(x < 32 ? x * 8 : 255);
            }
        }
}

/* The MP4 of N frames of ch channels at fps into out. */
static lx_result_t s_encode(uint32_t ch, double fps, const lx_alloc_t *alloc, lx_strbuf_t *out,
                            lx_error_t *err)
{
    uint8_t px[W * H * 4];
    lx_video_writer_t *v = lx_video_writer_new(W, H, fps, alloc, err);
    lx_result_t rc = v ? LX_OK : err->code;
    for (int i = 0; i < N && rc == LX_OK; i++) {
        s_frame(px, ch, i);
        rc = lx_video_writer_add(v, px, ch, err);
    }
    if (rc == LX_OK)
        rc = lx_video_writer_finish(v, out, err);
    lx_video_writer_destroy(&v);
    return rc;
}

static void test_fps(void)
{
    static const struct {
        double fps;
        int num, den;
    } cases[] = {{16, 16, 1},
                 {30, 30, 1},
                 {12.5, 25, 2},
                 {29.97, 2997, 100},
                 {30000.0 / 1001, 30000, 1001},
                 {24000.0 / 1001, 24000, 1001},
                 {1000, 1000, 1},
                 {0.5, 1, 2},
                 {3.14159265358979, 1571, 500}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int n = 0, d = 0;
        lx_video_fps_rational(cases[k].fps, &n, &d);
        CHECK_MSG(n == cases[k].num && d == cases[k].den, "%g fps: %d/%d, expected %d/%d",
                  cases[k].fps, n, d, cases[k].num, cases[k].den);
    }
}

/* Decoded frames of the MP4 at path, as BT.709 limited-range RGB. */
typedef struct {
    int frames, width, height, keyframe0, range, space, primaries, trc, chroma_loc;
    AVRational rate;
    bool encoder_tag;
    double mse_rgb, max_chroma_dev; /* against s_frame; chroma vs 128 (gray) */
} s_readback_t;

static bool s_readback(const char *path, uint32_t ch, s_readback_t *rb)
{
    memset(rb, 0, sizeof *rb);
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return false;
    bool ok = avformat_find_stream_info(fmt, NULL) >= 0 && fmt->nb_streams == 1;
    AVStream *st = ok ? fmt->streams[0] : NULL;
    const AVCodec *dec = st ? avcodec_find_decoder(st->codecpar->codec_id) : NULL;
    AVCodecContext *c = dec ? avcodec_alloc_context3(dec) : NULL;
    ok = c && avcodec_parameters_to_context(c, st->codecpar) >= 0 &&
         avcodec_open2(c, dec, NULL) >= 0 && st->codecpar->codec_id == AV_CODEC_ID_H264;
    if (ok) {
        rb->width = st->codecpar->width, rb->height = st->codecpar->height;
        rb->range = st->codecpar->color_range, rb->space = st->codecpar->color_space;
        rb->primaries = st->codecpar->color_primaries, rb->trc = st->codecpar->color_trc;
        rb->chroma_loc = st->codecpar->chroma_location;
        rb->rate = st->avg_frame_rate;
        rb->encoder_tag = av_dict_get(fmt->metadata, "encoder", NULL, 0) != NULL;
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    uint8_t want[W * H * 4];
    double se = 0, dev = 0;
    long samples = 0;
    bool first = true, eof = false;
    while (ok && pkt && f && !eof) {
        int r = av_read_frame(fmt, pkt);
        if (r >= 0 && first) {
            rb->keyframe0 = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
            first = false;
        }
        eof = r < 0;
        ok = avcodec_send_packet(c, eof ? NULL : pkt) >= 0;
        av_packet_unref(pkt);
        while (ok && avcodec_receive_frame(c, f) >= 0) {
            ok = f->format == AV_PIX_FMT_YUV420P && f->width == W && f->height == H;
            s_frame(want, ch, rb->frames);
            for (int y = 0; ok && y < H; y++)
                for (int x = 0; x < W; x++) {
                    double Y = f->data[0][y * f->linesize[0] + x] - 16.0;
                    double U = f->data[1][(y / 2) * f->linesize[1] + x / 2] - 128.0;
                    double V = f->data[2][(y / 2) * f->linesize[2] + x / 2] - 128.0;
                    double yy = Y * 255 / 219, u = U * 255 / 224, v = V * 255 / 224;
                    double rgb[3] = {yy + 1.5748 * v, yy - 0.18733 * u - 0.46813 * v,
                                     yy + 1.8556 * u};
                    const uint8_t *p = want + ((size_t)y * W + (size_t)x) * ch;
                    for (int k = 0; k < 3; k++) {
                        double w = ch == 1 ? p[0] : ch == 3 ? p[k] : p[k] * (p[3] / 255.0);
                        se += (rgb[k] - w) * (rgb[k] - w);
                        samples++;
                    }
                    dev = fmax(dev, fmax(fabs(U), fabs(V)));
                }
            rb->frames++;
            av_frame_unref(f);
        }
    }
    rb->mse_rgb = samples ? se / (double)samples : 1e9;
    rb->max_chroma_dev = dev;
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    avformat_close_input(&fmt);
    return ok;
}

static bool s_contains(const char *buf, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, s, n) == 0)
            return true;
    return false;
}

static void test_roundtrip(void)
{
    for (uint32_t ch = 1; ch <= 4; ch++) {
        if (ch == 2)
            continue;
        lx_strbuf_t a, b;
        lx_strbuf_init(&a, NULL);
        lx_strbuf_init(&b, NULL);
        lx_error_t err = {0};
        CHECK_MSG(s_encode(ch, 16, NULL, &a, &err) == LX_OK, "%s", err.message);
        CHECK_MSG(s_encode(ch, 16, NULL, &b, &err) == LX_OK, "%s", err.message);
        CHECK_MSG(a.len > 100 && a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0,
                  "%u channels: two encodes differ", ch);
        char name[32], path[LX_PATH_MAX];
        snprintf(name, sizeof name, "c%u.mp4", ch);
        CHECK(lx_write_atomic(s_root, name, a.buf, a.len, &err) == LX_OK);
        CHECK(lx_path_join(path, s_root, name));
        /* No name, version or time of the encoder, no timestamps. */
        CHECK(!s_contains(a.buf, a.len, "Lavf"));
        s_readback_t rb;
        CHECK_MSG(s_readback(path, ch, &rb), "%u channels: cannot decode", ch);
        CHECK_EQ_INT(rb.frames, N);
        CHECK(rb.width == W && rb.height == H);
        CHECK_MSG(rb.rate.num == 16 && rb.rate.den == 1, "rate %d/%d", rb.rate.num, rb.rate.den);
        CHECK(rb.keyframe0);
        CHECK(rb.range == AVCOL_RANGE_MPEG && rb.space == AVCOL_SPC_BT709 &&
              rb.primaries == AVCOL_PRI_BT709 && rb.trc == AVCOL_TRC_IEC61966_2_1 &&
              rb.chroma_loc == AVCHROMA_LOC_CENTER);
        CHECK(!rb.encoder_tag);
        double psnr = 10 * log10(255.0 * 255.0 / (rb.mse_rgb > 1e-9 ? rb.mse_rgb : 1e-9));
        CHECK_MSG(psnr > 38, "%u channels: PSNR %.1f dB", ch, psnr);
        printf("%u channels: %zu bytes, PSNR %.1f dB\n", ch, a.len, psnr);
        if (ch == 1)
            CHECK_MSG(rb.max_chroma_dev <= 1, "gray has chroma %g", rb.max_chroma_dev);
        lx_strbuf_release(&a);
        lx_strbuf_release(&b);
    }
}

/* Another process (other address-space layout, fresh library state)
 * writes the same bytes. */
static void test_two_processes(void)
{
    lx_strbuf_t a;
    lx_strbuf_init(&a, NULL);
    lx_error_t err = {0};
    CHECK(s_encode(3, 12.5, NULL, &a, &err) == LX_OK);
    pid_t pid = fork();
    if (pid == 0) {
        lx_strbuf_t b;
        lx_strbuf_init(&b, NULL);
        lx_error_t e = {0};
        int ok = s_encode(3, 12.5, NULL, &b, &e) == LX_OK &&
                 lx_write_atomic(s_root, "child.mp4", b.buf, b.len, &e) == LX_OK;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    char path[LX_PATH_MAX];
    size_t len = 0;
    char *b = lx_path_join(path, s_root, "child.mp4") ? t_read_path(path, &len) : NULL;
    CHECK_MSG(b && len == a.len && memcmp(a.buf, b, len) == 0, "the child's file differs");
    s_readback_t rb;
    CHECK(s_readback(path, 3, &rb) && rb.rate.num == 25 && rb.rate.den == 2);
    free(b);
    lx_strbuf_release(&a);
}

static void test_invalid(void)
{
    lx_error_t err = {0};
    static const uint32_t sizes[][2] = {{63, 48}, {64, 47}, {0, 0}, {8194, 64}, {64, 8200}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        lx_video_writer_t *v = lx_video_writer_new(sizes[k][0], sizes[k][1], 16, NULL, &err);
        CHECK(v == NULL && err.code == LX_E_INVALID);
    }
    CHECK(lx_video_writer_new(W, H, 0, NULL, &err) == NULL && err.code == LX_E_INVALID);
    CHECK(lx_video_writer_new(W, H, NAN, NULL, &err) == NULL && err.code == LX_E_INVALID);
    CHECK(lx_video_writer_new(W, H, 1001, NULL, &err) == NULL && err.code == LX_E_INVALID);
    lx_video_writer_t *v = lx_video_writer_new(W, H, 16, NULL, &err);
    CHECK(v != NULL);
    lx_strbuf_t out;
    lx_strbuf_init(&out, NULL);
    if (v) {
        uint8_t px[W * H * 4] = {0};
        CHECK(lx_video_writer_finish(v, &out, &err) == LX_E_INVALID);
        CHECK(strstr(err.message, "at least one frame") != NULL);
        CHECK(lx_video_writer_add(v, px, 2, &err) == LX_E_INVALID);
        CHECK(lx_video_writer_add(v, NULL, 3, &err) == LX_E_INVALID);
        CHECK(lx_video_writer_add(v, px, 3, &err) == LX_OK);
        CHECK(lx_video_writer_finish(v, &out, &err) == LX_OK);
        CHECK(lx_video_writer_finish(v, &out, &err) == LX_E_INVALID);
        CHECK(lx_video_writer_add(v, px, 3, &err) == LX_E_INVALID);
    }
    /* Destroyed before any frame, and half-way: nothing leaks (ASan). */
    lx_video_writer_destroy(&v);
    CHECK(v == NULL);
    lx_video_writer_destroy(NULL);
    v = lx_video_writer_new(W, H, 16, NULL, &err);
    uint8_t px[W * H] = {0};
    CHECK(v && lx_video_writer_add(v, px, 1, &err) == LX_OK);
    lx_video_writer_destroy(&v);
    lx_strbuf_release(&out);
    char ver[128];
    lx_video_versions(ver, sizeof ver);
    CHECK(strstr(ver, "libavcodec ") == ver);
}

/* Every allocation of the module (the writer, the file's buffer, the
 * output) failed in turn: LX_E_NOMEM or the same bytes. */
static void test_nomem(void)
{
    lx_strbuf_t ref;
    lx_strbuf_init(&ref, NULL);
    long nomem = 0;
    t_fail_each_t fe = T_FAIL_EACH_INIT;
    while (t_fail_each_next(&fe)) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, &fe.alloc);
        lx_error_t err = {0};
        lx_result_t rc = s_encode(4, 16, &fe.alloc, &sb, &err);
        if (fe.fail_at < 0) {
            CHECK_EQ_INT(rc, LX_OK);
            lx_strbuf_add(&ref, sb.buf, sb.len);
        } else if (rc == LX_OK) {
            CHECK(sb.len == ref.len && memcmp(sb.buf, ref.buf, ref.len) == 0);
        } else {
            CHECK_MSG(rc == LX_E_NOMEM, "allocation %ld: %s", fe.fail_at, lx_error_name(rc));
            nomem++;
        }
        lx_strbuf_release(&sb);
        CHECK_EQ_INT(fe.c.live_blocks, 0);
    }
    CHECK(nomem >= 2);
    lx_strbuf_release(&ref);
}

/* ---- the video target of an export ------------------------------------ */

/* Renders plan's frames into s_root/name (ex_render). */
static lx_manifest_t *s_render(const lx_program_t *p, const lx_export_plan_t *plan,
                               const char *name, uint32_t threads, size_t stride,
                               char dir[LX_PATH_MAX])
{
    return lx_path_join(dir, s_root, name) ? ex_render(p, plan, dir, threads, stride) : NULL;
}

static char *s_file(const char *dir, const char *rel, size_t *len)
{
    char path[LX_PATH_MAX];
    return lx_path_join(path, dir, rel) ? t_read_path(path, len) : NULL;
}

/* Decodes the gray video at dir/video/<file> and compares each frame's
 * luma with the PNG of the same frame (dir/key/frame_NNNNNN.png): the
 * frame count and the mean and largest difference in 8-bit levels. */
static int s_compare_gray(const char *dir, const char *file, const char *key, double *mean,
                          int *worst)
{
    char path[LX_PATH_MAX], rel[128];
    snprintf(rel, sizeof rel, "video/%s", file);
    AVFormatContext *fmt = NULL;
    if (!lx_path_join(path, dir, rel) || avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return -1;
    AVStream *st = avformat_find_stream_info(fmt, NULL) >= 0 ? fmt->streams[0] : NULL;
    const AVCodec *dec = st ? avcodec_find_decoder(st->codecpar->codec_id) : NULL;
    AVCodecContext *c = dec ? avcodec_alloc_context3(dec) : NULL;
    bool ok = c && avcodec_parameters_to_context(c, st->codecpar) >= 0 &&
              avcodec_open2(c, dec, NULL) >= 0;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int frames = 0;
    double sum = 0;
    long count = 0;
    *worst = 0;
    for (bool eof = false; ok && pkt && f && !eof;) {
        eof = av_read_frame(fmt, pkt) < 0;
        ok = avcodec_send_packet(c, eof ? NULL : pkt) >= 0;
        av_packet_unref(pkt);
        while (ok && avcodec_receive_frame(c, f) >= 0) {
            size_t len = 0;
            snprintf(rel, sizeof rel, "%s/frame_%06d.png", key, frames);
            char *png = s_file(dir, rel, &len);
            lx_decoded_t img = {0};
            ok = png && lx_png_decode(png, len, &img, NULL) == LX_OK && img.channels == 1 &&
                 img.width == (uint32_t)f->width && img.height == (uint32_t)f->height;
            for (uint32_t y = 0; ok && y < img.height; y++)
                for (uint32_t x = 0; x < img.width; x++) {
                    double g = ((const uint8_t *)img.data)[y * img.width + x];
                    double got = (f->data[0][y * (uint32_t)f->linesize[0] + x] - 16.0) * 255 / 219;
                    int e = (int)lround(fabs(got - g));
                    sum += e, count++;
                    *worst = e > *worst ? e : *worst;
                }
            lx_decoded_release(&img);
            free(png);
            frames++;
            av_frame_unref(f);
        }
    }
    *mean = count ? sum / (double)count : 1e9;
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    avformat_close_input(&fmt);
    return ok ? frames : -1;
}

static void test_export_video(void)
{
    size_t len = 0;
    char *patch = t_read("examples/orbit-cards.patch.json", &len);
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    /* Keys in any order: the plan sorts them into the frame files'. */
    const char *cfg = "{\"frames\":\"0-8\",\"resolution\":[64,36],"
                      "\"artifacts\":[\"rgba\",\"mask\",\"control\"],"
                      "\"video\":[\"control/depth\",\"rgba\",\"mask/cards\"]}";
    bool ok = patch && ex_plan(patch, cfg, &p, &plan, &d);
    CHECK_MSG(ok, "plan: %s", d.count ? d.items[0].message : "");
    lx_diags_release(&d);
    if (!ok) {
        free(patch);
        lx_program_destroy(&p);
        return;
    }
    CHECK(plan.cfg.n_video == 3 && strcmp(plan.cfg.video[0], "rgba") == 0 &&
          strcmp(plan.cfg.video[1], "mask/cards") == 0 &&
          strcmp(plan.cfg.video[2], "control/depth") == 0);
    char a[LX_PATH_MAX], b[LX_PATH_MAX], c[LX_PATH_MAX];
    lx_error_t err = {0};
    lx_manifest_t *ma = s_render(p, &plan, "export-a", 1, 1, a);
    lx_manifest_t *mb = s_render(p, &plan, "export-b", 2, 4, b);
    CHECK_MSG(ma && lx_manifest_write(ma, a, NULL, &err) == LX_OK, "%s", err.message);
    CHECK_MSG(mb && lx_manifest_write(mb, b, NULL, &err) == LX_OK, "%s", err.message);
    /* Asked to stop (a coordinator stopping): no video, no metadata.json,
     * LX_E_CANCELLED; the export stays incomplete, never half-said. */
    char st[LX_PATH_MAX];
    lx_manifest_t *ms = s_render(p, &plan, "export-stopped", 1, 1, st);
    atomic_bool stop;
    atomic_init(&stop, true);
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.stop = &stop;
    lx_error_t serr = {0};
    CHECK(ms && lx_manifest_write(ms, st, &run, &serr) == LX_E_CANCELLED);
    size_t sl = 0;
    char *smeta = s_file(st, "metadata.json", &sl);
    CHECK(smeta == NULL);
    free(smeta);
    lx_manifest_destroy(&ms);
    /* Any threads, any frame order: the same bytes. */
    static const char *const files[] = {"video/rgba.mp4", "video/mask_cards.mp4",
                                        "video/control_depth.mp4", "metadata.json"};
    for (int k = 0; k < 4; k++) {
        size_t lx = 0, ly = 0;
        char *x = s_file(a, files[k], &lx), *y = s_file(b, files[k], &ly);
        CHECK_MSG(x && y && lx == ly && memcmp(x, y, lx) == 0, "%s differs", files[k]);
        free(x);
        free(y);
    }
    /* Listed, hashed and explained in metadata.json; lattice verify agrees. */
    char *meta = s_file(a, "metadata.json", &len);
    cJSON *m = meta ? cJSON_Parse(meta) : NULL;
    const cJSON *sums = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "checksums"), "video");
    const cJSON *names = cJSON_GetObjectItem(sums, "files");
    CHECK(cJSON_GetArraySize(names) == 3 &&
          cJSON_GetArraySize(cJSON_GetObjectItem(sums, "content")) == 3);
    for (int k = 0; k < 3; k++) {
        char rel[64], hex[65];
        snprintf(rel, sizeof rel, "video/%s", cJSON_GetArrayItem(names, k)->valuestring);
        CHECK_EQ_STR(rel, files[k]);
        size_t n = 0;
        char *bytes = s_file(a, rel, &n);
        if (bytes)
            lx_sha256_hex(bytes, n, hex);
        CHECK(bytes &&
              strcmp(hex,
                     cJSON_GetArrayItem(cJSON_GetObjectItem(sums, "hashes"), k)->valuestring) == 0);
        free(bytes);
    }
    const cJSON *conv = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "conventions"), "video");
    const cJSON *which = cJSON_GetObjectItem(cJSON_GetObjectItem(conv, "files"), "mask_cards.mp4");
    CHECK(cJSON_IsString(which) && strcmp(which->valuestring, "mask/cards") == 0);
    CHECK(cJSON_GetObjectItem(conv, "crf")->valueint == LX_VIDEO_CRF);
    const cJSON *keys = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "video");
    CHECK(cJSON_GetArraySize(keys) == 3 &&
          strcmp(cJSON_GetArrayItem(keys, 0)->valuestring, "rgba") == 0);
    cJSON_Delete(m);
    free(meta);
    lx_verify_report_t rep;
    CHECK_MSG(lx_export_verify(a, &rep, &err) == LX_OK, "verify: %s", rep.text.buf);
    CHECK(rep.checked == 9 * 6 + 3);
    lx_strbuf_release(&rep.text);
    /* The mask and depth videos hold the PNGs' values, on average to a
     * level or two (at 64x36 nearly every block has an edge, where CRF 18
     * rings most). */
    double mean = 0;
    int worst = 0;
    CHECK_EQ_INT(s_compare_gray(a, "mask_cards.mp4", "mask/cards", &mean, &worst), 9);
    CHECK_MSG(mean < 2.5 && worst < 128, "mask: mean %.2f, worst %d levels", mean, worst);
    printf("mask video: mean %.2f, worst %d levels\n", mean, worst);
    CHECK_EQ_INT(s_compare_gray(a, "control_depth.mp4", "control/depth", &mean, &worst), 9);
    printf("control depth video: mean %.2f, worst %d levels\n", mean, worst);
    CHECK_MSG(mean < 2.5 && worst < 128, "control depth: mean %.2f, worst %d levels", mean, worst);
    lx_manifest_destroy(&ma);
    lx_manifest_destroy(&mb);

    /* A frame file changed after it was recorded (here frame 2's bytes
     * as frame 3's, a valid PNG): the manifest write fails, and no
     * metadata.json claims the export is complete. */
    lx_manifest_t *mc = s_render(p, &plan, "export-c", 1, 1, c);
    char dir[LX_PATH_MAX];
    size_t n2 = 0;
    char *f2 = s_file(c, "mask/cards/frame_000002.png", &n2);
    CHECK(f2 && lx_path_join(dir, c, "mask/cards") &&
          lx_write_atomic(dir, "frame_000003.png", f2, n2, &err) == LX_OK);
    free(f2);
    err = (lx_error_t){0};
    CHECK(mc && lx_manifest_write(mc, c, NULL, &err) == LX_E_VERIFY);
    CHECK_MSG(strstr(err.message, "mask/cards/frame_000003.png") &&
                  strstr(err.message, "not complete"),
              "%s", err.message);
    size_t none = 0;
    char *meta_c = s_file(c, "metadata.json", &none);
    CHECK(meta_c == NULL);
    free(meta_c);
    lx_manifest_destroy(&mc);
    lx_program_destroy(&p);

    /* Keys that cannot be videos, and too many frames. */
    static const struct {
        const char *cfg;
        lx_dcode_t code;
        const char *what;
    } bad[] = {
        {"{\"artifacts\":[\"rgba\",\"depth\"],\"video\":[\"depth\"]}", LX_DC_EX_504, "EXR"},
        {"{\"artifacts\":[\"rgba\",\"id\"],\"video\":[\"id\"]}", LX_DC_EX_504, "label"},
        {"{\"artifacts\":[\"rgba\"],\"formats\":{\"color\":\"exr\"},\"video\":[\"rgba\"]}",
         LX_DC_EX_504, "EXR"},
        {"{\"artifacts\":[\"rgba\"],\"video\":[\"mask/cards\"]}", LX_DC_EX_504, "not a frame"},
        {"{\"artifacts\":[\"control\"],\"formats\":{\"controlDepth\":\"png16\"},"
         "\"video\":[\"control/depth\"]}",
         LX_DC_EX_504, "16-bit"},
        {"{\"video\":\"rgba\"}", LX_DC_EX_504, "list"},
        {"{\"video\":[\"rgba\",\"rgba\"]}", LX_DC_EX_504, "twice"},
        {"{\"video\":[\"../x\"]}", LX_DC_EX_504, "not an artifact file key"},
        {"{\"frames\":\"0-10000\",\"video\":[\"rgba\"]}", LX_DC_EX_512,
         "1 video of 10001 frames is 10001"},
        {"{\"resolution\":[64,36],\"frames\":\"0-3333\",\"artifacts\":[\"rgba\",\"mask\","
         "\"control\"],"
         "\"video\":[\"rgba\",\"mask/cards\",\"control/depth\"]}",
         LX_DC_EX_512, "10002 video frames"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        lx_diags_init(&d, NULL);
        CHECK_MSG(!ex_plan(patch, bad[k].cfg, &p, &plan, &d), "%s planned", bad[k].cfg);
        bool found = false;
        for (size_t i = 0; i < d.count; i++)
            found |= d.items[i].code == bad[k].code && strstr(d.items[i].message, bad[k].what);
        CHECK_MSG(found, "%s: expected %s ('%s'), got '%s'", bad[k].cfg, lx_dcode_str(bad[k].code),
                  bad[k].what, d.count ? d.items[0].message : "");
        lx_diags_release(&d);
        lx_program_destroy(&p);
    }
    /* No keys: no "video" in the config, the hash of an export without. */
    lx_export_plan_t with, without;
    lx_diags_init(&d, NULL);
    CHECK(ex_plan(patch, "{\"video\":[]}", &p, &with, &d));
    lx_program_destroy(&p);
    CHECK(ex_plan(patch, "{}", &p, &without, &d));
    CHECK(memcmp(with.config_hash.bytes, without.config_hash.bytes, 32) == 0);
    lx_program_destroy(&p);
    lx_diags_release(&d);
    /* The flag's list. */
    lx_export_config_t x;
    lx_export_config_init(&x);
    char why[160];
    CHECK(lx_export_config_video(&x, "rgba,control/depth", why, sizeof why) && x.n_video == 2);
    CHECK(!lx_export_config_video(&x, "rgba,,edges", why, sizeof why) && x.n_video == 2);
    CHECK(strstr(why, "''") != NULL);
    CHECK(!lx_export_config_video(&x, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", why, sizeof why));
    CHECK(lx_export_config_video(&x, "", why, sizeof why) && x.n_video == 0);
    free(patch);
}

int main(void)
{
    if (!t_scratch_dir(s_root, "video"))
        TEST_MAIN_END();
    test_fps();
    test_roundtrip();
    test_two_processes();
    test_invalid();
    test_nomem();
    test_export_video();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
