#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lattice/compile.h"
#include "lattice/export_memory.h"
#include "lattice/files.h"
#include "lattice/patch.h"
#include "lattice/proc.h"

char *cli_read_file(const char *path, size_t max, size_t *len)
{
    errno = 0;
    char *buf = lx_read_file(path, max, len, lx_alloc_default());
    if (!buf && errno == EFBIG)
        fprintf(stderr, "lattice: '%s' is larger than %zu bytes\n", path, max);
    else if (!buf)
        fprintf(stderr, "lattice: cannot read '%s': %s\n", path, strerror(errno));
    return buf;
}

bool cli_write_file(const char *path, const char *data, size_t len)
{
    lx_error_t err = {0};
    lx_result_t rc = LX_OK;
    if (strcmp(path, "-") == 0) {
        fflush(stdout); /* whatever stdio holds goes first */
        if (!lx_write_all(1, data, len))
            rc = lx_fail(&err, LX_E_IO, "cannot write to standard output: %s", strerror(errno));
    } else {
        rc = lx_write_output(path, data, len, &err);
    }
    if (rc != LX_OK)
        fprintf(stderr, "lattice: %s\n", err.message);
    return rc == LX_OK;
}

bool cli_take_patch(const char *cmd, const char *arg, const char **path, cli_help_fn help)
{
    if (arg[0] == '-' && arg[1]) {
        fprintf(stderr, "lattice %s: unknown option or missing value '%s'\n", cmd, arg);
        help(stderr);
        return false;
    }
    if (*path) {
        fprintf(stderr, "lattice %s: one patch at a time ('%s' is extra)\n", cmd, arg);
        return false;
    }
    *path = arg;
    return true;
}

bool cli_parse_frames(const char *s, int64_t *a, int64_t *b)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || x < 0)
        return false;
    long long y = x;
    if (*end == '-') {
        const char *t = end + 1;
        y = strtoll(t, &end, 10);
        if (errno || end == t || y < x)
            return false;
    }
    if (*end)
        return false;
    *a = x;
    *b = y;
    return true;
}

void cli_print_json(cJSON **json_p)
{
    char *text = *json_p ? cJSON_Print(*json_p) : NULL;
    if (text)
        puts(text);
    cJSON_free(text);
    cJSON_Delete(*json_p);
    *json_p = NULL;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

/* Reads and compiles the patch at path into diags (which the caller
 * initialized). *read is false when the file could not be read (reported
 * on stderr; nothing was compiled). */
static lx_result_t s_compile(const char *path, lx_diags_t *diags, lx_program_t **program,
                             bool *read, lx_error_t *err)
{
    size_t len = 0;
    char *text = cli_read_file(path, LX_PATCH_MAX_BYTES, &len);
    *read = text != NULL;
    if (!text)
        return LX_E_IO;
    char dir[LX_PATH_MAX];
    cli_dir_of(path, dir, sizeof dir);
    lx_compile_config_t cc = LX_COMPILE_CONFIG_INIT;
    cc.base_dir = dir;
    lx_result_t rc = lx_compile_ex(text, len, &cc, NULL, diags, program, err);
    free(text);
    return rc;
}

void cli_dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* The exit code of a compile, reporting a failure that is not
 * diagnostics; the program is kept in *program on success, else freed. */
static int s_compile_exit(const char *path, lx_result_t rc, const lx_error_t *err, lx_program_t *p,
                          lx_program_t **program)
{
    if (rc != LX_OK && rc != LX_E_DIAG) {
        fprintf(stderr, "lattice: %s: %s (%s)\n", path, err->message, lx_error_name(rc));
        lx_program_destroy(&p);
        return rc == LX_E_NOMEM ? CLI_USAGE : CLI_FAILED;
    }
    if (rc == LX_E_DIAG) {
        lx_program_destroy(&p);
        return CLI_FAILED;
    }
    if (program)
        *program = p;
    else
        lx_program_destroy(&p);
    return CLI_OK;
}

/* Compiles path with its diagnostics formatted into sb (JSON, or text when
 * there is something to say or summary asks for it); the exit status of
 * cli_compile_file. */
static int s_compile_into(const char *path, bool json, bool summary, lx_strbuf_t *sb,
                          lx_program_t **program)
{
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    bool read = false;
    lx_result_t rc = s_compile(path, &diags, &p, &read, &err);
    if (!read) {
        lx_diags_release(&diags);
        return CLI_USAGE;
    }
    if (json)
        lx_diags_format_json(&diags, sb);
    else if (diags.count || (summary && (rc == LX_OK || rc == LX_E_DIAG)))
        lx_diags_format_text(&diags, path, sb);
    lx_diags_release(&diags);
    return s_compile_exit(path, rc, &err, p, program);
}

int cli_compile_file(const char *path, bool json, bool summary, FILE *out, lx_program_t **program)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    int rc = s_compile_into(path, json, summary, &sb, program);
    if (sb.buf)
        fputs(sb.buf, out);
    lx_strbuf_release(&sb);
    return rc;
}

