/* memcrypt CLI — helpers shared by the command files. */
#include "cli_util.h"

#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

#include "cli.h"

int mc_cli_hex_opt(const char *path, const char *opt, const char *s, uint8_t *out, size_t n, bool allow_short)
{
    size_t got;
    struct mc_error err;
    memset(out, 0, n);
    if (mc_hex_decode(s, out, n, &got, &err))
        return mc_cli_usage_error(path, "--%s: %s", opt, err.msg);
    if (got != n && !allow_short)
        return mc_cli_usage_error(path, "--%s needs %zu bytes (%zu hex digits), got %zu bytes", opt, n, 2 * n, got);
    return 0;
}

unsigned mc_cli_state_wait_ms(void)
{
    const char *v = getenv("MEMCRYPT_STATE_WAIT");
    uint64_t sec;
    if (!v || !*v || mc_parse_u64(v, &sec, NULL) != MC_OK || sec > 86400)
        return 0; /* the library's default */
    return sec ? (unsigned)sec * 1000u : 1u;
}
