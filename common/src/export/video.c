/* lx_video_writer: 8-bit frames -> H.264 in MP4, in memory, with
 * settings that make the bytes deterministic (lattice/video.h). */
#include "lattice/video.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/mem.h>

/* The muxer's write buffer; the file grows in its own buffer. */
#define S_IO_BUFFER 65536
/* An MP4 larger than this is refused (a 10,000-frame 8K video at CRF 18
 * stays far below it). */
#define S_FILE_MAX ((size_t)1 << 34)

struct lx_video_writer {
    const lx_alloc_t *alloc;
    uint32_t width, height;
    uint32_t enc_w, enc_h; /* rounded up to whole 16x16 macroblocks (see s_open_encoder) */
    int fps_num, fps_den;
    /* The file: len bytes written, pos where the muxer writes next. */
    uint8_t *buf;
    size_t len, cap, pos;
    bool nomem;
    AVFormatContext *fmt;
    AVIOContext *io;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    int64_t frames;
    bool failed, finished;
};

void lx_video_fps_rational(double fps, int *num, int *den)
{
    *num = 1, *den = 1;
    if (!(fps > 0 && fps <= 1000))
        return;
    for (int d = 1; d <= 1001; d++) {
        double x = fps * d, r = (double)(int64_t)(x + 0.5);
        if (r >= 1 && (x - r < 0 ? r - x : x - r) <= 1e-9 * x) {
            *num = (int)r, *den = d;
            return;
        }
    }
    int64_t n = (int64_t)(fps * 1000 + 0.5), d = 1000, a = n, b = d;
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    *num = (int)(n / a), *den = (int)(d / a);
    if (*num < 1)
        *num = 1;
}

void lx_video_versions(char *out, size_t size)
{
    unsigned c = avcodec_version(), f = avformat_version();
    snprintf(out, size, "libavcodec %u.%u.%u, libavformat %u.%u.%u", c >> 16, (c >> 8) & 255,
             c & 255, f >> 16, (f >> 8) & 255, f & 255);
}

static lx_result_t s_av_fail(lx_error_t *err, int averr, const char *what)
{
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(averr, msg, sizeof msg);
    return lx_fail(err, averr == AVERROR(ENOMEM) ? LX_E_NOMEM : LX_E_INTERNAL, "video: %s: %s",
                   what, msg);
}

/* ---- the file in memory ----------------------------------------------- */

#if LIBAVFORMAT_VERSION_MAJOR >= 61
static int s_write(void *opaque, const uint8_t *data, int n)
#else
static int s_write(void *opaque, uint8_t *data, int n)
#endif
{
    lx_video_writer_t *v = opaque;
    if (n < 0 || v->pos > S_FILE_MAX || (size_t)n > S_FILE_MAX - v->pos)
        return AVERROR(EFBIG);
    size_t end = v->pos + (size_t)n;
    if (end > v->cap) {
        size_t cap = v->cap ? v->cap : 1 << 16;
        while (cap < end)
            cap *= 2;
        uint8_t *b = lx_malloc(v->alloc, cap);
        if (!b) {
            v->nomem = true;
            return AVERROR(ENOMEM);
        }
        if (v->len)
            memcpy(b, v->buf, v->len);
        lx_free(v->alloc, v->buf);
        v->buf = b;
        v->cap = cap;
    }
    /* A seek past the end leaves a gap: zeros, never old memory. */
    if (v->pos > v->len)
        memset(v->buf + v->len, 0, v->pos - v->len);
    memcpy(v->buf + v->pos, data, (size_t)n);
    v->pos = end;
    if (end > v->len)
        v->len = end;
    return n;
}

static int64_t s_seek(void *opaque, int64_t offset, int whence)
{
    lx_video_writer_t *v = opaque;
    if (whence & AVSEEK_SIZE)
        return (int64_t)v->len;
    int64_t base = 0;
    switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET:
        break;
    case SEEK_CUR:
        base = (int64_t)v->pos;
        break;
    case SEEK_END:
        base = (int64_t)v->len;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (offset < -base || base + offset > (int64_t)S_FILE_MAX)
        return AVERROR(EINVAL);
    v->pos = (size_t)(base + offset);
    return (int64_t)v->pos;
}

/* ---- setup ------------------------------------------------------------ */

