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
/* Shards (docs/export-format.md, "Shards"): a shard renders frames [a, b]
 * of an export straight into OUT and keeps its own books in
 * OUT/.lattice/shards/a-b: a progress journal like the export's, and the
 * shard's manifest, the journal sealed (its newest header and the newest
 * line of every frame a..b, in frame order) once every frame is in. */
#define LX_SHARDS_DIR LX_PROGRESS_DIR "/shards"
#define LX_SHARD_MANIFEST "manifest.jsonl"
/* Where `lattice assemble` finds the program the shards rendered:
 * OUT/.lattice/program-<programHash>.lxir, its IR bytes. */
#define LX_PROGRAM_FILE_FMT "program-%s.lxir"
/* The longest book path, ".lattice/shards/<a>-<b>", with its NUL. */
enum { LX_BOOK_MAX = 64 };
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

/* The books of an export's frames, relative to OUT: ".lattice" for the
 * export, ".lattice/shards/a-b" for the shard of frames [a, b]. */
void lx_progress_book(bool shard, int64_t a, int64_t b, char book[LX_BOOK_MAX]);

/* Whether name is a shard's directory name "a-b" (decimal, a <= b, within
 * the journal's frame bounds), with its frames. */
bool lx_shard_name_parse(const char *name, int64_t *a, int64_t *b);

/* The shard directory names (lx_shard_name_parse) of out_dir, sorted by
 * first frame, then last (free() each and the array); *n receives how
 * many. NULL with *n = 0 when there are none or they cannot be listed. */
char **lx_shard_names(const char *out_dir, size_t *n);

/* Opens directory book (NULL: ".lattice") of the export directory open as
 * out_fd, component by component without following a link, creating what
 * is missing when create. A descriptor, or -1 with errno. */
int lx_progress_book_open(int out_fd, const char *book, bool create);

/* Appends line (len bytes, ending in '\n') to the journal in book (NULL:
 * the export's own) of the export directory open as out_fd, in one write;
 * the journal and its directories are created when missing (O_NOFOLLOW: a
 * link there is an error). With truncate the journal is emptied first.
 * LX_OK or LX_E_IO. */
lx_result_t lx_progress_append(int out_fd, const char *book, const char *line, size_t len,
                               bool truncate, lx_error_t *err);

/* Seals shard book: writes its manifest (LX_SHARD_MANIFEST) from its
 * journal through a temporary name. LX_E_INVALID (nothing written) when a
 * frame of a..b has no line with files; LX_E_IO; LX_E_NOMEM. */
lx_result_t lx_progress_seal(int out_fd, const char *book, int64_t a, int64_t b, lx_error_t *err);

/* The configHash of the newest header in book's journal (its manifest
 * when sealed) into hex, or "" when it has none. LX_OK; LX_E_IO when it
 * exists and cannot be read. */
lx_result_t lx_progress_book_config(const char *out_dir, const char *book, char hex[65],
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
    /* Shards (LX_SHARDS_DIR) with a journal header: when the export itself
     * has neither journal nor metadata.json, the hashes, frames and config
     * above are the first shard's (by name), and mixed says whether any
     * other shard is of another export (another program or settings, or,
     * among shards alone, other frames: the export's own journal may have
     * grown past the range its shards planned). */
    uint32_t shards;
    bool mixed;
} lx_prior_t;

/* Reads what out_dir holds: nothing (exists false), an empty directory, an
 * export (its journal's newest header, else its metadata.json, else its
 * shards' headers), or other files (foreign). LX_OK; LX_E_IO when it cannot be read (a file where a
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

/* Called for every frame of the plan a journal holds intact, once, in
 * frame order within each journal; stamps are its files' as they are now.
 * A non-LX_OK return stops the scan with that code. */
typedef lx_result_t (*lx_resume_keep_fn)(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                                         const lx_manifest_file_t *files,
                                         const lx_file_stamp_t *stamps, uint32_t n,
                                         lx_error_t *err);

/* Reads the journals of the n_books books of out_dir (a NULL entry, or
 * books NULL: the export's own; a sealed shard is read from its manifest) and calls keep
 * for every frame of m's plan whose newest line in a journal lists exactly
 * the planned files (lx_manifest_check_frame) and whose files are intact
 * (their stamp, else their SHA-256; rehash: always the SHA-256), taking
 * the first journal, in the order given, that has such a line. Frames
 * without a line, or with a damaged file, are not kept. A book without a
 * journal holds nothing. m is only read. LX_E_IO, LX_E_NOMEM, or keep's
 * code. */
lx_result_t lx_resume_scan(const lx_manifest_t *m, const char *out_dir, const char *const *books,
                           size_t n_books, bool rehash, lx_resume_keep_fn keep, void *user,
                           lx_resume_stats_t *stats, lx_error_t *err);

/* lx_export_verify of an export that never finished: re-hashes the files
 * of every frame its journal lists and says how many frames are done.
 * LX_E_VERIFY (an unfinished export never verifies), LX_E_IO without a
 * journal, LX_E_NOMEM. */
lx_result_t lx_progress_verify(const char *out_dir, lx_verify_report_t *rep, lx_error_t *err);

/* lx_resume_keep_fn that records the frame into the lx_manifest_t user. */
lx_result_t lx_resume_keep_record(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                                  const lx_manifest_file_t *files, const lx_file_stamp_t *stamps,
                                  uint32_t n, lx_error_t *err);

#endif
