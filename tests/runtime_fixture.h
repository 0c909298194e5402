/* Test helpers: compile a patch (whole, or a body of blocks and edges in a
 * small frame) and evaluate it. */
#ifndef LATTICE_RUNTIME_FIXTURE_H
#define LATTICE_RUNTIME_FIXTURE_H

#include "lattice/compile.h"
#include "lattice/instance.h"
#include "lattice/kernels.h"
#include "test.h"

typedef struct {
    lx_program_t *p;
    lx_instance_t *inst;
} rt_t;

static inline bool rt_open_text(rt_t *rt, const char *text, const lx_alloc_t *alloc)
{
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    rt->p = NULL;
    rt->inst = NULL;
    lx_result_t rc = lx_compile(text, strlen(text), alloc, &d, &rt->p, &err);
    CHECK_MSG(rc == LX_OK, "compile: %s: %s", lx_error_name(rc),
              d.count ? d.items[0].message : err.message);
    lx_diags_release(&d);
    if (rt->p) {
        rt->inst = lx_instance_new(rt->p, lx_kernels_table(), alloc, NULL, &err);
        CHECK_MSG(rt->inst != NULL, "instance: %s", err.message);
    }
    return rt->inst != NULL;
}

/* A patch with an infinite (or the given) time root `t`, the body's blocks
 * and edges, drawing a 1-unit rect "draw" whose inputs the body may feed. */
static inline bool rt_open(rt_t *rt, const char *root, const char *blocks, const char *edges)
{
    static char buf[16384];
    snprintf(buf, sizeof buf,
             "{\"format\":\"lattice.patch/1\",\"id\":\"rt\",\"seed\":7,\"output\":{\"width\":64,"
             "\"height\":64,\"fps\":24},\"blocks\":[{\"id\":\"t\",%s},"
             "{\"id\":\"shape\",\"type\":\"Rect\"},{\"id\":\"draw\",\"type\":\"RenderInstances\"}"
             "%s%s],\"edges\":[{\"from\":\"shape.shape\",\"to\":\"draw.shape\"}%s%s]}",
             root ? root : "\"type\":\"InfiniteTimeRoot\"", blocks[0] ? "," : "", blocks,
             edges[0] ? "," : "", edges);
    return rt_open_text(rt, buf, NULL);
}

static inline const lx_render_frame_t *rt_frame(rt_t *rt, int64_t f)
{
    const lx_render_frame_t *rf = NULL;
    CHECK(lx_instance_eval(rt->inst, f, &rf) == LX_OK);
    return rf;
}

static inline void rt_close(rt_t *rt)
{
    lx_instance_destroy(&rt->inst);
    lx_program_destroy(&rt->p);
}

static inline void rt_frame_digest(const lx_render_frame_t *rf, lx_digest_t *out)
{
    lx_sha256_t h;
    lx_sha256_init(&h);
    lx_render_frame_hash(rf, &h);
    lx_sha256_final(&h, out);
}

#endif
