/* JSON syntax errors for people: where a text stops being JSON and what
 * was expected there ("expected ',' or '}' after an object member, found
 * '\"'"). cJSON only says where it gave up, and not always precisely; this
 * scanner walks the text itself and names the expectation.
 *
 * The grammar is RFC 8259 with cJSON's leniencies, so that the scanner and
 * the parser agree on which texts are JSON: raw control characters inside
 * strings, "\u" with non-hex digits (read as 0), leading zeros, "1." and
 * "-.5" are accepted.
 * Nesting deeper than LX_JSON_SYNTAX_MAX_DEPTH (cJSON's limit) is an error.
 * After the top-level value only whitespace and NUL bytes may follow.
 *
 * Pure and thread-safe. */
#ifndef LATTICE_JSON_SYNTAX_H
#define LATTICE_JSON_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

enum { LX_JSON_SYNTAX_MAX_DEPTH = 1000 };

typedef struct lx_json_syntax {
    size_t offset;       /* bytes before the problem */
    size_t line, column; /* 1-based; the column counts bytes */
    char message[160];   /* "expected a value after ':', found '}'" */
} lx_json_syntax_t;

/* Scans the len bytes at text (need not be NUL-terminated). Returns true
 * and fills *out with the first problem when the text is not JSON; false
 * (out untouched) when it is. */
bool lx_json_syntax_check(const char *text, size_t len, lx_json_syntax_t *out);

/* Fills line and column of *out for out->offset within text. */
void lx_json_syntax_locate(const char *text, size_t len, lx_json_syntax_t *out);

#endif
