/* Warm-up snapshots: the evaluation-only pass (see snapshots.h). */
#include "snapshots.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/instance.h"
#include "lattice/kernels.h"
#include "lattice/msg.h"
#include "lattice/strbuf.h"

/* A kept snapshot; slots that hold equal bytes share one. */
typedef struct entry {
    uint32_t refs;
    size_t len;
    uint8_t bytes[];
} entry_t;

struct co_snaps {
    const lx_program_t *p;
    lx_instance_t *inst;
    int dir;
    int64_t from, last;
    /* slots[k]: the state at frame k * CO_SNAP_STRIDE, for k in
     * [lowest, published]; those below `floor` are freed. */
    entry_t **slots;
    int64_t lowest, published, floor;
    size_t bytes, budget; /* kept, and at most */
    entry_t *prev;        /* the pass's last snapshot (one reference) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the pass waits for room in the budget */
    atomic_bool stop;
    co_snaps_stats_t stats; /* under mu */
};

bool co_snaps_wanted(const lx_program_t *p)
{
    return p->n_state > 0 && p->state_horizon == LX_HORIZON_UNBOUNDED;
}

static void s_unref(entry_t *e)
{
    if (e && --e->refs == 0)
        free(e);
}

static double s_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Keeps e as slot k, waiting for room in the budget; false when stopped. */
static bool s_keep(co_snaps_t *s, int64_t k, entry_t *e, bool shared)
{
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop) && !shared && s->bytes > 0 && s->bytes + e->len > s->budget)
        pthread_cond_wait(&s->cv, &s->mu);
    bool go = !atomic_load(&s->stop);
    if (go) {
        e->refs++;
        s->slots[k] = e;
        if (!shared)
            s->bytes += e->len;
        if (s->lowest < 0)
            s->lowest = k;
        s->published = k;
        s->stats.kept++;
    }
    pthread_mutex_unlock(&s->mu);
    return go;
}

/* The pass's state as an entry: the previous one when the bytes are
 * equal. NULL when out of memory. */
static entry_t *s_entry(co_snaps_t *s, lx_strbuf_t *buf, bool *shared)
{
    buf->len = 0;
    buf->failed = false;
    if (lx_instance_snapshot(s->inst, buf, NULL) != LX_OK)
        return NULL;
    *shared =
        s->prev && s->prev->len == buf->len && memcmp(s->prev->bytes, buf->buf, buf->len) == 0;
    if (*shared)
        return s->prev;
    entry_t *e = malloc(sizeof *e + buf->len);
    if (!e)
        return NULL;
    e->refs = 1; /* the pass's */
    e->len = buf->len;
    memcpy(e->bytes, buf->buf, buf->len);
    pthread_mutex_lock(&s->mu); /* the loop's releases count references too */
    s_unref(s->prev);
    pthread_mutex_unlock(&s->mu);
    s->prev = e;
    return e;
}

/* Writes e to the export's snapshot directory as FRAME-SHA256.snap; a
 * failure costs only a later pass its head start. */
static void s_write(co_snaps_t *s, int64_t frame, const entry_t *e)
{
    char hex[65], name[96];
    lx_sha256_hex(e->bytes, e->len, hex);
    snprintf(name, sizeof name, "%" PRId64 "-%s.snap", frame, hex);
    lx_error_t err = {0};
    bool ok = lx_write_atomic_at(s->dir, "snapshots", name, e->bytes, e->len, &err) == LX_OK;
    pthread_mutex_lock(&s->mu);
    s->stats.written += ok;
    pthread_mutex_unlock(&s->mu);
}

/* The intact snapshot file `name` of frame f in the directory, restored
 * into the pass's instance. */
