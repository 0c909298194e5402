/* The progress journal (lattice/progress.h): frames written and journaled
 * come back from a resume scan exactly as recorded; a file whose stamp
 * changed is re-hashed and kept only when it still matches; a later line
 * (a withdrawal) wins; a torn last line, a line of other settings and a
 * damaged file leave their frame to be rendered; the settings hash ignores
 * only the frame range; lx_prior_read tells an export from other files. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lattice/compile.h"
#include "lattice/digest.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/progress.h"
#include "scratch_dir.h"
#include "test.h"

static char s_root[256];

static bool s_plan(const char *text, const char *cfg_json, lx_program_t **p, lx_export_plan_t *plan)
{
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    bool ok = lx_compile(text, strlen(text), NULL, &d, p, &err) == LX_OK &&
              lx_export_config_load_json(&cfg, cfg_json, strlen(cfg_json), &d) == LX_OK &&
              lx_export_plan(*p, &cfg, plan, &d) == LX_OK;
    CHECK_MSG(ok, "plan %s: %s", cfg_json, d.count ? d.items[0].message : err.message);
    lx_diags_release(&d);
    return ok;
}

/* Appends line to the journal in book (NULL: the export's own) of dir. */
static void s_append_book(const char *dir, const char *book, const char *line)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    lx_error_t err = {0};
    CHECK(fd >= 0 && lx_progress_append(fd, book, line, strlen(line), false, &err) == LX_OK);
    close(fd);
}

/* orbit-cards planned with cfg_json, and an empty directory s_root/name
 * for its export: false (checked) when either fails. Free *text and *p. */
static bool s_fixture(const char *cfg_json, const char *name, char **text, lx_program_t **p,
                      lx_export_plan_t *plan, char dir[512])
{
    size_t len;
    lx_error_t err = {0};
    *text = t_read("examples/orbit-cards.patch.json", &len);
    if (!*text || !s_plan(*text, cfg_json, p, plan)) {
        free(*text);
        lx_program_destroy(p);
        return false;
    }
    snprintf(dir, 512, "%s/%s", s_root, name);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    return true;
}

static void s_append(const char *dir, const char *line) { s_append_book(dir, NULL, line); }

/* What a frame line holds, kept to write the line again (s_line_text). */
typedef struct s_line {
    int64_t f;
    double t;
    lx_camera_t cam;
    uint32_t n;
    char key[16][LX_MANIFEST_KEY_MAX + 1], name[16][64], hash[16][65], content[16][65];
    lx_file_stamp_t st[16];
} s_line_t;

/* The journal line of l, with time t; bad_hash: its first file's SHA-256
 * changed (still lower-case hex); no_stamps: every stamp unknown (-1), so
 * that a resume re-hashes its files. */
static char *s_line_text(const s_line_t *l, double t, bool bad_hash, bool no_stamps)
{
    lx_manifest_file_t files[16];
    char hash0[65];
    for (uint32_t i = 0; i < l->n; i++)
        files[i] = (lx_manifest_file_t){l->key[i], l->name[i], l->hash[i], l->content[i]};
    if (bad_hash && l->n) {
        memcpy(hash0, l->hash[0], sizeof hash0);
        hash0[0] = hash0[0] == '0' ? '1' : '0';
        files[0].hash = hash0;
    }
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_progress_frame(l->f, t, &l->cam, files, no_stamps ? NULL : l->st, l->n, &sb);
    char *text = strdup(sb.buf ? sb.buf : "");
    lx_strbuf_release(&sb);
    return text;
}

/* Renders frames [a, b] of plan (the whole export) into dir like a shard
 * of it does, and records them into ref (NULL: not recorded). With journal,
 * journals the whole plan's header and each frame into book (NULL: the
 * export's own journal); lines (NULL: not kept) receives each frame's line
 * data, lines[f - a]. */
static void s_export_book(const lx_program_t *p, const lx_export_plan_t *plan, const char *dir,
                          const char *book, int64_t a, int64_t b, bool journal, lx_manifest_t *ref,
                          s_line_t *lines)
{
    lx_error_t err = {0};
    lx_strbuf_t line;
    lx_strbuf_init(&line, NULL);
    lx_progress_header(p, plan, &line);
    if (journal)
        s_append_book(dir, book, line.buf);
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, plan, 1, NULL, NULL, NULL, &err);
    CHECK(fr != NULL);
    for (int64_t f = a; fr && f <= b; f++) {
        const lx_frame_result_t *res = NULL;
        CHECK(lx_frame_renderer_render(fr, f, &res, &err) == LX_OK);
        lx_manifest_file_t files[16];
        lx_file_stamp_t stamps[16];
        CHECK(res->n_files <= 16);
        for (uint32_t i = 0; i < res->n_files && i < 16; i++) {
            const lx_artifact_file_t *af = &res->files[i];
            char sub[LX_PATH_MAX], path[LX_PATH_MAX];
            struct stat st;
            CHECK(lx_path_join(sub, dir, af->key) && lx_mkdirs(sub, &err) == LX_OK);
            CHECK(lx_write_atomic(sub, af->name, af->bytes.buf, af->bytes.len, &err) == LX_OK);
            CHECK(lx_path_join(path, sub, af->name) && stat(path, &st) == 0);
            stamps[i] = lx_file_stamp_of(&st);
            files[i] = (lx_manifest_file_t){af->key, af->name, af->hash, af->content};
        }
        if (ref)
            CHECK(lx_manifest_add_frame(ref, f, res->time.t_ms, &res->camera, files, res->n_files,
                                        &err) == LX_OK);
        if (lines) {
            s_line_t *l = &lines[f - a];
            memset(l, 0, sizeof *l);
            l->f = f;
            l->t = res->time.t_ms;
            l->cam = res->camera;
            l->n = res->n_files < 16 ? res->n_files : 16;
            for (uint32_t i = 0; i < l->n; i++) {
                snprintf(l->key[i], sizeof l->key[i], "%s", files[i].key);
                snprintf(l->name[i], sizeof l->name[i], "%s", files[i].name);
                snprintf(l->hash[i], sizeof l->hash[i], "%s", files[i].hash);
                snprintf(l->content[i], sizeof l->content[i], "%s", files[i].content);
                l->st[i] = stamps[i];
            }
        }
        lx_strbuf_release(&line);
        lx_strbuf_init(&line, NULL);
        lx_progress_frame(f, res->time.t_ms, &res->camera, files, stamps, res->n_files, &line);
        if (journal)
            s_append_book(dir, book, line.buf);
    }
    lx_frame_renderer_destroy(&fr);
    lx_strbuf_release(&line);
}

