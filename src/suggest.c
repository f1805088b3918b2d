/* suggest.c - edit distance for "did you mean" hints. */
#include "suggest.h"

#include <string.h>

size_t suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SUGGEST_MAX_WORD || lb > SUGGEST_MAX_WORD)
        return (size_t)-1;
    /* One row of the classic dynamic-programming table is enough. */
    size_t row[SUGGEST_MAX_WORD + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = above;
        }
    }
    return row[lb];
}

int suggest_is_close(const char *typo, const char *candidate)
{
    size_t len = strlen(typo);
    size_t limit = len <= 4 ? 1 : len <= 10 ? 2 : 3;
    return suggest_distance(typo, candidate) <= limit;
}
