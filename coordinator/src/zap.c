/* The ZAP handler (see zap.h). */
#include "zap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "lattice/allowlist.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
/* A refused key reconnects every 100 ms (libzmq's reconnect interval):
 * its log lines are capped per window, and the rest counted. */
#define LOG_WINDOW_MS 10000.0
enum { LOG_LINES_PER_WINDOW = 10, ZAP_FRAMES = 7, CURVE_KEY_BYTES = 32 };
#define RELOAD_EVERY_MS 1000.0

typedef struct limiter {
    const char *event;
    double window_start;
    unsigned lines;
    uint64_t held;
} limiter_t;

/* What the list was read from, to notice a change. */
typedef struct file_id {
    bool present;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id_t;

struct co_zap {
    void *sock;
    char *path;
    lx_allowlist_t *list;
    file_id_t seen; /* the file the last load attempt saw, good or bad */
    double next_check;
    limiter_t refused, revoked;
    uint64_t n_admitted; /* refusals are the shell's metrics (CO_REJ_AUTH_REFUSED) */
};

static file_id_t s_file_id(const char *path)
{
    struct stat st;
    file_id_t id = {0};
    if (stat(path, &st) == 0)
        id = (file_id_t){true, st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    return id;
}

static bool s_same_file(const file_id_t *a, const file_id_t *b)
{
    return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Reports what a window held back once it is over. */
static void s_limiter_flush(limiter_t *l, coord_t *c, double now)
{
    if (now - l->window_start < LOG_WINDOW_MS)
        return;
    if (l->held)
        co_log(c, LX_LOG_WARN, "event=%s_suppressed count=%" PRIu64 " window_ms=%.0f", l->event,
               l->held, LOG_WINDOW_MS);
    l->window_start = now;
    l->lines = 0;
    l->held = 0;
}

/* Whether one more line of this event may be logged now. */
static bool s_limiter_take(limiter_t *l, coord_t *c, double now)
{
    s_limiter_flush(l, c, now);
    if (l->lines < LOG_LINES_PER_WINDOW) {
        l->lines++;
        return true;
    }
    l->held++;
    return false;
}

co_zap_t *co_zap_new(void *zmq_ctx, const char *allow_path, lx_error_t *err)
{
    co_zap_t *z = calloc(1, sizeof *z);
    if (!z || !(z->path = strdup(allow_path))) {
        free(z);
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    z->refused.event = "auth_refused";
    z->revoked.event = "key_revoked";
    z->refused.window_start = z->revoked.window_start = -LOG_WINDOW_MS;
    z->seen = s_file_id(allow_path);
    z->list = lx_allowlist_load(allow_path, err);
    int zero = 0;
    if (z->list) {
        z->sock = zmq_socket(zmq_ctx, ZMQ_REP);
        if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
            lx_fail(err, LX_E_IO, "cannot bind the ZAP handler (%s): %s", ZAP_ENDPOINT,
                    zmq_strerror(errno));
            co_zap_destroy(&z);
        }
    } else {
        co_zap_destroy(&z);
    }
    return z;
}

void co_zap_destroy(co_zap_t **z_p)
{
    co_zap_t *z = *z_p;
    if (!z)
        return;
    if (z->sock)
        zmq_close(z->sock);
    lx_allowlist_destroy(&z->list);
    free(z->path);
    free(z);
    *z_p = NULL;
}

void *co_zap_socket(co_zap_t *z) { return z->sock; }

void co_zap_describe(co_zap_t *z, coord_t *c)
{
    co_log(c, LX_LOG_INFO, "event=allow_loaded file=\"%s\" workers=%zu clients=%zu admins=%zu",
           z->path, lx_allowlist_count(z->list, LX_ALLOW_WORKER),
           lx_allowlist_count(z->list, LX_ALLOW_CLIENT),
           lx_allowlist_count(z->list, LX_ALLOW_ADMIN));
}

static unsigned s_role_bits(lx_allow_role_t role)
{
    return role == LX_ALLOW_WORKER   ? CO_ROLE_WORKER
           : role == LX_ALLOW_CLIENT ? CO_ROLE_CLIENT
                                     : CO_ROLE_ADMIN;
}

/* A frame as printable text for the log (the peer's address). */
static void s_printable(char *out, size_t size, const zmq_msg_t *m)
{
    const unsigned char *p = zmq_msg_data((zmq_msg_t *)m);
    size_t n = zmq_msg_size((zmq_msg_t *)m), k = 0;
    for (size_t i = 0; i < n && k + 1 < size; i++)
        out[k++] = p[i] > ' ' && p[i] < 127 && p[i] != '"' ? (char)p[i] : '?';
    out[k] = '\0';
}

static bool s_frame_is(const zmq_msg_t *m, const char *text)
{
    size_t n = strlen(text);
    return zmq_msg_size((zmq_msg_t *)m) == n && memcmp(zmq_msg_data((zmq_msg_t *)m), text, n) == 0;
}

/* Sends the six frames of a reply (RFC 27): version, request id, status
 * code and text, user id, metadata (none). */
static void s_reply(co_zap_t *z, coord_t *c, const zmq_msg_t *request_id, const char *code,
                    const char *text, const char *user_id)
{
    const void *id = request_id ? zmq_msg_data((zmq_msg_t *)request_id) : "";
    size_t id_len = request_id ? zmq_msg_size((zmq_msg_t *)request_id) : 0;
    bool ok = zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE) >= 0 &&
              zmq_send(z->sock, id, id_len, ZMQ_SNDMORE) >= 0 &&
              zmq_send(z->sock, code, strlen(code), ZMQ_SNDMORE) >= 0 &&
              zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE) >= 0 &&
              zmq_send(z->sock, user_id, strlen(user_id), ZMQ_SNDMORE) >= 0 &&
              zmq_send(z->sock, "", 0, 0) >= 0;
    if (!ok)
        co_log(c, LX_LOG_ERROR, "event=zap_reply_failed error=\"%s\"", zmq_strerror(errno));
}

/* Reads one request and answers it; false when none is waiting. */
static bool s_serve_one(co_zap_t *z, coord_t *c, double now)
{
    zmq_msg_t f[ZAP_FRAMES];
    int n = 0;
    bool more = true, excess = false;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, z->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_FRAMES)
            f[n++] = part;
        else {
            excess = true;
            zmq_msg_close(&part);
        }
    }
    if (n == 0)
        return false;
    /* Frames: version, request id, domain, address, identity, mechanism,
     * credentials (the client's 32-byte public key for CURVE). */
    if (n != ZAP_FRAMES || excess || !s_frame_is(&f[0], "1.0")) {
        co_log(c, LX_LOG_ERROR, "event=zap_bad_request frames=%d", n);
        s_reply(z, c, n > 1 ? &f[1] : NULL, "500", "bad ZAP request", "");
    } else if (!s_frame_is(&f[2], LX_CURVE_ZAP_DOMAIN) || !s_frame_is(&f[5], "CURVE") ||
               zmq_msg_size(&f[6]) != CURVE_KEY_BYTES) {
        s_reply(z, c, &f[1], "400", "only CURVE in domain " LX_CURVE_ZAP_DOMAIN, "");
    } else {
        char key[LX_CURVE_KEY_CHARS + 1];
        zmq_z85_encode(key, zmq_msg_data(&f[6]), CURVE_KEY_BYTES);
        const lx_allow_entry_t *e = lx_allowlist_find(z->list, key);
        if (e) {
            z->n_admitted++;
            co_log(c, LX_LOG_DEBUG, "event=auth_ok key=%.8s... role=%s label=\"%s\"", key,
                   lx_allow_role_name(e->role), e->label);
            s_reply(z, c, &f[1], "200", "OK", key);
        } else {
            uint64_t refused = ++c->metrics.rejected[CO_REJ_AUTH_REFUSED];
            if (s_limiter_take(&z->refused, c, now)) {
                char address[64];
                s_printable(address, sizeof address, &f[3]);
                co_log(c, LX_LOG_WARN,
                       "event=auth_refused key=%.8s... address=%s refused=%" PRIu64, key, address,
                       refused);
            }
            s_reply(z, c, &f[1], "400", "key not in the allow-list", "");
        }
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return true;
}