/* Renders frames [plan.first, plan.last] into dir, journaling each like a
 * coordinator does, and records them into ref. */
static void s_export(const lx_program_t *p, const lx_export_plan_t *plan, const char *dir,
                     lx_manifest_t *ref)
{
    s_export_book(p, plan, dir, NULL, plan->first, plan->last, true, ref, NULL);
}

/* A resume scan of dir into a new manifest of plan. */
static lx_manifest_t *s_scan(const lx_program_t *p, const lx_export_plan_t *plan, const char *dir,
                             lx_resume_stats_t *st)
{
    lx_error_t err = {0};
    lx_manifest_t *m = lx_manifest_new(p, plan, NULL, &err);
    CHECK(m && lx_resume_scan(m, dir, NULL, 1, false, lx_resume_keep_record, m, st, &err) == LX_OK);
    return m;
}

static void test_round_trip(void)
{
    char *text = NULL, dir[512];
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_fixture("{\"resolution\":[32,16],\"frames\":[0,3]}", "rt", &text, &p, &plan, dir))
        return;
    lx_error_t err = {0};
    lx_manifest_t *ref = lx_manifest_new(p, &plan, NULL, &err);
    s_export(p, &plan, dir, ref);
    uint32_t n_files = 0;
    lx_manifest_files(ref, &n_files);

    lx_resume_stats_t st;
    lx_manifest_t *m = s_scan(p, &plan, dir, &st);
    CHECK_EQ_INT(st.kept, 4);
    CHECK_EQ_INT(st.trusted, 4 * n_files);
    CHECK_EQ_INT(st.rehashed, 0);
    for (int64_t f = 0; f < 4; f++)
        CHECK_MSG(lx_manifest_same_frame(m, ref, f), "frame %lld differs", (long long)f);
    lx_manifest_destroy(&m);

    /* A newer time on unchanged bytes: re-hashed, kept. */
    char path[LX_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/rgba/frame_000001.png", dir);
    struct timespec later[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
    CHECK(utimensat(AT_FDCWD, path, later, 0) == 0);
    m = s_scan(p, &plan, dir, &st);
    CHECK_EQ_INT(st.kept, 4);
    CHECK_EQ_INT(st.rehashed, 1);
    lx_manifest_destroy(&m);

    /* Other bytes of the same size and time: the stamp cannot see it, a
     * re-hash can; a changed size is re-hashed and refused. */
    snprintf(path, sizeof path, "%s/depth/frame_000002.exr", dir);
    FILE *fp = fopen(path, "r+b");
    CHECK(fp && fputc('x', fp) != EOF);
    if (fp)
        fclose(fp);
    CHECK(truncate(path, 3) == 0);
    m = s_scan(p, &plan, dir, &st);
    CHECK_EQ_INT(st.kept, 3);
    CHECK_EQ_INT(st.damaged, 1);
    CHECK(!lx_manifest_has_frame(m, 2));
    lx_manifest_destroy(&m);

    /* A withdrawal overrides the frame's earlier line; a torn last line
     * and a line for another plan's files keep nothing. */
    s_append(dir, "{\"frame\":0,\"withdrawn\":true}\n");
    s_append(dir, "{\"frame\":3,\"t\":\"0x0p+0\",\"camera\":[],\"files\":[]}\n");
    s_append(dir, "{\"frame\":1,\"t\":\"0x0p+0\"");
    m = s_scan(p, &plan, dir, &st);
    CHECK_EQ_INT(st.kept, 1);
    CHECK(lx_manifest_has_frame(m, 1) && !lx_manifest_has_frame(m, 0) &&
          !lx_manifest_has_frame(m, 3));
    lx_manifest_destroy(&m);
    /* The next line after a torn one starts a line of its own: a header
     * appended now is the directory's newest. */
    lx_export_plan_t wider = plan;
    wider.last = 5;
    lx_strbuf_t header;
    lx_strbuf_init(&header, NULL);
    lx_progress_header(p, &wider, &header);
    s_append(dir, header.buf);
    lx_strbuf_release(&header);

    /* A line that names frame 1 as "1e1" is read as frame 10, not kept
     * as frame 1 (the index files lines by the number's text). */
    s_append(dir, "{\"frame\":2,\"t\":\"0x0p+0\",\"camera\":[],\"files\":[]}\n");
    m = s_scan(p, &plan, dir, &st);
    CHECK(!lx_manifest_has_frame(m, 2));
    lx_manifest_destroy(&m);

    /* What the directory holds: this export, frames 0-3. */
    lx_prior_t pr;
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(pr.exists && pr.journal && !pr.manifest && !pr.foreign);
    CHECK_EQ_INT(pr.first, 0);
    CHECK_EQ_INT(pr.last, 5);
    CHECK_EQ_STR(pr.project_id, "orbit-cards");
    char settings[65];
    lx_progress_settings_hash(&plan, settings);
    CHECK_EQ_STR(pr.settings_hash, settings);
    CHECK(pr.config && strstr(pr.config, "\"resolution\":[32,16]"));
    lx_prior_release(&pr);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    fp = fopen(path, "w");
    if (fp)
        fclose(fp);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK && pr.foreign && pr.journal);
    lx_prior_release(&pr);
    CHECK(lx_prior_read("/nonexistent/lattice", &pr, &err) == LX_OK && !pr.exists);
    lx_prior_release(&pr);

    lx_manifest_destroy(&ref);
    lx_program_destroy(&p);
    free(text);
}

/* A hostile journal: a range past the bounds is no header (nothing is
 * allocated for it), a frame line filed under another number is not kept,
 * a FIFO in the journal's place is an error at once, never waited on. */
