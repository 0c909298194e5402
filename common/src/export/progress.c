/* The progress journal of an export (see lattice/progress.h). */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export_internal.h"
#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/progress.h"

/* The largest journal a resume reads (a million frames of a dozen files
 * take about a gigabyte less than this). */
#define PROGRESS_READ_MAX ((size_t)2 << 30)
/* Frame numbers and ranges a journal may name (the coordinator's own
 * bounds: 2^40 - 1, and 10^8 frames an export). */
#define PROGRESS_FRAME_MAX ((double)((int64_t)1 << 40) - 1)
#define PROGRESS_FRAMES_MAX 100000000.0

void lx_progress_settings_hash(const lx_export_plan_t *plan, char hex[65])
{
    lx_export_plan_t p = *plan;
    p.first = p.last = 0;
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_export_plan_config_json(&p, &sb);
    lx_sha256_hex(sb.buf ? sb.buf : "", sb.len, hex);
    lx_strbuf_release(&sb);
}

void lx_progress_header(const lx_program_t *p, const lx_export_plan_t *plan, lx_strbuf_t *out)
{
    char program[65], settings[65], config[65];
    lx_hex(p->program_hash.bytes, 32, program);
    lx_hex(plan->config_hash.bytes, 32, config);
    lx_progress_settings_hash(plan, settings);
    /* Patch ids are [a-z0-9_-] (the compiler's rule): nothing to escape. */
    lx_strbuf_addf(out,
                   "{\"progress\":1,\"projectId\":\"%s\",\"programHash\":\"%s\","
                   "\"settingsHash\":\"%s\",\"configHash\":\"%s\",\"frames\":[%lld,%lld],"
                   "\"config\":",
                   p->patch_id, program, settings, config, (long long)plan->first,
                   (long long)plan->last);
    lx_export_plan_config_json(plan, out);
    lx_strbuf_adds(out, "}\n");
}

static void s_camera_values(const lx_camera_t *c, double v[LX_PROGRESS_CAMERA_VALUES])
{
    for (int k = 0; k < 3; k++) {
        v[k] = c->position[k];
        v[3 + k] = c->forward[k];
        v[6 + k] = c->up[k];
        v[12 + k] = c->target[k];
    }
    v[9] = c->fov_y_deg;
    v[10] = c->near;
    v[11] = c->far;
    v[15] = c->ortho_height;
    v[16] = (double)c->projection;
}

void lx_progress_frame(int64_t f, double t_ms, const lx_camera_t *cam,
                       const lx_manifest_file_t *files, const lx_file_stamp_t *stamps, uint32_t n,
                       lx_strbuf_t *out)
{
    double v[LX_PROGRESS_CAMERA_VALUES];
    s_camera_values(cam, v);
    /* Hex floats: the exact bits, as the manifest recorded them. */
    lx_strbuf_addf(out, "{\"frame\":%lld,\"t\":\"%a\",\"camera\":[", (long long)f, t_ms);
    for (int k = 0; k < LX_PROGRESS_CAMERA_VALUES; k++)
        lx_strbuf_addf(out, "%s\"%a\"", k ? "," : "", v[k]);
    lx_strbuf_adds(out, "],\"files\":[");
    /* Keys and names passed lx_manifest_check_frame: ids and file names,
     * nothing to escape. */
    /* Times as seconds and nanoseconds: a JSON number is a double, which
     * cannot hold nanoseconds since 1970 exactly. */
    for (uint32_t k = 0; k < n; k++) {
        lx_file_stamp_t s = stamps ? stamps[k] : (lx_file_stamp_t){-1, -1, -1, -1};
        lx_strbuf_addf(out, "%s[\"%s\",\"%s\",\"%s\",\"%s\",%lld,%lld,%lld,%lld,%lld,%lld]",
                       k ? "," : "", files[k].key, files[k].name, files[k].hash, files[k].content,
                       (long long)s.size,
                       (long long)(s.mtime_ns < 0 ? -1 : s.mtime_ns / 1000000000),
                       (long long)(s.mtime_ns < 0 ? 0 : s.mtime_ns % 1000000000),
                       (long long)(s.ctime_ns < 0 ? -1 : s.ctime_ns / 1000000000),
                       (long long)(s.ctime_ns < 0 ? 0 : s.ctime_ns % 1000000000), (long long)s.ino);
    }
    lx_strbuf_adds(out, "]}\n");
}

