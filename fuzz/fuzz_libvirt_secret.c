/* Fuzz target: the guest's reading of an injected efi_secret table (src/run/owner.h), which
 * parses bytes the host and the guest owner control. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/owner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p;
    size_t n;
    uint8_t g[16];
    if (mc_run_secret_lookup(data, size, NULL, &p, &n, g)) {
        if (p < data || n > size || (size_t)(p - data) + n > size)
            abort(); /* the entry must lie inside the table */
        /* Looking the same GUID up again finds the same entry. */
        const uint8_t *q;
        size_t m;
        if (!mc_run_secret_lookup(data, size, g, &q, &m, NULL) || q != p || m != n)
            abort();
    }
    return 0;
}