static void test_hostile_journal(void)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/hostile", s_root);
    lx_error_t err = {0};
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    s_append(dir, "{\"progress\":1,\"projectId\":\"x\",\"frames\":[1,2305843009213693952]}\n");
    lx_prior_t pr;
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK && !pr.journal);
    lx_prior_release(&pr);
    lx_verify_report_t rep;
    memset(&rep, 0, sizeof rep);
    lx_strbuf_init(&rep.text, NULL);
    CHECK(lx_progress_verify(dir, &rep, &err) == LX_E_IO);
    lx_strbuf_release(&rep.text);

    snprintf(path, sizeof path, "%s/.lattice/progress.jsonl", dir);
    CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_E_IO && strstr(err.message, "not a regular file"));
    lx_prior_release(&pr);
}

/* The settings hash ignores the frames and nothing else. */
static void test_settings_hash(void)
{
    size_t len;
    char *text = t_read("examples/orbit-cards.patch.json", &len);
    lx_program_t *p1 = NULL, *p2 = NULL, *p3 = NULL;
    lx_export_plan_t a, b, c;
    if (text && s_plan(text, "{\"frames\":[0,9]}", &p1, &a) &&
        s_plan(text, "{\"frames\":[5,99]}", &p2, &b) &&
        s_plan(text, "{\"frames\":[0,9],\"resolution\":[64,32]}", &p3, &c)) {
        char ha[65], hb[65], hc[65];
        lx_progress_settings_hash(&a, ha);
        lx_progress_settings_hash(&b, hb);
        lx_progress_settings_hash(&c, hc);
        CHECK_EQ_STR(ha, hb);
        CHECK(strcmp(ha, hc) != 0);
        CHECK(memcmp(&a.config_hash, &b.config_hash, sizeof a.config_hash) != 0);
    }
    lx_program_destroy(&p1);
    lx_program_destroy(&p2);
    lx_program_destroy(&p3);
    free(text);
}

/* ---- shards ----------------------------------------------------------- */

static void test_shard_name_parse(void)
{
    static const struct {
        const char *name;
        int64_t a, b;
    } good[] = {{"0-9", 0, 9},
                {"10-10", 10, 10},
                {"1099511627775-1099511627775", 1099511627775LL, 1099511627775LL},
                {"0-1099511627775", 0, 1099511627775LL}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t a = -7, b = -7;
        CHECK_MSG(lx_shard_name_parse(good[i].name, &a, &b) && a == good[i].a && b == good[i].b,
                  "'%s' read as %lld-%lld", good[i].name, (long long)a, (long long)b);
    }
    static const char *const bad[] = {"",
                                      "-",
                                      "-1-2",
                                      "01-2",
                                      "0-02",
                                      "00-0",
                                      "2-1",
                                      "a-b",
                                      "1-",
                                      "-1",
                                      "1",
                                      "1-2-3",
                                      "1 -2",
                                      "1- 2",
                                      " 1-2",
                                      "1-2 ",
                                      "+1-2",
                                      "1-+2",
                                      "1-2\n",
                                      "0x1-2",
                                      "1e1-20",
                                      "1099511627776-1099511627776", /* 2^40: past the bound */
                                      "0-1099511627776",
                                      "9999999999999-9999999999999", /* 13 digits, past the bound */
                                      "10000000000000-10000000000000",
                                      "0-10000000000000", /* 14 digits */
                                      "0-99999999999999999999999",
                                      "18446744073709551617-18446744073709551617",
                                      "9223372036854775807-9223372036854775807"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t a = 0, b = 0;
        CHECK_MSG(!lx_shard_name_parse(bad[i], &a, &b), "'%s' accepted as %lld-%lld", bad[i],
                  (long long)a, (long long)b);
    }
}

static void test_book_names(void)
{
    char book[LX_BOOK_MAX];
    lx_progress_book(false, 3, 7, book);
    CHECK_EQ_STR(book, ".lattice");
    lx_progress_book(true, 3, 7, book);
    CHECK_EQ_STR(book, ".lattice/shards/3-7");
    lx_progress_book(true, 1099511627775LL, 1099511627775LL, book);
    CHECK_EQ_STR(book, ".lattice/shards/1099511627775-1099511627775");
}

/* Whether path exists (without following a link). */
static bool s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Appending into a shard book creates its directories; a link planted at
 * .lattice/shards, at the book or at its journal is never written through. */
static void test_shard_append(void)
{
    char dir[512], path[1024], target[700];
    lx_error_t err = {0};
    const char *line = "{\"frame\":0,\"withdrawn\":true}\n";
    snprintf(dir, sizeof dir, "%s/append", s_root);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    CHECK(lx_progress_book_open(fd, ".lattice/shards/0-1", false) < 0);
    CHECK(lx_progress_append(fd, ".lattice/shards/0-1", line, strlen(line), false, &err) == LX_OK);
    snprintf(path, sizeof path, "%s/.lattice/shards/0-1/progress.jsonl", dir);
    size_t len = 0;
    char *text = t_read_path(path, &len);
    CHECK(text && strcmp(text, line) == 0);
    free(text);
    int book = lx_progress_book_open(fd, ".lattice/shards/0-1", false);
    CHECK(book >= 0);
    if (book >= 0)
        close(book);
    close(fd);

    /* A link at .lattice/shards. */
    snprintf(dir, sizeof dir, "%s/link-shards", s_root);
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    CHECK(lx_mkdirs(target, &err) == LX_OK);
    snprintf(path, sizeof path, "%s/.lattice", dir);
    CHECK(lx_mkdirs(path, &err) == LX_OK);
    snprintf(path, sizeof path, "%s/.lattice/shards", dir);
    CHECK(symlink(target, path) == 0);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(lx_progress_append(fd, ".lattice/shards/0-1", line, strlen(line), false, &err) ==
          LX_E_IO);
    CHECK(lx_progress_book_open(fd, ".lattice/shards/0-1", true) < 0);
    close(fd);
    snprintf(path, sizeof path, "%s/0-1", target);
    CHECK(!s_exists(path));

    /* A link at the book. */
    snprintf(dir, sizeof dir, "%s/link-book", s_root);
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    CHECK(lx_mkdirs(target, &err) == LX_OK);
    snprintf(path, sizeof path, "%s/.lattice/shards", dir);
    CHECK(lx_mkdirs(path, &err) == LX_OK);
    snprintf(path, sizeof path, "%s/.lattice/shards/0-1", dir);
    CHECK(symlink(target, path) == 0);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(lx_progress_append(fd, ".lattice/shards/0-1", line, strlen(line), false, &err) ==
          LX_E_IO);
    close(fd);
    snprintf(path, sizeof path, "%s/progress.jsonl", target);
    CHECK(!s_exists(path));

    /* A link at the book's journal. */
    snprintf(dir, sizeof dir, "%s/link-journal", s_root);
    snprintf(path, sizeof path, "%s/.lattice/shards/0-1", dir);
    CHECK(lx_mkdirs(path, &err) == LX_OK);
    snprintf(target, sizeof target, "%s/victim", dir);
    FILE *fp = fopen(target, "w");
    CHECK(fp != NULL);
    if (fp)
        fclose(fp);
    snprintf(path, sizeof path, "%s/.lattice/shards/0-1/progress.jsonl", dir);
    CHECK(symlink(target, path) == 0);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(lx_progress_append(fd, ".lattice/shards/0-1", line, strlen(line), false, &err) ==
          LX_E_IO);
    close(fd);
    struct stat st;
    CHECK(stat(target, &st) == 0 && st.st_size == 0);
}

