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
 * A manifest keeps, per frame, its time, its camera and the hashes of its
 * artifact files; artifact keys and file extensions are stored once,
 * because every frame has the same ones. It never writes artifact files
 * itself. Not thread-safe: one thread records into a manifest.
 *
 * lx_export_check_target and lx_manifest_key_valid are the export
 * directory's rules, here because whoever writes a manifest must apply
 * them too. */
#ifndef LATTICE_MANIFEST_H
#define LATTICE_MANIFEST_H

#include "lattice/export_config.h"
#include "lattice/instance.h"

/* Most artifact files per frame lx_manifest_add_frame accepts. */
#define LX_MANIFEST_MAX_FILES 4096u
/* Longest artifact key ("mask/<layer>") lx_manifest_add_frame accepts. */
#define LX_MANIFEST_KEY_MAX 128u

typedef struct lx_manifest lx_manifest_t;

/* One artifact file of a frame as the manifest records it. All strings
 * are borrowed for the duration of the call.
 *   key      artifact path: "rgba", "mask/cards", "control/depth"
 *   name     "frame_000012.png": frame_%06lld.<ext> of its frame
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
} lx_manifest_run_t;
#define LX_MANIFEST_RUN_INIT                                                                       \
    {                                                                                              \
        sizeof(lx_manifest_run_t), 1, 1, 0, NULL, NULL                                             \
    }

/* A manifest under construction for plan's frames [plan->first,
 * plan->last], with no frame recorded yet. p is borrowed and must outlive
 * the manifest; plan is copied. alloc may be NULL (the default
 * allocator). Returns NULL with err set: LX_E_INVALID for an empty or
 * negative frame range, LX_E_NOMEM. Free with lx_manifest_destroy. */
lx_manifest_t *lx_manifest_new(const lx_program_t *p, const lx_export_plan_t *plan,
                               const lx_alloc_t *alloc, lx_error_t *err);

/* Frees the manifest and NULLs *self_p; accepts NULL and a NULL *self_p. */
void lx_manifest_destroy(lx_manifest_t **self_p);

/* Records frame f: its time t_ms, its camera and its n_files artifact
 * files. Frames may come in any order; recording a frame again replaces
 * it. The first frame recorded fixes the artifact keys and file
 * extensions: every frame must list the same keys, in the same order,
 * with the same extensions.
 *
 * Returns LX_OK; LX_E_INVALID (with a message; nothing is recorded) for a
 * frame outside the plan, a non-finite time, more than
 * LX_MANIFEST_MAX_FILES files, a key that is not one or two
 * [A-Za-z0-9_-] components (or repeats, or is "camera" when the camera
 * artifact is on), keys or extensions that differ from the first
 * recorded frame's, a name that is not frame_%06lld.<ext> of f, a hash
 * that is not lower-case hex of the right length; LX_E_NOMEM when the
 * first frame's storage (frames x files hashes) cannot be allocated. */
lx_result_t lx_manifest_add_frame(lx_manifest_t *m, int64_t f, double t_ms, const lx_camera_t *cam,
                                  const lx_manifest_file_t *files, uint32_t n_files,
                                  lx_error_t *err);

/* The checks lx_manifest_add_frame makes on frame f's files (range, keys,
 * names, hashes), without recording anything: a coordinator checks a
 * result before it writes a byte of it. LX_OK or LX_E_INVALID. */
lx_result_t lx_manifest_check_frame(const lx_manifest_t *m, int64_t f,
                                    const lx_manifest_file_t *files, uint32_t n_files,
                                    lx_error_t *err);

/* How many of the plan's frames have not been recorded yet. */
int64_t lx_manifest_missing(const lx_manifest_t *m);

/* Whether frame f has been recorded (false outside the plan). */
bool lx_manifest_has_frame(const lx_manifest_t *m, int64_t f);

/* Writes the camera files (when the plan has the camera artifact) into
 * out_dir/camera and then metadata.json into out_dir, each through a
 * temporary name, so that metadata.json exists only once everything else
 * does. Creates out_dir and out_dir/camera if needed; run may be NULL
 * (LX_MANIFEST_RUN_INIT). Returns LX_OK; LX_E_INVALID, writing nothing,
 * while frames are missing; LX_E_IO, LX_E_NOMEM. */
lx_result_t lx_manifest_write(const lx_manifest_t *m, const char *out_dir,
                              const lx_manifest_run_t *run, lx_error_t *err);

/* Whether dir may receive an export of project_id: it is missing, empty,
 * a previous export of the same project (its metadata.json says so), or
 * force is set. Returns LX_OK; LX_E_INVALID with a message that names
 * --force; LX_E_IO when dir cannot be read. Never deletes anything. */
lx_result_t lx_export_check_target(const char *dir, const char *project_id, bool force,
                                   lx_error_t *err);

/* Whether key is an artifact key: one or two patch ids (lx_name_id_valid)
 * separated by '/', at most LX_MANIFEST_KEY_MAX bytes: "rgba",
 * "mask/cards", "control/depth". The rule lx_manifest_add_frame and
 * lx_export_verify apply to keys. NULL is false. */
bool lx_manifest_key_valid(const char *key);

#endif
