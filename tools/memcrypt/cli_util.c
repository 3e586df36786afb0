/* memcrypt CLI — helpers shared by the command files. */
#include "cli_util.h"

#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>

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
    uint64_t ms;
    if (!v || !*v || mc_parse_seconds_ms(v, &ms, NULL) != MC_OK || ms > 86400000u)
        return 0; /* the library's default */
    return ms ? (unsigned)ms : 1u;
}

int mc_cli_report_data(const char *path, const char *s, uint8_t out[64])
{
    memset(out, 0, 64);
    if (s[0] == '@') {
        uint8_t *b = NULL;
        size_t n = 0;
        struct mc_error err;
        if (mc_file_read(s + 1, 65, &b, &n, &err))
            return mc_cli_usage_error(path, "--report-data %s: %s", s, err.msg);
        int rc = 0;
        if (n == 0 || n > 64)
            rc = mc_cli_usage_error(path, "--report-data %s holds %zu bytes; REPORT_DATA is 1..64 bytes", s, n);
        else
            memcpy(out, b, n);
        free(b);
        return rc;
    }
    size_t len = strlen(s);
    if (len == 0 || len % 2)
        return mc_cli_usage_error(path, "--report-data wants hex of 1..64 bytes (an even number of digits, at most "
                                        "128) or @FILE, not '%.40s'",
                                  s);
    if (len > 128)
        return mc_cli_usage_error(path, "--report-data holds %zu bytes; REPORT_DATA is at most 64 bytes", len / 2);
    return mc_cli_hex_opt(path, "report-data", s, out, 64, true);
}