int cli_compile_file_report(const char *path, cJSON *report, lx_program_t **program)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_program_t *p = NULL;
    int rc = s_compile_into(path, true, false, &sb, &p);
    cJSON *list = sb.buf && !sb.failed ? cJSON_Parse(sb.buf) : NULL;
    bool read = sb.buf != NULL; /* an unreadable patch formats nothing */
    lx_strbuf_release(&sb);
    if (!read) {
        lx_program_destroy(&p);
        return rc;
    }
    if (!list || !cJSON_AddItemToObject(report, "diagnostics", list)) {
        cJSON_Delete(list);
        lx_program_destroy(&p);
        fprintf(stderr, "lattice: out of memory\n");
        return CLI_USAGE;
    }
    if (program)
        *program = p;
    else
        lx_program_destroy(&p);
    return rc;
}

double cli_clock_ms(void *unused)
{
    (void)unused;
    return lx_monotonic_ms();
}

void cli_progress_init(cli_progress_t *p)
{
    p->tty = isatty(2) != 0;
    p->start = p->last_print = cli_clock_ms(NULL);
    p->last_done = -1;
}

void cli_format_duration(double secs, char *buf, size_t n)
{
    if (!(secs >= 0) || secs > 3.6e9) { /* NaN, negative or absurd: unknown */
        snprintf(buf, n, "-:--:--");
        return;
    }
    long long s = (long long)(secs + 0.5);
    snprintf(buf, n, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

void cli_progress_update(cli_progress_t *p, int64_t done, int64_t total)
{
    double now = cli_clock_ms(NULL), secs = (now - p->start) / 1e3;
    /* The rate of this run: frames done before it (an export resumed, a
     * job watched halfway) do not count. */
    if (p->last_done < 0)
        p->base = done;
    double fps = secs > 0 ? (double)(done - p->base) / secs : 0;
    if (done == p->last_done)
        return;
    p->last_done = done;
    char elapsed[32], eta[32];
    cli_format_duration(secs, elapsed, sizeof elapsed);
    cli_format_duration(fps > 0 ? (total - done) / fps : -1, eta, sizeof eta);
    if (p->tty) {
        int width = 30, filled = (int)(width * done / (total ? total : 1));
        fprintf(stderr, "\r[%.*s%*s] %" PRId64 "/%" PRId64 " frames  %.1f fps  elapsed %s  ETA %s ",
                filled, "##############################", width - filled, "", done, total, fps,
                elapsed, eta);
        if (done == total)
            fputc('\n', stderr);
    } else if (done == total || now - p->last_print >= 2000) {
        fprintf(stderr, "exported %" PRId64 "/%" PRId64 " frames (%.1f fps, elapsed %s, ETA %s)\n",
                done, total, fps, elapsed, eta);
        p->last_print = now;
    }
}

const char cli_export_opts_help[] =
    "  --frames a-b         inclusive frame range (default: the time model's;\n"
    "                       an export of an infinite patch needs one)\n"
    "  --allow-past-end     frames past a finite timeline's last frame are a\n"
    "                       warning, not an error (EX-509)\n"
    "  --artifacts LIST     comma-separated: rgba,depth,motion,normal,id,mask,\n"
    "                       camera,control,particles,semantic,edges,tracks,svg,\n"
    "                       audio; all; comfyui (rgba, mask, camera, control:\n"
    "                       what ComfyUI loads) (default: rgba to camera)\n"
    "  --preset NAME        starting settings for a model family: wan (832x480,\n"
    "                       16 fps; warns unless the frames are 4n+1, EX-510);\n"
    "                       --fps wins over it, it over the config file's\n"
    "  --fps N              frames per second (default: the patch's output fps)\n"
    "  --seed N             the seed, 0 to 4294967295 (default: the patch's)\n"
    "  --video LIST         also encode these frame files as MP4 (H.264) videos\n"
    "                       in video/, e.g. rgba,control/depth,mask/cards: 8-bit\n"
    "                       PNG keys only; keys x frames at most 10000 (EX-512)\n"
    "  --config FILE        export settings as JSON (docs/export-format.md);\n"
    "                       flags win\n";

int cli_export_opt(const char *cmd, int argc, char **argv, int *i, cli_export_args_t *args)
{
    const char *a = argv[*i];
    bool v = *i + 1 < argc;
    if (strcmp(a, "--allow-past-end") == 0) {
        args->allow_past_end = true;
        return 1;
    }
    if (!v)
        return 0;
    const char *value = argv[*i + 1];
    if (strcmp(a, "--frames") == 0)
        args->frames = value;
    else if (strcmp(a, "--artifacts") == 0)
        args->artifacts = value;
    else if (strcmp(a, "--config") == 0)
        args->config_path = value;
    else if (strcmp(a, "--preset") == 0)
        args->preset = value;
    else if (strcmp(a, "--video") == 0)
        args->video = value;
    else if (strcmp(a, "--fps") == 0) {
        char *end;
        args->fps = strtod(value, &end);
        if (end == value || *end || !(args->fps > 0 && args->fps <= 1000)) {
            fprintf(stderr, "lattice %s: --fps takes a number above 0, at most 1000, not '%s'\n",
                    cmd, value);
            return -1;
        }
    } else if (strcmp(a, "--seed") == 0) {
        int64_t n, m;
        if (!cli_parse_frames(value, &n, &m) || n != m || n > UINT32_MAX) {
            fprintf(stderr, "lattice %s: --seed takes an integer from 0 to 4294967295, not '%s'\n",
                    cmd, value);
            return -1;
        }
        args->has_seed = true;
        args->seed = (uint32_t)n;
    } else
        return 0;
    ++*i;
    return 1;
}

char *cli_export_wire_config(const cli_export_args_t *a, const char *text, size_t len)
{
    if (!a->preset && !a->fps && !a->allow_past_end && !a->has_seed && !a->video)
        return NULL;
    cJSON *c = text ? cJSON_ParseWithLength(text, len) : cJSON_CreateObject();
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        return NULL;
    }
    if (a->preset) {
        /* The flag's preset wins over the file's resolution and fps. */
        cJSON_DeleteItemFromObjectCaseSensitive(c, "resolution");
        cJSON_DeleteItemFromObjectCaseSensitive(c, "fps");
        cJSON_DeleteItemFromObjectCaseSensitive(c, "preset");
        cJSON_AddStringToObject(c, "preset", a->preset);
    }
    if (a->fps) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, "fps");
        cJSON_AddNumberToObject(c, "fps", a->fps);
    }
    if (a->video) {
        /* Checked by cli_export_request before this runs. */
        cJSON_DeleteItemFromObjectCaseSensitive(c, "video");
        cJSON *keys = cJSON_AddArrayToObject(c, "video");
        lx_export_config_t v;
        char why[160];
        if (lx_export_config_video(&v, a->video, why, sizeof why))
            for (uint32_t k = 0; k < v.n_video; k++)
                cJSON_AddItemToArray(keys, cJSON_CreateString(v.video[k]));
    }
    if (a->allow_past_end) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, "allowPastEnd");
        cJSON_AddBoolToObject(c, "allowPastEnd", true);
    }
    if (a->has_seed) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, "seed");
        cJSON_AddNumberToObject(c, "seed", a->seed);
    }
    char *s = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return s;
}

