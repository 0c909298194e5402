/* A job's files: placing an accepted result's files, removing a
 * superseded attempt's, writing the manifest when every frame is in, and
 * scanning a finished export for what a RERENDER must render again. The
 * coordinator's only file I/O besides the journal. Every directory is
 * reached below an allowed output root without following a link, and
 * every file a worker wrote is opened without following one
 * (lx_out_open, lattice/files.h). */
#ifndef LATTICE_CO_OUTPUT_H
#define LATTICE_CO_OUTPUT_H

#include <stdatomic.h>

#include "lattice/progress.h"
#include "lattice/repair.h"
#include "state.h"

/* The allowed output roots (lx_coord_config_t.allow_output; none = "/"). */
typedef struct co_roots {
    const char *const *v;
    size_t n;
} co_roots_t;

/* Checks and places the files of FRAME m of j (its names and keys were
 * checked against the manifest already): in stream mode the bytes must
 * hash to each file's hash and are written atomically; in shared mode the
 * worker wrote <out>/<key>/.<name>.a<attempt>, whose SHA-256 must match,
 * and it is renamed to <name>, so no other attempt can replace it.
 * LX_E_VERIFY (the worker's result is wrong: also a link or anything but a
 * regular file where its file should be), LX_E_INVALID (a link among the
 * job's directories), LX_E_IO (the coordinator's disk), LX_E_NOMEM.
 * stamps (one per file) receive each placed file's size and time. */
lx_result_t co_output_accept(const co_roots_t *roots, const co_job_t *j, const lx_msg_t *m,
                             lx_file_stamp_t *stamps, lx_error_t *err);

/* Appends line to the progress journal of j's export (lattice/progress.h),
 * emptied first when truncate. */
lx_result_t co_output_journal(const co_roots_t *roots, const co_job_t *j, const char *line,
                              size_t len, bool truncate, lx_error_t *err);

/* Before shard j renders: stores its program's IR bytes as
 * OUT/.lattice/program-<hash>.lxir (for `lattice assemble`) and, with
 * unseal, removes its sealed manifest. */
lx_result_t co_output_shard_start(const co_roots_t *roots, const co_job_t *j, const void *program,
                                  size_t len, bool unseal, lx_error_t *err);

/* Appends the progress journal's line for accepted FRAME m, its files
 * placed with stamps, to line (the shell gathers a batch's lines and
 * appends them at once). LX_OK; LX_E_NOMEM. */
lx_result_t co_output_frame_line(const lx_msg_t *m, const lx_file_stamp_t *stamps, lx_strbuf_t *line,
                                 lx_error_t *err);

/* Removes the export out holds (for SUBMIT's replace): metadata.json, the
 * progress journal, its shards' books and program, the camera files and
 * every frame file (and temporary or attempt file) of its artifact
 * directories, then the directories left empty. Other files stay. Returns how many files went, or -1 with err. */
int64_t co_output_clear(const co_roots_t *roots, const char *out, lx_error_t *err);

/* Whether j's export storage is failing as the coordinator sees it: its
 * directory cannot be opened (gone, or a link), its file system is
 * read-only, or it has less than CO_STORAGE_LOW_BYTES free. True with what
 * it saw in why. A worker's "storage" failure is believed only then. */
#define CO_STORAGE_LOW_BYTES ((uint64_t)64 << 20)
bool co_output_storage_failing(const co_roots_t *roots, const co_job_t *j, char *why,
                               size_t size);

/* Removes the files a superseded attempt's FRAME m wrote (shared mode). */
void co_output_drop_attempt(const co_roots_t *roots, const co_job_t *j, const lx_msg_t *m);

/* A shard seals its journal as its manifest (lx_progress_seal; not
 * again when it rendered nothing and is sealed). Any other job: removes
 * leftover temporary and attempt files, then writes the files made once
 * per export (camera, tracks, audio, video) and metadata.json of j
 * (audit_json: run.audit, or NULL; exported_at: ISO-8601 UTC; elapsed_ms:
 * since submission; stop: NULL, or set to stop before metadata.json with
 * LX_E_CANCELLED). temps_removed: how many leftovers went. Reads j and
 * writes files only: safe on another thread while j does not change
 * (finisher.h). */
lx_result_t co_output_finish(const co_roots_t *roots, const co_job_t *j, const char *audit_json,
                             const char *exported_at, double elapsed_ms, const atomic_bool *stop,
                             unsigned *temps_removed, lx_error_t *err);

/* What was audited in j and how it ended, as metadata.json's run.audit
 * (*out: malloc'd JSON, cJSON_free; NULL when j is not audited): part of
 * the run, not of the deterministic manifest. LX_OK or LX_E_NOMEM. */
lx_result_t co_output_audit_json(const co_state_t *s, const co_job_t *j, char **out,
                                 lx_error_t *err);

/* What a RERENDER of finished job j renders again, within frames [first,
 * last]: with `only` (LX_REPAIR_* bits) MISSING or MISMATCHED, the frames
 * whose files are missing or differ from metadata.json (*fresh: a
 * manifest holding every intact frame, or NULL without metadata.json);
 * with FAILED, the failed frames; and without metadata.json every frame
 * not done. *redo: one byte per frame of j (free()). */
lx_result_t co_output_rerender_scan(const co_job_t *j, unsigned only, int64_t first, int64_t last,
                                    uint8_t **redo, lx_manifest_t **fresh, lx_repair_scan_t *scan,
                                    lx_error_t *err);

#endif
