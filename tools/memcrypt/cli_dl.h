/* memcrypt CLI — libraries a command loads when it runs (dlopen), not linked: a large library
 * linked into the CLI is loaded, relocated and initialised by every memcrypt process (libcurl
 * alone brings 30 more, GnuTLS among them), which a `memcrypt measure` pays for nothing. The
 * header still gives the types; MC_CLI_DLSYM checks each declaration against its pointer at
 * compile time (the sizeof operand is never evaluated, nothing links the library).
 *
 *     void *h = mc_cli_dlopen(prog, "libcurl.so.4", "libcurl4");
 *     if (!h || MC_CLI_DLSYM(prog, h, "libcurl.so.4", api.init, curl_easy_init) || ...)
 */
#ifndef MC_CLI_DL_H
#define MC_CLI_DL_H

#include <stddef.h>

/* dlopen(soname); NULL after printing "memcrypt PROG: SONAME is not installed (why): apt-get
 * install PKG". */
void *mc_cli_dlopen(const char *prog, const char *soname, const char *pkg);
/* dlsym(h, sym) into the function pointer at slot (size bytes); 0, or -1 after printing which
 * symbol is missing. */
int mc_cli_dlsym(const char *prog, void *h, const char *soname, const char *sym, void *slot, size_t size);
#define MC_CLI_DLSYM(prog, h, soname, ptr, sym)                                                     \
    ((void)sizeof((ptr) = sym), mc_cli_dlsym(prog, h, soname, #sym, &(ptr), sizeof(ptr)))

#endif