bool cli_export_flags(const char *cmd, const cli_export_args_t *args, lx_export_request_t *req)
{
    if (args->frames) {
        if (!cli_parse_frames(args->frames, &req->first, &req->last)) {
            fprintf(stderr, "lattice %s: '%s' is not a frame range (a-b, 0 <= a <= b)\n", cmd,
                    args->frames);
            return false;
        }
        req->has_frames = true;
    }
    req->artifacts = args->artifacts;
    req->allow_past_end = args->allow_past_end;
    req->preset = args->preset;
    req->fps = args->fps;
    req->has_seed = args->has_seed;
    req->seed = args->seed;
    req->video = args->video;
    lx_error_t err = {0};
    if (lx_export_request_check(req, &err) != LX_OK) {
        fprintf(stderr, "lattice %s: %s\n", cmd, err.message);
        return false;
    }
    return true;
}

int cli_export_request(const cli_export_args_t *args, const char *cmd, cli_export_request_t *out)
{
    memset(out, 0, sizeof *out);
    lx_export_request_t r = LX_EXPORT_REQUEST_INIT;
    out->req = r;
    if (!cli_export_flags(cmd, args, &out->req))
        return CLI_USAGE;
    size_t len = 0;
    if (args->patch_text) {
        len = strlen(args->patch_text);
        out->patch_text = malloc(len + 1);
        if (out->patch_text)
            memcpy(out->patch_text, args->patch_text, len + 1);
    } else {
        out->patch_text = cli_read_file(args->patch_path, LX_PATCH_MAX_BYTES, &len);
    }
    if (!out->patch_text)
        return CLI_USAGE;
    out->req.patch = out->patch_text;
    out->req.patch_len = len;
    out->req.patch_name = args->patch_name ? args->patch_name : args->patch_path;
    cli_dir_of(args->patch_path, out->base_dir, sizeof out->base_dir);
    out->req.base_dir = out->base_dir;
    if (args->config_path) {
        out->config_text = cli_read_file(args->config_path, 1 << 20, &len);
        if (!out->config_text) {
            cli_export_request_release(out);
            return CLI_USAGE;
        }
        out->req.config = out->config_text;
        out->req.config_len = len;
        out->req.config_name = args->config_path;
    }
    out->wire_config = cli_export_wire_config(args, out->config_text, out->req.config_len);
    lx_strbuf_t report;
    lx_strbuf_init(&report, NULL);
    lx_error_t err = {0};
    lx_result_t rc = lx_export_prepare(&out->req, NULL, &out->program, &out->plan, &report, &err);
    fputs(report.buf, stderr);
    lx_strbuf_release(&report);
    if (rc == LX_OK) {
        out->first = out->plan.first;
        out->last = out->plan.last;
        snprintf(out->project, sizeof out->project, "%s", out->program->patch_id);
        return CLI_OK;
    }
    if (rc != LX_E_DIAG)
        fprintf(stderr, "lattice %s: %s\n", cmd, err.message);
    cli_export_request_release(out);
    return rc == LX_E_DIAG ? CLI_FAILED : CLI_USAGE;
}

