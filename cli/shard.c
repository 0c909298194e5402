/* Shards on the command line (see shard.h). */
#define _GNU_SOURCE /* getcwd */
#include "shard.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lattice/files.h"
#include "lattice/progress.h"

/* The most shards an export is cut into. */
#define SHARDS_MAX 1000000

/* A whole number in [lo, hi] from the whole of s. */
static bool s_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* i/N from an engine's environment: false (said) when it has none. */
static bool s_from_env(const char *cmd, long long *i, long long *n)
{
    const char *k8s = getenv("JOB_COMPLETION_INDEX");
    const char *slurm = getenv("SLURM_ARRAY_TASK_ID");
    if (k8s) {
        if (!s_int(k8s, 0, SHARDS_MAX - 1, i) ||
            !s_int(getenv("LATTICE_SHARD_COUNT"), *i + 1, SHARDS_MAX, n)) {
            fprintf(stderr,
                    "lattice %s: --shard auto: JOB_COMPLETION_INDEX is '%s' and "
                    "LATTICE_SHARD_COUNT is '%s'; an Indexed Job sets the index, set the count "
                    "to the Job's completions (deploy/kubernetes/shards.yaml)\n",
                    cmd, k8s, getenv("LATTICE_SHARD_COUNT") ? getenv("LATTICE_SHARD_COUNT") : "");
            return false;
        }
        return true;
    }
    if (slurm && getenv("LATTICE_SHARD_COUNT")) {
        /* A count given: the task ids are the shard numbers (a redo of one
         * task, --array=5, is still slice 5 of the count). */
        if (!s_int(getenv("LATTICE_SHARD_COUNT"), 1, SHARDS_MAX, n) ||
            !s_int(slurm, 0, *n - 1, i)) {
            fprintf(stderr,
                    "lattice %s: --shard auto: SLURM_ARRAY_TASK_ID is '%s' and "
                    "LATTICE_SHARD_COUNT is '%s'; with a count, task ids are 0 to count - 1\n",
                    cmd, slurm, getenv("LATTICE_SHARD_COUNT"));
            return false;
        }
        return true;
    }
    if (slurm) {
        long long id, lo, hi, count;
        if (!s_int(slurm, 0, INT32_MAX, &id) ||
            !s_int(getenv("SLURM_ARRAY_TASK_MIN"), 0, id, &lo) ||
            !s_int(getenv("SLURM_ARRAY_TASK_MAX"), id, INT32_MAX, &hi) ||
            !s_int(getenv("SLURM_ARRAY_TASK_COUNT"), 1, SHARDS_MAX, &count) ||
            count != hi - lo + 1) {
            fprintf(stderr,
                    "lattice %s: --shard auto: the Slurm array must be contiguous (like "
                    "--array=0-3): task %s of MIN %s, MAX %s, COUNT %s\n",
                    cmd, slurm,
                    getenv("SLURM_ARRAY_TASK_MIN") ? getenv("SLURM_ARRAY_TASK_MIN") : "?",
                    getenv("SLURM_ARRAY_TASK_MAX") ? getenv("SLURM_ARRAY_TASK_MAX") : "?",
                    getenv("SLURM_ARRAY_TASK_COUNT") ? getenv("SLURM_ARRAY_TASK_COUNT") : "?");
            return false;
        }
        *i = id - lo;
        *n = count;
        return true;
    }
    fprintf(stderr,
            "lattice %s: --shard auto: no shard index in the environment (neither "
            "JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set)\n",
            cmd);
    return false;
}

bool cli_shard_resolve(const char *cmd, const char *spec, int64_t first, int64_t last,
                       cli_shard_t *s)
{
    memset(s, 0, sizeof *s);
    long long i, n;
    const char *slash = strchr(spec, '/');
    bool indexed = strcmp(spec, "auto") == 0 || slash;
    if (strcmp(spec, "auto") == 0) {
        if (!s_from_env(cmd, &i, &n))
            return false;
    } else if (slash) {
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)(slash - spec), spec);
        if (!s_int(slash + 1, 1, SHARDS_MAX, &n) || !s_int(num, 0, n - 1, &i)) {
            fprintf(stderr,
                    "lattice %s: --shard '%s': expected i/N with 0 <= i < N <= %d, a frame "
                    "range a-b, or auto\n",
                    cmd, spec, SHARDS_MAX);
            return false;
        }
    } else if (!cli_parse_frames(spec, &s->first, &s->last)) {
        fprintf(stderr, "lattice %s: --shard '%s': expected i/N, a frame range a-b, or auto\n", cmd,
                spec);
        return false;
    } else if (s->first < first || s->last > last) {
        fprintf(stderr,
                "lattice %s: --shard %s: the export's frames are %" PRId64 "-%" PRId64
                " (--frames, else the time model's)\n",
                cmd, spec, first, last);
        return false;
    }
    if (indexed) {
        /* Slice i of n: sizes differ by at most one frame (frames < 2^40
         * and n <= 10^6 < 2^20: the products fit). */
        int64_t total = last - first + 1;
        s->first = first + total * i / n;
        s->last = first + total * (i + 1) / n - 1;
        snprintf(s->spec, sizeof s->spec, "%lld/%lld", i, n);
    } else {
        snprintf(s->spec, sizeof s->spec, "%" PRId64 "-%" PRId64, s->first, s->last);
    }
    s->empty = s->last < s->first;
    s->whole = s->first == first && s->last == last;
    return true;
}

