/* lx_export_memory_estimate: what one frame renderer allocates, from the
 * plan (see export_memory.h for what is counted and what is not). */
#include "lattice/export_memory.h"
#include "lattice/proc.h"

#include <stdio.h>
#include <string.h>

#include "lattice/export.h"
#include "lattice/raster.h"

/* libpng's write state with its 64 KiB compression buffer and zlib's
 * deflate state at memLevel 8, window 15 (window, prev, head and pending
 * buffers: 4 x 64 KiB), rounded up. */
#define S_PNG_STATE (340u * 1024)
/* OpenEXR's per-part state and a deflate or PIZ working set, rounded up. */
#define S_EXR_STATE (512u * 1024)
/* svg: the bytes of a <path> without its points, the vertices an outline
 * usually has (finer curves near the camera have more), and the encoder
 * with its outline cache (256 outlines of that size) and scratch. */
#define S_SVG_ITEM 128u
#define S_SVG_VERTICES 64u
#define S_SVG_CACHE (256u * 64 * 16 + 64u * 1024)
/* The rasterizer's prepared item (transform, inverse, ray deltas, bbox). */
#define S_PREP_ITEM 400u
/* The instance's value store for a small program, the thread pools, the
 * job tables: what does not grow with the pixels or the items. */
#define S_FIXED (64u * 1024)

/* The capacity an lx_strbuf reaches holding len bytes: it doubles from
 * 64 until len + 1 fits. */
static uint64_t s_strbuf_cap(uint64_t len)
{
    uint64_t cap = 64;
    while (cap < len + 1)
        cap *= 2;
    return cap;
}

/* Scanlines per EXR chunk for each lx_exr_compression_t (none, rle, zips,
 * zip, piz), as OpenEXR defines them. */
static uint64_t s_exr_lines(lx_exr_compression_t c)
{
    static const uint64_t lines[] = {1, 1, 1, 16, 32};
    return (unsigned)c < sizeof lines / sizeof lines[0] ? lines[c] : 32;
}

lx_result_t lx_export_memory_estimate(const lx_program_t *p, const lx_export_plan_t *plan,
                                      uint32_t threads, lx_export_memory_t *out, lx_error_t *err)
{
    memset(out, 0, sizeof *out);
    const lx_alloc_t *a = lx_alloc_default();
    const char **names = lx_calloc(a, (size_t)p->n_sinks + 1, sizeof *names);
    if (!names)
        return lx_fail(err, LX_E_NOMEM, "out of memory for %u layers", p->n_sinks);
    uint64_t layers = lx_raster_layers(p, names, NULL);
    lx_free(a, names);
    lx_export_file_t *files = NULL;
    uint32_t n_files = 0;
    lx_result_t rc = lx_export_frame_files(p, plan, NULL, &files, &n_files, err);
    if (rc != LX_OK)
        return rc;

    const uint64_t w = plan->width, h = plan->height, px = w * h;
    const lx_export_config_t *c = &plan->cfg;
    lx_export_memory_t m = {0};
    /* lx_raster_new: rgba 4 floats, depth, normal 3, id u32, motion 2
     * floats, motion_valid u8, one float plane per layer (at least one). */
    m.raster = px * (16 + 4 + 12 + 4 + 8 + 1 + 4 * (layers ? layers : 1));

    uint64_t scratch_max = 0, grow_max = 0;
    for (uint32_t i = 0; i < n_files; i++) {
        const lx_export_file_t *f = &files[i];
        /* Channels and bytes per sample of the canonical buffer, as the
         * frame renderer lays it out (HALF EXR keeps float samples). */
        uint64_t ch = 1, bps = 4;
        switch (f->kind) {
        case LX_EXPORT_RGBA:
            ch = 4, bps = f->format == LX_EXPORT_EXR ? 4 : 1;
            break;
        case LX_EXPORT_MOTION:
        case LX_EXPORT_NORMAL:
            ch = 3;
            break;
        case LX_EXPORT_ID:
            bps = 2;
            break;
        case LX_EXPORT_MASK:
            bps = f->format == LX_EXPORT_EXR ? 4 : 1;
            break;
        case LX_EXPORT_CONTROL_DEPTH:
            bps = c->control_depth16 ? 2 : 1;
            break;
        case LX_EXPORT_CONTROL_NORMAL:
        case LX_EXPORT_CONTROL_FLOW:
        case LX_EXPORT_CONTROL_SEG:
            ch = 3, bps = 1;
            break;
        case LX_EXPORT_SEMANTIC:
            bps = 2; /* 8-bit up to 255 classes: 2 bounds both */
            break;
        case LX_EXPORT_EDGES:
            ch = 2, bps = 1; /* the map and its thickening scratch */
            break;
        case LX_EXPORT_SVG:
            ch = 0; /* no raster buffer: the document is written from the items */
            break;
        case LX_EXPORT_DEPTH:
        case LX_EXPORT_PARTICLES:
            break;
        }
        /* Particles: a table of 7 floats per instance id, and an index of
         * the previous frame's items by id. */
        uint64_t raw =
            f->kind == LX_EXPORT_PARTICLES ? (uint64_t)(plan->n_ids + 1) * (28 + 4) : px * ch * bps;
        m.convert += raw + 1;

        uint64_t scratch = 0, encoded = 0;
        if (f->format == LX_EXPORT_PNG) {
            /* The row, the previous row and a filtered row; 16-bit images
             * are byte-swapped into one more row first. */
            scratch = 3 * (w * ch * bps + 1) + (bps == 2 ? w * 2 : 0) + S_PNG_STATE;
            if (c->png_level == 0) /* stored: the raw rows, a filter byte each */
                encoded = raw + h + (raw / 65535 + 1) * 5 + 1024;
        } else if (f->format == LX_EXPORT_EXR) {
            /* One chunk converted to planes in the file's sample type, the
             * library's packed and compressed copies and a scratch copy. */
            uint64_t file_bps = f->kind == LX_EXPORT_RGBA ? 2 : 4;
            uint64_t plane = w * s_exr_lines(c->exr_compression) * ch * file_bps;
            scratch = 4 * plane + S_EXR_STATE;
            if (c->exr_compression == LX_EXR_NONE) /* header, offsets, chunk headers */
                encoded = px * ch * file_bps + h * 16 + 4096;
        } else if (f->format == LX_EXPORT_SVG_TEXT) {
            /* The document at about S_SVG_VERTICES vertices an instance,
             * the outline cache and the clipping scratch. */
            encoded = (plan->n_ids + (uint64_t)1) * (S_SVG_ITEM + 24 * S_SVG_VERTICES) + 512;
            scratch = S_SVG_CACHE;
        } else { /* NPY: the header, then the samples */
            encoded = raw + 128;
        }
        if (encoded) {
            uint64_t cap = s_strbuf_cap(encoded);
            m.encoded += cap;
            /* Growing to cap copies from a buffer half its size. */
            grow_max = cap / 2 > grow_max ? cap / 2 : grow_max;
        }
        scratch_max = scratch > scratch_max ? scratch : scratch_max;
    }
    lx_free(lx_alloc_default(), files);
    uint64_t t = threads ? threads : 1;
    if (t > n_files)
        t = n_files; /* no more files are encoded at once than there are */
    m.scratch = t * (scratch_max + grow_max);
    uint64_t items = (uint64_t)plan->n_ids + 1;
    m.items = items * (2 * sizeof(lx_draw_item_t) + 2 * S_PREP_ITEM + sizeof(uint32_t)) + S_FIXED;
    m.total = m.raster + m.convert + m.encoded + m.scratch + m.items;
    *out = m;
    return LX_OK;
}

