/* lattice assemble OUT: merges the shards an export was rendered in
 * (`lattice export --shard`) into its metadata.json, or says which frames
 * are missing and the command that renders each gap
 * (docs/export-format.md, "Shards"). */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lattice/files.h"
#include "lattice/ir_codec.h"
#include "lattice/manifest.h"
#include "lattice/progress.h"
#include "shard.h"

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice assemble OUT [--rehash] [--json]\n\n"
                 "Merges the shards of an export (`lattice export --shard`, run by Slurm, a\n"
                 "Kubernetes Indexed Job, Open Job Description or by hand) into OUT's\n"
                 "metadata.json: the same, field for field but exportedAt and run, as one\n"
                 "`lattice export` of the same patch and settings. Each frame's files are\n"
                 "checked against the journal of the shard that wrote them: a file whose\n"
                 "size, times and inode are as recorded is trusted, any other is re-hashed.\n"
                 "When frames are missing it writes nothing and names every shard or range\n"
                 "that lacks frames, with the command that renders it again.\n\n"
                 "  --rehash   re-hash every file, trusting no recorded stamp\n"
                 "  --json     print the result as one JSON object on stdout\n\n"
                 "Exit status: 0 assembled (or OUT is already a complete export), 1 frames\n"
                 "are missing or damaged, 2 usage, or OUT holds no shards, shards of more\n"
                 "than one export, or cannot be read.\n");
}

/* A shard directory and what assemble found of it. */
typedef struct {
    char name[LX_BOOK_MAX];
    char book[LX_BOOK_MAX];
    int64_t first, last, done;
    bool sealed, running;
    char *command; /* its command.json, or NULL */
} shard_t;

typedef struct {
    lx_manifest_t *m;
    lx_strbuf_t journal; /* the export's progress journal, assembled */
} keep_t;

static lx_result_t s_keep(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                          const lx_manifest_file_t *files, const lx_file_stamp_t *stamps,
                          uint32_t n, lx_error_t *err)
{
    keep_t *k = user;
    lx_result_t rc = lx_manifest_add_frame(k->m, f, t_ms, cam, files, n, err);
    if (rc == LX_OK)
        lx_progress_frame(f, t_ms, cam, files, stamps, n, &k->journal);
    return rc;
}

/* What s's directory holds beyond its journal: a manifest, a live lock,
 * the command that made it. */
static void s_inspect(const char *out, shard_t *s)
{
    char dir[LX_PATH_MAX], path[LX_PATH_MAX];
    if (!lx_path_join(dir, out, s->book))
        return;
    struct stat st;
    s->sealed = lx_path_join(path, dir, LX_SHARD_MANIFEST) && lstat(path, &st) == 0;
    /* A shard that runs holds its lock (lattice export). */
    int fd = lx_path_join(path, dir, "lock") ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    s->running = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (fd >= 0)
        close(fd);
    size_t len;
    if (lx_path_join(path, dir, "command.json"))
        s->command = lx_read_file(path, 1 << 20, &len, lx_alloc_default());
}

/* "cd DIR && lattice export ... --shard SPEC", from command.json. */
static void s_redo(const char *command, const char *spec, lx_strbuf_t *out)
{
    if (!command || !cli_shard_command(command, spec, out))
        lx_strbuf_addf(out, "(no command recorded: run the export again with --shard %s)", spec);
}

/* The --shard value s was run with ("2/4"), else its frames. */
static void s_spec(const shard_t *s, char *spec, size_t size)
{
    if (!s->command || !cli_shard_recorded_spec(s->command, spec, size))
        snprintf(spec, size, "%s", s->name);
}

/* The program the shards stored, checked against its hash. */
static lx_program_t *s_program(const char *out, const char *hash, lx_error_t *err)
{
    char name[96], dir[LX_PATH_MAX], path[LX_PATH_MAX];
    snprintf(name, sizeof name, LX_PROGRAM_FILE_FMT, hash);
    size_t len = 0;
    char *bytes = lx_path_join(dir, out, LX_PROGRESS_DIR) && lx_path_join(path, dir, name)
                      ? lx_read_file(path, (size_t)1 << 30, &len, lx_alloc_default())
                      : NULL;
    lx_program_t *p = NULL;
    char got[65] = "";
    if (!bytes)
        lx_fail(err, LX_E_IO, "cannot read the shards' program '%s/%s/%s': %s", out,
                LX_PROGRESS_DIR, name, strerror(errno));
    else if (lx_ir_decode(bytes, len, NULL, &p, err) == LX_OK) {
        lx_hex(p->program_hash.bytes, 32, got);
        if (strcmp(got, hash) != 0) {
            lx_fail(err, LX_E_VERIFY, "'%s' holds program %s, not %s", name, got, hash);
            lx_program_destroy(&p);
        }
    }
    lx_free(lx_alloc_default(), bytes);
    return p;
}

