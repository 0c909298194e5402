/* lattice rerender: repair an export by rendering again exactly the frames
 * that are missing, mismatched or failed — locally (OUT PATCH) or on the
 * cluster that made it (JOB -c ENDPOINT). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "client.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/progress.h"
#include "lattice/repair.h"

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice rerender OUT PATCH [options]          (here)\n"
                 "       lattice rerender JOB -c ENDPOINT [options]    (on the cluster)\n\n"
                 "Re-hashes an export against its metadata.json and renders again exactly\n"
                 "the frames whose files are missing or do not match (with warm-up), then\n"
                 "rewrites metadata.json. Intact frames are not rendered: repairing 10\n"
                 "frames of a 2,000-frame export renders 10. PATCH must be the patch the\n"
                 "export was made from (its program hash is checked); the settings come\n"
                 "from metadata.json. On the cluster, frames that failed can be redone too.\n\n"
                 "  --only LIST          missing,mismatched,failed (default: all of them)\n"
                 "  --frames a-b         only look at these frames\n"
                 "  --threads N          render threads (here; default: 1)\n"
                 "  -c, --coordinator E  the coordinator that ran JOB\n"
                 "%s\n"
                 "Exit status: 0 repaired (or nothing to do), 1 rendering failed, the patch\n"
                 "is not the export's or the coordinator refused (an unknown job), 2 usage,\n"
                 "an I/O problem, OUT has no readable manifest or the coordinator did not\n"
                 "answer.\n",
                 cli_key_help);
}

static int s_cluster(const char *job, const char *endpoint, const cli_key_opts_t *keys,
                     const char *only, int64_t range[2])
{
    void *ctx = zmq_ctx_new();
    cli_client_t c;
    cli_client_init(&c, ctx, cli_endpoint(endpoint));
    lx_msg_t m = {.type = LX_MSG_RERENDER}, rep;
    LX_MSG_SET(&m, job, job);
    if (only)
        LX_MSG_SET(&m, only, only);
    if (range[1] >= 0)
        LX_MSG_SET(&m, frames, ((lx_i64s_t){range, 2}));
    lx_error_t err = {0};
    int rc = CLI_OK;
    if (!cli_client_keys(&c, keys, "rerender")) {
        rc = CLI_USAGE;
    } else if (cli_client_call(&c, &m, &rep, &err) != LX_OK) {
        fprintf(stderr, "lattice rerender: %s\n", err.message);
        rc = CLI_USAGE;
    } else if (rep.type == LX_MSG_ERROR) {
        fprintf(stderr, "lattice rerender: %s\n", rep.message);
        rc = CLI_FAILED;
    } else if (rep.type != LX_MSG_JOBS || rep.jobs.n != 1) {
        fprintf(stderr, "lattice rerender: unexpected %s\n", lx_msg_type_name(rep.type));
        rc = CLI_USAGE;
    } else {
        printf("job %s: %" PRIu64 " of %" PRIu64 " frames to render again\n", job,
               rep.jobs.v[0].total - rep.jobs.v[0].done, rep.jobs.v[0].total);
        rc = cli_watch_job(&c, job, false);
    }
    cli_client_close(&c);
    zmq_ctx_term(ctx);
    return rc;
}

/* The frames of an export that never finished: what its progress journal
 * holds intact is kept in m, every other frame is damaged. */
static lx_result_t s_scan_partial(const lx_program_t *p, const lx_export_plan_t *plan,
                                  const char *out, lx_manifest_t *m, lx_repair_scan_t *scan,
                                  lx_error_t *err)
{
    (void)p;
    memset(scan, 0, sizeof *scan);
    lx_resume_stats_t st;
    const char *own = NULL;
    lx_result_t r = lx_resume_scan(m, out, &own, 1, false, lx_resume_keep_record, m, &st, err);
    int64_t n = plan->last - plan->first + 1;
    scan->damaged = r == LX_OK ? calloc((size_t)n, sizeof *scan->damaged) : NULL;
    if (r == LX_OK && !scan->damaged)
        r = lx_fail(err, LX_E_NOMEM, "out of memory");
    for (int64_t f = plan->first; r == LX_OK && f <= plan->last; f++)
        if (!lx_manifest_has_frame(m, f))
            scan->damaged[scan->n_damaged++] = f;
    scan->checked = st.trusted + st.rehashed;
    scan->mismatched = st.damaged;
    return r;
}

