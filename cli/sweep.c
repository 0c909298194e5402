#include "sweep.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/names.h"
#include "lattice/patch.h"

const char cli_sweep_help[] =
    "  --seeds a-b          a dataset sweep: one export per seed, each in\n"
    "                       OUT/seed-N with its own metadata.json, all listed in\n"
    "                       OUT/index.json; one compile serves every seed\n"
    "  --variants FILE      a sweep over variants of the patch: a JSON list of\n"
    "                       {\"name\", \"inputs\": {\"block.port\": value},\n"
    "                       \"params\": {\"block.param\": value}}; with --seeds,\n"
    "                       every seed of every variant (OUT/NAME-seed-N)\n";

int cli_sweep_opt(int argc, char **argv, int *i, cli_sweep_t *sw)
{
    if (*i + 1 >= argc)
        return 0;
    if (strcmp(argv[*i], "--seeds") == 0)
        sw->seeds = argv[++*i];
    else if (strcmp(argv[*i], "--variants") == 0)
        sw->variants = argv[++*i];
    else
        return 0;
    return 1;
}

/* What a variant may say: its name and the overrides. */
static bool s_variant_ok(const char *cmd, const char *file, int k, const cJSON *v)
{
    if (!cJSON_IsObject(v)) {
        fprintf(stderr, "lattice %s: %s: /%d: a variant is an object {name, inputs, params}\n", cmd,
                file, k);
        return false;
    }
    for (const cJSON *f = v->child; f; f = f->next) {
        bool name = strcmp(f->string, "name") == 0;
        bool set = strcmp(f->string, "inputs") == 0 || strcmp(f->string, "params") == 0;
        if (!name && !set) {
            fprintf(stderr, "lattice %s: %s: /%d: unknown key '%s' (name, inputs, params)\n", cmd,
                    file, k, f->string);
            return false;
        }
        if (name && !(cJSON_IsString(f) && lx_name_id_valid(f->valuestring))) {
            fprintf(stderr,
                    "lattice %s: %s: /%d/name: a name is 1 to 64 of A-Z a-z 0-9 _ - (it names "
                    "the export's directory)\n",
                    cmd, file, k);
            return false;
        }
        for (const cJSON *o = set && cJSON_IsObject(f) ? f->child : NULL; o; o = o->next)
            if (!strchr(o->string, '.')) {
                fprintf(stderr, "lattice %s: %s: /%d/%s: '%s' is not block.%s\n", cmd, file, k,
                        f->string, o->string, strcmp(f->string, "inputs") == 0 ? "port" : "param");
                return false;
            }
        if (set && !cJSON_IsObject(f)) {
            fprintf(stderr, "lattice %s: %s: /%d/%s: an object {\"block.name\": value}\n", cmd,
                    file, k, f->string);
            return false;
        }
    }
    return true;
}

bool cli_sweep_args_ok(const char *cmd, const cli_sweep_t *sw, const char *shard_spec,
                       const cli_export_args_t *args)
{
    if (!cli_sweep_on(sw))
        return true;
    if (shard_spec)
        fprintf(stderr,
                "lattice %s: --shard cannot go with --seeds or --variants (shard one "
                "export of the sweep, in its directory, instead)\n",
                cmd);
    else if (args->has_seed && sw->seeds)
        fprintf(stderr, "lattice %s: --seed and --seeds both given: keep one\n", cmd);
    return !shard_spec && !(args->has_seed && sw->seeds);
}