static bool s_restore_file(co_snaps_t *s, const char *name, int64_t f, lx_strbuf_t *buf)
{
    char hex[65];
    const char *dash = strchr(name, '-');
    int fd = openat(s->dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              (uint64_t)st.st_size <= LX_MSG_MAX_BIN;
    buf->len = 0;
    buf->failed = false;
    if (ok) {
        uint8_t chunk[1 << 16];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0 && buf->len < (size_t)st.st_size + 1)
            lx_strbuf_add(buf, chunk, (size_t)n);
        ok = n == 0 && !buf->failed;
    }
    if (fd >= 0)
        close(fd);
    if (!ok || !dash)
        return false;
    lx_sha256_hex(buf->buf, buf->len, hex);
    int64_t at = -1;
    return strncmp(dash + 1, hex, 64) == 0 && lx_snapshot_frame(buf->buf, buf->len, &at) &&
           at == f && lx_instance_restore(s->inst, buf->buf, buf->len, NULL) == LX_OK;
}

static int s_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Where the pass starts: the nearest intact snapshot in the directory at
 * or before the first one the job needs, restored; else frame 0. */
static int64_t s_resume(co_snaps_t *s, lx_strbuf_t *buf)
{
    int64_t want = (s->from > 0 ? s->from - 1 : 0) / CO_SNAP_STRIDE * CO_SNAP_STRIDE;
    int fd = s->dir >= 0 && want > 0 ? dup(s->dir) : -1;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int64_t *frames = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        long long f;
        char hex[65], tail[8];
        if (sscanf(de->d_name, "%lld-%64[0-9a-f]%7s", &f, hex, tail) != 3 ||
            strcmp(tail, ".snap") != 0 || f <= 0 || f > want || f % CO_SNAP_STRIDE != 0)
            continue;
        if (n == cap) {
            int64_t *more = realloc(frames, (cap = cap ? 2 * cap : 16) * sizeof *frames);
            if (!more)
                break;
            frames = more;
        }
        frames[n++] = f;
    }
    if (n)
        qsort(frames, n, sizeof *frames, s_desc);
    int64_t at = 0;
    for (size_t i = 0; i < n && !at; i++) {
        rewinddir(d);
        for (struct dirent *de; !at && (de = readdir(d));) {
            long long f;
            if (sscanf(de->d_name, "%lld-", &f) == 1 && f == frames[i] &&
                s_restore_file(s, de->d_name, f, buf))
                at = f;
        }
    }
    closedir(d);
    free(frames);
    return at;
}

