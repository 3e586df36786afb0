/* memcrypt CLI — libraries loaded when a command runs (cli_dl.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "cli_dl.h"

_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym results are copied into function pointers");

void *mc_cli_dlopen(const char *prog, const char *soname, const char *pkg)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        fprintf(stderr, "memcrypt %s: %s is not installed (%s): apt-get install %s\n", prog, soname,
                why ? why : "dlopen failed", pkg);
    }
    return h;
}

int mc_cli_dlsym(const char *prog, void *h, const char *soname, const char *sym, void *slot, size_t size)
{
    void *p = dlsym(h, sym);
    if (!p || size != sizeof p) {
        fprintf(stderr, "memcrypt %s: %s has no %s\n", prog, soname, sym);
        return -1;
    }
    memcpy(slot, &p, sizeof p);
    return 0;
}
