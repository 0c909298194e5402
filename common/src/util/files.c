/* Paths, directories, atomic writes, whole-file reads and file hashes (see
 * files.h for the durability policy). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "lattice/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lattice/digest.h"

bool lx_path_join(char out[LX_PATH_MAX], const char *dir, const char *rel)
{
    size_t a = strlen(dir), b = strlen(rel);
    if (a == 0 || b == 0)
        return false;
    bool slash = dir[a - 1] != '/';
    if (a + slash + b >= LX_PATH_MAX)
        return false;
    /* memmove: out may be dir. rel is copied first, past dir's end, so that
     * moving dir (a no-op when out == dir) cannot overwrite it. */
    memmove(out + a + slash, rel, b + 1);
    memmove(out, dir, a);
    if (slash)
        out[a] = '/';
    return true;
}

lx_result_t lx_mkdirs(const char *path, lx_error_t *err)
{
    char buf[LX_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return lx_fail(err, LX_E_INVALID, "bad directory '%.200s'", path);
    memcpy(buf, path, n + 1);
    /* Every prefix that ends before a '/' (and the whole path), parents
     * first; EEXIST is success, whether another thread made it or not. */
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

bool lx_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        len -= (size_t)k;
    }
    return true;
}

lx_result_t lx_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                            lx_error_t *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lx_fail(err, LX_E_IO, "cannot open directory '%s': %s", dir, strerror(errno));
    lx_result_t rc = lx_write_atomic_at(fd, dir, name, data, len, err);
    close(fd);
    return rc;
}

lx_result_t lx_write_atomic_at(int dir, const char *label, const char *name, const void *data,
                               size_t len, lx_error_t *err)
{
    /* A fresh name per call, so two threads or processes writing the same
     * frame (a reassigned chunk) never share a temporary file; O_EXCL and
     * O_NOFOLLOW so a name planted in advance is never written through. */
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char tmp[LX_PATH_MAX];
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 16; tries++) {
        unsigned char r[6];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            return lx_fail(err, LX_E_IO, "getrandom: %s", strerror(errno));
        char suffix[7];
        for (int k = 0; k < 6; k++)
            suffix[k] = digits[r[k] % 62];
        suffix[6] = '\0';
        int t = snprintf(tmp, sizeof tmp, ".%s.tmp-%s", name, suffix);
        if (t < 0 || (size_t)t >= sizeof tmp)
            return lx_fail(err, LX_E_INVALID, "file name too long: '%.200s'", name);
        fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        return lx_fail(err, LX_E_IO, "cannot create a temporary file in '%s': %s", label,
                       strerror(errno));
    /* The data reaches the disk before the rename can: otherwise a power
     * loss could leave the final name on an empty or partial file. The
     * umask must not make an export unreadable to others, hence fchmod. */
    bool ok = fchmod(fd, 0644) == 0 && lx_write_all(fd, data, len) && fdatasync(fd) == 0;
    int e = ok ? 0 : errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && renameat(dir, tmp, dir, name) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlinkat(dir, tmp, 0);
        return lx_fail(err, LX_E_IO, "cannot write '%s/%s': %s", label, name,
                       strerror(e ? e : EIO));
    }
    return LX_OK;
}

/* path split at its last '/' into its directory and name: "x" is in ".",
 * "/x" in "/". */
static lx_result_t s_split(const char *path, char dir[LX_PATH_MAX], const char **name,
                           lx_error_t *err)
{
    const char *slash = strrchr(path, '/');
    size_t d = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (d >= LX_PATH_MAX)
        return lx_fail(err, LX_E_INVALID, "path too long: '%.200s'", path);
    memcpy(dir, slash ? path : ".", d);
    dir[d] = '\0';
    *name = slash ? slash + 1 : path;
    if (!**name)
        return lx_fail(err, LX_E_INVALID, "'%.200s' names a directory, not a file", path);
    return LX_OK;
}

static lx_result_t s_write_path_atomic(const char *path, const void *data, size_t len,
                                       lx_error_t *err)
{
    char dir[LX_PATH_MAX];
    const char *name = NULL;
    lx_result_t rc = s_split(path, dir, &name, err);
    return rc == LX_OK ? lx_write_atomic(dir, name, data, len, err) : rc;
}

/* A device or FIFO: written where it is. No O_CREAT (it exists), no
 * O_TRUNC (a device has no length to cut), nothing renamed. */
static lx_result_t s_write_in_place(const char *path, const void *data, size_t len,
                                    lx_error_t *err)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return lx_fail(err, LX_E_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        /* Replaced by a regular file since it was looked at: that one is
         * replaced whole, as any regular file. */
        close(fd);
        return s_write_path_atomic(path, data, len, err);
    }
    bool ok = lx_write_all(fd, data, len);
    int e = ok ? 0 : errno;
    if (close(fd) != 0 && ok && errno != EINTR) {
        ok = false;
        e = errno;
    }
    if (!ok)
        return lx_fail(err, LX_E_IO, "cannot write '%s': %s", path, strerror(e ? e : EIO));
    return LX_OK;
}