/* A keeper that counts its calls per frame, keeps each frame's time and
 * checks the stamps it is given against the files as they are now. */
typedef struct s_tally {
    const char *dir;
    int calls[8];
    double t[8];
    int total, stamp_mismatches;
} s_tally_t;

static lx_result_t s_tally_keep(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                                const lx_manifest_file_t *files, const lx_file_stamp_t *stamps,
                                uint32_t n, lx_error_t *err)
{
    (void)cam;
    (void)err;
    s_tally_t *tl = user;
    tl->total++;
    if (f >= 0 && f < 8) {
        tl->calls[f]++;
        tl->t[f] = t_ms;
    }
    for (uint32_t i = 0; i < n; i++) {
        char path[LX_PATH_MAX + 200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/%s", tl->dir, files[i].key, files[i].name);
        lx_file_stamp_t now = {-2, -2, -2, -2};
        if (lstat(path, &st) == 0)
            now = lx_file_stamp_of(&st);
        tl->stamp_mismatches += now.size != stamps[i].size || now.mtime_ns != stamps[i].mtime_ns ||
                                now.ctime_ns != stamps[i].ctime_ns || now.ino != stamps[i].ino;
    }
    return LX_OK;
}

static void s_tally_scan(const lx_manifest_t *m, const char *dir, const char *const *books,
                         size_t n, bool rehash, s_tally_t *tl, lx_resume_stats_t *st)
{
    lx_error_t err = {0};
    memset(tl, 0, sizeof *tl);
    tl->dir = dir;
    CHECK(lx_resume_scan(m, dir, books, n, rehash, s_tally_keep, tl, st, &err) == LX_OK);
}

#define SHARD_A ".lattice/shards/0-1"
#define SHARD_B ".lattice/shards/2-3"

/* An export rendered as two shards, read back over several books. */
static void test_shard_scan(void)
{
    char *text = NULL, dir[512];
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_fixture("{\"resolution\":[32,16],\"frames\":[0,3]}", "shards", &text, &p, &plan, dir))
        return;
    lx_error_t err = {0};
    lx_manifest_t *ref = lx_manifest_new(p, &plan, NULL, &err);
    s_line_t lines[4];
    s_export_book(p, &plan, dir, SHARD_A, 0, 1, true, ref, lines);
    s_export_book(p, &plan, dir, SHARD_B, 2, 3, true, ref, lines + 2);
    uint32_t n_files = 0;
    lx_manifest_files(ref, &n_files);
    CHECK(n_files > 0);

    /* Both books: the whole export, as rendered. */
    const char *both[] = {SHARD_A, SHARD_B}, *swapped[] = {SHARD_B, SHARD_A};
    lx_resume_stats_t st;
    lx_manifest_t *m = lx_manifest_new(p, &plan, NULL, &err);
    CHECK(lx_resume_scan(m, dir, both, 2, false, lx_resume_keep_record, m, &st, &err) == LX_OK);
    CHECK_EQ_INT(st.kept, 4);
    CHECK_EQ_INT(st.trusted, 4 * n_files);
    CHECK_EQ_INT(st.rehashed, 0);
    for (int64_t f = 0; f < 4; f++)
        CHECK_MSG(lx_manifest_same_frame(m, ref, f), "frame %lld differs", (long long)f);
    lx_manifest_destroy(&m);

    /* One book: its half. The export's own journal (none) holds nothing. */
    s_tally_t tl;
    s_tally_scan(ref, dir, both + 1, 1, false, &tl, &st);
    CHECK_EQ_INT(st.kept, 2);
    CHECK(tl.calls[0] == 0 && tl.calls[1] == 0 && tl.calls[2] == 1 && tl.calls[3] == 1);
    s_tally_scan(ref, dir, both, 1, false, &tl, &st);
    CHECK(tl.calls[0] == 1 && tl.calls[1] == 1 && tl.calls[2] == 0 && tl.calls[3] == 0);
    const char *own[] = {NULL};
    s_tally_scan(ref, dir, own, 1, false, &tl, &st);
    CHECK_EQ_INT(st.kept, 0);
    s_tally_scan(ref, dir, NULL, 0, false, &tl, &st);
    CHECK_EQ_INT(tl.total, 0);
    const char *missing[] = {".lattice/shards/4-5", SHARD_A};
    s_tally_scan(ref, dir, missing, 2, false, &tl, &st);
    CHECK_EQ_INT(st.kept, 2);

    /* Frame 2 in both books: kept once, from the first book given that has
     * it intact. A's line has another time to tell them apart. */
    double t2 = lines[2].t, t2a = lines[2].t + 1000;
    char *damaged = s_line_text(&lines[2], t2a, true, true);
    s_append_book(dir, SHARD_A, damaged);
    s_tally_scan(ref, dir, both, 2, false, &tl, &st);
    CHECK_EQ_INT(st.kept, 4);
    CHECK_EQ_INT(tl.total, 4);
    CHECK_EQ_INT(tl.calls[2], 1);
    CHECK(tl.t[2] == t2);
    CHECK_EQ_INT(st.damaged, 1);
    CHECK_EQ_INT(st.rehashed, 1); /* its first file, where the line stops */
    CHECK_EQ_INT(tl.stamp_mismatches, 0);
    free(damaged);
    char *intact = s_line_text(&lines[2], t2a, false, false);
    s_append_book(dir, SHARD_A, intact);
    free(intact);
    s_tally_scan(ref, dir, both, 2, false, &tl, &st);
    CHECK(tl.total == 4 && tl.calls[2] == 1 && tl.t[2] == t2a);
    CHECK_EQ_INT(st.damaged, 0);
    s_tally_scan(ref, dir, swapped, 2, false, &tl, &st);
    CHECK(tl.total == 4 && tl.calls[2] == 1 && tl.t[2] == t2);
    /* The same book twice: each frame once. */
    const char *twice[] = {SHARD_A, SHARD_A, SHARD_B, SHARD_B};
    s_tally_scan(ref, dir, twice, 4, false, &tl, &st);
    CHECK(tl.total == 4 && tl.calls[0] == 1 && tl.calls[1] == 1 && tl.calls[2] == 1 &&
          tl.calls[3] == 1);

    /* The stamps given are the files' as they are now: trusted ones, and
     * one re-hashed because its time changed. */
    CHECK_EQ_INT(tl.stamp_mismatches, 0);
    char path[LX_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s/%s", dir, lines[1].key[0], lines[1].name[0]);
    struct timespec later[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
    CHECK(utimensat(AT_FDCWD, path, later, 0) == 0);
    s_tally_scan(ref, dir, both, 2, false, &tl, &st);
    CHECK_EQ_INT(st.kept, 4);
    CHECK_EQ_INT(st.rehashed, 1);
    CHECK_EQ_INT(st.trusted, 4 * n_files - 1);
    CHECK_EQ_INT(tl.stamp_mismatches, 0);

    /* rehash: every file read, none trusted. */
    s_tally_scan(ref, dir, both, 2, true, &tl, &st);
    CHECK_EQ_INT(st.kept, 4);
    CHECK_EQ_INT(st.trusted, 0);
    CHECK_EQ_INT(st.rehashed, 4 * n_files);
    CHECK_EQ_INT(tl.stamp_mismatches, 0);

    /* A damaged file on disk: neither book keeps its frame. */
    snprintf(path, sizeof path, "%s/%s/%s", dir, lines[3].key[0], lines[3].name[0]);
    CHECK(truncate(path, 1) == 0);
    s_tally_scan(ref, dir, both, 2, false, &tl, &st);
    CHECK(st.kept == 3 && tl.calls[3] == 0 && st.damaged == 1);

    lx_manifest_destroy(&ref);
    lx_program_destroy(&p);
    free(text);
}

/* Whether file dir/book/name holds exactly want (NULL: does not exist). */
static void s_check_file(const char *dir, const char *book, const char *name, const char *want,
                         int line)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, book, name);
    size_t len = 0;
    char *text = t_read_path(path, &len);
    if (!want)
        CHECK_MSG(!text, "line %d: '%s' exists", line, path);
    else
        CHECK_MSG(text && strcmp(text, want) == 0, "line %d: '%s' holds:\n%s\nexpected:\n%s", line,
                  path, text ? text : "(nothing)", want);
    free(text);
}

