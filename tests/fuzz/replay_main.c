/* Without a fuzzing engine, a fuzz target's main() replays every file of
 * its corpus directory (argv[1]) through LLVMFuzzerTestOneInput, so the
 * corpus (past crashers included) runs in every ctest. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "%s: cannot open corpus '%s'\n", argv[0], argv[1]);
        return 2;
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, s_cmp);
    size_t replayed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        FILE *f = fopen(path, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            long len = ftell(f);
            fseek(f, 0, SEEK_SET);
            uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
            if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
                LLVMFuzzerTestOneInput(buf, (size_t)len);
                replayed++;
            }
            free(buf);
            fclose(f);
        }
        free(names[i]);
    }
    if (replayed == 0) {
        fprintf(stderr, "%s: corpus '%s' is empty\n", argv[0], argv[1]);
        return 1;
    }
    printf("%zu passed, 0 failed\n", replayed);
    return 0;
}