lx_result_t lx_write_output(const char *path, const void *data, size_t len, lx_error_t *err)
{
    if (!*path)
        return lx_fail(err, LX_E_INVALID, "%s", "empty output path");
    if (strlen(path) >= LX_PATH_MAX)
        return lx_fail(err, LX_E_INVALID, "path too long: '%.200s'", path);
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            return lx_fail(err, LX_E_IO, "cannot write '%s': %s", path, strerror(errno));
        return s_write_path_atomic(path, data, len, err);
    }
    bool link = S_ISLNK(st.st_mode);
    if (link && stat(path, &st) != 0)
        return lx_fail(err, LX_E_INVALID,
                       "'%s' is a symbolic link that leads nowhere (%s): not replaced", path,
                       strerror(errno));
    if (S_ISREG(st.st_mode) && link) {
        /* The file the link leads to is replaced in its own directory;
         * the link stays. */
        char real[PATH_MAX];
        if (!realpath(path, real))
            return lx_fail(err, LX_E_IO, "cannot resolve '%s': %s", path, strerror(errno));
        return s_write_path_atomic(real, data, len, err);
    }
    if (S_ISREG(st.st_mode))
        return s_write_path_atomic(path, data, len, err);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))
        return s_write_in_place(path, data, len, err);
    if (S_ISDIR(st.st_mode))
        return lx_fail(err, LX_E_INVALID, "'%s' is a directory%s: not replaced", path,
                       link ? " (through a symbolic link)" : "");
    return lx_fail(err, LX_E_INVALID,
                   "'%s' is a socket or another special file: an output is a file, a device "
                   "or a FIFO",
                   path);
}

/* ---- output roots ------------------------------------------------------ */

static bool s_out_form(const char *out);

lx_result_t lx_out_root_resolve(const char *root, char out[LX_PATH_MAX], lx_error_t *err)
{
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    if (len >= LX_PATH_MAX)
        return lx_fail(err, LX_E_INVALID, "output root '%.200s' is too long", root);
    memcpy(out, root, len);
    out[len] = '\0';
    if (!s_out_form(out))
        return lx_fail(err, LX_E_INVALID,
                       "output root '%s' must be an absolute path without '.' or '..' components",
                       root);
    struct stat st;
    if (stat(out, &st) != 0)
        return lx_fail(err, LX_E_IO, "output root '%s': %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return lx_fail(err, LX_E_IO, "output root '%s' is not a directory", root);
    return LX_OK;
}

/* The length of the root out is below (0 for "/"), or -1: out must be
 * root itself or continue with '/' after it; the longest root wins. */
static long s_root_of(const char *out, const char *const *roots, size_t n)
{
    if (n == 0)
        return 0;
    long best = -1;
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(roots[k]);
        while (len > 0 && roots[k][len - 1] == '/')
            len--; /* "/" itself is length 0 */
        if (strncmp(out, roots[k], len) == 0 && (out[len] == '/' || out[len] == '\0') &&
            (long)len > best)
            best = (long)len;
    }
    return best;
}

/* Checks out's form: absolute, components neither empty, "." nor "..". */
static bool s_out_form(const char *out)
{
    if (out[0] != '/' || strlen(out) >= LX_PATH_MAX)
        return false;
    for (const char *p = out + 1; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += len + (e != NULL);
        if (e && !*p)
            return false; /* a trailing '/' */
    }
    return true;
}

/* Walks from the root of out through the components of rel (a '/'
 * separated path), each opened O_NOFOLLOW below the previous one. With
 * create, missing directories are made; with tolerate_missing, the walk
 * stops successfully at the first missing one (returning -2). */
static int s_walk(int fd, const char *shown, const char *rel, bool create, bool tolerate_missing,
                  lx_error_t *err)
{
    char comp[LX_PATH_MAX];
    const char *p = rel;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        memcpy(comp, p, len);
        comp[len] = '\0';
        p += len + (e != NULL);
        if (len == 0)
            continue;
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0777) != 0 && errno != EEXIST) {
                int e2 = errno;
                close(fd);
                lx_fail(err, LX_E_IO, "cannot create '%s' in '%s': %s", comp, shown,
                        strerror(e2));
                return -1;
            }
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e2 = errno;
        close(fd);
        if (next < 0 && e2 == ENOENT && tolerate_missing)
            return -2;
        if (next < 0) {
            if (e2 == ELOOP || e2 == ENOTDIR)
                lx_fail(err, LX_E_INVALID,
                        "'%s' in '%s' is a symbolic link or not a directory: output directories "
                        "are never reached through links",
                        comp, shown);
            else
                lx_fail(err, LX_E_IO, "cannot open '%s' in '%s': %s", comp, shown, strerror(e2));
            return -1;
        }
        fd = next;
    }
    return fd;
}

