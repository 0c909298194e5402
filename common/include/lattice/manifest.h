/* Manifest: the camera files and metadata.json of an export, assembled
 * from per-frame results that arrive in any order (docs/export-format.md).
 *
 * The coordinator (the one `lattice export` runs in-process, or a
 * cluster's) records the results its workers send; `lattice rerender`
 * records the frames it renders again and the intact ones it keeps. Given
 * the same program, plan and frame results, in any order, a manifest
 * writes byte-identical camera/trajectory.json, camera/camera_re10k.txt
 * and metadata.json (apart from "exportedAt" and "run", which
 * lx_manifest_run_t supplies).
 *
 * The files every frame must have come from the program and the plan,
 * never from a frame: lx_export_frame_files (lattice/export.h), the list
 * the frame renderer renders, fixes their keys, order and extensions when
 * the manifest is created, and a frame with any other set is refused. A
 * worker can therefore not make honest results look wrong by sending a
 * wrong set first.
 *
 * Memory: per frame, 1 bit, 48 bytes per artifact file (its SHA-256 and
 * XXH3-128) and, with the camera artifact, 88 bytes (time, position,
 * forward, up, field of view); a default export of orbit-cards (5 files
 * and a mask) takes 376 bytes a frame. These arrays are allocated zeroed
 * by lx_manifest_new without touching them (no loop over frames), so
 * creating a manifest of millions of frames costs address space, and
 * memory grows as frames are recorded. Recording never allocates.
 *
 * A manifest never writes artifact files itself. Not thread-safe: one
 * thread records into a manifest.
 *
 * lx_manifest_key_valid is the export directory's rule for keys, here
 * because whoever writes a manifest must apply it too (what a directory
 * may receive is lattice/progress.h's lx_prior_read). */
#ifndef LATTICE_MANIFEST_H
#define LATTICE_MANIFEST_H

#include <stdatomic.h>

#include "lattice/export.h"
#include "lattice/export_config.h"
#include "lattice/instance.h"

/* Most artifact files per frame a manifest accepts (lx_manifest_new
 * refuses a plan with more). */
#define LX_MANIFEST_MAX_FILES 4096u
/* Longest artifact key ("mask/<layer>") lx_manifest_key_valid accepts. */
#define LX_MANIFEST_KEY_MAX 128u

typedef struct lx_manifest lx_manifest_t;

/* One artifact file of a frame as the manifest records it. All strings
 * are borrowed for the duration of the call.
 *   key      artifact path: "rgba", "mask/cards", "control/depth"
 *   name     "frame_000012.png": lx_export_frame_name of its frame
 *   hash     SHA-256 of the file bytes, 64 lower-case hex digits
 *   content  XXH3-128 of the raw buffer, 32 lower-case hex digits */
typedef struct lx_manifest_file {
    const char *key;
    const char *name;
    const char *hash;
    const char *content;
} lx_manifest_file_t;

/* The run-specific fields of metadata.json: "exportedAt" and "run". */
typedef struct lx_manifest_run {
    size_t size;
    uint32_t workers, threads;
    double elapsed_ms;       /* written in whole ms (rounded down) */
    const char *exported_at; /* ISO-8601 UTC; NULL writes "" */
    const char *audit_json;  /* a JSON object written as run.audit, or NULL */
    /* Set (by another thread) to stop writing: lx_manifest_write then
     * returns LX_E_CANCELLED between files and between video frames,
     * before metadata.json. NULL: never. */
    const atomic_bool *stop;
} lx_manifest_run_t;
#define LX_MANIFEST_RUN_INIT                                                                       \
    {                                                                                              \
        sizeof(lx_manifest_run_t), 1, 1, 0, NULL, NULL, NULL                                       \
    }

/* A manifest under construction for plan's frames [plan->first,
 * plan->last], with no frame recorded yet, expecting of every frame the
 * files lx_export_frame_files(p, plan) lists. p is borrowed and must
 * outlive the manifest; plan is copied. alloc may be NULL (the default
 * allocator). Every per-frame array is allocated here (zeroed, untouched;
 * see Memory above). Returns NULL with err set: LX_E_INVALID for an empty
 * or negative frame range, a layer name that is not an id or more than
 * LX_MANIFEST_MAX_FILES files per frame; LX_E_NOMEM. Free with
 * lx_manifest_destroy. */
lx_manifest_t *lx_manifest_new(const lx_program_t *p, const lx_export_plan_t *plan,
                               const lx_alloc_t *alloc, lx_error_t *err);

/* Frees the manifest and NULLs *self_p; accepts NULL and a NULL *self_p. */
void lx_manifest_destroy(lx_manifest_t **self_p);

