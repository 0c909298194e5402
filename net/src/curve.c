/* CURVE keys, key files and socket options (see curve.h). */
#include "lattice/curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "lattice/files.h"

/* Key files are a few lines; anything larger is not one. */
enum { KEYFILE_MAX = 4096 };

bool lx_curve_available(void) { return zmq_has("curve") != 0; }

bool lx_curve_key_valid(const char *text)
{
    uint8_t bytes[32];
    return text && strlen(text) == LX_CURVE_KEY_CHARS && zmq_z85_decode(bytes, text) != NULL;
}

bool lx_curve_endpoint_needs_keys(const char *endpoint)
{
    return strncmp(endpoint, "ipc://", 6) != 0 && strncmp(endpoint, "inproc://", 9) != 0;
}

lx_result_t lx_curve_generate(lx_curve_keypair_t *kp, lx_error_t *err)
{
    memset(kp, 0, sizeof *kp);
    if (!lx_curve_available() || zmq_curve_keypair(kp->public_key, kp->secret_key) != 0) {
        memset(kp, 0, sizeof *kp);
        return lx_fail(err, LX_E_INVALID,
                       "this libzmq cannot make CURVE keys (built without libsodium)");
    }
    return LX_OK;
}

/* ---- key files ---------------------------------------------------------- */

/* Creates path (never replacing anything, never through a link) with mode
 * and writes text to it, flushed to the disk. */
static lx_result_t s_create(const char *path, mode_t mode, const char *text, lx_error_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST)
        return lx_fail(err, LX_E_IO,
                       "'%s' exists: a key is never overwritten (remove it first to make a new "
                       "one)",
                       path);
    if (fd < 0)
        return lx_fail(err, LX_E_IO, "cannot create '%s': %s", path, strerror(errno));
    /* The umask may only take bits away: the mode is set as asked. */
    bool ok = fchmod(fd, mode) == 0 && lx_write_all(fd, text, strlen(text)) && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(path);
        return lx_fail(err, LX_E_IO, "cannot write '%s': %s", path, strerror(e));
    }
    return LX_OK;
}

lx_result_t lx_curve_write_secret(const char *path, const lx_curve_keypair_t *kp, lx_error_t *err)
{
    if (!lx_curve_key_valid(kp->public_key) || !lx_curve_key_valid(kp->secret_key))
        return lx_fail(err, LX_E_INVALID, "not a key pair");
    char text[512];
    snprintf(text, sizeof text,
             "# Lattice CURVE secret key (docs/security.md). Keep it private (mode 0600)\n"
             "# and on the one machine it identifies.\n"
             "public-key = %s\n"
             "secret-key = %s\n",
             kp->public_key, kp->secret_key);
    lx_result_t rc = s_create(path, 0600, text, err);
    /* The key text on the stack is not left for a later reader of it. */
    memset(text, 0, sizeof text);
    return rc;
}

lx_result_t lx_curve_write_public(const char *path, const char *public_key, lx_error_t *err)
{
    if (!lx_curve_key_valid(public_key))
        return lx_fail(err, LX_E_INVALID, "not a public key");
    char text[256];
    snprintf(text, sizeof text,
             "# Lattice CURVE public key (docs/security.md): give it to the peers that\n"
             "# must recognise this one (an allow-list line, --server-key).\n"
             "public-key = %s\n",
             public_key);
    return s_create(path, 0644, text, err);
}

/* Reads at most KEYFILE_MAX bytes of fd into buf (NUL-terminated). */
static lx_result_t s_read_fd(int fd, const char *path, char *buf, size_t size, lx_error_t *err)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, size - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return lx_fail(err, LX_E_IO, "cannot read '%s': %s", path, strerror(errno));
        if (k == 0)
            break;
        n += (size_t)k;
        if (n == size - 1)
            return lx_fail(err, LX_E_INVALID, "'%s' is not a key file (over %zu bytes)", path,
                           size - 2);
    }
    buf[n] = '\0';
    return LX_OK;
}

/* Parses key file text: `public-key = KEY`, `secret-key = KEY`, comments
 * (#) and blank lines. Each key found is written to its buffer (which must
 * be "" before); a key named twice, an unknown name or a bad key is an
 * error naming path:line. */
