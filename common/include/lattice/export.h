/* Export: frames -> artifact files -> metadata.json (docs/export-format.md).
 *
 * lx_frame_renderer renders one frame's artifacts to bytes in memory
 * (evaluate with warm-up and frame f - 1 for motion, rasterize, convert,
 * encode the independent artifacts in parallel, hash). It is the unit of
 * work of the one export path: `lattice export` runs a coordinator and its
 * workers in-process, exactly as a cluster does; workers drive the
 * renderer per assignment and write its files, the coordinator records
 * them in an lx_manifest (lattice/manifest.h), which writes the camera
 * files and metadata.json. lx_export_verify re-hashes an export
 * directory. */
#ifndef LATTICE_EXPORT_H
#define LATTICE_EXPORT_H

#include "lattice/export_config.h"
#include "lattice/instance.h"

typedef struct lx_artifact_file {
    char key[96];  /* "rgba", "depth", "mask/cards", "control/depth" */
    char name[40]; /* "frame_000012.png" */
    lx_strbuf_t bytes;
    char hash[65];                         /* SHA-256 of the file bytes, hex */
    char content[33];                      /* XXH3-128 of the raw buffer in canonical layout, hex */
    double convert_ms, encode_ms, hash_ms; /* this artifact's stages (with a clock) */
} lx_artifact_file_t;

/* Per-stage wall time of the last frame, in ms (zero without a clock). */
typedef struct lx_stage_times {
    double eval, raster, convert, encode, hash;
} lx_stage_times_t;

typedef struct lx_frame_result {
    int64_t frame;
    lx_frame_time_t time;
    lx_camera_t camera;
    lx_artifact_file_t *files;
    uint32_t n_files;
    lx_stage_times_t times;
} lx_frame_result_t;

/* A monotonic clock in ms, injected (common/ reads no clock itself). */
typedef double (*lx_clock_fn)(void *user);

typedef struct lx_frame_renderer lx_frame_renderer_t;

/* threads: rasterizer tiles and parallel encoding (>= 1). clock may be
 * NULL (no stage times). */
lx_frame_renderer_t *lx_frame_renderer_new(const lx_program_t *p, const lx_export_plan_t *plan,
                                           uint32_t threads, lx_clock_fn clock, void *clock_user,
                                           const lx_alloc_t *alloc, lx_error_t *err);
void lx_frame_renderer_destroy(lx_frame_renderer_t **self_p);

/* Renders frame f (any order). *out stays valid until the next call. */
lx_result_t lx_frame_renderer_render(lx_frame_renderer_t *fr, int64_t f,
                                     const lx_frame_result_t **out, lx_error_t *err);

/* Encodes and hashes the last rendered frame's buffers again, without
 * evaluating, rasterizing or converting: the encode+hash floor the
 * benchmark (scripts/bench.sh) compares exports with. times->encode is the
 * wall time. */
lx_result_t lx_frame_renderer_reencode(lx_frame_renderer_t *fr, lx_stage_times_t *times,
                                       lx_error_t *err);

/* Verification report of lx_export_verify. */
typedef struct lx_verify_report {
    uint64_t checked, missing, mismatched, extra, combined_bad;
    lx_strbuf_t text; /* one line per problem */
} lx_verify_report_t;

/* Re-hashes every file listed in out_dir/metadata.json and looks for
 * files not listed. LX_OK when everything matches, LX_E_VERIFY when
 * something does not (see report), LX_E_IO / LX_E_PARSE when the manifest
 * cannot be read. Release the report's text with lx_strbuf_release. */
lx_result_t lx_export_verify(const char *out_dir, lx_verify_report_t *report, lx_error_t *err);

#endif