static lx_result_t s_seal(const char *dir, const char *book, int64_t a, int64_t b)
{
    lx_error_t err = {0};
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    lx_result_t rc = fd < 0 ? LX_E_IO : lx_progress_seal(fd, book, a, b, &err);
    if (fd >= 0)
        close(fd);
    return rc;
}

static char *s_header_text(const lx_program_t *p, const lx_export_plan_t *plan)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_progress_header(p, plan, &sb);
    char *text = strdup(sb.buf);
    lx_strbuf_release(&sb);
    return text;
}

/* Sealing: the newest header and each frame's newest line in frame order;
 * refused while a frame lacks a line; a sealed book is read from its
 * manifest. */
static void test_seal(void)
{
    char *text = NULL, dir[512];
    lx_program_t *p = NULL;
    lx_export_plan_t plan, wide;
    if (!s_fixture("{\"resolution\":[32,16],\"frames\":[0,3]}", "seal", &text, &p, &plan, dir))
        return;
    wide = plan;
    wide.last = 9;
    lx_error_t err = {0};
    s_line_t l[4];
    s_export_book(p, &plan, dir, NULL, 0, 3, false, NULL, l);
    char *h_plan = s_header_text(p, &plan), *h_wide = s_header_text(p, &wide);
    char *L[4], *L2x = s_line_text(&l[2], l[2].t + 1, false, false);
    for (int i = 0; i < 4; i++)
        L[i] = s_line_text(&l[i], l[i].t, false, false);
    const char *book = ".lattice/shards/0-3";
    const char *W1 = "{\"frame\":1,\"withdrawn\":true}\n";

    /* Refused while a frame has no line: nothing written. */
    s_append_book(dir, book, h_wide);
    s_append_book(dir, book, L[3]);
    s_append_book(dir, book, L[1]);
    s_append_book(dir, book, L2x);
    CHECK_EQ_INT(s_seal(dir, book, 0, 3), LX_E_INVALID);
    s_check_file(dir, book, LX_SHARD_MANIFEST, NULL, __LINE__);
    /* ... or its newest line is a withdrawal. */
    s_append_book(dir, book, L[0]);
    s_append_book(dir, book, W1);
    CHECK_EQ_INT(s_seal(dir, book, 0, 3), LX_E_INVALID);
    s_check_file(dir, book, LX_SHARD_MANIFEST, NULL, __LINE__);
    /* A withdrawal written as a line without files. */
    s_append_book(dir, book, "{\"frame\":1,\"t\":\"0x0p+0\",\"camera\":[],\"files\":[]}\n");
    CHECK_EQ_INT(s_seal(dir, book, 0, 3), LX_E_INVALID);
    s_check_file(dir, book, LX_SHARD_MANIFEST, NULL, __LINE__);
    /* A frame past the journal's frames. */
    s_append_book(dir, book, h_plan);
    s_append_book(dir, book, L[1]);
    s_append_book(dir, book, L[2]);
    CHECK_EQ_INT(s_seal(dir, book, 0, 4), LX_E_INVALID);
    s_check_file(dir, book, LX_SHARD_MANIFEST, NULL, __LINE__);

    /* Sealed: the newest header, then the newest line of each frame. */
    CHECK_EQ_INT(s_seal(dir, book, 0, 3), LX_OK);
    char want[65536];
    snprintf(want, sizeof want, "%s%s%s%s%s", h_plan, L[0], L[1], L[2], L[3]);
    s_check_file(dir, book, LX_SHARD_MANIFEST, want, __LINE__);
    /* A slice of it. */
    CHECK_EQ_INT(s_seal(dir, book, 1, 2), LX_OK);
    snprintf(want, sizeof want, "%s%s%s", h_plan, L[1], L[2]);
    s_check_file(dir, book, LX_SHARD_MANIFEST, want, __LINE__);
    CHECK_EQ_INT(s_seal(dir, book, 0, 3), LX_OK);
    snprintf(want, sizeof want, "%s%s%s%s%s", h_plan, L[0], L[1], L[2], L[3]);
    s_check_file(dir, book, LX_SHARD_MANIFEST, want, __LINE__);
    char hex[65], config[65];
    lx_hex(plan.config_hash.bytes, 32, config);
    CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
    CHECK_EQ_STR(hex, config);

    /* Read from its manifest once the journal is gone. */
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, book, LX_PROGRESS_FILE);
    CHECK(unlink(path) == 0);
    lx_manifest_t *m = lx_manifest_new(p, &plan, NULL, &err);
    s_tally_t tl;
    lx_resume_stats_t st;
    const char *books[] = {book};
    s_tally_scan(m, dir, books, 1, false, &tl, &st);
    CHECK_EQ_INT(st.kept, 4);
    CHECK(tl.calls[0] == 1 && tl.calls[1] == 1 && tl.calls[2] == 1 && tl.calls[3] == 1);
    CHECK(tl.t[2] == l[2].t);
    CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
    CHECK_EQ_STR(hex, config);
    /* Sealing needs the journal, never the manifest. */
    CHECK_EQ_INT(s_seal(dir, book, 0, 3), LX_E_IO);
    s_check_file(dir, book, LX_SHARD_MANIFEST, want, __LINE__);
    /* The manifest, not the journal, of a sealed book: a journal written
     * after sealing is not read until the manifest goes. */
    s_append_book(dir, book, h_wide);
    s_append_book(dir, book, W1);
    s_tally_scan(m, dir, books, 1, false, &tl, &st);
    CHECK_EQ_INT(st.kept, 4);
    CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
    CHECK_EQ_STR(hex, config);
    lx_manifest_destroy(&m);

    /* A book without a header cannot be sealed. */
    const char *bare = ".lattice/shards/0-0";
    s_append_book(dir, bare, L[0]);
    CHECK_EQ_INT(s_seal(dir, bare, 0, 0), LX_E_INVALID);
    s_check_file(dir, bare, LX_SHARD_MANIFEST, NULL, __LINE__);
    CHECK_EQ_INT(s_seal(dir, ".lattice/shards/5-5", 5, 5), LX_E_IO);

    for (int i = 0; i < 4; i++)
        free(L[i]);
    free(L2x);
    free(h_plan);
    free(h_wide);
    lx_program_destroy(&p);
    free(text);
}