static lx_result_t s_parse(const char *path, char *text, char pub[LX_CURVE_KEY_CHARS + 1],
                           char sec[LX_CURVE_KEY_CHARS + 1], lx_error_t *err)
{
    unsigned line = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        char *next = nl ? nl + 1 : end;
        line++;
        while (end > p && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#') {
            p = next;
            continue;
        }
        /* NAME = VALUE, split at the first '=' after the name: Z85 keys may
         * hold '=' themselves. */
        char *name_end = p;
        while (*name_end && *name_end != '=' && *name_end != ' ' && *name_end != '\t')
            name_end++;
        char *eq = name_end;
        while (*eq == ' ' || *eq == '\t')
            eq++;
        if (*eq != '=')
            return lx_fail(err, LX_E_INVALID,
                           "%s:%u: expected 'public-key = KEY' or 'secret-key = KEY'", path, line);
        *name_end = '\0';
        char *value = eq + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        char *dst = strcmp(p, "public-key") == 0   ? pub
                    : strcmp(p, "secret-key") == 0 ? sec
                                                   : NULL;
        if (!dst)
            return lx_fail(err, LX_E_INVALID,
                           "%s:%u: unknown name '%.40s' (public-key or secret-key)", path, line,
                           p);
        if (dst[0])
            return lx_fail(err, LX_E_INVALID, "%s:%u: %s given twice", path, line, p);
        if (!lx_curve_key_valid(value))
            return lx_fail(err, LX_E_INVALID, "%s:%u: %s is not a 40-character Z85 key", path,
                           line, p);
        memcpy(dst, value, LX_CURVE_KEY_CHARS + 1);
        p = next;
    }
    return LX_OK;
}

