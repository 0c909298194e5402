/* lattice compile PATCH [-o FILE]: the program as readable JSON. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "lattice/strbuf.h"

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice compile PATCH [-o FILE]\n\n"
                 "Compiles PATCH into its program (CompiledProgramIR) and writes it as\n"
                 "readable JSON to FILE, or to standard output without -o or with -o -.\n"
                 "A regular FILE is replaced atomically (a temporary file, then a rename);\n"
                 "a device or FIFO (/dev/null, a named pipe) is written in place; a\n"
                 "directory is refused. Prints the program hash and the state horizon\n"
                 "(on standard error when the program goes to standard output).\n"
                 "Diagnostics go to standard error.\n\n"
                 "  -o, --output FILE   where to write the program JSON\n\n"
                 "Exit status: 0 compiled, 1 the patch has errors, 2 usage or I/O problem.\n");
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
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_OK;
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
