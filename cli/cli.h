/* Shared pieces of the `lattice` command-line tool. */
#ifndef LATTICE_CLI_H
#define LATTICE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lattice/ir.h"

/* Exit codes every command uses. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command_t;

int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_blocks(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify(int argc, char **argv);

/* "a-b" or "a" (0 <= a <= b) into an inclusive range; false when malformed. */
bool cli_parse_frames(const char *s, int64_t *a, int64_t *b);

/* Reads a whole file (at most max bytes) into a malloc'd NUL-terminated
 * buffer; prints "lattice: cannot read 'path': reason" and returns NULL on
 * failure. */
char *cli_read_file(const char *path, size_t max, size_t *len);
/* Writes data to path atomically (temporary file in the same directory,
 * then rename). Prints the reason and returns false on failure. */
bool cli_write_file(const char *path, const char *data, size_t len);
/* True when arg is -h or --help. */
bool cli_is_help(const char *arg);

typedef void (*cli_help_fn)(FILE *out);

/* An argument no option of command `cmd` claimed: the patch path when
 * *path is still NULL. Anything else (an unknown option, a second patch)
 * is reported on stderr, with the help for unknown options; returns false
 * then, and the command exits with CLI_USAGE. */
bool cli_take_patch(const char *cmd, const char *arg, const char **path, cli_help_fn help);

/* Reads and compiles a patch, printing its diagnostics to `out` (text, or
 * the JSON list when json; the text summary line only when there is
 * something to say or `summary` asks for it). On success *program is set
 * when program is not NULL. Returns CLI_OK (no errors; warnings allowed), CLI_FAILED
 * (errors) or CLI_USAGE (unreadable file, out of memory). */
int cli_compile_file(const char *path, bool json, bool summary, FILE *out,
                     lx_program_t **program);

#endif
