/* memcrypt — how the public headers mark their API (included by every header in memcrypt/).
 *
 * MC_API           on every function a program may call: the library is built with hidden
 *                  visibility, so only these are exported from libmemcrypt.so (tests/cli_abi.sh
 *                  checks that every exported symbol is declared here with the library's prefix).
 * MC_MUST_CHECK    on every verify / check function: ignoring its result is a compile warning.
 * MC_BEGIN_DECLS / MC_END_DECLS   extern "C" for C++ programs.
 */
#ifndef MEMCRYPT_API_H
#define MEMCRYPT_API_H

#if defined(__GNUC__) || defined(__clang__)
#define MC_API __attribute__((visibility("default")))
#define MC_MUST_CHECK __attribute__((warn_unused_result))
#else
#define MC_API
#define MC_MUST_CHECK
#endif

#ifdef __cplusplus
#define MC_BEGIN_DECLS extern "C" {
#define MC_END_DECLS }
/* The headers pin every spec structure with C11's _Static_assert; C++11 spells it static_assert. */
#ifndef _Static_assert
#define _Static_assert static_assert
#endif
#else
#define MC_BEGIN_DECLS
#define MC_END_DECLS
#endif

#endif
