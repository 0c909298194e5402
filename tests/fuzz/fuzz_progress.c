/* Fuzz target: the readers of an export's books (lattice/progress.h), a
 * journal being what a crash, a full disk or someone else's hands may leave.
 *
 * Input: a flags byte, then the bytes of up to four files, separated by a
 * line "%%" (the bytes "%%\n" at the start of the rest or after a '\n'; the
 * '\n' before it belongs to the file before). Flag bits, from bit 0: the
 * export's own journal .lattice/progress.jsonl, the journal of shard book
 * A (.lattice/shards/0-1), the journal of shard book B (.lattice/shards/
 * 2-4) and B's sealed manifest; each file whose bit is set takes the next
 * part (an empty file when the parts run out). Bit 4 scans the books in
 * the order B, A, own instead of own, A, B; bit 5 seals B before anything
 * else reads it.
 *
 * The books describe an export of examples/orbit-cards (its text is below,
 * a copy) at 32x16, frames 0-4, rgba and depth, whose frames the one-time
 * setup renders into a scratch directory under TMPDIR (removed at exit):
 * journals `lattice export --shard i/2` wrote for those settings (the seed
 * corpus holds some) name files that are there, so frames are kept.
 *
 * Per input: lx_prior_read, lx_shard_names, lx_progress_book_config of
 * every book, lx_resume_scan over the three books in both rehash modes
 * (and into a manifest with lx_resume_keep_record), lx_progress_verify,
 * lx_progress_seal of A and B. Nothing may crash, hang, leak or read out of
 * bounds, and:
 *   - every call succeeds or fails with one of its documented codes;
 *   - a scan keeps each frame of the plan at most once, every kept frame
 *     passes lx_manifest_check_frame, the stamps given to the keeper are
 *     the files' as they are now, stats.kept counts the keeper's calls and
 *     is at most the plan's frames; with rehash nothing is trusted;
 *   - a seal that succeeds writes the header and one line per frame, the
 *     same bytes when sealed again, and the sealed book is then read from
 *     its manifest with at most its frames kept: those of them a resume
 *     kept from its journal;
 *   - a kept frame's time and camera values are finite, and a scan into a
 *     manifest (rerender, assemble) never fails on a line it took for
 *     intact;
 *   - a sealed book keeps the identity (lx_progress_book_config) its
 *     journal's newest valid header gave it.
 * lx_progress_verify is skipped for a header of more than VERIFY_FRAMES_MAX
 * frames: it allocates and walks an index of the header's whole range (up
 * to 10^8 frames, within the journal's documented bounds), which is
 * correct but too slow for a fuzzer. */
#define _GNU_SOURCE /* nftw, memmem */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lattice/compile.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/progress.h"

#define VERIFY_FRAMES_MAX 100000
#define FIRST 0
#define LAST 4
#define FRAMES (LAST - FIRST + 1)
#define BOOK_A LX_SHARDS_DIR "/0-1"
#define BOOK_B LX_SHARDS_DIR "/2-4"