static lx_result_t s_open_encoder(lx_video_writer_t *v, lx_error_t *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        return lx_fail(err, LX_E_INTERNAL,
                       "video: this FFmpeg has no libx264 encoder (Debian's libavcodec has it)");
    AVCodecContext *c = v->enc = avcodec_alloc_context3(codec);
    if (!c)
        return lx_fail(err, LX_E_NOMEM, "video: out of memory for the encoder");
    /* x264 pads a picture that is not whole macroblocks itself, and reads
     * bytes its allocator left in that padding: two encodes of the same
     * frames then differed. So the frames are padded here (the edge
     * repeated, s_convert) and the stream crops them back (crop-rect). */
    c->width = (int)v->enc_w;
    c->height = (int)v->enc_h;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){v->fps_den, v->fps_num};
    c->framerate = (AVRational){v->fps_num, v->fps_den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->gop_size = (int)LX_VIDEO_GOP;
    c->max_b_frames = 0;
    /* One thread, no slices: x264's frame threads and lookahead threads
     * would make the rate control's decisions depend on timing. */
    c->thread_count = 1;
    c->thread_type = 0;
    c->flags |= AV_CODEC_FLAG_BITEXACT;
    /* Quiet: the wrapper logs x264's option string at INFO for every
     * video, and failures come back as return codes. Per context, not
     * av_log_set_level: common/ sets no process-wide state. */
    c->log_level_offset = AV_LOG_TRACE;
    if (v->fmt->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_IEC61966_2_1;
    /* The mean of a 2x2 block sits at its centre (JPEG/MPEG-1 siting). */
    c->chroma_sample_location = AVCHROMA_LOC_CENTER;
    AVDictionary *opts = NULL;
    char crf[16];
    snprintf(crf, sizeof crf, "%d", LX_VIDEO_CRF);
    char params[200];
    snprintf(params, sizeof params,
             "threads=1:lookahead-threads=1:sliced-threads=0:keyint=%u:scenecut=0:bframes=0:"
             "log=-1:crop-rect=0,0,%u,%u",
             LX_VIDEO_GOP, v->enc_w - v->width, v->enc_h - v->height);
    int r = av_dict_set(&opts, "preset", LX_VIDEO_PRESET, 0);
    if (r >= 0)
        r = av_dict_set(&opts, "crf", crf, 0);
    if (r >= 0)
        r = av_dict_set(&opts, "x264-params", params, 0);
    if (r >= 0)
        r = avcodec_open2(c, codec, &opts);
    /* An option left over is one the encoder did not take: a setting that
     * silently did not apply would change the bytes. */
    bool unused = r >= 0 && av_dict_count(opts) > 0;
    av_dict_free(&opts);
    if (r < 0)
        return s_av_fail(err, r, "cannot open the libx264 encoder");
    if (unused)
        return lx_fail(err, LX_E_INTERNAL, "video: libx264 ignored an encoder option");
    return LX_OK;
}

static lx_result_t s_open(lx_video_writer_t *v, lx_error_t *err)
{
    int r = avformat_alloc_output_context2(&v->fmt, NULL, "mp4", NULL);
    if (r < 0 || !v->fmt)
        return s_av_fail(err, r < 0 ? r : AVERROR_MUXER_NOT_FOUND, "no mp4 muxer");
    v->fmt->flags |= AVFMT_FLAG_BITEXACT | AVFMT_FLAG_CUSTOM_IO;
    uint8_t *iobuf = av_malloc(S_IO_BUFFER);
    if (!iobuf)
        return lx_fail(err, LX_E_NOMEM, "video: out of memory");
    v->io = avio_alloc_context(iobuf, S_IO_BUFFER, 1, v, NULL, s_write, s_seek);
    if (!v->io) {
        av_free(iobuf);
        return lx_fail(err, LX_E_NOMEM, "video: out of memory");
    }
    v->fmt->pb = v->io;
    lx_result_t rc = s_open_encoder(v, err);
    if (rc != LX_OK)
        return rc;
    v->st = avformat_new_stream(v->fmt, NULL);
    if (!v->st)
        return lx_fail(err, LX_E_NOMEM, "video: out of memory");
    v->st->time_base = v->enc->time_base;
    v->st->avg_frame_rate = v->enc->framerate;
    r = avcodec_parameters_from_context(v->st->codecpar, v->enc);
    if (r < 0)
        return s_av_fail(err, r, "stream parameters");
    /* The container says the picture's size; the stream crops to it. */
    v->st->codecpar->width = (int)v->width;
    v->st->codecpar->height = (int)v->height;
    r = avformat_write_header(v->fmt, NULL);
    if (r < 0)
        return v->nomem ? lx_fail(err, LX_E_NOMEM, "video: out of memory")
                        : s_av_fail(err, r, "cannot start the mp4 file");
    v->frame = av_frame_alloc();
    v->pkt = av_packet_alloc();
    if (!v->frame || !v->pkt)
        return lx_fail(err, LX_E_NOMEM, "video: out of memory");
    v->frame->format = AV_PIX_FMT_YUV420P;
    v->frame->width = (int)v->enc_w;
    v->frame->height = (int)v->enc_h;
    v->frame->color_range = v->enc->color_range;
    v->frame->colorspace = v->enc->colorspace;
    v->frame->color_primaries = v->enc->color_primaries;
    v->frame->color_trc = v->enc->color_trc;
    v->frame->chroma_location = v->enc->chroma_sample_location;
    r = av_frame_get_buffer(v->frame, 0);
    if (r < 0)
        return s_av_fail(err, r, "frame buffer");
    return LX_OK;
}

lx_video_writer_t *lx_video_writer_new(uint32_t width, uint32_t height, double fps,
                                       const lx_alloc_t *alloc, lx_error_t *err)
{
    if (width < 2 || height < 2 || width > LX_VIDEO_MAX_SIDE || height > LX_VIDEO_MAX_SIDE ||
        width % 2 || height % 2) {
        lx_fail(err, LX_E_INVALID, "video: size %ux%u must be even, from 2 to %u a side", width,
                height, LX_VIDEO_MAX_SIDE);
        return NULL;
    }
    if (!(fps > 0 && fps <= 1000)) {
        lx_fail(err, LX_E_INVALID, "video: frame rate %g is not above 0 and at most 1000", fps);
        return NULL;
    }
    if (!alloc)
        alloc = lx_alloc_default();
    lx_video_writer_t *v = lx_calloc(alloc, 1, sizeof *v);
    if (!v) {
        lx_fail(err, LX_E_NOMEM, "video: out of memory");
        return NULL;
    }
    v->alloc = alloc;
    v->width = width;
    v->height = height;
    v->enc_w = (width + 15) & ~15u;
    v->enc_h = (height + 15) & ~15u;
    lx_video_fps_rational(fps, &v->fps_num, &v->fps_den);
    if (s_open(v, err) != LX_OK)
        lx_video_writer_destroy(&v);
    return v;
}

void lx_video_writer_destroy(lx_video_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_video_writer_t *v = *self_p;
    av_packet_free(&v->pkt);
    av_frame_free(&v->frame);
    avcodec_free_context(&v->enc);
    avformat_free_context(v->fmt); /* not the custom I/O context */
    if (v->io) {
        av_freep(&v->io->buffer);
        avio_context_free(&v->io);
    }
    lx_free(v->alloc, v->buf);
    lx_free(v->alloc, v);
    *self_p = NULL;
}

/* ---- frames ----------------------------------------------------------- */

/* BT.709 limited range in 16-bit fixed point (lattice/video.h): Y from
 * one pixel, Cb and Cr from the sum of a 2x2 block (hence >> 18). The Y
 * row sums to round(219 / 255 * 65536), so gray maps exactly; the Cb and
 * Cr rows sum to 0, so gray has no chroma. */
enum { S_YR = 11966, S_YG = 40254, S_YB = 4064 };
enum { S_UR = -6596, S_UG = -22188, S_UB = 28784 };
enum { S_VR = 28784, S_VG = -26145, S_VB = -2639 };

/* Pixel i of the input as composited RGB. */
static inline void s_rgb(const uint8_t *px, uint32_t ch, size_t i, int32_t *r, int32_t *g,
                         int32_t *b)
{
    const uint8_t *p = px + i * ch;
    if (ch == 1) {
        *r = *g = *b = p[0];
    } else if (ch == 3) {
        *r = p[0], *g = p[1], *b = p[2];
    } else {
        /* Over black: round(c * a / 255) without a division. */
        int32_t a = p[3];
        int32_t x = p[0] * a + 128, y = p[1] * a + 128, z = p[2] * a + 128;
        *r = (x + (x >> 8)) >> 8, *g = (y + (y >> 8)) >> 8, *b = (z + (z >> 8)) >> 8;
    }
}

static void s_convert(lx_video_writer_t *v, const uint8_t *px, uint32_t ch)
{
    AVFrame *f = v->frame;
    uint32_t w = v->width, h = v->height;
    for (uint32_t y = 0; y < v->enc_h; y += 2) {
        uint8_t *y0 = f->data[0] + (size_t)y * (size_t)f->linesize[0];
        uint8_t *y1 = y0 + f->linesize[0];
        uint8_t *u = f->data[1] + (size_t)(y / 2) * (size_t)f->linesize[1];
        uint8_t *vv = f->data[2] + (size_t)(y / 2) * (size_t)f->linesize[2];
        for (uint32_t x = 0; x < v->enc_w; x += 2) {
            int32_t sr = 0, sg = 0, sb = 0;
            for (uint32_t k = 0; k < 4; k++) {
                uint32_t xx = x + (k & 1), yy = y + (k >> 1);
                /* The padding repeats the last column and row. */
                uint32_t sx = xx < w ? xx : w - 1, sy = yy < h ? yy : h - 1;
                int32_t r, g, b;
                s_rgb(px, ch, (size_t)sy * w + sx, &r, &g, &b);
                int32_t luma = ((16 << 16) + S_YR * r + S_YG * g + S_YB * b + (1 << 15)) >> 16;
                (k >> 1 ? y1 : y0)[xx] = (uint8_t)luma;
                sr += r, sg += g, sb += b;
            }
            int32_t cb = ((128 << 18) + S_UR * sr + S_UG * sg + S_UB * sb + (1 << 17)) >> 18;
            int32_t cr = ((128 << 18) + S_VR * sr + S_VG * sg + S_VB * sb + (1 << 17)) >> 18;
            u[x / 2] = (uint8_t)cb;
            vv[x / 2] = (uint8_t)cr;
        }
    }
}

/* Moves every packet the encoder has ready into the file. */
static lx_result_t s_drain(lx_video_writer_t *v, lx_error_t *err)
{
    for (;;) {
        int r = avcodec_receive_packet(v->enc, v->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return LX_OK;
        if (r < 0)
            return s_av_fail(err, r, "encoding");
        av_packet_rescale_ts(v->pkt, v->enc->time_base, v->st->time_base);
        v->pkt->stream_index = v->st->index;
        r = av_interleaved_write_frame(v->fmt, v->pkt);
        av_packet_unref(v->pkt);
        if (r < 0)
            return v->nomem ? lx_fail(err, LX_E_NOMEM, "video: out of memory")
                            : s_av_fail(err, r, "writing the mp4 file");
    }
}

lx_result_t lx_video_writer_add(lx_video_writer_t *v, const uint8_t *pixels, uint32_t channels,
                                lx_error_t *err)
{
    if (v->failed || v->finished)
        return lx_fail(err, LX_E_INVALID, "video: the writer is %s",
                       v->failed ? "failed" : "finished");
    if (!pixels || (channels != 1 && channels != 3 && channels != 4))
        return lx_fail(err, LX_E_INVALID,
                       "video: frames are 8-bit gray, RGB or RGBA, not %u channels", channels);
    v->failed = true;
    int r = av_frame_make_writable(v->frame);
    if (r < 0)
        return s_av_fail(err, r, "frame buffer");
    s_convert(v, pixels, channels);
    v->frame->pts = v->frames;
    v->frame->pict_type = AV_PICTURE_TYPE_NONE;
    r = avcodec_send_frame(v->enc, v->frame);
    if (r < 0)
        return s_av_fail(err, r, "encoding");
    lx_result_t rc = s_drain(v, err);
    if (rc != LX_OK)
        return rc;
    v->frames++;
    v->failed = false;
    return LX_OK;
}

lx_result_t lx_video_writer_finish(lx_video_writer_t *v, lx_strbuf_t *out, lx_error_t *err)
{
    if (v->failed || v->finished || v->frames == 0)
        return lx_fail(err, LX_E_INVALID, "video: %s",
                       v->failed     ? "the writer failed"
                       : v->finished ? "the file is finished already"
                                     : "a video needs at least one frame");
    v->failed = true;
    int r = avcodec_send_frame(v->enc, NULL);
    if (r < 0)
        return s_av_fail(err, r, "encoding");
    lx_result_t rc = s_drain(v, err);
    if (rc != LX_OK)
        return rc;
    r = av_write_trailer(v->fmt);
    if (r >= 0) {
        avio_flush(v->io);
        r = v->io->error;
    }
    if (r < 0)
        return v->nomem ? lx_fail(err, LX_E_NOMEM, "video: out of memory")
                        : s_av_fail(err, r, "finishing the mp4 file");
    lx_strbuf_add(out, v->buf, v->len);
    if (out->failed)
        return lx_fail(err, LX_E_NOMEM, "video: out of memory for %zu bytes", v->len);
    v->failed = false;
    v->finished = true;
    return LX_OK;
}
