/* The check framework itself: a failing CHECK names the expression as written, CHECK_EQ_U64
 * both expressions and values, CHECK_MEM the first differing byte offset and the bytes there.
 * check_dep fails only under CI. The deliberate failures below are captured (stderr to a file) and
 * taken back off the count. */
#include <unistd.h>

#include "check.h"

static char captured[4096];

/* Run fn with stderr sent to a temporary file; return how many checks it failed. */
static unsigned capture(void (*fn)(void))
{
    FILE *t = tmpfile();
    if (!t)
        return 0;
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(t), 2);
    unsigned f0 = check_failed_;
    fn();
    unsigned failed = check_failed_ - f0;
    check_failed_ = f0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(t);
    size_t n = fread(captured, 1, sizeof captured - 1, t);
    captured[n] = 0;
    fclose(t);
    return failed;
}

static void failing_mem(void)
{
    uint8_t want[40] = {0}, got[40] = {0};
    got[0x21] = 0x5a;
    got[0x23] = 1;
    CHECK_MEM(got, want, sizeof want);
}

static void failing_u64(void)
{
    unsigned x = 3;
    CHECK_EQ_U64(x + 1, 0x105);
}

static void failing_check(void)
{
    int ready = 0;
    CHECK(ready == 1 && "ready");
}

static void passing(void)
{
    uint8_t a[4] = {1, 2, 3, 4};
    CHECK_MEM(a, a, sizeof a);
    CHECK_EQ_U64(7, 7);
}

static void test_failures_say_what(void)
{
    CHECK(capture(failing_mem) == 1);
    CHECK_MSG(strstr(captured, "got == want (sizeof want = 40 bytes)") != NULL, "%s", captured);
    CHECK_MSG(strstr(captured, "first difference at offset 33 (0x21): 0x5a != 0x00; 2 byte(s) differ") != NULL, "%s",
              captured);
    CHECK_MSG(strstr(captured, "test_check.c:") != NULL, "%s", captured);
    CHECK(capture(failing_u64) == 1);
    CHECK_MSG(strstr(captured, "x + 1 == 0x105: 0x4 != 0x105") != NULL, "%s", captured);
    CHECK(capture(failing_check) == 1);
    CHECK_MSG(strstr(captured, "ready == 1 && \"ready\"") != NULL, "%s", captured);
    unsigned p0 = check_passed_;
    CHECK(capture(passing) == 0 && captured[0] == 0);
    CHECK(check_passed_ - p0 == 3); /* two passing checks inside, and this one */
}

static bool dep_result;
static void missing_dep(void) { dep_result = check_dep(false, "%s", "/nonexistent/OVMF.fd"); }
static void present_dep(void) { dep_result = check_dep(true, "%s", "never printed"); }

/* check_dep: present is true and silent; missing is false, a skip outside CI and a failure under
 * CI=true (so a suite cannot pass by skipping). */
static void test_dependencies(void)
{
    const char *ci = getenv("CI");
    char *saved = ci ? strdup(ci) : NULL;
    CHECK(capture(present_dep) == 0 && dep_result);
    setenv("CI", "true", 1);
    CHECK(capture(missing_dep) == 1 && !dep_result);
    CHECK_MSG(strstr(captured, "FAIL") && strstr(captured, "missing /nonexistent/OVMF.fd"), "%s", captured);
    unsetenv("CI");
    fflush(stdout);
    CHECK(capture(missing_dep) == 0 && !dep_result);
    if (saved)
        setenv("CI", saved, 1);
    free(saved);
}

int main(void)
{
    RUN(test_failures_say_what);
    RUN(test_dependencies);
    return check_summary();
}
