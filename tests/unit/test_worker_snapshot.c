/* ASSIGN.snapshot end to end through a real worker session (lx_worker_run
 * on a thread) and a hand-made coordinator on an inproc ROUTER: bad
 * snapshots (garbage, another frame than warmup_from, another program's)
 * end the chunk with CHUNK_FAIL{bad_assignment}; a good one renders the
 * frames a sequential export renders, for a chunk and for an audit. */
#include <pthread.h>
#include <zmq.h>

#include "lattice/compile.h"
#include "lattice/digest.h"
#include "lattice/export_config.h"
#include "lattice/ir_codec.h"
#include "lattice/kernels.h"
#include "lattice/msg.h"
#include "lattice/worker.h"
#include "test.h"

#define ENDPOINT "inproc://test-worker-snapshot"
enum { N_FRAMES = 8, SNAP_AT = 3 };

typedef struct {
    void *ctx, *router;
    uint8_t id[256];
    size_t id_len;
    lx_arena_t arena;
    zmq_msg_t payload; /* the bytes the last decoded message points into */
    pthread_t thread;
    lx_worker_config_t cfg;
    atomic_int stop;
    lx_result_t rc;
} fake_t;

static void *s_worker_main(void *arg)
{
    fake_t *f = arg;
    lx_error_t err = {0};
    f->rc = lx_worker_run(&f->cfg, &err);
    return NULL;
}

static bool s_send(fake_t *f, const lx_msg_t *m)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_error_t err = {0};
    bool ok = lx_msg_encode(m, &sb, &err) == LX_OK;
    CHECK_MSG(ok, "encode %s: %s", lx_msg_type_name(m->type), err.message);
    ok = ok && zmq_send(f->router, f->id, f->id_len, ZMQ_SNDMORE) >= 0 &&
         zmq_send(f->router, sb.buf, sb.len, 0) >= 0;
    lx_strbuf_release(&sb);
    return ok;
}

/* The worker's next message of type `want` within 20 s (others are
 * skipped; heartbeats keep the worker's link alive meanwhile). */
static bool s_expect(fake_t *f, lx_msg_type_t want, lx_msg_t *m)
{
    for (int tick = 0; tick < 80; tick++) {
        zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 250) <= 0) {
            if (f->id_len)
                s_send(f, &(lx_msg_t){.type = LX_MSG_HEARTBEAT});
            continue;
        }
        int n = zmq_recv(f->router, f->id, sizeof f->id, 0);
        if (n <= 0)
            continue;
        f->id_len = (size_t)n;
        zmq_msg_close(&f->payload);
        zmq_msg_init(&f->payload);
        if (zmq_msg_recv(&f->payload, f->router, 0) < 0)
            continue;
        lx_arena_release(&f->arena);
        lx_arena_init(&f->arena, NULL);
        lx_error_t err = {0};
        if (lx_msg_decode(zmq_msg_data(&f->payload), zmq_msg_size(&f->payload), &f->arena, m,
                          &err) == LX_OK &&
            m->type == want)
            return true;
    }
    CHECK_MSG(false, "no %s from the worker", lx_msg_type_name(want));
    return false;
}

/* An ASSIGN of frames [a, b] of job "j" in stream mode (or an audit). */
static lx_msg_t s_assign(uint64_t attempt, const char *program_hash, const char *config,
                         const char *config_hash, int64_t *frames, int64_t warmup_from,
                         const void *snap, size_t snap_len, bool audit)
{
    lx_msg_t m = {.type = LX_MSG_ASSIGN};
    LX_MSG_SET(&m, job, "j");
    LX_MSG_SET(&m, attempt, attempt);
    LX_MSG_SET(&m, program_hash, program_hash);
    LX_MSG_SET(&m, config, config);
    LX_MSG_SET(&m, config_hash, config_hash);
    LX_MSG_SET(&m, frames, ((lx_i64s_t){frames, 2}));
    LX_MSG_SET(&m, warmup_from, warmup_from);
    LX_MSG_SET(&m, output, audit ? "shared" : "stream");
    if (audit)
        LX_MSG_SET(&m, audit, true);
    if (snap)
        LX_MSG_SET(&m, snapshot, ((lx_bytes_t){snap, snap_len}));
    return m;
}