/* The plan of the export the headers describe, checked against its hash. */
static bool s_plan(const lx_program_t *p, const lx_prior_t *pr, lx_export_plan_t *plan,
                   lx_error_t *err)
{
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    bool ok = pr->config && lx_export_plan_json(p, pr->config, plan, &d) == LX_OK;
    char hash[65] = "";
    if (ok)
        lx_hex(plan->config_hash.bytes, 32, hash);
    if (!ok)
        lx_fail(err, LX_E_INVALID, "the shards' settings do not plan: %s",
                d.count ? d.items[0].message : "no config in their journal");
    else if (strcmp(hash, pr->config_hash) != 0)
        ok = !lx_fail(err, LX_E_VERIFY, "the shards' settings resolve to config %s, not %s", hash,
                      pr->config_hash);
    lx_diags_release(&d);
    return ok;
}

/* One gap: a shard (or, state "missing", a range no shard covers) that
 * lacks frames, and the command that renders it; a line on stderr, or an
 * entry of list. */
static void s_gap(cJSON *list, const char *spec, int64_t a, int64_t b, const char *state,
                  int64_t done, const char *redo)
{
    if (!list) {
        if (strcmp(state, "missing") == 0)
            fprintf(stderr, "lattice assemble: frames %s: no shard has written them; redo: %s\n",
                    spec, redo);
        else
            fprintf(stderr,
                    "lattice assemble: shard %s (frames %" PRId64 "-%" PRId64 "): %s, %" PRId64
                    " of %" PRId64 " frames; redo: %s\n",
                    spec, a, b, state, done, b - a + 1, redo);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "shard", spec);
    cJSON *r = cJSON_AddArrayToObject(o, "frames");
    cJSON_AddItemToArray(r, cJSON_CreateNumber((double)a));
    cJSON_AddItemToArray(r, cJSON_CreateNumber((double)b));
    cJSON_AddStringToObject(o, "state", state);
    cJSON_AddNumberToObject(o, "done", (double)done);
    cJSON_AddNumberToObject(o, "total", (double)(b - a + 1));
    cJSON_AddStringToObject(o, "redo", redo);
    cJSON_AddItemToArray(list, o);
}

/* Reports every shard that lacks frames, then every range of missing
 * frames no shard covers (into list with --json, else on stderr). */
static void s_report_gaps(const lx_manifest_t *m, const lx_export_plan_t *plan,
                          const shard_t *shards, size_t n, cJSON *list)
{
    lx_strbuf_t redo;
    char spec[64];
    for (size_t i = 0; i < n; i++) {
        const shard_t *s = &shards[i];
        if (s->done == s->last - s->first + 1)
            continue;
        s_spec(s, spec, sizeof spec);
        lx_strbuf_init(&redo, NULL);
        s_redo(s->command, spec, &redo);
        s_gap(list, spec, s->first, s->last,
              s->running  ? "running"
              : s->sealed ? "damaged"
                          : "incomplete",
              s->done, redo.buf ? redo.buf : "");
        lx_strbuf_release(&redo);
    }
    /* Missing frames outside every shard: no shard has run for them. The
     * command is any shard's, for exactly that range. */
    int64_t total = plan->last - plan->first + 1;
    uint8_t *covered = calloc((size_t)total, 1);
    for (size_t i = 0; covered && i < n; i++)
        for (int64_t f = shards[i].first; f <= shards[i].last && f <= plan->last; f++)
            if (f >= plan->first)
                covered[f - plan->first] = 1;
#define GAP(f) (!lx_manifest_has_frame(m, f) && !covered[(f)-plan->first])
    for (int64_t f = plan->first; covered && f <= plan->last; f++) {
        if (!GAP(f))
            continue;
        int64_t a = f;
        while (f < plan->last && GAP(f + 1))
            f++;
        snprintf(spec, sizeof spec, "%" PRId64 "-%" PRId64, a, f);
        lx_strbuf_init(&redo, NULL);
        s_redo(n ? shards[0].command : NULL, spec, &redo);
        s_gap(list, spec, a, f, "missing", 0, redo.buf ? redo.buf : "");
        lx_strbuf_release(&redo);
    }
#undef GAP
    if (!covered)
        fprintf(stderr, "lattice assemble: out of memory listing the frames no shard covers\n");
    free(covered);
}