bool lx_meminfo_available(const char *text, size_t len, uint64_t *bytes)
{
    static const char key[] = "MemAvailable:";
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *stop = nl ? nl : end;
        if ((size_t)(stop - line) > sizeof key - 1 && memcmp(line, key, sizeof key - 1) == 0) {
            const char *s = line + sizeof key - 1;
            while (s < stop && *s == ' ')
                s++;
            uint64_t v = 0;
            const char *d = s;
            while (d < stop && *d >= '0' && *d <= '9' && v < UINT64_MAX / 10 / 1024)
                v = v * 10 + (uint64_t)(*d++ - '0');
            /* "MemAvailable:   12345 kB": the kernel's unit is KiB. */
            if (d == s || stop - d < 3 || memcmp(d, " kB", 3) != 0)
                return false;
            *bytes = v * 1024;
            return true;
        }
        line = stop + 1;
    }
    return false;
}

char *lx_format_bytes(uint64_t bytes, char *out, size_t size)
{
    if (bytes >= 1000000000)
        snprintf(out, size, "%.1f GB", (double)bytes / 1e9);
    else if (bytes >= 1000000)
        snprintf(out, size, "%.1f MB", (double)bytes / 1e6);
    else
        snprintf(out, size, "%llu kB", (unsigned long long)((bytes + 999) / 1000));
    return out;
}

bool lx_export_memory_fits(const lx_export_memory_t *m, const lx_export_plan_t *plan,
                           uint32_t threads, uint32_t workers, const char *meminfo, size_t len,
                           const char *cap, char *why, size_t size)
{
    threads = threads ? threads : 1;
    workers = workers ? workers : 1;
    uint64_t avail = 0;
    bool known = meminfo && lx_meminfo_available(meminfo, len, &avail);
    double limit = 0;
    if (cap && *cap && lx_parse_number(cap, 0, 1e19, &limit) && (!known || limit < (double)avail)) {
        avail = (uint64_t)limit;
        known = true;
    }
    uint64_t need = m->total * workers;
    if (!known || need <= avail)
        return true;
    char per[32], all[32], have[32], total[64] = "";
    lx_format_bytes(m->total, per, sizeof per);
    lx_format_bytes(avail, have, sizeof have);
    if (workers > 1)
        snprintf(total, sizeof total, ", %s for %u workers,",
                 lx_format_bytes(need, all, sizeof all), workers);
    snprintf(why, size,
             "resolution %ux%u needs about %s per worker (%u thread%s)%s and %s are available; "
             "lower the resolution%s",
             plan->width, plan->height, per, threads, threads == 1 ? "" : "s", total, have,
             workers > 1 ? ", the threads or the workers" : " or the threads");
    return false;
}
