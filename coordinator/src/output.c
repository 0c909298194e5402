/* A job's files (see output.h). */
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cJSON.h>

#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/frame_msg.h"
#include "lattice/progress.h"

static lx_result_t s_accept_file(const co_roots_t *roots, const co_job_t *j, const lx_file_rec_t *f,
                                 uint64_t attempt, lx_file_stamp_t *stamp, lx_error_t *err)
{
    char name[128], hex[65];
    if (j->stream) {
        if (!(f->has & LX_FILE_REC_BIT(bytes)))
            return lx_fail(err, LX_E_VERIFY, "%s/%s: stream mode needs the file's bytes", f->key,
                           f->name);
        lx_sha256_hex(f->bytes.data, f->bytes.len, hex);
        if (strcmp(hex, f->hash) != 0)
            return lx_fail(err, LX_E_VERIFY, "%s/%s: bytes hash to %.12s, not %.12s", f->key,
                           f->name, hex, f->hash);
    } else if (!lx_attempt_file_name(name, sizeof name, f->name, attempt)) {
        return lx_fail(err, LX_E_INVALID, "file name too long");
    }
    /* Made if missing in shared mode too: a worker that names files it
     * never wrote is wrong (LX_E_VERIFY below), not the export's disk. */
    int dir = lx_out_open(j->out, roots->v, roots->n, f->key, true, err);
    if (dir < 0)
        return err->code;
    lx_result_t rc = LX_OK;
    /* The worker's file as it was hashed: a change after the hash (same
     * inode, in place) shows in its size or time after the rename, and
     * the result is refused rather than journaled as intact. */
    struct stat before, after;
    bool seen = !j->stream && fstatat(dir, name, &before, AT_SYMLINK_NOFOLLOW) == 0;
    if (j->stream)
        rc = lx_write_atomic_at(dir, f->key, f->name, f->bytes.data, f->bytes.len, err);
    else if (!seen || !lx_file_sha256_at(dir, name, hex))
        rc = lx_fail(err, LX_E_VERIFY, "%s/%s: not a regular file the worker wrote", f->key, name);
    else if (strcmp(hex, f->hash) != 0)
        rc = lx_fail(err, LX_E_VERIFY, "%s/%s: file on disk hashes to %.12s, not %.12s", f->key,
                     name, hex, f->hash);
    else if (renameat(dir, name, dir, f->name) != 0)
        rc = lx_fail(err, LX_E_IO, "cannot rename %s/%s: %s", f->key, name, strerror(errno));
    /* What the progress journal remembers of the file in place. */
    *stamp = (lx_file_stamp_t){-1, -1, -1, -1};
    if (rc == LX_OK && fstatat(dir, f->name, &after, AT_SYMLINK_NOFOLLOW) == 0) {
        lx_file_stamp_t now = lx_file_stamp_of(&after);
        if (seen && (lx_file_stamp_of(&before).size != now.size ||
                     lx_file_stamp_of(&before).mtime_ns != now.mtime_ns))
            rc = lx_fail(err, LX_E_VERIFY, "%s/%s: the file changed while it was checked", f->key,
                         f->name);
        else
            *stamp = now;
    }
    close(dir);
    return rc;
}

lx_result_t co_output_accept(const co_roots_t *roots, const co_job_t *j, const lx_msg_t *m,
                             lx_file_stamp_t *stamps, lx_error_t *err)
{
    lx_result_t rc = LX_OK;
    for (uint32_t k = 0; k < m->files.n && rc == LX_OK; k++)
        rc = s_accept_file(roots, j, &m->files.v[k], m->attempt, &stamps[k], err);
    return rc;
}

lx_result_t co_output_journal(const co_roots_t *roots, const co_job_t *j, const char *line,
                              size_t len, bool truncate, lx_error_t *err)
{
    int dir = lx_out_open(j->out, roots->v, roots->n, NULL, false, err);
    if (dir < 0)
        return err->code;
    lx_result_t rc = lx_progress_append(dir, j->book, line, len, truncate, err);
    close(dir);
    return rc;
}

lx_result_t co_output_shard_start(const co_roots_t *roots, const co_job_t *j, const void *program,
                                  size_t len, bool unseal, lx_error_t *err)
{
    int dir = lx_out_open(j->out, roots->v, roots->n, LX_PROGRESS_DIR, true, err);
    if (dir < 0)
        return err->code;
    char name[96];
    snprintf(name, sizeof name, LX_PROGRAM_FILE_FMT, j->program_hash);
    struct stat st;
    lx_result_t rc = LX_OK;
    /* Every shard stores the same bytes under the same name: the first
     * one's stays. */
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size != len)
        rc = lx_write_atomic_at(dir, LX_PROGRESS_DIR, name, program, len, err);
    close(dir);
    if (rc != LX_OK || !unseal)
        return rc;
    /* Frames to render: the shard is not complete until it seals again. */
    if ((dir = lx_out_open(j->out, roots->v, roots->n, j->book, true, err)) < 0)
        return err->code;
    if (unlinkat(dir, LX_SHARD_MANIFEST, 0) != 0 && errno != ENOENT)
        rc = lx_fail(err, LX_E_IO, "cannot remove '%s/%s': %s", j->book, LX_SHARD_MANIFEST,
                     strerror(errno));
    close(dir);
    return rc;
}

