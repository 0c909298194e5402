/* The executor's view of one expression, handed to block kernels, and
 * what a kernel is (internal to common/src). The runtime defines kernels
 * but names none: the block library (common/src/blocks) implements them
 * and whoever creates an instance passes its table (lx_instance_new). */
#ifndef LATTICE_RUNTIME_EXEC_H
#define LATTICE_RUNTIME_EXEC_H

#include "lattice/instance.h"

typedef struct lx_exec {
    lx_instance_t *inst;
    const lx_program_t *p;
    const lx_expr_t *e;
    uint32_t expr;
    const lx_frame_time_t *time;
    uint32_t count; /* elements the expression runs over (1 unless a field) */
    double *state;  /* its state cell, or NULL */
    const double *param;
    uint64_t seed, key; /* randomness: the patch seed and the block's key */
    double fps;         /* the rate frames are sampled at: the export's */
} lx_exec_t;

/* Input k: its values and the distance in doubles between elements (0
 * when a signal is broadcast over a field). NULL when unconnected. */
const double *lx_exec_in(const lx_exec_t *x, uint32_t k, uint32_t *step);
/* Output k: where to write (a scratch area when nobody reads it). */
double *lx_exec_out(const lx_exec_t *x, uint32_t k, uint32_t *step);
/* Elements of instance i. */
uint32_t lx_exec_instance_count(const lx_exec_t *x, uint32_t instance);
/* The state cell of another expression (Particles, read by its sink). */
const double *lx_exec_state_of(const lx_exec_t *x, uint32_t expr);

/* Draw-list assembly, for the RenderInstances and Camera kernels. */
lx_render_frame_t *lx_exec_frame(const lx_exec_t *x);

typedef void (*lx_kernel_fn)(lx_exec_t *x);
typedef bool (*lx_kernel_check_fn)(const lx_exec_t *x);

/* Per op: eval (or read, for state blocks), write (state update at the
 * end of the frame), init (fills a fresh state cell; NULL = zeros, then
 * the cell's init slot broadcast) and check (a state cell restored from a
 * snapshot is one the kernels can run on, i.e. one they could have left;
 * NULL = any doubles are). A kernel table has LX_OP__COUNT of them,
 * indexed by lx_op_t; lattice/instance.h names the type. */
struct lx_kernel {
    lx_kernel_fn eval, write, init;
    lx_kernel_check_fn check;
};

#endif