void lx_progress_book(bool shard, int64_t a, int64_t b, char book[LX_BOOK_MAX])
{
    if (shard)
        snprintf(book, LX_BOOK_MAX, LX_SHARDS_DIR "/%lld-%lld", (long long)a, (long long)b);
    else
        snprintf(book, LX_BOOK_MAX, LX_PROGRESS_DIR);
}

bool lx_shard_name_parse(const char *name, int64_t *a, int64_t *b)
{
    /* Digits only, no sign, no leading zero: one name per range. */
    const char *p = name;
    int64_t v[2];
    for (int k = 0; k < 2; k++) {
        size_t n = strspn(p, "0123456789");
        if (n == 0 || n > 13 || (n > 1 && p[0] == '0') || p[n] != (k ? '\0' : '-'))
            return false;
        v[k] = strtoll(p, NULL, 10);
        p += n + 1;
    }
    if (v[0] > v[1] || (double)v[1] > PROGRESS_FRAME_MAX)
        return false;
    *a = v[0];
    *b = v[1];
    return true;
}

int lx_progress_book_open(int out_fd, const char *book, bool create)
{
    char part[LX_BOOK_MAX];
    int dir = dup(out_fd);
    for (const char *p = book ? book : LX_PROGRESS_DIR; dir >= 0 && *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof part) {
            close(dir);
            errno = EINVAL;
            return -1;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        if (create && mkdirat(dir, part, 0777) != 0 && errno != EEXIST) {
            close(dir);
            return -1;
        }
        int next = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(dir);
        errno = e;
        dir = next;
        p += n + (p[n] == '/');
    }
    return dir;
}

lx_result_t lx_progress_append(int out_fd, const char *book, const char *line, size_t len,
                               bool truncate, lx_error_t *err)
{
    const char *where = book ? book : LX_PROGRESS_DIR;
    int dir = lx_progress_book_open(out_fd, book, true);
    if (dir < 0)
        return lx_fail(err, LX_E_IO, "cannot open '%s': %s", where, strerror(errno));
    int fd = openat(dir, LX_PROGRESS_FILE,
                    O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (truncate ? O_TRUNC : 0),
                    0644);
    close(dir);
    if (fd < 0)
        return lx_fail(err, LX_E_IO, "cannot open '%s/%s': %s", where, LX_PROGRESS_FILE,
                       strerror(errno));
    /* A line torn by a crash is ended first, so that this one starts a
     * line of its own (the torn one stays unreadable, its frame is
     * rendered again). */
    struct stat st;
    char last = '\n';
    if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
        last = '\n';
    bool ok = (last == '\n' || lx_write_all(fd, "\n", 1)) && lx_write_all(fd, line, len);
    int e = errno;
    close(fd);
    return ok ? LX_OK
              : lx_fail(err, LX_E_IO, "cannot write '%s/%s': %s", where, LX_PROGRESS_FILE,
                        strerror(e));
}

/* ---- reading ---------------------------------------------------------- */

/* The whole of regular file fd (closed here) and a NUL: NULL with errno
 * EINVAL for anything but a regular file, EFBIG, ENOMEM. */
static char *s_read_regular(int fd, size_t *len)
{
    struct stat st;
    char *text = NULL;
    int e = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        e = EINVAL;
    else if ((uint64_t)st.st_size > PROGRESS_READ_MAX)
        e = EFBIG;
    else if (!(text = lx_malloc(lx_alloc_default(), (size_t)st.st_size + 1)))
        e = ENOMEM;
    size_t got = 0;
    while (text && got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the file shrank: what was read is the journal */
        got += (size_t)n;
    }
    close(fd);
    if (!text) {
        errno = e;
        return NULL;
    }
    text[got] = '\0';
    *len = got;
    return text;
}

/* The text of file `name` in book (NULL: the export's) of out_dir, read
 * without following a link and only when it is a regular file (a FIFO
 * planted there must not block the coordinator): NULL with errno ENOENT
 * when there is none, another errno when it cannot be read (EINVAL for
 * anything but a regular file, EFBIG). */
static char *s_book_file(const char *out_dir, const char *book, const char *name, size_t *len)
{
    int out = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dir = out < 0 ? -1 : lx_progress_book_open(out, book, false);
    int fd = dir < 0 ? -1 : openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = errno;
    if (out >= 0)
        close(out);
    if (dir >= 0)
        close(dir);
    if (fd < 0) {
        errno = e == ELOOP || e == ENOTDIR ? EINVAL : e;
        return NULL;
    }
    return s_read_regular(fd, len);
}