/* examples/orbit-cards.patch.json. */
static const char s_patch[] =
    "{\"format\":\"lattice.patch/1\",\"id\":\"orbit-cards\",\"name\":\"Orbit cards: twelve "
    "hue-coded cards riding a looping ring\",\"seed\":1234,\"output\":{\"width\":832,\"height\":"
    "480,\"fps\":24,\"background\":[0,0,0,0]},\"blocks\":["
    "{\"id\":\"time\",\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":5000,\"mode\":\"loop\"}},"
    "{\"id\":\"cards\",\"type\":\"Array\",\"params\":{\"count\":12}},"
    "{\"id\":\"ring\",\"type\":\"CircleLayout\",\"inputs\":{\"radius\":2.5,\"center\":[0,0,0]}},"
    "{\"id\":\"hue\",\"type\":\"WrapPhase\"},"
    "{\"id\":\"tint\",\"type\":\"Hsv\",\"inputs\":{\"s\":0.7,\"v\":1,\"a\":1}},"
    "{\"id\":\"card\",\"type\":\"Rect\",\"inputs\":{\"width\":1.0,\"height\":0.6}},"
    "{\"id\":\"cam\",\"type\":\"Camera\",\"params\":{\"projection\":\"perspective\"},"
    "\"inputs\":{\"position\":[0,2.5,9],\"target\":[0,0,0],\"up\":[0,1,0],\"fovYDeg\":40}},"
    "{\"id\":\"draw\",\"type\":\"RenderInstances\",\"params\":{\"layer\":\"cards\","
    "\"semantic\":\"card\"}}],\"edges\":["
    "{\"from\":\"time.phase\",\"to\":\"ring.phase\"},"
    "{\"from\":\"cards.domain\",\"to\":\"ring.domain\"},"
    "{\"from\":\"cards.t\",\"to\":\"hue.x\",\"lenses\":[{\"type\":\"scale\",\"k\":"
    "0.9166666666666666}]},"
    "{\"from\":\"hue.out\",\"to\":\"tint.h\"},"
    "{\"from\":\"cards.domain\",\"to\":\"draw.domain\"},"
    "{\"from\":\"ring.position\",\"to\":\"draw.position\"},"
    "{\"from\":\"card.shape\",\"to\":\"draw.shape\"},"
    "{\"from\":\"tint.color\",\"to\":\"draw.color\"}]}";
static const char s_config[] =
    "{\"resolution\":[32,16],\"frames\":[0,4],\"artifacts\":[\"rgba\",\"depth\"]}";

static char s_root[512], s_out[600];
static lx_program_t *s_program;
static lx_export_plan_t s_plan;
static lx_manifest_t *s_manifest; /* the plan's: lx_manifest_check_frame */

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_progress: " __VA_ARGS__);                                            \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