/* A book's config hash: its newest header's, "" without one, an error for
 * a journal that is not a regular file. */
static void test_book_config(void)
{
    size_t len;
    char *text = t_read("examples/orbit-cards.patch.json", &len);
    lx_program_t *p1 = NULL, *p2 = NULL;
    lx_export_plan_t a, b;
    if (text && s_plan(text, "{\"resolution\":[32,16],\"frames\":[0,3]}", &p1, &a) &&
        s_plan(text, "{\"resolution\":[64,32],\"frames\":[0,3]}", &p2, &b)) {
        char dir[512], path[700], hex[65], ha[65], hb[65];
        lx_hex(a.config_hash.bytes, 32, ha);
        lx_hex(b.config_hash.bytes, 32, hb);
        lx_error_t err = {0};
        snprintf(dir, sizeof dir, "%s/book-config", s_root);
        CHECK(lx_mkdirs(dir, &err) == LX_OK);
        const char *book = ".lattice/shards/0-3";
        memset(hex, 'x', sizeof hex);
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
        CHECK_EQ_STR(hex, "");
        CHECK(lx_progress_book_config("/nonexistent/lattice", book, hex, &err) == LX_OK);
        CHECK_EQ_STR(hex, "");
        s_append_book(dir, book, "{\"frame\":0,\"withdrawn\":true}\n");
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
        CHECK_EQ_STR(hex, "");
        char *h = s_header_text(p1, &a);
        s_append_book(dir, book, h);
        free(h);
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
        CHECK_EQ_STR(hex, ha);
        h = s_header_text(p2, &b);
        s_append_book(dir, book, h);
        free(h);
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
        CHECK_EQ_STR(hex, hb);
        /* A torn header is not the newest. */
        s_append_book(dir, book, "{\"progress\":1,\"configHash\":\"00\",\"frames\":[0,3]");
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
        CHECK_EQ_STR(hex, hb);
        /* The export's own journal is another book. */
        CHECK(lx_progress_book_config(dir, NULL, hex, &err) == LX_OK);
        CHECK_EQ_STR(hex, "");
        /* A FIFO, a directory, a link: errors, never waited on. */
        snprintf(path, sizeof path, "%s/%s/%s", dir, book, LX_PROGRESS_FILE);
        CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0);
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_E_IO);
        CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_E_IO);
        CHECK(rmdir(path) == 0 && symlink("/etc/hostname", path) == 0);
        CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_E_IO);
    }
    lx_program_destroy(&p1);
    lx_program_destroy(&p2);
    free(text);
}