/* A book's journal: a sealed shard's manifest, else its progress journal. */
static char *s_journal_text(const char *out_dir, const char *book, size_t *len)
{
    char *text = book ? s_book_file(out_dir, book, LX_SHARD_MANIFEST, len) : NULL;
    if (text || (book && errno != ENOENT))
        return text;
    return s_book_file(out_dir, book, LX_PROGRESS_FILE, len);
}

static void s_copy(char *dst, size_t size, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* The export frames a header or metadata.json names ("frames" or
 * "frameRange": [a, b]). */
static bool s_range(const cJSON *o, const char *key, int64_t *a, int64_t *b)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, key);
    const cJSON *x = cJSON_GetArrayItem(r, 0), *y = cJSON_GetArrayItem(r, 1);
    /* Whole numbers within the coordinator's bounds, nothing a crafted
     * journal could overflow an allocation or a cast with. */
    if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y) || !(x->valuedouble >= 0) ||
        !(y->valuedouble >= x->valuedouble) || y->valuedouble > PROGRESS_FRAME_MAX ||
        y->valuedouble - x->valuedouble >= PROGRESS_FRAMES_MAX ||
        x->valuedouble != (double)(int64_t)x->valuedouble ||
        y->valuedouble != (double)(int64_t)y->valuedouble)
        return false;
    *a = (int64_t)x->valuedouble;
    *b = (int64_t)y->valuedouble;
    return true;
}

/* Top-level entries an export writes: anything else is someone else's. */
static bool s_ours(const char *name)
{
    static const char *const names[] = {"metadata.json", LX_PROGRESS_DIR, "video"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
        if (strcmp(name, names[k]) == 0)
            return true;
    /* Every artifact's directory (particles, semantic, edges, svg too). */
    for (int k = 0; k < LX_ART_COUNT; k++)
        if (strcmp(name, lx_artifact_names[k]) == 0)
            return true;
    /* metadata.json's temporary name while it is written. */
    return strncmp(name, ".metadata.json.", 15) == 0;
}

/* Fills pr's identity from the newest header of book's journal; *found
 * says whether there was one. LX_E_IO when the journal cannot be read. */
static lx_result_t s_newest_header(const char *out_dir, const char *book, lx_prior_t *pr,
                                   bool *found, lx_error_t *err)
{
    size_t len = 0;
    char *text = s_journal_text(out_dir, book, &len);
    if (!text && errno != ENOENT)
        return lx_fail(err, LX_E_IO, "cannot read the progress journal of '%s' (%s/%s): %s",
                       out_dir, book ? book : LX_PROGRESS_DIR, LX_PROGRESS_FILE,
                       errno == EINVAL ? "not a regular file" : strerror(errno));
    *found = false;
    for (char *line = text; line && line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end)
            break; /* a torn last line */
        if (strncmp(line, "{\"progress\":", 12) == 0) {
            cJSON *h = cJSON_ParseWithLength(line, (size_t)(end - line));
            int64_t a, b;
            if (h && s_range(h, "frames", &a, &b)) {
                *found = true;
                pr->first = a;
                pr->last = b;
                s_copy(pr->project_id, sizeof pr->project_id, h, "projectId");
                s_copy(pr->program_hash, sizeof pr->program_hash, h, "programHash");
                s_copy(pr->settings_hash, sizeof pr->settings_hash, h, "settingsHash");
                s_copy(pr->config_hash, sizeof pr->config_hash, h, "configHash");
                free(pr->config);
                pr->config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(h, "config"));
            }
            cJSON_Delete(h);
        }
        line = end + 1;
    }
    lx_free(lx_alloc_default(), text);
    return LX_OK;
}

char **lx_shard_names(const char *out_dir, size_t *n)
{
    *n = 0;
    char path[LX_PATH_MAX];
    DIR *d = lx_path_join(path, out_dir, LX_SHARDS_DIR) ? opendir(path) : NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    int64_t a, b;
    while (d && (e = readdir(d)))
        if (lx_shard_name_parse(e->d_name, &a, &b)) {
            if (*n == cap) {
                char **more = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
                if (!more)
                    break;
                names = more;
            }
            if (!(names[*n] = strdup(e->d_name)))
                break;
            (*n)++;
        }
    if (d)
        closedir(d);
    /* By first frame, then last: an insertion sort (a few hundred shards). */
    for (size_t i = 1; i < *n; i++)
        for (size_t k = i; k > 0; k--) {
            int64_t a0, b0, a1, b1;
            lx_shard_name_parse(names[k - 1], &a0, &b0);
            lx_shard_name_parse(names[k], &a1, &b1);
            if (a0 < a1 || (a0 == a1 && b0 <= b1))
                break;
            char *t = names[k - 1];
            names[k - 1] = names[k];
            names[k] = t;
        }
    return names;
}

