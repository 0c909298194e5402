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
 * variant, the patch as it is; without --seeds one seed, the patch's.
 *
 * Directory names: seed-S (S padded to the widest seed), NAME, or
 * NAME-seed-S; NAME is the variant's "name" or vNN (its index, padded). */
#ifndef LATTICE_CLI_SWEEP_H
#define LATTICE_CLI_SWEEP_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

/* Most exports a sweep makes. */
#define CLI_SWEEP_MAX 100000

typedef struct cli_sweep {
    const char *seeds;    /* --seeds a-b, or NULL */
    const char *variants; /* --variants FILE, or NULL */
    int64_t seed_first, seed_last;
    cJSON *file;         /* the variants file, parsed; NULL without one */
    uint32_t n_variants; /* 1 without a file */
    cJSON *index;        /* index.json's "exports", built as they finish */
} cli_sweep_t;

/* The options' lines for --help. */
extern const char cli_sweep_help[];

/* Takes argv[*i] (and its value) when it is --seeds or --variants: 1
 * taken, 0 not one of them. */
int cli_sweep_opt(int argc, char **argv, int *i, cli_sweep_t *sw);

static inline bool cli_sweep_on(const cli_sweep_t *sw) { return sw->seeds || sw->variants; }

/* Checks the seeds and reads the variants file; false with the problem on
 * stderr (for cmd). */
bool cli_sweep_load(const char *cmd, cli_sweep_t *sw);
void cli_sweep_release(cli_sweep_t *sw);

/* The seeds per variant (1 without --seeds). */
int64_t cli_sweep_seeds(const cli_sweep_t *sw);

/* Variant v's patch: base (JSON text) with its overrides, malloc'd; NULL
 * with the problem on stderr (a block the patch does not have, ...).
 * Without a variants file, a copy of base. */
char *cli_sweep_patch(const char *cmd, const cli_sweep_t *sw, uint32_t v, const char *base);

/* Compiles and plans every variant (with the first seed) from args, so a
 * bad variant stops the sweep before anything renders: (*reqs)[v] for v <
 * sw->n_variants, released with cli_sweep_requests_release. CLI_OK or the
 * first failure's status (diagnostics on stderr). */
int cli_sweep_requests(const char *cmd, const cli_sweep_t *sw, const cli_export_args_t *args,
                       cli_export_request_t **reqs);
void cli_sweep_requests_release(const cli_sweep_t *sw, cli_export_request_t **reqs);

/* r's plan for seed k of the sweep's seeds (r's own without --seeds): one
 * compile serves every seed. false with the problem on stderr. */
bool cli_sweep_plan(const char *cmd, const cli_sweep_t *sw, const cli_export_request_t *r,
                    int64_t k, lx_export_plan_t *plan);

/* The directory (under OUT) of variant v with seed k of the sweep's seeds
 * (k = 0 without --seeds), and that seed in *seed (false: the patch's). */
void cli_sweep_dir(const cli_sweep_t *sw, uint32_t v, int64_t k, char *dir, size_t size,
                   bool *has_seed, uint32_t *seed);

/* Lists an export in the index: its directory, variant, seed, program and
 * config hashes and frames. */
void cli_sweep_record(cli_sweep_t *sw, uint32_t v, const char *dir, uint32_t seed,
                      const char *program_hash, const char *config_hash, int64_t first,
                      int64_t last);

/* Writes OUT/index.json: {"version": 1, "complete", "exports": [...]};
 * false with the problem on stderr. */
bool cli_sweep_write_index(const char *cmd, const cli_sweep_t *sw, const char *out, bool complete);

#endif
