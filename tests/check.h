/* memcrypt tests — a tiny check framework (header only).
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_EQ_U64(a, b); CHECK_MEM(p, q, n); }
 *   int main(void) { RUN(test_something); return check_summary(); }
 *
 * Every CHECK counts; check_summary() prints "N passed, N failed" (the line CI reads) and
 * returns non-zero when anything failed. Paths: MC_TEST_DATA (tests/data), MC_SOURCE_DIR,
 * MC_BINARY_DIR, MC_CLI (the built memcrypt binary), MC_OVMF_DIR are compile definitions.
 */
#ifndef MC_CHECK_H
#define MC_CHECK_H

#include <inttypes.h>
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

#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                           \
        CHECK_MSG(a_ == b_, "0x%" PRIx64 " != 0x%" PRIx64, a_, b_);                                \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK_MSG(memcmp((a), (b), (n)) == 0, "%zu bytes differ", (size_t)(n))

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