/* The shards' headers: the export's identity when it has no other. */
static lx_result_t s_shards(const char *out_dir, lx_prior_t *pr, lx_error_t *err)
{
    size_t n = 0;
    char **names = lx_shard_names(out_dir, &n);
    lx_result_t rc = LX_OK;
    bool own = pr->journal || pr->manifest;
    for (size_t i = 0; i < n; i++) {
        char book[LX_BOOK_MAX];
        snprintf(book, sizeof book, LX_SHARDS_DIR "/%s", names[i]);
        lx_prior_t h = {0};
        bool found = false;
        if (rc == LX_OK)
            rc = s_newest_header(out_dir, book, &h, &found, err);
        if (found && !pr->shards && !own) {
            pr->first = h.first;
            pr->last = h.last;
            memcpy(pr->project_id, h.project_id, sizeof h.project_id);
            memcpy(pr->program_hash, h.program_hash, sizeof h.program_hash);
            memcpy(pr->settings_hash, h.settings_hash, sizeof h.settings_hash);
            memcpy(pr->config_hash, h.config_hash, sizeof h.config_hash);
            free(pr->config);
            pr->config = h.config;
            h.config = NULL;
        } else if (found && (strcmp(h.program_hash, pr->program_hash) != 0 ||
                             strcmp(h.settings_hash, pr->settings_hash) != 0 ||
                             /* Shards of one export plan the same frames; the
                              * export itself may have grown past them since. */
                             (!own && strcmp(h.config_hash, pr->config_hash) != 0))) {
            pr->mixed = true;
        }
        pr->shards += found;
        free(h.config);
        free(names[i]);
    }
    free(names);
    return rc;
}

lx_result_t lx_prior_read(const char *out_dir, lx_prior_t *pr, lx_error_t *err)
{
    memset(pr, 0, sizeof *pr);
    DIR *d = opendir(out_dir);
    if (!d) {
        if (errno == ENOENT)
            return LX_OK;
        return lx_fail(err, LX_E_IO, "cannot open '%s': %s", out_dir, strerror(errno));
    }
    pr->exists = true;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && !s_ours(e->d_name)) {
            if (!pr->n_foreign++)
                snprintf(pr->foreign_name, sizeof pr->foreign_name, "%s", e->d_name);
            pr->foreign = true;
        }
    closedir(d);
    /* The journal's newest header describes the export as it grows. A
     * journal that exists and cannot be read is an error: taking it for
     * none would start the export afresh over its frames. */
    lx_result_t rc = s_newest_header(out_dir, NULL, pr, &pr->journal, err);
    if (rc != LX_OK)
        return rc;
    cJSON *m = lx_manifest_read(out_dir, NULL);
    int64_t a, b;
    if (m && s_range(m, "frameRange", &a, &b)) {
        pr->manifest = true;
        s_copy(pr->metadata_program, sizeof pr->metadata_program, m, "programHash");
        s_copy(pr->metadata_config, sizeof pr->metadata_config, m, "configHash");
        /* Written last: it lists every frame of the range it names. */
        pr->complete = !pr->journal || (a == pr->first && b == pr->last);
        if (!pr->journal) {
            pr->first = a;
            pr->last = b;
            s_copy(pr->project_id, sizeof pr->project_id, m, "projectId");
            s_copy(pr->program_hash, sizeof pr->program_hash, m, "programHash");
            s_copy(pr->config_hash, sizeof pr->config_hash, m, "configHash");
            pr->config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(m, "config"));
        }
    } else {
        /* A metadata.json that is not an export's is someone else's. */
        char path[LX_PATH_MAX];
        pr->foreign |= lx_path_join(path, out_dir, "metadata.json") && access(path, F_OK) == 0;
    }
    cJSON_Delete(m);
    return s_shards(out_dir, pr, err);
}

void lx_prior_release(lx_prior_t *pr)
{
    free(pr->config);
    pr->config = NULL;
}

