/* Names: the one definition of the ids and relative paths that Lattice
 * accepts from outside (patches, messages, manifests) and may turn into
 * file names.
 *
 *   name     1 to max bytes of [A-Za-z0-9._-], not "." or "..": safe as one
 *            path component. Protocol ids (jobs, states, error codes) are
 *            names, with a maximum per field (docs/protocol.md).
 *   id       a patch id: 1 to LX_NAME_ID_MAX bytes of [A-Za-z0-9_-]. A name
 *            without '.', so that ids stay apart from file extensions and
 *            from the '.' of "block.port" in diagnostics (block, port, bus,
 *            layer ids; docs/patch-format.md).
 *   relpath  1 to LX_NAME_RELPATH_MAX bytes: names joined by single '/'.
 *            Safe to join under a root directory: never absolute, never
 *            "." or "..", no empty component.
 *
 * Only ASCII is accepted. All functions are pure and thread-safe. */
#ifndef LATTICE_NAMES_H
#define LATTICE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

enum { LX_NAME_ID_MAX = 64, LX_NAME_RELPATH_MAX = 200 };

/* The first rule a name breaks, in the order they are checked. */
typedef enum lx_name_fault {
    LX_NAME_OK = 0,
    LX_NAME_EMPTY,    /* no bytes */
    LX_NAME_TOO_LONG, /* more than max bytes */
    LX_NAME_BAD_CHAR, /* a byte outside [A-Za-z0-9._-] */
    LX_NAME_DOTS      /* "." or ".." */
} lx_name_fault_t;

/* Checks the len bytes at s as a name of at most max bytes (s need not be
 * NUL-terminated). Returns LX_NAME_OK or the first fault; for
 * LX_NAME_BAD_CHAR, *at (when at is not NULL) is the offset of the first
 * byte not allowed, for callers that quote it. */
lx_name_fault_t lx_name_check(const char *s, size_t len, size_t max, size_t *at);

/* Whether the string s is a name of at most max bytes. NULL is false. */
bool lx_name_valid(const char *s, size_t max);

/* Whether s is a patch id: [A-Za-z0-9_-]{1,64}. NULL is false. */
bool lx_name_id_valid(const char *s);

/* Whether rel is a relative path: 1 to LX_NAME_RELPATH_MAX bytes of names
 * separated by single '/'. "mask/cards" and "frame_000012.png" pass; "",
 * "/etc", "../x", "a//b", "a/./b", "a/" do not. NULL is false. */
bool lx_name_relpath_valid(const char *rel);

#endif
