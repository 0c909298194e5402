/* lx_export_run: the frame loop and atomic files; lx_manifest (manifest.c)
 * assembles the camera files and metadata.json. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export_internal.h"
#include "lattice/export.h"
#include "lattice/manifest.h"

/* ---- files ---------------------------------------------------------- */

static bool s_join(char *buf, const char *dir, const char *name)
{
    return lx_path_join(buf, dir, name);
}

bool lx_path_join(char buf[LX_PATH_MAX], const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + b + 2 > LX_PATH_MAX)
        return false;
    memcpy(buf, dir, a);
    buf[a] = '/';
    memcpy(buf + a + 1, name, b + 1);
    return true;
}

lx_result_t lx_mkdirs(const char *path, lx_error_t *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return lx_fail(err, LX_E_INVALID, "bad directory '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return lx_fail(err, LX_E_IO, "cannot create '%s': %s", buf, strerror(errno));
        buf[i] = c;
    }
    return LX_OK;
}

lx_result_t lx_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                            lx_error_t *err)
{
    char tmp[LX_PATH_MAX], dst[LX_PATH_MAX], tmpname[300];
    /* mkstemp: a fresh name per call, so two threads or processes writing
     * the same frame (a reassigned chunk) never share a temporary file. */
    int t = snprintf(tmpname, sizeof tmpname, ".%s.tmp-XXXXXX", name);
    if (t < 0 || (size_t)t >= sizeof tmpname || !s_join(dst, dir, name) ||
        !s_join(tmp, dir, tmpname))
        return lx_fail(err, LX_E_INVALID, "path too long: '%s/%s'", dir, name);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return lx_fail(err, LX_E_IO, "cannot write '%s': %s", tmp, strerror(e));
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    /* Only a complete file ever carries the final name. */
    if (!ok || rename(tmp, dst) != 0) {
        int e = errno;
        unlink(tmp);
        return lx_fail(err, LX_E_IO, "cannot write '%s': %s", dst, strerror(e ? e : EIO));
    }
    return LX_OK;
}

bool lx_attempt_file_name(char *out, size_t size, const char *name, uint64_t attempt)
{
    int n = snprintf(out, size, ".%s.a%llu", name, (unsigned long long)attempt);
    return n > 0 && (size_t)n < size;
}

/* ".NAME.tmp-XXXXXX" (lx_write_atomic's temporary files) or ".NAME.a<digits>"
 * (lx_attempt_file_name). */
static bool s_is_temp(const char *name)
{
    size_t n = strlen(name);
    if (name[0] != '.')
        return false;
    if (n > 12 && memcmp(name + n - 11, ".tmp-", 5) == 0)
        return true;
    size_t d = n;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
        d--;
    return d < n && d >= 3 && name[d - 1] == 'a' && name[d - 2] == '.';
}