/* Writes metadata.json (and the camera files) and the export's own
 * progress journal: OUT is then an export like any other. */
static lx_result_t s_write(const char *out, const lx_program_t *p, const lx_export_plan_t *plan,
                           keep_t *k, uint32_t shards, double start_ms, lx_error_t *err)
{
    char stamp[32], dir[LX_PATH_MAX];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.workers = shards;
    run.elapsed_ms = floor(cli_clock_ms(NULL) - start_ms);
    run.exported_at = stamp;
    lx_strbuf_t journal;
    lx_strbuf_init(&journal, NULL);
    lx_progress_header(p, plan, &journal);
    lx_strbuf_add(&journal, k->journal.buf, k->journal.len);
    /* Leftovers of killed shards go before the manifest says the export
     * is whole. */
    lx_remove_stale_temps(out);
    lx_result_t rc = journal.failed ? lx_fail(err, LX_E_NOMEM, "out of memory") : LX_OK;
    if (rc == LX_OK && lx_path_join(dir, out, LX_PROGRESS_DIR))
        rc = lx_write_atomic(dir, LX_PROGRESS_FILE, journal.buf, journal.len, err);
    if (rc == LX_OK)
        rc = lx_manifest_write(k->m, out, &run, err);
    lx_strbuf_release(&journal);
    return rc;
}

static void s_json_end(cJSON *o, const char *status, const char *error)
{
    cJSON_AddStringToObject(o, "status", status);
    if (error)
        cJSON_AddStringToObject(o, "error", error);
    cli_print_json(&o);
}