lx_result_t co_output_frame_line(const lx_msg_t *m, const lx_file_stamp_t *stamps,
                                 lx_strbuf_t *line, lx_error_t *err)
{
    lx_camera_t cam;
    lx_manifest_file_t small[64];
    lx_manifest_file_t *fs = co_frame_files(m, small);
    if (!fs)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    /* The camera was checked when the result was accepted. */
    if (lx_camera_from_values(&m->camera, &cam))
        lx_progress_frame(m->frame, m->t_ms, &cam, fs, stamps, m->files.n, line);
    if (fs != small)
        free(fs);
    return line->failed ? lx_fail(err, LX_E_NOMEM, "out of memory") : LX_OK;
}

bool co_output_storage_failing(const co_roots_t *roots, const co_job_t *j, char *why, size_t size)
{
    lx_error_t err = {0};
    int dir = lx_out_open(j->out, roots->v, roots->n, NULL, false, &err);
    if (dir < 0) {
        snprintf(why, size, "%s", err.message);
        return true;
    }
    struct statvfs st;
    bool failing = false;
    if (fstatvfs(dir, &st) != 0) {
        snprintf(why, size, "statvfs '%s': %s", j->out, strerror(errno));
        failing = true;
    } else if (st.f_flag & ST_RDONLY) {
        snprintf(why, size, "'%s' is on a read-only file system", j->out);
        failing = true;
    } else if ((uint64_t)st.f_bavail * st.f_frsize < CO_STORAGE_LOW_BYTES) {
        snprintf(why, size, "'%s' has %llu KiB free", j->out,
                 (unsigned long long)((uint64_t)st.f_bavail * st.f_frsize >> 10));
        failing = true;
    }
    close(dir);
    return failing;
}

void co_output_drop_attempt(const co_roots_t *roots, const co_job_t *j, const lx_msg_t *m)
{
    for (uint32_t k = 0; !j->stream && k < m->files.n; k++) {
        char name[128];
        lx_error_t err = {0};
        int dir = lx_out_open(j->out, roots->v, roots->n, m->files.v[k].key, false, &err);
        if (dir < 0)
            continue;
        if (lx_attempt_file_name(name, sizeof name, m->files.v[k].name, m->attempt))
            unlinkat(dir, name, 0);
        close(dir);
    }
}

/* Whether any frame of j was rendered (rather than kept). */
static bool s_rendered(const co_job_t *j)
{
    for (int64_t i = 0; i < j->n; i++)
        if (j->frames[i].attempt != 0)
            return true;
    return false;
}

/* Whether j rendered nothing (every frame was kept from its export
 * directory) and that directory's metadata.json is this export's already:
 * a re-run of a finished export leaves every file as it was. */
static bool s_unchanged(const co_job_t *j)
{
    if (s_rendered(j))
        return false;
    lx_prior_t pr;
    lx_error_t err = {0};
    bool same = lx_prior_read(j->out, &pr, &err) == LX_OK &&
                strcmp(pr.metadata_program, j->program_hash) == 0 &&
                strcmp(pr.metadata_config, j->config_hash) == 0;
    lx_prior_release(&pr);
    return same;
}

