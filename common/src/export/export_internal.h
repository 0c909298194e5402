/* The manifest reader the export directory's rules, verify and repair
 * share (internal to common/src/export; implemented in manifest.c). */
#ifndef LATTICE_EXPORT_INTERNAL_H
#define LATTICE_EXPORT_INTERNAL_H

#include <cJSON.h>

#include "lattice/result.h"

/* The largest metadata.json any reader accepts. */
#define LX_MANIFEST_READ_MAX (512u << 20)

/* lx_manifest_read is in lattice/manifest.h. */
#include "lattice/manifest.h"

#endif
