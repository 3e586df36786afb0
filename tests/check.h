/* memcrypt tests — a tiny check framework (header only).
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_EQ_U64(a, b); CHECK_MEM(p, q, n); }
 *   int main(void) { RUN(test_something); return check_summary(); }
 *
 * Every CHECK counts; a failure prints file:line, the test, the expression as written and, for
 * CHECK_EQ_U64 and CHECK_MEM, the values (CHECK_MEM: the first differing byte offset).
 * check_summary() prints "N passed, N failed" (the line CI reads) and
 * returns non-zero when anything failed. Paths: MC_TEST_DATA (tests/data), MC_SOURCE_DIR,
 * MC_BINARY_DIR, MC_CLI (the built memcrypt binary), MC_OVMF_DIR are compile definitions.
 */
#ifndef MC_CHECK_H
#define MC_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned check_passed_, check_failed_;
static const char *check_current_ = "";

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed_++;                                                                       \
        } else {                                                                                   \
            check_failed_++;                                                                       \
            fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, check_current_, #cond);  \
        }                                                                                          \
    } while (0)

/* A dependency outside the project (a file of a Debian package scripts/deps installs): when it is
 * missing, outside CI the test says so and the caller skips that part; under CI=true it is a
 * failure, so a suite cannot pass by skipping. Returns whether it is present. */
static inline bool check_dep(bool present, const char *fmt, ...)
{
    if (present)
        return true;
    const char *ci = getenv("CI");
    bool in_ci = ci && strcmp(ci, "true") == 0;
    if (in_ci)
        check_failed_++;
    fprintf(in_ci ? stderr : stdout, "%s [%s]: missing ", in_ci ? "FAIL" : "skip", check_current_);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(in_ci ? stderr : stdout, fmt, ap);
    va_end(ap);
    fputc('\n', in_ci ? stderr : stdout);
    return false;
}

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed_++;                                                                       \
        } else {                                                                                   \
            check_failed_++;                                                                       \
            fprintf(stderr, "FAIL %s:%d [%s]: %s: ", __FILE__, __LINE__, check_current_, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* a == b as 64-bit values; a failure shows both expressions as written and their values. */
#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                           \
        if (a_ == b_) {                                                                            \
            check_passed_++;                                                                       \
        } else {                                                                                   \
            check_failed_++;                                                                       \
            fprintf(stderr, "FAIL %s:%d [%s]: %s == %s: 0x%" PRIx64 " != 0x%" PRIx64 "\n", __FILE__, \
                    __LINE__, check_current_, #a, #b, a_, b_);                                     \
        }                                                                                          \
    } while (0)

/* n bytes at a equal n bytes at b; a failure shows both expressions, the first differing byte
 * offset, the bytes there and how many bytes differ in all. */
#define CHECK_MEM(a, b, n) check_mem_((a), (b), (size_t)(n), #a, #b, #n, __FILE__, __LINE__)

static inline void check_mem_(const void *a, const void *b, size_t n, const char *ea, const char *eb,
                              const char *en, const char *file, int line)
{
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    size_t first = n, ndiff = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) {
            if (first == n)
                first = i;
            ndiff++;
        }
    if (!ndiff) {
        check_passed_++;
        return;
    }
    check_failed_++;
    fprintf(stderr, "FAIL %s:%d [%s]: %s == %s (%s = %zu bytes): first difference at offset %zu (0x%zx): "
                    "0x%02x != 0x%02x; %zu byte(s) differ\n",
            file, line, check_current_, ea, eb, en, n, first, first, x[first], y[first], ndiff);
}

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        check_current_ = #fn;                                                                      \
        unsigned f0_ = check_failed_;                                                              \
        fn();                                                                                      \
        printf("%s %s\n", check_failed_ == f0_ ? "ok  " : "FAIL", #fn);                           \
    } while (0)

static inline int check_summary(void)
{
    printf("%u passed, %u failed\n", check_passed_, check_failed_);
    return check_failed_ ? 1 : (check_passed_ ? 0 : 1);
}

#endif
