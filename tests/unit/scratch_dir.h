/* A scratch directory per test program, /tmp/lattice-test-NAME-XXXXXX,
 * removed with everything in it when the program ends. */
#ifndef LATTICE_TEST_SCRATCH_DIR_H
#define LATTICE_TEST_SCRATCH_DIR_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

/* Creates the directory and writes its path into root; false (and a
 * failed check) when it cannot be made. */
static inline bool t_scratch_dir(char root[256], const char *name)
{
    snprintf(root, 256, "/tmp/lattice-test-%.64s-XXXXXX", name);
    bool ok = mkdtemp(root) != NULL;
    CHECK_MSG(ok, "cannot create a scratch directory for %s", name);
    return ok;
}

/* Removes root and everything in it. */
static inline void t_scratch_dir_remove(const char *root)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

#endif
