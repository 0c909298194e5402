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
#include <unistd.h>

#include "lattice/compile.h"
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

static void s_append(const char *dir, const char *line)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    lx_error_t err = {0};
    CHECK(fd >= 0 && lx_progress_append(fd, NULL, line, strlen(line), false, &err) == LX_OK);
    close(fd);
}

/* Renders frames [plan.first, plan.last] into dir, journaling each like a
 * coordinator does, and records them into ref. */
static void s_export(const lx_program_t *p, const lx_export_plan_t *plan, const char *dir,
                     lx_manifest_t *ref)
{
    lx_error_t err = {0};
    lx_strbuf_t line;
    lx_strbuf_init(&line, NULL);
    lx_progress_header(p, plan, &line);
    s_append(dir, line.buf);
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, plan, 1, NULL, NULL, NULL, &err);
    CHECK(fr != NULL);
    for (int64_t f = plan->first; fr && f <= plan->last; f++) {
        const lx_frame_result_t *res = NULL;
        CHECK(lx_frame_renderer_render(fr, f, &res, &err) == LX_OK);
        lx_manifest_file_t files[16];
        lx_file_stamp_t stamps[16];
        CHECK(res->n_files <= 16);
        for (uint32_t i = 0; i < res->n_files && i < 16; i++) {
            const lx_artifact_file_t *a = &res->files[i];
            char sub[LX_PATH_MAX], path[LX_PATH_MAX];
            struct stat st;
            CHECK(lx_path_join(sub, dir, a->key) && lx_mkdirs(sub, &err) == LX_OK);
            CHECK(lx_write_atomic(sub, a->name, a->bytes.buf, a->bytes.len, &err) == LX_OK);
            CHECK(lx_path_join(path, sub, a->name) && stat(path, &st) == 0);
            stamps[i] = lx_file_stamp_of(&st);
            files[i] = (lx_manifest_file_t){a->key, a->name, a->hash, a->content};
        }
        CHECK(lx_manifest_add_frame(ref, f, res->time.t_ms, &res->camera, files, res->n_files,
                                    &err) == LX_OK);
        lx_strbuf_release(&line);
        lx_strbuf_init(&line, NULL);
        lx_progress_frame(f, res->time.t_ms, &res->camera, files, stamps, res->n_files, &line);
        s_append(dir, line.buf);
    }
    lx_frame_renderer_destroy(&fr);
    lx_strbuf_release(&line);
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
    size_t len;
    char *text = t_read("examples/orbit-cards.patch.json", &len);
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!text || !s_plan(text, "{\"resolution\":[32,16],\"frames\":[0,3]}", &p, &plan)) {
        free(text);
        lx_program_destroy(&p);
        return;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/rt", s_root);
    lx_error_t err = {0};
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
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
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