static void *s_pass(void *arg)
{
    co_snaps_t *s = arg;
    double cpu0 = s_cpu_ms();
    lx_strbuf_t buf;
    lx_strbuf_init(&buf, NULL);
    int64_t start = s_resume(s, &buf), need = (s->from > 0 ? s->from - 1 : 0);
    const char *error = "";
    bool shared = false;
    entry_t *e = start ? s_entry(s, &buf, &shared) : NULL;
    if (start && !(e && s_keep(s, start / CO_SNAP_STRIDE, e, shared)))
        error = e ? "" : "out of memory";
    pthread_mutex_lock(&s->mu);
    s->stats.started_at = start;
    pthread_mutex_unlock(&s->mu);
    /* Chunks start at from .. last and warm up from a snapshot at or
     * before their first frame - 1: none is needed past last - 1, nor
     * below the one nearest need. */
    for (int64_t t = start + CO_SNAP_STRIDE; !error[0] && t <= s->last - 1; t += CO_SNAP_STRIDE) {
        if (atomic_load(&s->stop))
            break;
        const lx_render_frame_t *rf;
        if (lx_instance_eval(s->inst, t - 1, &rf) != LX_OK) {
            error = "a frame failed to evaluate";
            break;
        }
        if (t + CO_SNAP_STRIDE <= need)
            continue;
        if (!(e = s_entry(s, &buf, &shared))) {
            error = "out of memory";
            break;
        }
        if (!s_keep(s, t / CO_SNAP_STRIDE, e, shared))
            break;
        if (s->dir >= 0 && t % CO_SNAP_KEEP == 0)
            s_write(s, t, e);
        pthread_mutex_lock(&s->mu);
        s->stats.evaluated = lx_instance_frames_evaluated(s->inst);
        s->stats.cpu_ms = s_cpu_ms() - cpu0;
        pthread_mutex_unlock(&s->mu);
    }
    lx_strbuf_release(&buf);
    pthread_mutex_lock(&s->mu);
    s->stats.evaluated = lx_instance_frames_evaluated(s->inst);
    s->stats.cpu_ms = s_cpu_ms() - cpu0;
    s->stats.ended = true;
    snprintf(s->stats.error, sizeof s->stats.error, "%s", error);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

co_snaps_t *co_snaps_start(const lx_program_t *p, const lx_export_plan_t *plan, int64_t from,
                           int64_t last, int dir, size_t budget, lx_error_t *err)
{
    co_snaps_t *s = calloc(1, sizeof *s);
    int64_t n_slots = (last > 0 ? last - 1 : 0) / CO_SNAP_STRIDE + 1;
    if (!s || !(s->slots = calloc((size_t)n_slots, sizeof *s->slots))) {
        free(s);
        if (dir >= 0)
            close(dir);
        lx_fail(err, LX_E_NOMEM, "out of memory for the snapshots of %lld frames",
                (long long)last + 1);
        return NULL;
    }
    s->p = p;
    s->dir = dir;
    s->from = from;
    s->last = last;
    s->budget = budget;
    s->lowest = s->published = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    lx_instance_config_t icfg = lx_export_plan_instance(plan);
    s->inst = lx_instance_new(p, lx_kernels_table(), NULL, &icfg, err);
    if (s->inst && pthread_create(&s->thread, NULL, s_pass, s) != 0) {
        lx_instance_destroy(&s->inst);
        lx_fail(err, LX_E_IO, "cannot start the snapshot pass");
    }
    if (!s->inst)
        co_snaps_stop(&s); /* no thread to join */
    return s;
}

void co_snaps_stop(co_snaps_t **self_p)
{
    co_snaps_t *s = *self_p;
    if (!s)
        return;
    if (s->inst) {
        pthread_mutex_lock(&s->mu);
        atomic_store(&s->stop, true);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    for (int64_t k = s->lowest; k >= 0 && k <= s->published; k++)
        s_unref(s->slots[k]);
    s_unref(s->prev);
    lx_instance_destroy(&s->inst);
    if (s->dir >= 0)
        close(s->dir);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    free(s);
    *self_p = NULL;
}

int64_t co_snaps_nearest(co_snaps_t *s, int64_t f, const uint8_t **bytes, size_t *len)
{
    pthread_mutex_lock(&s->mu);
    int64_t k = f < 0 ? 0 : f / CO_SNAP_STRIDE;
    if (k > s->published)
        k = s->published;
    const entry_t *e = k > 0 && k >= s->lowest && k >= s->floor ? s->slots[k] : NULL;
    pthread_mutex_unlock(&s->mu);
    if (bytes)
        *bytes = e ? e->bytes : NULL;
    if (len)
        *len = e ? e->len : 0;
    return e ? k * CO_SNAP_STRIDE : 0;
}

bool co_snaps_ready(co_snaps_t *s, int64_t f)
{
    pthread_mutex_lock(&s->mu);
    int64_t k = f < 0 ? 0 : f / CO_SNAP_STRIDE;
    bool ready = k == 0 || k <= s->published || s->stats.ended;
    pthread_mutex_unlock(&s->mu);
    return ready;
}

void co_snaps_release(co_snaps_t *s, int64_t f)
{
    /* A chunk starting at a >= f warms up from the slot of a - 1. */
    int64_t keep = (f > 0 ? f - 1 : 0) / CO_SNAP_STRIDE;
    pthread_mutex_lock(&s->mu);
    if (keep > s->published + 1)
        keep = s->published + 1;
    for (int64_t k = s->floor > s->lowest ? s->floor : s->lowest; k >= 0 && k < keep; k++) {
        entry_t *e = s->slots[k];
        s->slots[k] = NULL;
        if (e && (k + 1 > s->published || s->slots[k + 1] != e))
            s->bytes -= e->len; /* the last slot that shared it */
        s_unref(e);
    }
    if (keep > s->floor) {
        s->floor = keep;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

void co_snaps_stats(co_snaps_t *s, co_snaps_stats_t *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}
