/* The manifest reader the export directory's rules, verify and repair
 * share (internal to common/src/export; implemented in manifest.c). */
#ifndef LATTICE_EXPORT_INTERNAL_H
#define LATTICE_EXPORT_INTERNAL_H

#include <cJSON.h>

#include "lattice/result.h"

/* The largest metadata.json any reader accepts. */
#define LX_MANIFEST_READ_MAX (512u << 20)

/* out_dir/metadata.json, parsed: a JSON object the caller frees with
 * cJSON_Delete, or NULL with err set (LX_E_INVALID: the path does not fit,
 * LX_E_IO: unreadable or too large, LX_E_PARSE: not a JSON object). */
cJSON *lx_manifest_read(const char *out_dir, lx_error_t *err);

#endif
