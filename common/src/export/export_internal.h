/* File helpers shared by export and verify (internal to common/src/export). */
#ifndef LATTICE_EXPORT_INTERNAL_H
#define LATTICE_EXPORT_INTERNAL_H

#include "lattice/files.h"

#endif
