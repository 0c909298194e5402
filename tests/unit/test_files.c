/* The files module: path joins at their one limit, mkdir -p, atomic writes
 * that never leave a temporary file behind, stale temporary files removed
 * and nothing else, whole-file reads with their limit, file hashes. */
#define _XOPEN_SOURCE 700 /* mknod */
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "lattice/digest.h"
#include "lattice/files.h"
#include "scratch_dir.h"
#include "test.h"

static char s_root[256];

/* How many entries of dir start with prefix. */
static int s_count(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_join(void)
{
    char out[LX_PATH_MAX];
    CHECK(lx_path_join(out, "out", "rgba") && strcmp(out, "out/rgba") == 0);
    CHECK(lx_path_join(out, "out/", "rgba") && strcmp(out, "out/rgba") == 0);
    CHECK(lx_path_join(out, "/", "etc") && strcmp(out, "/etc") == 0);
    CHECK(lx_path_join(out, "a", "b/c.png") && strcmp(out, "a/b/c.png") == 0);
    CHECK(!lx_path_join(out, "", "x"));
    CHECK(!lx_path_join(out, "x", ""));
    /* out may be dir: joined in place, twice. */
    strcpy(out, "/tmp/x");
    CHECK(lx_path_join(out, out, "mask") && lx_path_join(out, out, "frame_000001.png") &&
          strcmp(out, "/tmp/x/mask/frame_000001.png") == 0);

    /* The limit counts the NUL: 4095 bytes fit, 4096 do not. */
    static char dir[LX_PATH_MAX + 8];
    memset(dir, 'd', sizeof dir);
    dir[LX_PATH_MAX - 3] = '\0'; /* 4093 + "/" + "x" = 4095 bytes */
    CHECK(lx_path_join(out, dir, "x") && strlen(out) == LX_PATH_MAX - 1);
    CHECK(!lx_path_join(out, dir, "xy"));
    dir[LX_PATH_MAX - 3] = 'd';
    dir[LX_PATH_MAX + 7] = '\0';
    CHECK(!lx_path_join(out, dir, "x"));
    /* A trailing '/' is not doubled, so it does not count against the limit. */
    dir[LX_PATH_MAX - 3] = '/';
    dir[LX_PATH_MAX - 2] = '\0';
    CHECK(lx_path_join(out, dir, "x") && strlen(out) == LX_PATH_MAX - 1);
}

static void test_mkdirs(void)
{
    char dir[LX_PATH_MAX], file[LX_PATH_MAX];
    lx_error_t err = {0};
    CHECK(lx_path_join(dir, s_root, "m/a/b/c"));
    CHECK(lx_mkdirs(dir, &err) == LX_OK);
    CHECK(lx_mkdirs(dir, &err) == LX_OK); /* again: nothing to do */
    struct stat st;
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(lx_mkdirs("", &err) == LX_E_INVALID);
    /* A file in the way of a component. */
    CHECK(lx_path_join(dir, s_root, "m") && lx_path_join(file, dir, "file"));
    CHECK(lx_write_atomic(dir, "file", "x", 1, &err) == LX_OK);
    CHECK(lx_path_join(dir, file, "sub"));
    CHECK(lx_mkdirs(dir, &err) == LX_E_IO && strstr(err.message, "cannot create"));
}

static void test_write_atomic(void)
{
    char dir[LX_PATH_MAX], path[LX_PATH_MAX];
    lx_error_t err = {0};
    CHECK(lx_path_join(dir, s_root, "w") && lx_mkdirs(dir, &err) == LX_OK);
    CHECK(lx_write_atomic(dir, "a.txt", "hello", 5, &err) == LX_OK);
    CHECK(lx_write_atomic(dir, "a.txt", "bye", 3, &err) == LX_OK); /* replaces */
    size_t len = 0;
    CHECK(lx_path_join(path, dir, "a.txt"));
    char *text = lx_read_file(path, 100, &len, lx_alloc_default());
    CHECK(text && len == 3 && strcmp(text, "bye") == 0);
    lx_free(lx_alloc_default(), text);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(lx_write_atomic(dir, "empty", "", 0, &err) == LX_OK);

    /* The rename fails (a directory has the name): LX_E_IO, the name is
     * still the directory, and no temporary file is left. */
    CHECK(lx_path_join(path, dir, "taken") && lx_mkdirs(path, &err) == LX_OK);
    CHECK(lx_write_atomic(dir, "taken", "x", 1, &err) == LX_E_IO);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_EQ_INT(s_count(dir, ".taken.tmp-"), 0);
    /* No directory to write into. */
    CHECK(lx_path_join(path, dir, "nowhere"));
    CHECK(lx_write_atomic(path, "x", "x", 1, &err) == LX_E_IO);
    /* A name too long for a path: refused before anything is created. */
    static char name[LX_PATH_MAX];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    CHECK(lx_write_atomic(dir, name, "x", 1, &err) == LX_E_INVALID);
    CHECK_EQ_INT(s_count(dir, ".n"), 0);
    CHECK_EQ_INT(s_count(dir, "."), 2); /* "." and ".." */
}

/* The content of path ("" when unreadable), in a static buffer. */
static const char *s_content(const char *path)
{
    static char buf[256];
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
    return buf;
}

/* lx_write_output replaces only files: a device or FIFO is written in
 * place (and stays one), a link stays and leads to the new content, a
 * directory, socket or dangling link is refused untouched. */
static void test_write_output(void)
{
    char dir[LX_PATH_MAX], path[LX_PATH_MAX], target[LX_PATH_MAX];
    lx_error_t err = {0};
    struct stat st, st2;
    CHECK(lx_path_join(dir, s_root, "o") && lx_mkdirs(dir, &err) == LX_OK);

    /* A new file, then a regular file replaced whole (a new inode). */
    CHECK(lx_path_join(path, dir, "prog.json"));
    CHECK(lx_write_output(path, "one", 3, &err) == LX_OK && strcmp(s_content(path), "one") == 0);
    CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);
    CHECK(lx_write_output(path, "two", 3, &err) == LX_OK && strcmp(s_content(path), "two") == 0);
    CHECK(stat(path, &st2) == 0 && S_ISREG(st2.st_mode) && st2.st_ino != st.st_ino);

    /* A FIFO with a reader gets the bytes and is still a FIFO. */
    CHECK(lx_path_join(path, dir, "fifo") && mkfifo(path, 0600) == 0);
    int reader = open(path, O_RDONLY | O_NONBLOCK);
    CHECK(reader >= 0);
    CHECK(lx_write_output(path, "through", 7, &err) == LX_OK);
    char got[16] = "";
    CHECK(read(reader, got, sizeof got - 1) == 7 && strcmp(got, "through") == 0);
    CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
    /* ... also through a symbolic link, which stays a link. */
    CHECK(lx_path_join(target, dir, "to-fifo") && symlink(path, target) == 0);
    CHECK(lx_write_output(target, "again", 5, &err) == LX_OK);
    memset(got, 0, sizeof got);
    CHECK(read(reader, got, sizeof got - 1) == 5 && strcmp(got, "again") == 0);
    CHECK(lstat(target, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
    close(reader);

    /* A character device (the null device, made here: only root can),
     * written in place, still a device. */
    CHECK(lx_path_join(path, dir, "null"));
    if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK(lx_write_output(path, "gone", 4, &err) == LX_OK);
        CHECK(lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    } else {
        printf("test_write_output: no device node (%s): device case not run\n", strerror(errno));
    }

    /* A link to a regular file: the file gets the content, the link stays. */
    CHECK(lx_path_join(path, dir, "real.json") && lx_path_join(target, dir, "link.json"));
    CHECK(lx_write_output(path, "old", 3, &err) == LX_OK && symlink("real.json", target) == 0);
    CHECK(lx_write_output(target, "new", 3, &err) == LX_OK);
    CHECK(strcmp(s_content(path), "new") == 0);
    CHECK(lstat(target, &st) == 0 && S_ISLNK(st.st_mode));

    /* Refused, untouched: a directory, a link to one, a dangling link, a
     * socket. */
    CHECK(lx_path_join(path, dir, "sub") && lx_mkdirs(path, &err) == LX_OK);
    CHECK(lx_write_output(path, "x", 1, &err) == LX_E_INVALID && strstr(err.message, "directory"));
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(lx_path_join(target, dir, "to-sub") && symlink(path, target) == 0);
    CHECK(lx_write_output(target, "x", 1, &err) == LX_E_INVALID);
    CHECK(lstat(target, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lx_path_join(target, dir, "dangling") && symlink("nothing-here", target) == 0);
    CHECK(lx_write_output(target, "x", 1, &err) == LX_E_INVALID);
    CHECK(lstat(target, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lx_path_join(path, dir, "sock"));
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    CHECK(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) < sizeof sa.sun_path ? strlen(path) : 0);
    CHECK(sock >= 0 && bind(sock, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(lx_write_output(path, "x", 1, &err) == LX_E_INVALID && strstr(err.message, "socket"));
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
    close(sock);
    CHECK(lx_write_output("", "x", 1, &err) == LX_E_INVALID);
    CHECK_EQ_INT(s_count(dir, ".") - 2, 0); /* no temporary file anywhere */
}

/* A process killed inside lx_write_atomic leaves ".NAME.tmp-XXXXXX", a
 * superseded shared-mode attempt ".NAME.a<attempt>"; lx_remove_stale_temps
 * removes exactly those, two levels deep. */
static void test_stale_temps(void)
{
    char dir[LX_PATH_MAX], sub[LX_PATH_MAX], deep[LX_PATH_MAX], deeper[LX_PATH_MAX];
    CHECK(lx_path_join(dir, s_root, "temps") && lx_path_join(sub, dir, "mask") &&
          lx_path_join(deep, sub, "cards") && lx_path_join(deeper, deep, "x"));
    CHECK(lx_mkdirs(deeper, NULL) == LX_OK);
    static const char *const keep[] = {"frame_000001.png", ".hidden",   "x.tmp-ABCDEF",
                                       ".frame.tmp-ABC",   "frame.a12", ".a12"};
    static const char *const temps[] = {".frame_000001.png.tmp-Ab12Cd", ".frame_000002.exr.a1234"};
    const char *where[] = {dir, sub, deep};
    for (int w = 0; w < 3; w++) {
        for (int k = 0; k < 6; k++)
            CHECK(lx_write_atomic(where[w], keep[k], "k", 1, NULL) == LX_OK);
        CHECK(lx_write_atomic(where[w], temps[w % 2], "t", 1, NULL) == LX_OK);
    }
    /* Three levels down is out of reach. */
    CHECK(lx_write_atomic(deeper, temps[0], "t", 1, NULL) == LX_OK);
    CHECK(lx_remove_stale_temps(dir) == 3);
    for (int w = 0; w < 3; w++) {
        char path[LX_PATH_MAX];
        for (int k = 0; k < 6; k++)
            CHECK(lx_path_join(path, where[w], keep[k]) && access(path, F_OK) == 0);
        CHECK(lx_path_join(path, where[w], temps[w % 2]) && access(path, F_OK) != 0);
    }
    CHECK_EQ_INT(s_count(deeper, ".frame"), 1);
    CHECK(lx_remove_stale_temps(dir) == 0);
}

static void test_attempt_name(void)
{
    char out[32];
    CHECK(lx_attempt_file_name(out, sizeof out, "frame_000003.png", 7) &&
          strcmp(out, ".frame_000003.png.a7") == 0);
    CHECK(!lx_attempt_file_name(out, 20, "frame_000003.png", 7));
}

static void test_read_and_hash(void)
{
    char dir[LX_PATH_MAX], path[LX_PATH_MAX];
    CHECK(lx_path_join(dir, s_root, "r") && lx_mkdirs(dir, NULL) == LX_OK);
    /* Larger than read_file's first buffer, so it grows. */
    size_t n = 200000;
    char *data = malloc(n);
    for (size_t i = 0; data && i < n; i++)
        data[i] = (char)(i * 7);
    CHECK(data && lx_write_atomic(dir, "big", data, n, NULL) == LX_OK);
    CHECK(lx_path_join(path, dir, "big"));
    size_t len = 0;
    char *got = lx_read_file(path, n, &len, lx_alloc_default());
    CHECK(got && len == n && memcmp(got, data, n) == 0 && got[n] == '\0');
    lx_free(lx_alloc_default(), got);
    errno = 0;
    CHECK(!lx_read_file(path, n - 1, &len, lx_alloc_default()) && errno == EFBIG);
    char hex[65], want[65];
    lx_sha256_hex(data, n, want);
    CHECK(lx_file_sha256_hex(path, hex) && strcmp(hex, want) == 0);
    CHECK(lx_path_join(path, dir, "missing"));
    errno = 0;
    CHECK(!lx_read_file(path, n, &len, lx_alloc_default()) && errno == ENOENT);
    CHECK(!lx_file_sha256_hex(path, hex));
    /* A file a peer may have placed: regular only, never through a link,
     * never blocking on a FIFO (the open would wait for a writer). */
    char link[LX_PATH_MAX], fifo[LX_PATH_MAX];
    CHECK(lx_path_join(path, dir, "big") && lx_path_join(link, dir, "link") &&
          lx_path_join(fifo, dir, "fifo"));
    got = lx_read_regular_file(path, n, &len, lx_alloc_default());
    CHECK(got && len == n && memcmp(got, data, n) == 0);
    lx_free(lx_alloc_default(), got);
    CHECK(symlink(path, link) == 0 && mkfifo(fifo, 0600) == 0);
    errno = 0;
    CHECK(!lx_read_regular_file(link, n, &len, lx_alloc_default()) && errno == ELOOP);
    errno = 0;
    CHECK(!lx_read_regular_file(fifo, n, &len, lx_alloc_default()) && errno == EINVAL);
    errno = 0;
    CHECK(!lx_read_regular_file(dir, n, &len, lx_alloc_default()) && errno == EINVAL);
    free(data);
}

/* Output roots: a job directory outside the roots, with "..", or reached
 * through a symbolic link is refused before anything is created; files a
 * peer planted as links are never read or written through. */
static void test_out_roots(void)
{
    char root[LX_PATH_MAX], other[LX_PATH_MAX], out[LX_PATH_MAX], link[LX_PATH_MAX];
    char path[LX_PATH_MAX + 64];
    lx_error_t err = {0};
    CHECK(lx_path_join(root, s_root, "roots") && lx_mkdirs(root, &err) == LX_OK);
    CHECK(lx_path_join(other, s_root, "elsewhere") && lx_mkdirs(other, &err) == LX_OK);
    const char *roots[] = {root};
    char resolved[LX_PATH_MAX];
    snprintf(path, sizeof path, "%s///", root);
    CHECK(lx_out_root_resolve(path, resolved, &err) == LX_OK && strcmp(resolved, root) == 0);
    CHECK(lx_out_root_resolve("relative", resolved, &err) == LX_E_INVALID);
    CHECK(lx_path_join(path, root, "missing"));
    CHECK(lx_out_root_resolve(path, resolved, &err) == LX_E_IO);

    /* Form and place. */
    CHECK(lx_path_join(out, root, "job/a"));
    CHECK(lx_out_check(out, roots, 1, &err) == LX_OK);
    CHECK(lx_out_check(root, roots, 1, &err) == LX_OK);
    CHECK(access(out, F_OK) != 0); /* a check creates nothing */
    snprintf(path, sizeof path, "%s/job/../../elsewhere", root);
    CHECK(lx_out_check(path, roots, 1, &err) == LX_E_INVALID);
    CHECK(strstr(err.message, "'..'") != NULL);
    CHECK(lx_out_check("relative/out", roots, 1, &err) == LX_E_INVALID);
    snprintf(path, sizeof path, "%s//x", root);
    CHECK(lx_out_check(path, roots, 1, &err) == LX_E_INVALID);
    CHECK(lx_out_check(other, roots, 1, &err) == LX_E_INVALID);
    CHECK(strstr(err.message, "outside the allowed roots") != NULL);
    snprintf(path, sizeof path, "%sx", root); /* a sibling sharing the prefix */
    CHECK(lx_out_check(path, roots, 1, &err) == LX_E_INVALID);
    CHECK(lx_out_check(other, NULL, 0, &err) == LX_OK); /* no roots: all of "/" */

    /* Open and create, then write and hash through directory fds. The
     * job directory itself is made once, never by lx_out_open. */
    CHECK(lx_out_open(out, roots, 1, "rgba", true, &err) < 0);
    CHECK(access(out, F_OK) != 0);
    CHECK(lx_out_make(out, roots, 1, &err) == LX_OK);
    int fd = lx_out_open(out, roots, 1, "rgba", true, &err);
    CHECK_MSG(fd >= 0, "%s", err.message);
    CHECK(lx_write_atomic_at(fd, "rgba", "f.png", "data", 4, &err) == LX_OK);
    char hex[65], want[65];
    lx_sha256_hex("data", 4, want);
    CHECK(lx_file_sha256_at(fd, "f.png", hex) && strcmp(hex, want) == 0);
    /* A planted link under the final name is replaced, not written through. */
    CHECK(lx_path_join(path, other, "victim") && lx_write_atomic(other, "victim", "v", 1, &err) == LX_OK);
    CHECK(lx_path_join(link, out, "rgba/g.png") && symlink(path, link) == 0);
    CHECK(!lx_file_sha256_at(fd, "g.png", hex)); /* never read through a link */
    CHECK(lx_write_atomic_at(fd, "rgba", "g.png", "new", 3, &err) == LX_OK);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISREG(st.st_mode));
    size_t len = 0;
    char *text = lx_read_file(path, 10, &len, lx_alloc_default());
    CHECK(text && strcmp(text, "v") == 0);
    lx_free(lx_alloc_default(), text);
    close(fd);

    /* A symlinked artifact directory (OUT/depth -> elsewhere) is refused,
     * created or not; so is a link among the job's own components. */
    CHECK(lx_path_join(link, out, "depth") && symlink(other, link) == 0);
    CHECK(lx_out_open(out, roots, 1, "depth", true, &err) < 0);
    CHECK(strstr(err.message, "symbolic link") != NULL);
    CHECK(lx_path_join(link, root, "linked") && symlink(other, link) == 0);
    CHECK(lx_path_join(path, link, "job"));
    CHECK(lx_out_check(path, roots, 1, &err) == LX_E_INVALID);
    CHECK(lx_out_make(path, roots, 1, &err) == LX_E_INVALID);
    CHECK(lx_path_join(path, other, "job"));
    CHECK(access(path, F_OK) != 0); /* nothing was created through it */
}

int main(void)
{
    if (!t_scratch_dir(s_root, "files"))
        TEST_MAIN_END();
    test_join();
    test_mkdirs();
    test_write_atomic();
    test_write_output();
    test_stale_temps();
    test_attempt_name();
    test_read_and_hash();
    test_out_roots();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
