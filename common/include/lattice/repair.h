/* Repairing an export: find the frames whose files are missing or do not
 * match metadata.json, so that exactly those are rendered again.
 *
 * The scan re-hashes the files of the frames asked about; every frame it
 * finds intact is recorded in a manifest under construction with the
 * hashes metadata.json lists and the camera and time of an evaluation
 * (cheap: nothing is rasterized). Rendering the damaged frames and
 * recording them completes the manifest, which then writes a metadata.json
 * whose deterministic part equals the original's. */
#ifndef LATTICE_REPAIR_H
#define LATTICE_REPAIR_H

#include "lattice/manifest.h"

/* Loads out_dir/metadata.json's resolved settings ("config") and plans them
 * for p. LX_E_VERIFY when p is not the program the export was made from
 * (programHash) or the settings do not resolve to its configHash;
 * LX_E_IO / LX_E_PARSE for a missing or unreadable manifest. */
lx_result_t lx_repair_plan(const lx_program_t *p, const char *out_dir, lx_export_plan_t *plan,
                           lx_error_t *err);

/* What to render again. */
enum { LX_REPAIR_MISSING = 1, LX_REPAIR_MISMATCHED = 2 };

typedef struct lx_repair_scan {
    int64_t *damaged; /* frames to render again, ascending (free with lx_free, default alloc) */
    int64_t n_damaged;
    uint64_t missing, mismatched; /* files */
    uint64_t checked;             /* files re-hashed */
} lx_repair_scan_t;

/* Checks the files of frames [first, last] (clipped to the plan) against
 * out_dir/metadata.json; frames outside the range are taken as they are.
 * A frame with a missing file (or a mismatched one) is damaged, and listed
 * when `only` has LX_REPAIR_MISSING (LX_REPAIR_MISMATCHED); every other
 * frame is recorded in m with the hashes metadata.json lists. */
lx_result_t lx_repair_scan(const lx_program_t *p, const lx_export_plan_t *plan, const char *out_dir,
                           int64_t first, int64_t last, unsigned only, lx_manifest_t *m,
                           lx_repair_scan_t *out, lx_error_t *err);

/* Parses "missing,mismatched,failed" into LX_REPAIR_* bits (failed, which
 * only a coordinator knows, is bit 4); false for an unknown word. */
bool lx_repair_parse_only(const char *list, unsigned *only);
#define LX_REPAIR_FAILED 4u

#endif
