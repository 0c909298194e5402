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
 * dir (".NAME.tmp-XXXXXX": a dot, the name, ".tmp-" and six random
 * letters or digits, a fresh name per call, so concurrent writers of the
 * same name never share one), flushed to the disk (see Durability above),
 * then renamed to dir/name, replacing whatever has that name but a
 * directory (a symbolic link is replaced, not followed). A file under its
 * final name is therefore always complete. This is for the names an
 * export owns (metadata.json, frame files); a path a person named goes
 * through lx_write_output. dir must exist. On failure the temporary file
 * is removed. Returns LX_OK; LX_E_INVALID when the path does not fit;
 * LX_E_IO with the system's reason. */
lx_result_t lx_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                            lx_error_t *err);

/* Writes len bytes of data to path, an output a person named (`lattice
 * compile -o PATH`), without replacing anything that is not a file:
 *   - nothing there, or a regular file: lx_write_atomic in path's
 *     directory (the file is replaced whole, never seen partial);
 *   - a character or block device or a FIFO (/dev/null, a named pipe):
 *     opened for writing and written in place, without truncating,
 *     creating or renaming anything (a FIFO's open waits for a reader);
 *   - a symbolic link: what it leads to decides, and the link stays: a
 *     regular file is replaced atomically in its own directory, a device
 *     or FIFO is written through the link (so /dev/stdout works);
 *   - a directory, a socket or a link that leads nowhere: LX_E_INVALID,
 *     and nothing is written.
 * Returns LX_OK; LX_E_INVALID as above or when the path does not fit;
 * LX_E_IO with the system's reason. */
lx_result_t lx_write_output(const char *path, const void *data, size_t len, lx_error_t *err);

/* Writes all len bytes of data to fd, resuming after short writes and
 * signals; false (errno set) when a write fails. */
bool lx_write_all(int fd, const void *data, size_t len);

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

/* SHA-256 of the regular file at path as 64 lower-case hex digits and a
 * NUL, read in pieces (memory does not grow with the file); false when it
 * cannot be read, or is a symbolic link (not followed), a FIFO, a device
 * or anything but a regular file (never waited on). */
bool lx_file_sha256_hex(const char *path, char hex[65]);

/* ---- output roots ------------------------------------------------------
 *
 * Where a coordinator or worker may write for peers it does not trust:
 * below allowed roots (--allow-output ROOT; none = all of "/"), checked
 * once with lx_out_root_resolve. A root is configuration, so it may be or
 * contain symbolic links. Below a root nothing may: every directory is opened one
 * component at a time relative to its parent with O_NOFOLLOW (a symlinked
 * OUT/rgba, planted to send files elsewhere, is refused, and a check
 * cannot be raced by swapping a component afterwards), and files are
 * opened with O_NOFOLLOW and must be regular. */

/* root, without a trailing '/', into out: LX_E_INVALID when it is not an
 * absolute path without empty, "." or ".." components, LX_E_IO when it
 * is not an existing directory. */
lx_result_t lx_out_root_resolve(const char *root, char out[LX_PATH_MAX], lx_error_t *err);

/* Whether out may receive an export: an absolute path of non-empty
 * components other than "." and "..", below or at one of the n roots
 * (resolved; n = 0 means "/"), with no symbolic link or non-directory
 * among its components below that root that exist already. Creates
 * nothing. LX_OK, or LX_E_INVALID with a message naming the rule. */
lx_result_t lx_out_check(const char *out, const char *const *roots, size_t n, lx_error_t *err);

/* Creates out (and its missing parents below its root) as described
 * above. LX_OK; LX_E_INVALID (lx_out_check's rules), LX_E_IO. */
lx_result_t lx_out_make(const char *out, const char *const *roots, size_t n, lx_error_t *err);

/* Opens directory out/sub (sub: NULL or a relative path, validated with
 * lx_name_relpath_valid by the caller) for writing as described above,
 * creating sub's missing directories when create. out itself must exist:
 * an export directory that vanished is an error, never made again behind
 * its job's back. Returns a directory file descriptor (close it), or -1
 * with err: LX_E_INVALID when out breaks lx_out_check's rules, LX_E_IO
 * with the path and the system's reason. */
int lx_out_open(const char *out, const char *const *roots, size_t n, const char *sub, bool create,
                lx_error_t *err);

/* lx_write_atomic into the directory open as dir (label names it in
 * messages): the temporary file is created O_EXCL | O_NOFOLLOW, then
 * renamed over name (a symbolic link planted under name is replaced, not
 * followed). */
lx_result_t lx_write_atomic_at(int dir, const char *label, const char *name, const void *data,
                               size_t len, lx_error_t *err);

/* lx_file_sha256_hex of the regular file name in directory dir, opened
 * O_NOFOLLOW: false for a symbolic link, anything but a regular file, or
 * a file that cannot be read. */
bool lx_file_sha256_at(int dir, const char *name, char hex[65]);

/* The whole file at path (at most max bytes) in a buffer from a, followed
 * by a NUL that *len does not count. The buffer is the caller's: free it
 * with lx_free(a, ...). Returns NULL with errno set when the file cannot be
 * opened or read (the system's errno), is larger than max (EFBIG), or
 * memory runs out (ENOMEM). */
char *lx_read_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a);

/* lx_read_file of a file someone else may have placed: opened O_NOFOLLOW
 * (a symbolic link is ELOOP) and never blocking on the open, and refused
 * unless it is a regular file (EINVAL: a FIFO or device planted under the
 * name must not stall the reader). */
char *lx_read_regular_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a);

#endif