lx_file_stamp_t lx_file_stamp_of(const struct stat *st)
{
    return (lx_file_stamp_t){
        (int64_t)st->st_size, (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
        (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec, (int64_t)st->st_ino};
}

/* Directory key ("rgba", "mask/cards") of out_dir, each component opened
 * without following a link; -1 when it cannot be. */
static int s_open_key(const char *out_dir, const char *key)
{
    int dir = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char part[LX_MANIFEST_KEY_MAX + 1];
    for (const char *p = key; dir >= 0 && *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n > LX_MANIFEST_KEY_MAX) {
            close(dir);
            return -1;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        int next = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dir);
        dir = next;
        p += n + (p[n] == '/');
    }
    return dir;
}

/* Whether out_dir/key/name is the file a journal line lists: its stamp
 * *st (no read; rehash: never trusted), else its SHA-256. Links are never
 * followed. *st becomes the file's stamp as it is now. */
static bool s_intact(const char *out_dir, const lx_manifest_file_t *f, lx_file_stamp_t *st,
                     bool rehash, lx_resume_stats_t *stats)
{
    char hex[65];
    struct stat s;
    int dir = s_open_key(out_dir, f->key);
    if (dir < 0 || fstatat(dir, f->name, &s, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(s.st_mode)) {
        if (dir >= 0)
            close(dir);
        stats->damaged++;
        return false;
    }
    lx_file_stamp_t now = lx_file_stamp_of(&s);
    if (!rehash && st->size >= 0 && st->mtime_ns >= 0 && st->ctime_ns >= 0 && st->ino >= 0 &&
        now.size == st->size && now.mtime_ns == st->mtime_ns && now.ctime_ns == st->ctime_ns &&
        now.ino == st->ino) {
        close(dir);
        stats->trusted++;
        return true;
    }
    stats->rehashed++;
    bool same = lx_file_sha256_at(dir, f->name, hex) && strcmp(hex, f->hash) == 0;
    close(dir);
    stats->damaged += !same;
    /* Read after the stamp was taken: a file changed since is caught by
     * the next scan's stamp. */
    *st = now;
    return same;
}

/* A stamp's number: a whole number in [-1, max] (a crafted journal must
 * not overflow a conversion). */
static bool s_num(const cJSON *v, double max, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -1) || !(v->valuedouble <= max) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

/* A stamp from its six numbers: size, mtime s and ns, ctime s and ns,
 * inode. */
static bool s_stamp(const cJSON *const x[6], lx_file_stamp_t *st)
{
    int64_t v[6];
    static const double max[6] = {9007199254740992.0, 1e11, 999999999, 1e11, 999999999,
                                  9007199254740992.0};
    for (int k = 0; k < 6; k++)
        if (!s_num(x[k], max[k], &v[k]))
            return false;
    /* A time past 9e9 s (the year 2255) would overflow in nanoseconds: it
     * is unknown, and the file is re-hashed. */
    for (int k = 1; k <= 3; k += 2)
        if (v[k] > 9000000000)
            v[k] = -1;
    *st = (lx_file_stamp_t){v[0], v[1] < 0 ? -1 : v[1] * 1000000000 + (v[2] > 0 ? v[2] : 0),
                            v[3] < 0 ? -1 : v[3] * 1000000000 + (v[4] > 0 ? v[4] : 0), v[5]};
    return true;
}

/* A finite hex float (a time or camera value the manifest can hold). */
static bool s_hexf(const cJSON *v, double *out)
{
    char *end;
    if (!cJSON_IsString(v))
        return false;
    *out = strtod(v->valuestring, &end);
    return end != v->valuestring && *end == '\0' && isfinite(*out);
}

/* Frame f's line: checked against m and the disk, then kept. */
static lx_result_t s_frame_line(const lx_manifest_t *m, int64_t f, const char *out_dir,
                                const char *line, size_t len, bool rehash, lx_resume_keep_fn keep,
                                void *user, bool *kept, lx_resume_stats_t *stats, lx_error_t *err)
{
    cJSON *o = cJSON_ParseWithLength(line, len);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(o, "frame");
    const cJSON *cam = cJSON_GetObjectItemCaseSensitive(o, "camera");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files");
    double t, v[LX_PROGRESS_CAMERA_VALUES];
    /* The frame the line names is the one it was filed under (the index
     * reads the number's text; "1e1" must not stand for frame 10). */
    bool ok = cJSON_IsNumber(fr) && fr->valuedouble == (double)f &&
              s_hexf(cJSON_GetObjectItemCaseSensitive(o, "t"), &t) &&
              cJSON_GetArraySize(cam) == LX_PROGRESS_CAMERA_VALUES && cJSON_IsArray(files);
    for (int k = 0; ok && k < LX_PROGRESS_CAMERA_VALUES; k++)
        ok = s_hexf(cJSON_GetArrayItem(cam, k), &v[k]);
    uint32_t n = ok ? (uint32_t)cJSON_GetArraySize(files) : 0;
    lx_manifest_file_t *fs = calloc(n + 1, sizeof *fs);
    lx_file_stamp_t *st = calloc(n + 1, sizeof *st);
    lx_result_t rc = fs && st ? LX_OK : lx_fail(err, LX_E_NOMEM, "out of memory");
    uint32_t k = 0;
    for (const cJSON *e = ok ? files->child : NULL; e && rc == LX_OK; e = e->next, k++) {
        const cJSON *x[10];
        for (int c = 0; c < 10; c++)
            x[c] = cJSON_GetArrayItem(e, c);
        if (!cJSON_IsString(x[0]) || !cJSON_IsString(x[1]) || !cJSON_IsString(x[2]) ||
            !cJSON_IsString(x[3]) || !s_stamp(&x[4], &st[k])) {
            ok = false;
            break;
        }
        fs[k] = (lx_manifest_file_t){x[0]->valuestring, x[1]->valuestring, x[2]->valuestring,
                                     x[3]->valuestring};
    }
    /* The planned files only, every one intact: a line of other settings
     * (or a damaged file) leaves its frame to be rendered. */
    ok = ok && rc == LX_OK && lx_manifest_check_frame(m, f, fs, n, NULL) == LX_OK;
    for (uint32_t i = 0; ok && i < n; i++)
        ok = s_intact(out_dir, &fs[i], &st[i], rehash, stats);
    if (ok) {
        lx_camera_t c = {0};
        for (int i = 0; i < 3; i++) {
            c.position[i] = v[i];
            c.forward[i] = v[3 + i];
            c.up[i] = v[6 + i];
            c.target[i] = v[12 + i];
        }
        c.fov_y_deg = v[9];
        c.near = v[10];
        c.far = v[11];
        c.ortho_height = v[15];
        c.projection = v[16] == 1 ? LX_PROJ_ORTHOGRAPHIC : LX_PROJ_PERSPECTIVE;
        rc = keep(user, f, t, &c, fs, st, n, err);
        stats->kept += rc == LX_OK;
        *kept = rc == LX_OK;
    }
    free(fs);
    free(st);
    cJSON_Delete(o);
    return rc;
}

/* Where each frame's newest line of the journal text starts, for the
 * frames of [first, last] it names: at[f - *lo] for f in *lo..*hi,
 * SIZE_MAX for a frame without a line (at holds last - first + 1). *lo >
 * *hi when it names none. Only the span named is touched: a shard's
 * journal costs its own frames, not the whole export's. */
static void s_index(const char *text, size_t len, int64_t first, int64_t last, size_t *at,
                    int64_t *lo, int64_t *hi)
{
    *lo = last + 1;
    *hi = first - 1;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; pass && i <= *hi - *lo; i++)
            at[i] = SIZE_MAX;
        for (const char *line = text; line < text + len;) {
            const char *end = memchr(line, '\n', (size_t)(text + len - line));
            if (!end)
                break; /* a torn last line */
            long long f =
                strncmp(line, "{\"frame\":", 9) == 0 ? strtoll(line + 9, NULL, 10) : first - 1;
            if (f >= first && f <= last) {
                if (pass)
                    at[f - *lo] = (size_t)(line - text);
                *lo = f < *lo ? f : *lo;
                *hi = f > *hi ? f : *hi;
            }
            line = end + 1;
        }
    }
}