void cli_export_request_release(cli_export_request_t *r)
{
    free(r->patch_text);
    free(r->config_text);
    cJSON_free(r->wire_config);
    r->patch_text = r->config_text = r->wire_config = NULL;
    lx_program_destroy(&r->program);
}

int cli_check_memory(const char *cmd, const lx_program_t *p, const lx_export_plan_t *plan,
                     uint32_t threads, uint32_t workers, bool warn_only)
{
    lx_export_memory_t m;
    lx_error_t err = {0};
    if (lx_export_memory_estimate(p, plan, threads, &m, &err) != LX_OK)
        return CLI_OK; /* the export itself reports what is wrong with the program */
    size_t len = 0;
    char *info = lx_read_file("/proc/meminfo", 1 << 20, &len, lx_alloc_default());
    char why[512];
    bool fits = lx_export_memory_fits(&m, plan, threads, workers, info, len,
                                      getenv("LATTICE_MEMORY_LIMIT"), why, sizeof why);
    lx_free(lx_alloc_default(), info);
    if (fits)
        return CLI_OK;
    fprintf(stderr, "lattice %s: %s%s\n", cmd, warn_only ? "warning: " : "", why);
    return warn_only ? CLI_OK : CLI_FAILED;
}

bool cli_absolute(const char *path, char *out, size_t size)
{
    char cwd[LX_PATH_MAX], joined[LX_PATH_MAX];
    const char *abs = path;
    if (path[0] != '/')
        abs = getcwd(cwd, sizeof cwd) && lx_path_join(joined, cwd, path) ? joined : NULL;
    if (!abs || strlen(abs) >= size) {
        fprintf(stderr, "lattice: cannot make '%s' an absolute path\n", path);
        return false;
    }
    memcpy(out, abs, strlen(abs) + 1);
    return true;
}

bool cli_count(const char *cmd, const char *flag, const char *value, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "lattice %s: %s takes %ld to %ld\n", cmd, flag, lo, hi);
        return false;
    }
    *out = v;
    return true;
}
