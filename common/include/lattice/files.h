/* Files written by exports, workers and the coordinator: atomic writes,
 * mkdir -p, whole-file reads. Safe to call from several threads. */
#ifndef LATTICE_FILES_H
#define LATTICE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/result.h"

/* Longest path the file functions build. */
enum { LX_PATH_MAX = 4096 };

/* dir + "/" + rel into out; false when it does not fit. */
bool lx_path_join(char out[LX_PATH_MAX], const char *dir, const char *rel);

/* mkdir -p. */
lx_result_t lx_mkdirs(const char *path, lx_error_t *err);
/* Writes a temporary file in dir (named after name, the process and a
 * per-call counter, so concurrent writers of the same name never share
 * one), then renames it to dir/name: a file under its final name is always
 * complete. */
lx_result_t lx_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                            lx_error_t *err);

/* The name a worker writes a frame file under in shared mode,
 * ".NAME.a<attempt>": the coordinator renames the accepted attempt's file
 * to NAME, so a superseded attempt can never replace an accepted file.
 * False when it does not fit. */
bool lx_attempt_file_name(char *out, size_t size, const char *name, uint64_t attempt);

/* Removes the temporary files lx_write_atomic leaves behind when its
 * process dies mid-write (".NAME.tmp-XXXXXX") and attempt files nobody
 * accepted (".NAME.a<digits>") in dir and in its subdirectories two levels
 * down (an export's artifact directories). Nothing else is touched.
 * Returns how many were removed. */
unsigned lx_remove_stale_temps(const char *dir);

/* SHA-256 of the file at path as 64 lower-case hex digits, read in
 * pieces (memory does not grow with the file); false when it cannot be
 * read. */
bool lx_file_sha256_hex(const char *path, char hex[65]);

/* A whole file (at most max bytes) in a buffer from a (NUL-terminated;
 * free with lx_free); NULL when it cannot be read or is larger. */
char *lx_read_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a);

#endif
