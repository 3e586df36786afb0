/* memcrypt — the memory controller's internals shared by its files. */
#ifndef MC_MC_MC_INT_H
#define MC_MC_MC_INT_H

#include <memcrypt/mc.h>

/* memctl_select_domain for a platform already validated (the controller checks its platform when
 * it is set): the same choice without re-checking the platform on every access. */
mc_status memctl_select_checked(const struct memctl_platform *p, const struct memctl_access *a, struct memctl_route *out,
                            struct mc_fault *fault, struct mc_error *err);

#endif
