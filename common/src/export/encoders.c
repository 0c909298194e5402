/* The encoder libraries this build runs (see lattice/encode.h). */
#include <stdio.h>

#include <libdeflate.h>
#include <openexr.h>
#include <png.h>
#include <zlib.h>

#include "lattice/encode.h"

void lx_encoder_versions(char *out, size_t size)
{
    int major = 0, minor = 0, patch = 0;
    const char *extra = "";
    exr_get_library_version(&major, &minor, &patch, &extra);
    snprintf(out, size, "zlib %s, libpng %s, libdeflate %s, OpenEXR %d.%d.%d%s", zlibVersion(),
             png_get_libpng_ver(NULL), LIBDEFLATE_VERSION_STRING, major, minor, patch,
             extra ? extra : "");
}
