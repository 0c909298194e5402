/* Dataset sweeps (`--seeds a-b`, `--variants FILE` on export and submit):
 * one export per variant and seed, each in its own directory under OUT
 * with its own metadata.json, and OUT/index.json listing them.
 *
 * A variant is a set of overrides of the patch, given in a JSON file as
 * [{"name"?: ID, "inputs"?: {"block.port": literal}, "params"?:
 * {"block.param": value}}, ...]: each changes the program, so each is
 * compiled once. Seeds do not: a seed is an export setting ("seed"), so
 * every seed of a variant runs the same program (one compile, one entry
 * in a coordinator's program store). Without --variants there is one
 * variant, the patch as it is; without --seeds one seed (the patch's, or
 * --seed's).
 *
 * Directory names: seed-S, NAME, or NAME-seed-S; NAME is the variant's
 * "name" or vNN (its index, padded to the variants' count). Every
 * directory of a sweep differs from the others (checked when it loads). */
#ifndef LATTICE_CLI_SWEEP_H
#define LATTICE_CLI_SWEEP_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

/* Most exports a sweep makes. */
#define CLI_SWEEP_MAX 100000
/* Longest directory name of one export of a sweep, with its NUL. */
#define CLI_SWEEP_DIR_MAX 96

typedef struct cli_sweep {
    const char *seeds;    /* --seeds a-b, or NULL */
    const char *variants; /* --variants FILE, or NULL */
    int64_t seed_first, seed_last;
    cJSON *file;         /* the variants file, parsed; NULL without one */
    const cJSON **items; /* its variants in order (n_variants), into file */
    uint32_t n_variants; /* 1 without a file */
    cJSON *index;        /* index.json's "exports", built as they finish */
} cli_sweep_t;

/* The options' lines for --help. */
extern const char cli_sweep_help[];

/* Takes argv[*i] (and its value) when it is --seeds or --variants: 1
 * taken, 0 not one of them. */
int cli_sweep_opt(int argc, char **argv, int *i, cli_sweep_t *sw);

static inline bool cli_sweep_on(const cli_sweep_t *sw) { return sw->seeds || sw->variants; }

/* Whether the sweep goes with the other options cmd was given (no
 * --shard, not --seed with --seeds); the problem on stderr when not. */
bool cli_sweep_args_ok(const char *cmd, const cli_sweep_t *sw, const char *shard_spec,
                       const cli_export_args_t *args);

/* Checks the seeds and reads the variants file; false with the problem on
 * stderr (for cmd). */
bool cli_sweep_load(const char *cmd, cli_sweep_t *sw);
/* Frees what cli_sweep_load and cli_sweep_record made; sw stays valid. */
void cli_sweep_release(cli_sweep_t *sw);

/* The seeds per variant (1 without --seeds). */
int64_t cli_sweep_seeds(const cli_sweep_t *sw);

/* Variant v's patch: base (JSON text) with its overrides, malloc'd (the
 * caller frees it); NULL with the problem on stderr (a block the patch
 * does not have, ...). Without a variants file, a copy of base. */
char *cli_sweep_patch(const char *cmd, const cli_sweep_t *sw, uint32_t v, const char *base);

/* cli_sweep_load, then cli_sweep_requests: the sweep's requests, or NULL
 * with *rc the status (the sweep released). */
cli_export_request_t *cli_sweep_start(const char *cmd, cli_sweep_t *sw,
                                      const cli_export_args_t *args, int *rc);

/* Every variant compiled and planned (with the first seed) from args, so
 * a bad variant stops the sweep before anything renders: an array of
 * sw->n_variants requests the caller releases with
 * cli_sweep_requests_release, or NULL with *rc the first failure's status
 * (diagnostics on stderr). */
cli_export_request_t *cli_sweep_requests(const char *cmd, const cli_sweep_t *sw,
                                         const cli_export_args_t *args, int *rc);
/* Releases every request of reqs and the array; NULLs *reqs_p. */
void cli_sweep_requests_release(const cli_sweep_t *sw, cli_export_request_t **reqs_p);

/* r's plan for seed k of the sweep's seeds (r's own without --seeds): one
 * compile serves every seed. false with the problem on stderr. */
bool cli_sweep_plan(const char *cmd, const cli_sweep_t *sw, const cli_export_request_t *r,
                    int64_t k, lx_export_plan_t *plan);

/* The directory (under OUT) of variant v with seed k of the sweep's seeds
 * (k = 0 without --seeds); at most CLI_SWEEP_DIR_MAX bytes. */
void cli_sweep_dir(const cli_sweep_t *sw, uint32_t v, int64_t k, char dir[CLI_SWEEP_DIR_MAX]);

/* Lists an export of variant v in the index: its directory, seed, program
 * and config hashes (hex) and frame range, as its metadata.json says. */
void cli_sweep_record(cli_sweep_t *sw, uint32_t v, const char *dir, uint32_t seed,
                      const char *program_hash, const char *config_hash, int64_t first,
                      int64_t last);

/* Lists the export of variant v in directory dir (under OUT), read at
 * path, as its metadata.json says (its range and config joined with what
 * the directory held). false, listing nothing, when that cannot be read
 * (err says why). */
bool cli_sweep_record_export(cli_sweep_t *sw, uint32_t v, const char *dir, const char *path,
                             lx_error_t *err);

/* Writes OUT/index.json: {"version": 1, "complete", "exports": [...]};
 * false with the problem on stderr. */
bool cli_sweep_write_index(const char *cmd, const cli_sweep_t *sw, const char *out, bool complete);

#endif