/* Variant v's name: its "name", or vNN; "" without a variants file. */
static void s_variant_name(const cli_sweep_t *sw, uint32_t v, char *name, size_t size)
{
    const cJSON *var = sw->items ? sw->items[v] : NULL;
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(var, "name");
    int width = snprintf(NULL, 0, "%u", sw->n_variants - 1);
    if (cJSON_IsString(given))
        snprintf(name, size, "%s", given->valuestring);
    else if (var)
        snprintf(name, size, "v%0*u", width < 2 ? 2 : width, v);
    else
        snprintf(name, size, "%s", "");
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether the variants' names (and so the directories) are all different:
 * sorted, neighbours compared. */
static bool s_names_unique(const char *cmd, const cli_sweep_t *sw)
{
    char(*names)[80] = malloc((size_t)sw->n_variants * sizeof *names);
    const char **by = malloc((size_t)sw->n_variants * sizeof *by);
    bool ok = names && by;
    if (!ok)
        fprintf(stderr, "lattice %s: out of memory for %u variants\n", cmd, sw->n_variants);
    for (uint32_t v = 0; ok && v < sw->n_variants; v++) {
        s_variant_name(sw, v, names[v], sizeof names[v]);
        by[v] = names[v];
    }
    if (ok)
        qsort(by, sw->n_variants, sizeof *by, s_by_name);
    for (uint32_t v = 1; ok && v < sw->n_variants; v++)
        if (strcmp(by[v - 1], by[v]) == 0) {
            fprintf(stderr,
                    "lattice %s: %s: two variants are named '%s' (vNN names the ones "
                    "without a name): one directory cannot hold both\n",
                    cmd, sw->variants, by[v]);
            ok = false;
        }
    free(names);
    free(by);
    return ok;
}

bool cli_sweep_load(const char *cmd, cli_sweep_t *sw)
{
    sw->n_variants = 1;
    sw->index = cJSON_CreateArray();
    if (!sw->index) {
        fprintf(stderr, "lattice %s: out of memory\n", cmd);
        return false;
    }
    if (sw->seeds && (!cli_parse_frames(sw->seeds, &sw->seed_first, &sw->seed_last) ||
                      sw->seed_last > UINT32_MAX)) {
        fprintf(stderr, "lattice %s: --seeds '%s' is not a range a-b, 0 <= a <= b <= 4294967295\n",
                cmd, sw->seeds);
        return false;
    }
    if (!sw->variants)
        return true;
    size_t len = 0;
    char *text = cli_read_file(sw->variants, 1 << 24, &len);
    if (!text)
        return false;
    sw->file = cJSON_ParseWithLength(text, len);
    free(text);
    int n = cJSON_GetArraySize(sw->file);
    if (!cJSON_IsArray(sw->file) || n < 1) {
        fprintf(stderr, "lattice %s: %s is not a JSON array of variants (at least one)\n", cmd,
                sw->variants);
        return false;
    }
    /* The count first: every later step is linear in it (or n log n). */
    if ((uint64_t)n * (uint64_t)cli_sweep_seeds(sw) > CLI_SWEEP_MAX) {
        fprintf(stderr, "lattice %s: %d variants x %" PRId64 " seeds are more than %d exports\n",
                cmd, n, cli_sweep_seeds(sw), CLI_SWEEP_MAX);
        return false;
    }
    sw->n_variants = (uint32_t)n;
    sw->items = malloc((size_t)n * sizeof *sw->items);
    if (!sw->items) {
        fprintf(stderr, "lattice %s: out of memory for %d variants\n", cmd, n);
        return false;
    }
    int k = 0;
    for (const cJSON *v = sw->file->child; v; v = v->next, k++) {
        if (!s_variant_ok(cmd, sw->variants, k, v))
            return false;
        sw->items[k] = v;
    }
    return s_names_unique(cmd, sw);
}

void cli_sweep_release(cli_sweep_t *sw)
{
    cJSON_Delete(sw->file);
    cJSON_Delete(sw->index);
    free(sw->items);
    sw->file = sw->index = NULL;
    sw->items = NULL;
}

int64_t cli_sweep_seeds(const cli_sweep_t *sw)
{
    return sw->seeds ? sw->seed_last - sw->seed_first + 1 : 1;
}

/* Sets block.key (key "block.name") of the patch's blocks under field
 * ("inputs" or "params") to a copy of value. */
static bool s_override(const char *cmd, cJSON *blocks, const char *field, const char *key,
                       const cJSON *value, const char *where)
{
    const char *dot = strchr(key, '.');
    size_t n = (size_t)(dot - key);
    cJSON *block = NULL;
    for (cJSON *b = cJSON_IsArray(blocks) ? blocks->child : NULL; b && !block; b = b->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(b, "id");
        if (cJSON_IsString(id) && strlen(id->valuestring) == n &&
            strncmp(id->valuestring, key, n) == 0)
            block = b;
    }
    if (!block) {
        fprintf(stderr, "lattice %s: %s/%s: the patch has no block '%.*s'\n", cmd, where, key,
                (int)n, key);
        return false;
    }
    cJSON *set = cJSON_GetObjectItemCaseSensitive(block, field);
    if (!set)
        set = cJSON_AddObjectToObject(block, field);
    cJSON *copy = cJSON_Duplicate(value, true);
    if (!cJSON_IsObject(set) || !copy) {
        cJSON_Delete(copy);
        fprintf(stderr, "lattice %s: %s/%s: block '%.*s' has no %s object to set\n", cmd, where,
                key, (int)n, key, field);
        return false;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(set, dot + 1);
    if (!cJSON_AddItemToObject(set, dot + 1, copy)) {
        cJSON_Delete(copy);
        fprintf(stderr, "lattice %s: out of memory\n", cmd);
        return false;
    }
    return true;
}

char *cli_sweep_patch(const char *cmd, const cli_sweep_t *sw, uint32_t v, const char *base)
{
    cJSON *patch = cJSON_Parse(base);
    const cJSON *var = sw->items ? sw->items[v] : NULL;
    bool ok = patch != NULL;
    if (!ok)
        fprintf(stderr, "lattice %s: the patch is not JSON\n", cmd);
    static const char *const fields[] = {"inputs", "params"};
    for (int f = 0; ok && var && f < 2; f++) {
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(var, fields[f]);
        char where[512];
        snprintf(where, sizeof where, "%s: /%u/%s", sw->variants, v, fields[f]);
        for (const cJSON *o = set ? set->child : NULL; ok && o; o = o->next)
            ok = s_override(cmd, cJSON_GetObjectItemCaseSensitive(patch, "blocks"), fields[f],
                            o->string, o, where);
    }
    char *text = ok ? cJSON_Print(patch) : NULL;
    cJSON_Delete(patch);
    return text;
}

cli_export_request_t *cli_sweep_requests(const char *cmd, const cli_sweep_t *sw,
                                         const cli_export_args_t *args, int *rc)
{
    cli_export_request_t *reqs = calloc(sw->n_variants, sizeof *reqs);
    size_t len = 0;
    char *base = reqs ? cli_read_file(args->patch_path, LX_PATCH_MAX_BYTES, &len) : NULL;
    *rc = base ? CLI_OK : CLI_USAGE;
    if (!reqs)
        fprintf(stderr, "lattice %s: out of memory for %u variants\n", cmd, sw->n_variants);
    uint32_t made = 0;
    for (uint32_t v = 0; *rc == CLI_OK && v < sw->n_variants; v++) {
        cli_export_args_t a = *args;
        a.patch_text = cli_sweep_patch(cmd, sw, v, base);
        /* The first seed of --seeds; else --seed's, or the patch's. */
        if (sw->seeds) {
            a.has_seed = true;
            a.seed = (uint32_t)sw->seed_first;
        }
        char var[80], name[600];
        s_variant_name(sw, v, var, sizeof var);
        if (sw->file) {
            snprintf(name, sizeof name, "%s (variant %s)", args->patch_path, var);
            a.patch_name = name;
        }
        *rc = a.patch_text ? cli_export_request(&a, cmd, &reqs[v]) : CLI_USAGE;
        free((char *)a.patch_text);
        /* The request's name was borrowed from this frame. */
        reqs[v].req.patch_name = NULL;
        made += *rc == CLI_OK;
    }
    free(base);
    if (*rc != CLI_OK) {
        for (uint32_t v = 0; reqs && v < made; v++)
            cli_export_request_release(&reqs[v]);
        free(reqs);
        return NULL;
    }
    return reqs;
}

cli_export_request_t *cli_sweep_start(const char *cmd, cli_sweep_t *sw,
                                      const cli_export_args_t *args, int *rc)
{
    *rc = CLI_USAGE;
    cli_export_request_t *reqs =
        cli_sweep_load(cmd, sw) ? cli_sweep_requests(cmd, sw, args, rc) : NULL;
    if (!reqs)
        cli_sweep_release(sw);
    return reqs;
}

void cli_sweep_requests_release(const cli_sweep_t *sw, cli_export_request_t **reqs_p)
{
    for (uint32_t v = 0; *reqs_p && v < sw->n_variants; v++)
        cli_export_request_release(&(*reqs_p)[v]);
    free(*reqs_p);
    *reqs_p = NULL;
}

bool cli_sweep_plan(const char *cmd, const cli_sweep_t *sw, const cli_export_request_t *r,
                    int64_t k, lx_export_plan_t *plan)
{
    if (!sw->seeds) {
        *plan = r->plan;
        return true;
    }
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_result_t rc =
        lx_export_plan_reseed(r->program, &r->plan, (uint32_t)(sw->seed_first + k), plan, &d);
    if (rc != LX_OK) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        lx_diags_format_text(&d, cmd, &sb);
        fputs(sb.buf, stderr);
        lx_strbuf_release(&sb);
    }
    lx_diags_release(&d);
    return rc == LX_OK;
}

void cli_sweep_dir(const cli_sweep_t *sw, uint32_t v, int64_t k, char dir[CLI_SWEEP_DIR_MAX])
{
    char name[80];
    s_variant_name(sw, v, name, sizeof name);
    /* Seeds unpadded: a directory keeps its name when the range grows. */
    if (!sw->seeds)
        snprintf(dir, CLI_SWEEP_DIR_MAX, "%s", name);
    else
        snprintf(dir, CLI_SWEEP_DIR_MAX, "%s%sseed-%" PRId64, name, name[0] ? "-" : "",
                 sw->seed_first + k);
}

void cli_sweep_record(cli_sweep_t *sw, uint32_t v, const char *dir, uint32_t seed,
                      const char *program_hash, const char *config_hash, int64_t first,
                      int64_t last)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "dir", dir);
    const cJSON *var = sw->items ? sw->items[v] : NULL;
    if (var) {
        char name[80];
        s_variant_name(sw, v, name, sizeof name);
        cJSON_AddNumberToObject(e, "variant", v);
        cJSON_AddStringToObject(e, "variantName", name);
        static const char *const fields[] = {"inputs", "params"};
        for (int f = 0; f < 2; f++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(var, fields[f]);
            if (x)
                cJSON_AddItemToObject(e, fields[f], cJSON_Duplicate(x, true));
        }
    }
    cJSON_AddNumberToObject(e, "seed", seed);
    cJSON_AddStringToObject(e, "programHash", program_hash);
    cJSON_AddStringToObject(e, "configHash", config_hash);
    cJSON *fr = cJSON_AddArrayToObject(e, "frameRange");
    cJSON_AddItemToArray(fr, cJSON_CreateNumber((double)first));
    cJSON_AddItemToArray(fr, cJSON_CreateNumber((double)last));
    char meta[600];
    snprintf(meta, sizeof meta, "%s/metadata.json", dir);
    cJSON_AddStringToObject(e, "metadata", meta);
    cJSON_AddItemToArray(sw->index, e);
}

