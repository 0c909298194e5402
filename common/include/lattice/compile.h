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

/* Settings for lx_compile_ex; start from LX_COMPILE_CONFIG_INIT. */
typedef struct lx_compile_config {
    size_t size;
    /* The directory a relative "audio" file is resolved against: the patch
     * file's directory. NULL or "" resolves it against the current working
     * directory (what lx_compile does); absolute paths are used as given. */
    const char *base_dir;
    /* Reads no file: a patch naming one is AU-601. For patches from peers
     * (a coordinator compiling a SUBMIT), whose paths name nothing of
     * theirs on this machine and must not probe it. */
    bool no_files;
} lx_compile_config_t;

#define LX_COMPILE_CONFIG_INIT {sizeof(lx_compile_config_t), NULL, false}

/* lx_compile with settings (cfg may be NULL). A patch naming an audio file
 * reads it here (at most LX_AUDIO_MAX_FILE_BYTES), once: its SHA-256 and
 * its features (lattice/audio.h) go into the program and its hash. A file
 * that cannot be read is AU-601, one that cannot be decoded AU-602, and an
 * AudioFeature block in a patch without "audio" AU-603, all located at the
 * patch (LX_E_DIAG). Reads only that file. */
lx_result_t lx_compile_ex(const char *text, size_t len, const lx_compile_config_t *cfg,
                          const lx_alloc_t *alloc, lx_diags_t *diags, lx_program_t **out,
                          lx_error_t *err);

#endif