static int s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void s_rm_tree(const char *path) { nftw(path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void s_cleanup(void)
{
    if (s_root[0])
        s_rm_tree(s_root);
    lx_manifest_destroy(&s_manifest);
    lx_program_destroy(&s_program);
}

/* Compiles and plans the patch and renders its frames into s_out. */
static void s_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s_root, sizeof s_root, "%s/lattice-fuzz-progress-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s_root))
        FAIL("cannot create a scratch directory '%s': %s", s_root, strerror(errno));
    atexit(s_cleanup);
    snprintf(s_out, sizeof s_out, "%s/out", s_root);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    if (lx_compile(s_patch, strlen(s_patch), NULL, &d, &s_program, &err) != LX_OK ||
        lx_export_config_load_json(&cfg, s_config, strlen(s_config), &d) != LX_OK ||
        lx_export_plan(s_program, &cfg, &s_plan, &d) != LX_OK)
        FAIL("cannot plan the patch: %s", d.count ? d.items[0].message : err.message);
    lx_diags_release(&d);
    if (!(s_manifest = lx_manifest_new(s_program, &s_plan, NULL, &err)))
        FAIL("lx_manifest_new: %s", err.message);
    lx_frame_renderer_t *fr = lx_frame_renderer_new(s_program, &s_plan, 1, NULL, NULL, NULL, &err);
    if (!fr)
        FAIL("lx_frame_renderer_new: %s", err.message);
    for (int64_t f = FIRST; f <= LAST; f++) {
        const lx_frame_result_t *res = NULL;
        if (lx_frame_renderer_render(fr, f, &res, &err) != LX_OK)
            FAIL("frame %lld: %s", (long long)f, err.message);
        for (uint32_t i = 0; i < res->n_files; i++) {
            char sub[LX_PATH_MAX];
            const lx_artifact_file_t *a = &res->files[i];
            if (!lx_path_join(sub, s_out, a->key) || lx_mkdirs(sub, &err) != LX_OK ||
                lx_write_atomic(sub, a->name, a->bytes.buf, a->bytes.len, &err) != LX_OK)
                FAIL("cannot write %s/%s: %s", a->key, a->name, err.message);
        }
    }
    lx_frame_renderer_destroy(&fr);
}

/* Writes len bytes to s_out/book/name, creating the book. */
static void s_write(const char *book, const char *name, const uint8_t *data, size_t len)
{
    char path[LX_PATH_MAX + 128];
    lx_error_t err = {0};
    snprintf(path, sizeof path, "%s/%s", s_out, book);
    if (lx_mkdirs(path, &err) != LX_OK)
        FAIL("cannot create '%s': %s", path, err.message);
    snprintf(path, sizeof path, "%s/%s/%s", s_out, book, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (len && !lx_write_all(fd, data, len)))
        FAIL("cannot write '%s': %s", path, strerror(errno));
    close(fd);
}

/* The bytes of s_out/book/name (NULL when there are none); free(). */
static char *s_read(const char *book, const char *name, size_t *len)
{
    char path[LX_PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s/%s", s_out, book, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        FAIL("cannot read '%s'", path);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* The keeper: every call checked against the plan and the disk. */
typedef struct tally {
    int calls[FRAMES];
    int64_t total;
} tally_t;

static lx_result_t s_keep(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                          const lx_manifest_file_t *files, const lx_file_stamp_t *stamps,
                          uint32_t n, lx_error_t *err)
{
    tally_t *t = user;
    if (f < FIRST || f > LAST || !cam || t->calls[f - FIRST]++)
        FAIL("frame %lld kept twice or outside the plan", (long long)f);
    t->total++;
    const double cv[] = {t_ms,
                         cam->position[0],
                         cam->position[1],
                         cam->position[2],
                         cam->forward[0],
                         cam->forward[1],
                         cam->forward[2],
                         cam->up[0],
                         cam->up[1],
                         cam->up[2],
                         cam->fov_y_deg,
                         cam->near,
                         cam->far,
                         cam->target[0],
                         cam->target[1],
                         cam->target[2],
                         cam->ortho_height};
    for (size_t i = 0; i < sizeof cv / sizeof *cv; i++)
        if (!isfinite(cv[i]))
            FAIL("frame %lld kept with a time or camera value that is not finite", (long long)f);
    if (lx_manifest_check_frame(s_manifest, f, files, n, err) != LX_OK)
        FAIL("frame %lld kept with files the plan refuses: %s", (long long)f, err->message);
    for (uint32_t i = 0; i < n; i++) {
        char path[LX_PATH_MAX + 300];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/%s", s_out, files[i].key, files[i].name);
        if (lstat(path, &st) != 0)
            FAIL("frame %lld kept without its file '%s'", (long long)f, path);
        lx_file_stamp_t now = lx_file_stamp_of(&st);
        if (now.size != stamps[i].size || now.mtime_ns != stamps[i].mtime_ns ||
            now.ctime_ns != stamps[i].ctime_ns || now.ino != stamps[i].ino)
            FAIL("frame %lld: the stamp of '%s' given to the keeper is not its own", (long long)f,
                 path);
    }
    return LX_OK;
}

static void s_scan(const char *const *books, size_t n, bool rehash)
{
    tally_t t = {{0}, 0};
    lx_resume_stats_t st;
    lx_error_t err = {0};
    lx_result_t rc = lx_resume_scan(s_manifest, s_out, books, n, rehash, s_keep, &t, &st, &err);
    if (rc != LX_OK)
        FAIL("lx_resume_scan: %s %s", lx_error_name(rc), err.message);
    if (st.kept != t.total || st.kept > FRAMES || (rehash && st.trusted))
        FAIL("lx_resume_scan: kept %lld (keeper: %lld), trusted %llu", (long long)st.kept,
             (long long)t.total, (unsigned long long)st.trusted);
}

/* Scanning into a manifest as lattice rerender and assemble do. A kept
 * frame must also record: LX_E_INVALID here is a line the scan took for
 * intact that the manifest refuses (a time or camera it cannot hold). */
static void s_scan_record(const char *const *books, size_t n)
{
    lx_error_t err = {0};
    lx_resume_stats_t st;
    lx_manifest_t *m = lx_manifest_new(s_program, &s_plan, NULL, &err);
    if (!m)
        FAIL("lx_manifest_new: %s", err.message);
    lx_result_t rc = lx_resume_scan(m, s_out, books, n, false, lx_resume_keep_record, m, &st, &err);
    if (rc != LX_OK)
        FAIL("lx_resume_scan into a manifest: %s %s", lx_error_name(rc), err.message);
    if (lx_manifest_missing(m) != FRAMES - st.kept)
        FAIL("lx_resume_scan: kept %lld, the manifest misses %lld", (long long)st.kept,
             (long long)lx_manifest_missing(m));
    lx_manifest_destroy(&m);
}

/* Seals book (frames a..b) and checks what it wrote. */
static void s_seal(const char *book, int64_t a, int64_t b)
{
    int out = open(s_out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (out < 0)
        FAIL("cannot open '%s'", s_out);
    lx_error_t err = {0};
    char before[65], after[65];
    bool had = false;
    size_t len0 = 0;
    char *old = s_read(book, LX_SHARD_MANIFEST, &len0);
    free(old);
    had = old != NULL;
    if (lx_progress_book_config(s_out, book, before, &err) != LX_OK)
        before[0] = '\0';
    /* What a resume keeps from the journal, which sealing must not change. */
    tally_t journal = {{0}, 0};
    lx_resume_stats_t st;
    const char *books[] = {book};
    if (!had &&
        lx_resume_scan(s_manifest, s_out, books, 1, false, s_keep, &journal, &st, &err) != LX_OK)
        FAIL("lx_resume_scan of book '%s': %s", book, err.message);
    lx_result_t rc = lx_progress_seal(out, book, a, b, &err);
    if (rc != LX_OK && rc != LX_E_INVALID && rc != LX_E_IO)
        FAIL("lx_progress_seal: %s %s", lx_error_name(rc), err.message);
    size_t len = 0;
    char *text = s_read(book, LX_SHARD_MANIFEST, &len);
    if (rc != LX_OK) {
        if (text && !had)
            FAIL("lx_progress_seal failed (%s) and wrote a manifest", lx_error_name(rc));
        free(text);
        close(out);
        return;
    }
    if (!text || strncmp(text, "{\"progress\":", 12) != 0)
        FAIL("a sealed manifest that does not start with a header");
    int64_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (len == 0 || text[len - 1] != '\n' || lines != b - a + 2)
        FAIL("a sealed manifest of %lld lines for %lld frames", (long long)lines,
             (long long)(b - a + 1));
    /* Sealing again gives the same bytes. */
    if (lx_progress_seal(out, book, a, b, &err) != LX_OK)
        FAIL("lx_progress_seal again: %s", err.message);
    size_t len2 = 0;
    char *again = s_read(book, LX_SHARD_MANIFEST, &len2);
    if (!again || len2 != len || memcmp(again, text, len) != 0)
        FAIL("sealing twice gave other bytes");
    free(again);
    free(text);
    close(out);
    /* The sealed book reads as its manifest, with at most its frames. */
    tally_t t = {{0}, 0};
    if (lx_resume_scan(s_manifest, s_out, books, 1, false, s_keep, &t, &st, &err) != LX_OK ||
        st.kept > b - a + 1)
        FAIL("a sealed book scans to %lld frames of %lld", (long long)st.kept,
             (long long)(b - a + 1));
    for (int64_t f = FIRST; f <= LAST; f++)
        if (t.calls[f - FIRST] && (f < a || f > b))
            FAIL("a sealed book of frames %lld-%lld kept frame %lld", (long long)a, (long long)b,
                 (long long)f);
    /* (A journal may hold frames of other slices; its manifest only its
     * own.) */
    for (int64_t f = a; !had && f <= b; f++)
        if (t.calls[f - FIRST] != journal.calls[f - FIRST])
            FAIL("sealing changed whether a resume keeps frame %lld of book '%s'", (long long)f,
                 book);
    /* Its identity is the journal's newest header's. */
    if (lx_progress_book_config(s_out, book, after, &err) != LX_OK)
        FAIL("lx_progress_book_config of a sealed book: %s", err.message);
    if (!had && strcmp(before, after) != 0)
        FAIL("sealing changed the book's config hash from '%s' to '%s'", before, after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        s_setup();
        ready = true;
    }
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *rest = data + 1;
    size_t n_rest = size - 1;

    /* The parts, split at each line "%%". */
    const uint8_t *part[4];
    size_t part_len[4], n_parts = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n_rest && n_parts < 4; i++) {
        bool sep =
            i + 3 <= n_rest && memcmp(rest + i, "%%\n", 3) == 0 && (i == 0 || rest[i - 1] == '\n');
        if (sep || i == n_rest) {
            part[n_parts] = rest + start;
            part_len[n_parts++] = i - start;
            start = i + 3;
            if (!sep)
                break;
            i += 2;
        }
    }

    char lattice[LX_PATH_MAX + 32];
    snprintf(lattice, sizeof lattice, "%s/" LX_PROGRESS_DIR, s_out);
    s_rm_tree(lattice);
    static const char *const book[4] = {LX_PROGRESS_DIR, BOOK_A, BOOK_B, BOOK_B};
    static const char *const name[4] = {LX_PROGRESS_FILE, LX_PROGRESS_FILE, LX_PROGRESS_FILE,
                                        LX_SHARD_MANIFEST};
    size_t next = 0;
    for (int k = 0; k < 4; k++)
        if (flags & (1u << k)) {
            bool have = next < n_parts;
            s_write(book[k], name[k], have ? part[next] : NULL, have ? part_len[next] : 0);
            next += have;
        }
    if (flags & 0x20)
        s_seal(BOOK_B, 2, 4);

    lx_error_t err = {0};
    lx_prior_t pr;
    lx_result_t rc = lx_prior_read(s_out, &pr, &err);
    if (rc != LX_OK)
        FAIL("lx_prior_read: %s %s", lx_error_name(rc), err.message);
    if (!pr.exists || pr.foreign || pr.manifest || pr.shards > 2 ||
        ((pr.journal || pr.shards) && !(pr.first >= 0 && pr.first <= pr.last)) ||
        (!pr.shards && pr.mixed) || (pr.journal && !(flags & 1)))
        FAIL("lx_prior_read: exists %d foreign %d manifest %d journal %d shards %u mixed %d "
             "frames %lld-%lld",
             pr.exists, pr.foreign, pr.manifest, pr.journal, pr.shards, pr.mixed,
             (long long)pr.first, (long long)pr.last);
    bool verify = pr.journal && pr.last - pr.first < VERIFY_FRAMES_MAX;
    lx_prior_release(&pr);

    size_t n_names = 0;
    char **names = lx_shard_names(s_out, &n_names);
    if (n_names > 2)
        FAIL("lx_shard_names: %zu names", n_names);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);

    for (int k = 0; k < 3; k++) {
        char hex[65];
        memset(hex, 'x', sizeof hex);
        rc = lx_progress_book_config(s_out, k ? book[k] : NULL, hex, &err);
        if (rc != LX_OK || memchr(hex, '\0', sizeof hex) == NULL)
            FAIL("lx_progress_book_config: %s %s", lx_error_name(rc), err.message);
    }

    const char *fwd[] = {NULL, BOOK_A, BOOK_B}, *rev[] = {BOOK_B, BOOK_A, NULL};
    const char *const *books = flags & 0x10 ? rev : fwd;
    s_scan(books, 3, false);
    s_scan(books, 3, true);
    s_scan(NULL, 0, false);
    s_scan_record(books, 3);

    if (verify) {
        lx_verify_report_t rep;
        memset(&rep, 0, sizeof rep);
        lx_strbuf_init(&rep.text, NULL);
        rc = lx_progress_verify(s_out, &rep, &err);
        if (rc != LX_E_VERIFY && rc != LX_E_IO && rc != LX_E_NOMEM)
            FAIL("lx_progress_verify: %s %s", lx_error_name(rc), err.message);
        lx_strbuf_release(&rep.text);
    }

    s_seal(BOOK_A, 0, 1);
    s_seal(BOOK_B, 2, 4);
    return 0;
}
