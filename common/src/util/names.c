/* Names, ids and relative paths (see names.h). */
#include "lattice/names.h"

#include <string.h>

static bool s_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

lx_name_fault_t lx_name_check(const char *s, size_t len, size_t max, size_t *at)
{
    if (len == 0)
        return LX_NAME_EMPTY;
    if (len > max)
        return LX_NAME_TOO_LONG;
    for (size_t k = 0; k < len; k++)
        if (!s_name_char(s[k])) {
            if (at)
                *at = k;
            return LX_NAME_BAD_CHAR;
        }
    /* Both would leave the directory they are joined under (or stay in it). */
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return LX_NAME_DOTS;
    return LX_NAME_OK;
}

bool lx_name_valid(const char *s, size_t max)
{
    /* strnlen: a string far longer than max is refused without reading it
     * all. */
    return s && lx_name_check(s, strnlen(s, max + 1), max, NULL) == LX_NAME_OK;
}

bool lx_name_id_valid(const char *s) { return lx_name_valid(s, LX_NAME_ID_MAX) && !strchr(s, '.'); }

bool lx_name_relpath_valid(const char *rel)
{
    if (!rel)
        return false;
    size_t n = strnlen(rel, LX_NAME_RELPATH_MAX + 1);
    if (n == 0 || n > LX_NAME_RELPATH_MAX)
        return false;
    /* Component by component: a leading, doubled or trailing '/' makes an
     * empty one, which lx_name_check refuses. */
    for (const char *s = rel;;) {
        size_t k = strcspn(s, "/");
        if (lx_name_check(s, k, LX_NAME_RELPATH_MAX, NULL) != LX_NAME_OK)
            return false;
        if (!s[k])
            return true;
        s += k + 1;
    }
}
