/* A byte-stable NPZ (zip of STORED .npy members); see lattice/npz.h for
 * every field written. */
#include "lattice/npz.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "lattice/alloc.h"

#define S_DOS_TIME 0x0000u /* 00:00:00 */
#define S_DOS_DATE 0x0021u /* 1980-01-01: (1980 - 1980) << 9 | 1 << 5 | 1 */
#define S_VERSION 20u      /* 2.0: stored files, no ZIP64 */

static void s_u16(lx_strbuf_t *sb, uint32_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    lx_strbuf_add(sb, b, 2);
}

static void s_u32(lx_strbuf_t *sb, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    lx_strbuf_add(sb, b, 4);
}

static int s_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > LX_NPZ_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static uint32_t s_crc(const void *data, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const Bytef *p = data;
    while (len > 0) {
        uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)crc;
}

/* Local header (is_central 0) or central directory entry (1). */
static void s_header(lx_strbuf_t *sb, int central, const lx_npz_member_t *m, uint32_t crc,
                     uint32_t offset)
{
    uint32_t name_len = (uint32_t)strlen(m->name);
    s_u32(sb, central ? 0x02014b50u : 0x04034b50u);
    if (central)
        s_u16(sb, S_VERSION); /* made by: MS-DOS, 2.0 */
    s_u16(sb, S_VERSION);     /* needed to extract */
    s_u16(sb, 0);             /* flags */
    s_u16(sb, 0);             /* method: stored */
    s_u16(sb, S_DOS_TIME);
    s_u16(sb, S_DOS_DATE);
    s_u32(sb, crc);
    s_u32(sb, (uint32_t)m->len); /* compressed */
    s_u32(sb, (uint32_t)m->len); /* uncompressed */
    s_u16(sb, name_len);
    s_u16(sb, 0); /* extra */
    if (central) {
        s_u16(sb, 0); /* comment */
        s_u16(sb, 0); /* disk */
        s_u16(sb, 0); /* internal attributes */
        s_u32(sb, 0); /* external attributes */
        s_u32(sb, offset);
    }
    lx_strbuf_add(sb, m->name, name_len);
}

lx_result_t lx_npz_write(const lx_npz_member_t *members, size_t n, lx_strbuf_t *out,
                         lx_error_t *err)
{
    if (!out || (n && !members))
        return lx_fail(err, LX_E_INVALID, "npz: no members or no output");
    if (n == 0 || n > LX_NPZ_MAX_MEMBERS)
        return lx_fail(err, LX_E_INVALID, "npz: %zu members (1 to %u)", n, LX_NPZ_MAX_MEMBERS);
    /* Sizes first: everything must fit 32-bit zip fields. */
    uint64_t total = 22; /* end record */
    for (size_t i = 0; i < n; i++) {
        const lx_npz_member_t *m = &members[i];
        if (!s_name_ok(m->name))
            return lx_fail(err, LX_E_INVALID, "npz: member %zu has an invalid name", i);
        if (m->len && !m->data)
            return lx_fail(err, LX_E_INVALID, "npz: member '%s' has no data", m->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(members[j].name, m->name) == 0)
                return lx_fail(err, LX_E_INVALID, "npz: member '%s' appears twice", m->name);
        total += 30 + 46 + 2 * (uint64_t)strlen(m->name) + (uint64_t)m->len;
    }
    if (total > 0xFFFFFFFFu)
        return lx_fail(err, LX_E_LIMIT,
                       "npz: the archive would be %llu bytes; ZIP64 (4 GiB and more) is not "
                       "written",
                       (unsigned long long)total);
    const lx_alloc_t *alloc = out->alloc ? out->alloc : lx_alloc_default();
    size_t start = out->len;
    uint32_t *crcs = NULL, *offsets = NULL;
    uint32_t crc_small[64], off_small[64];
    if (n <= 64) {
        crcs = crc_small;
        offsets = off_small;
    } else {
        crcs = lx_calloc(alloc, n, sizeof *crcs);
        offsets = lx_calloc(alloc, n, sizeof *offsets);
    }
    if (!crcs || !offsets) {
        if (n > 64) {
            lx_free(alloc, crcs);
            lx_free(alloc, offsets);
        }
        return lx_fail(err, LX_E_NOMEM, "npz: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        crcs[i] = s_crc(members[i].data, members[i].len);
        offsets[i] = (uint32_t)(out->len - start);
        s_header(out, 0, &members[i], crcs[i], 0);
        lx_strbuf_add(out, members[i].data, members[i].len);
    }
    uint32_t cd_start = (uint32_t)(out->len - start);
    for (size_t i = 0; i < n; i++)
        s_header(out, 1, &members[i], crcs[i], offsets[i]);
    uint32_t cd_size = (uint32_t)(out->len - start) - cd_start;
    s_u32(out, 0x06054b50u);
    s_u16(out, 0);             /* this disk */
    s_u16(out, 0);             /* disk of the central directory */
    s_u16(out, (uint32_t)n);   /* entries on this disk */
    s_u16(out, (uint32_t)n);   /* entries */
    s_u32(out, cd_size);
    s_u32(out, cd_start);
    s_u16(out, 0);             /* comment */
    if (n > 64) {
        lx_free(alloc, crcs);
        lx_free(alloc, offsets);
    }
    if (out->failed)
        return lx_fail(err, LX_E_NOMEM, "npz: out of memory writing %llu bytes",
                       (unsigned long long)total);
    return LX_OK;
}
