/* Shards on the command line: `lattice export --shard SPEC` resolves its
 * slice of the export's frames and records the command that redoes it;
 * `lattice assemble` prints that command for a shard that is missing
 * (docs/export-format.md, "Shards"). */
#ifndef LATTICE_CLI_SHARD_H
#define LATTICE_CLI_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "lattice/strbuf.h"

typedef struct cli_shard {
    int64_t first, last; /* its frames (last < first: empty) */
    char spec[48];       /* "i/N" or "a-b": --shard with auto resolved */
    bool empty;          /* i/N of fewer than N frames: nothing to render */
    bool whole;          /* every frame of the export: an ordinary export */
} cli_shard_t;

/* --shard SPEC of an export of frames [first, last]: "i/N" (slice i of N,
 * contiguous, sizes within one frame of each other), "a-b" or "a" (these
 * frames), "auto" (i/N from JOB_COMPLETION_INDEX and LATTICE_SHARD_COUNT;
 * from SLURM_ARRAY_TASK_ID and LATTICE_SHARD_COUNT; or from a contiguous
 * Slurm array's SLURM_ARRAY_TASK_ID, _MIN, _MAX and _COUNT). False, said on stderr, when SPEC or
 * the environment is wrong. */
bool cli_shard_resolve(const char *cmd, const char *spec, int64_t first, int64_t last,
                       cli_shard_t *s);

/* Writes OUT/.lattice/shards/a-b/command.json: the working directory and
 * argv, --shard's value resolved. False (said) when it cannot. */
bool cli_shard_record(const char *out, const cli_shard_t *s, int argc, char **argv);

/* The shell command a command.json records ("cd DIR && lattice export
 * ..."), --shard's value replaced by spec when spec is not NULL; appended
 * to out. False when the text is not a command record. */
bool cli_shard_command(const char *command_json, const char *spec, lx_strbuf_t *out);

/* The --shard value a command.json records ("2/4", "10-19") into spec:
 * false when it records none, or one that is neither digits, '/' nor '-'
 * or does not fit. */
bool cli_shard_recorded_spec(const char *command_json, char *spec, size_t size);

#endif
