/* lattice check PATCH [--json]: every diagnostic, like a compiler. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice check PATCH [--json]\n\n"
                 "Loads, normalizes and type-checks PATCH and prints every problem found,\n"
                 "one per entry: FILE: LOCATION: error[CODE]: message, with a help line\n"
                 "where there is a likely fix.\n\n"
                 "  --json    print the diagnostics as a JSON array instead\n\n"
                 "Exit status: 0 no errors (warnings allowed), 1 errors found,\n"
                 "2 the file could not be read or the command line is wrong.\n");
}

int cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (!cli_take_patch("check", argv[i], &path, s_help)) {
            return CLI_USAGE;
        }
    }
    if (!path) {
        s_help(stderr);
        return CLI_USAGE;
    }
    return cli_compile_file(path, json, true, stdout, NULL);
}
