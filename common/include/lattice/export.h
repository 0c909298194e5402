/* Export: frames -> artifact files -> metadata.json (docs/export-format.md).
 *
 * lx_frame_renderer renders one frame's artifacts to bytes in memory
 * (evaluate with warm-up and frame f - 1 for motion, rasterize, convert,
 * encode the independent artifacts in parallel, hash). It is the unit of
 * work of the one export path: `lattice export` runs a coordinator and its
 * workers in-process, exactly as a cluster does; workers drive the
 * renderer per assignment and write its files, the coordinator records
 * them in an lx_manifest (lattice/manifest.h), which writes the camera
 * files and metadata.json. lx_export_frame_files is the one list of the
 * files every frame has: the renderer renders exactly those, and a
 * manifest accepts exactly those. lx_export_verify re-hashes an export
 * directory. */
#ifndef LATTICE_EXPORT_H
#define LATTICE_EXPORT_H

#include "lattice/export_config.h"
#include "lattice/instance.h"

/* What an artifact file of a frame holds; with its format, this decides
 * the renderer's buffer and encoder. */
typedef enum lx_export_kind {
    LX_EXPORT_RGBA,
    LX_EXPORT_DEPTH,
    LX_EXPORT_MOTION,
    LX_EXPORT_NORMAL,
    LX_EXPORT_ID,
    LX_EXPORT_MASK,
    LX_EXPORT_CONTROL_DEPTH,
    LX_EXPORT_CONTROL_NORMAL,
    LX_EXPORT_CONTROL_FLOW,
    LX_EXPORT_CONTROL_SEG,
    LX_EXPORT_PARTICLES,
    LX_EXPORT_SEMANTIC,
    LX_EXPORT_EDGES,
    LX_EXPORT_SVG
} lx_export_kind_t;

/* The encoder of an artifact file, and so its extension (LX_EXPORT_SVG_TEXT:
 * an SVG document, lattice/svg.h, extension "svg"). */
typedef enum lx_export_format {
    LX_EXPORT_PNG,
    LX_EXPORT_EXR,
    LX_EXPORT_NPY,
    LX_EXPORT_SVG_TEXT
} lx_export_format_t;

/* Longest artifact key of a frame file: "mask/" and a 64-byte layer id. */
enum { LX_EXPORT_KEY_MAX = 69 };

/* One artifact file that every frame of a plan has.
 *   key     its directory: "rgba", "depth", "mask/cards", "control/depth";
 *           one or two ids (lx_manifest_key_valid), never "camera"
 *   ext     "png", "exr", "npy" or "svg" (static storage): frame f's file is
 *           named lx_export_frame_name(plan, f, ext)
 *   format  the encoder ext names
 *   kind    what the file holds
 *   layer   for LX_EXPORT_MASK the mask plane (the layer's index in
 *           lx_raster_layers); 0 otherwise */
typedef struct lx_export_file {
    char key[LX_EXPORT_KEY_MAX + 1];
    const char *ext;
    lx_export_format_t format;
    lx_export_kind_t kind;
    uint32_t layer;
} lx_export_file_t;

/* The artifact files every frame of plan has, in the order
 * lx_frame_renderer_render produces them: rgba, depth, motion, normal, id,
 * mask/<layer> for each of p's layers (lx_raster_layers), control/depth,
 * control/normal, control/flow, control/seg, particles, semantic, edges,
 * svg, each when its artifact is on (the four control files with the
 * control artifact), with the extension its format setting gives
 * (particles: always npy; semantic and edges: always png; svg: svg). The
 * camera artifact has no per-frame file (a manifest writes camera/ once).
 * The frame renderer builds its work from this list and a manifest checks
 * every frame against it, so the files a frame has and the files a
 * coordinator expects are one definition.
 *
 * On LX_OK *files_out is an array of *n_out files (possibly 0), which the
 * caller frees with lx_free(alloc, *files_out); alloc may be NULL (the
 * default allocator). Otherwise *files_out is NULL and *n_out 0:
 * LX_E_INVALID when a layer name of p is not a patch id (a program that
 * did not come from the compiler), LX_E_NOMEM. Pure and thread-safe. */
lx_result_t lx_export_frame_files(const lx_program_t *p, const lx_export_plan_t *plan,
                                  const lx_alloc_t *alloc, lx_export_file_t **files_out,
                                  uint32_t *n_out, lx_error_t *err);

/* The semantic classes of p: the distinct `semantic` names of its sinks,
 * in sink order, numbered from 1 (0 is the background). names receives
 * class k + 1's name at k (borrowed from p), class_of_sink each sink's
 * class; both need room for p->n_sinks. Returns the number of classes. */
uint32_t lx_export_semantic_classes(const lx_program_t *p, const char **names,
                                    uint16_t *class_of_sink);

/* Digits of the frame numbers in the file names of plan's export: 6, or
 * as many as its last frame needs (frame 1234567 makes every name of the
 * export 7 digits), so that names sort in frame order. */
int lx_export_frame_digits(const lx_export_plan_t *plan);

/* "frame_000012.<ext>": frame f's file name in plan's export, padded to
 * lx_export_frame_digits(plan). False when it does not fit in size. */
bool lx_export_frame_name(char *out, size_t size, const lx_export_plan_t *plan, int64_t f,
                          const char *ext);

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
    /* Frames evaluated only to get to this one: warm-up, and the previous
     * frame for motion (0 when it follows the frame rendered before). */
    uint64_t warmup;
} lx_frame_result_t;

/* A monotonic clock in ms, injected (common/ reads no clock itself). */
typedef double (*lx_clock_fn)(void *user);

typedef struct lx_frame_renderer lx_frame_renderer_t;

/* threads: rasterizer tiles and parallel encoding (>= 1). clock may be
 * NULL (no stage times). NULL with err set: LX_E_INVALID for a program
 * whose files cannot be planned (lx_export_frame_files) or a plan whose
 * control settings are unresolved (a plan lx_export_plan did not make),
 * LX_E_NOMEM. */
lx_frame_renderer_t *lx_frame_renderer_new(const lx_program_t *p, const lx_export_plan_t *plan,
                                           uint32_t threads, lx_clock_fn clock, void *clock_user,
                                           const lx_alloc_t *alloc, lx_error_t *err);
void lx_frame_renderer_destroy(lx_frame_renderer_t **self_p);

/* Renders frame f (any order): its files are lx_export_frame_files(p,
 * plan), in that order, named lx_export_frame_name. *out stays valid until
 * the next call. */
lx_result_t lx_frame_renderer_render(lx_frame_renderer_t *fr, int64_t f,
                                     const lx_frame_result_t **out, lx_error_t *err);

/* The next frames, from first (>= 0) on, evaluate from a snapshot
 * (lx_instance_snapshot, lattice/instance.h) instead of warming up from the
 * timeline start. LX_E_PARSE with err, the renderer unchanged, for bytes
 * that are not a snapshot of its program or are one after first;
 * LX_E_INVALID for a negative first; LX_E_NOMEM. A renderer whose last
 * frame already lies between the snapshot and first (at s - 1 .. first - 1
 * for a snapshot at s) keeps going, as continuing costs no more: then only
 * the snapshot's header (magic, program hash, frame) is checked. */
lx_result_t lx_frame_renderer_restore(lx_frame_renderer_t *fr, const void *bytes, size_t len,
                                      int64_t first, lx_error_t *err);

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