/* The CHUNK_FAIL of attempt: bad_assignment, its message containing what. */
static void s_expect_bad(fake_t *f, uint64_t attempt, const char *what)
{
    lx_msg_t m;
    if (!s_expect(f, LX_MSG_CHUNK_FAIL, &m))
        return;
    CHECK_EQ_INT(m.attempt, attempt);
    CHECK_EQ_STR(m.reason, "bad_assignment");
    CHECK_MSG(LX_MSG_HAS(&m, message) && strstr(m.message, what), "message '%s' lacks '%s'",
              LX_MSG_HAS(&m, message) ? m.message : "", what);
}

/* The FRAMEs of attempt for frames [a, b], acknowledged, match ref. */
static void s_expect_frames(fake_t *f, uint64_t attempt, int64_t a, int64_t b,
                            char ref[N_FRAMES][65])
{
    for (int64_t k = a; k <= b; k++) {
        lx_msg_t m;
        if (!s_expect(f, LX_MSG_FRAME, &m))
            return;
        CHECK(m.attempt == attempt && m.frame == k && m.files.n == 1);
        if (m.files.n == 1)
            CHECK_MSG(strcmp(m.files.v[0].hash, ref[k]) == 0, "frame %lld differs", (long long)k);
        lx_msg_t ack = {.type = LX_MSG_ACK};
        LX_MSG_SET(&ack, job, "j");
        LX_MSG_SET(&ack, attempt, attempt);
        LX_MSG_SET(&ack, frames, ((lx_i64s_t){&k, 1}));
        s_send(f, &ack);
    }
    lx_msg_t done;
    if (s_expect(f, LX_MSG_CHUNK_DONE, &done))
        CHECK_EQ_INT(done.attempt, attempt);
}