/* Appends a frame rendered here to the export's progress journal. */
static lx_result_t s_journal(const char *out, const lx_frame_result_t *res,
                             const lx_manifest_file_t *files, lx_error_t *err)
{
    lx_file_stamp_t *st = calloc(res->n_files + 1, sizeof *st);
    if (!st)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < res->n_files; i++) {
        char path[LX_PATH_MAX];
        struct stat s;
        st[i] = (lx_file_stamp_t){-1, -1, -1, -1};
        if (lx_path_join(path, out, files[i].key) && lx_path_join(path, path, files[i].name) &&
            lstat(path, &s) == 0)
            st[i] = lx_file_stamp_of(&s);
    }
    lx_strbuf_t line;
    lx_strbuf_init(&line, NULL);
    lx_progress_frame(res->frame, res->time.t_ms, &res->camera, files, st, res->n_files, &line);
    int dir = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    lx_result_t r = line.failed ? lx_fail(err, LX_E_NOMEM, "out of memory")
                    : dir < 0   ? lx_fail(err, LX_E_IO, "cannot open '%s'", out)
                                : lx_progress_append(dir, NULL, line.buf, line.len, false, err);
    if (dir >= 0)
        close(dir);
    lx_strbuf_release(&line);
    free(st);
    return r;
}

static int s_local(const char *out, const char *patch, unsigned only, int64_t range[2],
                   uint32_t threads)
{
    lx_program_t *p = NULL;
    int rc = cli_compile_file(patch, false, false, stderr, &p);
    if (rc != CLI_OK)
        return rc;
    double start = cli_clock_ms(NULL);
    lx_export_plan_t plan;
    lx_error_t err = {0};
    lx_repair_scan_t scan = {0};
    lx_manifest_t *m = NULL;
    lx_frame_renderer_t *fr = NULL;
    lx_result_t r = lx_repair_plan(p, out, &plan, &err);
    if (r == LX_OK && !(m = lx_manifest_new(p, &plan, NULL, &err)))
        r = err.code;
    char meta[LX_PATH_MAX];
    bool finished = lx_path_join(meta, out, "metadata.json") && access(meta, F_OK) == 0;
    if (r == LX_OK && finished)
        r = lx_repair_scan(p, &plan, out, range[1] >= 0 ? range[0] : plan.first,
                           range[1] >= 0 ? range[1] : plan.last, only, m, &scan, &err);
    else if (r == LX_OK && (range[1] >= 0 || only != (LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED |
                                                       LX_REPAIR_FAILED)))
        r = lx_fail(&err, LX_E_INVALID,
                    "'%s' never finished: every frame it lacks is rendered, so --frames and "
                    "--only do not apply",
                    out);
    else if (r == LX_OK)
        r = s_scan_partial(p, &plan, out, m, &scan, &err);
    if (r == LX_OK)
        printf("%s: %" PRIu64 " files checked, %" PRIu64 " missing, %" PRIu64
               " mismatched: %" PRId64 " frames to render again\n",
               out, scan.checked, scan.missing, scan.mismatched, scan.n_damaged);
    if (r == LX_OK && scan.n_damaged &&
        !(fr = lx_frame_renderer_new(p, &plan, threads, NULL, NULL, NULL, &err)))
        r = err.code;
    cli_progress_t pr;
    cli_progress_init(&pr);
    for (int64_t k = 0; r == LX_OK && k < scan.n_damaged; k++) {
        const lx_frame_result_t *res = NULL;
        r = lx_frame_renderer_render(fr, scan.damaged[k], &res, &err);
        lx_manifest_file_t *files = r == LX_OK ? calloc(res->n_files + 1, sizeof *files) : NULL;
        if (r == LX_OK && !files)
            r = lx_fail(&err, LX_E_NOMEM, "out of memory");
        for (uint32_t i = 0; r == LX_OK && i < res->n_files; i++) {
            const lx_artifact_file_t *a = &res->files[i];
            char dir[LX_PATH_MAX];
            if (!lx_path_join(dir, out, a->key))
                r = lx_fail(&err, LX_E_INVALID, "path too long: '%s/%s'", out, a->key);
            else if ((r = lx_mkdirs(dir, &err)) == LX_OK)
                r = lx_write_atomic(dir, a->name, a->bytes.buf, a->bytes.len, &err);
            files[i] = (lx_manifest_file_t){a->key, a->name, a->hash, a->content};
        }
        if (r == LX_OK)
            r = lx_manifest_add_frame(m, res->frame, res->time.t_ms, &res->camera, files,
                                      res->n_files, &err);
        if (r == LX_OK)
            r = s_journal(out, res, files, &err);
        free(files);
        cli_progress_update(&pr, k + 1, scan.n_damaged);
    }
    if (r == LX_OK) {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
        run.threads = threads;
        run.elapsed_ms = cli_clock_ms(NULL) - start;
        run.exported_at = stamp;
        lx_remove_stale_temps(out);
        r = lx_manifest_write(m, out, &run, &err);
    }
    if (r == LX_OK)
        printf("repaired %s: rendered %" PRId64 " frames (verify with: lattice verify %s)\n", out,
               scan.n_damaged, out);
    else
        fprintf(stderr, "lattice rerender: %s\n", err.message);
    lx_frame_renderer_destroy(&fr);
    lx_manifest_destroy(&m);
    free(scan.damaged);
    lx_program_destroy(&p);
    /* OUT without a readable manifest is an I/O problem, as for verify. */
    return r == LX_OK                                              ? CLI_OK
           : r == LX_E_IO || r == LX_E_PARSE || r == LX_E_NOMEM ? CLI_USAGE
                                                                   : CLI_FAILED;
}