/* lx_prior_read of a directory of shards. */
static void test_prior_shards(void)
{
    size_t len;
    char *text = t_read("examples/orbit-cards.patch.json", &len);
    lx_program_t *p1 = NULL, *p2 = NULL;
    lx_export_plan_t a, b;
    if (!text || !s_plan(text, "{\"resolution\":[32,16],\"frames\":[0,11]}", &p1, &a) ||
        !s_plan(text, "{\"resolution\":[64,32],\"frames\":[0,11]}", &p2, &b)) {
        lx_program_destroy(&p1);
        lx_program_destroy(&p2);
        free(text);
        return;
    }
    char ha[65], hb[65], program[65];
    lx_hex(a.config_hash.bytes, 32, ha);
    lx_hex(b.config_hash.bytes, 32, hb);
    lx_hex(p1->program_hash.bytes, 32, program);
    char *h_a = s_header_text(p1, &a), *h_b = s_header_text(p2, &b);
    char dir[512];
    lx_error_t err = {0};
    lx_prior_t pr;

    /* Shards of one export only ("2-3" sorts before "10-11" by number, not
     * by text). A shard without a header is not counted; a non-shard name
     * is ignored. */
    snprintf(dir, sizeof dir, "%s/prior-one", s_root);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    s_append_book(dir, ".lattice/shards/2-3", h_a);
    s_append_book(dir, ".lattice/shards/10-11", h_a);
    s_append_book(dir, ".lattice/shards/4-5", "{\"frame\":4,\"withdrawn\":true}\n");
    s_append_book(dir, ".lattice/shards/notes", h_b);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(pr.exists && !pr.foreign && !pr.journal && !pr.manifest && !pr.complete);
    CHECK_EQ_INT(pr.shards, 2);
    CHECK(!pr.mixed);
    CHECK_EQ_INT(pr.first, 0);
    CHECK_EQ_INT(pr.last, 11);
    CHECK_EQ_STR(pr.program_hash, program);
    CHECK_EQ_STR(pr.config_hash, ha);
    CHECK_EQ_STR(pr.project_id, "orbit-cards");
    CHECK(pr.config && strstr(pr.config, "\"resolution\":[32,16]"));
    lx_prior_release(&pr);

    /* Another export's shard: mixed; the identity is still the first
     * shard's by number ("2-3" holds a, "10-11" b). */
    snprintf(dir, sizeof dir, "%s/prior-mixed", s_root);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    s_append_book(dir, ".lattice/shards/10-11", h_b);
    s_append_book(dir, ".lattice/shards/2-3", h_a);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(!pr.foreign && !pr.journal);
    CHECK_EQ_INT(pr.shards, 2);
    CHECK(pr.mixed);
    CHECK_EQ_STR(pr.config_hash, ha);
    CHECK(pr.config && strstr(pr.config, "\"resolution\":[32,16]"));
    lx_prior_release(&pr);
    /* The same the other way round. */
    snprintf(dir, sizeof dir, "%s/prior-mixed2", s_root);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    s_append_book(dir, ".lattice/shards/10-11", h_a);
    s_append_book(dir, ".lattice/shards/2-3", h_b);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(pr.mixed && pr.shards == 2);
    CHECK_EQ_STR(pr.config_hash, hb);
    CHECK(pr.config && strstr(pr.config, "\"resolution\":[64,32]"));
    lx_prior_release(&pr);
    /* A shard's newest header decides: an older header of b is not b. */
    snprintf(dir, sizeof dir, "%s/prior-newest", s_root);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    s_append_book(dir, ".lattice/shards/2-3", h_a);
    s_append_book(dir, ".lattice/shards/10-11", h_b);
    s_append_book(dir, ".lattice/shards/10-11", h_a);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(!pr.mixed && pr.shards == 2);
    lx_prior_release(&pr);

    /* With the export's own journal: its identity, shards counted, a shard
     * of other settings mixed. */
    snprintf(dir, sizeof dir, "%s/prior-own", s_root);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    s_append(dir, h_b);
    s_append_book(dir, ".lattice/shards/0-5", h_b);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(pr.journal && !pr.foreign && !pr.mixed);
    CHECK_EQ_INT(pr.shards, 1);
    CHECK_EQ_STR(pr.config_hash, hb);
    lx_prior_release(&pr);
    s_append_book(dir, ".lattice/shards/6-11", h_a);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(pr.journal && pr.mixed);
    CHECK_EQ_INT(pr.shards, 2);
    CHECK_EQ_STR(pr.config_hash, hb);
    CHECK(pr.config && strstr(pr.config, "\"resolution\":[64,32]"));
    lx_prior_release(&pr);
    /* Only a shard of another export, first by number: mixed still. */
    snprintf(dir, sizeof dir, "%s/prior-own2", s_root);
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    s_append(dir, h_b);
    s_append_book(dir, ".lattice/shards/0-5", h_a);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK);
    CHECK(pr.journal && pr.mixed && pr.shards == 1);
    CHECK_EQ_STR(pr.config_hash, hb);
    lx_prior_release(&pr);

    /* A shard journal that is a FIFO: an error, never waited on. */
    snprintf(dir, sizeof dir, "%s/prior-fifo", s_root);
    char path[700];
    snprintf(path, sizeof path, "%s/.lattice/shards/0-5", dir);
    CHECK(lx_mkdirs(path, &err) == LX_OK);
    snprintf(path, sizeof path, "%s/.lattice/shards/0-5/progress.jsonl", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_E_IO);
    lx_prior_release(&pr);

    free(h_a);
    free(h_b);
    lx_program_destroy(&p1);
    lx_program_destroy(&p2);
    free(text);
}

/* Shard directory names, by first frame then last, numerically. */
static void test_shard_names(void)
{
    char dir[512], path[700];
    lx_error_t err = {0};
    snprintf(dir, sizeof dir, "%s/names", s_root);
    size_t n = 7;
    char **names = lx_shard_names(dir, &n);
    CHECK(names == NULL && n == 0);
    static const char *const made[] = {"10-11", "2-3", "2-2", "100-100", "0-5",   "foo",
                                       "01-2",  "3-1", "9-",  "-1-2",    "1-2-3", "0-9"};
    for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
        snprintf(path, sizeof path, "%s/.lattice/shards/%s", dir, made[i]);
        CHECK(lx_mkdirs(path, &err) == LX_OK);
    }
    names = lx_shard_names(dir, &n);
    static const char *const want[] = {"0-5", "0-9", "2-2", "2-3", "10-11", "100-100"};
    CHECK_EQ_INT(n, sizeof want / sizeof *want);
    for (size_t i = 0; names && i < n && i < sizeof want / sizeof *want; i++)
        CHECK_EQ_STR(names[i], want[i]);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    /* Only non-shard names: none. */
    snprintf(dir, sizeof dir, "%s/names-none", s_root);
    snprintf(path, sizeof path, "%s/.lattice/shards/foo", dir);
    CHECK(lx_mkdirs(path, &err) == LX_OK);
    names = lx_shard_names(dir, &n);
    CHECK(names == NULL && n == 0);
}

/* Values a journal on shared storage may hold that once broke the
 * readers: a stamp whose nanoseconds overflow, a time or camera value that
 * is not finite, an unparsable newest header, a FIFO where a file was. */
