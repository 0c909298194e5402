/* The manifest reader verify and repair share (internal to common/src/export). */
#ifndef LATTICE_EXPORT_INTERNAL_H
#define LATTICE_EXPORT_INTERNAL_H

#include <cJSON.h>

#include "lattice/result.h"

/* out_dir/metadata.json, parsed: a JSON object, or NULL with err set
 * (LX_E_IO: unreadable or too large, LX_E_PARSE: not a JSON object).
 * Verify and repair read the manifest through it. */
cJSON *lx_manifest_read(const char *out_dir, lx_error_t *err);

#endif
