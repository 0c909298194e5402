/* The progress journal of an export: what lets an interrupted export
 * resume, an export extend to more frames, and a re-run of a finished one
 * do nothing (docs/export-format.md, "Resume and ranges").
 *
 * OUT/.lattice/progress.jsonl holds one JSON object per line, appended as
 * the export goes (one write per line, no fsync: a line lost to a crash
 * only means its frame is rendered again):
 *   - a header, written whenever an export starts into OUT:
 *     {"progress":1,"projectId":..,"programHash":..,"settingsHash":..,
 *      "frames":[first,last],"config":{resolved config}}
 *     settingsHash is the configHash of the same settings without the
 *     frame range (lx_progress_settings_hash): exports of one program
 *     and settings are ranges of one export, and merge;
 *   - a frame, written once its files are in place under their names:
 *     {"frame":f,"t":"<hex float>","camera":[17 hex floats],
 *      "files":[[key,name,sha256,xxh3,size,mtime_s,mtime_ns,ctime_s,ctime_ns,
 *                inode],...]}
 *     A later line for a frame replaces an earlier one.
 * The size, modification and change times and inode of each file let a
 * resume trust a file without reading it (as git does; the change time
 * cannot be set back by anyone who rewrote the file); a file whose stamp
 * differs is re-hashed, and kept only when its SHA-256 still matches.
 *
 * A line that does not parse (a torn last line) is ignored. The journal
 * is the export's own file: `lattice verify` does not count it as extra. */
#ifndef LATTICE_PROGRESS_H
#define LATTICE_PROGRESS_H

#include <sys/stat.h>

#include "lattice/manifest.h"

#define LX_PROGRESS_DIR ".lattice"
#define LX_PROGRESS_FILE "progress.jsonl"
/* Hex floats a frame line's camera holds: position, forward, up (3 each),
 * fov_y_deg, near, far, target (3), ortho_height and the projection. */
enum { LX_PROGRESS_CAMERA_VALUES = 17 };

/* What the journal says of a file beyond its hashes. */
typedef struct lx_file_stamp {
    int64_t size, mtime_ns, ctime_ns, ino; /* -1: unknown, re-hashed on resume */
} lx_file_stamp_t;

/* The stamp of what st describes. */
lx_file_stamp_t lx_file_stamp_of(const struct stat *st);

/* The SHA-256 (hex) of plan's resolved config with its frame range set
 * to [0, 0]: equal for two plans that differ only in their frames. */
void lx_progress_settings_hash(const lx_export_plan_t *plan, char hex[65]);

/* Appends the header line of an export of p with plan to out. */
void lx_progress_header(const lx_program_t *p, const lx_export_plan_t *plan, lx_strbuf_t *out);

/* Appends frame f's line to out: its time, camera and n files with their
 * stamps (stamps may be NULL: size and time -1, re-hashed on resume). */
void lx_progress_frame(int64_t f, double t_ms, const lx_camera_t *cam,
                       const lx_manifest_file_t *files, const lx_file_stamp_t *stamps, uint32_t n,
                       lx_strbuf_t *out);

/* Appends line (len bytes, ending in '\n') to the journal of the export
 * directory open as out_fd, in one write; the journal and its directory
 * are created when missing (O_NOFOLLOW: a link there is an error). With
 * truncate the journal is emptied first. LX_OK or LX_E_IO. */
lx_result_t lx_progress_append(int out_fd, const char *line, size_t len, bool truncate,
                               lx_error_t *err);

/* What an export directory holds before an export writes into it. */
typedef struct lx_prior {
    bool exists;   /* the directory exists */
    bool foreign;  /* it holds entries that are not an export's */
    uint32_t n_foreign;     /* how many (top-level entries) */
    char foreign_name[256]; /* the first of them */
    bool journal;  /* it has a progress journal */
    bool manifest; /* it has a metadata.json */
    bool complete; /* metadata.json lists frames [first, last] */
    char project_id[65];
    char program_hash[65], settings_hash[65], config_hash[65];
    int64_t first, last; /* the export's frames (its newest header or metadata.json) */
    char metadata_program[65], metadata_config[65]; /* metadata.json's hashes, or "" */
    char *config; /* the resolved config JSON of that header, or NULL (free()) */
} lx_prior_t;

/* Reads what out_dir holds: nothing (exists false), an empty directory, an
 * export (its journal's newest header, else its metadata.json), or other
 * files (foreign). LX_OK; LX_E_IO when it cannot be read (a file where a
 * directory should be included). Release with lx_prior_release. */
lx_result_t lx_prior_read(const char *out_dir, lx_prior_t *prior, lx_error_t *err);
void lx_prior_release(lx_prior_t *prior);

/* What a resume found. */
typedef struct lx_resume_stats {
    int64_t kept;      /* frames recorded into the manifest */
    uint64_t trusted;  /* files kept on their stamp */
    uint64_t rehashed; /* files read again because their stamp differed */
    uint64_t damaged;  /* files missing or no longer matching */
} lx_resume_stats_t;

/* Called for every frame of the plan the journal holds intact, in frame
 * order; a non-LX_OK return stops the scan with that code. */
typedef lx_result_t (*lx_resume_keep_fn)(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                                         const lx_manifest_file_t *files, uint32_t n,
                                         lx_error_t *err);

/* Reads out_dir's journal and calls keep for every frame of m's plan whose
 * newest line lists exactly the planned files (lx_manifest_check_frame)
 * and whose files are intact (their stamp, else their SHA-256). Frames
 * without a line, or with a damaged file, are not kept. No journal: LX_OK
 * with nothing kept. m is only read. LX_E_IO, LX_E_NOMEM, or keep's code. */
lx_result_t lx_resume_scan(const lx_manifest_t *m, const char *out_dir, lx_resume_keep_fn keep,
                           void *user, lx_resume_stats_t *stats, lx_error_t *err);

/* lx_export_verify of an export that never finished: re-hashes the files
 * of every frame its journal lists and says how many frames are done.
 * LX_E_VERIFY (an unfinished export never verifies), LX_E_IO without a
 * journal, LX_E_NOMEM. */
lx_result_t lx_progress_verify(const char *out_dir, lx_verify_report_t *rep, lx_error_t *err);

/* lx_resume_keep_fn that records the frame into the lx_manifest_t user. */
lx_result_t lx_resume_keep_record(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                                  const lx_manifest_file_t *files, uint32_t n, lx_error_t *err);

#endif
