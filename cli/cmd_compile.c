/* lattice compile PATCH [-o FILE] [--json]: the program as readable JSON. */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "lattice/strbuf.h"

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice compile PATCH [-o FILE] [--json]\n\n"
                 "Compiles PATCH into its program (CompiledProgramIR) and writes it as\n"
                 "readable JSON to FILE, or to standard output without -o or with -o -.\n"
                 "A regular FILE is replaced atomically (a temporary file, then a rename);\n"
                 "a device or FIFO (/dev/null, a named pipe) is written in place; a\n"
                 "directory is refused. Prints the program hash and the state horizon\n"
                 "(on standard error when the program goes to standard output).\n"
                 "Diagnostics go to standard error.\n\n"
                 "  -o, --output FILE   where to write the program JSON\n"
                 "  --json              print one JSON object on standard output instead:\n"
                 "                      ok, programHash, patchId, timeModel, stateHorizon\n"
                 "                      (frames, or \"unbounded\"), output (FILE, or null\n"
                 "                      and the program under \"program\"), diagnostics\n\n"
                 "Exit status: 0 compiled, 1 the patch has errors, 2 usage or I/O problem.\n");
}

/* --json: the compile as one JSON object on stdout. */
static int s_compile_json(const char *path, const char *out)
{
    cJSON *report = cJSON_CreateObject(), *holder = cJSON_CreateObject();
    lx_program_t *p = NULL;
    int rc = report && holder ? cli_compile_file_report(path, holder, &p) : CLI_USAGE;
    cJSON *diags = cJSON_DetachItemFromObject(holder, "diagnostics");
    cJSON_Delete(holder);
    if (!diags) { /* unreadable, or out of memory: said on stderr */
        cJSON_Delete(report);
        lx_program_destroy(&p);
        return rc;
    }
    cJSON *ir = NULL;
    char hex[65] = "";
    if (rc == CLI_OK) {
        p->compiled_at = (int64_t)time(NULL);
        lx_hex(p->program_hash.bytes, 32, hex);
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        if (lx_ir_to_json(p, &sb) != LX_OK || !(ir = cJSON_Parse(sb.buf))) {
            fprintf(stderr, "lattice compile: out of memory\n");
            rc = CLI_USAGE;
        } else if (out && !cli_write_file(out, sb.buf, sb.len)) {
            rc = CLI_USAGE;
        }
        lx_strbuf_release(&sb);
    }
    cJSON_AddStringToObject(report, "patch", path);
    cJSON_AddBoolToObject(report, "ok", rc == CLI_OK);
    if (rc == CLI_OK) {
        cJSON_AddStringToObject(report, "programHash", hex);
        cJSON_AddStringToObject(report, "patchId", p->patch_id);
        cJSON *tm = cJSON_Duplicate(cJSON_GetObjectItem(ir, "timeModel"), true);
        cJSON_AddItemToObject(report, "timeModel", tm ? tm : cJSON_CreateNull());
        if (p->state_horizon == LX_HORIZON_UNBOUNDED)
            cJSON_AddStringToObject(report, "stateHorizon", "unbounded");
        else
            cJSON_AddNumberToObject(report, "stateHorizon", p->state_horizon);
        if (out)
            cJSON_AddStringToObject(report, "output", out);
        else
            cJSON_AddNullToObject(report, "output");
    }
    cJSON_AddItemToObject(report, "diagnostics", diags);
    if (rc == CLI_OK && !out) {
        cJSON_AddItemToObject(report, "program", ir);
        ir = NULL;
    }
    cJSON_Delete(ir);
    cli_print_json(&report);
    lx_program_destroy(&p);
    return rc;
}

/* Whether out is standard output ("-", /dev/stdout, or the file or pipe
 * fd 1 is): the summary must not be mixed into the program JSON. */
static bool s_is_stdout(const char *out)
{
    struct stat a, b;
    return strcmp(out, "-") == 0 || (stat(out, &a) == 0 && fstat(1, &b) == 0 &&
                                     a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

int cmd_compile(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (++i >= argc) {
                fprintf(stderr, "lattice compile: %s needs a file name\n", argv[i - 1]);
                return CLI_USAGE;
            }
            out = argv[i];
        } else if (!cli_take_patch("compile", argv[i], &path, s_help)) {
            return CLI_USAGE;
        }
    }
    if (!path) {
        s_help(stderr);
        return CLI_USAGE;
    }
    if (json)
        return s_compile_json(path, out);
    lx_program_t *p = NULL;
    int rc = cli_compile_file(path, false, false, stderr, &p);
    if (rc != CLI_OK)
        return rc;
    p->compiled_at = (int64_t)time(NULL);
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    if (lx_ir_to_json(p, &sb) != LX_OK) {
        fprintf(stderr, "lattice compile: out of memory\n");
        rc = CLI_USAGE;
    } else if (out) {
        rc = cli_write_file(out, sb.buf, sb.len) ? CLI_OK : CLI_USAGE;
    } else {
        fputs(sb.buf, stdout);
    }
    if (rc == CLI_OK) {
        char hex[65];
        lx_hex(p->program_hash.bytes, 32, hex);
        FILE *info = out && !s_is_stdout(out) ? stdout : stderr;
        if (out && strcmp(out, "-") != 0)
            fprintf(info, "wrote %s\n", out);
        fprintf(info, "program hash: %s\n", hex);
        if (p->state_horizon == LX_HORIZON_UNBOUNDED)
            fprintf(info, "state horizon: unbounded (warm-up from the timeline start)\n");
        else
            fprintf(info, "state horizon: %u frame%s\n", p->state_horizon,
                    p->state_horizon == 1 ? "" : "s");
    }
    lx_strbuf_release(&sb);
    lx_program_destroy(&p);
    return rc;
}
