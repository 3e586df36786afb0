/* Fuzz target: the shell-like word splitter of `measure --batch` lines (mc_split_words). Nothing
 * may crash or write outside the line; every word lies inside the line; and quoting the words
 * back ('...' with '\'' for a quote) and splitting again gives the same words. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

enum { MAXW = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = 0;
    size_t len = strlen(line);
    char *words[MAXW];
    const char *why = NULL;
    int n = mc_split_words(line, words, MAXW, &why);
    if (n < 0) {
        if (!why)
            abort();
        free(line);
        return 0;
    }
    if (n > MAXW)
        abort();
    /* Re-quote every word and split again. */
    size_t cap = 4 * len + 3 * (size_t)n + 1, k = 0;
    char *again = malloc(cap);
    if (!again)
        abort();
    for (int i = 0; i < n; i++) {
        if (words[i] < line || words[i] + strlen(words[i]) > line + len)
            abort();
        again[k++] = '\'';
        for (const char *p = words[i]; *p; p++) {
            if (*p == '\'') {
                memcpy(again + k, "'\\''", 4);
                k += 4;
            } else {
                again[k++] = *p;
            }
        }
        again[k++] = '\'';
        again[k++] = ' ';
    }
    again[k] = 0;
    char *w2[MAXW];
    if (mc_split_words(again, w2, MAXW, &why) != n)
        abort();
    for (int i = 0; i < n; i++)
        if (strcmp(words[i], w2[i]))
            abort();
    free(again);
    free(line);
    return 0;
}
