/* File helpers shared by export and verify (internal to common/src/export). */
#ifndef LATTICE_EXPORT_INTERNAL_H
#define LATTICE_EXPORT_INTERNAL_H

#include <stddef.h>

#include "lattice/alloc.h"
#include "lattice/result.h"

/* mkdir -p. */
lx_result_t lx_mkdirs(const char *path, lx_error_t *err);
/* Writes dir/.name.tmp-PID, then renames it to dir/name: a file under its
 * final name is always complete. */
lx_result_t lx_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                            lx_error_t *err);

/* A whole file (at most max bytes) in a buffer from a (NUL-terminated;
 * free with lx_free); NULL when it cannot be read or is larger. */
char *lx_read_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a);

#endif