bool cli_sweep_record_export(cli_sweep_t *sw, uint32_t v, const char *dir, const char *path,
                             lx_error_t *err)
{
    cJSON *m = lx_manifest_read(path, err);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(m, "frameRange");
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(m, "programHash");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(m, "configHash");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(m, "seed");
    bool ok = cJSON_GetArraySize(fr) == 2 && cJSON_IsString(ph) && cJSON_IsString(ch) &&
              cJSON_IsNumber(seed);
    if (ok)
        cli_sweep_record(sw, v, dir, (uint32_t)seed->valuedouble, ph->valuestring, ch->valuestring,
                         (int64_t)cJSON_GetArrayItem(fr, 0)->valuedouble,
                         (int64_t)cJSON_GetArrayItem(fr, 1)->valuedouble);
    else if (m)
        lx_fail(err, LX_E_PARSE, "%s/metadata.json lacks its range, hashes or seed", path);
    cJSON_Delete(m);
    return ok;
}

bool cli_sweep_write_index(const char *cmd, const cli_sweep_t *sw, const char *out, bool complete)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddBoolToObject(root, "complete", complete);
    cJSON_AddItemReferenceToObject(root, "exports", sw->index);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    lx_error_t err = {0};
    size_t len = text ? strlen(text) : 0;
    if (text)
        text[len] = '\n'; /* the NUL's place, for the write */
    bool ok = text && lx_write_atomic(out, "index.json", text, len + 1, &err) == LX_OK;
    if (!ok)
        fprintf(stderr, "lattice %s: cannot write %s/index.json: %s\n", cmd, out,
                err.message[0] ? err.message : "out of memory");
    cJSON_free(text);
    return ok;
}
