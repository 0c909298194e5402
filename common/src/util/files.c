/* Paths, directories, atomic writes, whole-file reads and file hashes (see
 * files.h for the durability policy). */
#include "lattice/files.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Writes all of data to fd, resuming after short writes and signals. */
static bool s_write_all(int fd, const void *data, size_t len)
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
    char tmp[LX_PATH_MAX], dst[LX_PATH_MAX], tmpname[LX_PATH_MAX];
    int t = snprintf(tmpname, sizeof tmpname, ".%s.tmp-XXXXXX", name);
    if (t < 0 || (size_t)t >= sizeof tmpname || !lx_path_join(dst, dir, name) ||
        !lx_path_join(tmp, dir, tmpname))
        return lx_fail(err, LX_E_INVALID, "path too long: '%.200s/%.200s'", dir, name);
    /* mkstemp: a fresh name per call, so two threads or processes writing
     * the same frame (a reassigned chunk) never share a temporary file. It
     * creates the file 0600; exports are read by others, hence fchmod. */
    int fd = mkstemp(tmp);
    if (fd < 0)
        return lx_fail(err, LX_E_IO, "cannot create a temporary file in '%s': %s", dir,
                       strerror(errno));
    /* The data reaches the disk before the rename can: otherwise a power
     * loss could leave the final name on an empty or partial file. */
    bool ok = fchmod(fd, 0644) == 0 && s_write_all(fd, data, len) && fdatasync(fd) == 0;
    int e = ok ? 0 : errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, dst) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
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
    /* lx_sha256_final frees the hasher, so it runs whenever init did. */
    if (lx_sha256_final(&h, &d) != LX_OK || !ok)
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