lx_result_t lx_curve_load_secret(const char *path, lx_curve_keypair_t *kp, lx_error_t *err)
{
    memset(kp, 0, sizeof *kp);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lx_fail(err, LX_E_IO, "cannot open secret key '%s': %s", path, strerror(errno));
    /* Mode and content from the same open file: no swap in between. */
    struct stat st;
    lx_result_t rc = LX_OK;
    char buf[KEYFILE_MAX];
    if (fstat(fd, &st) != 0)
        rc = lx_fail(err, LX_E_IO, "cannot stat '%s': %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = lx_fail(err, LX_E_INVALID, "secret key '%s' is not a regular file", path);
    else if (st.st_mode & 077)
        rc = lx_fail(err, LX_E_INVALID,
                     "secret key '%s' is readable or writable by others (mode %04o): "
                     "chmod 600 '%s'",
                     path, (unsigned)(st.st_mode & 07777), path);
    else
        rc = s_read_fd(fd, path, buf, sizeof buf, err);
    close(fd);
    if (rc == LX_OK)
        rc = s_parse(path, buf, kp->public_key, kp->secret_key, err);
    if (rc == LX_OK && (!kp->public_key[0] || !kp->secret_key[0]))
        rc = lx_fail(err, LX_E_INVALID, "'%s' is not a secret key file: it lacks %s", path,
                     !kp->secret_key[0] ? "secret-key" : "public-key");
    char derived[LX_CURVE_KEY_CHARS + 1] = "";
    if (rc == LX_OK && (zmq_curve_public(derived, kp->secret_key) != 0 ||
                        strcmp(derived, kp->public_key) != 0))
        rc = lx_fail(err, LX_E_INVALID, "'%s': public-key is not the public half of secret-key",
                     path);
    memset(buf, 0, sizeof buf);
    if (rc != LX_OK)
        memset(kp, 0, sizeof *kp);
    return rc;
}

lx_result_t lx_curve_load_public(const char *file_or_key, char out[LX_CURVE_KEY_CHARS + 1],
                                 lx_error_t *err)
{
    out[0] = '\0';
    int fd = open(file_or_key, O_RDONLY | O_CLOEXEC);
    /* A key is also a valid file name: an existing file wins. */
    if (fd < 0 && lx_curve_key_valid(file_or_key)) {
        memcpy(out, file_or_key, LX_CURVE_KEY_CHARS + 1);
        return LX_OK;
    }
    if (fd < 0)
        return lx_fail(err, LX_E_INVALID,
                       "'%s' is neither a readable public key file (%s) nor a 40-character Z85 "
                       "key",
                       file_or_key, strerror(errno));
    char buf[KEYFILE_MAX], sec[LX_CURVE_KEY_CHARS + 1] = "";
    lx_result_t rc = s_read_fd(fd, file_or_key, buf, sizeof buf, err);
    close(fd);
    if (rc == LX_OK)
        rc = s_parse(file_or_key, buf, out, sec, err);
    if (rc == LX_OK && sec[0])
        rc = lx_fail(err, LX_E_INVALID,
                     "'%s' holds a secret key: give the public key file (.public) instead",
                     file_or_key);
    else if (rc == LX_OK && !out[0])
        rc = lx_fail(err, LX_E_INVALID, "'%s' holds no public-key line", file_or_key);
    memset(buf, 0, sizeof buf);
    memset(sec, 0, sizeof sec);
    if (rc != LX_OK)
        out[0] = '\0';
    return rc;
}

lx_result_t lx_curve_client_keys(const char *endpoint, const char *secret_file,
                                 const char *server_key, bool insecure, lx_curve_keypair_t *kp,
                                 char server[LX_CURVE_KEY_CHARS + 1], lx_error_t *err)
{
    memset(kp, 0, sizeof *kp);
    server[0] = '\0';
    if (insecure && (secret_file || server_key))
        return lx_fail(err, LX_E_INVALID, "--insecure and CURVE keys exclude each other");
    if (!secret_file != !server_key)
        return lx_fail(err, LX_E_INVALID, "%s needs %s too",
                       secret_file ? "--secret-key" : "--server-key",
                       secret_file ? "--server-key FILE|Z85 (the coordinator's public key)"
                                   : "--secret-key FILE (this side's key pair)");
    if (!secret_file) {
        if (!insecure && lx_curve_endpoint_needs_keys(endpoint))
            return lx_fail(err, LX_E_INVALID,
                           "'%s' needs CURVE keys: give --secret-key FILE and --server-key "
                           "FILE|Z85 (lattice keygen makes them), or --insecure to connect "
                           "without authentication or encryption",
                           endpoint);
        return LX_OK;
    }
    lx_result_t rc = lx_curve_load_secret(secret_file, kp, err);
    if (rc == LX_OK)
        rc = lx_curve_load_public(server_key, server, err);
    if (rc != LX_OK)
        memset(kp, 0, sizeof *kp);
    return rc;
}

/* ---- sockets ------------------------------------------------------------ */

static lx_result_t s_opt(void *sock, int opt, const void *value, size_t len, const char *name,
                         lx_error_t *err)
{
    if (zmq_setsockopt(sock, opt, value, len) != 0)
        return lx_fail(err, LX_E_IO, "cannot set %s: %s", name, zmq_strerror(errno));
    return LX_OK;
}

lx_result_t lx_curve_set_server(void *sock, const lx_curve_keypair_t *kp, lx_error_t *err)
{
    int one = 1;
    lx_result_t rc = s_opt(sock, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER", err);
    if (rc == LX_OK)
        rc = s_opt(sock, ZMQ_CURVE_SECRETKEY, kp->secret_key, LX_CURVE_KEY_CHARS,
                   "ZMQ_CURVE_SECRETKEY", err);
    if (rc == LX_OK)
        rc = s_opt(sock, ZMQ_ZAP_DOMAIN, LX_CURVE_ZAP_DOMAIN, strlen(LX_CURVE_ZAP_DOMAIN),
                   "ZMQ_ZAP_DOMAIN", err);
    return rc;
}

lx_result_t lx_curve_set_client(void *sock, const lx_curve_keypair_t *kp, const char *server_key,
                                lx_error_t *err)
{
    lx_result_t rc = s_opt(sock, ZMQ_CURVE_SERVERKEY, server_key, LX_CURVE_KEY_CHARS,
                           "ZMQ_CURVE_SERVERKEY", err);
    if (rc == LX_OK)
        rc = s_opt(sock, ZMQ_CURVE_PUBLICKEY, kp->public_key, LX_CURVE_KEY_CHARS,
                   "ZMQ_CURVE_PUBLICKEY", err);
    if (rc == LX_OK)
        rc = s_opt(sock, ZMQ_CURVE_SECRETKEY, kp->secret_key, LX_CURVE_KEY_CHARS,
                   "ZMQ_CURVE_SECRETKEY", err);
    return rc;
}

lx_result_t lx_curve_set_handshake(void *sock, int ms, lx_error_t *err)
{
    return s_opt(sock, ZMQ_HANDSHAKE_IVL, &ms, sizeof ms, "ZMQ_HANDSHAKE_IVL", err);
}
