/* Operation codes (see lattice/ops.h). */
#include "lattice/ops.h"

const char *lx_op_name(lx_op_t op)
{
    switch (op) {
#define LX_X_OPNAME(name, n)                                                                       \
    case LX_OP_##name:                                                                             \
        return #name;
        LX_OP_MAP(LX_X_OPNAME)
#undef LX_X_OPNAME
    case LX_OP__COUNT:
        break;
    }
    return "?";
}