lx_result_t co_output_finish(const co_roots_t *roots, const co_job_t *j, const char *audit_json,
                             const char *exported_at, double elapsed_ms, const atomic_bool *stop,
                             unsigned *temps_removed, lx_error_t *err)
{
    /* The export's directories are checked (and made) without following a
     * link before anything is written into them. */
    *temps_removed = 0;
    int dir = lx_out_open(j->out, roots->v, roots->n, NULL, false, err);
    if (dir < 0)
        return err->code;
    if (j->shard) {
        /* A shard's manifest is its journal sealed; a re-run that rendered
         * nothing leaves the sealed one as it is. */
        int book = lx_out_open(j->out, roots->v, roots->n, j->book, true, err);
        struct stat st;
        lx_result_t rc = LX_OK;
        if (book < 0)
            rc = err->code;
        else if (!s_rendered(j) && fstatat(book, LX_SHARD_MANIFEST, &st, AT_SYMLINK_NOFOLLOW) == 0)
            rc = LX_OK;
        else
            rc = lx_progress_seal(dir, j->book, j->first, j->first + j->n - 1, err);
        if (book >= 0)
            close(book);
        close(dir);
        return rc;
    }
    close(dir);
    if (s_unchanged(j))
        return LX_OK;
    /* The directories of the files written once per export. */
    for (size_t k = 0; k < LX_MANIFEST_N_ONCE; k++) {
        if (!(j->plan.cfg.artifacts & lx_manifest_once[k].art))
            continue;
        if ((dir = lx_out_open(j->out, roots->v, roots->n, lx_manifest_once[k].key, true, err)) < 0)
            return err->code;
        close(dir);
    }
    /* The video target's (not an artifact: any artifacts' PNGs). */
    if (j->plan.cfg.n_video) {
        if ((dir = lx_out_open(j->out, roots->v, roots->n, "video", true, err)) < 0)
            return err->code;
        close(dir);
    }
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.workers = j->workers;
    run.threads = j->max_threads;
    run.elapsed_ms = floor(elapsed_ms);
    run.exported_at = exported_at;
    run.audit_json = audit_json;
    run.stop = stop;
    /* A process killed mid-write (a coordinator before its restart, a
     * worker in shared mode) leaves a temporary file: the export must not
     * carry it. */
    *temps_removed = lx_remove_stale_temps(j->out);
    return lx_manifest_write(j->manifest, j->out, &run, err);
}

lx_result_t co_output_audit_json(const co_state_t *s, const co_job_t *j, char **out,
                                 lx_error_t *err)
{
    *out = NULL;
    if (j->audit_rate < 0)
        return LX_OK;
    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "rate", j->audit_rate);
    cJSON_AddNumberToObject(a, "confirmed", (double)j->audited);
    cJSON_AddNumberToObject(a, "disputed", (double)j->disputed);
    cJSON_AddNumberToObject(a, "rerendered", (double)j->rerendered);
    cJSON *q = cJSON_AddArrayToObject(a, "quarantined");
    for (size_t k = 0; q && k < s->n_quarantined; k++)
        cJSON_AddItemToArray(q, cJSON_CreateString(co_state_label(s, s->quarantined[k])));
    *out = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return *out ? LX_OK : lx_fail(err, LX_E_NOMEM, "out of memory");
}

lx_result_t co_output_rerender_scan(const co_job_t *j, unsigned only, int64_t first, int64_t last,
                                    uint8_t **redo, lx_manifest_t **fresh, lx_repair_scan_t *scan,
                                    lx_error_t *err)
{
    *redo = NULL;
    *fresh = NULL;
    memset(scan, 0, sizeof *scan);
    char path[LX_PATH_MAX];
    if (!lx_path_join(path, j->out, "metadata.json"))
        return lx_fail(err, LX_E_INVALID, "path too long");
    bool has_manifest = access(path, F_OK) == 0;
    if (has_manifest && (only & (LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED))) {
        *fresh = lx_manifest_new(j->program, &j->plan, NULL, err);
        if (!*fresh || lx_repair_scan(j->program, &j->plan, j->out, first, last, only, *fresh, scan,
                                      err) != LX_OK) {
            lx_manifest_destroy(fresh);
            return err->code ? err->code : LX_E_NOMEM;
        }
    }
    *redo = calloc((size_t)j->n, 1);
    if (!*redo) {
        lx_manifest_destroy(fresh);
        lx_free(lx_alloc_default(), scan->damaged);
        scan->damaged = NULL;
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    }
    for (int64_t k = 0; k < scan->n_damaged; k++)
        (*redo)[scan->damaged[k] - j->first] = 1;
    /* A frame the scan keeps from metadata.json must be the result the
     * coordinator accepted (its journal says so after a restart): one
     * that differs (an older metadata.json, an evaluated camera that is
     * not the accepted one) is rendered again rather than kept from two
     * sources. */
    for (int64_t i = 0; *fresh && i < j->n; i++)
        if (!(*redo)[i] && lx_manifest_has_frame(*fresh, j->first + i) &&
            lx_manifest_has_frame(j->manifest, j->first + i) &&
            !lx_manifest_same_frame(j->manifest, *fresh, j->first + i))
            (*redo)[i] = 1;
    lx_free(lx_alloc_default(), scan->damaged);
    scan->damaged = NULL;
    /* Failed frames (asked for) and, without a manifest, every frame that
     * is not done. */
    for (int64_t f = first; f <= last; f++) {
        int64_t i = f - j->first;
        if (j->frames[i].state == CO_F_FAILED && (only & LX_REPAIR_FAILED))
            (*redo)[i] = 1;
        if (!has_manifest && j->frames[i].state == CO_F_PENDING)
            (*redo)[i] = 1;
    }
    return LX_OK;
}

