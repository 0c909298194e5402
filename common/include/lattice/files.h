/* Files: the one place that joins paths, creates directories and reads,
 * writes and hashes whole files, for exports, workers, the coordinator and
 * the command-line tool.
 *
 * Every path has one limit, LX_PATH_MAX bytes including the NUL; a path
 * that does not fit is refused, never truncated.
 *
 * Durability (lx_write_atomic): the data of the temporary file is flushed
 * to the disk (fdatasync) before the rename, so that neither a crash of the
 * process nor a power loss can leave a file under its final name that is
 * incomplete. The directory is not fsync'ed: after a power loss the newest
 * renames may be lost, so such a file is missing or has its previous
 * content, never partial. `lattice verify` reports those files and
 * `lattice rerender` renders them again.
 *
 * Every function here is safe to call from several threads at once. */
#ifndef LATTICE_FILES_H
#define LATTICE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/result.h"

/* The longest path, in bytes including the terminating NUL. */
enum { LX_PATH_MAX = 4096 };

/* dir + "/" + rel into out: true, or false (out unspecified) when dir or rel
 * is empty or the result would not fit in LX_PATH_MAX bytes. A '/' that
 * ends dir is not doubled ("/" + "x" is "/x"). rel is not checked: validate
 * names that come from outside (lx_name_relpath_valid) before joining them.
 * out may be the same buffer as dir. */
bool lx_path_join(char out[LX_PATH_MAX], const char *dir, const char *rel);

/* mkdir -p: creates path and its missing parents (mode 0777 before the
 * umask); existing directories are fine. Returns LX_OK; LX_E_INVALID for an
 * empty path or one of LX_PATH_MAX bytes or more; LX_E_IO (with the
 * system's reason) when a component cannot be created. */
lx_result_t lx_mkdirs(const char *path, lx_error_t *err);

/* Writes len bytes of data to dir/name atomically: into a temporary file in
 * dir (".NAME.tmp-XXXXXX", a fresh name per call, so concurrent writers of
 * the same name never share one), flushed to the disk (see Durability
 * above), then renamed to dir/name, replacing a file of that name. A file
 * under its final name is therefore always complete. dir must exist. On
 * failure the temporary file is removed. Returns LX_OK; LX_E_INVALID when
 * the path does not fit; LX_E_IO with the system's reason. */
lx_result_t lx_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                            lx_error_t *err);

/* The name a worker writes a frame file under in shared mode,
 * ".NAME.a<attempt>": the coordinator renames the accepted attempt's file
 * to NAME, so a superseded attempt can never replace an accepted file.
 * False when it does not fit in size bytes. */
bool lx_attempt_file_name(char *out, size_t size, const char *name, uint64_t attempt);

/* Removes the temporary files lx_write_atomic leaves behind when its
 * process dies mid-write (".NAME.tmp-XXXXXX") and attempt files nobody
 * accepted (".NAME.a<digits>") in dir and in its subdirectories two levels
 * down (an export's artifact directories: out/rgba, out/mask/<layer>).
 * Nothing else is touched; symbolic links are not followed. Returns how
 * many were removed. */
unsigned lx_remove_stale_temps(const char *dir);

/* SHA-256 of the file at path as 64 lower-case hex digits and a NUL, read
 * in pieces (memory does not grow with the file); false when it cannot be
 * read. */
bool lx_file_sha256_hex(const char *path, char hex[65]);

/* The whole file at path (at most max bytes) in a buffer from a, followed
 * by a NUL that *len does not count. The buffer is the caller's: free it
 * with lx_free(a, ...). Returns NULL with errno set when the file cannot be
 * opened or read (the system's errno), is larger than max (EFBIG), or
 * memory runs out (ENOMEM). */
char *lx_read_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a);

#endif