int cmd_assemble(int argc, char **argv)
{
    const char *out = NULL;
    bool json = false, rehash = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--rehash") == 0) {
            rehash = true;
        } else if (!out && argv[i][0] != '-') {
            out = argv[i];
        } else {
            fprintf(stderr, "lattice assemble: unexpected '%s'\n", argv[i]);
            s_help(stderr);
            return CLI_USAGE;
        }
    }
    if (!out) {
        fprintf(stderr, "lattice assemble: which export directory?\n");
        s_help(stderr);
        return CLI_USAGE;
    }
    double start = cli_clock_ms(NULL);
    cJSON *report = json ? cJSON_CreateObject() : NULL;
    if (report)
        cJSON_AddStringToObject(report, "out", out);
    lx_prior_t pr;
    lx_error_t err = {0};
    char why[600] = "";
    int rc = CLI_USAGE;
    if (lx_prior_read(out, &pr, &err) != LX_OK)
        snprintf(why, sizeof why, "%s", err.message);
    else if (!pr.exists)
        snprintf(why, sizeof why, "'%s' does not exist", out);
    else if (pr.mixed)
        snprintf(why, sizeof why,
                 "'%s' holds shards of more than one export (or of other settings than its "
                 "own journal): see the headers of %s/*/" LX_PROGRESS_FILE,
                 out, LX_SHARDS_DIR);
    else if (!pr.shards && pr.manifest && pr.complete) {
        if (json)
            s_json_end(report, "complete", NULL);
        else
            printf("%s is a complete export already: nothing to assemble (verify with: lattice "
                   "verify %s)\n",
                   out, out);
        lx_prior_release(&pr);
        return CLI_OK;
    } else if (!pr.shards && pr.journal) {
        snprintf(why, sizeof why,
                 "'%s' is an unfinished export, not shards: run the same lattice export again "
                 "to resume it",
                 out);
        rc = CLI_FAILED;
    } else if (!pr.shards)
        snprintf(why, sizeof why, "'%s' holds no shards (%s) and no export", out, LX_SHARDS_DIR);
    if (why[0]) {
        if (json)
            s_json_end(report, rc == CLI_FAILED ? "incomplete" : "error", why);
        else
            fprintf(stderr, "lattice assemble: %s\n", why);
        lx_prior_release(&pr);
        return rc;
    }

    /* The hash names a file: 64 hex digits, nothing a crafted journal could
     * turn into a path. */
    bool hex = strlen(pr.program_hash) == 64 && strspn(pr.program_hash, "0123456789abcdef") == 64;
    lx_program_t *p = hex ? s_program(out, pr.program_hash, &err) : NULL;
    if (!hex)
        lx_fail(&err, LX_E_INVALID, "the shards' journal names program '%.64s', not a hash",
                pr.program_hash);
    lx_export_plan_t plan;
    keep_t k = {NULL, {0}};
    lx_strbuf_init(&k.journal, NULL);
    if (p && s_plan(p, &pr, &plan, &err))
        k.m = lx_manifest_new(p, &plan, NULL, &err);
    size_t n = 0;
    char **names = k.m ? lx_shard_names(out, &n) : NULL;
    shard_t *shards = calloc(n + 1, sizeof *shards);
    const char **books = calloc(n + 1, sizeof *books);
    lx_resume_stats_t st = {0};
    lx_result_t r = k.m && shards && books ? LX_OK
                    : k.m                  ? lx_fail(&err, LX_E_NOMEM, "out of memory")
                                           : err.code;
    for (size_t i = 0; r == LX_OK && i < n; i++) {
        shard_t *s = &shards[i];
        snprintf(s->name, sizeof s->name, "%s", names[i]);
        lx_shard_name_parse(names[i], &s->first, &s->last);
        lx_progress_book(true, s->first, s->last, s->book);
        s_inspect(out, s);
        books[i] = s->book;
    }
    /* The export's own journal last: frames an ordinary run rendered. */
    books[n] = NULL;
    if (r == LX_OK)
        r = lx_resume_scan(k.m, out, books, n + 1, rehash, s_keep, &k, &st, &err);
    for (size_t i = 0; r == LX_OK && i < n; i++)
        for (int64_t f = shards[i].first; f <= shards[i].last && f <= plan.last; f++)
            shards[i].done += lx_manifest_has_frame(k.m, f);
    int64_t missing = r == LX_OK ? lx_manifest_missing(k.m) : 0;
    if (r != LX_OK) {
        rc = CLI_USAGE; /* OUT's books or program cannot be read: nothing to assemble */
        if (json)
            s_json_end(report, "error", err.message);
        else
            fprintf(stderr, "lattice assemble: %s\n", err.message);
    } else if (missing) {
        rc = CLI_FAILED;
        cJSON *list = json ? cJSON_AddArrayToObject(report, "gaps") : NULL;
        if (!json)
            fprintf(stderr,
                    "lattice assemble: %s lacks %" PRId64 " of %" PRId64 " frames (%" PRId64
                    "-%" PRId64 "); nothing was written\n",
                    out, missing, plan.last - plan.first + 1, plan.first, plan.last);
        s_report_gaps(k.m, &plan, shards, n, list);
        if (json) {
            cJSON_AddNumberToObject(report, "missing", (double)missing);
            s_json_end(report, "incomplete", NULL);
        }
    } else if ((r = s_write(out, p, &plan, &k, (uint32_t)n, start, &err)) != LX_OK) {
        rc = CLI_USAGE;
        if (json)
            s_json_end(report, "error", err.message);
        else
            fprintf(stderr, "lattice assemble: cannot write the manifest of '%s': %s\n", out,
                    err.message);
    } else {
        rc = CLI_OK;
        if (json) {
            cJSON *fr = cJSON_AddArrayToObject(report, "frames");
            cJSON_AddItemToArray(fr, cJSON_CreateNumber((double)plan.first));
            cJSON_AddItemToArray(fr, cJSON_CreateNumber((double)plan.last));
            cJSON_AddNumberToObject(report, "shards", (double)n);
            cJSON_AddNumberToObject(report, "trusted", (double)st.trusted);
            cJSON_AddNumberToObject(report, "rehashed", (double)st.rehashed);
            s_json_end(report, "assembled", NULL);
        } else {
            printf("assembled %s: frames %" PRId64 "-%" PRId64 " from %zu shard%s (%" PRIu64
                   " files trusted, %" PRIu64 " re-hashed) (verify with: lattice verify %s)\n",
                   out, plan.first, plan.last, n, n == 1 ? "" : "s", st.trusted, st.rehashed, out);
        }
    }
    for (size_t i = 0; i < n; i++) {
        lx_free(lx_alloc_default(), shards[i].command);
        free(names[i]);
    }
    free(names);
    free(shards);
    free(books);
    lx_strbuf_release(&k.journal);
    lx_manifest_destroy(&k.m);
    lx_program_destroy(&p);
    lx_prior_release(&pr);
    return rc;
}
