/* ProgramInstance: an immutable program plus the mutable state needed to
 * evaluate it frame by frame (value store, state cells, draw list).
 *
 * Everything is allocated by lx_instance_new(); evaluating a frame
 * allocates nothing. lx_instance_eval(f) returns the RenderFrame of any
 * frame f in any order: programs with state are evaluated from their
 * warm-up start (f - state_horizon, or the timeline start when the horizon
 * is unbounded) without assembling render frames, and a frame that
 * follows the previous one continues from it. An instance is not
 * thread-safe; use one per thread. */
#ifndef LATTICE_INSTANCE_H
#define LATTICE_INSTANCE_H

#include "lattice/ir.h"
#include "lattice/sampling.h"

typedef enum { LX_PROJ_PERSPECTIVE, LX_PROJ_ORTHOGRAPHIC } lx_projection_t;

typedef struct lx_camera {
    lx_projection_t projection;
    double position[3], target[3], up[3];
    double forward[3]; /* unit vector from position toward target ((0,0,-1) if they meet) */
    double fov_y_deg, ortho_height, near, far;
} lx_camera_t;

/* One drawn instance. shape = [kind, a, b, c] (lx_shape_kind_t); for
 * paths, a is the Path expression whose parameters hold the points. */
typedef struct lx_draw_item {
    uint32_t id;      /* stable instance id: sink's id_base + element */
    uint32_t sink;    /* index into program sinks (layer, semantic) */
    uint32_t element; /* element index in the sink's domain */
    double shape[4];
    double position[3], rotation[3], scale[3];
    double color[4]; /* linear RGBA */
    double opacity;
} lx_draw_item_t;

typedef struct lx_render_frame {
    lx_frame_time_t time;
    lx_camera_t camera;
    lx_draw_item_t *items; /* in draw order */
    uint32_t n_items;
} lx_render_frame_t;

typedef struct lx_instance lx_instance_t;

/* What runs each op: a table of LX_OP__COUNT kernels indexed by lx_op_t.
 * The runtime only runs kernels; the block library provides the table
 * (lx_kernels_table(), lattice/kernels.h). */
typedef struct lx_kernel lx_kernel_t;

typedef struct lx_instance_config {
    size_t size;               /* sizeof(lx_instance_config_t) */
    uint32_t frames_per_cycle; /* cyclic patches; 0 = the default */
    double fps;                /* frames per second; 0 = the program's output fps */
    bool has_seed;             /* seed in place of the program's */
    uint32_t seed;
} lx_instance_config_t;
#define LX_INSTANCE_CONFIG_INIT                                                                    \
    {                                                                                              \
        sizeof(lx_instance_config_t), 0, 0, false, 0                                               \
    }

/* A new instance of p (which must outlive it and pass lx_ir_verify) that
 * runs p's ops with kernels (borrowed; it must outlive the instance), or
 * NULL with err set (LX_E_NOMEM, LX_E_INVALID for a bad config or no
 * kernels, LX_E_LIMIT when the value store would exceed 4 GiB). alloc and
 * cfg may be NULL. */
lx_instance_t *lx_instance_new(const lx_program_t *p, const lx_kernel_t *kernels,
                               const lx_alloc_t *alloc, const lx_instance_config_t *cfg,
                               lx_error_t *err);
void lx_instance_destroy(lx_instance_t **self_p);

/* Evaluates frame f >= 0 and points *out at its RenderFrame, valid until
 * the next call. LX_E_INVALID for a negative frame. */
lx_result_t lx_instance_eval(lx_instance_t *inst, int64_t f, const lx_render_frame_t **out);

/* Frames evaluated since creation, warm-up included (for tests and
 * benchmarks: warm-up cost is measured, not assumed). */
uint64_t lx_instance_frames_evaluated(const lx_instance_t *inst);

const lx_sampling_t *lx_instance_sampling(const lx_instance_t *inst);

/* State snapshots: what a program's state cells hold between frames, so
 * that frame f is evaluated from a snapshot at s <= f instead of warming up
 * from the timeline start (docs/runtime.md, "Snapshots"). A snapshot at s
 * is the state after frames .. s - 1. Bytes: the program's hash, s and
 * the cells' doubles bit for bit, the same on every worker.
 *
 * lx_instance_snapshot appends the instance's state at its next frame to
 * out (and sets *frame to it, when frame is not NULL): LX_E_INVALID for a
 * program without state or an instance that evaluated nothing yet,
 * LX_E_NOMEM. lx_instance_restore makes the instance continue at the
 * snapshot's frame: the next lx_instance_eval(f) with f at or after it
 * evaluates from there (a frame before it warms up as usual). Bytes that
 * are not a snapshot of this program are refused with LX_E_PARSE and err,
 * leaving the instance as it was. */
lx_result_t lx_instance_snapshot(const lx_instance_t *inst, lx_strbuf_t *out, int64_t *frame);
lx_result_t lx_instance_restore(lx_instance_t *inst, const void *bytes, size_t len,
                                lx_error_t *err);

/* Reads the frame a snapshot continues at from its header into *frame, for
 * checking one before any program exists. False (and *frame untouched) for
 * bytes too short for the header, without the magic, or with a frame at or
 * beyond 2^62; the state itself is only checked by lx_instance_restore. */
bool lx_snapshot_frame(const void *bytes, size_t len, int64_t *frame);
/* Whether bytes (a header lx_snapshot_frame accepts) name program p. */
bool lx_snapshot_of(const void *bytes, size_t len, const lx_program_t *p);

/* Feeds a canonical serialization of a RenderFrame (camera and items, not
 * the frame's time) into a SHA-256, for golden tests and for comparing
 * frames: equal bytes <=> equal frames. */
void lx_render_frame_hash(const lx_render_frame_t *rf, lx_sha256_t *h);

#endif