static int s_out_open(const char *out, const char *const *roots, size_t n, const char *sub,
                      bool create_out, bool create_sub, bool tolerate_missing, lx_error_t *err)
{
    if (!s_out_form(out)) {
        lx_fail(err, LX_E_INVALID,
                "output directory '%.300s' must be an absolute path without empty, '.' or '..' "
                "components",
                out);
        return -1;
    }
    long root = s_root_of(out, roots, n);
    if (root < 0) {
        char list[1024] = "";
        size_t used = 0;
        for (size_t k = 0; k < n && used < sizeof list; k++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                     roots[k]);
        lx_fail(err, LX_E_INVALID, "output directory '%.300s' is outside the allowed roots (%s)",
                out, list);
        return -1;
    }
    char root_path[LX_PATH_MAX];
    memcpy(root_path, out, (size_t)root);
    root_path[root ? root : 1] = '\0';
    if (!root)
        root_path[0] = '/';
    int fd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        lx_fail(err, LX_E_IO, "cannot open output root '%s': %s", root_path, strerror(errno));
        return -1;
    }
    fd = s_walk(fd, out, out + root, create_out, tolerate_missing, err);
    if (fd >= 0 && sub && *sub)
        fd = s_walk(fd, out, sub, create_sub, tolerate_missing, err);
    return fd;
}

lx_result_t lx_out_check(const char *out, const char *const *roots, size_t n, lx_error_t *err)
{
    int fd = s_out_open(out, roots, n, NULL, false, false, true, err);
    if (fd == -1)
        return err->code;
    if (fd >= 0)
        close(fd);
    return LX_OK;
}

int lx_out_open(const char *out, const char *const *roots, size_t n, const char *sub, bool create,
                lx_error_t *err)
{
    int fd = s_out_open(out, roots, n, sub, false, create, false, err);
    return fd >= 0 ? fd : -1;
}

lx_result_t lx_out_make(const char *out, const char *const *roots, size_t n, lx_error_t *err)
{
    int fd = s_out_open(out, roots, n, NULL, true, false, false, err);
    if (fd < 0)
        return err->code;
    close(fd);
    return LX_OK;
}

bool lx_attempt_file_name(char *out, size_t size, const char *name, uint64_t attempt)
{
    int n = snprintf(out, size, ".%s.a%llu", name, (unsigned long long)attempt);
    return n > 0 && (size_t)n < size;
}

/* ".NAME.tmp-XXXXXX" (lx_write_atomic's temporary files) or ".NAME.a<digits>"
 * (lx_attempt_file_name), with a non-empty NAME. */
static bool s_is_temp(const char *name)
{
    size_t n = strlen(name);
    if (name[0] != '.')
        return false;
    /* ".tmp-" and mkstemp's six characters: 11 bytes, after "." NAME. */
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
            !lx_path_join(path, dir, e->d_name))
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

/* SHA-256 of what fd reads until its end; closes fd. */
static bool s_sha256_fd(int fd, char hex[65])
{
    if (fd < 0)
        return false;
    lx_sha256_t h;
    bool ok = lx_sha256_init(&h) == LX_OK;
    char buf[1 << 16];
    ssize_t got;
    while (ok && (got = read(fd, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            ok = false;
        else
            lx_sha256_update(&h, buf, (size_t)got);
    }
    close(fd);
    lx_digest_t d;
    /* lx_sha256_final frees the hasher, so it runs whenever init did. */
    if (lx_sha256_final(&h, &d) != LX_OK || !ok)
        return false;
    lx_hex(d.bytes, 32, hex);
    return true;
}

bool lx_file_sha256_hex(const char *path, char hex[65])
{
    return lx_file_sha256_at(AT_FDCWD, path, hex);
}

bool lx_file_sha256_at(int dir, const char *name, char hex[65])
{
    /* A FIFO or device planted where a file should be must not block or
     * stream forever, nor a link lead elsewhere. */
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        return false;
    }
    return s_sha256_fd(fd, hex);
}

/* The rest of stream f (closed here), as lx_read_file returns it. */
static char *s_read_stream(FILE *f, size_t max, size_t *len, const lx_alloc_t *a)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = lx_malloc(a, cap + 1);
    int e = buf ? 0 : ENOMEM;
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0 || n > max)
            break;
        if (n == cap) {
            char *bigger = lx_malloc(a, cap * 2 + 1);
            if (bigger)
                memcpy(bigger, buf, n);
            else
                e = ENOMEM;
            lx_free(a, buf);
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf && ferror(f))
        e = errno ? errno : EIO;
    else if (buf && n > max)
        e = EFBIG;
    fclose(f);
    if (e) {
        lx_free(a, buf);
        errno = e;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *lx_read_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a)
{
    FILE *f = fopen(path, "rb");
    return f ? s_read_stream(f, max, len, a) : NULL;
}

char *lx_read_regular_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a)
{
    /* O_NONBLOCK: a FIFO planted under the name must not block the open. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    if (fd >= 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    /* Reads block as usual (NFS may say EAGAIN to a non-blocking one). */
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f ? s_read_stream(f, max, len, a) : NULL;
}