/* Records frame f: its time t_ms, its camera and its n_files artifact
 * files. Frames may come in any order; recording a frame again replaces
 * it. files must be exactly lx_manifest_files(): the same number, file j
 * with key files()[j].key, named lx_export_frame_name of f with that file's
 * extension.
 *
 * Returns LX_OK; LX_E_INVALID (nothing is recorded) for a frame outside
 * the plan, a non-finite time, no camera, or files that are not exactly
 * the planned set or whose hashes are not lower-case hex of the right
 * length. The message names the first difference:
 *   "frame 12: expected 7 files (rgba, depth, motion, ...), got 0"
 *   "frame 12: file 3 is 'mask/x', expected 'normal'"
 *   "frame 12: file 0 ('rgba') is named 'frame_000012.exr', expected
 *    'frame_000012.png'"
 * Never allocates, so never LX_E_NOMEM. */
lx_result_t lx_manifest_add_frame(lx_manifest_t *m, int64_t f, double t_ms, const lx_camera_t *cam,
                                  const lx_manifest_file_t *files, uint32_t n_files,
                                  lx_error_t *err);

/* The checks lx_manifest_add_frame makes on frame f's files (range, the
 * planned set, names, hashes), with the same messages, without recording
 * anything: a coordinator checks a result before it writes a byte of it.
 * LX_OK or LX_E_INVALID. A frame that passes is recorded by
 * lx_manifest_add_frame unless its time is not finite or it has no
 * camera. */
lx_result_t lx_manifest_check_frame(const lx_manifest_t *m, int64_t f,
                                    const lx_manifest_file_t *files, uint32_t n_files,
                                    lx_error_t *err);

/* The files every frame must have, in order: lx_export_frame_files of the
 * manifest's program and plan, fixed at creation. Borrowed, valid for the
 * manifest's life; *n receives the count (0 when the plan has only the
 * camera artifact, or none). */
const lx_export_file_t *lx_manifest_files(const lx_manifest_t *m, uint32_t *n);

/* The plan the manifest was created with (borrowed). */
const lx_export_plan_t *lx_manifest_plan(const lx_manifest_t *m);

/* How many of the plan's frames have not been recorded yet. */
int64_t lx_manifest_missing(const lx_manifest_t *m);

/* Whether frame f has been recorded (false outside the plan). */
bool lx_manifest_has_frame(const lx_manifest_t *m, int64_t f);

/* Whether a and b (of the same plan) both recorded frame f, with the same
 * hashes, content hashes, time and camera. */
bool lx_manifest_same_frame(const lx_manifest_t *a, const lx_manifest_t *b, int64_t f);

/* Writes the camera files (when the plan has the camera artifact) into
 * out_dir/camera and then metadata.json into out_dir, each through a
 * temporary name, so that metadata.json exists only once everything else
 * does. Creates out_dir and out_dir/camera if needed; run may be NULL
 * (LX_MANIFEST_RUN_INIT). With the video target (plan cfg.video) it
 * also reads the listed frame files back from out_dir, each checked
 * against its recorded SHA-256, and writes out_dir/video/<key>.mp4
 * (lattice/video.h) before metadata.json. Returns LX_OK; LX_E_INVALID,
 * writing nothing, while frames are missing; LX_E_VERIFY when a frame
 * file a video needs is not the one recorded (no metadata.json is
 * written); LX_E_CANCELLED when run->stop was set (no metadata.json is
 * written); LX_E_IO, LX_E_NOMEM, LX_E_INTERNAL (the encoder). The
 * tracks, audio features and videos are written too, each before
 * metadata.json. */
lx_result_t lx_manifest_write(const lx_manifest_t *m, const char *out_dir,
                              const lx_manifest_run_t *run, lx_error_t *err);

/* Whether key is an artifact key: one or two patch ids (lx_name_id_valid)
 * separated by '/', at most LX_MANIFEST_KEY_MAX bytes: "rgba",
 * "mask/cards", "control/depth". The rule lx_manifest_add_frame and
 * lx_export_verify apply to keys. NULL is false. */
bool lx_manifest_key_valid(const char *key);

/* The files a manifest writes once per export, not per frame, with
 * metadata.json: OUT/<key>/<names...> when the plan has the artifact art
 * (audio: when the program has audio too). One list for the writer, the
 * coordinator (which opens the directories without following links and
 * clears the files) and repair (which knows the keys). The video target's
 * files (OUT/video/, named by their keys) are not listed: the plan's
 * cfg.video names them. */
typedef struct lx_manifest_once {
    uint32_t art;
    const char *key;
    uint32_t n_names;
    const char *names[3];
} lx_manifest_once_t;
enum { LX_MANIFEST_N_ONCE = 3 };
extern const lx_manifest_once_t lx_manifest_once[LX_MANIFEST_N_ONCE];

/* out_dir/metadata.json, parsed: a JSON object the caller frees with
 * cJSON_Delete, or NULL with err set (LX_E_INVALID: the path does not fit,
 * LX_E_IO: unreadable or too large, LX_E_PARSE: not a JSON object). */
struct cJSON *lx_manifest_read(const char *out_dir, lx_error_t *err);

#endif
