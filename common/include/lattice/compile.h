/* The patch compiler: patch JSON -> CompiledProgramIR.
 *
 * load (PT) -> normalize (composites, rails, buses, lenses, combines,
 * default sources) -> validate (TY, TR, BU, FB, CO, EX) -> time model and
 * lowering -> lx_ir_verify -> program_hash. Pure: no clock, no globals;
 * thread-safe for distinct arguments. */
#ifndef LATTICE_COMPILE_H
#define LATTICE_COMPILE_H

#include "lattice/diag.h"
#include "lattice/ir.h"

/* Compiles `len` bytes of patch JSON. Every diagnostic found goes to diags
 * (warnings too). Returns:
 *   LX_OK      *out is a verified program (free with lx_program_destroy);
 *   LX_E_DIAG  the patch has errors, *out is NULL;
 *   LX_E_NOMEM, LX_E_VERIFY, LX_E_INTERNAL with err describing it.
 * The program's compiled_at is 0; callers that want it set it. */
lx_result_t lx_compile(const char *text, size_t len, const lx_alloc_t *alloc, lx_diags_t *diags,
                       lx_program_t **out, lx_error_t *err);

#endif
