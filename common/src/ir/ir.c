#include <stdlib.h>
#include <string.h>

#include "lattice/ir.h"

lx_program_t *lx_program_new(const lx_alloc_t *alloc)
{
    alloc = alloc ? alloc : lx_alloc_default();
    lx_program_t *p = lx_calloc(alloc, 1, sizeof *p);
    if (!p)
        return NULL;
    lx_arena_init(&p->arena, alloc);
    p->ir_version = LX_IR_VERSION;
    p->camera_expr = p->time_expr = LX_NONE;
    return p;
}

void lx_program_destroy(lx_program_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_program_t *p = *self_p;
    const lx_alloc_t *alloc = p->arena.alloc;
    lx_arena_release(&p->arena);
    lx_free(alloc, p);
    *self_p = NULL;
}

uint64_t lx_ir_state_size(lx_op_t op, unsigned stride, uint64_t count, const double *params,
                          uint32_t n_params)
{
    switch (op) {
    case LX_OP_UNIT_DELAY:
    case LX_OP_LAG:
    case LX_OP_SAMPLE_HOLD:
    case LX_OP_SLEW:
        return (uint64_t)stride * count;
    case LX_OP_PHASOR:
    case LX_OP_ACCUMULATOR:
        return 1;
    case LX_OP_WRAP:
    case LX_OP_EDGE_DETECT:
        return 2;
    case LX_OP_PARTICLES:
        if (n_params < 1 || !(params[0] >= 1 && params[0] <= 65536))
            return 0;
        return (uint64_t)params[0] * LX_PARTICLE_STRIDE + 4;
    default:
        return 0;
    }
}