int cmd_rerender(int argc, char **argv)
{
    const char *args[2] = {NULL, NULL}, *endpoint = NULL, *only_arg = NULL;
    int64_t range[2] = {0, -1};
    uint32_t threads = 1;
    int n_args = 0;
    cli_key_opts_t keys = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        if (cli_is_help(a)) {
            s_help(stdout);
            return CLI_OK;
        } else if (cli_key_opt(argc, argv, &i, &keys)) {
            continue;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--coordinator") == 0) && v) {
            endpoint = argv[++i];
        } else if (strcmp(a, "--only") == 0 && v) {
            only_arg = argv[++i];
        } else if (strcmp(a, "--frames") == 0 && v) {
            if (!cli_parse_frames(argv[++i], &range[0], &range[1])) {
                fprintf(stderr, "lattice rerender: '%s' is not a frame range\n", argv[i]);
                return CLI_USAGE;
            }
        } else if (strcmp(a, "--threads") == 0 && v) {
            long t = 0;
            if (!cli_count("rerender", a, argv[++i], 1, 256, &t))
                return CLI_USAGE;
            threads = (uint32_t)t;
        } else if (a[0] != '-' && n_args < 2) {
            args[n_args++] = a;
        } else {
            fprintf(stderr, "lattice rerender: unexpected '%s'\n", a);
            s_help(stderr);
            return CLI_USAGE;
        }
    }
    unsigned only = LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED | LX_REPAIR_FAILED;
    if (only_arg && !lx_repair_parse_only(only_arg, &only)) {
        fprintf(stderr, "lattice rerender: --only takes missing, mismatched, failed\n");
        return CLI_USAGE;
    }
    if (endpoint && n_args == 1)
        return s_cluster(args[0], endpoint, &keys, only_arg, range);
    if (!endpoint && n_args == 2)
        return s_local(args[0], args[1], only, range, threads);
    fprintf(stderr, "lattice rerender: give OUT and PATCH, or JOB and -c ENDPOINT\n");
    s_help(stderr);
    return CLI_USAGE;
}