lx_result_t lx_resume_scan(const lx_manifest_t *m, const char *out_dir, const char *const *books,
                           size_t n_books, bool rehash, lx_resume_keep_fn keep, void *user,
                           lx_resume_stats_t *stats, lx_error_t *err)
{
    memset(stats, 0, sizeof *stats);
    const lx_export_plan_t *plan = lx_manifest_plan(m);
    size_t n = (size_t)(plan->last - plan->first + 1);
    /* Per journal, where each frame's newest line starts: read in frame
     * order, whatever order the frames were rendered in. */
    size_t *at = calloc(n, sizeof *at);
    uint8_t *kept = calloc(n, 1);
    lx_result_t rc =
        at && kept ? LX_OK : lx_fail(err, LX_E_NOMEM, "out of memory for %zu frames", n);
    for (size_t b = 0; rc == LX_OK && b < (books ? n_books : 1); b++) {
        const char *book = books ? books[b] : NULL;
        size_t len = 0;
        char *text = s_journal_text(out_dir, book, &len);
        if (!text) {
            if (errno != ENOENT)
                rc = lx_fail(err, LX_E_IO, "cannot read the progress journal of '%s' (%s): %s",
                             out_dir, book ? book : LX_PROGRESS_DIR, strerror(errno));
            continue;
        }
        int64_t lo, hi;
        s_index(text, len, plan->first, plan->last, at, &lo, &hi);
        for (int64_t f = lo; rc == LX_OK && f <= hi; f++) {
            size_t i = (size_t)(f - plan->first);
            if (at[f - lo] == SIZE_MAX || kept[i])
                continue;
            const char *line = text + at[f - lo];
            const char *end = memchr(line, '\n', len - at[f - lo]);
            bool k = false;
            rc = s_frame_line(m, f, out_dir, line, (size_t)(end - line), rehash, keep, user, &k,
                              stats, err);
            kept[i] = k;
        }
        lx_free(lx_alloc_default(), text);
    }
    free(at);
    free(kept);
    return rc;
}