int main(void)
{
    size_t len = 0;
    char *text = t_read("examples/feedback-trails.patch.json", &len);
    const char *cfg_json = "{\"frames\":\"0-7\",\"resolution\":{\"width\":32,\"height\":24},"
                           "\"artifacts\":[\"rgba\"]}";
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    lx_export_config_t ecfg;
    lx_export_config_init(&ecfg);
    bool ok = text && lx_compile(text, len, NULL, &d, &p, &err) == LX_OK &&
              lx_export_config_load_json(&ecfg, cfg_json, strlen(cfg_json), &d) == LX_OK &&
              lx_export_plan(p, &ecfg, &plan, &d) == LX_OK;
    CHECK_MSG(ok, "plan: %s", d.count ? d.items[0].message : err.message);
    lx_diags_release(&d);
    free(text);
    if (!ok)
        TEST_MAIN_END();

    /* What the coordinator holds: the program, the resolved config, the
     * sequential render's hashes and a snapshot at SNAP_AT. */
    char program_hash[65], config_hash[65], ref[N_FRAMES][65];
    lx_hex(p->program_hash.bytes, 32, program_hash);
    lx_hex(plan.config_hash.bytes, 32, config_hash);
    lx_strbuf_t ir, config, snap, other;
    lx_strbuf_init(&ir, NULL);
    lx_strbuf_init(&config, NULL);
    lx_strbuf_init(&snap, NULL);
    lx_strbuf_init(&other, NULL);
    lx_export_plan_config_json(&plan, &config);
    CHECK_EQ_INT(lx_ir_encode(p, &ir, &err), LX_OK);
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err);
    for (int64_t k = 0; fr && k < N_FRAMES; k++) {
        const lx_frame_result_t *res = NULL;
        CHECK_EQ_INT(lx_frame_renderer_render(fr, k, &res, &err), LX_OK);
        snprintf(ref[k], 65, "%s", res ? res->files[0].hash : "");
    }
    lx_frame_renderer_destroy(&fr);
    lx_instance_config_t icfg = LX_INSTANCE_CONFIG_INIT;
    icfg.frames_per_cycle = plan.sampling.frames_per_cycle;
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), NULL, &icfg, &err);
    const lx_render_frame_t *rf = NULL;
    CHECK(inst && lx_instance_eval(inst, SNAP_AT - 1, &rf) == LX_OK &&
          lx_instance_snapshot(inst, &snap, NULL) == LX_OK);
    lx_instance_destroy(&inst);
    lx_strbuf_add(&other, snap.buf, snap.len);
    if (other.len > 8)
        other.buf[8] ^= 1; /* another program's hash */

    fake_t f = {.ctx = zmq_ctx_new(), .cfg = LX_WORKER_CONFIG_INIT};
    lx_arena_init(&f.arena, NULL);
    zmq_msg_init(&f.payload);
    f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
    CHECK(zmq_bind(f.router, ENDPOINT) == 0);
    f.cfg.zmq_ctx = f.ctx;
    f.cfg.connect = ENDPOINT;
    f.cfg.name = "snap";
    f.cfg.log = stderr;
    f.cfg.log_level = LX_LOG_WARN;
    f.cfg.stop = &f.stop;
    f.cfg.heartbeat_ms = 1000;
    CHECK(pthread_create(&f.thread, NULL, s_worker_main, &f) == 0);

    lx_msg_t m;
    int64_t chunk[2] = {4, 7}, audit[2] = {5, 6};
    static const char garbage[] = "not a snapshot at all, nor its header";
    s_expect(&f, LX_MSG_READY, &m);
    lx_msg_t a1 = s_assign(1, program_hash, config.buf, config_hash, chunk, SNAP_AT, garbage,
                           sizeof garbage, false);
    s_send(&f, &a1);
    s_expect_bad(&f, 1, "not a state snapshot");
    lx_msg_t a2 = s_assign(2, program_hash, config.buf, config_hash, chunk, SNAP_AT - 1, snap.buf,
                           snap.len, false);
    s_send(&f, &a2);
    s_expect_bad(&f, 2, "is not warmup_from");
    /* The header is fine; the program's hash only shows once it is here. */
    lx_msg_t a3 = s_assign(3, program_hash, config.buf, config_hash, chunk, SNAP_AT, other.buf,
                           other.len, false);
    s_send(&f, &a3);
    if (s_expect(&f, LX_MSG_PROGRAM_GET, &m)) {
        lx_msg_t pm = {.type = LX_MSG_PROGRAM};
        LX_MSG_SET(&pm, program_hash, program_hash);
        LX_MSG_SET(&pm, program, ((lx_bytes_t){(const uint8_t *)ir.buf, ir.len}));
        s_send(&f, &pm);
    }
    s_expect_bad(&f, 3, "another program's");
    /* A good snapshot: a chunk, then an audit on the kept renderer (already
     * past the snapshot, so restored again). */
    lx_msg_t a4 = s_assign(4, program_hash, config.buf, config_hash, chunk, SNAP_AT, snap.buf,
                           snap.len, false);
    s_send(&f, &a4);
    s_expect_frames(&f, 4, chunk[0], chunk[1], ref);
    lx_msg_t a5 = s_assign(5, program_hash, config.buf, config_hash, audit, SNAP_AT, snap.buf,
                           snap.len, true);
    s_send(&f, &a5);
    s_expect_frames(&f, 5, audit[0], audit[1], ref);

    atomic_store(&f.stop, 1);
    s_expect(&f, LX_MSG_GOODBYE, &m);
    pthread_join(f.thread, NULL);
    CHECK_EQ_INT(f.rc, LX_OK);

    zmq_msg_close(&f.payload);
    zmq_close(f.router);
    zmq_ctx_term(f.ctx);
    lx_arena_release(&f.arena);
    lx_strbuf_release(&ir);
    lx_strbuf_release(&config);
    lx_strbuf_release(&snap);
    lx_strbuf_release(&other);
    lx_program_destroy(&p);
    TEST_MAIN_END();
}