/* A frame file an export writes ("frame_000012.png") or one of its
 * temporary and attempt names (".frame_000012.png.tmp-XXXXXX",
 * ".frame_000012.png.a7"). */
static bool s_frame_file(const char *name)
{
    bool hidden = name[0] == '.';
    name += hidden;
    if (strncmp(name, "frame_", 6) != 0)
        return false;
    const char *p = name + 6;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == name + 6 || *p != '.')
        return false;
    p++;
    size_t ext = strcspn(p, ".");
    return (ext == 3 && (strncmp(p, "png", 3) == 0 || strncmp(p, "exr", 3) == 0 ||
                         strncmp(p, "npy", 3) == 0 || strncmp(p, "svg", 3) == 0)) &&
           (p[3] == '\0' || (hidden && p[3] == '.'));
}

/* Removes the files `ours` names in directory name of dir (and, with
 * depth 2, in its subdirectories: mask/<layer>, control/<kind>), then the
 * directory itself when it is left empty. */
static int64_t s_clear_dir(int dir, const char *name, int depth, bool (*ours)(const char *))
{
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int64_t removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (depth > 1 && S_ISDIR(st.st_mode))
            removed += s_clear_dir(fd, e->d_name, depth - 1, ours);
        else if (!S_ISDIR(st.st_mode) && ours(e->d_name) && unlinkat(fd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    unlinkat(dir, name, AT_REMOVEDIR); /* fails, as it should, when something else is left */
    return removed;
}

/* The video target's files: video/<name>.mp4 (names from the keys). */
static bool s_video_file(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".mp4") == 0;
}

/* Removes the books of the shards in .lattice (their journals,
 * manifests, commands and locks) and the programs they stored. */
static int64_t s_clear_books(int out)
{
    static const char *const files[] = {LX_PROGRESS_FILE, LX_SHARD_MANIFEST, "command.json",
                                        "lock"};
    int64_t removed = 0;
    int books = openat(out, LX_PROGRESS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int fd =
        books < 0 ? -1 : openat(books, "shards", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int64_t a, b;
    while (d && (e = readdir(d))) {
        int sub = lx_shard_name_parse(e->d_name, &a, &b)
                      ? openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : -1;
        for (size_t k = 0; sub >= 0 && k < sizeof files / sizeof *files; k++)
            removed += unlinkat(sub, files[k], 0) == 0;
        if (sub >= 0) {
            close(sub);
            unlinkat(fd, e->d_name, AT_REMOVEDIR);
        }
    }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    if (books < 0)
        return removed;
    unlinkat(books, "shards", AT_REMOVEDIR);
    fd = openat(books, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "program-", 8) == 0 && n > 13 &&
            strcmp(e->d_name + n - 5, ".lxir") == 0)
            removed += unlinkat(books, e->d_name, 0) == 0;
    }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    close(books);
    return removed;
}

/* Removes names[0 .. n) from the directory key of dir, opened without
 * following a link; how many went. */
static int64_t s_unlink_in(int dir, const char *key, const char *const *names, uint32_t n)
{
    int sub = openat(dir, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int64_t removed = 0;
    for (uint32_t i = 0; sub >= 0 && i < n; i++)
        removed += unlinkat(sub, names[i], 0) == 0;
    if (sub >= 0)
        close(sub);
    return removed;
}

int64_t co_output_clear(const co_roots_t *roots, const char *out, lx_error_t *err)
{
    int dir = lx_out_open(out, roots->v, roots->n, NULL, false, err);
    if (dir < 0)
        return -1;
    int64_t removed = unlinkat(dir, "metadata.json", 0) == 0;
    /* Files inside subdirectories are removed through those directories,
     * opened without following a link: a link planted as camera/ or
     * .lattice/ must not lead the removal elsewhere. */
    static const char *const journal[] = {LX_PROGRESS_FILE};
    removed += s_unlink_in(dir, LX_PROGRESS_DIR, journal, 1);
    for (size_t k = 0; k < LX_MANIFEST_N_ONCE; k++)
        removed += s_unlink_in(dir, lx_manifest_once[k].key, lx_manifest_once[k].names,
                               lx_manifest_once[k].n_names);
    removed += s_clear_books(dir);
    unlinkat(dir, LX_PROGRESS_DIR, AT_REMOVEDIR);
    removed += s_clear_dir(dir, "video", 1, s_video_file);
    /* Every artifact's directory; mask/<layer> and control/<kind> hold
     * their files one level down. */
    for (int k = 0; k < LX_ART_COUNT; k++) {
        const char *a = lx_artifact_names[k];
        removed += s_clear_dir(dir, a, strcmp(a, "mask") == 0 || strcmp(a, "control") == 0 ? 2 : 1,
                               s_frame_file);
    }
    close(dir);
    return removed;
}