bool cli_shard_record(const char *out, const cli_shard_t *s, int argc, char **argv)
{
    char dir[LX_PATH_MAX], book[LX_BOOK_MAX], cwd[LX_PATH_MAX];
    lx_progress_book(true, s->first, s->last, book);
    lx_error_t err = {0};
    cJSON *o = cJSON_CreateObject();
    cJSON *args = cJSON_AddArrayToObject(o, "argv");
    cJSON_AddStringToObject(o, "cwd", getcwd(cwd, sizeof cwd) ? cwd : "/");
    /* The command with its shard resolved: what redoes exactly this one.
     * argv is the subcommand's ("export" ...). */
    cJSON_AddItemToArray(args, cJSON_CreateString(cli_program));
    for (int k = 0; k < argc; k++)
        cJSON_AddItemToArray(
            args,
            cJSON_CreateString(k > 0 && strcmp(argv[k - 1], "--shard") == 0 ? s->spec : argv[k]));
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    bool ok = text && lx_path_join(dir, out, book) && lx_mkdirs(dir, &err) == LX_OK &&
              lx_write_atomic(dir, "command.json", text, strlen(text), &err) == LX_OK;
    if (!ok)
        fprintf(stderr, "lattice export: cannot record the shard's command in '%s/%s': %s\n", out,
                book, err.message[0] ? err.message : "out of memory");
    cJSON_free(text);
    return ok;
}

/* s, quoted for a POSIX shell when it needs to be. */
static void s_quoted(lx_strbuf_t *sb, const char *s)
{
    if (*s &&
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") ==
            strlen(s)) {
        lx_strbuf_adds(sb, s);
        return;
    }
    lx_strbuf_add(sb, "'", 1);
    for (; *s; s++)
        if (*s == '\'')
            lx_strbuf_adds(sb, "'\\''");
        else
            lx_strbuf_add(sb, s, 1);
    lx_strbuf_add(sb, "'", 1);
}

/* A command record's argv (every item a string, at least one) and cwd;
 * NULL when o is not a command record. */
static const cJSON *s_argv(const cJSON *o, const cJSON **cwd)
{
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "argv");
    *cwd = cJSON_GetObjectItemCaseSensitive(o, "cwd");
    bool ok = cJSON_IsString(*cwd) && cJSON_IsArray(args) && cJSON_GetArraySize(args) > 0;
    for (const cJSON *a = ok ? args->child : NULL; a; a = a->next)
        ok &= cJSON_IsString(a);
    return ok ? args : NULL;
}

/* Whether the argument after prev is the value of --shard. */
static bool s_is_shard(const cJSON *prev)
{
    return prev && strcmp(prev->valuestring, "--shard") == 0;
}

bool cli_shard_command(const char *command_json, const char *spec, lx_strbuf_t *out)
{
    cJSON *o = cJSON_Parse(command_json);
    const cJSON *cwd, *prev = NULL;
    const cJSON *args = s_argv(o, &cwd);
    if (args) {
        lx_strbuf_adds(out, "cd ");
        s_quoted(out, cwd->valuestring);
        lx_strbuf_adds(out, " &&");
        for (const cJSON *a = args->child; a; prev = a, a = a->next) {
            lx_strbuf_add(out, " ", 1);
            s_quoted(out, spec && s_is_shard(prev) ? spec : a->valuestring);
        }
    }
    cJSON_Delete(o);
    return args && !out->failed;
}

bool cli_shard_recorded_spec(const char *command_json, char *spec, size_t size)
{
    cJSON *o = cJSON_Parse(command_json);
    const cJSON *cwd, *prev = NULL;
    const cJSON *args = s_argv(o, &cwd);
    bool found = false;
    for (const cJSON *a = args ? args->child : NULL; a; prev = a, a = a->next)
        /* i/N or a-b only: the file is on shared storage, anyone's to write. */
        if (s_is_shard(prev) && a->valuestring[0] &&
            strspn(a->valuestring, "0123456789/-") == strlen(a->valuestring) &&
            strlen(a->valuestring) < size) {
            snprintf(spec, size, "%s", a->valuestring);
            found = true;
        }
    cJSON_Delete(o);
    return found;
}
