/* lattice check PATCH [--json] [export options]:
 * every diagnostic, like a compiler, including those of the export the
 * patch describes (EX-5xx), so that a patch is checked once, not again
 * when it is exported. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lattice/compile.h"
#include "lattice/patch.h"

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: lattice check PATCH [--json] [export options]\n\n"
            "Loads, normalizes and type-checks PATCH, then plans the export it\n"
            "describes (the patch's default export, or the one the options give), and\n"
            "prints every problem found, one per entry: FILE: LOCATION: error[CODE]:\n"
            "message, with a help line where there is a likely fix. Export findings\n"
            "(EX-503 inexact frames per cycle, EX-508 a loop that cannot close,\n"
            "EX-509 frames past the end, ...) are the ones `lattice export` reports;\n"
            "those of a config file are listed under its name.\n\n"
            "  --json               print the diagnostics as a JSON array instead\n"
            "%s\n"
            "A warning on standard error says when the export would not fit this\n"
            "machine's memory (`lattice export` refuses it).\n\n"
            "Exit status: 0 no errors (warnings allowed), 1 errors found,\n"
            "2 a file could not be read or the command line is wrong.\n",
            cli_export_opts_help);
}

/* Appends the JSON array of d to all. */
static void s_json_append(const lx_diags_t *d, cJSON *all)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_diags_format_json(d, &sb);
    cJSON *arr = cJSON_Parse(sb.buf);
    lx_strbuf_release(&sb);
    cJSON *item;
    while (arr && (item = cJSON_DetachItemFromArray(arr, 0)))
        cJSON_AddItemToArray(all, item);
    cJSON_Delete(arr);
}

int cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    cli_export_args_t args = {0};
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int taken;
        if (cli_is_help(a)) {
            s_help(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if ((taken = cli_export_opt("check", argc, argv, &i, &args)) != 0) {
            if (taken < 0)
                return CLI_USAGE;
        } else if (!cli_take_patch("check", a, &path, s_help)) {
            return CLI_USAGE;
        }
    }
    if (!path) {
        s_help(stderr);
        return CLI_USAGE;
    }
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_export_request_t flags = LX_EXPORT_REQUEST_INIT;
    if (!cli_export_flags("check", &args, &flags))
        return CLI_USAGE;
    const char *config_path = args.config_path;
    size_t len = 0, config_len = 0;
    char *config = config_path ? cli_read_file(config_path, 1 << 20, &config_len) : NULL;
    char *text = config_path && !config ? NULL : cli_read_file(path, LX_PATCH_MAX_BYTES, &len);
    if (!text) {
        free(config);
        return CLI_USAGE;
    }
    /* The patch's diagnostics, then the export's: in one list (one
     * summary) unless a config file has its own, listed under its name. */
    lx_diags_t diags, config_diags;
    lx_diags_init(&diags, NULL);
    lx_diags_init(&config_diags, NULL);
    lx_diags_t *ex = config ? &config_diags : &diags;
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    char dir[LX_PATH_MAX];
    cli_dir_of(path, dir, sizeof dir);
    lx_compile_config_t cc = LX_COMPILE_CONFIG_INIT;
    cc.base_dir = dir;
    lx_result_t rc = lx_compile_ex(text, len, &cc, NULL, &diags, &p, &err);
    free(text);
    lx_export_plan_t plan;
    bool planned = false;
    if (rc == LX_OK) {
        if (config)
            lx_export_config_load_json(&cfg, config, config_len, ex);
        /* Flags win over the config, as in lx_export_prepare. */
        lx_export_request_apply(&flags, &cfg);
        if (!cfg.has_frames && p->time_model.kind == LX_TIME_INFINITE) {
            /* No range to check: the settings still are, at frame 0. */
            cfg.has_frames = true;
        }
        planned = ex->n_errors == 0 && lx_export_plan(p, &cfg, &plan, ex) == LX_OK;
    }
    free(config);
    int status = CLI_OK;
    if (rc != LX_OK && rc != LX_E_DIAG) {
        fprintf(stderr, "lattice: %s: %s (%s)\n", path, err.message, lx_error_name(rc));
        status = rc == LX_E_NOMEM ? CLI_USAGE : CLI_FAILED;
    } else if (diags.n_errors || config_diags.n_errors) {
        status = CLI_FAILED;
    }
    if (json) {
        cJSON *all = cJSON_CreateArray();
        s_json_append(&diags, all);
        s_json_append(&config_diags, all);
        cli_print_json(&all);
    } else {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        if (rc == LX_OK || rc == LX_E_DIAG)
            lx_diags_format_text(&diags, path, &sb);
        if (config_diags.count || config_diags.n_errors)
            lx_diags_format_text(&config_diags, config_path, &sb);
        fputs(sb.buf, stdout);
        lx_strbuf_release(&sb);
    }
    if (planned)
        cli_check_memory("check", p, &plan, 1, 1, true);
    lx_diags_release(&diags);
    lx_diags_release(&config_diags);
    lx_program_destroy(&p);
    return status;
}
