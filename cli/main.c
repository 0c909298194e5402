/* lattice: the command-line tool. One subcommand per file (cmd_*.c). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lattice/diag.h"

volatile sig_atomic_t cli_interrupted = 0;

static const cli_command_t s_commands[] = {
    {"check", "report every problem in a patch", cmd_check},
    {"compile", "compile a patch and write its program as JSON", cmd_compile},
    {"export", "render every artifact of a patch into a directory", cmd_export},
    {"verify", "re-hash an export against its metadata.json", cmd_verify},
    {"assemble", "merge the shards of an export into its metadata.json", cmd_assemble},
    {"submit", "submit an export to a lattice-coordinator", cmd_submit},
    {"status", "show the jobs of a coordinator", cmd_status},
    {"watch", "follow a job's progress until it ends", cmd_watch},
    {"cancel", "cancel a job", cmd_cancel},
    {"workers", "list the workers of a coordinator", cmd_workers},
    {"rerender", "render again only the missing, mismatched or failed frames", cmd_rerender},
    {"keygen", "make a CURVE key pair for a coordinator, worker or client", cmd_keygen},
    {"eval", "print the render frames of a patch", cmd_eval},
    {"blocks", "list the block catalogue", cmd_blocks},
};
enum { N_COMMANDS = sizeof s_commands / sizeof s_commands[0] };

static void s_usage(FILE *out)
{
    fprintf(out, "usage: lattice <command> [options]\n\n"
                 "Lattice compiles procedural animation patches into deterministic\n"
                 "conditioning data for diffusion and video models.\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out, "\nRun 'lattice <command> --help' for a command's options.\n"
                 "Exit status: 0 success, 1 the input has errors, 2 usage or I/O problem.\n");
}

const char *cli_program = "lattice";

int main(int argc, char **argv)
{
    if (argc > 0 && argv[0] && argv[0][0])
        cli_program = argv[0];
    if (argc < 2) {
        s_usage(stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        s_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("lattice " LX_VERSION "\n");
        return CLI_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    const char *names[N_COMMANDS];
    for (int i = 0; i < N_COMMANDS; i++)
        names[i] = s_commands[i].name;
    const char *s = lx_suggest(argv[1], names, N_COMMANDS);
    if (s) {
        fprintf(stderr, "lattice: unknown command '%s' (did you mean '%s'?)\n", argv[1], s);
        return CLI_USAGE;
    }
    fprintf(stderr, "lattice: unknown command '%s'\n\n", argv[1]);
    s_usage(stderr);
    return CLI_USAGE;
}