static void test_hostile_values(void)
{
    char *text = NULL, dir[512], path[1024];
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_fixture("{\"resolution\":[32,16],\"frames\":[0,1]}", "hostile-values", &text, &p, &plan,
                   dir))
        return;
    lx_error_t err = {0};
    s_line_t l[2];
    s_export_book(p, &plan, dir, NULL, 0, 1, false, NULL, l);
    char *h = s_header_text(p, &plan);
    const char *book = ".lattice/shards/0-1";

    /* 1. A stamp of 99999999999 s: s_stamp multiplies it by 10^9 in
     * int64_t (signed overflow, UBSan aborts here). Expected: no UB, the
     * file re-hashed and its frame kept. */
    s_line_t big = l[0];
    for (uint32_t i = 0; i < big.n; i++)
        big.st[i].mtime_ns = big.st[i].ctime_ns = 0;
    char *line = s_line_text(&big, big.t, false, false);
    char *at = strstr(line, ",0,0,0,0,");
    CHECK(at != NULL);
    if (at) {
        char fixed[65536];
        snprintf(fixed, sizeof fixed, "%.*s,99999999999,0,0,0,%s", (int)(at - line), line, at + 9);
        s_append_book(dir, ".lattice/shards/9-9", fixed);
        s_tally_t tl;
        lx_resume_stats_t st;
        lx_manifest_t *m = lx_manifest_new(p, &plan, NULL, &err);
        const char *books[] = {".lattice/shards/9-9"};
        s_tally_scan(m, dir, books, 1, false, &tl, &st);
        CHECK_EQ_INT(st.kept, 1);
        lx_manifest_destroy(&m);
    }
    free(line);

    /* 2. A frame line whose time is "inf", its files intact: the scan
     * keeps it and lx_resume_keep_record fails the whole scan (lattice
     * assemble and rerender exit 2). Expected: LX_OK, frame 1 left to be
     * rendered, frame 0 kept. */
    s_append(dir, h);
    char *l0 = s_line_text(&l[0], l[0].t, false, false);
    char *l1 = s_line_text(&l[1], 1.0 / 0.0, false, false);
    s_append(dir, l0);
    s_append(dir, l1);
    lx_manifest_t *m = lx_manifest_new(p, &plan, NULL, &err);
    lx_resume_stats_t st;
    CHECK_EQ_INT(lx_resume_scan(m, dir, NULL, 1, false, lx_resume_keep_record, m, &st, &err),
                 LX_OK);
    CHECK(lx_manifest_has_frame(m, 0) && !lx_manifest_has_frame(m, 1));
    lx_manifest_destroy(&m);

    /* 3. Sealing a journal whose newest {"progress": line does not parse:
     * the manifest gets that line as its header, and the book loses its
     * identity. Expected: the newest header that parses (the readers'). */
    char hex[65], config[65];
    lx_hex(plan.config_hash.bytes, 32, config);
    s_append_book(dir, book, h);
    s_append_book(dir, book, l0);
    char *l1ok = s_line_text(&l[1], l[1].t, false, false);
    s_append_book(dir, book, l1ok);
    s_append_book(dir, book, "{\"progress\":1,\"frames\":[0,1\n");
    CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
    CHECK_EQ_STR(hex, config);
    CHECK_EQ_INT(s_seal(dir, book, 0, 1), LX_OK);
    CHECK(lx_progress_book_config(dir, book, hex, &err) == LX_OK);
    CHECK_EQ_STR(hex, config);

    /* 5. A frame line whose camera holds "nan", its files intact: kept
     * and recorded (lattice assemble writes "-nan" into
     * camera/camera_re10k.txt). Expected: not kept, like a time that is
     * not finite. */
    s_line_t nan_cam = l[0];
    nan_cam.cam.position[0] = 0.0 / 0.0;
    char *ln = s_line_text(&nan_cam, nan_cam.t, false, false);
    s_append_book(dir, ".lattice/shards/7-7", h);
    s_append_book(dir, ".lattice/shards/7-7", ln);
    free(ln);
    {
        s_tally_t tl;
        const char *books[] = {".lattice/shards/7-7"};
        lx_manifest_t *mm = lx_manifest_new(p, &plan, NULL, &err);
        s_tally_scan(mm, dir, books, 1, false, &tl, &st);
        CHECK_EQ_INT(st.kept, 0);
        lx_manifest_destroy(&mm);
    }

    /* 4. lx_progress_verify (lattice verify of an unfinished export) opens
     * the journaled files with lx_file_sha256_hex: it follows a link and
     * blocks on a FIFO planted at a file's name. Expected: an error for
     * that file, at once (a child, killed after 5 s). */
    snprintf(path, sizeof path, "%s/%s/%s", dir, l[0].key[0], l[0].name[0]);
    CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5);
        lx_verify_report_t rep;
        memset(&rep, 0, sizeof rep);
        lx_strbuf_init(&rep.text, NULL);
        lx_result_t rc = lx_progress_verify(dir, &rep, &err);
        _exit(rc == LX_E_VERIFY && rep.missing + rep.mismatched >= 1 ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "lx_progress_verify on a FIFO: %s",
              WIFSIGNALED(status) ? "blocked (killed)" : "wrong result");

    free(l0);
    free(l1);
    free(l1ok);
    free(h);
    lx_program_destroy(&p);
    free(text);
}

int main(void)
{
    if (!t_scratch_dir(s_root, "progress"))
        TEST_MAIN_END();
    printf("-- test_round_trip\n");
    test_round_trip();
    printf("-- test_hostile_journal\n");
    test_hostile_journal();
    printf("-- test_settings_hash\n");
    test_settings_hash();
    printf("-- test_shard_name_parse\n");
    test_shard_name_parse();
    printf("-- test_book_names\n");
    test_book_names();
    printf("-- test_shard_append\n");
    test_shard_append();
    printf("-- test_shard_scan\n");
    test_shard_scan();
    printf("-- test_seal\n");
    test_seal();
    printf("-- test_book_config\n");
    test_book_config();
    printf("-- test_prior_shards\n");
    test_prior_shards();
    printf("-- test_shard_names\n");
    test_shard_names();
    printf("-- test_hostile_values\n");
    test_hostile_values();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
