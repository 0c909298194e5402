/* lattice export PATCH -o OUT [...]: render every artifact of every frame. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lattice/export.h"
#include "lattice/patch.h"

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: lattice export PATCH -o OUT [options]\n\n"
            "Renders the patch's frames into OUT: one directory per artifact\n"
            "(rgba, depth, motion, normal, id, mask/<layer>, camera, control/...) and\n"
            "metadata.json, which lists every file's SHA-256 and is written last.\n\n"
            "  -o, --output OUT     export directory (created if needed)\n"
            "  --frames a-b         inclusive frame range (default: the time model's;\n"
            "                       required for infinite patches)\n"
            "  --artifacts LIST     comma-separated: rgba,depth,motion,normal,id,mask,\n"
            "                       camera,control, or all (default: all but control)\n"
            "  --config FILE        export settings as JSON (docs/export-format.md);\n"
            "                       flags win\n"
            "  --threads N          render and encode threads (default: 1)\n"
            "  --force              write into a non-empty directory that is not an\n"
            "                       export of this patch (files are never deleted)\n\n"
            "Exit status: 0 exported, 1 the patch or settings have errors or rendering\n"
            "failed, 2 usage or I/O problem.\n");
}

static double s_clock(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct {
    bool tty;
    double start, last_print;
} progress_t;

static void s_progress(void *user, int64_t done, int64_t total, const lx_frame_result_t *last)
{
    progress_t *pr = user;
    double now = s_clock(NULL), secs = (now - pr->start) / 1e3;
    double fps = secs > 0 ? done / secs : 0;
    double eta = fps > 0 ? (total - done) / fps : 0;
    (void)last;
    if (pr->tty) {
        int width = 30, filled = (int)(width * done / (total ? total : 1));
        fprintf(stderr, "\r[%.*s%*s] %" PRId64 "/%" PRId64 " frames  %.1f fps  ETA %.0fs ",
                filled, "##############################", width - filled, "", done, total, fps,
                eta);
        if (done == total)
            fputc('\n', stderr);
    } else if (done == total || now - pr->last_print >= 2000) {
        fprintf(stderr, "exported %" PRId64 "/%" PRId64 " frames (%.1f fps)\n", done, total, fps);
        pr->last_print = now;
    }
}

int cmd_export(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *frames = NULL, *artifacts = NULL, *config = NULL;
    uint32_t threads = 1;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (cli_is_help(a)) {
            s_help(stdout);
            return CLI_OK;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value) {
            out = argv[++i];
        } else if (strcmp(a, "--frames") == 0 && has_value) {
            frames = argv[++i];
        } else if (strcmp(a, "--artifacts") == 0 && has_value) {
            artifacts = argv[++i];
        } else if (strcmp(a, "--config") == 0 && has_value) {
            config = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && has_value) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 256) {
                fprintf(stderr, "lattice export: --threads takes 1 to 256\n");
                return CLI_USAGE;
            }
            threads = (uint32_t)t;
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (!cli_take_patch("export", a, &path, s_help)) {
            return CLI_USAGE;
        }
    }
    if (!path || !out) {
        fprintf(stderr, "lattice export: %s\n", !path ? "which patch?" : "-o OUT is required");
        s_help(stderr);
        return CLI_USAGE;
    }
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    int rc = CLI_OK;
    if (config) {
        size_t len = 0;
        char *text = cli_read_file(config, 1 << 20, &len);
        if (!text) {
            lx_diags_release(&diags);
            return CLI_USAGE;
        }
        lx_export_config_load_json(&cfg, text, len, &diags);
        free(text);
    }
    if (frames) {
        if (!cli_parse_frames(frames, &cfg.first, &cfg.last)) {
            fprintf(stderr, "lattice export: '%s' is not a frame range (a-b, 0 <= a <= b)\n",
                    frames);
            lx_diags_release(&diags);
            return CLI_USAGE;
        }
        cfg.has_frames = true;
    }
    if (artifacts) {
        const char *bad = NULL;
        if (!lx_export_parse_artifacts(artifacts, &cfg.artifacts, &bad)) {
            fprintf(stderr, "lattice export: unknown artifact '%s' (rgba, depth, motion, normal, "
                            "id, mask, camera, control, all)\n",
                    bad);
            lx_diags_release(&diags);
            return CLI_USAGE;
        }
    }
    lx_program_t *p = NULL;
    rc = cli_compile_file(path, false, false, stderr, &p);
    lx_export_plan_t plan;
    if (rc == CLI_OK && lx_export_plan(p, &cfg, &plan, &diags) != LX_OK)
        rc = CLI_FAILED;
    if (diags.count) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        lx_diags_format_text(&diags, config ? config : path, &sb);
        fputs(sb.buf, stderr);
        lx_strbuf_release(&sb);
    }
    if (diags.n_errors)
        rc = CLI_FAILED;
    lx_diags_release(&diags);
    if (rc != CLI_OK) {
        lx_program_destroy(&p);
        return rc;
    }
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    progress_t pr = {isatty(2) != 0, s_clock(NULL), s_clock(NULL)};
    lx_export_options_t opts = LX_EXPORT_OPTIONS_INIT;
    opts.threads = threads;
    opts.force = force;
    opts.progress = s_progress;
    opts.progress_user = &pr;
    opts.clock = s_clock;
    opts.exported_at = stamp;
    lx_error_t err = {0};
    lx_result_t r = lx_export_run(p, &plan, out, &opts, &err);
    if (r != LX_OK) {
        fprintf(stderr, "lattice export: %s\n", err.message);
        rc = r == LX_E_IO ? CLI_USAGE : CLI_FAILED;
    } else {
        printf("wrote %s: frames %" PRId64 "-%" PRId64 " in %.1f s (verify with: lattice "
               "verify %s)\n",
               out, plan.first, plan.last, (s_clock(NULL) - pr.start) / 1e3, out);
    }
    lx_program_destroy(&p);
    return rc;
}

int cmd_verify(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: lattice verify OUT\n\n"
                   "Re-hashes every file metadata.json lists and reports missing, mismatched\n"
                   "and extra files. Exit status: 0 everything matches, 1 something does not,\n"
                   "2 OUT has no readable manifest.\n");
            return CLI_OK;
        } else if (!dir && argv[i][0] != '-') {
            dir = argv[i];
        } else {
            fprintf(stderr, "lattice verify: unexpected '%s'\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: lattice verify OUT\n");
        return CLI_USAGE;
    }
    lx_verify_report_t rep;
    lx_error_t err = {0};
    lx_result_t r = lx_export_verify(dir, &rep, &err);
    fputs(rep.text.buf, stdout);
    int rc = CLI_OK;
    if (r == LX_OK) {
        printf("%s: all %" PRIu64 " files match\n", dir, rep.checked);
    } else if (r == LX_E_VERIFY) {
        printf("%s: %" PRIu64 " checked, %" PRIu64 " missing, %" PRIu64 " mismatched, %" PRIu64
               " extra\n",
               dir, rep.checked, rep.missing, rep.mismatched + rep.combined_bad, rep.extra);
        rc = CLI_FAILED;
    } else {
        fprintf(stderr, "lattice verify: %s\n", err.message);
        rc = CLI_USAGE;
    }
    lx_strbuf_release(&rep.text);
    return rc;
}