/* Whether [line, end) is a header the readers take (lx_prior_read). */
static bool s_header_ok(const char *line, const char *end)
{
    cJSON *h = cJSON_ParseWithLength(line, (size_t)(end - line));
    int64_t a, b;
    bool ok = h && s_range(h, "frames", &a, &b);
    cJSON_Delete(h);
    return ok;
}

/* Whether [line, end) is a line of frame f with files (not a withdrawal):
 * what a resume may keep, once its files are checked. */
static bool s_frame_ok(const char *line, const char *end, int64_t f)
{
    cJSON *o = cJSON_ParseWithLength(line, (size_t)(end - line));
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(o, "frame");
    bool ok = cJSON_IsNumber(fr) && fr->valuedouble == (double)f &&
              cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "files")) > 0;
    cJSON_Delete(o);
    return ok;
}

lx_result_t lx_progress_seal(int out_fd, const char *book, int64_t a, int64_t b, lx_error_t *err)
{
    /* The journal only: a stale manifest must never seal itself again. */
    int dir = lx_progress_book_open(out_fd, book, false);
    int fd = dir < 0
                 ? -1
                 : openat(dir, LX_PROGRESS_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    size_t len = 0;
    char *text = fd < 0 ? NULL : s_read_regular(fd, &len);
    size_t n = (size_t)(b - a + 1);
    size_t *at = text ? calloc(n, sizeof *at) : NULL;
    lx_strbuf_t out;
    lx_strbuf_init(&out, NULL);
    lx_result_t rc = LX_OK;
    if (!at) {
        rc = lx_fail(err, text ? LX_E_NOMEM : LX_E_IO, "cannot read '%s/%s'", book,
                     LX_PROGRESS_FILE);
    } else {
        /* The newest header, then each frame's newest line. */
        const char *header = NULL, *header_end = NULL;
        for (const char *line = text; line < text + len;) {
            const char *end = memchr(line, '\n', (size_t)(text + len - line));
            if (!end)
                break;
            if (strncmp(line, "{\"progress\":", 12) == 0 && s_header_ok(line, end)) {
                header = line;
                header_end = end + 1;
            }
            line = end + 1;
        }
        int64_t lo, hi;
        s_index(text, len, a, b, at, &lo, &hi);
        if (header)
            lx_strbuf_add(&out, header, (size_t)(header_end - header));
        for (size_t i = 0; rc == LX_OK && i < n; i++) {
            int64_t f = a + (int64_t)i;
            size_t pos = f >= lo && f <= hi ? at[f - lo] : SIZE_MAX;
            const char *line = pos == SIZE_MAX ? NULL : text + pos;
            const char *end = line ? memchr(line, '\n', len - pos) : NULL;
            /* A withdrawn frame's line has no files. */
            if (!header || !line || !s_frame_ok(line, end, f))
                rc = lx_fail(err, LX_E_INVALID, "'%s/%s' lacks frame %lld", book, LX_PROGRESS_FILE,
                             (long long)(a + (int64_t)i));
            else
                lx_strbuf_add(&out, line, (size_t)(end + 1 - line));
        }
    }
    if (rc == LX_OK && out.failed)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK)
        rc = lx_write_atomic_at(dir, book, LX_SHARD_MANIFEST, out.buf, out.len, err);
    if (dir >= 0)
        close(dir);
    lx_strbuf_release(&out);
    free(at);
    lx_free(lx_alloc_default(), text);
    return rc;
}

