/* NPZ: a zip archive of .npy members, as numpy's np.savez writes it, but
 * byte-stable: every member STORED (no compression), CRC-32 from zlib's
 * crc32(), the fixed DOS date 1980-01-01 00:00, no extra fields, no
 * comment, no data descriptors, members in the order given. No ZIP64: an
 * archive (or any offset in it) that would reach 4 GiB is refused. So the
 * same members always give the same bytes, on every machine and zlib. */
#ifndef LATTICE_NPZ_H
#define LATTICE_NPZ_H

#include <stddef.h>

#include "lattice/result.h"
#include "lattice/strbuf.h"

#define LX_NPZ_MAX_MEMBERS 1024u
#define LX_NPZ_MAX_NAME 255u

/* One member: its file name in the archive ("rms.npy": 1 to
 * LX_NPZ_MAX_NAME bytes of [A-Za-z0-9._-]) and its bytes (usually from
 * lx_npy_encode_array, lattice/encode.h). Borrowed. */
typedef struct lx_npz_member {
    const char *name;
    const void *data;
    size_t len;
} lx_npz_member_t;

/* Appends the archive of n members to out. Per member: a local header
 * (version needed 20, flags 0, method 0, time 0x0000, date 0x0021, CRC-32,
 * sizes, name), its bytes; then the central directory (version made by 20,
 * MS-DOS, no attributes) and the end record. LX_E_INVALID for a bad name,
 * a duplicate or n of 0 or above LX_NPZ_MAX_MEMBERS; LX_E_LIMIT when the
 * archive would need ZIP64 (4 GiB): nothing is appended for these.
 * LX_E_NOMEM when out ran out of memory (its `failed` flag is set). */
lx_result_t lx_npz_write(const lx_npz_member_t *members, size_t n, lx_strbuf_t *out,
                         lx_error_t *err);

#endif