void co_zap_serve(co_zap_t *z, coord_t *c, double now)
{
    while (s_serve_one(z, c, now))
        ;
}

void co_zap_reload(co_zap_t *z, coord_t *c, double now)
{
    s_limiter_flush(&z->refused, c, now);
    s_limiter_flush(&z->revoked, c, now);
    if (now < z->next_check)
        return;
    z->next_check = now + RELOAD_EVERY_MS;
    file_id_t id = s_file_id(z->path);
    if (s_same_file(&id, &z->seen))
        return;
    /* Remembered before reading: a change during the read is seen next
     * time, and a bad file is reported once, not every second. */
    z->seen = id;
    lx_error_t err = {0};
    lx_allowlist_t *l = id.present ? lx_allowlist_load(z->path, &err) : NULL;
    if (!id.present)
        lx_fail(&err, LX_E_IO, "'%s' is gone", z->path);
    if (!l) {
        co_log(c, LX_LOG_ERROR,
               "event=allow_refused file=\"%s\" error=\"%s\" keeping=\"the previous list\"",
               z->path, err.message);
        return;
    }
    lx_allowlist_destroy(&z->list);
    z->list = l;
    co_log(c, LX_LOG_INFO, "event=allow_reloaded file=\"%s\" workers=%zu clients=%zu admins=%zu",
           z->path, lx_allowlist_count(l, LX_ALLOW_WORKER), lx_allowlist_count(l, LX_ALLOW_CLIENT),
           lx_allowlist_count(l, LX_ALLOW_ADMIN));
}

bool co_zap_role(co_zap_t *z, coord_t *c, const char *key, double now, unsigned *role)
{
    const lx_allow_entry_t *e = lx_allowlist_find(z->list, key);
    if (e) {
        *role = s_role_bits(e->role);
        return true;
    }
    if (s_limiter_take(&z->revoked, c, now))
        co_log(c, LX_LOG_WARN,
               "event=key_revoked key=%.8s... reason=\"no longer in the allow-list: message "
               "dropped\"",
               key ? key : "(none)");
    return false;
}
