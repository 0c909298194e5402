/* Kernels: the block library's code, one kernel per op (lattice/ops.h),
 * in common/src/blocks. A ProgramInstance runs them but names none of
 * them: whoever creates an instance passes this table to
 * lx_instance_new. */
#ifndef LATTICE_KERNELS_H
#define LATTICE_KERNELS_H

#include "lattice/instance.h"

/* The block library's kernel table: LX_OP__COUNT entries indexed by
 * lx_op_t. An immutable constant, never NULL; safe to share between
 * threads and instances. */
const lx_kernel_t *lx_kernels_table(void);

#endif
