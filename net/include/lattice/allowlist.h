/* The coordinator's allow-list (docs/security.md, "Keys and roles"): the
 * CURVE public keys it admits, each with a role. One key a line:
 *
 *   # comment
 *   worker  rN]x...40 characters...  render-07 (rack 2)
 *   client  Q8f=...                  alice
 *   admin   {w3+...                  ops
 *
 * ROLE (worker, client or admin), the key (40 Z85 characters), then an
 * optional label: the rest of the line, for people and logs. Blank lines
 * and lines whose first non-blank character is '#' are skipped; a key may
 * be listed once. Errors name the file and line: `keys/allow:7: unknown
 * role 'wroker' (worker, client or admin)`.
 *
 * A list is immutable once parsed: lookups are safe from several threads. */
#ifndef LATTICE_ALLOWLIST_H
#define LATTICE_ALLOWLIST_H

#include <stddef.h>

#include "lattice/curve.h"
#include "lattice/result.h"

typedef enum { LX_ALLOW_WORKER, LX_ALLOW_CLIENT, LX_ALLOW_ADMIN } lx_allow_role_t;

/* "worker", "client", "admin". */
const char *lx_allow_role_name(lx_allow_role_t role);
/* A role name into *out; false when it is none. */
bool lx_allow_role_parse(const char *name, lx_allow_role_t *out);

/* One line of the list. label is "" when the line has none. */
typedef struct lx_allow_entry {
    char key[LX_CURVE_KEY_CHARS + 1];
    lx_allow_role_t role;
    const char *label;
    unsigned line;
} lx_allow_entry_t;

typedef struct lx_allowlist lx_allowlist_t;

/* Parses len bytes of text (name is the file name errors start with).
 * Returns the list, yours to lx_allowlist_destroy, or NULL with the first
 * problem in err (LX_E_PARSE; LX_E_NOMEM). An empty list is a list. */
lx_allowlist_t *lx_allowlist_parse(const char *text, size_t len, const char *name,
                                   lx_error_t *err);

/* Reads and parses the file at path (at most 16 MiB). NULL with the
 * reason in err: LX_E_IO when it cannot be read, else as parse. */
lx_allowlist_t *lx_allowlist_load(const char *path, lx_error_t *err);

/* The entry of key, or NULL when the list does not hold it. O(log n). */
const lx_allow_entry_t *lx_allowlist_find(const lx_allowlist_t *l, const char *key);

/* How many keys the list holds with role `role`. */
size_t lx_allowlist_count(const lx_allowlist_t *l, lx_allow_role_t role);

void lx_allowlist_destroy(lx_allowlist_t **l_p);

#endif
