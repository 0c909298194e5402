/* CompiledProgramIR <-> msgpack, for shipping programs to workers.
 *
 * The encoding is a msgpack array with the program's fields in a fixed
 * order (see docs/protocol.md, "PROGRAM"): deterministic, so the same
 * program always gives the same bytes. compiled_at travels (it is
 * informative) but is not part of program_hash.
 *
 * Decoding trusts nothing: every length is checked against the bytes left
 * and a per-field maximum before anything is allocated; the result must
 * pass lx_ir_verify(), and its recomputed program_hash must equal the one
 * it carries. A program that fails any check is refused (never returned). */
#ifndef LATTICE_IR_CODEC_H
#define LATTICE_IR_CODEC_H

#include "lattice/ir.h"

/* Largest encoded program accepted (and produced): 256 MiB. */
#define LX_IR_CODEC_MAX_BYTES (256u << 20)

/* Appends the encoded program to out. LX_E_NOMEM, LX_E_LIMIT. */
lx_result_t lx_ir_encode(const lx_program_t *p, lx_strbuf_t *out, lx_error_t *err);

/* Decodes len bytes into a new program (free with lx_program_destroy).
 * LX_E_BADMSG (malformed, with the field in err), LX_E_LIMIT (a length
 * over its maximum), LX_E_VERIFY (fails lx_ir_verify or the hash),
 * LX_E_NOMEM. *out is NULL on failure. */
lx_result_t lx_ir_decode(const void *data, size_t len, const lx_alloc_t *alloc, lx_program_t **out,
                         lx_error_t *err);

#endif