lx_result_t lx_progress_book_config(const char *out_dir, const char *book, char hex[65],
                                    lx_error_t *err)
{
    lx_prior_t h = {0};
    bool found = false;
    lx_result_t rc = s_newest_header(out_dir, book, &h, &found, err);
    snprintf(hex, 65, "%s", found ? h.config_hash : "");
    free(h.config);
    return rc;
}

lx_result_t lx_resume_keep_record(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                                  const lx_manifest_file_t *files, const lx_file_stamp_t *stamps,
                                  uint32_t n, lx_error_t *err)
{
    (void)stamps;
    return lx_manifest_add_frame(user, f, t_ms, cam, files, n, err);
}

lx_result_t lx_progress_verify(const char *out_dir, lx_verify_report_t *rep, lx_error_t *err)
{
    lx_prior_t pr;
    lx_result_t rc = lx_prior_read(out_dir, &pr, err);
    lx_prior_release(&pr);
    if (rc != LX_OK)
        return rc;
    size_t len = 0;
    char *text = pr.journal ? s_journal_text(out_dir, NULL, &len) : NULL;
    if (!text && pr.shards)
        return lx_fail(err, LX_E_IO,
                       "'%s' holds %u shard%s of an export and no metadata.json yet: `lattice "
                       "assemble %s` merges them",
                       out_dir, pr.shards, pr.shards == 1 ? "" : "s", out_dir);
    if (!text)
        return lx_fail(err, LX_E_IO, "'%s' has neither metadata.json nor a progress journal",
                       out_dir);
    size_t n = (size_t)(pr.last - pr.first + 1);
    size_t *at = calloc(n, sizeof *at);
    if (!at) {
        lx_free(lx_alloc_default(), text);
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    }
    int64_t lo, hi, done = 0;
    s_index(text, len, pr.first, pr.last, at, &lo, &hi);
    for (int64_t i = 0; i <= hi - lo; i++) {
        if (at[i] == SIZE_MAX)
            continue;
        const char *line = text + at[i];
        cJSON *o =
            cJSON_ParseWithLength(line, (size_t)((char *)memchr(line, '\n', len - at[i]) - line));
        const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files");
        /* Done: a line with files, every one of them intact. */
        uint64_t problems = rep->missing + rep->mismatched;
        bool listed = cJSON_GetArraySize(files) > 0;
        for (const cJSON *f = cJSON_IsArray(files) ? files->child : NULL; f; f = f->next) {
            const cJSON *key = cJSON_GetArrayItem(f, 0), *name = cJSON_GetArrayItem(f, 1),
                        *hash = cJSON_GetArrayItem(f, 2);
            char path[LX_PATH_MAX], hex[65];
            if (!cJSON_IsString(key) || !cJSON_IsString(name) || !cJSON_IsString(hash) ||
                !lx_manifest_key_valid(key->valuestring) || strchr(name->valuestring, '/'))
                continue;
            rep->checked++;
            if (!lx_path_join(path, out_dir, key->valuestring) ||
                !lx_path_join(path, path, name->valuestring) || !lx_file_sha256_hex(path, hex)) {
                lx_strbuf_addf(&rep->text, "missing    %s/%s\n", key->valuestring,
                               name->valuestring);
                rep->missing++;
            } else if (strcmp(hex, hash->valuestring) != 0) {
                lx_strbuf_addf(&rep->text, "mismatched %s/%s\n", key->valuestring,
                               name->valuestring);
                rep->mismatched++;
            }
        }
        done += listed && rep->missing + rep->mismatched == problems;
        cJSON_Delete(o);
    }
    lx_strbuf_addf(&rep->text,
                   "incomplete %lld of %lld frames (%lld-%lld) are done and there is no "
                   "metadata.json: run the export again to resume it\n",
                   (long long)done, (long long)n, (long long)pr.first, (long long)pr.last);
    free(at);
    lx_free(lx_alloc_default(), text);
    return LX_E_VERIFY;
}