static unsigned s_remove_temps(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    unsigned removed = 0;
    struct dirent *e;
    char path[LX_PATH_MAX];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            !s_join(path, dir, e->d_name))
            continue;
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0)
            removed += s_remove_temps(path, depth - 1);
        else if (S_ISREG(st.st_mode) && s_is_temp(e->d_name) && unlink(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

unsigned lx_remove_stale_temps(const char *dir)
{
    /* out/, out/rgba/, out/mask/<layer>/: two levels below the root. */
    return s_remove_temps(dir, 2);
}

bool lx_file_sha256_hex(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    lx_sha256_t h;
    bool ok = lx_sha256_init(&h) == LX_OK;
    char buf[1 << 16];
    size_t got;
    while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0)
        lx_sha256_update(&h, buf, got);
    ok = ok && !ferror(f);
    fclose(f);
    lx_digest_t d;
    if (!ok || lx_sha256_final(&h, &d) != LX_OK)
        return false;
    lx_hex(d.bytes, 32, hex);
    return true;
}

char *lx_read_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = lx_malloc(a, cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0 || n > max)
            break;
        if (n == cap) {
            char *bigger = lx_malloc(a, cap * 2 + 1);
            if (bigger)
                memcpy(bigger, buf, n);
            lx_free(a, buf);
            buf = bigger;
            cap *= 2;
        }
    }
    bool bad = ferror(f) || n > max;
    fclose(f);
    if (!buf || bad) {
        lx_free(a, buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- the run -------------------------------------------------------- */

/* Creates out_dir/<key> for every artifact of the frame. */
static lx_result_t s_artifact_dirs(const char *out_dir, const lx_frame_result_t *res,
                                   lx_error_t *err)
{
    for (uint32_t j = 0; j < res->n_files; j++) {
        char dir[LX_PATH_MAX];
        if (!s_join(dir, out_dir, res->files[j].key))
            return lx_fail(err, LX_E_INVALID, "output path too long");
        lx_result_t rc = lx_mkdirs(dir, err);
        if (rc != LX_OK)
            return rc;
    }
    return LX_OK;
}

/* Writes the frame's files and describes them in files (room for
 * res->n_files) for the manifest. */
static lx_result_t s_write_frame(const char *out_dir, const lx_frame_result_t *res,
                                 lx_manifest_file_t *files, lx_error_t *err)
{
    for (uint32_t j = 0; j < res->n_files; j++) {
        const lx_artifact_file_t *a = &res->files[j];
        char dir[LX_PATH_MAX];
        lx_result_t rc = s_join(dir, out_dir, a->key)
                             ? lx_write_atomic(dir, a->name, a->bytes.buf, a->bytes.len, err)
                             : lx_fail(err, LX_E_INVALID, "output path too long");
        if (rc != LX_OK)
            return rc;
        files[j] = (lx_manifest_file_t){a->key, a->name, a->hash, a->content};
    }
    return LX_OK;
}

lx_result_t lx_export_run(const lx_program_t *p, const lx_export_plan_t *plan, const char *out_dir,
                          const lx_export_options_t *opts, lx_error_t *err)
{
    lx_export_options_t def = LX_EXPORT_OPTIONS_INIT;
    if (!opts)
        opts = &def;
    lx_result_t rc = lx_export_check_target(out_dir, p->patch_id, opts->force, err);
    if (rc != LX_OK)
        return rc;
    if ((rc = lx_mkdirs(out_dir, err)) != LX_OK)
        return rc;
    double start = opts->clock ? opts->clock(opts->clock_user) : 0;
    const lx_alloc_t *al = lx_alloc_default();
    lx_manifest_t *m = lx_manifest_new(p, plan, al, err);
    if (!m)
        return err ? err->code : LX_E_NOMEM;
    lx_frame_renderer_t *fr =
        lx_frame_renderer_new(p, plan, opts->threads, opts->clock, opts->clock_user, NULL, err);
    if (!fr) {
        lx_manifest_destroy(&m);
        return err ? err->code : LX_E_NOMEM;
    }
    /* Every frame has the same artifact files, so one array serves all. */
    lx_manifest_file_t *files = NULL;
    size_t n = (size_t)(plan->last - plan->first + 1);
    for (size_t k = 0; k < n && rc == LX_OK; k++) {
        size_t i = opts->reverse ? n - 1 - k : k;
        const lx_frame_result_t *res = NULL;
        rc = lx_frame_renderer_render(fr, plan->first + (int64_t)i, &res, err);
        if (rc != LX_OK)
            break;
        if (!files) {
            files = lx_calloc(al, res->n_files + 1, sizeof *files);
            rc = files ? s_artifact_dirs(out_dir, res, err)
                       : lx_fail(err, LX_E_NOMEM, "out of memory");
            if (rc != LX_OK)
                break;
        }
        double w0 = opts->clock ? opts->clock(opts->clock_user) : 0;
        rc = s_write_frame(out_dir, res, files, err);
        if (rc != LX_OK)
            break;
        ((lx_frame_result_t *)res)->times.write =
            opts->clock ? opts->clock(opts->clock_user) - w0 : 0;
        rc = lx_manifest_add_frame(m, res->frame, res->time.t_ms, &res->camera, files, res->n_files,
                                   err);
        if (rc != LX_OK)
            break;
        if (opts->progress)
            opts->progress(opts->progress_user, (int64_t)k + 1, (int64_t)n, res);
    }
    if (rc == LX_OK) {
        lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
        run.workers = 1;
        run.threads = opts->threads ? opts->threads : 1;
        run.elapsed_ms = opts->clock ? opts->clock(opts->clock_user) - start : 0;
        run.exported_at = opts->exported_at;
        rc = lx_manifest_write(m, out_dir, &run, err);
    }
    lx_free(al, files);
    lx_frame_renderer_destroy(&fr);
    lx_manifest_destroy(&m);
    return rc;
}
